"""D_H: the Hellinger distance between smoothed power spectra of two trajectories."""

from __future__ import annotations

import math
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_array, check_finite, check_ndim, check_nonempty, is_traced

_TRUNCATE = 4.0  # kernel radius in standard deviations, as scipy.ndimage's default
_MAX_SMOOTHING_SHORT = 1000.0  # the largest smoothing accepted for series shorter than it


def power_spectrum(x: ArrayLike, *, smoothing: Any = 20.0) -> Float[Array, "freq dim"]:
    """Smoothed, normalised power spectrum of every dimension of a trajectory.

    Per dimension: z-score the series, take `|rfft|²` (all `time // 2 + 1` frequencies,
    the zero frequency included, no cut-off), smooth it along frequency with a Gaussian
    of standard deviation `smoothing` bins, clip negative values to 0 and normalise to unit
    sum. The Gaussian kernel matches `scipy.ndimage.gaussian_filter1d(..., mode="reflect",
    truncate=4.0)`: radius `r = int(4·smoothing + 0.5)` (length 8σ+1 for integer σ),
    weights `exp(−k²/(2σ²))` normalised to unit sum, and the spectrum is extended at both
    ends by **reflection with the edge sample repeated** (d c b a | a b c d | d c b a).
    `smoothing=0` means no smoothing.

    Row `k` belongs to the frequency `k / (time · Δt)`. A constant dimension has no
    spectrum (0/0) and gives NaN, with a `RuntimeWarning` when not traced.

    **Arguments:**

    - `x`: a trajectory, shape `(time, dim)`, `time ≥ 2`.
    - `smoothing`: standard deviation of the Gaussian smoothing in frequency bins, ≥ 0
      and at most `max(time, 1000)` (a Python number: it fixes the kernel length).

    **Returns:** the spectra, shape `(time // 2 + 1, dim)`; each column sums to 1.

    ```python
    import jax.numpy as jnp
    from dynsys.metrics import power_spectrum
    t = jnp.arange(1000.0)
    ps = power_spectrum(jnp.sin(0.3 * t)[:, None], smoothing=2.0)  # peak at row 48
    ```
    """
    x = _check_series(x, "x")
    smoothing = _check_smoothing(smoothing, x.shape[0])
    ps = _spectrum(x, smoothing)
    if not is_traced(ps) and not bool(jnp.all(jnp.isfinite(ps))):
        constant = np.flatnonzero(~np.isfinite(np.asarray(ps)).all(axis=0)).tolist()
        warnings.warn(
            f"power_spectrum is NaN in dimension(s) {constant}: they are constant in `x`, so "
            "their power spectrum cannot be normalised.",
            RuntimeWarning,
            stacklevel=2,
        )
    return ps


def power_spectrum_distance(
    true: ArrayLike,
    generated: ArrayLike,
    *,
    smoothing: Any = 20.0,
) -> Float[Array, ""]:
    """Power-spectrum distance D_H: Hellinger distance of smoothed spectra, mean over dims.

    For each dimension `i`, `p_i` and `q_i` are the smoothed normalised power spectra of
    the true and generated series ([`dynsys.metrics.power_spectrum`][]), and
    `H_i = (1/√2) ‖√p_i − √q_i‖₂ ∈ [0, 1]`; `D_H = mean_i H_i` (Hess et al. 2023, GTF;
    `smoothing = 20` bins as there). It compares the temporal structure (frequency content)
    and is insensitive to a time shift or a different initial condition on the same
    attractor. Independent trajectories of the true system give a floor of about 0.05 at
    σ = 20 (docs/metrics.md). Returns NaN, with a warning when not traced, if a dimension of
    either series is constant (e.g. a model collapsed to a fixed point); the AL-RNN code
    scores that case as 1.

    **Arguments:**

    - `true`: the reference trajectory, shape `(time, dim)`.
    - `generated`: the trajectory to judge, same shape `(time, dim)`.
    - `smoothing`: Gaussian smoothing standard deviation in frequency bins, ≥ 0.

    **Returns:** `D_H`, a scalar in `[0, 1]`.

    ```python
    import jax.numpy as jnp, dynsys
    from dynsys.metrics import power_spectrum_distance
    x = dynsys.simulate(dynsys.systems.Lorenz63(), None, jnp.arange(0.0, 200.0, 0.01))
    power_spectrum_distance(x[:10_000], x[10_000:])  # ≈ 0.04
    ```
    """
    true = _check_series(true, "true")
    generated = _check_series(generated, "generated")
    if generated.shape != true.shape:
        raise ValueError(
            f"`generated` must have the same shape as `true` {tuple(true.shape)} (equal length "
            f"and dimension), got shape {tuple(generated.shape)}."
        )
    smoothing = _check_smoothing(smoothing, true.shape[0])
    dtype = np.promote_types(true.dtype, generated.dtype)
    value = _distance(true.astype(dtype), generated.astype(dtype), smoothing)
    if not is_traced(value) and math.isnan(float(value)):
        warnings.warn(
            "power_spectrum_distance is NaN: a dimension of `true` or `generated` is constant, "
            "so its power spectrum cannot be normalised.",
            RuntimeWarning,
            stacklevel=2,
        )
    return value


