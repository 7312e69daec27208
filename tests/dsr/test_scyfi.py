import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.dsr import PLRNN, ShallowPLRNN, find_cycles, fixed_points, symbolic_code

KEY = jax.random.key(0)


def _lozi_parameters(model):
    """(a, b) of the Lozi AL-RNN of conftest: A = (0, a, a), W[0, 1] = b."""
    return float(model.A[1]), float(model.W[0, 1])


def _iterate(model, z, n):
    for _ in range(n):
        z = model.step(z)
    return z


def _check_cycles(model, cycles, k):
    """Every real cycle closes after k steps, not earlier, and its codes are its regions."""
    assert cycles.period == k
    for pts, codes in zip(np.asarray(cycles.points), cycles.codes):
        scale = 1 + np.abs(pts).max()
        after_k = np.asarray(_iterate(model, jnp.asarray(pts[0]), k))
        np.testing.assert_allclose(after_k, pts[0], rtol=0, atol=1e-10 * scale)
        images = np.asarray(jax.vmap(model.step)(jnp.asarray(pts)))
        np.testing.assert_allclose(images, np.roll(pts, -1, axis=0), rtol=0, atol=1e-10 * scale)
        for d in range(1, k):
            if k % d == 0:
                assert np.abs(pts[d] - pts[0]).max() > 1e-6
        np.testing.assert_array_equal(symbolic_code(model, pts), codes)
        # reported from the rotation whose code sequence is smallest
        assert codes.tolist() == min(np.roll(codes, -r).tolist() for r in range(k))
    np.testing.assert_array_less(np.asarray(cycles.residual), 1e-10)
    assert len(_cycle_sets(cycles)) == len(cycles)  # none listed twice (from two points)


def _cycle_sets(cycles, columns=slice(None)):
    return {
        frozenset(map(tuple, np.round(np.asarray(p)[:, columns], 8))) for p in cycles.real().points
    }


def _lozi_cycles_by_enumeration(k, a, b):
    """Independent count: every sign sequence of the Lozi map itself, solved with NumPy."""
    pieces = {s: (np.array([[a - 2 * a * s, 1.0], [b, 0.0]]), np.array([1.0, 0.0])) for s in (0, 1)}
    found = set()
    for signs in itertools.product((0, 1), repeat=k):
        p, q = np.eye(2), np.zeros(2)
        for s in signs:
            p, q = pieces[s][0] @ p, pieces[s][0] @ q + pieces[s][1]
        pts = [np.linalg.solve(np.eye(2) - p, q)]
        for s in signs[:-1]:
            pts.append(pieces[s][0] @ pts[-1] + pieces[s][1])
        if any((pt[0] > 0) != bool(s) for pt, s in zip(pts, signs)):
            continue  # virtual
        if any(k % d == 0 and np.allclose(pts[d], pts[0]) for d in range(1, k)):
            continue  # lower order
        found.add(frozenset(tuple(np.round(pt, 8)) for pt in pts))
    return found


def test_hand_built_two_cycle(hand_model):
    cycles = find_cycles(hand_model, 2)  # exhaustive: one aperiodic region necklace (0, 1)
    assert len(cycles) == 1 and bool(cycles.is_real[0])
    np.testing.assert_allclose(
        np.asarray(cycles.points[0]), [[28 / 27, -5 / 9], [14 / 27, 7 / 9]], rtol=1e-14
    )
    np.testing.assert_array_equal(cycles.codes, [[0, 1]])
    # Floquet matrix J1 J0 = [[0.25, 0.4], [0, -0.8]]
    eig = np.sort(np.real_if_close(np.asarray(cycles.eigenvalues[0])))
    np.testing.assert_allclose(eig, [-0.8, 0.25], rtol=1e-14)
    assert bool(cycles.is_stable[0])
    _check_cycles(hand_model, cycles, 2)
    # the SCYFI search (forced) finds the same cycle
    searched = find_cycles(hand_model, 2, key=jax.random.key(1), max_exhaustive=0)
    assert len(searched) == 1
    np.testing.assert_allclose(np.asarray(searched.points), np.asarray(cycles.points), rtol=1e-14)


