"""Dropout of spike-model inputs and features: inverted dropout with its keep mask."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array


def coordinated_dropout(key: jax.Array, x: jax.Array, rate: float) -> tuple[jax.Array, jax.Array]:
    """Coordinated dropout (Keshtkaran & Pandarinath 2019): drop input entries at random.

    Each entry is kept with probability 1 − `rate` and rescaled by 1/(1 − `rate`); the
    returned `keep` mask marks the kept entries. The reconstruction loss is then taken
    only on the *dropped* entries (and on entries never input), so the model cannot pass
    a count straight through to its own prediction.

    **Arguments:** `key`; `x` counts of any shape; `rate` in [0, 1).

    **Returns:** `(x_dropped, keep)`, both of `x`'s shape (keep is bool).
    """
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0).astype(x.dtype), keep


def inverted_dropout(x: Array, rate: float, key: jax.Array | None) -> Array:
    """Zero entries of `x` with probability `rate` and rescale the rest by 1/(1 − rate).

    Identity when `key` is None or `rate` is 0 (inference).
    """
    if key is None or rate == 0.0:
        return x
    return coordinated_dropout(key, x, rate)[0]
