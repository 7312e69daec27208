"""The floating dtype a model trains in."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp


def param_dtype(model: Any, default: Any = None) -> jnp.dtype:
    """The dtype of the first floating-point array leaf of `model` (its parameter dtype).

    Families cast their data to it, so that a float64 model trains on float64 data and a
    float32 one on float32. `default` (else the default float of the JAX configuration) is
    returned for a model without floating arrays.
    """
    if model is None or isinstance(model, str | bytes | int | float | complex):
        raise TypeError(f"`model` must be a model (a pytree of arrays), got {model!r}.")
    leaves = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    if leaves:
        return leaves[0].dtype
    return jnp.dtype(default) if default is not None else jnp.result_type(float)
