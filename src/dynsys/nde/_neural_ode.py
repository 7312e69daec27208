"""The neural ODE: y' = f_θ(t, y) solved with diffrax, in data space or augmented."""

from __future__ import annotations

from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import training
from .._serialization import describe, register_loadable, template_from
from .._validation import check_int, is_traced
from ._abstract import AbstractNDE, FitPhase
from ._checks import check_state, check_times
from ._objectives import MultipleShooting, TrajectoryMatching
from ._vector_field import ScaledTanhMLP


def default_controller() -> diffrax.PIDController:
    """The adaptive step-size controller used by default: PID with rtol 1e-3, atol 1e-6."""
    return diffrax.PIDController(rtol=1e-3, atol=1e-6)


class NeuralODE(AbstractNDE):
    """Neural ODE `dy/dt = f_θ(t, y)` (Chen et al., NeurIPS 2018), solved with diffrax.

    The state is the observed vector, optionally augmented with `augment_dim` extra
    coordinates that start at zero (augmented neural ODE, Dupont et al., NeurIPS 2019) and
    let the flow be non-Markov in data space. The default vector field is
    [`ScaledTanhMLP`][dynsys.nde.ScaledTanhMLP] (learnt scale × tanh(MLP), softplus hidden
    layers); any `eqx.Module` `f(t, y, args) -> dy` can be passed instead. Gradients are
    discretise-then-optimise through the solver (`RecursiveCheckpointAdjoint` by default,
    exact for the discretised solve).

    **Arguments:**

    - `data_dim`: observed dimension d.
    - `key`: PRNG key for the default vector field (ignored when `vector_field` is given).
    - `augment_dim`: extra zero-initialised state dimensions (default 0).
    - `width`, `depth`: default vector field size (64, 2 as in the diffrax example).
    - `vector_field`: an `eqx.Module` `f(t, y, args)` on states of size `d + augment_dim`.
    - `solver`: a diffrax solver (default `Tsit5()`).
    - `stepsize_controller`: default `PIDController(rtol=1e-3, atol=1e-6)`; pass
      `diffrax.ConstantStepSize()` (with `dt0`) for the fast fixed-step path.
    - `adjoint`: default `RecursiveCheckpointAdjoint()`.
    - `dt0`: initial (or fixed) step; None uses the first sampling interval `ts[1] - ts[0]`.
    - `max_steps`: solver step budget per solve (4096).
    - `dtype`: parameter dtype (default JAX's default float).

    **Returns** (of `__call__(ts, y0)`): the solution at `ts` in data space, `(time, d)`.

    ```python
    model = NeuralODE(3, key=jax.random.key(0))
    ts = jnp.linspace(0.0, 1.0, 50)
    ys = model(ts, jnp.ones(3))                           # (50, 3)
    batch = jax.vmap(model, in_axes=(None, 0))(ts, y0s)   # (batch, 50, 3)
    ```
    """

    vector_field: Any
    solver: Any
    stepsize_controller: Any
    adjoint: Any
    data_dim: int = eqx.field(static=True)
    augment_dim: int = eqx.field(static=True)
    dt0: float | None = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)

    def __init__(
        self,
        data_dim: int,
        *,
        key: jax.Array | None = None,
        augment_dim: int = 0,
        width: int = 64,
        depth: int = 2,
        vector_field: Any = None,
        solver: Any = None,
        stepsize_controller: Any = None,
        adjoint: Any = None,
        dt0: float | None = None,
        max_steps: int = 4096,
        dtype: Any = None,
    ):
        self.data_dim = check_int(data_dim, "data_dim", minimum=1)
        self.augment_dim = check_int(augment_dim, "augment_dim", minimum=0)
        if vector_field is None:
            if key is None:
                raise TypeError("`key` is required to initialise the default vector field.")
            vector_field = ScaledTanhMLP(
                self.data_dim + self.augment_dim, width=width, depth=depth, key=key, dtype=dtype
            )
        elif not callable(vector_field):
            raise TypeError(
                "`vector_field` must be a callable eqx.Module f(t, y, args), got "
                f"{type(vector_field).__name__}."
            )
        self.vector_field = vector_field
        self.solver = diffrax.Tsit5() if solver is None else solver
        self.stepsize_controller = (
            default_controller() if stepsize_controller is None else stepsize_controller
        )
        self.adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
        if dt0 is not None:
            dt0 = float(dt0)
            if not dt0 > 0:
                raise ValueError(f"`dt0` must be > 0 or None, got {dt0!r}.")
        self.dt0 = dt0
        self.max_steps = check_int(max_steps, "max_steps", minimum=1)

    @property
    def state_dim(self) -> int:
        """Dimension of the solved state, `data_dim + augment_dim`."""
        return self.data_dim + self.augment_dim

    def augment(self, y0: Float[Array, "... d"]) -> Float[Array, "... state"]:
        """Append `augment_dim` zeros to a data-space state."""
        if self.augment_dim == 0:
            return y0
        pad = jnp.zeros(y0.shape[:-1] + (self.augment_dim,), y0.dtype)
        return jnp.concatenate([y0, pad], axis=-1)

    def solve(
        self,
        ts: ArrayLike,
        state0: ArrayLike,
        *,
        throw: bool = True,
        max_steps: int | None = None,
        adjoint: Any = None,
    ) -> diffrax.Solution:
        """Solve from the full (augmented) state `state0` at `ts[0]`; the diffrax `Solution`.

        `sol.ys` is `(time, state_dim)`; `sol.result` and `sol.stats` (steps taken) are the
        diagnostics. With `throw=False` a failed solve (e.g. `max_steps` reached) returns
        `inf` from the failing time on instead of raising. `max_steps` and `adjoint`
        override the model's for this solve (e.g. a long free run; `diffrax.ForwardMode()`
        for forward-mode derivatives such as Lyapunov exponents).
        """
        ts = check_times(ts, "ts")
        if ts.ndim != 1:
            raise ValueError(f"`ts` must be 1-D (time,), got shape {tuple(ts.shape)}.")
        state0 = check_state(state0, "state0", self.state_dim)
        if state0.ndim != 1:
            raise ValueError(
                f"`state0` must be one state ({self.state_dim},); vmap for a batch, got shape "
                f"{tuple(state0.shape)}."
            )
        dt0 = self.dt0 if self.dt0 is not None else ts[1] - ts[0]
        return diffrax.diffeqsolve(
            diffrax.ODETerm(self.vector_field),
            self.solver,
            t0=ts[0],
            t1=ts[-1],
            dt0=dt0,
            y0=state0,
            stepsize_controller=self.stepsize_controller,
            adjoint=self.adjoint if adjoint is None else adjoint,
            saveat=diffrax.SaveAt(ts=ts),
            max_steps=self.max_steps if max_steps is None else max_steps,
            throw=throw,
        )

    def __call__(
        self, ts: ArrayLike, y0: ArrayLike, *, throw: bool = True
    ) -> Float[Array, "time d"]:
        y0 = check_state(y0, "y0", self.data_dim)
        if y0.ndim != 1:
            raise ValueError(
                f"`y0` must be one state ({self.data_dim},); vmap for a batch, got shape "
                f"{tuple(y0.shape)}."
            )
        if not is_traced(y0) and not bool(jnp.all(jnp.isfinite(y0))):
            raise ValueError("`y0` contains NaN or infinite values.")
        sol = self.solve(ts, self.augment(y0), throw=throw)
        return sol.ys[:, : self.data_dim]

    def objective(self, phase: FitPhase) -> training.AbstractObjective:
        """[`TrajectoryMatching`][dynsys.nde.TrajectoryMatching], or
        [`MultipleShooting`][dynsys.nde.MultipleShooting] when `phase.segments` is given.

        The solves start from observed states: the first time point (of every shooting
        segment) must be fully observed in every series.
        """
        segments = phase.segments
        starts = phase.mask[:, 0] if segments is None else phase.mask[:, segments[:, 0]]
        if not bool(jnp.all(starts)):
            raise ValueError(
                "`mask`: a NeuralODE is solved from observed initial states; the first time "
                "point"
                + (" of every shooting segment" if segments is not None else "")
                + " must be fully observed for every series."
            )
        if segments is None:
            return TrajectoryMatching(phase)
        return MultipleShooting(phase)


