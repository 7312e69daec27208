"""The pure training step: loss, gradient, optax update, in one function to compile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ._nonfinite import all_finite
from ._objective import LossFunction, call_objective


def check_optimizer(optimizer: Any) -> None:
    """Raise a `TypeError` unless `optimizer` looks like an optax `GradientTransformation`."""
    has_init = callable(getattr(optimizer, "init", None))
    if not (has_init and callable(getattr(optimizer, "update", None))):
        raise TypeError(
            "`optimizer` must be an optax GradientTransformation (with `init` and `update`), "
            f"e.g. optax.adam(1e-3); got {type(optimizer).__name__}."
        )


def check_filter_spec(filter_spec: Any) -> None:
    """Raise a `TypeError` for a `filter_spec` that is neither callable nor a pytree of them."""
    if filter_spec is None or isinstance(filter_spec, (str, bytes)):
        raise TypeError(
            "`filter_spec` must be a callable leaf -> bool (e.g. eqx.is_inexact_array) or a "
            f"pytree of bools/callables matching the model; got {filter_spec!r}."
        )


def make_guarded_step(
    objective: Any,
    optimizer: Any,
    *,
    filter_spec: Any = eqx.is_inexact_array,
) -> Callable:
    """The step used by `fit`: one objective update plus an update scale and a finiteness flag.

    `step(model, opt_state, state, batch, key, step_index, update_scale) -> (model,
    opt_state, state, loss, metrics, ok)`; `objective` is an
    [`dynsys.training.AbstractObjective`][], called with `step=step_index`; `update_scale`
    (a float32 scalar array, or None) multiplies the optax updates, which for any optimizer
    equals scaling its learning rate; `ok` is True when the loss, the new parameters and the
    new state are all finite.
    """

    def step(model, opt_state, state, batch, key, step_index, update_scale):
        params, static = eqx.partition(model, filter_spec)

        def loss(params):
            current = eqx.combine(params, static)
            return call_objective(objective, current, batch, state, step_index, key)

        (value, (new_state, metrics)), grads = eqx.filter_value_and_grad(loss, has_aux=True)(params)
        # optax's own arithmetic (e.g. Adam's bias correction b1 ** count with an int32 count)
        # is not clean under strict dtype promotion; only the optimiser gets standard rules.
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, opt_state, params)
        if update_scale is not None:
            updates = jax.tree_util.tree_map(lambda u: u * update_scale.astype(u.dtype), updates)
        params = eqx.apply_updates(params, updates)
        model = eqx.combine(params, static)
        ok = jnp.isfinite(value) & all_finite(model) & all_finite(new_state)
        return model, opt_state, new_state, value, metrics, ok

    return step


def make_step(
    loss_fn: Callable,
    optimizer: Any,
    *,
    has_aux: bool = False,
    filter_spec: Any = eqx.is_inexact_array,
) -> Callable:
    """Build the pure training step: loss, gradient and one optax update.

    The returned function is pure and not compiled, so that it composes: wrap it in
    `eqx.filter_jit` to compile it once, and in `eqx.filter_vmap` to train an ensemble (a
    leading member axis on model, optimiser state, training state, key and optionally batch).
    [`dynsys.training.fit`][] builds the same step and runs the loop around it.

    Only the leaves selected by `filter_spec` are trained; `eqx.partition` splits them off,
    the gradient is taken with `eqx.filter_value_and_grad` and the optax update is applied with
    `eqx.apply_updates`. Gradient masks (e.g. keeping a diagonal at zero) belong in the
    optimizer, e.g. `optax.chain(optax.stateless(mask_fn), optax.adam(1e-3))`.

    **Arguments:**

    - `loss_fn`: the loss, in one of two conventions chosen by `has_aux`:
        - `has_aux=False`: `loss_fn(model, batch, key) -> loss` (a scalar).
        - `has_aux=True`: `loss_fn(model, batch, train_state, key) -> (loss, (train_state,
          metrics))`, where `train_state` is any pytree carried from step to step without
          gradient (e.g. a teacher-forcing strength and its annealing counter) and `metrics`
          a dict of scalars recorded in the history. Wrap quantities computed from the
          model for the new state in `jax.lax.stop_gradient`.
    - `optimizer`: an optax `GradientTransformation`; initialise its state with
      `optimizer.init(eqx.filter(model, filter_spec))`.
    - `has_aux`: selects the `loss_fn` convention above.
    - `filter_spec`: which leaves to train, as for `eqx.partition` (default
      `eqx.is_inexact_array`: every floating array); others stay frozen.

    **Returns:**

    `step(model, opt_state, train_state, batch, key) -> (model, opt_state, train_state, loss,
    metrics)`, with `loss` the loss of the model *before* the update and `metrics` a dict
    (empty when `has_aux=False`; `train_state` is then passed through unchanged).

    **Example:**

    ```python
    def loss_fn(model, batch, key):
        x, y = batch
        return jnp.mean((jax.vmap(model)(x) - y) ** 2)

    optimizer = optax.adam(1e-2)
    step = eqx.filter_jit(make_step(loss_fn, optimizer))
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    model, opt_state, _, loss, _ = step(model, opt_state, None, (x, y), key)
    ```
    """
    if not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be callable, got {type(loss_fn).__name__}.")
    check_optimizer(optimizer)
    if not isinstance(has_aux, bool):
        raise TypeError(f"`has_aux` must be True or False, got {has_aux!r}.")
    check_filter_spec(filter_spec)
    guarded = make_guarded_step(
        LossFunction(loss_fn, has_aux=has_aux), optimizer, filter_spec=filter_spec
    )

    def step(model, opt_state, train_state, batch, key):
        model, opt_state, train_state, loss, metrics, _ = guarded(
            model, opt_state, train_state, batch, key, jnp.zeros((), jnp.int32), None
        )
        return model, opt_state, train_state, loss, metrics

    return step
