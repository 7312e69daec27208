"""Integrate a system on a time grid: `dynsys.simulate`."""

from __future__ import annotations

import warnings
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
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
    is_traced,
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

    Raises `RuntimeError` (naming the likely cause) when the ODE solver fails, e.g. an orbit
    that diverges or too small a `max_steps` (inside `jax.jit` diffrax's own error is
    raised instead); a map whose orbit becomes NaN or infinite is returned with a
    `RuntimeWarning` (not checked inside `jax.jit`).

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
        if not isinstance(solver, diffrax.AbstractAdaptiveSolver):
            raise TypeError(
                f"`solver` must estimate its error for the adaptive step-size controller "
                f"(e.g. diffrax.Tsit5(), Dopri8(), or diffrax.HalfSolver({type(solver).__name__}"
                "())), got a fixed-step solver."
            )
        run = lambda y: _solve_flow(system, y, ts, solver, rtol, atol, max_steps)  # noqa: E731
    try:
        ys = jax.vmap(run)(y0) if y0.ndim == 2 else run(y0)
    except eqx.EquinoxRuntimeError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RuntimeError(
            f"simulate: the ODE solver failed ({reason}). The orbit from `y0` may diverge "
            "(check the initial state and the system's parameters), or the problem needs a "
            "larger `max_steps` or looser `rtol`/`atol`."
        ) from err
    if isinstance(system, AbstractMap) and not is_traced(ys):
        _warn_if_diverged(ys)
    return ys


def _warn_if_diverged(ys) -> None:
    """Warn when an iterated map left the floating-point range (the orbit diverged)."""
    if bool(jnp.all(jnp.isfinite(ys))):
        return
    bad = ~np.isfinite(np.asarray(ys)).all(axis=-1)  # (*batch, time)
    step = int(np.argmax(bad.reshape(-1, bad.shape[-1]).any(axis=0)))
    warnings.warn(
        f"simulate: the map's orbit is NaN or infinite from step {step} on: it diverges from "
        "`y0` (or leaves the map's domain); the states after that are not meaningful.",
        RuntimeWarning,
        stacklevel=3,
    )


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
