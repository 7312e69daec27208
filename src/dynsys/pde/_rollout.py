"""Rollouts on `lax.scan` and the time derivative of any stepper."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import check_int
from ._protocol import checked_state


def _check_stepper(stepper: Any) -> None:
    if not callable(stepper):
        raise TypeError(
            f"`stepper` must be callable as stepper(u) -> u_next, got {type(stepper).__name__}."
        )


def _checked_u0(stepper: Any, u0: Any, aux: tuple, name: str = "u0") -> jax.Array:
    u0 = checked_state(u0, name, stepper)
    out = jax.eval_shape(lambda u: stepper(u, *aux), u0)
    if not hasattr(out, "shape") or out.shape != u0.shape or out.dtype != u0.dtype:
        got = getattr(out, "shape", type(out).__name__)
        got_dtype = getattr(out, "dtype", "?")
        raise ValueError(
            "`stepper` must return a state of the same shape and dtype as its input "
            f"`{name}` {tuple(u0.shape)} {u0.dtype}, got {got} {got_dtype}."
        )
    return u0


def rollout(
    stepper: Any,
    u0: Float[ArrayLike, " channels *space"],
    n_steps: int,
    *,
    aux: Any = None,
    aux_per_step: bool = False,
    include_init: bool = True,
) -> Float[Array, " time channels *space"]:
    """Apply `stepper` `n_steps` times from `u0` with `lax.scan`; return the trajectory.

        u_{k+1} = stepper(u_k)            (or stepper(u_k, aux), stepper(u_k, aux_k))

    Works with any stepper of the protocol (dynsys built-ins, exponax steppers, a user's
    callable pytree). Differentiable in `u0` and in the stepper's array fields (reverse
    mode through the scan). Batch with `jax.vmap(lambda u: rollout(stepper, u, n))`.

    **Arguments:**

    - `stepper`: callable `stepper(u) -> u_next` (or `stepper(u, aux)` with `aux`).
    - `u0`: initial state, shape `(channels, *space)`.
    - `n_steps`: number of steps, >= 0.
    - `aux`: optional extra argument (PDE parameters, a forcing): the same for every step,
      or with `aux_per_step=True` a pytree whose leaves have a leading axis of length
      `n_steps` (one entry per step).
    - `include_init`: prepend `u0` (exponax's `include_init`).

    **Returns:** shape `(n_steps + 1, channels, *space)` with `include_init`, else
    `(n_steps, channels, *space)`.

    ```python
    traj = rollout(stepper, u0, 200)                  # (201, C, N)
    trajs = jax.vmap(lambda u: rollout(stepper, u, 200))(u0s)   # (B, 201, C, N)
    ```
    """
    _check_stepper(stepper)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    if aux_per_step and aux is None:
        raise ValueError("`aux_per_step=True` needs `aux` (one entry per step).")
    if aux_per_step:
        lens = {jnp.shape(x)[0] if jnp.ndim(x) else None for x in jax.tree_util.tree_leaves(aux)}
        if lens != {n_steps}:
            raise ValueError(
                f"with `aux_per_step=True` every leaf of `aux` needs a leading axis of length "
                f"n_steps={n_steps}, got leading lengths {sorted(map(str, lens))}."
            )
        first = jax.tree_util.tree_map(lambda x: x[0], aux)
        u0 = _checked_u0(stepper, u0, (first,))
    else:
        u0 = _checked_u0(stepper, u0, () if aux is None else (aux,))

    return _rollout(stepper, u0, aux, n_steps, aux_per_step, include_init)


@eqx.filter_jit
def _rollout(stepper, u0, aux, n_steps, aux_per_step, include_init):
    if aux_per_step:

        def body(u, a):
            u_next = stepper(u, a)
            return u_next, u_next

        _, traj = jax.lax.scan(body, u0, aux, length=n_steps)
    else:
        extra = () if aux is None else (aux,)

        def body(u, _):
            u_next = stepper(u, *extra)
            return u_next, u_next

        _, traj = jax.lax.scan(body, u0, None, length=n_steps)
    if include_init:
        traj = jnp.concatenate([u0[None], traj], axis=0)
    return traj


def repeat(
    stepper: Any, u0: Float[ArrayLike, " channels *space"], n_steps: int, *, aux: Any = None
):
    """Apply `stepper` `n_steps` times and return only the final state (exponax `repeat`).

    **Arguments:** as [`dynsys.pde.rollout`][] (constant `aux` only).

    **Returns:** shape `(channels, *space)`.

    ```python
    u_T = repeat(stepper, u0, 1000)
    ```
    """
    _check_stepper(stepper)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    extra = () if aux is None else (aux,)
    u0 = _checked_u0(stepper, u0, extra)
    return _repeat(stepper, u0, extra, n_steps)


@eqx.filter_jit
def _repeat(stepper, u0, extra, n_steps):
    return jax.lax.fori_loop(0, n_steps, lambda _, u: stepper(u, *extra), u0)


def time_derivative(
    stepper: Any, u: Float[ArrayLike, " channels *space"], *aux: Any, use_rhs: bool = True
) -> Float[Array, " channels *space"]:
    """Time derivative du/dt of a state according to a stepper: the hook Φ-ROM needs.

        du/dt ≈ stepper.rhs(u)                    if the stepper has `rhs` (and `use_rhs`),
        du/dt ≈ (stepper(u) − u) / stepper.dt     otherwise.

    The difference quotient is the derivative of the **discrete** operator: for an
    explicit first-order stepper it is exactly its right-hand side; for higher-order or
    exponential (ETD) steppers it differs from the continuous right-hand side by O(dt)
    and includes the exact damping of stiff modes over one step. Results therefore depend
    on `dt` (Φ-ROM uses this "discretised physics" on purpose).

    **Arguments:**

    - `stepper`: a stepper with a `dt` attribute (and optionally `rhs`).
    - `u`: one state, shape `(channels, *space)`.
    - `*aux`: extra arguments passed to the stepper (and to `rhs`).
    - `use_rhs`: use `stepper.rhs` when present (False: always the difference quotient).

    **Returns:** shape `(channels, *space)`.

    ```python
    dudt = time_derivative(stepper, u)
    ```
    """
    _check_stepper(stepper)
    u = checked_state(u, "u", stepper)
    if use_rhs and callable(getattr(stepper, "rhs", None)):
        return stepper.rhs(u, *aux)
    dt = getattr(stepper, "dt", None)
    if dt is None:
        raise TypeError(
            "`stepper` has neither an `rhs` method nor a `dt` attribute; "
            "time_derivative needs one of them."
        )
    u_next = stepper(u, *aux)
    return (u_next - u) / jnp.asarray(dt, dtype=u.dtype)
