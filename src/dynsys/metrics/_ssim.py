"""Structural similarity (SSIM) of predicted frames (Wang, Bovik, Sheikh, Simoncelli 2004)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_array, check_finite, check_int, check_positive, is_traced
from ._field_errors import warn_nonfinite_prediction


def _gaussian_window(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(x: jnp.ndarray, g: jnp.ndarray) -> jnp.ndarray:
    """Separable 'valid' filtering of the last two axes with the 1-D window g."""
    k = g.shape[0]
    h, w = x.shape[-2:]
    x = sum(g[j] * x[..., j : h - k + 1 + j, :] for j in range(k))
    return sum(g[j] * x[..., :, j : w - k + 1 + j] for j in range(k))


def ssim(
    true: ArrayLike,
    pred: ArrayLike,
    *,
    data_range: Any = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
) -> Float[Array, " *batch"]:
    """Mean structural similarity of each image, averaged over its channels.

        SSIM(x, y) = (2 μ_x μ_y + C₁)(2 σ_xy + C₂) / ((μ_x² + μ_y² + C₁)(σ_x² + σ_y² + C₂)),

    with local means, variances and covariance under a Gaussian window (size 11, σ = 1.5),
    C₁ = (0.01 L)², C₂ = (0.03 L)², L = `data_range`, averaged over the "valid" window
    positions and over channels (Wang et al., IEEE TIP 13, 600, 2004; equal to
    `skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=L)` per channel). 1 for identical images.
    Jit-able and differentiable.

    **Arguments:**

    - `true`, `pred`: images `(*batch, channels, height, width)`, same shape, height and
      width >= `window_size`; `true` must be finite. A non-finite `pred` (a diverged
      prediction) gives NaN for its images, with a `RuntimeWarning`.
    - `data_range`: L, a positive scalar or one value per channel `(channels,)`.
    - `window_size`: odd window size; `sigma`: its standard deviation in pixels.

    **Returns:** shape `(*batch)`.

    ```python
    x = jax.random.uniform(jax.random.key(0), (5, 1, 32, 32))
    ssim(x, x)   # ones, shape (5,)
    ```
    """
    true = as_array(true, "true")
    pred = as_array(pred, "pred")
    if true.shape != pred.shape:
        raise ValueError(
            f"`pred` must have the shape of `true` {tuple(true.shape)}, got {tuple(pred.shape)}."
        )
    if true.ndim < 3:
        raise ValueError(
            f"`true` must be images (*batch, channels, height, width), got {tuple(true.shape)}."
        )
    k = check_int(window_size, "window_size", minimum=1)
    if k % 2 == 0:
        raise ValueError(f"`window_size` must be odd, got {k}.")
    if min(true.shape[-2:]) < k:
        raise ValueError(
            f"`true` images {tuple(true.shape[-2:])} are smaller than `window_size`={k}."
        )
    check_finite(true, "true")
    check_positive(sigma, "sigma")
    dr = as_array(data_range, "data_range").astype(true.dtype)
    if dr.ndim not in (0, 1) or (dr.ndim == 1 and dr.shape[0] != true.shape[-3]):
        raise ValueError(
            f"`data_range` must be a scalar or one value per channel ({true.shape[-3]}), got "
            f"shape {tuple(dr.shape)}."
        )
    check_finite(dr, "data_range")
    if not is_traced(dr) and not bool(jnp.all(dr > 0)):
        raise ValueError(f"`data_range` must be > 0, got {np.asarray(dr).tolist()}.")
    out = _ssim(true, pred, dr, jnp.asarray(_gaussian_window(k, float(sigma)), true.dtype))
    warn_nonfinite_prediction(pred, "ssim")
    return out


@jax.jit
def _ssim(x, y, dr, g):
    dr = dr.reshape(dr.shape + (1, 1)) if dr.ndim == 1 else dr
    c1, c2 = (0.01 * dr) ** 2, (0.03 * dr) ** 2
    mx, my = _filter_valid(x, g), _filter_valid(y, g)
    sxx = _filter_valid(x * x, g) - mx * mx
    syy = _filter_valid(y * y, g) - my * my
    sxy = _filter_valid(x * y, g) - mx * my
    num = (2.0 * mx * my + c1) * (2.0 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return jnp.mean(num / den, axis=(-3, -2, -1))
