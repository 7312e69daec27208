"""SeriesSampler: fixed-shape batches of whole series, with or without replacement."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.data import SeriesBatch, SeriesSampler, Trajectories


def _states(n=5, n_times=7, dim=2):
    # Entry [b, t, d] = 100 b + 10 t + d: every value tells where it came from.
    b, t, d = np.meshgrid(np.arange(n), np.arange(n_times), np.arange(dim), indexing="ij")
    return (100.0 * b + 10.0 * t + d).astype(np.float64)


def test_batches_are_whole_series_with_their_grids_and_masks():
    states = _states()
    times = np.cumsum(np.ones((5, 7)), axis=1) * (1.0 + np.arange(5))[:, None]
    mask = np.ones((5, 7), bool)
    mask[2, 3] = False
    sampler = SeriesSampler(states, times=times, mask=mask, batch_size=3)
    batch = sampler(jax.random.key(0))
    assert isinstance(batch, SeriesBatch) and sampler.n_series == 5
    idx = np.asarray(batch.indices)
    assert batch.states.shape == (3, 7, 2) and batch.times.shape == (3, 7)
    assert batch.mask.shape == (3, 7, 2) and batch.inputs is None
    np.testing.assert_array_equal(batch.states, states[idx])
    np.testing.assert_array_equal(batch.times, times[idx])
    np.testing.assert_array_equal(batch.mask, np.broadcast_to(mask[idx, :, None], (3, 7, 2)))
    assert len(set(idx.tolist())) == 3  # enough series: drawn without replacement


def test_shared_grid_is_passed_through_and_the_step_is_ignored():
    times = np.linspace(0.0, 1.0, 7)
    sampler = SeriesSampler(_states(), times=times, batch_size=2)
    a = sampler(jax.random.key(3))
    b = sampler(17, jax.random.key(3))
    np.testing.assert_array_equal(a.times, times)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert a.mask is None
    c = sampler(jax.random.key(4))
    draws = [np.asarray(sampler(jax.random.key(k)).indices) for k in range(20)]
    assert any(not np.array_equal(d, draws[0]) for d in draws) and c.states.shape == (2, 7, 2)


def test_replacement_only_when_there_are_too_few_series():
    states = _states(n=3)
    many = SeriesSampler(states, batch_size=8)
    assert many.replace
    idx = np.asarray(many(jax.random.key(0)).indices)
    assert idx.shape == (8,) and set(idx.tolist()) <= {0, 1, 2}
    counts = np.bincount(
        np.concatenate([np.asarray(many(jax.random.key(k)).indices) for k in range(300)]),
        minlength=3,
    )
    np.testing.assert_allclose(counts / counts.sum(), 1 / 3, atol=0.03)  # 2400 draws
    assert not SeriesSampler(states, batch_size=3).replace
    assert SeriesSampler(states, batch_size=2, replace=True).replace
    with pytest.raises(ValueError, match="replace=False"):
        SeriesSampler(states, batch_size=4, replace=False)


def test_trajectories_give_times_and_inputs():
    states = _states()
    inputs = states[..., :1] + 0.5
    traj = Trajectories(times=np.linspace(0.0, 0.6, 7), states=states, inputs=inputs)
    batch = SeriesSampler(traj, batch_size=4)(jax.random.key(1))
    np.testing.assert_array_equal(batch.inputs, np.asarray(batch.states)[..., :1] + 0.5)
    np.testing.assert_array_equal(batch.times, traj.times)
    with pytest.raises(ValueError, match="must not be given with Trajectories"):
        SeriesSampler(traj, times=traj.times, batch_size=2)


def test_nan_is_accepted_only_where_masked():
    states = _states()
    states[1, 4, 0] = np.nan
    with pytest.raises(ValueError, match=r"index \(1, 4, 0\).*mask"):
        SeriesSampler(states, batch_size=2)
    mask = np.ones(states.shape, bool)
    mask[1, 4, 0] = False
    SeriesSampler(states, mask=mask, batch_size=2)


def test_bad_arguments():
    states = _states()
    with pytest.raises(ValueError, match="batch, time, \\*state_shape"):
        SeriesSampler(states[0], batch_size=2)
    with pytest.raises(ValueError, match="`times` must be"):
        SeriesSampler(states, times=np.linspace(0, 1, 6), batch_size=2)
    with pytest.raises(ValueError, match="strictly increasing"):
        SeriesSampler(states, times=np.zeros(7), batch_size=2)
    with pytest.raises(TypeError, match="boolean"):
        SeriesSampler(states, mask=np.ones((5, 7)), batch_size=2)
    with pytest.raises(ValueError, match="`mask` must have shape"):
        SeriesSampler(states, mask=np.ones((5, 6), bool), batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        SeriesSampler(states, batch_size=0)
    with pytest.raises(TypeError, match="replace"):
        SeriesSampler(states, batch_size=2, replace=1)
    sampler = SeriesSampler(states, batch_size=2)
    with pytest.raises(TypeError, match="sampler\\(key\\) or sampler\\(step, key\\)"):
        sampler(0, 1, jax.random.key(0))
    with pytest.raises(TypeError, match="random key"):
        sampler(0)


def test_in_a_jitted_step_the_batch_shape_never_changes():
    sampler = SeriesSampler(_states(), times=np.linspace(0.0, 1.0, 7), batch_size=3)
    traces = [0]

    @jax.jit
    def step(batch):
        traces[0] += 1
        return jnp.sum(batch.states)

    for k in range(4):
        step(sampler(k, jax.random.key(k)))
    assert traces[0] == 1
