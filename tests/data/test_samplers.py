import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.data import (
    Trajectories,
    WindowSampler,
    iterate_batches,
    sample_window_indices,
    sample_windows,
)


def _states(batch=3, time=40, dim=2):
    # Entry [b, t, d] = 1000 b + 10 t + d, so every value tells where it came from.
    b, t, d = np.meshgrid(np.arange(batch), np.arange(time), np.arange(dim), indexing="ij")
    return (1000.0 * b + 10.0 * t + d).astype(np.float64)


def _assert_contiguous_slices(windows, states):
    windows = np.asarray(windows)
    for w in windows:
        b, t0 = int(w[0, 0] // 1000), int(round((w[0, 0] % 1000) / 10))
        np.testing.assert_array_equal(w, states[b, t0 : t0 + w.shape[0]])


def test_sample_windows_shape_and_contiguity():
    states = _states()
    batch = sample_windows(jax.random.key(0), states, window=5, batch_size=8)
    assert batch.shape == (8, 5, 2) and batch.dtype == jnp.float64
    _assert_contiguous_slices(batch, states)


def test_single_trajectory_and_inputs_are_cut_alike():
    states = _states(batch=1)[0]
    inputs = states[:, :1] + 0.5
    xs, us = sample_windows(jax.random.key(1), states, window=5, batch_size=8, inputs=inputs)
    assert xs.shape == (8, 5, 2) and us.shape == (8, 5, 1)
    np.testing.assert_array_equal(np.asarray(us)[..., 0], np.asarray(xs)[..., 0] + 0.5)


def test_same_key_same_batch_different_key_different_batch():
    states = _states()
    a = sample_windows(jax.random.key(3), states, window=5, batch_size=8)
    b = sample_windows(jax.random.key(3), states, window=5, batch_size=8)
    c = sample_windows(jax.random.key(4), states, window=5, batch_size=8)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_windows_cover_all_trajectories_and_starts_uniformly():
    n_traj, n_times, window, n = 3, 12, 5, 24_000
    traj, start = sample_window_indices(
        jax.random.key(0), n_traj, n_times, window=window, batch_size=n
    )
    counts = np.zeros((n_traj, n_times - window + 1))
    np.add.at(counts, (np.asarray(traj), np.asarray(start)), 1)
    # 24 windows, each expected 1000 times: all present, none beyond ~5 standard deviations.
    assert counts.min() > 1000 - 160 and counts.max() < 1000 + 160


def test_full_length_window_returns_whole_trajectories():
    states = _states(time=6)
    batch = np.asarray(sample_windows(jax.random.key(0), states, window=6, batch_size=5))
    for w in batch:
        assert any(np.array_equal(w, s) for s in states)


def test_noise_is_added_on_top_of_the_same_windows():
    states = _states()
    clean = sample_windows(jax.random.key(5), states, window=5, batch_size=256)
    noisy = sample_windows(jax.random.key(5), states, window=5, batch_size=256, noise_std=0.05)
    diff = np.asarray(noisy) - np.asarray(clean)
    np.testing.assert_allclose(diff.std(), 0.05, rtol=0.05)
    np.testing.assert_allclose(diff.mean(), 0.0, atol=0.005)


def test_sample_windows_is_jittable():
    states = jnp.asarray(_states())
    f = jax.jit(lambda k, x: sample_windows(k, x, window=4, batch_size=3, noise_std=0.1))
    out = f(jax.random.key(0), states)
    assert out.shape == (3, 4, 2)


def test_window_sampler_matches_function_and_compiles_once(caplog):
    keys = [jax.random.key(seed) for seed in range(6)]
    states = _states()
    inputs = np.ones((3, 40, 1))
    traj = Trajectories.from_arrays(states, dt=0.1, inputs=inputs)
    sampler = WindowSampler(traj, window=9, batch_size=4, noise_std=0.01)
    assert sampler.n_windows == 3 * 32
    xs, us = sampler(jax.random.key(2))
    ref_x, ref_u = sample_windows(
        jax.random.key(2), states, window=9, batch_size=4, inputs=inputs, noise_std=0.01
    )
    np.testing.assert_array_equal(np.asarray(xs), np.asarray(ref_x))
    assert us.shape == (4, 9, 1)
    # The training core's convention sampler(step, key): the same windows at every step.
    np.testing.assert_array_equal(np.asarray(sampler(7, jax.random.key(2))[0]), np.asarray(xs))
    with pytest.raises(TypeError, match="sampler\\(step, key\\)"):
        sampler(1, 2, 3)
    with jax.log_compiles(), caplog.at_level(logging.WARNING):
        for seed in range(3, 6):
            sampler(keys[seed])
        # A new noise level is a new value, not a new program.
        WindowSampler(traj, window=9, batch_size=4, noise_std=0.2)(keys[0])
    assert not [r for r in caplog.records if "ompil" in r.getMessage()]


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"window": 41, "batch_size": 2}, ValueError, "window"),
        ({"window": 0, "batch_size": 2}, ValueError, "window"),
        ({"window": -3, "batch_size": 2}, ValueError, "window"),
        ({"window": 2.5, "batch_size": 2}, TypeError, "window"),
        ({"window": 5, "batch_size": 0}, ValueError, "batch_size"),
        ({"window": 5, "batch_size": 2, "noise_std": -1.0}, ValueError, "noise_std"),
        ({"window": 5, "batch_size": 2, "inputs": np.ones((3, 39, 1))}, ValueError, "inputs"),
    ],
)
def test_sampler_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        sample_windows(jax.random.key(0), _states(), **kwargs)
    if "inputs" not in kwargs:
        with pytest.raises(err, match=match):
            WindowSampler(_states(), **kwargs)


