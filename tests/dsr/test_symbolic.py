import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.dsr import (
    ALRNN,
    PLRNN,
    codes_to_patterns,
    coverage_curve,
    n_subregions_used,
    patterns_to_codes,
    subregion_counts,
    symbolic_code,
    transition_matrix,
)

KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def alrnn():
    return ALRNN(6, 2, 3, key=KEY)  # units 4 and 5 (0-based) are the ReLU units


def _hand_trajectory():
    """Six states whose ReLU units (4, 5) have signs giving codes 0, 1, 1, 3, 0, 2."""
    z = np.zeros((6, 6))
    z[:, :4] = np.arange(24.0).reshape(6, 4) - 12.0  # linear units: irrelevant to the code
    z[:, 4] = [-1.0, 0.5, 2.0, 0.1, 0.0, -4.0]  # bit 0 (unit M−P); 0 counts as "off"
    z[:, 5] = [-1.0, -0.5, -2.0, 3.0, -1.0, 0.2]  # bit 1 (unit M−P+1)
    return jnp.asarray(z)


def test_symbolic_code_bit_order(alrnn):
    codes = symbolic_code(alrnn, _hand_trajectory())
    np.testing.assert_array_equal(codes, [0, 1, 1, 3, 0, 2])
    assert codes.dtype == np.int64
    plrnn = PLRNN(5, 3, key=KEY)  # every unit is a ReLU unit: bit i = unit i
    assert int(symbolic_code(plrnn, jnp.array([1.0, -1.0, 2.0, 0.0, -3.0]))) == 1 + 4
    with pytest.raises(ValueError, match="z_traj"):
        symbolic_code(alrnn, jnp.ones((3, 5)))


def test_transition_matrix_by_hand():
    codes = [0, 1, 1, 3, 0, 2]
    t = transition_matrix(codes, n_regions=4)
    expected = np.zeros((4, 4), dtype=np.int64)
    for i, j in [(0, 1), (1, 1), (1, 3), (3, 0), (0, 2)]:
        expected[i, j] += 1
    np.testing.assert_array_equal(t.counts, expected)
    np.testing.assert_allclose(
        t.probabilities,
        [[0, 0.5, 0.5, 0], [0, 0.5, 0, 0.5], [0, 0, 0, 0], [1, 0, 0, 0]],
        rtol=0,
        atol=0,
    )
    # default size max+1; independent sequences never link across their boundary
    both = transition_matrix(np.array([codes, codes[::-1]]))
    assert both.counts.shape == (4, 4) and both.counts.sum() == 10
    np.testing.assert_array_equal(both.counts, expected + expected.T)
    with pytest.raises(ValueError, match="n_regions"):
        transition_matrix(codes, n_regions=3)
    with pytest.raises(TypeError, match="codes"):
        transition_matrix([0.5, 1.0])


def test_counts_coverage_and_number_used(alrnn):
    codes = symbolic_code(alrnn, _hand_trajectory())
    counts = subregion_counts(codes)
    np.testing.assert_array_equal(counts.regions, [0, 1, 2, 3])  # ties broken by code
    np.testing.assert_array_equal(counts.counts, [2, 2, 1, 1])
    np.testing.assert_allclose(coverage_curve(codes), [2 / 6, 4 / 6, 5 / 6, 1.0], rtol=1e-15)
    assert n_subregions_used(codes) == 4
    skewed = subregion_counts([5, 5, 5, 2, 7, 7])
    np.testing.assert_array_equal(skewed.regions, [5, 7, 2])
    np.testing.assert_allclose(coverage_curve([5, 5, 5, 2, 7, 7]), [0.5, 5 / 6, 1.0])


def test_codes_and_patterns_round_trip():
    codes = np.array([0, 1, 2, 5, 2**40 + 3])
    patterns = codes_to_patterns(codes, 41)
    assert patterns.shape == (5, 41)
    np.testing.assert_array_equal(patterns[3, :4], [True, False, True, False])
    np.testing.assert_array_equal(patterns_to_codes(patterns), codes)
    with pytest.raises(ValueError, match="62"):
        patterns_to_codes(np.zeros((2, 63), dtype=bool))
    with pytest.raises(ValueError, match="codes"):
        codes_to_patterns([4], 2)


def test_codes_of_a_generated_trajectory_follow_the_model(alrnn):
    zs = alrnn.generate_latent(jnp.asarray(np.random.default_rng(1).standard_normal(6)), 50)
    codes = symbolic_code(alrnn, zs)
    np.testing.assert_array_equal(codes, patterns_to_codes(np.asarray(zs[:, 4:] > 0)))
    t = transition_matrix(codes, n_regions=4)
    assert t.counts.sum() == 49
    rows = t.counts.sum(axis=1) > 0
    np.testing.assert_allclose(t.probabilities[rows].sum(axis=1), 1.0, rtol=1e-15)