def test_hand_built_fixed_points_and_virtual_cycles(hand_model):
    ones = find_cycles(hand_model, 1)
    np.testing.assert_allclose(np.asarray(ones.points), [[[2 / 3, 1 / 3]]], rtol=1e-14)
    with_virtual = find_cycles(hand_model, 1, include_virtual=True)
    np.testing.assert_array_equal(np.asarray(with_virtual.is_real), [True, False])
    np.testing.assert_allclose(np.asarray(with_virtual.points[1, 0]), [0, 5 / 3], atol=1e-14)
    # z2 alone is a 1-D PL map whose 3-region necklaces 001 and 011 are both virtual
    assert len(find_cycles(hand_model, 3)) == 0
    virtual = find_cycles(hand_model, 3, include_virtual=True)
    assert len(virtual) == 2 and not np.any(np.asarray(virtual.is_real))
    np.testing.assert_array_equal(virtual.codes, [[0, 0, 1], [0, 1, 1]])


def test_lozi_cycles_match_independent_enumeration(lozi_model):
    counts = {}
    for k in (1, 4, 6):
        cycles = find_cycles(lozi_model, k)
        _check_cycles(lozi_model, cycles, k)
        # Lozi coordinates: x = unit 2, y = unit 0
        assert _cycle_sets(cycles, [2, 0]) == _lozi_cycles_by_enumeration(
            k, *_lozi_parameters(lozi_model)
        )
        counts[k] = len(cycles)
    assert counts == {1: 2, 4: 1, 6: 4}
    fps = fixed_points(lozi_model)
    np.testing.assert_allclose(
        np.sort(np.asarray(find_cycles(lozi_model, 1).points[:, 0, 2])),
        np.sort(np.asarray(fps.points[:, 2])),
        rtol=1e-13,
    )
    # the SCYFI search reports true cycles only, all among the exhaustive ones
    searched = find_cycles(lozi_model, 6, key=jax.random.key(2), max_exhaustive=0, n_chains=16)
    _check_cycles(lozi_model, searched, 6)
    assert 1 <= len(searched) and _cycle_sets(searched) <= _cycle_sets(find_cycles(lozi_model, 6))


def test_plrnn_and_shallow_plrnn_cycles():
    rng = np.random.default_rng(5)
    params = (rng.uniform(-0.5, 0.5, 5), 1.5 * rng.standard_normal((5, 5)), rng.standard_normal(5))
    plrnn = eqx.tree_at(
        lambda m: (m.A, m.W, m.h), PLRNN(5, 3, key=KEY), tuple(map(jnp.asarray, params))
    )
    exhaustive = find_cycles(plrnn, 2)  # 32² region sequences
    assert len(exhaustive) == 1
    _check_cycles(plrnn, exhaustive, 2)
    searched = find_cycles(plrnn, 2, key=jax.random.key(4), max_exhaustive=0)
    _check_cycles(plrnn, searched, 2)
    assert _cycle_sets(searched) <= _cycle_sets(exhaustive)

    sh = ShallowPLRNN(4, 7, 3, key=KEY)
    searched = find_cycles(sh, 1, key=jax.random.key(5), max_exhaustive=0)
    _check_cycles(sh, searched, 1)
    assert 1 <= len(searched) and _cycle_sets(searched) <= _cycle_sets(find_cycles(sh, 1))


def test_find_cycles_validation(hand_model):
    with pytest.raises(ValueError, match="key"):
        find_cycles(hand_model, 2, max_exhaustive=0)
    with pytest.raises(ValueError, match="k"):
        find_cycles(hand_model, 0)
    with pytest.raises(TypeError, match="model"):
        find_cycles("model", 1)
