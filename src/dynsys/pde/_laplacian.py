"""The second-order finite-difference Laplacian of a channel-first field, optionally dilated."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_array, check_finite, check_int, check_positive

PADDINGS = ("periodic", "zero")


def _shift(u: jax.Array, offset: int, axis: int, padding: str) -> jax.Array:
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


def stencil_difference(u: jax.Array, dilation: int, padding: str) -> jax.Array:
    """Σ_d (u_{i−k e_d} − 2 u_i + u_{i+k e_d}) over the spatial axes, unscaled (no checks)."""
    # Accumulated axis by axis in this order on purpose: any other order of the additions
    # rounds differently, and every stepper and model built on the stencil would drift.
    out = jnp.zeros_like(u)
    for axis in range(1, u.ndim):
        backward = _shift(u, -dilation, axis, padding)
        forward = _shift(u, dilation, axis, padding)
        out = out + backward + forward - 2.0 * u
    return out


def laplacian(u: jax.Array, dx: float, dilation: int, padding: str) -> jax.Array:
    """[`laplacian_fd`][dynsys.pde.laplacian_fd] without input checks, for inner code."""
    h = dilation * dx
    return stencil_difference(u, dilation, padding) / jnp.asarray(h * h, dtype=u.dtype)


def laplacian_fd(
    u: ArrayLike,
    dx: float,
    *,
    dilation: int = 1,
    padding: str = "periodic",
) -> Float[Array, " channels *space"]:
    """Second-order finite-difference Laplacian ((2D+1)-point stencil), optionally dilated.

        Δu ≈ Σ_d (u_{i+k e_d} − 2 u_i + u_{i−k e_d}) / (k·dx)²

    over every spatial axis d of a channel-first state, with stencil arms of k = `dilation`
    grid points: the standard Laplacian on the grid coarsened by k, with error O((k·dx)²)
    for a smooth field. Exact (up to rounding) for polynomials of degree <= 3 away from the
    boundary; on a periodic grid sin(κx) is an eigenfunction with eigenvalue
    −(2 − 2 cos(κ k dx)) / (k dx)². The reaction–diffusion steppers ([`GrayScott`][],
    [`FitzHughNagumo`][]) use it with k = 1; FluidWorld's multi-scale diffusion
    ([`dynsys.worldmodels.ReactionDiffusionPredictor`][]) at several dilations.

    **Arguments:**

    - `u`: one state, shape `(channels, *space)`, any number (>= 1) of spatial axes.
    - `dx`: grid spacing (> 0), the same on every axis.
    - `dilation`: arm length k >= 1 in grid points (keyword).
    - `padding`: `"periodic"` (wrap-around; the stencil then sums to zero over the domain,
      so diffusion conserves Σu) or `"zero"` (values outside the domain are 0, i.e.
      homogeneous Dirichlet ghost points) (keyword).

    **Returns:** Δu, shape of `u`.

    ```python
    x = pde.make_grid(2, 1.0, 32)
    lap = pde.laplacian_fd(jnp.sin(2 * jnp.pi * x[:1]), 1.0 / 32)   # ≈ −(2π)² sin(2πx)
    ```
    """
    u = as_array(u, "u")
    if u.ndim < 2 or u.size == 0:
        raise ValueError(
            "`u` must be one non-empty channel-first state of shape (channels, *space) with at "
            f"least one spatial axis, got shape {tuple(u.shape)}."
        )
    check_finite(u, "u")
    check_positive(dx, "dx")
    k = check_int(dilation, "dilation", minimum=1)
    if padding not in PADDINGS:
        raise ValueError(f"`padding` must be one of {PADDINGS}, got {padding!r}.")
    return laplacian(u, dx, k, padding)
