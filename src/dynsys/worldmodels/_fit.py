"""Training world models through `dynsys.training.fit`: teacher forcing or truncated BPTT."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .. import training
from .._validation import check_int, check_positive
from ..data import Trajectories, sample_window_indices
from ._matched import count_parameters
from ._objective import VideoPrediction
from ._world_model import WorldModel


def check_video_data(model: WorldModel, data: Any, name: str, min_len: int) -> jax.Array:
    """Validate a `Trajectories` of videos for `model`; return its states in the model dtype."""
    if not isinstance(model, WorldModel):
        raise TypeError(
            f"`model` must be a dynsys.worldmodels.WorldModel, got {type(model).__name__}."
        )
    if not isinstance(data, Trajectories):
        raise TypeError(f"`{name}` must be a dynsys.data.Trajectories, got {type(data).__name__}.")
    states = data.states
    if states.ndim != 5:
        raise ValueError(
            f"`{name}.states` must be videos (batch, time, channels, height, width), got shape "
            f"{tuple(states.shape)}."
        )
    # One video checks axes, channels, frame size, length and finiteness for all of them.
    model.check_frames(states[0], f"{name}.states[0]", min_len=min_len)
    return states.astype(training.param_dtype(model, default=states.dtype))


def fit(
    model: WorldModel,
    data: Trajectories,
    *,
    n_steps: int = 300,
    batch_size: int = 16,
    window: int = 1,
    learning_rate: float = 2e-3,
    weight_decay: float = 0.0,
    reconstruction_weight: float = 1.0,
    optimizer: Any = None,
    gradient_clip: float | None = 1.0,
    checkpoint: training.Checkpointing | None = None,
    on_nonfinite: Any = "raise",
    progress: bool | training.Progress = True,
    key: jax.Array,
) -> training.FitResult:
    """Train a world model on videos: pixel MSE of predicted frames plus reconstruction.

    Each step draws `batch_size` clips of `context + window` consecutive frames (random
    video, random start, [`dynsys.data.sample_window_indices`][]), encodes them, predicts
    `window` latents autoregressively from the first `context` ones and minimises

        L = mean_h ‖D(ẑ_{t+h}) − x_{t+h}‖² + λ_rec · mean_τ ‖D(E(x_τ)) − x_τ‖²,

    (pixel means; λ_rec = `reconstruction_weight`, FluidWorld's weight 1). `window=1` is
    one-step training with teacher forcing; `window > 1` backpropagates through that many
    autoregressive steps, truncated at the clip start (truncated BPTT over short windows,
    FluidWorld uses 4). By default AdamW with cosine decay of the learning rate to 10 % and
    global-norm clipping, through [`dynsys.training.fit`][]: a non-finite step stops with a
    `NonFiniteError` naming the step, with the world-model remedies.

    **Arguments:**

    - `model`: a [`WorldModel`][] with trainable parameters.
    - `data`: `Trajectories` of videos, states `(batch, time, *model.frame_shape)`,
      time >= context + window; cast to the model's parameter dtype.
    - `n_steps`, `batch_size`, `window` (>= 1), `reconstruction_weight` (>= 0).
    - `learning_rate`, `weight_decay`: the default optimizer's (ignored when `optimizer` is
      given).
    - `optimizer`: an optax `GradientTransformation`; None: `optax.adamw(
      optax.cosine_decay_schedule(learning_rate, n_steps, alpha=0.1), weight_decay)`.
    - `gradient_clip`: clip gradients to this global norm before the optimizer (given or
      default); None: no clipping.
    - `checkpoint`: a [`dynsys.training.Checkpointing`][] (`resume=True` continues bit for
      bit with the same arguments), or None.
    - `on_nonfinite`: `"raise"` (default), `"rollback"` or a policy object; `progress`:
      True/False or a [`dynsys.training.Progress`][]; both of [`dynsys.training.fit`][].
    - `key`: PRNG key (clip sampling).

    **Returns:** the [`dynsys.training.FitResult`][] (`.model` is the trained model;
    `history` has `step`, `loss`, `prediction`, `reconstruction`; `wall_time` the training
    time).

    ```python
    data = gray_scott_video(jax.random.key(0), 16, 20)
    result = fit(model, data, key=jax.random.key(1), n_steps=200)
    ```
    """
    window = check_int(window, "window", minimum=1)
    states = check_video_data(model, data, "data", min_len=model.context + window)
    if count_parameters(eqx.filter(model, eqx.is_inexact_array)) == 0:
        raise ValueError(
            f"`model` (predictor {type(model.predictor).__name__}) has no trainable "
            "parameters; evaluate it directly instead of fitting it."
        )
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    check_positive(reconstruction_weight, "reconstruction_weight", allow_zero=True)
    if optimizer is None:
        check_positive(learning_rate, "learning_rate")
        check_positive(weight_decay, "weight_decay", allow_zero=True)
        schedule = optax.cosine_decay_schedule(learning_rate, n_steps, alpha=0.1)
        optimizer = optax.adamw(schedule, weight_decay=weight_decay)
    if gradient_clip is not None:
        check_positive(gradient_clip, "gradient_clip")

    length = model.context + window
    n_videos, n_times = states.shape[:2]
    offsets = jnp.arange(length)

    def draw(step, key, states):
        video, start = sample_window_indices(
            key, n_videos, n_times, window=length, batch_size=batch_size
        )
        return states[video[:, None], start[:, None] + offsets[None, :]]

    sampler = training.JitSampler(draw, data=states)

    rec_w = float(reconstruction_weight) if model.encoder is not None else 0.0
    objective = VideoPrediction(context=model.context, window=window, reconstruction_weight=rec_w)
    return training.fit(
        model, objective, sampler, optimizer=optimizer, n_steps=n_steps, key=key,
        gradient_clip=gradient_clip, checkpoint=checkpoint, on_nonfinite=on_nonfinite,
        progress=progress,
    )  # fmt: skip