def _diffrax_name(obj: Any, base: type, what: str, owner: str = "NeuralODE") -> str:
    """The diffrax class name of a solver, controller or adjoint (rebuilt with no arguments).

    `owner` names the model in the error raised for a class that is not diffrax's own.
    """
    cls = type(obj)
    if getattr(diffrax, cls.__name__, None) is not cls or not issubclass(cls, base):
        raise ValueError(
            f"Cannot save a {owner} whose {what} is a {cls.__module__}.{cls.__qualname__}: "
            "only diffrax's own classes can be saved."
        )
    return cls.__name__


def _diffrax_object(name: str, base: type, what: str, **kwargs: Any) -> Any:
    """The diffrax class `name`, restricted to subclasses of `base`, built from `kwargs`."""
    cls = getattr(diffrax, name, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"{name!r} is not a diffrax {what}.")
    return cls(**kwargs)


def solver_hyperparameters(model: Any) -> dict:
    """The diffrax solver, step-size controller and adjoint of an ODE model, by name.

    For the `register_loadable` entries of `NeuralODE` and `LatentODE`;
    `solver_arguments` maps them back. A PID
    controller also records its tolerances (readable; the leaves restore them too).
    """
    owner = type(model).__name__
    controller = model.stepsize_controller
    controller_hp = {
        "class": _diffrax_name(controller, diffrax.AbstractStepSizeController, "controller", owner)
    }
    if isinstance(controller, diffrax.PIDController):
        controller_hp.update(rtol=float(controller.rtol), atol=float(controller.atol))
    return {
        "solver": _diffrax_name(model.solver, diffrax.AbstractSolver, "solver", owner),
        "stepsize_controller": controller_hp,
        "adjoint": _diffrax_name(model.adjoint, diffrax.AbstractAdjoint, "adjoint", owner),
    }


