"""Scores of a delay forecaster on a held-out series: multi-step forecast errors."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import numpy as np

from .. import training
from .._validation import check_finite, check_int
from ..metrics import AbstractScores
from ._data import check_snapshots
from ._stnn import AbstractDelayForecaster


class ForecastScores(AbstractScores):
    """Forecast errors of a delay forecaster ([`dynsys.koopman.evaluate`][]).

    **Fields:** `relative_error` (‖forecast − truth‖ / ‖truth‖ over every window and step,
    the measure of the StNN example), `rmse_per_step` (numpy `(horizon,)`: root mean
    squared error at each forecast step, over windows and channels), `n_windows`. A
    [`dynsys.metrics.AbstractScores`][]: `s["relative_error"]`, `s.to_dict()`, `s.summary()`.
    """

    relative_error: float
    rmse_per_step: Any
    n_windows: int


def evaluate(
    model: AbstractDelayForecaster,
    test: Any,
    *,
    horizon: int,
    stride: int | None = None,
) -> ForecastScores:
    """Forecast `horizon` steps from windows of a test series and score them.

    From every start s (a multiple of `stride`, s + delays + horizon <= time, in each
    trajectory) the model reads the `delays` states from s and rolls out `horizon` steps
    ([`AbstractDelayForecaster.forecast`][dynsys.koopman.AbstractDelayForecaster.forecast]),
    compared with the states that follow.

    **Arguments:** `model`: an [`AbstractDelayForecaster`][dynsys.koopman.AbstractDelayForecaster]
    (`StNN`, `MLPForecaster`); `test`: `(time, dim)` or `(batch, time, dim)`, finite, in the
    units it was trained on; `horizon` (>= 1); `stride` between starts (default `horizon`,
    windows whose forecasts do not overlap).

    **Returns:** a [`ForecastScores`][dynsys.koopman.ForecastScores].

    ```python
    scores = koopman.evaluate(result.model, test, horizon=100)
    ```
    """
    if not isinstance(model, AbstractDelayForecaster):
        raise TypeError(f"`model` must be a delay forecaster, got {type(model).__name__}.")
    horizon = check_int(horizon, "horizon", minimum=1)
    stride = horizon if stride is None else check_int(stride, "stride", minimum=1)
    ys, _ = check_snapshots(test, "test")
    if ys.shape[2] != model.dim:
        raise ValueError(f"`test` must have {model.dim} channels, got shape {tuple(ys.shape)}.")
    span = model.delays + horizon
    if ys.shape[1] < span:
        raise ValueError(
            f"`test` has {ys.shape[1]} time steps; windows of delays + horizon = {span} need more."
        )
    check_finite(ys, "test")
    starts = np.arange(0, ys.shape[1] - span + 1, stride)
    windows = ys[:, starts[:, None] + np.arange(span)[None, :]].reshape(-1, span, ys.shape[2])
    pred, true = _forecasts(model, windows.astype(training.param_dtype(model)), horizon)
    err = np.asarray(pred - true, dtype=float)
    true = np.asarray(true, dtype=float)
    return ForecastScores(
        relative_error=float(np.linalg.norm(err) / np.linalg.norm(true)),
        rmse_per_step=np.sqrt(np.mean(err**2, axis=(0, 2))),
        n_windows=int(windows.shape[0]),
    )


@eqx.filter_jit
def _forecasts(model, windows, horizon):
    pred = jax.vmap(lambda w: model.forecast(w[: model.delays], horizon))(windows)
    return pred, windows[:, model.delays :]
