"""Evaluation during training, and the choice of the model a run returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx

from .._validation import check_int


class Evaluation(eqx.Module):
    """Evaluation policy of [`dynsys.training.fit`][]: score the model during training and
    select the returned one.

    **Fields:**

    - `fn`: `fn(model) -> dict` of scalars (or per-member arrays for an ensemble), called on
      the model after every `every` steps and recorded in `FitResult.eval_history`. It runs
      in Python between steps; jit it yourself if it is costly.
    - `every`: interval in steps; None: only after the last step. Evaluations happen at
      multiples of `every` only (so that a resumed run evaluates exactly where the
      uninterrupted one does); make `n_steps` a multiple of it for the final model to be a
      candidate for `select="best"`.
    - `select`: `"last"` returns the final model; `"best"` the evaluated model with the best
      `metric` (with an ensemble and a per-member metric, each member from its own best
      evaluation).
    - `metric`: key of the `fn` dict to select on; may be omitted when the dict has one key.
    - `mode`: `"min"` (default) or `"max"`.

    ```python
    evaluation = training.Evaluation(lambda m: {"val": val_loss(m)}, every=100, select="best")
    ```
    """

    fn: Callable[[Any], Any]
    every: int | None = eqx.field(static=True, default=None)
    select: str = eqx.field(static=True, default="last")
    metric: str | None = eqx.field(static=True, default=None)
    mode: str = eqx.field(static=True, default="min")

    def __check_init__(self):
        if not callable(self.fn):
            raise TypeError(f"`fn` (eval_fn) must be callable, got {type(self.fn).__name__}.")
        if self.every is not None:
            check_int(self.every, "every", minimum=1)
        if self.select not in ("last", "best"):
            raise ValueError(f"`select` must be 'last' or 'best', got {self.select!r}.")
        if self.metric is not None and not isinstance(self.metric, str):
            raise TypeError(
                f"`metric` (best_metric) must be a string or None, got {self.metric!r}."
            )
        if self.mode not in ("min", "max"):
            raise ValueError(f"`mode` (best_mode) must be 'min' or 'max', got {self.mode!r}.")
