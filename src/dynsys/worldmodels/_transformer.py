"""A small Transformer predictor over latent tokens (one token per latent pixel)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._serialization import register_loadable
from .._validation import check_int
from ._abstract import AbstractPredictor


def positional_encoding(height: int, width: int, size: int) -> np.ndarray:
    """Fixed 2-D sinusoidal position features, shape `(height·width, size)` (size % 4 == 0).

    A quarter of the features is sin(2π f_j x/height), a quarter cos(·), and likewise for
    y/width, with frequencies f_j spaced geometrically from 1 to max(height, width)/2.
    """
    n = size // 4
    top = max(height, width) / 2.0
    freqs = top ** (np.arange(n) / max(n - 1, 1)) if n > 1 else np.ones(1)
    x = np.arange(height)[:, None] / height
    y = np.arange(width)[None, :] / width
    px = 2 * np.pi * freqs[None, None, :] * x[..., None]
    py = 2 * np.pi * freqs[None, None, :] * y[..., None]
    px, py = np.broadcast_arrays(px, py)
    feats = np.concatenate([np.sin(px), np.cos(px), np.sin(py), np.cos(py)], axis=-1)
    return feats.reshape(height * width, size)


class _Block(eqx.Module):
    norm1: eqx.nn.LayerNorm
    attention: eqx.nn.MultiheadAttention
    norm2: eqx.nn.LayerNorm
    ff1: eqx.nn.Linear
    ff2: eqx.nn.Linear

    def __init__(self, size, n_heads, ff_size, dtype, key):
        k1, k2, k3 = jax.random.split(key, 3)
        self.norm1 = eqx.nn.LayerNorm(size, dtype=dtype)
        self.attention = eqx.nn.MultiheadAttention(n_heads, size, dtype=dtype, key=k1)
        self.norm2 = eqx.nn.LayerNorm(size, dtype=dtype)
        self.ff1 = eqx.nn.Linear(size, ff_size, dtype=dtype, key=k2)
        self.ff2 = eqx.nn.Linear(ff_size, size, dtype=dtype, key=k3)

    def __call__(self, x):
        y = jax.vmap(self.norm1)(x)
        x = x + self.attention(y, y, y)
        y = jax.vmap(self.norm2)(x)
        return x + jax.vmap(lambda t: self.ff2(jax.nn.gelu(self.ff1(t))))(y)


class TransformerPredictor(AbstractPredictor):
    """Pre-norm Transformer over latent tokens, one token per latent pixel, residual output.

        x_p = E·[z_{t−c+1}(p); …; z_t(p)] + PE(p)                 (tokens p = 1 … h·w)
        x ← x + MHA(LN(x));  x ← x + W₂ GELU(W₁ LN(x))           (`n_blocks` times)
        z_{t+1}(p) = z_t(p) + W_o LN(x_p)                          (W_o = 0 at init)

    Each token carries the context frames stacked on its features; attention runs over all
    latent pixels (global spatial mixing), with fixed 2-D sinusoidal positions
    ([`positional_encoding`][]) so that the parameter count does not depend on the grid.
    The FluidWorld baseline (Polly 2026) is a pre-norm Transformer of this kind (it learns
    its position embeddings and merges time with a separate block).

    **Arguments:** `latent_channels` C; `context` (>= 1); `size` d (divisible by 4 and
    by `n_heads`); `n_heads`; `ff_size` (default 2d); `n_blocks`; `dtype`; `key`.

    **Call:** `tf(window)` with `window` `(context, C, h, w)` → `(C, h, w)`.

    ```python
    tf = TransformerPredictor(16, context=2, size=32, key=jax.random.key(0))
    tf(jnp.ones((2, 16, 8, 8))).shape   # (16, 8, 8)
    ```
    """

    embed: eqx.nn.Linear
    blocks: tuple
    norm: eqx.nn.LayerNorm
    readout: eqx.nn.Linear
    context: int = eqx.field(static=True)
    latent_channels: int = eqx.field(static=True)
    size: int = eqx.field(static=True)

    def __init__(
        self,
        latent_channels: int,
        *,
        context: int = 2,
        size: int = 32,
        n_heads: int = 4,
        ff_size: int | None = None,
        n_blocks: int = 1,
        dtype=None,
        key: jax.Array,
    ):
        c = check_int(latent_channels, "latent_channels", minimum=1)
        self.context = check_int(context, "context", minimum=1)
        d = check_int(size, "size", minimum=4)
        heads = check_int(n_heads, "n_heads", minimum=1)
        if d % 4 or d % heads:
            raise ValueError(f"`size`={d} must be divisible by 4 and by `n_heads`={heads}.")
        ff = 2 * d if ff_size is None else check_int(ff_size, "ff_size", minimum=1)
        nb = check_int(n_blocks, "n_blocks", minimum=1)
        self.latent_channels, self.size = c, d
        keys = jax.random.split(key, nb + 2)
        self.embed = eqx.nn.Linear(self.context * c, d, dtype=dtype, key=keys[0])
        self.blocks = tuple(_Block(d, heads, ff, dtype, k) for k in keys[2:])
        self.norm = eqx.nn.LayerNorm(d, dtype=dtype)
        readout = eqx.nn.Linear(d, c, dtype=dtype, key=keys[1])
        self.readout = eqx.tree_at(
            lambda m: (m.weight, m.bias), readout,
            (jnp.zeros_like(readout.weight), jnp.zeros_like(readout.bias)),
        )  # fmt: skip

    def __call__(
        self, window: Float[Array, "context channels h w"]
    ) -> Float[Array, "channels h w"]:
        """The next latent frame: attention over the latent pixels, residual read-out."""
        window = window[-self.context :]
        _, c, h, w = window.shape
        tokens = jnp.moveaxis(window.reshape(-1, h * w), 0, 1)  # (h·w, context·C)
        pe = jnp.asarray(positional_encoding(h, w, self.size), dtype=window.dtype)
        x = jax.vmap(self.embed)(tokens) + pe
        for block in self.blocks:
            x = block(x)
        out = jax.vmap(lambda t: self.readout(self.norm(t)))(x)  # (h·w, C)
        return window[-1] + jnp.moveaxis(out, 0, 1).reshape(c, h, w)


register_loadable(
    TransformerPredictor,
    hyperparameters=lambda m: {
        "latent_channels": m.latent_channels,
        "context": m.context,
        "size": m.size,
        "n_heads": m.blocks[0].attention.num_heads,
        "ff_size": m.blocks[0].ff1.out_features,
        "n_blocks": len(m.blocks),
        "dtype": m.embed.weight.dtype.name,
    },
    template=lambda hp: TransformerPredictor(
        hp["latent_channels"],
        context=hp["context"],
        size=hp["size"],
        n_heads=hp["n_heads"],
        ff_size=hp["ff_size"],
        n_blocks=hp["n_blocks"],
        dtype=hp["dtype"],
        key=jax.random.key(0),
    ),
)
