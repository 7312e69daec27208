"""LangevinFlow, the GRU auto-encoder and the smoothing baseline: structure and training."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import data, latent


@pytest.fixture(scope="module")
def spikes():
    return data.lorenz_spikes(n_conditions=8, n_trials=6, n_neurons=16, n_bins=24,
                              n_heldout=4, n_forward=4, substeps=2, time_scale=3.0,
                              base_rate=20.0, seed=0)  # fmt: skip


def _flow(ds, key=0, **kw):
    kw = {"latent_dim": 8, "hidden_dim": 16, "model_size": 16, "ff_size": 32, **kw}
    return latent.LangevinFlow(len(ds.heldin), ds.n_neurons, ds.n_forward,
                               key=jax.random.key(key), **kw)  # fmt: skip


def test_transformer_decoder_causal_mask():
    u = jax.random.normal(jax.random.key(0), (10, 5))
    bumped = u.at[6].add(1.0)
    for causal in (True, False):
        dec = latent.TransformerDecoder(5, 3, model_size=8, n_heads=2, ff_size=8, causal=causal,
                                        key=jax.random.key(1))  # fmt: skip
        diff = np.abs(np.asarray(dec(bumped) - dec(u))).max(axis=1)
        if causal:
            np.testing.assert_allclose(diff[:6], 0.0, atol=1e-12)
        else:
            assert diff[:6].min() > 1e-8
        assert diff[6] > 1e-6


def test_langevin_flow_shapes_and_decoder_inputs(spikes):
    ds = spikes
    x = ds.model_input()[0]
    model = _flow(ds)
    run = eqx.filter_jit(lambda m, x, k: m.trajectory(x, key=k))
    path = run(model, x, None)
    assert path.z.shape == path.v.shape == (24, 8) and path.h.shape == (24, 16)
    assert path.log_rates.shape == (24, ds.n_neurons)
    # The decoder reads exactly [z, v, h]; without "h" exactly [z, v] (no bypass).
    np.testing.assert_allclose(
        np.asarray(path.log_rates),
        np.asarray(model.decoder(jnp.concatenate([path.z, path.v, path.h], -1))), atol=1e-12,
    )  # fmt: skip
    no_bypass = _flow(ds, decoder_inputs=("z", "v"))
    p2 = run(no_bypass, x, None)
    np.testing.assert_allclose(
        np.asarray(p2.log_rates),
        np.asarray(no_bypass.decoder(jnp.concatenate([p2.z, p2.v], -1))), atol=1e-12,
    )  # fmt: skip
    assert no_bypass.decoder.project.in_features == 16
    # The latents follow the BAOAB flow of the potential from (z0, v0) (no noise).
    zs, vs = latent.langevin_rollout(model.potential, path.z[0], path.v[0], 23, dt=model.dt,
                                     friction=model.friction)  # fmt: skip
    np.testing.assert_allclose(np.asarray(path.z), np.asarray(zs), atol=1e-12)
    # Deterministic without a key; stochastic (posterior sample + noise) with one.
    again = run(model, x, None).log_rates
    np.testing.assert_array_equal(np.asarray(again), np.asarray(path.log_rates))
    a, b = run(model, x, jax.random.key(1)).z, run(model, x, jax.random.key(2)).z
    assert float(jnp.max(jnp.abs(a - b))) > 1e-6
    mlp = _flow(ds, potential="mlp")
    assert isinstance(mlp.potential, latent.MLPPotential)
    with pytest.raises(ValueError, match="decoder_inputs"):
        _flow(ds, decoder_inputs=("h", "z"))
    with pytest.raises(ValueError, match="potential"):
        _flow(ds, potential="quartic")


def test_bidirectional_posterior_reads_both_directions(spikes):
    ds = spikes
    x = ds.model_input()[0]
    uni, bi = _flow(ds), _flow(ds, bidirectional=True)
    assert uni.backward_encoder is None and uni.posterior.in_features == 16
    assert bi.posterior.in_features == 32
    # Same initialisation of everything the two share (the backward GRU has its own key).
    np.testing.assert_array_equal(
        np.asarray(uni.encoder.weight_ih), np.asarray(bi.encoder.weight_ih)
    )
    run = eqx.filter_jit(lambda m, x: m.trajectory(x))
    path = run(bi, x)
    # The posterior mean is the linear head on [forward state at T_obs, backward state].
    h_bwd = latent.final_gru_state(bi.backward_encoder, jnp.asarray(x)[::-1])
    mean = jnp.split(bi.posterior(jnp.concatenate([path.h[x.shape[0] - 1], h_bwd])), 2)[0]
    z0, v0 = jnp.split(mean, 2)
    np.testing.assert_allclose(np.asarray(path.z[0]), np.asarray(z0), atol=1e-12)
    np.testing.assert_allclose(np.asarray(path.v[0]), np.asarray(v0), atol=1e-12)
    # The bypass h stays causal: changing the last observed bin leaves earlier h_t alone.
    bumped = jnp.asarray(x).at[-1].add(3)
    path2 = run(bi, bumped)  # same shape and dtype: no recompilation
    np.testing.assert_allclose(np.asarray(path2.h[:-ds.n_forward - 1]),
                               np.asarray(path.h[:-ds.n_forward - 1]), atol=1e-12)  # fmt: skip
    assert float(jnp.max(jnp.abs(path2.z[0] - path.z[0]))) > 1e-8
    # Gradients of the loss reach the backward encoder.
    grads = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(m(x)[0])))(bi)
    assert float(jnp.max(jnp.abs(grads.backward_encoder.weight_ih))) > 0


def test_backward_bypass_reads_later_bins_only(spikes):
    ds = spikes
    x = jnp.asarray(ds.model_input()[0])
    t_obs = x.shape[0]
    model = _flow(ds, decoder_inputs=("z", "v", "h", "hb"))
    assert model.backward_encoder is not None and not model.bidirectional
    assert model.posterior.in_features == 16  # the posterior still reads the forward GRU
    run = eqx.filter_jit(lambda m, x: m.trajectory(x))
    path = run(model, x)
    assert path.h_backward.shape == (24, 16)
    np.testing.assert_array_equal(np.asarray(path.h_backward[t_obs:]), 0.0)
    # hb_t is the backward GRU state after reading bins T_obs - 1 down to t.
    h = jnp.zeros(16)
    for t in range(t_obs - 1, t_obs - 4, -1):
        h = model.backward_encoder(x[t].astype(h.dtype), h)
        np.testing.assert_allclose(np.asarray(path.h_backward[t]), np.asarray(h), atol=1e-12)
    # Changing bin 0 leaves every later backward state alone; the decoder reads [z, v, h, hb].
    path2 = run(model, x.at[0].add(3))
    np.testing.assert_allclose(np.asarray(path2.h_backward[1:]),
                               np.asarray(path.h_backward[1:]), atol=1e-12)  # fmt: skip
    assert float(jnp.max(jnp.abs(path2.h_backward[0] - path.h_backward[0]))) > 1e-8
    u = jnp.concatenate([path.z, path.v, path.h, path.h_backward], -1)
    np.testing.assert_allclose(np.asarray(path.log_rates), np.asarray(model.decoder(u)),
                               atol=1e-12)  # fmt: skip
    assert run(_flow(ds), x).h_backward is None


def test_gaussian_kl_by_hand():
    mean, log_var = jnp.array([1.0, 0.0]), jnp.log(jnp.array([1.0, 2.0]))
    expected = 0.5 * ((1 + 1 - 1 - 0) + (0 + 2 - 1 - np.log(2)))
    np.testing.assert_allclose(float(latent.gaussian_kl(mean, log_var)), expected, rtol=1e-12)


def test_coordinated_dropout():
    x = jnp.ones((200, 50))
    dropped, keep = latent.coordinated_dropout(jax.random.key(0), x, 0.3)
    np.testing.assert_allclose(float(keep.mean()), 0.7, atol=0.01)
    np.testing.assert_allclose(np.asarray(dropped)[np.asarray(keep)], 1 / 0.7, rtol=1e-12)
    assert float(jnp.abs(dropped[~keep]).max()) == 0.0


def test_decoder_dropout_acts_only_in_training(spikes):
    ds = spikes
    x = ds.model_input()[0]
    plain, dropped = _flow(ds), _flow(ds, dropout=0.3)
    assert dropped.dropout == dropped.decoder.dropout == 0.3
    run = eqx.filter_jit(lambda m, x, k: m(x, key=k)[0])
    # Inference (no key) is the same network with or without dropout.
    inferred = run(dropped, x, None)
    np.testing.assert_array_equal(np.asarray(run(plain, x, None)), np.asarray(inferred))
    # Training draws differ by the dropout masks, and differ between keys.
    a, b = run(dropped, x, jax.random.key(1)), run(dropped, x, jax.random.key(2))
    assert float(jnp.max(jnp.abs(a - b))) > 1e-6
    assert float(jnp.max(jnp.abs(a - run(plain, x, jax.random.key(1))))) > 1e-6
    # Inverted dropout: the kept fraction is 1 - rate and kept entries are rescaled.
    out = latent.inverted_dropout(jnp.ones((200, 50)), 0.3, jax.random.key(0))
    kept = np.asarray(out) > 0
    np.testing.assert_allclose(kept.mean(), 0.7, atol=0.01)
    np.testing.assert_allclose(np.asarray(out)[kept], 1 / 0.7, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(latent.inverted_dropout(jnp.ones(3), 0.3, None)), 1.0)
    with pytest.raises(ValueError, match="dropout"):
        _flow(ds, dropout=1.0)
    with pytest.raises(ValueError, match="dropout"):
        latent.TransformerDecoder(4, 2, model_size=8, dropout=-0.1, key=jax.random.key(0))


@pytest.mark.integration
def test_short_training_improves_rate_r2_and_cosine_decay_changes_later_updates(spikes):
    ds = spikes
    model = _flow(ds, dt=0.2)
    before = latent.evaluate(latent.infer_rates(model, ds, ds.eval), ds)
    kw = dict(key=jax.random.key(1), n_steps=150, batch_size=16, learning_rate=1e-2,
              progress=False)  # fmt: skip
    result = latent.fit(model, ds, **kw)
    after = latent.evaluate(latent.infer_rates(result.model, ds, ds.eval), ds)
    assert set(result.history) >= {"loss", "nll", "kl", "beta"}
    np.testing.assert_allclose(result.history["beta"][-1], 1.0)
    assert after["rate_r2"] > before["rate_r2"] + 0.3, (before, after)
    assert after["rate_r2"] > 0.3 and after["co_bps"] > 0
    # The same run with a cosine decay to 1 % of the rate: identical first step (full
    # rate), different later steps (smaller updates), all finite, and it learns too.
    decayed = latent.fit(model, ds, final_lr_fraction=0.01, **kw)
    a, b = np.asarray(result.history["loss"]), np.asarray(decayed.history["loss"])
    assert np.all(np.isfinite(b))
    np.testing.assert_allclose(a[:2], b[:2], rtol=1e-10)
    assert np.max(np.abs(a[2:] - b[2:])) > 1e-6
    decayed_after = latent.evaluate(latent.infer_rates(decayed.model, ds, ds.eval), ds)
    assert decayed_after["rate_r2"] > before["rate_r2"] + 0.3, (before, decayed_after)


def test_gru_autoencoder_and_smoothing_baseline(spikes):
    ds = spikes
    dims = (len(ds.heldin), ds.n_neurons, ds.n_forward)
    model = latent.GRUAutoencoder(*dims, encoder_dim=16, generator_dim=16, factor_dim=4,
                                  key=jax.random.key(0))  # fmt: skip
    log_rates, kl = model(ds.model_input()[0])
    assert log_rates.shape == (24, ds.n_neurons) and kl.shape == ()
    base = latent.fit_smoothing_baseline(ds, kernel_sd=1.5)
    rates = latent.infer_rates(base, ds, ds.eval)
    scores = latent.evaluate(rates, ds)
    assert scores["co_bps"] > 0.05
    # Forward bins reuse the features of the last observed bin.
    np.testing.assert_allclose(np.asarray(rates[:, -1]), np.asarray(rates[:, ds.n_observed - 1]))
    np.testing.assert_allclose(
        np.asarray(latent.gaussian_smooth(jnp.ones((7, 2)), 2.0)), 1.0, rtol=1e-12
    )


def test_glm_recovers_weights():
    # Counts whose log-rate is linear in the smoothed held-in counts are fit back.
    rng = np.random.default_rng(0)
    x = rng.poisson(2.0, (300, 30, 3))
    smooth = jax.vmap(lambda xi: latent.gaussian_smooth(xi, 1.0))(jnp.asarray(x, float))
    w = np.array([0.3, -0.2, 0.1])
    rate = np.exp(np.asarray(smooth) @ w - 0.5)
    y = rng.poisson(rate)
    ds = data.spike_data(np.concatenate([x, y[..., None]], -1), heldout=[3],
                         train_fraction=0.9)  # fmt: skip
    base = latent.fit_smoothing_baseline(ds, kernel_sd=1.0, alpha=0.0)
    # 8100 training bins: standard errors ≈ 0.015 (weights) and ≈ 0.05 (bias).
    np.testing.assert_allclose(np.asarray(base.weights[:3, 3]), w, atol=0.05)
    np.testing.assert_allclose(float(base.weights[3, 3]), -0.5, atol=0.15)


def test_fit_and_infer_bad_input(spikes):
    ds = spikes
    wrong = latent.LangevinFlow(3, ds.n_neurons, ds.n_forward, latent_dim=4, hidden_dim=4,
                                model_size=4, ff_size=4, key=jax.random.key(0))  # fmt: skip
    with pytest.raises(ValueError, match="does not match"):
        latent.fit(wrong, ds, key=jax.random.key(0), n_steps=1)
    model = _flow(ds)
    with pytest.raises(ValueError, match="batch_size"):
        latent.fit(model, ds, key=jax.random.key(0), n_steps=1, batch_size=10_000)
    with pytest.raises(ValueError, match="cd_rate"):
        latent.fit(model, ds, key=jax.random.key(0), n_steps=1, batch_size=4, cd_rate=1.0)
    with pytest.raises(TypeError, match="SpikeData"):
        latent.fit(model, np.zeros((3, 4, 5)), key=jax.random.key(0))
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="final_lr_fraction"):
            latent.fit(model, ds, key=jax.random.key(0), n_steps=1, batch_size=4,
                       final_lr_fraction=bad)  # fmt: skip
    with pytest.raises(ValueError, match="trials"):
        latent.infer_rates(model, ds, [ds.n_trials])
    with pytest.raises(ValueError, match="rates"):
        latent.evaluate(np.ones((2, 3, 4)), ds)


def test_infer_rates_posterior_sample_average(spikes):
    ds = spikes
    model = _flow(ds)
    trials = ds.eval[:3]
    x = ds.model_input(trials)
    key = jax.random.key(5)
    sampled = np.asarray(latent.infer_rates(model, ds, trials, n_samples=4, key=key))
    # The average of exp(log-rates) over the same four posterior/noise draws, by hand.
    by_hand = np.zeros_like(sampled)
    one_trial = eqx.filter_jit(lambda m, xi, ki: jnp.exp(m(xi, key=ki)[0]))  # one compilation
    for k in jax.random.split(key, 4):
        keys = jax.random.split(k, len(trials))
        by_hand += np.stack([np.asarray(one_trial(model, xi, ki)) for xi, ki in zip(x, keys)])
    np.testing.assert_allclose(sampled, by_hand / 4, rtol=1e-10)
    # Sampling changes the rates; the deterministic path is the default.
    deterministic = np.asarray(latent.infer_rates(model, ds, trials))
    assert np.abs(sampled - deterministic).max() > 1e-6
    with pytest.raises(ValueError, match="key"):
        latent.infer_rates(model, ds, trials, n_samples=2)
    with pytest.raises(ValueError, match="n_samples"):
        latent.infer_rates(model, ds, trials, n_samples=-1, key=key)
