"""The convolutional patch encoder and decoder shared by every world model."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._serialization import register_loadable
from .._validation import check_int
from ._rms_norm import rms_norm


class PatchEncoder(eqx.Module):
    """Frames to latent fields: a strided patch convolution, GELU, a 3×3 convolution, RMSNorm.

        z = RMSNorm( W₂ ∗ GELU(W₁ ⋆_p x) ),

    where ⋆_p is a p×p convolution with stride p (FluidWorld's `PatchEmbed`, Polly 2026)
    and ∗ a 3×3 periodic convolution; the final RMS normalisation over channels
    ([`rms_norm`][], learned gain) puts encoded latents on the scale that
    [`ReactionDiffusionPredictor`][] keeps. One frame `(C, H, W)` becomes a latent
    `(latent_channels, H/p, W/p)`; H and W must be multiples of p.

    **Arguments:** `in_channels` C; `latent_channels`; `patch_size` p (default 2);
    `hidden_channels` (default 32); `normalise` (default True); `dtype`; `key`.

    ```python
    enc = PatchEncoder(2, 16, key=jax.random.key(0))
    enc(jnp.zeros((2, 32, 32))).shape   # (16, 16, 16)
    ```
    """

    patch: eqx.nn.Conv2d
    mix: eqx.nn.Conv2d
    gain: Float[Array, " latent"] | None
    in_channels: int = eqx.field(static=True)
    latent_channels: int = eqx.field(static=True)
    patch_size: int = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        latent_channels: int,
        *,
        patch_size: int = 2,
        hidden_channels: int = 32,
        normalise: bool = True,
        dtype=None,
        key: jax.Array,
    ):
        self.in_channels = check_int(in_channels, "in_channels", minimum=1)
        self.latent_channels = check_int(latent_channels, "latent_channels", minimum=1)
        self.patch_size = p = check_int(patch_size, "patch_size", minimum=1)
        hid = check_int(hidden_channels, "hidden_channels", minimum=1)
        k1, k2 = jax.random.split(key)
        self.patch = eqx.nn.Conv2d(self.in_channels, hid, p, stride=p, dtype=dtype, key=k1)
        self.mix = eqx.nn.Conv2d(hid, self.latent_channels, 3, padding=1,
                                 padding_mode="CIRCULAR", dtype=dtype, key=k2)  # fmt: skip
        dt = jnp.result_type(float) if dtype is None else dtype
        self.gain = jnp.ones((self.latent_channels,), dt) if normalise else None

    def __call__(self, frame: Float[Array, "C H W"]) -> Float[Array, "latent h w"]:
        """Encode one frame `(C, H, W)` to `(latent_channels, H/p, W/p)`."""
        z = self.mix(jax.nn.gelu(self.patch(frame)))
        return z if self.gain is None else rms_norm(z, self.gain)


class PatchDecoder(eqx.Module):
    """Latent fields to frames: a 3×3 convolution, GELU, a 1×1 convolution, pixel shuffle.

        x = shuffle_p( W₂ · GELU(W₁ ∗ z) ),

    the inverse layout of [`PatchEncoder`][]: W₂ gives C·p² channels per latent pixel and
    the pixel shuffle (depth to space) arranges them into p×p patches.

    **Arguments:** `latent_channels`; `out_channels` C; `patch_size` p (default 2);
    `hidden_channels` (default 32); `dtype`; `key`.

    ```python
    dec = PatchDecoder(16, 2, key=jax.random.key(0))
    dec(jnp.zeros((16, 16, 16))).shape   # (2, 32, 32)
    ```
    """

    mix: eqx.nn.Conv2d
    out: eqx.nn.Conv2d
    latent_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    patch_size: int = eqx.field(static=True)

    def __init__(
        self,
        latent_channels: int,
        out_channels: int,
        *,
        patch_size: int = 2,
        hidden_channels: int = 32,
        dtype=None,
        key: jax.Array,
    ):
        self.latent_channels = check_int(latent_channels, "latent_channels", minimum=1)
        self.out_channels = check_int(out_channels, "out_channels", minimum=1)
        self.patch_size = p = check_int(patch_size, "patch_size", minimum=1)
        hid = check_int(hidden_channels, "hidden_channels", minimum=1)
        k1, k2 = jax.random.split(key)
        self.mix = eqx.nn.Conv2d(self.latent_channels, hid, 3, padding=1,
                                 padding_mode="CIRCULAR", dtype=dtype, key=k1)  # fmt: skip
        self.out = eqx.nn.Conv2d(hid, self.out_channels * p * p, 1, dtype=dtype, key=k2)

    def __call__(self, z: Float[Array, "latent h w"]) -> Float[Array, "C H W"]:
        """Decode one latent `(latent_channels, h, w)` to a frame `(C, h·p, w·p)`."""
        y = self.out(jax.nn.gelu(self.mix(z)))
        p, c = self.patch_size, self.out_channels
        _, h, w = y.shape
        y = y.reshape(c, p, p, h, w).transpose(0, 3, 1, 4, 2)
        return y.reshape(c, h * p, w * p)


register_loadable(
    PatchEncoder,
    hyperparameters=lambda m: {
        "in_channels": m.in_channels,
        "latent_channels": m.latent_channels,
        "patch_size": m.patch_size,
        "hidden_channels": m.patch.out_channels,
        "normalise": m.gain is not None,
        "dtype": m.patch.weight.dtype.name,
    },
    template=lambda hp: PatchEncoder(
        hp["in_channels"],
        hp["latent_channels"],
        patch_size=hp["patch_size"],
        hidden_channels=hp["hidden_channels"],
        normalise=hp["normalise"],
        dtype=hp["dtype"],
        key=jax.random.key(0),
    ),
)
register_loadable(
    PatchDecoder,
    hyperparameters=lambda m: {
        "latent_channels": m.latent_channels,
        "out_channels": m.out_channels,
        "patch_size": m.patch_size,
        "hidden_channels": m.mix.out_channels,
        "dtype": m.mix.weight.dtype.name,
    },
    template=lambda hp: PatchDecoder(
        hp["latent_channels"],
        hp["out_channels"],
        patch_size=hp["patch_size"],
        hidden_channels=hp["hidden_channels"],
        dtype=hp["dtype"],
        key=jax.random.key(0),
    ),
)
