"""The non-finite guard: a cheap in-step finiteness flag and a clear error naming the step."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_int

_HINT = (
    "Try a lower learning rate, gradient clipping (e.g. optax.chain("
    "optax.clip_by_global_norm(1.0), optimizer)), stronger teacher forcing, or check the data "
    "for NaN/inf"
)


class NonFiniteError(FloatingPointError):
    """Training produced a NaN or infinite loss, parameter or training-state value.

    Raised by [`dynsys.training.fit`][] instead of returning a silently broken model. The
    message names the step (0-based index of the update), the quantity that went non-finite
    (`"loss"`, or the leaf path of the parameter or training-state entry) and gives hints.

    **Attributes:**

    - `step`: 0-based index of the failing update.
    - `quantity`: what went non-finite, e.g. `"loss"` or `"parameters .W, .b"`.
    - `last_good_model`: the model before the failing update (None if unknown).
    """

    def __init__(
        self,
        message: str,
        *,
        step: int,
        quantity: str,
        last_good_model: Any = None,
    ):
        super().__init__(message)
        self.step = step
        self.quantity = quantity
        self.last_good_model = last_good_model


def all_finite(tree: Any, batch_ndim: int = 0) -> jax.Array:
    """Boolean: every entry of every inexact array leaf of `tree` is finite (traceable).

    With `batch_ndim > 0` the reduction keeps that many leading axes (per ensemble member).
    """
    leaves = jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_inexact_array))
    ok = jnp.ones((), dtype=bool)
    for leaf in leaves:
        axes = tuple(range(batch_ndim, leaf.ndim))
        ok = ok & jnp.all(jnp.isfinite(leaf), axis=axes)
    return ok


def nonfinite_paths(tree: Any, prefix: str = "") -> list[str]:
    """Leaf paths (as `jax.tree_util.keystr`) of inexact array leaves holding NaN or inf."""
    arrays = eqx.filter(tree, eqx.is_inexact_array)
    bad = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(arrays)[0]:
        if not np.all(np.isfinite(np.asarray(leaf))):
            bad.append(prefix + jax.tree_util.keystr(path))
    return bad


def describe_nonfinite(loss: Any, model: Any, train_state: Any) -> str:
    """Name the quantity that went non-finite after one step (host-side, only on failure)."""
    loss = np.asarray(loss)
    if not np.all(np.isfinite(loss)):
        if loss.ndim == 0:
            return f"loss (value {loss.item()!r})"
        members = np.flatnonzero(~np.isfinite(loss)).tolist()
        return f"loss (ensemble members {members})"
    params = nonfinite_paths(model, "model")
    if params:
        return "parameters " + ", ".join(params)
    state = nonfinite_paths(train_state, "train_state")
    if state:
        return "training state " + ", ".join(state)
    return "an unidentified value"


def nonfinite_error(
    step: int,
    quantity: str,
    *,
    n_rollbacks: int = 0,
    last_good_model: Any = None,
    hint: str = "",
) -> NonFiniteError:
    """Build the `NonFiniteError` for a failure at `step`; `hint`: the objective's remedies."""
    if n_rollbacks:
        after = f" after {n_rollbacks} rollback(s), the most allowed"
        tail = "; or allow more with RollbackOnNonfinite(max_rollbacks=...)."
    else:
        after = ""
        tail = "; fit(..., on_nonfinite='rollback') restores the last good state and continues."
    message = (
        f"Training became non-finite at step {step} (0-based){after}: {quantity}. {_HINT}{tail}"
    )
    if hint:
        message = f"{message} {hint}"
    return NonFiniteError(message, step=step, quantity=quantity, last_good_model=last_good_model)


def _check_divergence_fields(factor: Any, window: Any) -> None:
    if factor is not None:
        if isinstance(factor, bool) or not isinstance(factor, (int, float, np.floating)):
            raise TypeError(f"`divergence_factor` must be a number > 1 or None, got {factor!r}.")
        if not (np.isfinite(factor) and factor > 1):
            raise ValueError(
                f"`divergence_factor` must be a finite number > 1 or None, got {factor!r}."
            )
    check_int(window, "divergence_window", minimum=1)


class RaiseOnNonfinite(eqx.Module):
    """Failure policy of [`dynsys.training.fit`][]: stop at the first non-finite step with
    a [`NonFiniteError`][dynsys.training.NonFiniteError] naming the step, the quantity and
    the remedies (the default; `on_nonfinite="raise"`), and stop a diverging run with a
    [`DivergenceError`][dynsys.training.DivergenceError].

    **Fields:**

    - `divergence_factor`: the run has diverged when the mean loss of the last
      `divergence_window` steps exceeds its best value by this factor (for a negative best,
      by this factor of its magnitude); None turns the check off. Default 1000.
    - `divergence_window`: steps in the running mean, >= 1. Default 20.
    """

    divergence_factor: Any = eqx.field(static=True, default=1e3)  # float | None
    divergence_window: int = eqx.field(static=True, default=20)

    def __check_init__(self):
        _check_divergence_fields(self.divergence_factor, self.divergence_window)


class RollbackOnNonfinite(eqx.Module):
    """Failure policy of [`dynsys.training.fit`][]: restore the state before the failing
    step, skip its batch, scale the learning rate and continue (`on_nonfinite="rollback"`).

    **Fields:**

    - `max_rollbacks`: rollbacks allowed before raising anyway, >= 0.
    - `lr_factor`: factor in (0, 1] applied to every update after a rollback (it scales the
      optax updates, which equals scaling the learning rate for any optimizer); None keeps
      the rate.
    - `divergence_factor`, `divergence_window`: as for `RaiseOnNonfinite`; a diverged run
      is rolled back to the state with the best running mean loss and continues after the
      step that was flagged.
    """

    max_rollbacks: int = eqx.field(static=True, default=3)
    lr_factor: float | None = eqx.field(static=True, default=0.5)
    divergence_factor: Any = eqx.field(static=True, default=1e3)  # float | None
    divergence_window: int = eqx.field(static=True, default=20)

    def __check_init__(self):
        _check_divergence_fields(self.divergence_factor, self.divergence_window)
        check_int(self.max_rollbacks, "max_rollbacks", minimum=0)
        lr = self.lr_factor
        if lr is not None and (
            isinstance(lr, bool) or not isinstance(lr, int | float | np.integer | np.floating)
        ):
            raise TypeError(f"`lr_factor` must be a number in (0, 1] or None, got {lr!r}.")
        if lr is not None and not 0.0 < float(lr) <= 1.0:
            raise ValueError(f"`lr_factor` must lie in (0, 1] or be None, got {self.lr_factor!r}.")


def as_nonfinite_policy(policy: Any) -> RaiseOnNonfinite | RollbackOnNonfinite:
    """`"raise"`, `"rollback"` or a policy object -> a policy object."""
    if isinstance(policy, (RaiseOnNonfinite, RollbackOnNonfinite)):
        return policy
    if policy == "raise":
        return RaiseOnNonfinite()
    if policy == "rollback":
        return RollbackOnNonfinite()
    raise ValueError(
        "`on_nonfinite` must be 'raise', 'rollback', a dynsys.training.RaiseOnNonfinite or a "
        f"dynsys.training.RollbackOnNonfinite, got {policy!r}."
    )
