import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

import dynsys
from dynsys.metrics import power_spectrum, power_spectrum_distance


def _numpy_spectrum(x, smoothing):
    z = (x - x.mean(0)) / x.std(0)
    ps = np.abs(np.fft.rfft(z, axis=0)) ** 2
    if smoothing > 0:
        ps = gaussian_filter1d(ps, smoothing, axis=0, mode="reflect", truncate=4.0)
    ps = np.maximum(ps, 0.0)
    return ps / ps.sum(0)


@pytest.fixture(scope="module")
def lorenz():
    ts = jnp.arange(12_000.0) * 0.01
    return np.asarray(dynsys.simulate(dynsys.systems.Lorenz63(), None, ts))[2_000:]


@pytest.mark.parametrize(
    "length, smoothing",
    [(2_000, 20.0), (60, 20.0), (9, 3.3), (301, 0.7), (40, 0.0)],
)
def test_spectrum_matches_scipy_gaussian_filter(length, smoothing):
    # short series exercise reflections longer than the spectrum itself
    x = np.random.default_rng(length).normal(size=(length, 2))
    ours = np.asarray(power_spectrum(x, smoothing=smoothing))
    assert ours.shape == (length // 2 + 1, 2)
    np.testing.assert_allclose(ours, _numpy_spectrum(x, smoothing), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(ours.sum(0), 1.0, rtol=1e-12)


def test_unsmoothed_sine_has_all_power_in_one_bin():
    t = np.arange(512.0)
    x = np.sin(2 * np.pi * 37 * t / 512)[:, None]
    ps = np.asarray(power_spectrum(x, smoothing=0.0))
    np.testing.assert_allclose(ps[37, 0], 1.0, rtol=1e-10)


def test_distance_matches_numpy_hellinger():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(1_000, 3)), axis=0)
    y = rng.normal(size=(1_000, 3))
    p, q = _numpy_spectrum(x, 20.0), _numpy_spectrum(y, 20.0)
    expected = np.mean(np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2, axis=0)))
    np.testing.assert_allclose(np.asarray(power_spectrum_distance(x, y)), expected, rtol=1e-10)


def test_identical_series_give_zero(lorenz):
    np.testing.assert_allclose(np.asarray(power_spectrum_distance(lorenz, lorenz)), 0.0, atol=1e-12)


def test_time_shift_barely_changes_the_distance(lorenz):
    shift = 137
    value = power_spectrum_distance(lorenz[shift:], lorenz[:-shift])
    assert float(value) < 0.02


def test_white_noise_is_far_from_lorenz(lorenz):
    noise = np.random.default_rng(1).normal(size=lorenz.shape)
    assert float(power_spectrum_distance(lorenz, noise)) > 0.5


def test_distance_is_jit_able():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(256, 2)), np.cumsum(rng.normal(size=(256, 2)), axis=0)
    jitted = jax.jit(lambda a, b: power_spectrum_distance(a, b, smoothing=5.0))
    np.testing.assert_allclose(
        np.asarray(jitted(x, y)),
        np.asarray(power_spectrum_distance(x, y, smoothing=5.0)),
        rtol=1e-12,
    )


def test_constant_dimension_gives_nan_and_warns():
    x = np.random.default_rng(3).normal(size=(100, 2))
    y = x.copy()
    y[:, 1] = 0.5
    with pytest.warns(RuntimeWarning, match="constant"):
        value = power_spectrum_distance(x, y)
    assert math.isnan(float(value))


@pytest.mark.parametrize(
    "kwargs, name, error",
    [
        (dict(generated=np.zeros((99, 2))), "`generated`", ValueError),
        (dict(generated=np.zeros((100, 3))), "`generated`", ValueError),
        (dict(true=np.zeros(100)), "`true`", ValueError),
        (dict(true=np.full((100, 2), np.inf)), "`true`", ValueError),
        (dict(smoothing=-1.0), "`smoothing`", ValueError),
        (dict(smoothing=jnp.asarray(2.0)), "`smoothing`", TypeError),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, name, error):
    rng = np.random.default_rng(4)
    args = dict(true=rng.normal(size=(100, 2)), generated=rng.normal(size=(100, 2)))
    args.update(kwargs)
    with pytest.raises(error, match=name):
        power_spectrum_distance(args.pop("true"), args.pop("generated"), **args)


def test_spectrum_rejects_a_single_sample():
    with pytest.raises(ValueError, match="`x`"):
        power_spectrum(np.zeros((1, 2)))
