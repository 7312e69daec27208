"""LatentODE: per-sample time grids without recompilation, ELBO terms, masks."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg

from dynsys import nde

A = np.array([[-0.1, 1.3], [-1.0, -0.1]])


class Linear(eqx.Module):
    matrix: jax.Array

    def __call__(self, t, y, args=None):
        return self.matrix @ y


def _model(key=0, solver=None):
    return nde.LatentODE(
        2, key=jax.random.key(key), latent_dim=2, hidden_size=6, width=8, depth=1,
        solver=diffrax.Heun() if solver is None else solver,
        stepsize_controller=diffrax.ConstantStepSize(), dt0=0.02, max_steps=128,
    )  # fmt: skip


def _grids(key, n, n_times=8):
    """One grid per sample: own start time, own end time, irregular spacing."""
    k0, k1, k2 = jax.random.split(key, 3)
    t0 = jax.random.uniform(k0, (n, 1))
    span = 0.5 + jax.random.uniform(k1, (n, 1))
    u = jnp.sort(jax.random.uniform(k2, (n, n_times - 2)), axis=1)
    grid = jnp.concatenate([jnp.zeros((n, 1)), u, jnp.ones((n, 1))], axis=1)
    return t0 + span * grid


def test_per_sample_grids_give_each_sample_its_own_solve_without_retracing():
    # Latent field z' = A z: each sample's decoded path must be W exp(A (t − t0_b)) z0_b + b
    # on its own grid, and new grids must not trigger a new trace.
    model = eqx.tree_at(lambda m: m.vector_field, _model(solver=diffrax.Tsit5()),
                        Linear(jnp.asarray(A)))  # fmt: skip
    w, bias = np.asarray(model.decoder.weight), np.asarray(model.decoder.bias)
    traces = [0]

    @eqx.filter_jit
    def decode_batch(m, ts, z0):
        traces[0] += 1
        return jax.vmap(m.decode)(ts, z0)

    z0 = jax.random.normal(jax.random.key(1), (4, 2))
    for i in range(3):
        ts = _grids(jax.random.key(10 + i), 4)
        out = np.asarray(decode_batch(model, ts, z0))
        for b in range(4):
            tb = np.asarray(ts[b])
            exact = [w @ scipy.linalg.expm(A * (t - tb[0])) @ np.asarray(z0[b]) + bias for t in tb]
            np.testing.assert_allclose(out[b], np.stack(exact), rtol=1e-7, atol=1e-8)
    assert traces[0] == 1


def test_fit_with_per_sample_grids_compiles_once():
    key = jax.random.key(2)
    n, n_times = 12, 8
    ts = _grids(key, n, n_times)
    ys = jnp.stack([jnp.cos(ts), jnp.sin(ts)], axis=-1) * 0.5
    result = nde.fit(_model(), ys, ts=ts, key=jax.random.key(3), steps=4, batch_size=4,
                     optimizer=optax.adam(1e-2), progress=False)  # fmt: skip
    # Every step draws 4 of the 12 different grids; the step is traced once.
    assert result.traces == (1,)
    assert set(result.history) >= {"loss", "nll", "kl", "phase"}
    assert np.all(np.isfinite(result.history["loss"]))
    assert np.all(result.history["kl"] >= 0)


def test_elbo_terms_and_kl_closed_form():
    model = _model()
    ts = jnp.linspace(0.0, 1.0, 8)
    ys = jnp.stack([jnp.cos(ts), jnp.sin(ts)], axis=-1)
    mask = jnp.ones(ys.shape, dtype=bool)
    nll, kl = model.elbo_terms(ts, ys, mask, key=jax.random.key(0))
    mean, log_std = model.encode(ts, ys, mask)
    expected_kl = 0.5 * np.sum(np.exp(2 * log_std) + np.asarray(mean) ** 2 - 1 - 2 * log_std)
    np.testing.assert_allclose(float(kl), expected_kl, rtol=1e-12)
    assert float(kl) >= 0
    # The NLL is the Gaussian NLL of the decoded posterior sample.
    eps = jax.random.normal(jax.random.key(0), mean.shape, mean.dtype)
    pred = model.decode(ts, mean + jnp.exp(log_std) * eps)
    s = float(jnp.exp(model.log_obs_std))
    expected = np.sum(0.5 * ((np.asarray(ys) - np.asarray(pred)) / s) ** 2
                      + np.log(s) + 0.5 * np.log(2 * np.pi))  # fmt: skip
    np.testing.assert_allclose(float(nll), expected, rtol=1e-10)


def test_masked_entries_do_not_reach_the_elbo():
    model = _model()
    ts = jnp.linspace(0.0, 1.0, 8)
    ys = jnp.stack([jnp.cos(ts), jnp.sin(ts)], axis=-1)
    mask = jnp.ones(ys.shape, dtype=bool).at[2:5, 1].set(False).at[6].set(False)
    elbo = eqx.filter_jit(lambda m, y: m.elbo_terms(ts, y, mask, key=jax.random.key(0)))
    a = elbo(model, jnp.where(mask, ys, 0.0))
    b = elbo(model, jnp.where(mask, ys, 1e3))
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)
    # Calling with NaN but no mask is refused.
    with pytest.raises(ValueError, match="mask"):
        model(ts, jnp.where(mask, ys, jnp.nan))
    out = model(ts, jnp.where(mask, ys, jnp.nan), mask)
    assert out.shape == (8, 2) and bool(jnp.all(jnp.isfinite(out)))


def test_prior_samples_shape():
    paths = _model().sample(jnp.linspace(0.0, 1.0, 5), 7, key=jax.random.key(0))
    assert paths.shape == (7, 5, 2)
