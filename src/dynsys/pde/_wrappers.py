"""Wrappers that build new steppers: substepping, forcing, bound parameters, from a RHS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import ArrayLike

from .._validation import check_int, check_positive
from ._protocol import check_aux, checked_state, warn_if_diverged


class RepeatedStepper(eqx.Module):
    """Take `num_substeps` steps of a stepper as one coarse step (dt = k · stepper.dt).

    Like `exponax.RepeatedStepper`: use it to produce snapshots at a coarse interval from a
    fine, stable step. Grid attributes are forwarded from the inner stepper.

    **Arguments:**

    - `stepper`: any stepper of the protocol.
    - `num_substeps`: k >= 1.

    ```python
    coarse = RepeatedStepper(GrayScott(...), 10)   # one call = 10 inner steps
    ```
    """

    stepper: Any
    num_substeps: int = eqx.field(static=True)

    def __init__(self, stepper: Any, num_substeps: int):
        if not callable(stepper):
            raise TypeError(f"`stepper` must be callable, got {type(stepper).__name__}.")
        self.stepper = stepper
        self.num_substeps = check_int(num_substeps, "num_substeps", minimum=1)

    @property
    def dt(self) -> float:
        """Coarse step: `num_substeps * stepper.dt`."""
        return self.num_substeps * self.stepper.dt

    def __getattr__(self, name: str) -> Any:
        # Forward grid attributes (num_points, domain_extent, ...) to the inner stepper.
        if name in ("num_spatial_dims", "num_points", "num_channels", "domain_extent", "dx"):
            return getattr(self.stepper, name)
        raise AttributeError(name)

    def __call__(self, u: ArrayLike, *aux: Any) -> jax.Array:
        """Advance `u` by `num_substeps` inner steps."""
        if self.num_substeps <= 8:
            for _ in range(self.num_substeps):
                u = self.stepper(u, *aux)
            return u
        return jax.lax.fori_loop(0, self.num_substeps, lambda _, v: self.stepper(v, *aux), u)


class ForcedStepper(eqx.Module):
    """Add a forcing to a stepper by Lie splitting: u_next = stepper(u + dt · f).

    The forced stepper has the signature `(u, f)`, as `exponax.ForcedStepper`; pass a
    forcing per step with `rollout(..., aux=forcings, aux_per_step=True)`. First order in
    dt for the forcing (splitting error), exact for f = 0.

    **Arguments:**

    - `stepper`: any stepper of the protocol.

    ```python
    forced = ForcedStepper(Heat(1, 1.0, 64, dt=1e-3))
    u1 = forced(u0, f)      # f: same shape as u0
    ```
    """

    stepper: Any

    @property
    def dt(self) -> float:
        """Step of the inner stepper."""
        return self.stepper.dt

    def __getattr__(self, name: str) -> Any:
        if name in ("num_spatial_dims", "num_points", "num_channels", "domain_extent", "dx"):
            return getattr(self.stepper, name)
        raise AttributeError(name)

    def __check_init__(self):
        if not callable(self.stepper):
            raise TypeError(f"`stepper` must be callable, got {type(self.stepper).__name__}.")

    def __call__(self, u: ArrayLike, f: ArrayLike) -> jax.Array:
        """Advance `u` one step under forcing `f` (same shape as `u`)."""
        if jnp.shape(f) != jnp.shape(u):
            raise ValueError(
                f"the forcing `f` must have the shape of the state {jnp.shape(u)}, "
                f"got {jnp.shape(f)}."
            )
        f = checked_state(f, "f", self.stepper)
        return self.stepper(u + jnp.asarray(self.stepper.dt, u.dtype) * f)


class BoundStepper(eqx.Module):
    """Fix the extra argument of a stepper `(u, aux) -> u_next`, giving `u -> u_next`.

    Use it to turn a parametric stepper (e.g. [`dynsys.pde.ParametricBurgers`][] with a
    parameter μ) into a plain one. `aux` is a pytree field, so one can `jax.vmap` over a
    stack of bound steppers or differentiate with respect to the parameters.

    **Arguments:**

    - `stepper`: stepper taking `(u, aux)`.
    - `aux`: the fixed extra argument.

    ```python
    s = BoundStepper(ParametricBurgers(), jnp.asarray(0.02))
    traj = rollout(s, u0, 100)
    ```
    """

    stepper: Any
    aux: Any

    @property
    def dt(self) -> float:
        """Step of the inner stepper."""
        return self.stepper.dt

    def __getattr__(self, name: str) -> Any:
        if name in ("num_spatial_dims", "num_points", "num_channels", "domain_extent", "dx"):
            return getattr(self.stepper, name)
        raise AttributeError(name)

    def __check_init__(self):
        if not callable(self.stepper):
            raise TypeError(f"`stepper` must be callable, got {type(self.stepper).__name__}.")
        check_aux((self.aux,))

    def __call__(self, u: ArrayLike) -> jax.Array:
        """Advance `u` one step with the bound argument."""
        return self.stepper(u, self.aux)

    def rhs(self, u: ArrayLike) -> jax.Array:
        """Right-hand side of the inner stepper with the bound argument (if it has one)."""
        if not callable(getattr(self.stepper, "rhs", None)):
            raise AttributeError("the inner stepper has no `rhs`.")
        return self.stepper.rhs(u, self.aux)


class RHSStepper(eqx.Module):
    """A stepper from a right-hand side `rhs(u) -> du/dt`, integrated with a diffrax solver.

    The adapter for a hand-written finite-difference (method-of-lines) discretisation:
    one step integrates du/dt = rhs(u) over `dt` with `num_substeps` fixed steps of the
    diffrax `solver` (default `Tsit5`). The stepper exposes `rhs`, so
    `time_derivative` returns the exact right-hand side.

    **Arguments:**

    - `rhs`: `rhs(u) -> du/dt`, shape-preserving on `(channels, *space)` (jit-able).
    - `dt`: time step, > 0.
    - `solver`: a diffrax solver (keyword).
    - `num_substeps`: fixed solver steps per `dt`, >= 1 (keyword).
    - `num_channels`, `num_spatial_dims`, `num_points`, `domain_extent`: optional grid
      attributes (keywords), forwarded to users and checks.

    ```python
    lap = lambda u: (jnp.roll(u, 1, -1) - 2 * u + jnp.roll(u, -1, -1)) / dx**2
    heat_fd = RHSStepper(lambda u: 0.1 * lap(u), dt=1e-3)
    ```
    """

    rhs_fn: Callable = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    solver: Any
    num_substeps: int = eqx.field(static=True)
    num_channels: int | None = eqx.field(static=True)
    num_spatial_dims: int | None = eqx.field(static=True)
    num_points: int | None = eqx.field(static=True)
    domain_extent: float | None = eqx.field(static=True)

    def __init__(
        self,
        rhs: Callable,
        dt: float,
        *,
        solver: Any = None,
        num_substeps: int = 1,
        num_channels: int | None = None,
        num_spatial_dims: int | None = None,
        num_points: int | None = None,
        domain_extent: float | None = None,
    ):
        if not callable(rhs):
            raise TypeError(f"`rhs` must be callable, got {type(rhs).__name__}.")
        check_positive(dt, "dt")
        self.rhs_fn = rhs
        self.dt = float(dt)
        self.solver = diffrax.Tsit5() if solver is None else solver
        if not isinstance(self.solver, diffrax.AbstractSolver):
            raise TypeError(f"`solver` must be a diffrax solver, got {type(solver).__name__}.")
        self.num_substeps = check_int(num_substeps, "num_substeps", minimum=1)
        grid = (("num_channels", num_channels), ("num_spatial_dims", num_spatial_dims),
                ("num_points", num_points))  # fmt: skip
        for name, value in grid:
            if value is not None:
                check_int(value, name, minimum=1)
        if domain_extent is not None:
            check_positive(domain_extent, "domain_extent")
        self.num_channels = num_channels
        self.num_spatial_dims = num_spatial_dims
        self.num_points = num_points
        self.domain_extent = domain_extent

    def rhs(self, u: ArrayLike, *aux: Any) -> jax.Array:
        """The right-hand side du/dt."""
        return self.rhs_fn(u, *aux)

    def __call__(self, u: ArrayLike, *aux: Any) -> jax.Array:
        """Integrate over one `dt`."""
        u = checked_state(u, "u", self)
        term = diffrax.ODETerm(lambda t, y, args: self.rhs_fn(y, *args))
        h = self.dt / self.num_substeps
        sol = diffrax.diffeqsolve(
            term,
            self.solver,
            t0=0.0,
            t1=self.dt,
            dt0=h,
            y0=u,
            args=aux,
            saveat=diffrax.SaveAt(t1=True),
            stepsize_controller=diffrax.ConstantStepSize(),
            max_steps=self.num_substeps + 1,
        )
        out = sol.ys[0]
        warn_if_diverged(out, "RHSStepper")
        return out
