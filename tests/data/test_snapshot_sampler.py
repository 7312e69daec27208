"""SnapshotSampler: distinct (trajectory, time) pairs, uniform, jitted once, validated."""

import logging

import jax
import numpy as np
import pytest

from dynsys.data import SnapshotSampler


def test_snapshots_are_distinct_in_range_and_the_documented_draw():
    sampler = SnapshotSampler(3, 5, batch_size=15)
    assert sampler.n_snapshots == 15
    i, t = sampler(jax.random.key(0))
    assert i.shape == t.shape == (15,)
    # A batch of all snapshots is a permutation of them: each (trajectory, time) once.
    pairs = sorted(zip(np.asarray(i).tolist(), np.asarray(t).tolist()))
    assert pairs == [(a, b) for a in range(3) for b in range(5)]
    small = SnapshotSampler(3, 5, batch_size=4)
    flat = np.asarray(jax.random.choice(jax.random.key(7), 15, (4,), replace=False))
    i, t = small(jax.random.key(7))
    np.testing.assert_array_equal(np.asarray(i), flat // 5)
    np.testing.assert_array_equal(np.asarray(t), flat % 5)


def test_every_snapshot_is_equally_likely():
    sampler = SnapshotSampler(2, 3, batch_size=2)
    counts = np.zeros((2, 3))
    n = 600
    for key in jax.random.split(jax.random.key(1), n):
        i, t = sampler(key)
        assert (int(i[0]), int(t[0])) != (int(i[1]), int(t[1]))
        np.add.at(counts, (np.asarray(i), np.asarray(t)), 1)
    # Each of the 6 snapshots is in a batch with probability 1/3: 200 of 600, sd ≈ 11.5.
    np.testing.assert_allclose(counts, n / 3, atol=50)


def test_training_core_convention_and_compiles_once(caplog):
    sampler = SnapshotSampler(4, 10, batch_size=8)
    ref = sampler(jax.random.key(2))
    out = sampler(5, jax.random.key(2))  # sampler(step, key): the step does not matter
    for a, b in zip(ref, out):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(TypeError, match=r"sampler\(step, key\)"):
        sampler(1, 2, 3)
    keys = [jax.random.key(seed) for seed in range(3, 6)]
    with jax.log_compiles(), caplog.at_level(logging.WARNING):
        for step, key in enumerate(keys):
            sampler(step, key)
    assert not [r for r in caplog.records if "ompil" in r.getMessage()]


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((0, 5), {"batch_size": 1}, ValueError, "n_trajectories"),
        ((2, 5.0), {"batch_size": 1}, TypeError, "n_times"),
        ((2, 5), {"batch_size": 0}, ValueError, "batch_size"),
        ((2, 5), {"batch_size": 11}, ValueError, r"exceeds the 10 snapshots"),
    ],
)
def test_bad_arguments_are_named(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        SnapshotSampler(*args, **kwargs)
    with pytest.raises(TypeError, match="key"):
        SnapshotSampler(2, 5, batch_size=2)(0)
