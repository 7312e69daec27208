"""Structural similarity (SSIM) against known answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import metrics

F64 = jnp.float64


def test_ssim_known_answers():
    x = jax.random.uniform(jax.random.key(5), (3, 2, 16, 16), F64)
    np.testing.assert_allclose(np.asarray(metrics.ssim(x, x)), 1.0, rtol=1e-12)
    # A constant offset c leaves contrast and structure unchanged: only the luminance term
    # (2 μ (μ + c) + C₁) / (μ² + (μ + c)² + C₁) remains, with μ the local mean.
    c, c1 = 0.2, 0.01**2
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    g /= g.sum()
    xn = np.asarray(x)
    win = np.lib.stride_tricks.sliding_window_view(xn, (11, 11), axis=(2, 3))
    mu = np.einsum("i,j,bcxyij->bcxy", g, g, win)
    lum = (2 * mu * (mu + c) + c1) / (mu**2 + (mu + c) ** 2 + c1)
    np.testing.assert_allclose(np.asarray(metrics.ssim(x, x + c)), lum.mean(axis=(1, 2, 3)),
                               rtol=1e-10)  # fmt: skip
    noisy = x + 0.3 * jax.random.normal(jax.random.key(6), x.shape, F64)
    assert np.all(np.asarray(metrics.ssim(x, noisy)) < 0.9)
    with pytest.raises(ValueError, match="pred"):
        metrics.ssim(x, x[:, :1])
    with pytest.raises(ValueError, match="window_size"):
        metrics.ssim(x[..., :8, :8], x[..., :8, :8])
    with pytest.raises(ValueError, match="data_range"):
        metrics.ssim(x, x, data_range=jnp.ones(3))
