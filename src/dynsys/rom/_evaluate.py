"""Scores of a reduced-order model on test fields: the relative L2 error of its forecasts."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from ..data import Trajectories
from ..metrics import AbstractScores, relative_l2_error
from ._fit import forecast_fields
from ._model import AbstractLatentROM


class FieldScores(AbstractScores):
    """Forecast errors of a reduced-order model ([`dynsys.rom.evaluate`][]).

    **Fields:** `relative_l2` (the mean over trajectories, forecast snapshots and channels
    of [`dynsys.metrics.relative_l2_error`][], the Φ-ROM paper's metric),
    `relative_l2_per_step` (numpy `(time,)`: the same per snapshot, entry 0 the inverted
    initial field), `final_relative_l2` (at the last snapshot). A
    [`dynsys.metrics.AbstractScores`][]: `s["relative_l2"]`, `s.to_dict()`, `s.summary()`.
    """

    relative_l2: float
    relative_l2_per_step: Any
    final_relative_l2: float


def evaluate(
    model: AbstractLatentROM,
    test: Trajectories | Any,
    *,
    coords: Any,
    params: Any = None,
    n_iter: int = 500,
    alpha_init: Any = None,
) -> FieldScores:
    """Forecast every test trajectory from its first field and score it against the rest.

    Each first field is inverted to a latent, ψ is integrated and decoded
    ([`dynsys.rom.forecast_fields`][]) for the trajectory's length; the errors are
    [`dynsys.metrics.relative_l2_error`][] per snapshot, averaged over trajectories and
    channels.

    **Arguments:** `model` (a [`PhiROM`][dynsys.rom.PhiROM] or [`DINo`][dynsys.rom.DINo]);
    `test`: `Trajectories` (or an array) of fields `(n_traj, time, C, *space)`, time >= 2;
    `coords`, `params`, `n_iter`, `alpha_init`: as for `forecast_fields`.

    **Returns:** a [`FieldScores`][dynsys.rom.FieldScores].

    ```python
    scores = rom.evaluate(result.model, test, coords=x, params=test_mus)
    scores["relative_l2"]
    ```
    """
    states = test.states if isinstance(test, Trajectories) else test
    states = jnp.asarray(states)
    if states.ndim < 4 or states.shape[1] < 2:
        raise ValueError(
            "`test` must hold fields (n_traj, time, C, *space) with time >= 2, got shape "
            f"{tuple(states.shape)}."
        )
    if not bool(jnp.all(jnp.isfinite(states))):
        raise ValueError("`test` contains NaN or inf.")
    pred = forecast_fields(model, states[:, 0], states.shape[1] - 1, coords=coords,
                           params=params, n_iter=n_iter, alpha_init=alpha_init)  # fmt: skip
    errors = np.asarray(relative_l2_error(states, pred.astype(states.dtype)))  # (b, t, c)
    per_step = errors.mean(axis=(0, 2))
    return FieldScores(
        relative_l2=float(errors[:, 1:].mean()),
        relative_l2_per_step=per_step,
        final_relative_l2=float(per_step[-1]),
    )
