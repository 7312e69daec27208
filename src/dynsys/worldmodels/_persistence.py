"""The persistence baseline: the next frame is the last frame."""

from __future__ import annotations

import equinox as eqx
from jaxtyping import Array, Float

from .._serialization import register_loadable
from ._abstract import AbstractPredictor


class Persistence(AbstractPredictor):
    """Copy the last frame: z_{t+1} = z_t (no parameters).

    The floor every learned predictor must beat. FluidWorld (Polly 2026) reports no such
    baseline; on slowly changing scenes it is hard to beat at short horizons. Put it in a
    [`WorldModel`][] without encoder and decoder (`WorldModel(None, Persistence(), None,
    frame_shape=...)`) to copy pixels exactly rather than through an auto-encoder.

    ```python
    window = jnp.arange(2 * 3 * 4 * 4.0).reshape(2, 3, 4, 4)
    Persistence()(window)   # == window[-1]
    ```
    """

    context: int = eqx.field(static=True, default=1)
    latent_channels: int | None = eqx.field(static=True, default=None)

    def __call__(
        self, window: Float[Array, "context channels h w"]
    ) -> Float[Array, "channels h w"]:
        """Return `window[-1]`."""
        return window[-1]


register_loadable(
    Persistence,
    hyperparameters=lambda m: {"context": m.context, "latent_channels": m.latent_channels},
    template=lambda hp: Persistence(context=hp["context"], latent_channels=hp["latent_channels"]),
)
