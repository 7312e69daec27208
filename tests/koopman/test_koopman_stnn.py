"""Structured layers, StNN and its dense twin trained with the training core, SINDy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import hankel, toeplitz

from dynsys.koopman import (
    HankelLinear,
    MLPForecaster,
    SINDy,
    StNN,
    ToeplitzLinear,
    train_forecaster,
)


@pytest.mark.parametrize(("n_in", "n_out"), [(8, 8), (7, 3), (3, 10)])
def test_structured_layers_equal_dense_structured_matrices(n_in, n_out):
    key = jax.random.key(n_in * 10 + n_out)
    x = jax.random.normal(jax.random.key(1), (n_in,))
    h = HankelLinear(n_in, n_out, key=key)
    g = np.asarray(h.generator)
    dense_h = hankel(g[:n_out], g[n_out - 1 :])  # H_ij = g[i + j]
    np.testing.assert_allclose(np.asarray(h.matrix()), dense_h)
    np.testing.assert_allclose(
        np.asarray(h(x)), dense_h @ np.asarray(x) + np.asarray(h.bias), rtol=0, atol=1e-13
    )
    t = ToeplitzLinear(n_in, n_out, key=key)
    g = np.asarray(t.generator)
    dense_t = toeplitz(g[n_in - 1 :], g[n_in - 1 :: -1])  # T_ij = g[i − j + n_in − 1]
    np.testing.assert_allclose(np.asarray(t.matrix()), dense_t)
    np.testing.assert_allclose(
        np.asarray(t(x)), dense_t @ np.asarray(x) + np.asarray(t.bias), rtol=0, atol=1e-13
    )
    assert h.n_params == n_in + n_out - 1 + n_out


def test_structured_layer_gradients_match_dense():
    layer = HankelLinear(6, 6, use_bias=False, key=jax.random.key(0))
    x = jnp.linspace(-1.0, 1.0, 6)
    g_fft = jax.grad(lambda m: jnp.sum(jnp.sin(m(x))))(layer).generator
    g_dense = jax.grad(lambda m: jnp.sum(jnp.sin(m.matrix() @ x)))(layer).generator
    np.testing.assert_allclose(np.asarray(g_fft), np.asarray(g_dense), atol=1e-13)


def lotka_volterra(n=400, dt=0.05):
    from scipy.integrate import solve_ivp

    def rhs(t, s):
        x, y = s
        return [2 / 3 * x - 4 / 3 * x * y, x * y - y]

    t = np.arange(n) * dt
    sol = solve_ivp(rhs, (0, t[-1]), [1.0, 1.0], t_eval=t, rtol=1e-10, atol=1e-10)
    return sol.y.T, dt


def test_stnn_trains_with_the_training_core_and_reports_costs():
    ys, _ = lotka_volterra()
    ys = (ys - ys.mean(0)) / ys.std(0)
    model = StNN(dim=2, delays=8, depth=1, key=jax.random.key(0))
    dense = MLPForecaster(dim=2, delays=8, depth=1, key=jax.random.key(0))
    # Structured: (16+16−1+16) + (16+2−1+2) parameters; dense: (16·16+16) + (16·2+2).
    assert model.n_params == 47 + 19
    assert dense.n_params == 272 + 34
    assert model.flops > 0 and dense.flops == 2 * (16 * 16 + 16 * 2)
    before = float(jnp.mean((jax.vmap(model)(_windows(ys, 8)) - ys[8:]) ** 2))
    fit = train_forecaster(model, ys, n_steps=60, key=jax.random.key(1), batch_size=32)
    after = float(jnp.mean((jax.vmap(fit.model)(_windows(ys, 8)) - ys[8:]) ** 2))
    assert after < 0.3 * before
    assert fit.history["loss"].shape == (60,)
    out = fit.model.forecast(ys[:8], 5)
    assert out.shape == (5, 2) and bool(jnp.all(jnp.isfinite(out)))
    with pytest.raises(ValueError, match="window"):
        fit.model.forecast(ys[:7], 5)
    with pytest.raises(ValueError, match="channels"):
        train_forecaster(model, ys[:, :1], n_steps=1, key=jax.random.key(0))


def _windows(ys, d):
    return jnp.stack([ys[i : i + d] for i in range(len(ys) - d)])


def test_sindy_recovers_lotka_volterra():
    ys, dt = lotka_volterra(n=800, dt=0.01)
    res = SINDy(degree=2, threshold=0.05).fit(ys, dt=dt)
    xi = np.asarray(res.coefficients)
    # Library order: 1, x, y, x², xy, y².
    expected = np.zeros((6, 2))
    expected[1, 0], expected[4, 0] = 2 / 3, -4 / 3
    expected[2, 1], expected[4, 1] = -1.0, 1.0
    np.testing.assert_allclose(xi, expected, atol=2e-3)
    assert np.all(xi[expected == 0] == 0)
    sim = np.asarray(res.simulate(ys[0], 100, dt))
    np.testing.assert_allclose(sim, ys[:101], atol=5e-3)
    assert res.equations()[0].startswith("+0.667 x0")
    with pytest.raises(ValueError, match="at least 3"):
        SINDy().fit(ys[:2], dt=dt)
