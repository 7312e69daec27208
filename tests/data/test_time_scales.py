"""`autocorrelation_time`: the e-folding lag of the mean autocorrelation, on known answers."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal

from dynsys.data import Trajectories, autocorrelation_time


def test_cosine_crosses_one_over_e_where_the_cosine_does():
    # rho(k) = cos(2 pi k / P) (n - k) / n for a long cosine: below 1/e at k = P acos(1/e) / 2pi
    period, n = 200, 200_000
    x = np.cos(2 * np.pi * np.arange(n) / period)[:, None]
    expected = math.ceil(period * math.acos(1 / math.e) / (2 * math.pi))  # 38.2 -> 39
    assert autocorrelation_time(x) == expected


def test_ar1_process_has_its_e_folding_time():
    # rho(k) = phi^k, below 1/e first at k = ceil(-1 / ln phi) = 10 for phi = 0.9
    rng = np.random.default_rng(0)
    phi, n = 0.9, 400_000
    x = scipy.signal.lfilter([1.0], [1.0, -phi], rng.normal(size=(n, 2)), axis=0)
    assert autocorrelation_time(x) == math.ceil(-1 / math.log(phi))


def test_mean_over_columns_and_trajectories():
    t = np.arange(20_000)
    fast = np.cos(2 * np.pi * t / 40)
    slow = np.cos(2 * np.pi * t / 400)
    both = np.stack([fast, slow], axis=1)
    lag = autocorrelation_time(both)
    assert autocorrelation_time(fast[:, None]) < lag < autocorrelation_time(slow[:, None])
    batch = np.stack([fast[:, None], slow[:, None]])  # the same mean, as a batch
    assert autocorrelation_time(batch) == lag
    traj = Trajectories.from_arrays(jnp.asarray(batch), dt=0.1)
    assert autocorrelation_time(traj) == lag
    assert autocorrelation_time(3.0 * both + 7.0) == lag  # scale and offset do not matter


def test_slow_series_gives_none():
    x = np.linspace(0.0, 1.0, 500)[:, None] ** 2  # a trend: correlated at every lag
    assert autocorrelation_time(x, max_lag=100) is None


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        (np.ones((100, 2)), {}, "constant column"),
        (np.full((100, 1), np.nan), {}, "`data` contains 100 NaN"),
        (np.zeros(100), {}, r"`data` must be \(time, dim\)"),
        (np.random.default_rng(0).normal(size=(100, 1)), {"threshold": 1.5}, "`threshold`"),
        (np.random.default_rng(0).normal(size=(100, 1)), {"max_lag": 0}, "`max_lag` must be >= 1"),
    ],
)
def test_bad_input(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        autocorrelation_time(data, **kwargs)
