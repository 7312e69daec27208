"""What a model family hands the training core: an objective (the loss of one batch)."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp


class AbstractObjective(eqx.Module):
    """The loss a model family trains on, as a strategy object for [`dynsys.training.fit`][].

    Subclass it and implement `__call__`; override `init_state` when the objective carries
    state from step to step (a teacher-forcing strength, a running statistic), and set
    `failure_hint` to the family's remedies, which the core appends to the
    [`dynsys.training.NonFiniteError`][] of a diverging run. `explain_failure` may replace
    that error by a more specific one (a solver failure naming the trajectory, say).

    The core passes the 0-based index of the step (an int32 scalar array, the same for all
    ensemble members) and a PRNG key of its own, so that an objective needs no hand-carried
    counter and a run is a deterministic function of its inputs.

    ```python
    class MSE(training.AbstractObjective):
        def __call__(self, model, batch, state, *, step, key):
            x, y = batch
            loss = jnp.mean((jax.vmap(model)(x) - y) ** 2)
            return loss, (state, {"mse": loss})
    ```
    """

    failure_hint: ClassVar[str] = ""

    def init_state(self, model: Any) -> Any:
        """The carried state before the first step, for one (unstacked) model; None: none."""
        return None

    @abc.abstractmethod
    def __call__(
        self, model: Any, batch: Any, state: Any, *, step: jax.Array, key: jax.Array
    ) -> tuple[jax.Array, tuple[Any, Mapping[str, jax.Array]]]:
        """Return `(loss, (new_state, metrics))`: a scalar loss, the state for the next
        step (wrap values computed from the model in `jax.lax.stop_gradient`) and a dict of
        scalars recorded in the history."""

    def explain_failure(self, error: Exception) -> Exception:
        """The exception to raise for a non-finite run (default: `error` itself)."""
        return error


class LossFunction(AbstractObjective):
    """A plain loss function as an objective.

    - `fn(model, batch, key) -> loss` (`has_aux=False`), or
    - `fn(model, batch, state, key) -> (loss, (state, metrics))` (`has_aux=True`), the
      conventions of [`dynsys.training.make_step`][].

    [`dynsys.training.fit`][] wraps a callable passed as its objective in this class.
    """

    fn: Any
    has_aux: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        if not callable(self.fn):
            raise TypeError(
                f"`fn` (loss_fn) must be callable, got {type(self.fn).__name__}."
            )
        if not isinstance(self.has_aux, bool):
            raise TypeError(f"`has_aux` must be True or False, got {self.has_aux!r}.")

    def __call__(self, model, batch, state, *, step, key):
        if not self.has_aux:
            loss = self.fn(model, batch, key)
            if isinstance(loss, tuple):
                raise TypeError(
                    "`loss_fn(model, batch, key)` returned a tuple; return a scalar loss, or "
                    "pass has_aux=True and use loss_fn(model, batch, train_state, key) -> "
                    "(loss, (train_state, metrics))."
                )
            return loss, (state, {})
        return self.fn(model, batch, state, key)


def call_objective(objective: Any, model, batch, state, step, key):
    """Call `objective` and check its output: `(scalar loss, (state, dict of metrics))`."""
    out = objective(model, batch, state, step=step, key=key)
    name = type(objective).__name__
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"The objective {name} must return (loss, (state, metrics)); got {type(out).__name__}."
        )
    loss, aux = out
    if not (isinstance(aux, tuple) and len(aux) == 2):
        raise TypeError(
            f"The second output of the objective {name} must be the pair (state, metrics); "
            f"got {type(aux).__name__}."
        )
    new_state, metrics = aux
    if metrics is None:
        metrics = {}
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"The metrics returned by the objective {name} must be a dict of scalars (or "
            f"None); got {type(metrics).__name__}."
        )
    if jnp.ndim(loss) != 0:
        raise ValueError(
            f"The objective {name} must return a scalar loss, got shape "
            f"{tuple(jnp.shape(loss))}; reduce it (e.g. jnp.mean) over the batch."
        )
    return loss, (new_state, dict(metrics))


def as_objective(objective: Any, has_aux: bool = False) -> AbstractObjective:
    """An `AbstractObjective` as is; a callable wrapped in a [`LossFunction`][]."""
    if isinstance(objective, AbstractObjective):
        return objective
    if not callable(objective):
        raise TypeError(
            "`objective` must be a dynsys.training.AbstractObjective or a loss function, got "
            f"{type(objective).__name__}."
        )
    return LossFunction(objective, has_aux=has_aux)
