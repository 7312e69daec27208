"""NeuralSDE (fitted Ornstein–Uhlenbeck moments) and LatentSDE (path-space KL)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dynsys import nde

THETA, MU, SIGMA = 1.0, 0.5, 0.5  # dX = θ(μ − X) dt + σ dW


def _ou_paths(n, n_times, dt, seed=0):
    """Exact OU transitions from the stationary law."""
    rng = np.random.default_rng(seed)
    var = SIGMA**2 / (2 * THETA)
    a = math.exp(-THETA * dt)
    x = np.empty((n, n_times))
    x[:, 0] = MU + math.sqrt(var) * rng.normal(size=n)
    for k in range(1, n_times):
        x[:, k] = MU + (x[:, k - 1] - MU) * a + math.sqrt(var * (1 - a * a)) * rng.normal(size=n)
    return x[..., None]


def _fit_ou(n, n_times, n_steps):
    dt = 0.05
    ys = _ou_paths(n, n_times, dt)
    ts = np.arange(n_times) * dt
    model = nde.NeuralSDE(1, dt0=dt, key=jax.random.key(0), width=16, depth=1, max_steps=64)
    result = nde.fit(model, ys, ts=ts, key=jax.random.key(1), steps=n_steps, batch_size=n,
                     optimizer=optax.adam(2e-2), progress=False)  # fmt: skip
    return result


def _check_ou_moments(model, n_paths, rtol_var):
    x0 = MU + 0.3  # inside the range of the data the model was fitted on
    t = 2.0
    ts = jnp.linspace(0.0, t, 41)
    paths = np.asarray(model.sample(ts, jnp.array([x0]), n_paths, key=jax.random.key(5)))[..., 0]
    tt = np.asarray(ts)
    mean = MU + (x0 - MU) * np.exp(-THETA * tt)
    var = SIGMA**2 / (2 * THETA) * (1 - np.exp(-2 * THETA * tt))
    se_mean = np.sqrt(var[-1] / n_paths)
    np.testing.assert_allclose(paths.mean(0)[[10, 20, 40]], mean[[10, 20, 40]],
                               atol=0.05 + 4 * se_mean)  # fmt: skip
    np.testing.assert_allclose(paths.var(0)[[20, 40]], var[[20, 40]], rtol=rtol_var)


@pytest.mark.integration
def test_fitted_ou_neural_sde_moments_small():
    result = _fit_ou(n=64, n_times=201, n_steps=300)
    model = result.model
    assert result.traces == (1,)
    # The learnt drift and diffusion near the bulk of the data are the OU ones.
    xs = jnp.linspace(MU - 0.4, MU + 0.4, 5)
    drift = np.asarray(jax.vmap(lambda x: model.drift(0.0, x[None]))(xs))[:, 0]
    diff = np.asarray(jax.vmap(lambda x: model.diffusion(0.0, x[None]))(xs))[:, 0]
    np.testing.assert_allclose(drift, THETA * (MU - np.asarray(xs)), atol=0.12)
    np.testing.assert_allclose(diff, SIGMA, rtol=0.06)
    _check_ou_moments(model, n_paths=400, rtol_var=0.3)


@pytest.mark.slow
def test_fitted_ou_neural_sde_moments_large():
    result = _fit_ou(n=128, n_times=401, n_steps=1500)
    _check_ou_moments(result.model, n_paths=4000, rtol_var=0.12)


def test_neural_sde_paths_are_reproducible_and_shaped():
    sde = nde.NeuralSDE(2, dt0=0.1, key=jax.random.key(0), width=8, depth=1, max_steps=16)
    ts = jnp.linspace(0.0, 1.0, 6)
    a = sde.sample(ts, jnp.zeros(2), 5, key=jax.random.key(1))
    b = sde.sample(ts, jnp.zeros(2), 5, key=jax.random.key(1))
    assert a.shape == (5, 6, 2)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert float(jnp.std(a[:, -1])) > 0  # the paths differ
    np.testing.assert_allclose(np.asarray(a[:, 0]), 0.0)  # paths start at y0
    with pytest.raises(ValueError, match="y0"):
        sde.sample(ts, jnp.zeros((3, 2)), 5, key=jax.random.key(1))


def _latent_sde():
    return nde.LatentSDE(2, dt0=0.1, key=jax.random.key(0), latent_dim=3, hidden_size=6,
                         context_size=4, width=8, depth=1, max_steps=32)  # fmt: skip


# One compiled ELBO for all the KL tests (the model is an argument, so changing its
# parameters does not retrace).
_elbo = eqx.filter_jit(lambda m, ts, ys, mask, key: m.elbo_terms(ts, ys, mask, key=key))


def _series():
    ts = jnp.linspace(0.0, 2.0, 11)
    ys = jnp.stack([jnp.cos(ts), jnp.sin(2 * ts)], axis=-1)
    return ts, ys, jnp.ones(ys.shape, dtype=bool)


def test_latent_sde_kl_is_zero_when_posterior_equals_prior():
    model = _latent_sde()
    ts, ys, mask = _series()
    # The correction Δ starts at zero: the posterior drift is the prior drift.
    _, mean, log_std = model.encode(ts, ys, mask)
    model = eqx.tree_at(lambda m: (m.prior_z0_mean, m.prior_z0_log_std), model, (mean, log_std))
    for k in range(3):
        nll, kl_z0, kl_path = _elbo(model, ts, ys, mask, jax.random.key(k))
        assert float(kl_path) == 0.0
        np.testing.assert_allclose(float(kl_z0), 0.0, atol=1e-14)
        assert np.isfinite(float(nll))


def test_latent_sde_kl_is_nonnegative_and_matches_closed_form():
    model = _latent_sde()
    ts, ys, mask = _series()
    # Random correction: KL_path ≥ 0 on every sample, KL_z0 ≥ 0.
    corr = model.correction
    rnd = eqx.tree_at(
        lambda c: c.layers[-1].weight, corr,
        jax.random.normal(jax.random.key(9), corr.layers[-1].weight.shape),
    )  # fmt: skip
    noisy = eqx.tree_at(lambda m: m.correction, model, rnd)
    for k in range(4):
        _, kl_z0, kl_path = _elbo(noisy, ts, ys, mask, jax.random.key(k))
        assert float(kl_path) > 0 and float(kl_z0) >= 0
    # Constant Δ = c and constant diffusion g = s: KL_path = ½ Σ (c_i / s)² (t1 − t0).
    c = jnp.array([0.3, -0.2, 0.5])
    s = 0.4
    const = eqx.tree_at(lambda cc: (cc.layers[-1].weight, cc.layers[-1].bias), corr,
                        (jnp.zeros_like(corr.layers[-1].weight), c))  # fmt: skip
    dif = model.diffusion.mlp
    dif = eqx.tree_at(lambda d: (d.layers[-1].weight, d.layers[-1].bias), dif,
                      (jnp.zeros_like(dif.layers[-1].weight),
                       jnp.full((3,), math.log(math.expm1(s)))))  # fmt: skip
    fixed = eqx.tree_at(lambda m: (m.correction, m.diffusion.mlp), model, (const, dif))
    _, _, kl_path = _elbo(fixed, ts, ys, mask, jax.random.key(0))
    expected = 0.5 * float(jnp.sum((c / s) ** 2)) * 2.0
    np.testing.assert_allclose(float(kl_path), expected, rtol=1e-10)


@pytest.mark.slow  # ~1 min of compilation; the KL/ELBO tests above cover the objective
def test_latent_sde_fit_and_prior_sampling():
    model = _latent_sde()
    ts, ys, _ = _series()
    data = jnp.stack([ys, -ys, 0.5 * ys])
    result = nde.fit(model, data, ts=ts, key=jax.random.key(1), steps=3, batch_size=2,
                     optimizer=optax.adam(1e-2), progress=False)  # fmt: skip
    assert result.traces == (1,)
    h = result.history
    assert np.all(h["kl_path"] >= 0) and np.all(h["kl_z0"] >= 0)
    assert h["kl_path"][0] == 0.0  # posterior starts at the prior
    paths = result.model.sample(ts, 6, key=jax.random.key(2))
    assert paths.shape == (6, 11, 2) and bool(jnp.all(jnp.isfinite(paths)))
