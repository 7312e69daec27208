"""Activation functions by name, so that a saved decoder or latent field records its choice."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

# Names of the activations a saved model may use: a function cannot be stored in a file
# (never pickle), so the file names it and loading maps the name back.
ACTIVATIONS: dict[str, Callable] = {
    "sin": jnp.sin,
    "cos": jnp.cos,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
    "swish": jax.nn.swish,  # the same function as jax.nn.silu
    "softplus": jax.nn.softplus,
    "sigmoid": jax.nn.sigmoid,
    "elu": jax.nn.elu,
    "leaky_relu": jax.nn.leaky_relu,
}


def activation_name(fn: Callable, owner: str) -> str:
    """The name of `fn` in `ACTIVATIONS`, or a `ValueError` saying that `owner` cannot be saved."""
    for name, candidate in ACTIVATIONS.items():
        if fn is candidate:
            return name
    raise ValueError(
        f"Cannot save a {owner} whose activation is {fn!r}: only these activations can be "
        f"saved: {sorted(ACTIVATIONS)} (e.g. `jnp.sin`, `jax.nn.swish`)."
    )


def activation_from_name(name: str) -> Callable:
    """The activation function named `name` (one of `ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"{name!r} is not a known activation; known: {sorted(ACTIVATIONS)}.")
    return ACTIVATIONS[name]
