"""Checks for the random keys and integer seeds taken by the dataset functions."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .._validation import check_int, is_traced


def check_key(key: Any, name: str = "key") -> jax.Array:
    """Return `key` if it is one JAX PRNG key (typed or raw uint32), else raise naming `name`."""
    if not isinstance(key, jax.Array):
        raise TypeError(
            f"`{name}` must be a JAX random key (jax.random.key(seed) or "
            f"jax.random.PRNGKey(seed)), got {type(key).__name__}."
        )
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.ndim != 0:
            raise ValueError(
                f"`{name}` must be a single random key, got a key array of shape "
                f"{tuple(key.shape)}."
            )
        return key
    if key.dtype != np.uint32 or key.shape != (2,):
        raise TypeError(
            f"`{name}` must be a JAX random key (typed key or uint32 array of shape (2,)), "
            f"got dtype {key.dtype} and shape {tuple(key.shape)}."
        )
    return key


def key_from_seed(seed: Any, name: str = "seed") -> jax.Array:
    """A JAX PRNG key built from the non-negative integer `seed` (checked, naming `name`)."""
    if is_traced(seed):
        raise TypeError(f"`{name}` must be a Python integer, not a traced value.")
    seed = check_int(seed, name, minimum=0)
    return jax.random.PRNGKey(seed)
