"""Teacher forcing, adaptive α, fit and evaluate of the reconstruction family."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dynsys import data, dsr, metrics, training
from dynsys.dsr._teacher_forcing import anneal_alpha, optimal_alpha


def _model(key=0, m=6, p=2, n=3):
    return dsr.ALRNN(m, p, n, key=jax.random.key(key))


def _window(key=1, t=12, n=3):
    return jax.random.normal(jax.random.key(key), (t, n))


def _free_predictions(model, window):
    z = model.init_state(window[0])
    out = []
    for _ in range(window.shape[0] - 1):
        z = model.step(z)
        out.append(z)
    return jnp.stack(out)


def test_alpha_one_every_step_reproduces_data_driven_states():
    model, window = _model(), _window()
    zs = dsr.forced_rollout(model, window, alpha=1.0, tau=1)
    # Each prediction starts from the state whose read-out units were set to the data.
    z_tilde = model.init_state(window[0])
    for t in range(1, window.shape[0]):
        expected = model.step(z_tilde)
        np.testing.assert_allclose(np.asarray(zs[t - 1]), np.asarray(expected), rtol=1e-12)
        z_tilde = expected.at[:3].set(window[t])


def test_alpha_zero_is_free_running():
    model, window = _model(), _window()
    zs = dsr.forced_rollout(model, window, alpha=0.0, tau=1)
    np.testing.assert_allclose(
        np.asarray(zs), np.asarray(_free_predictions(model, window)), rtol=1e-12
    )


def test_sparse_forcing_replaces_every_tau_steps_and_mixes_with_alpha():
    model, window = _model(), _window(t=10)
    tau, alpha = 3, 0.4
    zs = dsr.forced_rollout(model, window, alpha=alpha, tau=tau)
    z_tilde = model.init_state(window[0])
    for t in range(1, window.shape[0]):
        z = model.step(z_tilde)
        np.testing.assert_allclose(np.asarray(zs[t - 1]), np.asarray(z), rtol=1e-12)
        if t % tau == 0:
            z = z.at[:3].set((1 - alpha) * z[:3] + alpha * window[t])
        z_tilde = z


def test_full_forcing_cuts_gradient_through_forced_units():
    # With every latent unit forced (M = N) at alpha=1, tau=1, the prediction z_t depends
    # on the data only through x_{t-1}: no gradient reaches earlier window points.
    model, window = _model(m=3, p=1), _window(t=6)

    def last(w):
        return jnp.sum(dsr.forced_rollout(model, w, alpha=1.0, tau=1)[-1])

    g = jax.grad(last)(window)
    assert np.all(np.asarray(g[:-2]) == 0.0)
    g_free = jax.grad(lambda w: jnp.sum(dsr.forced_rollout(model, w, alpha=0.0, tau=1)[-1]))(window)
    assert np.any(np.asarray(g_free[0]) != 0.0)


def test_adaptive_alpha_rule():
    np.testing.assert_allclose(np.asarray(optimal_alpha(jnp.array(4.0))), 0.75)
    np.testing.assert_allclose(np.asarray(optimal_alpha(jnp.array(0.5))), 0.0)
    # a larger estimate is taken at once, a smaller one approached with decay gamma
    np.testing.assert_allclose(np.asarray(anneal_alpha(jnp.array(0.2), 0.6, 0.999)), 0.6)
    np.testing.assert_allclose(
        np.asarray(anneal_alpha(jnp.array(0.6), 0.2, 0.9)), 0.9 * 0.6 + 0.1 * 0.2
    )


def test_jacobian_norm_estimate_matches_direct_computation():
    model = _model()
    windows = jax.random.normal(jax.random.key(3), (4, 7, 3))
    z = jnp.concatenate([windows[:, 1:], jnp.zeros((4, 6, 3))], axis=-1)
    norms = np.array(
        [
            [np.linalg.norm(np.asarray(model.jacobian(z[b, t])), 2) for t in range(6)]
            for b in range(4)
        ]
    )
    np.testing.assert_allclose(
        np.asarray(dsr.jacobian_norm_estimate(model, windows, "product_upper_bound")),
        np.max(np.exp(np.mean(np.log(norms), axis=1))),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        np.asarray(dsr.jacobian_norm_estimate(model, windows, "batch_maximum")),
        norms.max(),
        rtol=1e-10,
    )


def test_adaptive_alpha_updates_during_fit():
    bench = data.benchmark("lorenz63", n_steps=2000)
    model = dsr.ShallowPLRNN(3, 20, 3, key=jax.random.key(0), clipped=True)
    s = dsr.settings("lorenz63", "shplrnn").replace(sequence_length=30, n_epochs=2)
    res = dsr.fit(model, bench.train, key=jax.random.key(1), settings=s, n_steps=12, progress=False)
    alphas = res.fit.history["alpha"]
    assert alphas.shape == (12,)
    # alpha is recomputed only every 5 steps: constant within each block
    np.testing.assert_array_equal(alphas[1:5], alphas[1])
    assert np.all((alphas >= 0) & (alphas <= 1))
    # The first update happens at step 0, on the first batch (keys derived from the step
    # index as dynsys.training.fit documents): α_0 = anneal(α, α*(𝒩 of that batch)).
    batch_key, _ = jax.random.split(jax.random.fold_in(jax.random.key(1), 0))
    windows = data.sample_windows(
        batch_key, bench.train.states.astype(model.dtype), window=31, batch_size=s.batch_size,
        noise_std=s.noise_std,
    )  # fmt: skip
    norm = dsr.jacobian_norm_estimate(model, windows, s.alpha_method)
    expected = anneal_alpha(jnp.asarray(s.alpha, model.dtype), optimal_alpha(norm), 0.999)
    np.testing.assert_allclose(alphas[0], np.asarray(expected), rtol=1e-12)
    assert alphas[0] != s.alpha


def test_settings_alpha_method_sets_the_first_alpha():
    # From α = 0 the first update jumps to α*(𝒩) of the first batch, so each estimate of 𝒩
    # gives its own first α. W₁ is scaled up so that the Jacobian norms exceed 1 and vary.
    bench = data.benchmark("lorenz63", n_steps=2000)
    model = dsr.ShallowPLRNN(3, 20, 3, key=jax.random.key(0), clipped=True)
    model = eqx.tree_at(lambda m: m.W1, model, 20.0 * model.W1)
    s = dsr.settings("lorenz63", "shplrnn").replace(sequence_length=30, n_epochs=2, alpha=0.0)
    first = {}
    for method in ("constant", "product_upper_bound", "arithmetic_mean", "batch_maximum"):
        res = dsr.fit(
            model, bench.train, key=jax.random.key(1), settings=s, n_steps=1, progress=False,
            alpha_method=method,
        )  # fmt: skip
        first[method] = float(res.fit.history["alpha"][0])
    assert first["constant"] == 0.0, first
    assert 0.0 < first["product_upper_bound"] < 1.0, first
    assert abs(first["arithmetic_mean"] - first["product_upper_bound"]) > 1e-5, first
    # the largest norm over the batch is at least each sequence's geometric mean
    assert first["batch_maximum"] > first["product_upper_bound"] + 1e-3, first


def test_adaptive_alpha_in_an_ensemble_updates_every_interval_per_member():
    # The step counter is shared by the members; α stays per member.
    bench = data.benchmark("lorenz63", n_steps=2000)
    ens = dsr.make_ensemble(
        lambda k: dsr.ShallowPLRNN(3, 20, 3, key=k, clipped=True), jax.random.key(0), 2
    )
    s = dsr.settings("lorenz63", "shplrnn").replace(sequence_length=30, n_epochs=2)
    res = dsr.fit(
        ens, bench.train, key=jax.random.key(1), settings=s, n_steps=12, ensemble=2,
        progress=False,
    )  # fmt: skip
    alphas = res.fit.history["alpha"]
    assert alphas.shape == (12, 2) and res.alpha.shape == (2,)
    for block in (alphas[0:5], alphas[5:10], alphas[10:12]):
        np.testing.assert_array_equal(block, np.broadcast_to(block[0], block.shape))
    assert alphas[0, 0] != alphas[0, 1]  # each member estimates its own α
    assert np.all((alphas >= 0) & (alphas <= 1))


@pytest.mark.integration
def test_short_training_lowers_state_space_divergence():
    bench = data.benchmark("lorenz63", n_steps=5000)
    s = dsr.settings("lorenz63").replace(latent_dim=12, sequence_length=50, start_lr=5e-3, tau=10)
    model = dsr.ALRNN(12, 2, 3, key=jax.random.key(0))
    x = bench.train.states[0]

    def d_stsp(m):
        gen = m.generate(x[0], 5000)
        value = metrics.state_space_divergence(x, gen)
        return float(jnp.where(jnp.isfinite(value), value, 1e3))

    before = d_stsp(model)
    res = dsr.fit(
        model, bench.train, key=jax.random.key(1), settings=s, n_steps=1500, progress=False
    )
    after = d_stsp(res.model)
    assert res.fit.history["loss"][-20:].mean() < 0.5 * res.fit.history["loss"][:20].mean()
    assert after < before - 1.0


def test_best_selection_and_ensemble():
    bench = data.benchmark("lorenz63", n_steps=1000)
    s = dsr.settings("lorenz63").replace(latent_dim=8, sequence_length=20)
    ens = dsr.make_ensemble(lambda k: dsr.ALRNN(8, 2, 3, key=k), jax.random.key(0), 2)
    res = dsr.fit(
        ens, bench.train, key=jax.random.key(1), settings=s, n_steps=20, ensemble=2,
        select="best", eval_every=10, n_eval_steps=500, progress=False,
    )  # fmt: skip
    assert res.fit.history["loss"].shape == (20, 2)
    evals = res.fit.eval_history["d_stsp"]
    assert evals.shape == (2, 2)
    # Each member is its own best checkpoint: its training D_stsp, recomputed, is the
    # smallest of its evaluations.
    x = bench.train.states[0, :500]
    for i in range(2):
        member = dsr.ensemble_member(res.model, i)
        assert member.A.shape == (8,)
        score = float(metrics.state_space_divergence(x, member.generate(x[0], 500)))
        np.testing.assert_allclose(score, evals[:, i].min(), rtol=1e-5)
    # A single model learns: 20 steps at a high rate cut its one-step prediction error on
    # the training data (0.313 -> 0.255 when written).
    first = dsr.ensemble_member(ens, 0)
    single = dsr.fit(
        first, bench.train, key=jax.random.key(1), settings=s.replace(start_lr=1e-2),
        n_steps=20, progress=False,
    )  # fmt: skip

    def one_step_error(m):
        x = bench.train.states[0]
        pred = m.readout(jax.vmap(lambda v: m.step(m.init_state(v)))(x[:-1]))
        return float(jnp.mean((pred - x[1:]) ** 2))

    assert one_step_error(single.model) < 0.9 * one_step_error(first)


def test_multi_start_selection_pools_runs_from_spaced_points():
    bench = data.benchmark("lorenz63", n_steps=1000)
    s = dsr.settings("lorenz63").replace(latent_dim=8, sequence_length=20)
    model = dsr.ALRNN(8, 2, 3, key=jax.random.key(0))
    res = dsr.fit(
        model, bench.train, key=jax.random.key(1), settings=s, n_steps=10, select="best",
        eval_every=5, n_eval_steps=500, n_eval_starts=5, progress=False,
    )  # fmt: skip
    # The selected model's score is D_stsp of 5 runs of 100 steps from training points
    # 0, 100, ..., 400, pooled, against the first 500 training points.
    x = bench.train.states[0, :500]
    m = res.model
    runs = [np.asarray(m.generate(x[i], 100)) for i in range(0, 500, 100)]
    score = float(metrics.state_space_divergence(x, np.concatenate(runs)))
    np.testing.assert_allclose(score, res.fit.eval_history["d_stsp"].min(), rtol=1e-5)
    with pytest.raises(ValueError, match="n_eval_starts"):
        dsr.fit(model, bench.train, key=jax.random.key(1), settings=s, n_steps=2,
                select="best", n_eval_steps=10, n_eval_starts=6, progress=False)  # fmt: skip


def test_evaluate_reports_protocol_metrics():
    bench = data.benchmark("lorenz63", n_steps=2000)
    model = _model(m=8)
    ev = dsr.evaluate(model, bench.test, lyapunov_steps=500, reference=bench.test)
    assert ev.generated.shape == (2000, 3)
    assert ev.floors["d_stsp"] < 1e-6 and ev.floors["d_h"] < 1e-6
    assert 1 <= ev.n_subregions <= 4
    assert np.isfinite(ev.lambda_max) and np.isfinite(ev.pe)
    assert "D_stsp" in ev.summary()


@pytest.mark.parametrize(
    "override, match",
    [
        ({"tau": 0}, "tau"),
        ({"alpha": 1.5}, "alpha"),
        ({"alpha_method": "geometric_mean"}, "alpha_method"),
        ({"sequence_length": 5000}, "sequence_length"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_fit_rejects_bad_settings(override, match):
    bench = data.benchmark("lorenz63", n_steps=1000)
    with pytest.raises(ValueError, match=match):
        dsr.fit(_model(), bench.train, key=jax.random.key(0), n_steps=1, progress=False, **override)


def test_fit_rejects_bad_data():
    model = _model()
    with pytest.raises(ValueError, match="obs_dim"):
        dsr.fit(model, np.zeros((500, 2)), key=jax.random.key(0), n_steps=1, sequence_length=10)
    bad = np.ones((500, 3))
    bad[10, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        dsr.fit(model, bad, key=jax.random.key(0), n_steps=1, sequence_length=10)
    with pytest.raises(ValueError, match="pwl_units"):
        dsr.ALRNN(3, 4, 3, key=jax.random.key(0))


def test_divergence_stops_with_step_and_hint():
    bench = data.benchmark("lorenz63", n_steps=1000)
    model = eqx.tree_at(lambda m: m.A, _model(), jnp.full(6, 50.0))
    with pytest.raises(FloatingPointError, match=r"step \d+.*learning rate"):
        dsr.fit(
            model, bench.train, key=jax.random.key(0), n_steps=5, sequence_length=100,
            alpha=0.0, tau=1000, progress=False,
        )  # fmt: skip


@pytest.mark.parametrize("size", [1, 3, 20])
def test_spectral_norm_matches_the_svd(size):
    from dynsys.dsr._teacher_forcing import _spectral_norm

    rng = np.random.default_rng(size)
    mats = rng.normal(size=(50, size, size)) * rng.choice([1e-3, 1.0, 1e3], size=(50, 1, 1))
    # near-degenerate top singular values, rank-deficient and zero matrices
    q1, _ = np.linalg.qr(rng.normal(size=(size, size)))
    q2, _ = np.linalg.qr(rng.normal(size=(size, size)))
    sigma = np.linspace(1.0, 0.2, size)
    sigma[: min(2, size)] = [1.0, 1.0 - 1e-6][: min(2, size)]
    degenerate = q1 @ np.diag(sigma) @ q2.T
    rank_one = np.outer(rng.normal(size=size), rng.normal(size=size))
    mats = np.concatenate([mats, degenerate[None], rank_one[None], np.zeros((1, size, size))])
    singular = np.linalg.svd(mats, compute_uv=False)
    got = np.asarray(_spectral_norm(jnp.asarray(mats)))
    separated = np.arange(len(mats)) != 50
    np.testing.assert_allclose(got[separated], singular[separated, 0], rtol=1e-10, atol=0)
    # σ₂ = (1 − 1e-6) σ₁: the estimate may mix the two directions but stays between them
    if size > 1:
        assert singular[50, 1] - 1e-12 <= got[50] <= singular[50, 0] + 1e-12
    else:
        np.testing.assert_allclose(got[50], singular[50, 0], rtol=1e-10)


def _short_fit(model, **kwargs):
    bench = data.benchmark("lorenz63", n_steps=1000)
    s = dsr.settings("lorenz63").replace(latent_dim=6, sequence_length=20, batches_per_epoch=5)
    return dsr.fit(model, bench.train, key=jax.random.key(1), settings=s, progress=False, **kwargs)


def test_fit_uses_a_given_optimizer():
    model = _model(m=6)
    frozen = _short_fit(model, n_steps=3, optimizer=optax.sgd(0.0))
    for a, b in zip(jax.tree.leaves(model), jax.tree.leaves(frozen.model)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    moved = _short_fit(model, n_steps=3, optimizer=optax.sgd(1e-2))
    assert not np.array_equal(np.asarray(moved.model.W), np.asarray(model.W))


def test_fit_checkpoints_and_resumes_bit_for_bit(tmp_path):
    model = _model(m=6)
    straight = _short_fit(model, n_steps=10, select="best", eval_every=5, n_eval_steps=200)
    _short_fit(
        model, n_steps=5, select="best", eval_every=5, n_eval_steps=200,
        checkpoint=training.Checkpointing(tmp_path, every=5),
    )  # fmt: skip
    resumed = _short_fit(
        model, n_steps=10, select="best", eval_every=5, n_eval_steps=200,
        checkpoint=training.Checkpointing(tmp_path, resume=True),
    )  # fmt: skip
    np.testing.assert_array_equal(straight.fit.history["loss"], resumed.fit.history["loss"])
    np.testing.assert_array_equal(np.asarray(straight.model.W), np.asarray(resumed.model.W))
    np.testing.assert_array_equal(np.asarray(straight.alpha), np.asarray(resumed.alpha))
    with pytest.warns(DeprecationWarning, match="checkpoint_dir"):
        old = _short_fit(model, n_steps=10, checkpoint_dir=tmp_path / "old")
    assert (tmp_path / "old" / "last" / "meta.json").is_file()
    np.testing.assert_array_equal(old.fit.history["loss"], straight.fit.history["loss"])


def test_diverging_fit_names_the_step_and_the_reconstruction_remedies():
    model = eqx.tree_at(lambda m: m.W, _model(m=6), jnp.full((6, 6), 1e3))
    with pytest.raises(training.NonFiniteError, match=r"step \d+ .*Reconstruction-specific.*extra"):
        _short_fit(model, n_steps=20, failure_hint="extra advice.")


def test_teacher_forcing_objective_trains_through_the_core():
    # The public objective with the core's fit gives dsr.fit's run (reference optimiser).
    bench = data.benchmark("lorenz63", n_steps=1000)
    s = dsr.settings("lorenz63").replace(latent_dim=6, sequence_length=20)
    model = _model(m=6)
    via_dsr = dsr.fit(model, bench.train, key=jax.random.key(1), settings=s, n_steps=6,
                      progress=False, optimizer=optax.adam(1e-3))  # fmt: skip
    objective = dsr.TeacherForcing(
        tau=s.tau, alpha=s.alpha, adaptive=s.adaptive_alpha, alpha_method=s.alpha_method,
        alpha_update_interval=5, alpha_decay=0.999, lambda_latent=s.lambda_latent,
        dtype=model.dtype,
    )  # fmt: skip
    states = bench.train.states.astype(model.dtype)

    def sampler(step, key):
        return data.sample_windows(key, states, window=21, batch_size=s.batch_size,
                                   noise_std=s.noise_std), None  # fmt: skip

    direct = training.fit(model, objective, sampler, optimizer=optax.adam(1e-3), n_steps=6,
                          key=jax.random.key(1), progress=False)  # fmt: skip
    np.testing.assert_array_equal(via_dsr.fit.history["loss"], direct.history["loss"])
