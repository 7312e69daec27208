"""The world-model loss as an objective of the training core: predicted frames + reconstruction."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from ..training import AbstractObjective


class VideoPrediction(AbstractObjective):
    """Pixel MSE of `window` autoregressively predicted frames, plus reconstruction.

    The batch is clips `(batch, context + window, *frame_shape)`. Each clip is encoded, the
    last `window` latents are predicted from the first `context` ones and decoded:

        L = mean_h ‖D(ẑ_{t+h}) − x_{t+h}‖² + λ_rec · mean_τ ‖D(E(x_τ)) − x_τ‖²,

    averaged over the batch (metrics `"prediction"` and `"reconstruction"`).

    **Fields:** `context` (frames the predictor starts from), `window` (predicted frames,
    >= 1), `reconstruction_weight` (λ_rec; 0 skips the reconstruction term).
    """

    context: int = eqx.field(static=True)
    window: int = eqx.field(static=True)
    reconstruction_weight: float = eqx.field(static=True)

    failure_hint: ClassVar[str] = (
        "World-model remedies: a lower `learning_rate`, a tighter `gradient_clip`, a shorter "
        "`window`, or fewer/bounded integration steps of the predictor."
    )

    def _clip_loss(self, model, clip):
        ctx = self.context
        lat = model.encode(clip)
        pred = model.decode(model.latent_rollout(lat[:ctx], self.window))
        pred_mse = jnp.mean((pred - clip[ctx:]) ** 2)
        if self.reconstruction_weight:
            rec_mse = jnp.mean((model.decode(lat) - clip) ** 2)
        else:
            rec_mse = jnp.zeros_like(pred_mse)
        return pred_mse, rec_mse

    def __call__(self, model, batch, state, *, step, key):
        pred_mse, rec_mse = jax.vmap(self._clip_loss, in_axes=(None, 0))(model, batch)
        pred_mse, rec_mse = jnp.mean(pred_mse), jnp.mean(rec_mse)
        loss = pred_mse + self.reconstruction_weight * rec_mse
        return loss, (state, {"prediction": pred_mse, "reconstruction": rec_mse})
