"""Metrics reject bad input naming the argument, and never return NaN without a warning."""

import jax
import numpy as np
import pytest

from dynsys import systems
from dynsys.metrics import (
    co_bps,
    lyapunov_spectrum,
    nrmse,
    power_spectrum,
    psth_r2,
    ssim,
    state_space_divergence,
    velocity_r2,
)

RNG = np.random.default_rng(0)


def named(name):
    """The argument named in backticks (dynsys) or quotes (the test suite's type-check hook)."""
    return rf"[`']{name}[`'\[]"


def test_lyapunov_renorm_every_beyond_the_float_resolution_raises():
    # Hénon: λ₁ − λ₂ ≈ 2.04 per step; 500 steps between QR steps spread the tangent vectors
    # over ~10³ e-folds, far beyond float64: the second exponent came out as 0.31 silently.
    with pytest.raises(ValueError, match="`renorm_every`=500 is too large"):
        lyapunov_spectrum(systems.Henon(), n_steps=1000, transient=100, renorm_every=500)
    ok = lyapunov_spectrum(systems.Henon(), n_steps=1000, transient=100, renorm_every=10)
    np.testing.assert_allclose(np.asarray(ok.exponents), [0.42, -1.62], atol=0.1)


@pytest.mark.parametrize("key", [0, np.zeros(2)])
def test_lyapunov_and_divergence_check_the_key(key):
    with pytest.raises(TypeError, match=named("key")):
        lyapunov_spectrum(systems.Henon(), n_steps=5, key=key)
    x = RNG.normal(size=(20, 2))
    with pytest.raises(TypeError, match=named("key")):
        state_space_divergence(x, x, method="gmm", n_samples=4, key=key)


def test_lyapunov_dt_is_type_checked():
    with pytest.raises(TypeError, match=named("dt")):
        lyapunov_spectrum(systems.Henon(), n_steps=5, dt="1")


def test_power_spectrum_of_a_constant_dimension_warns():
    x = np.stack([np.sin(np.arange(64.0)), np.full(64, 2.0)], axis=1)
    with pytest.warns(RuntimeWarning, match=r"dimension\(s\) \[1\]"):
        ps = np.asarray(power_spectrum(x, smoothing=1.0))
    assert np.all(np.isfinite(ps[:, 0])) and np.all(np.isnan(ps[:, 1]))


def test_power_spectrum_smoothing_is_bounded():
    with pytest.raises(ValueError, match=named("smoothing")):
        power_spectrum(RNG.normal(size=(64, 1)), smoothing=1e30)


def test_ssim_checks_true_and_warns_on_a_non_finite_prediction():
    x = RNG.uniform(size=(1, 8, 8))
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=named("true")):
        ssim(bad, x, window_size=3)
    with pytest.warns(RuntimeWarning, match="`pred` holds NaN"):
        assert np.isnan(float(ssim(x, bad, window_size=3)))
    for data_range in (np.inf, None, "1"):
        with pytest.raises((TypeError, ValueError), match=named("data_range")):
            ssim(x, x, window_size=3, data_range=data_range)


def test_field_errors_warn_on_a_zero_reference():
    true = np.zeros((1, 1, 1, 4))
    with pytest.warns(RuntimeWarning, match="zero everywhere"):
        nrmse(true, np.ones_like(true))


def test_spike_metrics_name_the_argument_in_relations():
    rates, spikes = RNG.uniform(0.5, 1.5, (2, 4, 3)), RNG.poisson(1.0, (2, 4, 3)) + 1
    with pytest.raises(ValueError, match=named("rates")):
        co_bps(rates[0, 0, 0], spikes, [0])
    with pytest.raises(ValueError, match="`rates`.*`spikes`"):
        co_bps(rates, np.concatenate([spikes, spikes[..., :1]], -1), [0])
    with pytest.raises(ValueError, match=named("true_psth")):
        psth_r2(rates[:1], rates, np.array([0, 1]))
    x, y = RNG.normal(size=(20, 2)), RNG.normal(size=(20, 1))
    with pytest.raises(ValueError, match=named("n_folds")):
        velocity_r2(x, y, x, y, n_folds=15)
    with pytest.raises(ValueError, match=named("eval_rates")):
        velocity_r2(x, y, x[:, :1], y)
    with pytest.raises(ValueError, match=named("alphas")):
        velocity_r2(x, y, x, y, alphas=np.array([np.nan]))


def test_checks_do_not_run_on_traced_values():
    x = RNG.normal(size=(32, 2))
    value = jax.jit(lambda a: power_spectrum(a, smoothing=1.0))(x)
    assert np.all(np.isfinite(np.asarray(value)))
