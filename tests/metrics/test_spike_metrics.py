"""Bits per spike (co-bps, fp-bps), rate/PSTH R² (true first) and ridge decoding R²."""

import numpy as np
import pytest
from scipy.special import gammaln

from dynsys import metrics


def _poisson_set(seed=0, shape=(40, 30, 6)):
    rng = np.random.default_rng(seed)
    t = np.arange(shape[1])
    rates = np.exp(np.sin(0.3 * t[None, :, None] + rng.uniform(0, 6, (1, 1, shape[2])))
                   + rng.normal(0, 0.3, (shape[0], 1, 1)) - 0.5)  # fmt: skip
    rates = np.broadcast_to(rates, shape).copy()
    return rates, rng.poisson(rates)


def test_bits_per_spike_null_is_zero_and_truth_positive():
    rates, spikes = _poisson_set()
    null = np.broadcast_to(spikes.mean(axis=(0, 1)), spikes.shape)
    np.testing.assert_allclose(metrics.bits_per_spike(null, spikes), 0.0, atol=1e-12)
    assert metrics.bits_per_spike(rates, spikes) > 0.1
    # A wrong model (rates shuffled across time) is worse than the truth.
    assert metrics.bits_per_spike(rates[:, ::-1], spikes) < metrics.bits_per_spike(rates, spikes)


def test_bits_per_spike_formula_by_hand():
    spikes = np.array([[[0], [2], [1], [1]]])
    rates = np.array([[[0.5], [1.5], [1.0], [1.0]]])
    nll = lambda lam, y: np.sum(lam - y * np.log(lam) + gammaln(y + 1))  # noqa: E731
    expected = (nll(np.full(4, 1.0), spikes.ravel()) - nll(rates.ravel(), spikes.ravel())) / (
        4 * np.log(2)
    )
    np.testing.assert_allclose(metrics.bits_per_spike(rates, spikes), expected, rtol=1e-12)
    np.testing.assert_allclose(metrics.poisson_nll(rates, spikes).sum(),
                               nll(rates.ravel(), spikes.ravel()), rtol=1e-12)  # fmt: skip


def test_co_bps_and_fp_bps_select_neurons_and_bins():
    rates, spikes = _poisson_set(1)
    co = metrics.co_bps(rates, spikes, [4, 5], n_forward=10)
    np.testing.assert_allclose(
        co, metrics.bits_per_spike(rates[:, :20, 4:], spikes[:, :20, 4:]), rtol=1e-12
    )
    fp = metrics.fp_bps(rates, spikes, 10)
    np.testing.assert_allclose(fp, metrics.bits_per_spike(rates[:, 20:], spikes[:, 20:]))
    assert co > 0 and fp > 0
    # A mask drops bins: identical to slicing them away.
    mask = np.ones(spikes.shape[:2], dtype=bool)
    mask[:, 15:] = False
    np.testing.assert_allclose(
        metrics.bits_per_spike(rates, spikes, mask=mask),
        metrics.bits_per_spike(rates[:, :15], spikes[:, :15]), rtol=1e-12,
    )  # fmt: skip


def test_spike_metric_bad_input():
    rates, spikes = _poisson_set(2, (4, 6, 3))
    with pytest.raises(ValueError, match="non-negative"):
        metrics.bits_per_spike(rates, -spikes)
    with pytest.raises(ValueError, match="integer"):
        metrics.bits_per_spike(rates, spikes + 0.5)
    with pytest.raises(ValueError, match="> 0"):
        metrics.bits_per_spike(np.zeros_like(rates), spikes)
    with pytest.raises(ValueError, match="heldout"):
        metrics.co_bps(rates, spikes, [3])
    with pytest.raises(ValueError, match="n_forward"):
        metrics.fp_bps(rates, spikes, 6)
    with pytest.raises(ValueError, match="one shape"):
        metrics.bits_per_spike(rates[:, :5], spikes)
    with pytest.raises(ValueError, match="no spike"):
        metrics.bits_per_spike(rates, np.zeros_like(spikes))


def test_r2_argument_order():
    y_true = np.array([1.0, 2.0, 3.0, 4.0])
    y_pred = np.array([1.0, 2.0, 3.0, 8.0])
    # By hand: SS_res = 16, SS_tot(true) = 5 → 1 − 16/5; swapped: SS_tot(pred) = 29.
    np.testing.assert_allclose(metrics.r2_score(y_true, y_pred), 1 - 16 / 5, rtol=1e-12)
    np.testing.assert_allclose(metrics.r2_score(y_pred, y_true), 1 - 16 / 29, rtol=1e-12)
    true = np.stack([y_true, 2 * y_true], -1)[None]  # (1, 4, 2)
    pred = np.stack([y_pred, 2 * y_true], -1)[None]
    np.testing.assert_allclose(metrics.rate_r2(true, pred), 0.5 * (1 - 16 / 5 + 1), rtol=1e-12)
    with pytest.raises(ValueError, match="constant"):
        metrics.r2_score(np.ones(3), y_true[:3])


def test_psth_r2_averages_trials_by_condition():
    rates, spikes = _poisson_set(3, (6, 10, 2))
    psth = np.stack([rates[:3].mean(0), rates[3:].mean(0)])
    cond = np.array([0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(metrics.psth_r2(psth, rates, cond), 1.0, rtol=1e-12)
    assert metrics.psth_r2(psth, rates[:, ::-1], cond) < 0.9
    with pytest.raises(ValueError, match="conditions"):
        metrics.psth_r2(psth, rates, np.array([0, 0, 0, 2, 2, 2]))


def test_velocity_r2_recovers_linear_map():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(20, 25, 8))
    w = rng.normal(size=(8, 2))
    vel = x @ w + 0.05 * rng.normal(size=(20, 25, 2))
    r2 = metrics.velocity_r2(x[:15], vel[:15], x[15:], vel[15:])
    assert r2 > 0.99
    noise = rng.normal(size=vel.shape)
    assert metrics.velocity_r2(noise[:15], vel[:15], noise[15:], vel[15:]) < 0.1
    with pytest.raises(ValueError, match="leading"):
        metrics.velocity_r2(x[:15], vel[:14], x[15:], vel[15:])
