"""Scores of a world model on held-out videos: one-step MSE, MSE and SSIM per horizon."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_int
from ..data import Trajectories
from ..metrics import AbstractScores, ssim
from ._fit import check_video_data
from ._world_model import WorldModel


class WorldModelScores(AbstractScores):
    """Scores of a world model on videos ([`dynsys.worldmodels.evaluate`][]).

    **Fields:** `one_step_mse`, `reconstruction_mse` (floats), `rollout_mse`,
    `rollout_ssim` (numpy arrays `(horizons,)`, entry h−1 for horizon h), `n_rollouts`.
    A [`dynsys.metrics.AbstractScores`][]: `s["rollout_mse"]`, `s.to_dict()`, `s.summary()`.
    """

    one_step_mse: float
    reconstruction_mse: float
    rollout_mse: Any
    rollout_ssim: Any
    n_rollouts: int


def evaluate(
    model: WorldModel,
    data: Trajectories,
    *,
    horizons: int = 10,
    data_range: Any = None,
    stride: int = 1,
) -> WorldModelScores:
    """One-step and autoregressive errors of `model` on the videos of `data`.

    - `one_step_mse`: pixel MSE of the teacher-forced predictions of every frame after the
      first `context` (`WorldModel.one_step`).
    - `reconstruction_mse`: pixel MSE of the auto-encoder alone (0 without an encoder).
    - `rollout_mse[h−1]`, `rollout_ssim[h−1]`, h = 1 … `horizons`: from every start s (a
      multiple of `stride`, s + context + horizons <= time) the model reads frames
      s … s+context−1 and rolls out `horizons` frames autoregressively; pixel MSE and
      [`dynsys.metrics.ssim`][] of the prediction at horizon h, averaged over videos and starts.

    **Arguments:** `model`; `data` (`Trajectories` of videos); `horizons` (>= 1);
    `data_range` for SSIM (scalar or per channel; default: the per-channel range
    max − min of `data`); `stride` between starts.

    **Returns:** a [`WorldModelScores`][dynsys.worldmodels.WorldModelScores] (a read-only
    mapping, as the dict it replaces): floats `one_step_mse`, `reconstruction_mse`, numpy
    arrays `rollout_mse`, `rollout_ssim` of shape `(horizons,)`, and `n_rollouts`.

    ```python
    scores = evaluate(result.model, test_data, horizons=10)
    scores["rollout_mse"]   # (10,)
    ```
    """
    horizons = check_int(horizons, "horizons", minimum=1)
    stride = check_int(stride, "stride", minimum=1)
    ctx = model.context if isinstance(model, WorldModel) else 1
    states = check_video_data(model, data, "data", min_len=ctx + horizons)
    if data_range is None:
        data_range = jnp.max(states, axis=(0, 1, 3, 4)) - jnp.min(states, axis=(0, 1, 3, 4))
        data_range = jnp.where(data_range > 0, data_range, 1.0)
    dr = jnp.asarray(data_range, dtype=states.dtype)
    n_t = states.shape[1]
    starts = np.arange(0, n_t - ctx - horizons + 1, stride)
    clips = states[:, starts[:, None] + np.arange(ctx + horizons)[None, :]]
    clips = clips.reshape(-1, *clips.shape[2:])  # (videos·starts, ctx+H, C, H, W)
    k = 11 if min(states.shape[-2:]) >= 11 else (min(states.shape[-2:]) // 2) * 2 - 1
    mse, ssim_h = _rollout_scores(model, clips, dr, k, horizons)
    one_step, recon = _one_step_scores(model, states)
    return WorldModelScores(
        one_step_mse=float(one_step),
        reconstruction_mse=float(recon),
        rollout_mse=np.asarray(mse),
        rollout_ssim=np.asarray(ssim_h),
        n_rollouts=int(clips.shape[0]),
    )


@eqx.filter_jit
def _rollout_scores(model, clips, dr, window_size, horizons):
    ctx = model.context

    def one(clip):
        pred = model.decode(model.latent_rollout(model.encode(clip[:ctx]), horizons))
        true = clip[ctx:]
        score = ssim(true, pred, data_range=dr, window_size=window_size, sigma=1.5)
        return jnp.mean((pred - true) ** 2, axis=(1, 2, 3)), score

    mse, ss = jax.lax.map(one, clips, batch_size=16)
    return jnp.mean(mse, axis=0), jnp.mean(ss, axis=0)


@eqx.filter_jit
def _one_step_scores(model, states):
    def one(video):
        pred = model.decode(model.latent_one_step(model.encode(video)))
        recon = model.decode(model.encode(video))
        return jnp.mean((pred - video[model.context :]) ** 2), jnp.mean((recon - video) ** 2)

    mse, rec = jax.lax.map(one, states)
    return jnp.mean(mse), jnp.mean(rec)
