"""Dilated five-point Laplacian stencils on 2-D channel-first fields (periodic or zero padding)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import check_int, check_positive

PADDINGS = ("periodic", "zero")


def _shift(u: jnp.ndarray, offset: int, axis: int, padding: str) -> jnp.ndarray:
    """u[i + offset] along `axis`; periodic wrap-around or zeros outside the domain."""
    if padding == "periodic":
        return jnp.roll(u, -offset, axis)
    n = u.shape[axis]
    if abs(offset) >= n:
        return jnp.zeros_like(u)
    pad = [(0, 0)] * u.ndim
    pad[axis] = (0, offset) if offset > 0 else (-offset, 0)
    start = offset if offset > 0 else 0
    return jax.lax.slice_in_dim(jnp.pad(u, pad), start, start + n, axis=axis)


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
    approximates Δu with error O((d·dx)²) for a smooth field. With `dilation=1` and
    periodic padding it equals [`dynsys.pde.laplacian_fd`][] on 2-D fields. FluidWorld
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
    d = check_int(dilation, "dilation", minimum=1)
    check_positive(dx, "dx")
    if padding not in PADDINGS:
        raise ValueError(f"`padding` must be one of {PADDINGS}, got {padding!r}.")
    u = jnp.asarray(u)
    if u.ndim != 3:
        raise ValueError(
            f"`u` must be one field of shape (channels, height, width), got {tuple(u.shape)}."
        )
    return _laplacian(u, d, padding) / jnp.asarray((d * dx) ** 2, dtype=u.dtype)


def stencil_difference(u: jnp.ndarray, dilation: int, padding: str) -> jnp.ndarray:
    """(Σ of the four neighbours at distance d) − 4u, without scaling (trusted inputs)."""
    return _laplacian(u, dilation, padding)


def _laplacian(u, d, padding):
    out = -4.0 * u
    for axis in (1, 2):
        out = out + _shift(u, d, axis, padding) + _shift(u, -d, axis, padding)
    return out
