"""Spike data, synthetic spikes and samplers on bad input (issue 27)."""

import jax
import numpy as np
import pytest

from dynsys import data


def named(name):
    """The argument named in backticks (dynsys) or quotes (the test suite's type-check hook)."""
    return rf"[`']{name}[`'\[]"


def test_lorenz_spikes_rejects_overflowing_rates_and_endless_runs():
    small = dict(n_conditions=2, n_trials=2, n_neurons=4, n_bins=6, n_heldout=1, n_forward=2)
    with pytest.raises(ValueError, match=named("base_rate")):
        data.lorenz_spikes(base_rate=1e12, **small)
    with pytest.raises(ValueError, match=named("transient")):
        data.lorenz_spikes(transient=1e30, **small)


def test_spike_data_rejects_counts_beyond_int32_and_bad_labels():
    counts = np.ones((4, 5, 3))
    big = counts.copy()
    big[0, 0, 0] = 2.0**40
    with pytest.raises(ValueError, match="`spikes`.*int32"):
        data.spike_data(big)
    with pytest.raises(TypeError, match=named("heldout")):
        data.spike_data(counts, heldout=None)
    with pytest.raises(TypeError, match=named("conditions")):
        data.split_trials(np.array([0.5, np.nan, 1.0]))
    with pytest.raises(ValueError, match=named("train_fraction")):
        data.spike_data(counts, train_fraction=1.5)
    with pytest.raises(ValueError, match=named("mask")):
        data.spike_data(counts, mask=np.zeros((4, 5), bool))
    with pytest.raises(TypeError, match=named("rates")):
        data.spike_data(counts, rates=np.ones((4, 5, 3)) + 1j)


def test_samplers_name_the_data_argument():
    states = np.random.default_rng(0).normal(size=(3, 10, 2))
    with pytest.raises(ValueError, match=named("data")):
        data.WindowSampler(np.full((3, 10, 2), np.nan), window=4, batch_size=2)
    with pytest.raises(ValueError, match=named("data")):
        data.WindowSampler(states[:, :2], window=4, batch_size=2)
    with pytest.raises(ValueError, match=named("n_times")):
        data.sample_window_indices(jax.random.key(0), 3, 2, window=4, batch_size=2)
    with pytest.raises(ValueError, match=named("n_times")):
        data.SnapshotSampler(1, 2, batch_size=4)
    with pytest.raises(TypeError, match=named("threshold")):
        data.autocorrelation_time(states, threshold=None)
