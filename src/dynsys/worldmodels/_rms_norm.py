"""RMS normalisation of a channel-first latent field over its channel axis."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float


def rms_norm(
    u: Float[Array, "channels height width"],
    gain: Float[Array, " channels"],
    eps: Float[ArrayLike, ""] = 1e-6,
) -> Float[Array, "channels height width"]:
    """u ← g ⊙ u / √(mean_c u² + ε) at every pixel (RMSNorm over channels, Zhang & Sennrich 2019).

    Keeps the latent energy of a reaction–diffusion state bounded (FluidWorld applies it
    every two integration steps; without it the energy diverges).

    **Arguments:** `u` `(channels, height, width)`; `gain` `(channels,)`; `eps` > 0.

    **Returns:** shape of `u`.

    ```python
    rms_norm(jnp.full((4, 8, 8), 3.0), jnp.ones(4))   # ≈ ones
    ```
    """
    ms = jnp.mean(u * u, axis=0, keepdims=True)
    return gain[:, None, None] * u * jax.lax.rsqrt(ms + eps)
