"""Structured layers, StNN and its dense twin trained with the training core, SINDy."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy.linalg import hankel, toeplitz

from dynsys import training
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
    fit = train_forecaster(
        model, ys, n_steps=60, key=jax.random.key(1), batch_size=32, progress=False
    )
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


def _leaves(model):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))]


def _oscillators():
    t = np.arange(60) * 0.1
    return np.stack([np.stack([np.sin(t + p), np.cos(1.3 * t + p)], -1) for p in (0.0, 1.0)])


def test_train_forecaster_uses_a_given_optimizer_and_evaluation():
    ys = _oscillators()
    model = StNN(dim=2, delays=4, depth=1, key=jax.random.key(0))
    # Zero SGD steps leave the parameters as they are (the default Adam would move them).
    evaluation = training.Evaluation(lambda m: {"bias": jnp.sum(m.layers[0].bias)}, every=2)
    fit = train_forecaster(
        model,
        ys,
        n_steps=4,
        key=jax.random.key(1),
        batch_size=8,
        optimizer=optax.sgd(0.0),
        evaluation=evaluation,
        progress=False,
    )
    for a, b in zip(_leaves(model), _leaves(fit.model), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fit.eval_history["step"], [2, 4])
    np.testing.assert_array_equal(fit.eval_history["bias"], float(jnp.sum(model.layers[0].bias)))
    assert fit.history["loss"].shape == (4,) and np.all(np.diff(fit.history["loss"]) != 0)


def test_train_forecaster_checkpoint_and_resume_continue_bit_for_bit(tmp_path):
    ys = _oscillators()
    model = MLPForecaster(dim=2, delays=4, depth=1, key=jax.random.key(0))
    kw = dict(key=jax.random.key(1), batch_size=8, horizon=2, progress=False)
    full = train_forecaster(model, ys, n_steps=6, **kw)
    train_forecaster(model, ys, n_steps=3, checkpoint=training.Checkpointing(tmp_path), **kw)
    resume = training.Checkpointing(tmp_path, resume=True)
    resumed = train_forecaster(model, ys, n_steps=6, checkpoint=resume, **kw)
    assert resumed.steps == 6
    np.testing.assert_array_equal(resumed.history["step"], np.arange(6))
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
    for a, b in zip(_leaves(full.model), _leaves(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_forecaster_divergence_names_the_step_and_the_hint():
    ys = _oscillators()
    model = StNN(dim=2, delays=4, depth=1, key=jax.random.key(0))
    # Step 0 moves the weights by 1e200 times the gradient: the loss of step 1 overflows.
    for policy in ("raise", training.RollbackOnNonfinite(max_rollbacks=0)):
        with pytest.raises(training.NonFiniteError, match="Delay-forecaster remedies") as info:
            train_forecaster(model, ys, n_steps=4, key=jax.random.key(1), batch_size=8,
                             optimizer=optax.sgd(1e200), on_nonfinite=policy,
                             progress=False)  # fmt: skip
        assert info.value.step == 1 and "step 1" in str(info.value)


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
