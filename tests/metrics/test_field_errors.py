import jax
import numpy as np
import pytest

from dynsys.metrics import nrmse, relative_l2_error


def _fields(shape, seed=0):
    rng = np.random.default_rng(seed)
    true = rng.normal(size=shape)
    return true, true + 0.1 * rng.normal(size=shape)


@pytest.mark.parametrize("shape", [(2, 3, 1, 16), (2, 4, 2, 8, 6), (1, 2, 3, 4, 4, 4)])
def test_relative_l2_matches_numpy(shape):
    true, pred = _fields(shape)
    axes = tuple(range(3, len(shape)))
    expected = np.sqrt(((pred - true) ** 2).sum(axes)) / np.sqrt((true**2).sum(axes))
    ours = relative_l2_error(true, pred)
    assert ours.shape == shape[:3]
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-12)


def test_nrmse_sums_relative_errors_over_channels():
    true, _ = _fields((2, 3, 3, 10, 10))
    # a 10 % scaling error in every channel: each channel contributes 0.1
    np.testing.assert_allclose(np.asarray(nrmse(true, 1.1 * true)), 0.3, rtol=1e-12)
    true, pred = _fields((2, 3, 3, 10, 10), seed=1)
    np.testing.assert_allclose(
        np.asarray(nrmse(true, pred)),
        np.asarray(relative_l2_error(true, pred)).sum(-1),
        rtol=1e-12,
    )


def test_exponax_definition_with_domain_factor():
    # Σ_c √(Σ (L/N)^D |u − u_ref|²) / √(Σ (L/N)^D |u_ref|²) for one state, L = 2π, D = 2
    true, pred = _fields((1, 1, 2, 12, 12), seed=2)
    scale = (2 * np.pi / 12) ** 2
    u, ref = pred[0, 0], true[0, 0]
    expected = sum(
        np.sqrt(scale * ((u[c] - ref[c]) ** 2).sum()) / np.sqrt(scale * (ref[c] ** 2).sum())
        for c in range(2)
    )
    np.testing.assert_allclose(np.asarray(nrmse(true, pred))[0, 0], expected, rtol=1e-12)


def test_diverged_prediction_shows_from_its_step_on():
    true, pred = _fields((1, 4, 1, 8))
    pred[0, 2:] = np.nan
    with pytest.warns(RuntimeWarning, match="`pred` holds NaN"):
        errors = np.asarray(relative_l2_error(true, pred))[0, :, 0]
    assert np.all(np.isfinite(errors[:2])) and np.all(np.isnan(errors[2:]))


def test_jit_able():
    true, pred = _fields((2, 3, 2, 8))
    np.testing.assert_allclose(
        np.asarray(jax.jit(nrmse)(true, pred)), np.asarray(nrmse(true, pred)), rtol=1e-12
    )


@pytest.mark.parametrize(
    "true_shape, pred_shape, name",
    [((2, 3, 8), (2, 3, 8), "`true`"), ((2, 3, 1, 8), (2, 3, 1, 9), "`pred`")],
)
def test_bad_shapes_name_the_argument(true_shape, pred_shape, name):
    with pytest.raises(ValueError, match=name):
        relative_l2_error(np.ones(true_shape), np.ones(pred_shape))
    with pytest.raises(ValueError, match=name):
        nrmse(np.ones(true_shape), np.ones(pred_shape))


def test_non_finite_reference_is_rejected():
    true, pred = _fields((1, 2, 1, 8))
    true[0, 0, 0, 3] = np.inf
    with pytest.raises(ValueError, match="`true`"):
        nrmse(true, pred)
