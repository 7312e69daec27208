"""The interface of latent predictors: a window of latent frames in, the next latent out."""

from __future__ import annotations

import abc

import equinox as eqx
from jaxtyping import Array, Float


class AbstractPredictor(eqx.Module):
    """A latent predictor of a world model: the next latent frame from the last `context`.

        z_{t+1} = P(z_{t−c+1}, …, z_t),      c = `context`,

    on latent fields of shape `(latent_channels, h, w)`. [`WorldModel`][] rolls a
    predictor out autoregressively (sliding the window), [`fit`][dynsys.worldmodels.fit]
    trains it by teacher forcing or truncated backpropagation over short windows; a user's
    own predictor goes through the same code. Built-ins: [`ReactionDiffusionPredictor`][],
    [`ConvGRU`][], [`TransformerPredictor`][], [`Persistence`][].

    **Fields every subclass sets:** `context` (frames read, >= 1) and `latent_channels`
    (channels of the latent field, or None when any number works).
    """

    context: eqx.AbstractVar[int]
    latent_channels: eqx.AbstractVar[int | None]

    @abc.abstractmethod
    def __call__(
        self, window: Float[Array, "context channels h w"]
    ) -> Float[Array, "channels h w"]:
        """The next latent frame `(channels, h, w)` from the window `(context, channels, h, w)`."""
