"""`WorldModel`: encoder, latent predictor and decoder; one-step and autoregressive prediction."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._serialization import describe, register_loadable, template_from
from .._validation import as_array, check_finite, check_int
from ._abstract import AbstractPredictor
from ._encoders import PatchDecoder, PatchEncoder


class WorldModel(eqx.Module):
    """A video world model: encode frames, predict the next latent, decode it.

        z_τ = E(x_τ),   ẑ_{t+1} = P(z_{t−c+1}, …, z_t),   x̂_{t+1} = D(ẑ_{t+1}),

    with c = `predictor.context`. Autoregressive rollouts run in latent space: the window
    slides over the predicted latents (frames are decoded but not re-encoded), as in
    FluidWorld (Polly 2026). `encoder=None` and `decoder=None` make the latents the pixels
    themselves (for [`Persistence`][]: copy the last frame exactly).

    **Arguments:**

    - `encoder`: a [`PatchEncoder`][] or None (identity).
    - `predictor`: any [`AbstractPredictor`][].
    - `decoder`: a [`PatchDecoder`][] or None (identity; then `encoder` must be None too).
    - `frame_shape`: `(channels, height, width)` of the frames (keyword); height and width
      must be multiples of the patch size.

    **Methods** (one video at a time; `jax.vmap` for batches): `predict` (next frame),
    `one_step` (teacher-forced predictions), `rollout` (autoregressive), `reconstruct`
    (auto-encoder alone), and the unchecked `encode`, `decode`, `latent_rollout`,
    `latent_one_step` used inside training.

    ```python
    key = jax.random.key(0)
    model = WorldModel(PatchEncoder(2, 16, key=key), ConvGRU(16, key=key),
                       PatchDecoder(16, 2, key=key), frame_shape=(2, 32, 32))
    frames = gray_scott_video(key, 1, 12).states[0]   # (12, 2, 32, 32)
    model.rollout(frames[:2], 10).shape   # (10, 2, 32, 32)
    ```
    """

    encoder: PatchEncoder | None
    predictor: AbstractPredictor
    decoder: PatchDecoder | None
    frame_shape: tuple[int, int, int] = eqx.field(static=True)

    def __init__(
        self,
        encoder: PatchEncoder | None,
        predictor: AbstractPredictor,
        decoder: PatchDecoder | None,
        *,
        frame_shape: tuple[int, int, int],
    ):
        if not isinstance(predictor, AbstractPredictor):
            raise TypeError(
                "`predictor` must be a dynsys.worldmodels.AbstractPredictor, got "
                f"{type(predictor).__name__}."
            )
        if (encoder is None) != (decoder is None):
            raise ValueError("`encoder` and `decoder` must both be given or both be None.")
        shape = tuple(frame_shape)
        if len(shape) != 3:
            raise ValueError(f"`frame_shape` must be (channels, height, width), got {shape}.")
        shape = tuple(check_int(n, "frame_shape", minimum=1) for n in shape)
        c, h, w = shape
        if encoder is None:
            latent = c
        else:
            if not isinstance(encoder, PatchEncoder) or not isinstance(decoder, PatchDecoder):
                raise TypeError(
                    "`encoder` and `decoder` must be a PatchEncoder and a PatchDecoder, got "
                    f"{type(encoder).__name__} and {type(decoder).__name__}."
                )
            if encoder.in_channels != c or decoder.out_channels != c:
                raise ValueError(
                    f"`frame_shape` has {c} channel(s) but the encoder reads "
                    f"{encoder.in_channels} and the decoder writes {decoder.out_channels}."
                )
            if encoder.latent_channels != decoder.latent_channels:
                raise ValueError(
                    f"the encoder writes {encoder.latent_channels} latent channels but the "
                    f"decoder reads {decoder.latent_channels}."
                )
            p = encoder.patch_size
            if h % p or w % p or decoder.patch_size != p:
                raise ValueError(
                    f"`frame_shape` {shape} needs height and width divisible by the patch "
                    f"size {p} (decoder patch size {decoder.patch_size})."
                )
            latent = encoder.latent_channels
        if predictor.latent_channels is not None and predictor.latent_channels != latent:
            raise ValueError(
                f"the predictor works on {predictor.latent_channels} latent channels but the "
                f"encoder gives {latent}."
            )
        self.encoder, self.predictor, self.decoder = encoder, predictor, decoder
        self.frame_shape = shape

    @property
    def context(self) -> int:
        """Frames the predictor reads (`predictor.context`)."""
        return self.predictor.context

    # -------------------------------------------------------------- checks (public boundary)
    def check_frames(self, frames: Any, name: str = "frames", min_len: int = 1) -> jax.Array:
        """Validate a video `(time, *frame_shape)` with at least `min_len` frames; return it.

        Raises a `ValueError` naming `name` for a wrong number of axes, a wrong channel
        count or frame size, too few frames, or NaN/inf pixels.
        """
        x = as_array(frames, name)
        if x.ndim != 4:
            raise ValueError(
                f"`{name}` must be a video (time, channels, height, width) = (T, "
                f"{', '.join(map(str, self.frame_shape))}), got shape {tuple(x.shape)}."
            )
        if x.shape[1] != self.frame_shape[0]:
            raise ValueError(
                f"`{name}` has {x.shape[1]} channel(s), the model expects "
                f"{self.frame_shape[0]} (shape {tuple(x.shape)})."
            )
        if tuple(x.shape[2:]) != self.frame_shape[1:]:
            raise ValueError(
                f"`{name}` has frames of size {tuple(x.shape[2:])}, the model expects "
                f"{self.frame_shape[1:]}."
            )
        if x.shape[0] < min_len:
            raise ValueError(
                f"`{name}` has {x.shape[0]} frame(s) but needs at least {min_len} "
                f"(the context window is {self.context})."
            )
        check_finite(x, name)
        return x

    # -------------------------------------------------------------- unchecked building blocks
    def encode(self, frames: Float[Array, "time C H W"]) -> Float[Array, "time L h w"]:
        """Encode every frame of `(time, C, H, W)` → `(time, latent, h, w)`."""
        return frames if self.encoder is None else jax.vmap(self.encoder)(frames)

    def decode(self, latents: Float[Array, "time L h w"]) -> Float[Array, "time C H W"]:
        """Decode every latent of `(time, latent, h, w)` → `(time, C, H, W)`."""
        return latents if self.decoder is None else jax.vmap(self.decoder)(latents)

    def latent_rollout(
        self, latents: Float[Array, "context L h w"], n_steps: int
    ) -> Float[Array, "n_steps L h w"]:
        """Autoregressive latent predictions from a window of `context` latents (lax.scan)."""

        def body(window, _):
            nxt = self.predictor(window)
            return jnp.concatenate([window[1:], nxt[None]]), nxt

        _, out = jax.lax.scan(body, latents[-self.context :], None, length=n_steps)
        return out

    def latent_one_step(self, latents: Float[Array, "time L h w"]) -> Float[Array, "n L h w"]:
        """Teacher-forced next latents for every window of `latents`: `(time − context, ...)`."""
        c, t = self.context, latents.shape[0]
        idx = np.arange(t - c)[:, None] + np.arange(c)[None, :]
        return jax.vmap(self.predictor)(latents[idx])

    # -------------------------------------------------------------- public, validated
    def predict(self, frames: ArrayLike) -> Float[Array, "C H W"]:
        """The next frame after a video of at least `context` frames (uses the last ones).

        **Arguments:** `frames` `(time, C, H, W)`, time >= context.

        **Returns:** `(C, H, W)`.
        """
        x = self.check_frames(frames, min_len=self.context)
        return _predict(self, x)

    def one_step(self, frames: ArrayLike) -> Float[Array, "n C H W"]:
        """Teacher-forced one-step predictions of `frames[context:]`.

        Each prediction reads the true previous `context` frames.

        **Arguments:** `frames` `(time, C, H, W)`, time > context.

        **Returns:** `(time − context, C, H, W)`; entry i predicts `frames[context + i]`.
        """
        x = self.check_frames(frames, min_len=self.context + 1)
        return _one_step(self, x)

    def rollout(self, frames: ArrayLike, n_steps: int) -> Float[Array, "n C H W"]:
        """Autoregressive prediction of `n_steps` frames after the last `context` frames.

        **Arguments:** `frames` `(time, C, H, W)` with time >= context (the last `context`
        frames are the window); `n_steps` >= 1.

        **Returns:** `(n_steps, C, H, W)`; entry h−1 is the prediction at horizon h.
        """
        n = check_int(n_steps, "n_steps", minimum=1)
        x = self.check_frames(frames, min_len=self.context)
        return _rollout(self, x, n)

    def reconstruct(self, frames: ArrayLike) -> Float[Array, "time C H W"]:
        """Decode the encoded frames (the auto-encoder alone): `(time, C, H, W)`."""
        x = self.check_frames(frames)
        return _reconstruct(self, x)


@eqx.filter_jit
def _predict(model, x):
    return model.decode(model.predictor(model.encode(x[-model.context :]))[None])[0]


@eqx.filter_jit
def _one_step(model, x):
    return model.decode(model.latent_one_step(model.encode(x)))


@eqx.filter_jit
def _rollout(model, x, n):
    return model.decode(model.latent_rollout(model.encode(x[-model.context :]), n))


@eqx.filter_jit
def _reconstruct(model, x):
    return model.decode(model.encode(x))


def _world_model_hyperparameters(model: WorldModel) -> dict:
    def part(module):
        return None if module is None else describe(module)

    return {
        "encoder": part(model.encoder),
        "predictor": describe(model.predictor),
        "decoder": part(model.decoder),
        "frame_shape": list(model.frame_shape),
    }


def _world_model_template(hp: dict) -> WorldModel:
    def part(description):
        return None if description is None else template_from(description)

    return WorldModel(
        part(hp["encoder"]),
        template_from(hp["predictor"]),
        part(hp["decoder"]),
        frame_shape=tuple(hp["frame_shape"]),
    )


register_loadable(
    WorldModel, hyperparameters=_world_model_hyperparameters, template=_world_model_template
)
