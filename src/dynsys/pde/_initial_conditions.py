"""Grids and random initial conditions for periodic PDE states (channel-first)."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import check_int, check_key, check_positive, check_real


def make_grid(num_spatial_dims: int, domain_extent: float, num_points: int) -> np.ndarray:
    """Coordinates of the periodic grid x_j = j L / N, shape `(D, N, ..., N)` (exponax layout).

    **Arguments:** `num_spatial_dims` D, `domain_extent` L, `num_points` N.

    **Returns:** numpy array `(D, *(N,)*D)`; axis 0 is the coordinate index.

    ```python
    make_grid(2, 1.0, 4).shape   # (2, 4, 4)
    ```
    """
    d = check_int(num_spatial_dims, "num_spatial_dims", minimum=1)
    n = check_int(num_points, "num_points", minimum=1)
    check_positive(domain_extent, "domain_extent")
    x = np.arange(n) * (float(domain_extent) / n)
    return np.stack(np.meshgrid(*([x] * d), indexing="ij"))


def truncated_fourier_series(
    key: Any,
    num_spatial_dims: int,
    num_points: int,
    *,
    cutoff: int = 5,
    num_channels: int = 1,
    zero_mean: bool = True,
    max_one: bool = True,
    dtype: Any = None,
) -> Float[Array, " channels *space"]:
    """Random band-limited periodic field: a Fourier series with modes |m_d| <= `cutoff`.

        u(x) = Σ_{0<|m|_∞<=cutoff} (a_m cos(2π m·x/L) + b_m sin(2π m·x/L)),
        a_m, b_m ~ U(−1, 1),

    (exponax's `RandomTruncatedFourierSeries`), then optionally scaled so that max|u| = 1.
    Independent of the domain length (defined on grid indices). Resolved exactly by a
    spectral solver when `cutoff < num_points / 3`.

    **Arguments:**

    - `key`: PRNG key.
    - `num_spatial_dims`, `num_points`: grid.
    - `cutoff`: highest mode per axis, >= 1 (keyword).
    - `num_channels`: independent channels (keyword).
    - `zero_mean`: drop the constant mode (keyword; else a_0 ~ U(−1, 1) is added).
    - `max_one`: rescale each channel to max|u| = 1 (keyword).
    - `dtype`: float dtype (default: JAX's default float).

    **Returns:** shape `(num_channels, *(num_points,) * num_spatial_dims)`.

    ```python
    u0 = truncated_fourier_series(jax.random.key(0), 1, 128, cutoff=5)   # (1, 128)
    ```
    """
    d = check_int(num_spatial_dims, "num_spatial_dims", minimum=1)
    n = check_int(num_points, "num_points", minimum=4)
    cutoff = check_int(cutoff, "cutoff", minimum=1)
    c = check_int(num_channels, "num_channels", minimum=1)
    if cutoff >= n // 2:
        raise ValueError(f"`cutoff` must be < num_points/2 = {n // 2}, got {cutoff}.")
    key = check_key(key, "key")
    dtype = jnp.result_type(float) if dtype is None else dtype
    return _fourier_series(key, d, n, cutoff, c, bool(zero_mean), bool(max_one), jnp.dtype(dtype))


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def _fourier_series(key, d, n, cutoff, c, zero_mean, max_one, dtype):
    m = np.arange(-cutoff, cutoff + 1)
    modes = np.stack(np.meshgrid(*([m] * d), indexing="ij"), axis=-1).reshape(-1, d)
    if zero_mean:
        modes = modes[np.any(modes != 0, axis=1)]
    ka, kb = jax.random.split(key)
    a = jax.random.uniform(ka, (c, modes.shape[0]), dtype, -1.0, 1.0)
    b = jax.random.uniform(kb, (c, modes.shape[0]), dtype, -1.0, 1.0)
    x = np.arange(n) / n
    grids = np.stack(np.meshgrid(*([x] * d), indexing="ij"), axis=-1).reshape(-1, d)
    phase = jnp.asarray(2.0 * np.pi * grids @ modes.T, dtype=dtype)  # (n^d, M)
    u = jnp.cos(phase) @ a.T + jnp.sin(phase) @ b.T  # (n^d, c)
    u = u.T.reshape((c,) + (n,) * d)
    if max_one:
        u = u / jnp.max(jnp.abs(u), axis=tuple(range(1, d + 1)), keepdims=True)
    return u


def gaussian_blobs(
    key: Any,
    num_spatial_dims: int,
    domain_extent: float,
    num_points: int,
    *,
    num_blobs: int = 3,
    width_range: tuple[float, float] = (0.05, 0.1),
    amplitude_range: tuple[float, float] = (0.5, 1.0),
    num_channels: int = 1,
    dtype: Any = None,
) -> Float[Array, " channels *space"]:
    """Sum of random periodic Gaussian blobs (exponax's `RandomGaussianBlobs`).

        u(x) = Σ_i A_i exp(−|x − c_i|²_per / (2 (w_i L)²)),

    centres c_i uniform in the domain, widths w_i (relative to L) and amplitudes A_i
    uniform in the given ranges, |·|_per the periodic (minimum-image) distance. Each
    channel gets its own blobs. For Gray–Scott, use `1 − 0.5·blobs` for u and `0.25·blobs`
    for v.

    **Arguments:** `key`; `num_spatial_dims` D, `domain_extent` L, `num_points` N;
    keywords `num_blobs` (>= 1), `width_range`, `amplitude_range`, `num_channels`, `dtype`.

    **Returns:** shape `(num_channels, *(num_points,) * num_spatial_dims)`.

    ```python
    v0 = gaussian_blobs(jax.random.key(1), 2, 2.5, 64, num_blobs=4)   # (1, 64, 64)
    ```
    """
    d = check_int(num_spatial_dims, "num_spatial_dims", minimum=1)
    n = check_int(num_points, "num_points", minimum=1)
    nb = check_int(num_blobs, "num_blobs", minimum=1)
    c = check_int(num_channels, "num_channels", minimum=1)
    length = check_positive(domain_extent, "domain_extent")
    key = check_key(key, "key")
    widths = _range(width_range, "width_range", positive=True)
    amplitudes = _range(amplitude_range, "amplitude_range", positive=False)
    dtype = jnp.result_type(float) if dtype is None else dtype
    return _blobs(key, d, length, n, nb, widths, amplitudes, c, jnp.dtype(dtype))


def _range(value: Any, name: str, *, positive: bool) -> tuple[float, float]:
    """A `(low, high)` pair of finite numbers with low <= high (and low > 0 if `positive`)."""
    if isinstance(value, str | bytes) or not isinstance(value, tuple | list | np.ndarray):
        raise TypeError(f"`{name}` must be a pair (low, high) of numbers, got {value!r}.")
    if len(value) != 2 or np.ndim(value) != 1:
        raise ValueError(f"`{name}` must be a pair (low, high), got {value!r}.")
    low, high = (check_real(v, name) for v in value)
    if low > high or (positive and low <= 0):
        need = "0 < low <= high" if positive else "low <= high"
        raise ValueError(f"`{name}` must satisfy {need}, got {tuple(value)!r}.")
    return low, high


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7, 8))
def _blobs(key, d, length, n, nb, width_range, amplitude_range, c, dtype):
    kc, kw, ka = jax.random.split(key, 3)
    centres = jax.random.uniform(kc, (c, nb, d), dtype, 0.0, length)
    widths = jax.random.uniform(kw, (c, nb), dtype, *width_range) * length
    amps = jax.random.uniform(ka, (c, nb), dtype, *amplitude_range)
    x = jnp.asarray(make_grid(d, length, n), dtype=dtype)  # (d, *space)
    diff = x[None, None] - centres.reshape(c, nb, d, *([1] * d))
    diff = diff - length * jnp.round(diff / length)
    r2 = jnp.sum(diff**2, axis=2)  # (c, nb, *space)
    w = widths.reshape(c, nb, *([1] * d))
    blobs = amps.reshape(c, nb, *([1] * d)) * jnp.exp(-r2 / (2.0 * w**2))
    return jnp.sum(blobs, axis=1)
