"""Dilated five-point Laplacian on one 2-D latent field: [`dynsys.pde.laplacian_fd`][] there."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..pde import laplacian_fd


def dilated_laplacian(
    u: ArrayLike,
    dilation: int = 1,
    *,
    dx: float = 1.0,
    padding: str = "periodic",
) -> Float[Array, "channels height width"]:
    """Five-point Laplacian with stencil arms of `dilation` grid points.

        Lap_d u_{ij} = (u_{i+d,j} + u_{i−d,j} + u_{i,j+d} + u_{i,j−d} − 4 u_{ij}) / (d·dx)²,

    the second-order finite-difference Laplacian on the grid coarsened by `d`: it
    approximates Δu with error O((d·dx)²) for a smooth field. This is
    [`dynsys.pde.laplacian_fd`][] restricted to one 2-D field (same stencil, same numbers),
    with the dilation as second positional argument and dx = 1 by default. FluidWorld
    (Polly 2026) applies such stencils at dilations {1, 4, 16} for multi-scale diffusion;
    [`ReactionDiffusionPredictor`][] uses them.

    **Arguments:**

    - `u`: one field, shape `(channels, height, width)`.
    - `dilation`: arm length d >= 1 in grid points.
    - `dx`: grid spacing (> 0).
    - `padding`: `"periodic"` (wrap-around; the stencil then sums to zero over the domain,
      so diffusion conserves Σu) or `"zero"` (values outside the domain are 0).

    **Returns:** shape of `u`.

    ```python
    lap = dilated_laplacian(jnp.ones((3, 16, 16)), 2)   # zeros
    ```
    """
    shape = jnp.shape(u)
    if len(shape) != 3:
        raise ValueError(
            f"`u` must be one field of shape (channels, height, width), got {tuple(shape)}."
        )
    return laplacian_fd(u, dx, dilation=dilation, padding=padding)
