"""Training world models through `dynsys.training.fit`: teacher forcing or truncated BPTT."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .. import training
from .._validation import check_int, check_positive
from ..data import Trajectories
from ._matched import count_parameters
from ._world_model import WorldModel

_HINT = (
    "World-model remedies: a lower `learning_rate`, a tighter `gradient_clip`, a shorter "
    "`window`, or fewer/bounded integration steps of the predictor."
)


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
    leaves = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    dtype = leaves[0].dtype if leaves else states.dtype
    return states.astype(dtype)


def fit(
    model: WorldModel,
    data: Trajectories,
    *,
    key: jax.Array,
    n_steps: int = 300,
    batch_size: int = 16,
    window: int = 1,
    learning_rate: float = 2e-3,
    weight_decay: float = 0.0,
    reconstruction_weight: float = 1.0,
    gradient_clip: float | None = 1.0,
    progress: bool = True,
    on_nonfinite: str = "raise",
) -> training.FitResult:
    """Train a world model on videos: pixel MSE of predicted frames plus reconstruction.

    Each step draws `batch_size` clips of `context + window` consecutive frames (random
    video, random start), encodes them, predicts `window` latents autoregressively from
    the first `context` ones and minimises

        L = mean_h ‖D(ẑ_{t+h}) − x_{t+h}‖² + λ_rec · mean_τ ‖D(E(x_τ)) − x_τ‖²,

    (pixel means; λ_rec = `reconstruction_weight`, FluidWorld's weight 1). `window=1` is
    one-step training with teacher forcing; `window > 1` backpropagates through that many
    autoregressive steps, truncated at the clip start (truncated BPTT over short windows,
    FluidWorld uses 4). AdamW with cosine decay of the learning rate to 10 % and global-norm
    clipping, through [`dynsys.training.fit`][]: a non-finite step stops with a
    `NonFiniteError` naming the step, with a hint.

    **Arguments:**

    - `model`: a [`WorldModel`][] with trainable parameters.
    - `data`: `Trajectories` of videos, states `(batch, time, *model.frame_shape)`,
      time >= context + window.
    - `key`: PRNG key (clip sampling).
    - `n_steps`, `batch_size`, `window` (>= 1), `learning_rate`, `weight_decay`,
      `reconstruction_weight` (>= 0), `gradient_clip` (None: no clipping).
    - `progress`, `on_nonfinite`: passed to [`dynsys.training.fit`][].

    **Returns:** the [`dynsys.training.FitResult`][] (`.model` is the trained model;
    `history` has `loss`, `prediction`, `reconstruction`; `wall_time` the training time).

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
    check_positive(learning_rate, "learning_rate")
    check_positive(weight_decay, "weight_decay", allow_zero=True)
    check_positive(reconstruction_weight, "reconstruction_weight", allow_zero=True)
    if gradient_clip is not None:
        check_positive(gradient_clip, "gradient_clip")

    ctx = model.context
    length = ctx + window
    n_videos, n_times = states.shape[:2]
    rec_w = float(reconstruction_weight) if model.encoder is not None else 0.0

    def clip_loss(m, clip):
        lat = m.encode(clip)
        pred = m.decode(m.latent_rollout(lat[:ctx], window))
        pred_mse = jnp.mean((pred - clip[ctx:]) ** 2)
        rec_mse = jnp.mean((m.decode(lat) - clip) ** 2) if rec_w else jnp.zeros_like(pred_mse)
        return pred_mse, rec_mse

    def loss_fn(m, batch, state, key):
        pred_mse, rec_mse = jax.vmap(clip_loss, in_axes=(None, 0))(m, batch)
        pred_mse, rec_mse = jnp.mean(pred_mse), jnp.mean(rec_mse)
        loss = pred_mse + rec_w * rec_mse
        return loss, (state, {"prediction": pred_mse, "reconstruction": rec_mse})

    offsets = jnp.arange(length)

    @jax.jit
    def batch_fn(step, key):
        kv, ks = jax.random.split(key)
        vid = jax.random.randint(kv, (batch_size,), 0, n_videos)
        start = jax.random.randint(ks, (batch_size,), 0, n_times - length + 1)
        return states[vid[:, None], start[:, None] + offsets[None, :]]

    schedule = optax.cosine_decay_schedule(learning_rate, n_steps, alpha=0.1)
    opt = optax.adamw(schedule, weight_decay=weight_decay)
    if gradient_clip is not None:
        opt = optax.chain(optax.clip_by_global_norm(gradient_clip), opt)
    try:
        return training.fit(
            model, loss_fn, batch_fn, optimizer=opt, n_steps=n_steps, key=key, has_aux=True,
            progress=progress, on_nonfinite=on_nonfinite,
        )  # fmt: skip
    except training.NonFiniteError as err:
        raise training.NonFiniteError(
            f"{err} {_HINT}", step=err.step, quantity=err.quantity,
            last_good_model=err.last_good_model,
        ) from err  # fmt: skip