def _check_series(x, name):
    x = as_array(x, name)
    check_ndim(x, name, 2, "2-D (time, dim)")
    check_nonempty(x, name, axis=0, min_len=2)
    check_nonempty(x, name, axis=1)
    check_finite(x, name)
    return x


def _check_smoothing(smoothing, n_times: int) -> float:
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float, np.number)):
        raise TypeError(f"`smoothing` must be a Python number (bins), got {smoothing!r}.")
    smoothing = float(smoothing)
    if not (math.isfinite(smoothing) and smoothing >= 0):
        raise ValueError(f"`smoothing` must be finite and >= 0, got {smoothing!r}.")
    if smoothing > max(n_times, _MAX_SMOOTHING_SHORT):
        # The kernel has 8σ + 1 bins: beyond the length of the series it only flattens the
        # spectrum, and a huge σ would allocate a kernel that does not fit in memory.
        raise ValueError(
            f"`smoothing`={smoothing!r} bins exceeds the {n_times} time samples of the series "
            f"(and {_MAX_SMOOTHING_SHORT}); use a smaller smoothing."
        )
    return smoothing


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = int(_TRUNCATE * sigma + 0.5)
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * k**2 / sigma**2)
    return weights / weights.sum()


def _smooth(ps: Float[Array, "freq dim"], sigma: float) -> Float[Array, "freq dim"]:
    """Gaussian filter along axis 0, as scipy.ndimage.gaussian_filter1d(mode='reflect')."""
    if sigma == 0:
        return ps
    kernel = _gaussian_kernel(sigma)
    radius = (kernel.shape[0] - 1) // 2
    # numpy's 'symmetric' padding is scipy.ndimage's 'reflect' (edge sample repeated)
    padded = jnp.pad(ps, ((radius, radius), (0, 0)), mode="symmetric")
    kernel = jnp.asarray(kernel, dtype=ps.dtype)

    def one(column):
        return jnp.convolve(column, kernel, mode="valid", precision=jax.lax.Precision.HIGHEST)

    return jax.vmap(one, in_axes=1, out_axes=1)(padded)


@jax.jit(static_argnames="smoothing")
def _spectrum(x, smoothing: float):
    z = (x - jnp.mean(x, axis=0)) / jnp.std(x, axis=0)
    ps = jnp.abs(jnp.fft.rfft(z, axis=0)) ** 2
    ps = jnp.maximum(_smooth(ps, smoothing), 0.0)
    return ps / jnp.sum(ps, axis=0)


@jax.jit(static_argnames="smoothing")
def _distance(true, generated, smoothing: float):
    p = _spectrum(true, smoothing)
    q = _spectrum(generated, smoothing)
    hellinger = jnp.sqrt(0.5 * jnp.sum((jnp.sqrt(p) - jnp.sqrt(q)) ** 2, axis=0))
    return jnp.mean(hellinger)