def test_sampler_bad_data_and_key():
    with pytest.raises(ValueError, match="states"):
        sample_windows(jax.random.key(0), np.zeros(10), window=2, batch_size=1)
    with pytest.raises(ValueError, match="states"):
        sample_windows(jax.random.key(0), np.zeros((0, 2)), window=1, batch_size=1)
    bad = _states()
    bad[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="states"):
        sample_windows(jax.random.key(0), bad, window=2, batch_size=1)
    with pytest.raises(TypeError, match="key"):
        sample_windows(42, _states(), window=2, batch_size=1)
    with pytest.raises(ValueError, match="window"):
        sample_window_indices(jax.random.key(0), 2, 5, window=6, batch_size=1)


def test_iterate_batches_drop_last():
    states = _states(batch=10, time=4)
    batches = list(iterate_batches(states, batch_size=4, key=jax.random.key(0)))
    assert len(batches) == 2
    seen = np.concatenate([np.asarray(b.indices) for b in batches])
    assert len(set(seen.tolist())) == 8
    for b in batches:
        assert b.states.shape == (4, 4, 2) and bool(jnp.all(b.mask)) and b.inputs is None
        np.testing.assert_array_equal(np.asarray(b.states), states[np.asarray(b.indices)])


def test_iterate_batches_pad_with_mask():
    traj = Trajectories.from_arrays(_states(batch=10, time=4), inputs=np.ones((10, 4, 1)))
    batches = list(iterate_batches(traj, batch_size=4, drop_last=False))
    assert len(batches) == 3
    assert all(b.states.shape == (4, 4, 2) and b.inputs.shape == (4, 4, 1) for b in batches)
    np.testing.assert_array_equal(np.asarray(batches[-1].mask), [True, True, False, False])
    valid = np.concatenate([np.asarray(b.indices)[np.asarray(b.mask)] for b in batches])
    np.testing.assert_array_equal(valid, np.arange(10))  # no key: stored order, each once


def test_iterate_batches_shuffle_is_seeded():
    states = _states(batch=9, time=2)
    order = lambda k: np.concatenate(  # noqa: E731
        [np.asarray(b.indices) for b in iterate_batches(states, batch_size=3, key=k)]
    )
    np.testing.assert_array_equal(order(jax.random.key(1)), order(jax.random.key(1)))
    assert not np.array_equal(order(jax.random.key(1)), order(jax.random.key(2)))
    assert sorted(order(jax.random.key(1)).tolist()) == list(range(9))


def test_iterate_batches_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        iterate_batches(_states(batch=3), batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        iterate_batches(_states(batch=3), batch_size=0)
    with pytest.raises(ValueError, match="data"):
        iterate_batches(np.zeros((5, 2)), batch_size=1)
    with pytest.raises(TypeError, match="drop_last"):
        iterate_batches(_states(), batch_size=1, drop_last="no")
    with pytest.raises(TypeError, match="key"):
        iterate_batches(_states(), batch_size=1, key=3)