def solver_arguments(hp: dict) -> dict:
    """The `solver`, `stepsize_controller` and `adjoint` keywords from the names stored by
    `solver_hyperparameters`."""
    controller = hp["stepsize_controller"]
    tolerances = {k: controller[k] for k in ("rtol", "atol") if k in controller}
    return {
        "solver": _diffrax_object(hp["solver"], diffrax.AbstractSolver, "solver"),
        "stepsize_controller": _diffrax_object(
            controller["class"], diffrax.AbstractStepSizeController, "controller", **tolerances
        ),
        "adjoint": _diffrax_object(hp["adjoint"], diffrax.AbstractAdjoint, "adjoint"),
    }


def _neural_ode_hyperparameters(model: NeuralODE) -> dict:
    return {
        "data_dim": model.data_dim,
        "augment_dim": model.augment_dim,
        "vector_field": describe(model.vector_field),
        **solver_hyperparameters(model),
        "dt0": model.dt0,
        "max_steps": model.max_steps,
    }


def _neural_ode_template(hp: dict) -> NeuralODE:
    return NeuralODE(
        hp["data_dim"],
        augment_dim=hp["augment_dim"],
        vector_field=template_from(hp["vector_field"]),
        **solver_arguments(hp),
        dt0=hp["dt0"],
        max_steps=hp["max_steps"],
    )


register_loadable(
    NeuralODE, hyperparameters=_neural_ode_hyperparameters, template=_neural_ode_template
)
