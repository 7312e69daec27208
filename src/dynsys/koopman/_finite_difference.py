"""Second-order finite-difference time derivative of a sampled series."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float


def finite_difference(v: Float[Array, "time ..."], dt: float) -> Float[Array, "time ..."]:
    """dv/dt by 2nd-order finite differences: central inside, one-sided at both ends.

    (v_{i+1} − v_{i−1})/(2Δt) inside; (−3v₀ + 4v₁ − v₂)/(2Δt) and (3v_n − 4v_{n−1} +
    v_{n−2})/(2Δt) at the ends (PyDMD's `differentiate`). Needs >= 3 samples.
    """
    inner = (v[2:] - v[:-2]) / (2 * dt)
    first = (-3 * v[0] + 4 * v[1] - v[2]) / (2 * dt)
    last = (3 * v[-1] - 4 * v[-2] + v[-3]) / (2 * dt)
    return jnp.concatenate([first[None], inner, last[None]], 0)
