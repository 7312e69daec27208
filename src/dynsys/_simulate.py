"""Integrate a system on a time grid: `dynsys.simulate`."""

from __future__ import annotations

import warnings
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._validation import (
    as_array,
    check_finite,
    check_increasing,
    check_int,
    check_last_dim,
    check_ndim,
    check_nonempty,
    check_positive,
)
from .systems import AbstractMap, AbstractSystem

_F32_MIN_RTOL = 1e-6


def simulate(
    system: AbstractSystem,
    y0: ArrayLike | None,
    ts: ArrayLike,
    *,
    solver: diffrax.AbstractSolver | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-10,
    max_steps: int = 1_000_000,
) -> Float[Array, "*batch time dim"]:
    """Integrate a flow (or iterate a map) and return the states at the times `ts`.

    Flows are solved with diffrax, by default with the adaptive 8th-order Dormand–Prince
    method (`diffrax.Dopri8`) and a PID step-size controller at `rtol`/`atol`; the state is
    read off at `ts` through the solver's dense output. Maps are iterated `len(ts) - 1`
    times with `lax.scan` (`ts` only fixes the number of states). A batch of initial
    conditions `(batch, dim)` gives a batch of trajectories (vmapped). The result is
    differentiable with respect to `y0` and the system's parameters.

    Tolerances below float32 resolution need 64-bit floats: in float32 mode (JAX default)
    tolerances under 1e-6 are raised to 1e-6 with a warning. Enable float64 with
    `jax.config.update("jax_enable_x64", True)` for the full accuracy.

    **Arguments:**

    - `system`: any [`dynsys.systems.AbstractSystem`][] (built-in or user-defined).
    - `y0`: initial state(s), shape `(dim,)` or `(batch, dim)`, given at `ts[0]`; `None`
      uses `system.initial_state()`.
    - `ts`: strictly increasing output times, shape `(time,)`.
    - `solver`: a diffrax solver (default `Dopri8()`); ignored for maps.
    - `rtol`, `atol`: relative and absolute tolerances of the step-size controller.
    - `max_steps`: the most solver steps before diffrax reports failure.

    **Returns:** states of shape `(time, dim)` or `(batch, time, dim)`.

    ```python
    import jax.numpy as jnp, dynsys
    ys = dynsys.simulate(dynsys.systems.Lorenz63(), None, jnp.arange(0, 10, 0.01))
    ```
    """
    if not isinstance(system, AbstractSystem):
        raise TypeError(
            "`system` must be a dynsys.systems.AbstractSystem (subclass one, or wrap a function "
            f"with dynsys.systems.from_function), got {type(system).__name__}."
        )
    y0 = system.initial_state() if y0 is None else as_array(y0, "y0")
    check_ndim(y0, "y0", (1, 2), "(dim,) or (batch, dim)")
    check_last_dim(y0, "y0", system.dim)
    check_finite(y0, "y0")
    ts = as_array(ts, "ts")
    check_ndim(ts, "ts", 1, "a 1-D array of times")
    check_nonempty(ts, "ts")
    check_finite(ts, "ts")
    check_increasing(ts, "ts")
    max_steps = check_int(max_steps, "max_steps", minimum=1)
    if isinstance(system, AbstractMap):
        run = lambda y: _iterate_map(system, y, ts.shape[0])  # noqa: E731
    else:
        check_positive(rtol, "rtol")
        check_positive(atol, "atol")
        dtype = jnp.result_type(y0.dtype, ts.dtype)
        if dtype == jnp.float32 and min(float(rtol), float(atol)) < _F32_MIN_RTOL:
            warnings.warn(
                f"rtol={rtol}, atol={atol} are below float32 resolution; integrating with "
                f"{_F32_MIN_RTOL}. Enable float64 (jax.config.update('jax_enable_x64', True)) "
                "for the requested accuracy.",
                stacklevel=2,
            )
            rtol, atol = max(float(rtol), _F32_MIN_RTOL), max(float(atol), _F32_MIN_RTOL)
        solver = diffrax.Dopri8() if solver is None else solver
        if not isinstance(solver, diffrax.AbstractSolver):
            raise TypeError(f"`solver` must be a diffrax solver, got {type(solver).__name__}.")
        run = lambda y: _solve_flow(system, y, ts, solver, rtol, atol, max_steps)  # noqa: E731
    if y0.ndim == 2:
        return jax.vmap(run)(y0)
    return run(y0)


@eqx.filter_jit
def _solve_flow(system, y0, ts, solver, rtol, atol, max_steps):
    dtype = jnp.result_type(y0.dtype, ts.dtype)
    y0, ts, system = y0.astype(dtype), ts.astype(dtype), _cast(system, dtype)
    if ts.shape[0] == 1:
        return y0[None]
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, y, args: system.rhs(t, y)),
        solver,
        t0=ts[0],
        t1=ts[-1],
        dt0=None,
        y0=y0,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        saveat=diffrax.SaveAt(ts=ts),
        max_steps=max_steps,
    )
    return sol.ys


@eqx.filter_jit
def _iterate_map(system: Any, y0, n: int):
    system = _cast(system, y0.dtype)

    def body(y, _):
        y_next = system.step(y)
        return y_next, y_next

    _, ys = jax.lax.scan(body, y0, None, length=n - 1)
    return jnp.concatenate([y0[None], ys], axis=0)


def _cast(tree, dtype):
    """Cast the floating-point leaves of `tree` (a system) to the integration dtype."""
    return jax.tree.map(lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, tree)
