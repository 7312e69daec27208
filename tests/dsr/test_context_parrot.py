"""The context-parroting baseline: exact copying, nearest-neighbour search, evaluation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import data, dsr
from dynsys.metrics import state_space_divergence

PERIOD = 50  # samples per cycle of the periodic context


def _circle(n, phase=0):
    t = (np.arange(n, dtype=np.float64) + phase) * (2 * np.pi / PERIOD)
    return jnp.asarray(np.stack([np.sin(t), np.cos(t)], axis=-1))


def _brute_force(context, embedding, z):
    """Start of the nearest window (lowest start on ties), by scanning every window."""
    c = np.asarray(context)
    windows = np.stack([c[s : s + embedding].ravel() for s in range(len(c) - embedding)])
    return int(np.argmin(((windows - np.asarray(z)) ** 2).sum(axis=-1)))


def test_periodic_context_is_continued_exactly():
    context = _circle(4 * PERIOD + 7)
    parrot = dsr.ContextParrot(context, embedding=3)
    start = 30
    # Longer than the context: the replay runs off its end and has to jump back.
    xs = parrot.generate(context[start], 1000)
    assert xs.shape == (1000, 2)
    np.testing.assert_allclose(np.asarray(xs), np.asarray(_circle(1000, phase=start)), atol=1e-9)


def test_state_layout_and_initial_state():
    context = _circle(300)
    parrot = dsr.ContextParrot(context, embedding=4)
    assert (parrot.obs_dim, parrot.latent_dim, parrot.n_windows) == (2, 8, 296)
    x0 = jnp.array([0.3, -0.9])
    z0 = parrot.init_state(x0)
    # The window whose last point is nearest to x0, with that point replaced by x0.
    last = int(np.argmin(((np.asarray(context) - np.asarray(x0)) ** 2).sum(-1)[3:299])) + 3
    np.testing.assert_allclose(np.asarray(z0[:6]), np.asarray(context[last - 3 : last]).ravel())
    np.testing.assert_allclose(np.asarray(parrot.readout(z0)), np.asarray(x0))
    z1 = parrot.step(z0)
    np.testing.assert_allclose(np.asarray(z1[:6]), np.asarray(z0[2:]))
    # Batches of states go through step, readout and init_state alike.
    z2 = parrot.step(z1)
    zs = parrot.generate_latent(jnp.stack([z0, z1]), 3)
    assert zs.shape == (2, 3, 8)
    np.testing.assert_allclose(np.asarray(zs[0]), np.asarray(jnp.stack([z0, z1, z2])))
    assert parrot.init_state(jnp.stack([x0, -x0])).shape == (2, 8)


def test_search_matches_brute_force():
    rng = np.random.default_rng(0)
    context = rng.normal(size=(2000, 3))
    embedding = 4
    parrot = dsr.ContextParrot(context, embedding=embedding)
    windows = np.stack([context[s : s + embedding].ravel() for s in range(50)])
    queries = np.concatenate(
        [
            rng.normal(size=(40, 12)),  # typical
            10.0 * rng.normal(size=(5, 12)),  # far from every window: a full scan
            windows[:5] + 1e-3 * rng.normal(size=(5, 12)),  # near a window
            windows[5:10],  # exactly a window
        ]
    )
    found = np.asarray(jax.vmap(parrot.nearest_window)(jnp.asarray(queries)))
    expected = [_brute_force(context, embedding, q) for q in queries]
    np.testing.assert_array_equal(found, expected)


def test_ties_go_to_the_earliest_window():
    # Three identical copies of a random stretch: every window has two exact twins.
    piece = np.random.default_rng(1).normal(size=(40, 2))
    context = np.concatenate([piece, piece, piece])
    parrot = dsr.ContextParrot(context, embedding=3)
    z = jnp.asarray(piece[10:13].ravel())
    assert int(parrot.nearest_window(z)) == 10


def test_windows_do_not_cross_trajectories():
    trajs = jnp.stack([_circle(100), _circle(100, phase=25)])
    parrot = dsr.ContextParrot(trajs, embedding=5)
    assert parrot.n_windows == 2 * (100 - 5)
    starts = np.asarray(parrot.window_starts)
    assert not np.any((starts % 100) + 5 >= 100)
    from_traj = dsr.ContextParrot(data.Trajectories.from_arrays(np.asarray(trajs)), embedding=5)
    np.testing.assert_array_equal(np.asarray(from_traj.window_starts), starts)


def test_lorenz_free_run_stays_on_the_data():
    bench = data.benchmark("lorenz63", n_steps=6000, seed=0)
    context, test = bench.train.states[0], bench.test.states[0]
    parrot = dsr.ContextParrot(bench.train)
    xs = parrot.generate(test[0], 6000)
    assert bool(jnp.all(jnp.isfinite(xs)))
    # Every generated row after the first is a copied context row.
    rows = {tuple(r) for r in np.asarray(context)}
    assert all(tuple(r) in rows for r in np.asarray(xs[1:]))
    # Coarse bins: 6000 points fill 30³ cells too sparsely for a stable D_stsp.
    d_parrot = float(state_space_divergence(test, xs, n_bins=10))
    constant = jnp.broadcast_to(test.mean(0), test.shape)
    d_constant = float(state_space_divergence(test, constant, n_bins=10))
    d_floor = float(state_space_divergence(test, context, n_bins=10))
    assert d_constant > 10.0
    assert d_parrot < 0.1 * d_constant
    assert d_parrot < d_floor + 1.0


def test_evaluate_scores_the_parrot():
    bench = data.benchmark("lorenz63", n_steps=2000, seed=0)
    parrot = dsr.ContextParrot(bench.train, embedding=3)
    ev = dsr.evaluate(parrot, bench.test, reference=bench.train, n_bins=10)
    assert ev.generated.shape == (2000, 3) and ev.latent.shape == (2000, 9)
    assert np.isfinite(ev.d_stsp) and np.isfinite(ev.d_h) and np.isfinite(ev.pe)
    assert ev.d_h < 0.2 and ev.pe < 0.2
    assert np.isnan(ev.lambda_max)
    assert ev.n_subregions == -1
    assert "subregions" not in ev.summary() and "D_stsp" in ev.summary()


def test_step_runs_the_pruned_search_deterministically():
    parrot = dsr.ContextParrot(_circle(200), embedding=3)
    before = parrot.generate(jnp.array([0.0, 1.0]), 64)
    z0 = parrot.init_state(before[0])
    traced = jax.jit(lambda m, z: m.step(z)).lower(parrot, z0).as_text()
    assert "while" in traced  # the pruned search, not a scan over every window
    again = parrot.generate(jnp.array([0.0, 1.0]), 64)
    np.testing.assert_array_equal(np.asarray(before), np.asarray(again))


@pytest.mark.parametrize(
    "context, kwargs, error, match",
    [
        (np.zeros((3, 2)), {"embedding": 3}, ValueError, "context.*embedding \\+ 1 = 4"),
        (np.zeros((10, 2)), {"embedding": 0}, ValueError, "embedding"),
        (np.zeros((10, 2)), {"embedding": 2.5}, TypeError, "embedding"),
        (np.where(np.arange(20)[:, None] == 7, np.nan, 1.0) * np.ones((20, 2)), {}, ValueError,
         "context.*NaN"),
        (np.zeros(10), {}, ValueError, "context.*\\(time, dim\\)"),
        (np.zeros((2, 3, 10, 2)), {}, ValueError, "context"),
        ("abc", {}, TypeError, "context"),
    ],
)  # fmt: skip
def test_bad_context_is_rejected(context, kwargs, error, match):
    with pytest.raises(error, match=match):
        dsr.ContextParrot(context, **kwargs)


def test_bad_generator_input_is_rejected():
    parrot = dsr.ContextParrot(_circle(100), embedding=3)
    with pytest.raises(ValueError, match="x0.*obs_dim=2"):
        parrot.generate(jnp.zeros(3), 10)
    with pytest.raises(ValueError, match="z0.*latent_dim"):
        parrot.generate_latent(jnp.zeros(2), 10)
    with pytest.raises(ValueError, match="n_steps"):
        parrot.generate(jnp.zeros(2), 0)
    with pytest.raises(ValueError, match="x0.*NaN"):
        parrot.generate(jnp.array([jnp.nan, 0.0]), 10)
    with pytest.raises(ValueError, match="test.*obs_dim=2"):
        dsr.evaluate(parrot, np.zeros((50, 3)))
