"""Lorenz-driven spiking data and the SpikeData container with its splits and checks."""

import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import data


@pytest.fixture(scope="module")
def small():
    return data.lorenz_spikes(n_conditions=6, n_trials=5, n_neurons=12, n_bins=20,
                              n_heldout=3, n_forward=4, substeps=4, seed=3)  # fmt: skip


def test_lorenz_spikes_layout(small):
    ds = small
    assert ds.spikes.shape == (30, 20, 12) and ds.spikes.dtype == jnp.int32
    assert ds.rates.shape == (30, 20, 12) and ds.latents.shape == (30, 20, 3)
    assert len(ds.heldout) == 3 and sorted(ds.heldin + ds.heldout) == list(range(12))
    assert ds.n_forward == 4 and ds.n_observed == 16
    assert ds.model_input(ds.train).shape == (ds.train.shape[0], 16, 9)
    # Stratified split: every condition has 4 train and 1 eval trial.
    cond = np.asarray(ds.conditions)
    np.testing.assert_array_equal(np.bincount(cond[np.asarray(ds.eval)]), np.ones(6))
    assert set(np.asarray(ds.train)).isdisjoint(np.asarray(ds.eval))


def test_lorenz_spikes_generative_model(small):
    ds = small
    lat = np.asarray(ds.latents)
    # Normalised latents: within [−1, 1] (bin means of the samples).
    assert np.abs(lat).max() <= 1.0 + 1e-12
    # Trials of one condition share latents and rates; spikes differ.
    cond = np.asarray(ds.conditions)
    a, b = np.flatnonzero(cond == 2)[:2]
    np.testing.assert_allclose(np.asarray(ds.rates[a]), np.asarray(ds.rates[b]), rtol=0)
    # log-rate is linear in the latent with bias log(5 Hz · 20 ms) at x = 0 (up to the
    # bin averaging of exp, exact with one substep).
    one = data.lorenz_spikes(n_conditions=3, n_trials=2, n_neurons=5, n_bins=30, substeps=1,
                             n_heldout=1, n_forward=0, seed=1)  # fmt: skip
    x = np.asarray(one.latents).reshape(-1, 3)
    y = np.log(np.asarray(one.rates)).reshape(-1, 5)
    design = np.column_stack([x, np.ones(len(x))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(design @ coef, y, atol=1e-9)
    np.testing.assert_allclose(coef[3], np.log(5.0 * 0.02), atol=1e-9)
    assert np.all((np.abs(coef[:3]) >= 1.0) & (np.abs(coef[:3]) <= 2.0))
    # Poisson counts: mean count matches mean rate (30·20·12 draws, ~4 % tolerance).
    np.testing.assert_allclose(float(ds.spikes.mean()), float(ds.rates.mean()), rtol=0.08)


def test_lorenz_spikes_deterministic():
    kw = dict(n_conditions=2, n_trials=2, n_neurons=4, n_bins=6, substeps=2, n_heldout=1,
              n_forward=1)  # fmt: skip
    a, b = data.lorenz_spikes(seed=5, **kw), data.lorenz_spikes(seed=5, **kw)
    np.testing.assert_array_equal(np.asarray(a.spikes), np.asarray(b.spikes))
    c = data.lorenz_spikes(seed=6, **kw)
    assert not np.array_equal(np.asarray(a.rates), np.asarray(c.rates))


def test_spike_data_from_arrays_and_mask():
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.5, (10, 8, 4))
    ds = data.spike_data(counts, heldout=[3], n_forward=2, train_fraction=0.7)
    assert ds.heldin == (0, 1, 2) and ds.heldout == (3,)
    assert ds.train.shape[0] == 7 and ds.eval.shape[0] == 3
    assert bool(ds.mask.all())
    trials = [rng.poisson(0.5, (n, 4)) for n in (8, 6, 8, 5)]
    mask = np.zeros((4, 8), dtype=bool)
    for i, t in enumerate(trials):
        mask[i, : t.shape[0]] = True
    ds = data.spike_data(trials, mask=mask, heldout=[0])
    assert ds.spikes.shape == (4, 8, 4)
    np.testing.assert_array_equal(np.asarray(ds.mask), mask)
    np.testing.assert_array_equal(np.asarray(ds.spikes[3, :5]), trials[3])
    assert int(ds.spikes[3, 5:].sum()) == 0


def test_spike_data_bad_input():
    good = np.ones((4, 5, 3), dtype=int)
    with pytest.raises(ValueError, match="non-negative"):
        data.spike_data(-good)
    with pytest.raises(ValueError, match="integer spike counts"):
        data.spike_data(good * 0.5)
    with pytest.raises(ValueError, match="different lengths.*mask"):
        data.spike_data([np.ones((5, 3)), np.ones((4, 3))])
    with pytest.raises(ValueError, match="heldout.*out of range"):
        data.spike_data(good, heldout=[3])
    with pytest.raises(ValueError, match="heldout.*out of range"):
        data.spike_data(good, heldout=[-1])
    with pytest.raises(ValueError, match="at least one neuron"):
        data.spike_data(good, heldout=[0, 1, 2])
    with pytest.raises(ValueError, match="n_forward"):
        data.spike_data(good, n_forward=5)
    with pytest.raises(ValueError, match="3-D"):
        data.spike_data(good[0])
    with pytest.raises(ValueError, match="mask"):
        data.spike_data(good, mask=np.ones((4, 4), dtype=bool))
    with pytest.raises(ValueError, match="rates"):
        data.spike_data(good, rates=np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match="n_heldout"):
        data.lorenz_spikes(n_neurons=4, n_heldout=4)


def test_split_trials_stratified():
    cond = np.repeat(np.arange(4), [5, 5, 10, 2])
    train, held = data.split_trials(cond, 0.8, seed=0)
    np.testing.assert_array_equal(np.bincount(cond[held]), [1, 1, 2, 1])
    assert train.size + held.size == cond.size
    with pytest.raises(ValueError, match="fraction"):
        data.split_trials(cond, 1.0)
