"""TrialSampler: whole trials without replacement, aligned across arrays, fixed shapes."""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.data import TrialSampler


def _trials(n=10, time=5, dim=3):
    # Entry [n, t, d] = 100 n + 10 t + d: every value tells which trial it came from.
    i, t, d = np.meshgrid(np.arange(n), np.arange(time), np.arange(dim), indexing="ij")
    return (100.0 * i + 10.0 * t + d).astype(np.float64)


def test_batches_are_distinct_whole_trials_cut_alike_from_every_array():
    counts = _trials()
    mask = np.arange(10)[:, None] * np.ones((1, 5), dtype=int) % 2 == 0
    sampler = TrialSampler((counts, mask), batch_size=7)
    assert sampler.n_trials == 10
    for seed in range(5):
        x, m = sampler(jax.random.key(seed))
        assert x.shape == (7, 5, 3) and m.shape == (7, 5) and m.dtype == jnp.bool_
        idx = np.asarray(x[:, 0, 0] // 100).astype(int)
        assert len(set(idx.tolist())) == 7  # without replacement
        np.testing.assert_array_equal(np.asarray(x), counts[idx])
        np.testing.assert_array_equal(np.asarray(m), mask[idx])
        # The draw is jax.random.choice without replacement, and the step does not matter.
        ref = jax.random.choice(jax.random.key(seed), 10, (7,), replace=False)
        np.testing.assert_array_equal(idx, np.asarray(ref))
        np.testing.assert_array_equal(np.asarray(sampler(123, jax.random.key(seed))[0]), x)


def test_every_trial_is_drawn_equally_often():
    sampler = TrialSampler(jnp.arange(6.0), batch_size=2)
    n = 3000
    draws = np.concatenate([np.asarray(sampler(k)) for k in jax.random.split(jax.random.key(0), n)])
    counts = np.bincount(draws.astype(int), minlength=6)
    # Each trial is drawn with probability 2/6 per batch: mean 1000, sd ≈ 26.
    np.testing.assert_allclose(counts, n * 2 / 6, atol=130)


def test_the_draw_compiles_once(caplog):
    sampler = TrialSampler(_trials(), batch_size=4)
    sampler(jax.random.key(0))
    with jax.log_compiles(), caplog.at_level(logging.WARNING):
        for seed in range(1, 4):
            sampler(seed, jax.random.key(seed))
    assert not [r for r in caplog.records if "ompil" in r.getMessage()]


def test_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        TrialSampler(_trials(n=3), batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        TrialSampler(_trials(n=3), batch_size=0)
    with pytest.raises(ValueError, match="leading trial axis"):
        TrialSampler((np.zeros((3, 2)), np.zeros((4, 2))), batch_size=1)
    with pytest.raises(ValueError, match="scalar"):
        TrialSampler((np.zeros((3, 2)), 1.0), batch_size=1)
    with pytest.raises(ValueError, match="no trials"):
        TrialSampler(np.zeros((0, 2)), batch_size=1)
    with pytest.raises(ValueError, match="at least one array"):
        TrialSampler((), batch_size=1)
    with pytest.raises(TypeError, match="arrays"):
        TrialSampler(("abc",), batch_size=1)
    sampler = TrialSampler(_trials(n=3), batch_size=2)
    with pytest.raises(TypeError, match="key"):
        sampler(0)
    with pytest.raises(TypeError, match="sampler\\(step, key\\)"):
        sampler(1, 2, 3)
