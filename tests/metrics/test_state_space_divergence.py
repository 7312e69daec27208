import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dynsys
from dynsys.metrics import state_space_divergence

ALPHA = 1e-5


def _numpy_reference(true, generated, n_bins):
    """D_stsp written directly from the definition with np.histogramdd and int64 counts."""
    true, generated = np.asarray(true), np.asarray(generated)
    sigma = true.std(axis=0, ddof=1)
    lo, hi = true.min(axis=0) - 0.1 * sigma, true.max(axis=0) + 0.1 * sigma
    edges = [np.linspace(lo[d], hi[d], n_bins + 1) for d in range(true.shape[1])]
    h, _ = np.histogramdd(true, bins=edges)
    g, _ = np.histogramdd(generated, bins=edges)
    n_cells = n_bins ** true.shape[1]
    p = (h.ravel() + ALPHA) / (h.sum() + ALPHA * n_cells)
    q = (g.ravel() + ALPHA) / (g.sum() + ALPHA * n_cells)
    return float(np.sum(p * np.log(p / q)))


@pytest.fixture(scope="module")
def lorenz():
    ts = jnp.arange(12_000.0) * 0.01
    x = np.asarray(dynsys.simulate(dynsys.systems.Lorenz63(), None, ts))[2_000:]
    return (x - x.mean(0)) / x.std(0)


def test_identical_trajectories_give_zero(lorenz):
    value = state_space_divergence(lorenz, lorenz)
    assert abs(float(value)) < 1e-6


def test_gaussian_noise_is_far_from_lorenz(lorenz):
    noise = np.random.default_rng(0).normal(size=lorenz.shape)
    assert float(state_space_divergence(lorenz, noise)) > 1.0


def test_hand_computed_one_dimensional_example():
    # true = [0, 1]: bins [lo, 0.5) and [0.5, hi) hold one point each, p = (1/2, 1/2);
    # generated = [0, 0, 5]: 5 lies outside the range, so g = (2, 0) with M = 2.
    value = state_space_divergence(
        np.array([[0.0], [1.0]]), np.array([[0.0], [0.0], [5.0]]), n_bins=2
    )
    z = 2 + 2 * ALPHA
    p = (1 + ALPHA) / z
    q = np.array([(2 + ALPHA) / z, ALPHA / z])
    expected = p * math.log(p / q[0]) + p * math.log(p / q[1])
    np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-12)


@pytest.mark.parametrize("dim, n_bins", [(1, 7), (2, 5), (3, 4)])
def test_matches_numpy_reference(dim, n_bins):
    rng = np.random.default_rng(dim)
    true = rng.normal(size=(300, dim))
    generated = 1.3 * rng.normal(size=(250, dim)) + 0.4  # some points outside the range
    value = state_space_divergence(true, generated, n_bins=n_bins)
    np.testing.assert_allclose(
        np.asarray(value), _numpy_reference(true, generated, n_bins), rtol=1e-10
    )


def test_counts_do_not_overflow_16_bits():
    # 70_000 identical points overflow a UInt16 histogram (the Julia reference's type)
    a, b, c = [0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]
    true = np.array([a] * 70_000 + [b] * 10 + [c])
    generated = np.array([a] * 10 + [b] * 70_000 + [c])
    value = state_space_divergence(true, generated, n_bins=3)
    np.testing.assert_allclose(np.asarray(value), _numpy_reference(true, generated, 3), rtol=1e-12)
    assert float(value) > 5.0


def test_empty_generated_histogram_gives_nan_and_warns():
    true = np.random.default_rng(1).normal(size=(100, 2))
    with pytest.warns(RuntimeWarning, match="no generated point lies inside"):
        value = state_space_divergence(true, true + 100.0)
    assert math.isnan(float(value))


def test_jit_matches_eager_and_is_silent_on_nan():
    rng = np.random.default_rng(2)
    true, generated = rng.normal(size=(500, 3)), rng.normal(size=(400, 3))
    jitted = jax.jit(lambda a, b: state_space_divergence(a, b, n_bins=6))
    np.testing.assert_allclose(
        np.asarray(jitted(true, generated)),
        np.asarray(state_space_divergence(true, generated, n_bins=6)),
        rtol=1e-12,
    )
    assert math.isnan(float(jitted(true, generated + 100.0)))  # no warning under jit


def test_mixed_precision_inputs():
    rng = np.random.default_rng(3)
    true = rng.normal(size=(400, 2))
    generated = rng.normal(size=(400, 2)).astype(np.float32)
    value = state_space_divergence(jnp.asarray(true), jnp.asarray(generated), n_bins=5)
    np.testing.assert_allclose(
        np.asarray(value), _numpy_reference(true, generated.astype(np.float64), 5), rtol=1e-10
    )


def test_gmm_identical_is_zero_and_shift_is_large():
    rng = np.random.default_rng(4)
    true = rng.normal(size=(500, 6))
    key = jax.random.PRNGKey(1)
    same = state_space_divergence(true, true, n_samples=300, key=key)
    np.testing.assert_allclose(np.asarray(same), 0.0, atol=1e-12)
    # mixtures of N(x_t, I) with x_t ~ N(0, I) are ~N(0, 2I): a unit shift per axis gives
    # KL ≈ |δ|²/(2·2) = 1.5
    shifted = state_space_divergence(true, true + 1.0, n_samples=300, key=key)
    assert 1.0 < float(shifted) < 2.0


def test_gmm_key_controls_the_samples():
    rng = np.random.default_rng(5)
    true, generated = rng.normal(size=(500, 6)), 1.2 * rng.normal(size=(500, 6))
    kw = dict(method="gmm", n_samples=300)
    first = state_space_divergence(true, generated, key=jax.random.PRNGKey(0), **kw)
    default = state_space_divergence(true, generated, **kw)
    other = state_space_divergence(true, generated, key=jax.random.PRNGKey(7), **kw)
    np.testing.assert_allclose(np.asarray(default), np.asarray(first), rtol=0)
    assert float(first) != float(other)


def test_gmm_far_away_generated_gives_nan_and_warns():
    true = np.random.default_rng(6).normal(size=(500, 6))
    with pytest.warns(RuntimeWarning, match="every Monte-Carlo sample was dropped"):
        value = state_space_divergence(true, true + 1e3, n_samples=300)
    assert math.isnan(float(value))


@pytest.mark.parametrize(
    "kwargs, name, error",
    [
        (dict(true=np.zeros(10)), "`true`", ValueError),
        (dict(generated=np.zeros((10, 3))), "`generated`", ValueError),
        (dict(generated=np.zeros((0, 2))), "`generated`", ValueError),
        (dict(generated=np.full((10, 2), np.nan)), "`generated`", ValueError),
        (dict(n_bins=0), "`n_bins`", ValueError),
        (dict(n_bins=2.5), "`n_bins`", TypeError),
        (dict(method="kde"), "`method`", ValueError),
        (dict(method="gmm", sigma2=0.0), "`sigma2`", ValueError),
        (dict(method="gmm", n_samples=0), "`n_samples`", ValueError),
        (dict(true=np.ones((10, 2))), "`true`", ValueError),
        (dict(n_bins=10_000), "`n_bins`", ValueError),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, name, error):
    rng = np.random.default_rng(7)
    args = dict(true=rng.normal(size=(10, 2)), generated=rng.normal(size=(10, 2)))
    args.update(kwargs)
    with pytest.raises(error, match=name):
        state_space_divergence(args.pop("true"), args.pop("generated"), **args)
