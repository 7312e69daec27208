"""The divergence guard: a loss that has grown far above its best value stops the run."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._nonfinite import _HINT, NonFiniteError

DIVERGED = "loss (diverged)"  # the quantity of a divergence, as recorded for rollbacks


class DivergenceError(NonFiniteError):
    """Training's loss grew far above the best value it had reached.

    Raised by [`dynsys.training.fit`][] when the running mean of the loss over the last
    `divergence_window` steps exceeds its best running mean by the policy's
    `divergence_factor` (see [`dynsys.training.RaiseOnNonfinite`][]), so that a run whose
    loss climbs from 0.9 to 10⁶ stops instead of returning a useless model. A subclass of
    [`dynsys.training.NonFiniteError`][]: one `except` clause catches both ways a run fails.

    **Attributes** (besides those of `NonFiniteError`):

    - `best_step`: the last step of the window with the best running mean.
    - `history`: the loss of every step up to the stop, a numpy array (per member for an
      ensemble).
    - `last_good_model`: the model at the end of the compiled call (or host check) in which
      the running mean was best, per member for an ensemble.
    """

    def __init__(self, message: str, *, step: int, best_step: int, history: Any,
                 last_good_model: Any = None):  # fmt: skip
        super().__init__(message, step=step, quantity=DIVERGED,
                         last_good_model=last_good_model)  # fmt: skip
        self.best_step = best_step
        self.history = history


class DivergenceMonitor:
    """Host-side running mean of the loss and its best value; flags the first step whose
    running mean (over the last `window` steps, or all steps so far while there are fewer)
    exceeds `best + (factor − 1)·max(|best|, atol)` (which is `factor·best`
    for a positive loss, and also works for losses that are negative, e.g. negative
    log-likelihoods).

    Fed the finite losses of each compiled call or host check in order; per ensemble member
    when the losses carry a member axis. A run that is rolled back after a divergence
    restarts its window (`restart_window`). `rebuild` replays a resumed run's history so
    that the monitor is in the state the uninterrupted run had.
    """

    atol = 1e-12

    def __init__(self, factor: float, window: int):
        self.factor = float(factor)
        self.window = int(window)
        self.recent = None  # the last `window - 1` losses consumed, (n, ...) float64
        self.best = None  # best running mean so far, per member
        self.best_step = None
        self.diverged_mean = None  # the running mean at the flagged step

    def restart_window(self) -> None:
        """Forget the recent losses (after a rollback); the best value stays."""
        self.recent = None

    def rebuild(self, steps: Any, losses: Any, restarts: Any = ()) -> None:
        """Replay a restored history (`steps`, `losses`), restarting the window after each
        step in `restarts` (the steps a divergence rollback flagged)."""
        steps = np.asarray(steps, dtype=np.int64)
        losses = np.asarray(losses, dtype=np.float64)
        cuts = sorted({int(np.searchsorted(steps, r, side="right")) for r in restarts})
        lo = 0
        for cut in [*cuts, len(steps)]:
            if cut > lo:
                self.update(int(steps[lo]), losses[lo:cut])
            if cut < len(steps):
                self.restart_window()
            lo = cut

    def update(self, start: int, losses: Any) -> tuple[int | None, Any]:
        """Feed the losses of steps `start, start + 1, ...`.

        **Returns:** `(j, improved)`: the index within `losses` of the first diverged step
        (None if none; then only the losses up to and including it were consumed), and
        the per-member mask of where the best running mean improved before it (a bool array,
        0-d without a member axis).
        """
        losses = np.asarray(losses, dtype=np.float64)
        no_change = np.zeros(losses.shape[1:], dtype=bool)
        if losses.shape[0] == 0:
            return None, no_change
        n_prev = 0 if self.recent is None else self.recent.shape[0]
        buf = losses if self.recent is None else np.concatenate([self.recent, losses])
        # The running mean at each new step: over the last `window` steps, or over all steps
        # since the start (or the last restart) while there are fewer. `buf` begins at the
        # start whenever it holds fewer than `window - 1` earlier losses.
        csum = np.concatenate([np.zeros((1,) + buf.shape[1:]), np.cumsum(buf, axis=0)])
        ends = np.arange(n_prev, buf.shape[0])
        lo = np.maximum(0, ends + 1 - self.window)
        shape = (-1,) + (1,) * (buf.ndim - 1)
        means = (csum[ends + 1] - csum[lo]) / (ends + 1 - lo).reshape(shape)
        best = np.minimum.accumulate(means, axis=0)
        if self.best is not None:
            best = np.minimum(best, self.best)
        threshold = best + (self.factor - 1.0) * np.maximum(np.abs(best), self.atol)
        rows = (means > threshold).reshape(means.shape[0], -1).any(axis=1)
        hit = int(np.argmax(rows)) if rows.any() else None
        if hit is not None:
            self.diverged_mean = means[hit]
        upto = len(means) if hit is None else hit
        improved = no_change
        if upto:
            previous = self.best
            self.best = best[upto - 1]
            if previous is None:
                improved = np.ones(self.best.shape, dtype=bool)
                self.best_step = start + np.argmin(means[:upto], axis=0)
            else:
                improved = self.best < previous
                step = start + np.argmin(means[:upto], axis=0)
                self.best_step = np.where(improved, step, self.best_step)
        j = None if hit is None else int(ends[hit] - n_prev)
        consumed = buf if j is None else buf[: n_prev + j + 1]
        self.recent = (
            consumed[max(0, len(consumed) - (self.window - 1)) :] if self.window > 1 else None
        )
        return j, np.asarray(improved, dtype=bool)


def divergence_error(
    step: int,
    monitor: DivergenceMonitor,
    history: Any,
    *,
    n_rollbacks: int = 0,
    last_good_model: Any = None,
    hint: str = "",
) -> DivergenceError:
    """Build the `DivergenceError` for a run whose running mean loss diverged at `step`."""
    history = np.asarray(history)
    now = monitor.diverged_mean
    best = monitor.best
    best_step = monitor.best_step

    def fmt(x):
        x = np.asarray(x)
        return (
            f"{x.item():.4g}"
            if x.ndim == 0
            else "[" + ", ".join(f"{v:.4g}" for v in x.ravel()) + "]"
        )

    after = f" after {n_rollbacks} rollback(s), the most allowed" if n_rollbacks else ""
    message = (
        f"Training diverged at step {step} (0-based){after}: the running mean of the loss "
        f"(over up to {monitor.window} steps) is {fmt(now)}, more than "
        f"divergence_factor={monitor.factor:g} times its best "
        f"{fmt(best)} (reached at step {fmt(best_step)}). {_HINT}. The run's loss history "
        "is in the error's `history`, the model at its best loss in `last_good_model`; "
        "RaiseOnNonfinite(divergence_factor=None) turns this check off."
    )
    if hint:
        message = f"{message} {hint}"
    best_step_value = int(np.min(best_step)) if best_step is not None else 0
    return DivergenceError(message, step=step, best_step=best_step_value, history=history,
                           last_good_model=last_good_model)  # fmt: skip
