import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.dsr import PLRNN, ShallowPLRNN, fixed_points, symbolic_code

KEY = jax.random.key(0)


def _lozi_parameters(model):
    """(a, b) of the Lozi AL-RNN of conftest: A = (0, a, a), W[0, 1] = b."""
    return float(model.A[1]), float(model.W[0, 1])


def _sorted_eigs(eigenvalues):
    return [np.sort(np.real_if_close(np.asarray(e))) for e in eigenvalues]


def test_hand_built_alrnn_fixed_points(hand_model):
    fps = fixed_points(hand_model)
    assert len(fps) == 2
    np.testing.assert_array_equal(fps.codes, [0, 1])
    # region 0 (z2 <= 0): z* = (0, 5/3) lies in region 1 -> virtual; J = diag(0.5, 0.4)
    # region 1 (z2 > 0): z* = (2/3, 1/3) -> real; J = [[0.5, 1], [0, -2]]
    np.testing.assert_allclose(
        np.asarray(fps.points), [[0.0, 5 / 3], [2 / 3, 1 / 3]], rtol=1e-14, atol=1e-15
    )
    np.testing.assert_array_equal(np.asarray(fps.is_real), [False, True])
    eig = _sorted_eigs(fps.eigenvalues)
    np.testing.assert_allclose(eig[0], [0.4, 0.5], rtol=1e-14)
    np.testing.assert_allclose(eig[1], [-2.0, 0.5], rtol=1e-14)
    np.testing.assert_array_equal(np.asarray(fps.is_stable), [True, False])
    np.testing.assert_allclose(np.asarray(fps.spectral_radius), [0.5, 2.0], rtol=1e-14)
    real = fps.real()
    assert len(real) == 1 and real.codes.tolist() == [1]
    # only the regions given are examined; boolean patterns work as well as codes
    only = fixed_points(hand_model, np.array([[True]]))
    np.testing.assert_allclose(np.asarray(only.points), [[2 / 3, 1 / 3]], rtol=1e-14)
    np.testing.assert_array_equal(fixed_points(hand_model, [1, 1]).codes, [1])


def test_lozi_alrnn_fixed_points(lozi_model):
    a, b = _lozi_parameters(lozi_model)
    fps = fixed_points(lozi_model)
    # x* = 1/(1 − a − b) < 0 in region 0, x* = 1/(1 + a − b) > 0 in region 1; both real
    x = np.array([1 / (1 - a - b), 1 / (1 + a - b)])
    np.testing.assert_allclose(np.asarray(fps.points), np.stack([b * x, x, x], axis=1), rtol=1e-13)
    np.testing.assert_array_equal(np.asarray(fps.is_real), [True, True])
    np.testing.assert_array_equal(symbolic_code(lozi_model, fps.points), fps.codes)
    # Lozi Jacobian [[±a, 1], [b, 0]] (+ the transverse multiplier a of u − x)
    for eig, slope in zip(_sorted_eigs(fps.eigenvalues), [a, -a]):
        lozi = np.linalg.eigvals(np.array([[slope, 1.0], [b, 0.0]]))
        np.testing.assert_allclose(eig, np.sort(np.append(lozi, a)), rtol=1e-12)
    assert not np.any(np.asarray(fps.is_stable))


def test_plrnn_and_shallow_plrnn_fixed_points():
    plrnn = PLRNN(5, 3, key=KEY)
    fps = fixed_points(plrnn)
    assert len(fps) == 32
    real = fps.real()
    assert len(real) >= 1
    for z in real.points:
        np.testing.assert_allclose(np.asarray(plrnn.step(z)), np.asarray(z), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(
        np.asarray(fps.is_real), symbolic_code(plrnn, fps.points) == fps.codes
    )

    sh = ShallowPLRNN(4, 7, 3, key=KEY, clipped=True)  # 14 pattern bits
    with pytest.raises(ValueError, match="regions"):
        fixed_points(sh)
    zs = sh.generate_latent(jnp.asarray(np.random.default_rng(1).standard_normal(4)), 200)
    visited = np.unique(np.asarray(sh.activation_pattern(zs)), axis=0)
    fps = fixed_points(sh, visited)
    assert len(fps) == visited.shape[0]
    for z in fps.real().points:
        np.testing.assert_allclose(np.asarray(sh.step(z)), np.asarray(z), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="n_bits"):
        fixed_points(sh, visited[:, :3])
    with pytest.raises(TypeError, match="regions"):
        fixed_points(sh, jnp.ones(3))
