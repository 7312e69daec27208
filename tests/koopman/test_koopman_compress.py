"""DMD's SVD routes: the automatic choice takes the Gram route where accurate, QR elsewhere."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.koopman import DMD, HAVOK, HankelDMD, select_rank
from dynsys.koopman._compress import gram_margin
from dynsys.koopman._dmd import _route
from dynsys.koopman._rank import rank_interval

DT = 0.1


def tall_modes(dim=60, n_time=40, noise=0.0, weights=(1.0, 1.0, 1.0), seed=0):
    """3 damped oscillating modes (real data, rank 6), taller than wide: dim > time."""
    rng = np.random.default_rng(seed)
    w = np.array([1.0, 2.5, 4.0])
    g = np.array([-0.1, -0.05, -0.2])
    lam = np.concatenate([g + 1j * w, g - 1j * w])
    phi = (rng.normal(size=(dim, 3)) + 1j * rng.normal(size=(dim, 3))) * np.asarray(weights)
    phi = np.concatenate([phi, phi.conj()], 1)
    t = np.arange(n_time) * DT
    ys = np.real(np.exp(t[:, None] * lam[None]) @ phi.T)
    return ys + noise * rng.normal(size=ys.shape), np.exp(lam * DT)


def graded(smallest, dim=60, n_time=40, noise=0.0, seed=0):
    """8 real modes λ in [0.6, 0.98] with amplitudes graded from 1 down to `smallest`."""
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.6, 0.98, 8)
    phi, _ = np.linalg.qr(rng.normal(size=(dim, 8)))
    c = np.logspace(0, np.log10(smallest), 8)
    ys = ((phi * c) @ (lam[:, None] ** np.arange(n_time)[None])).T
    return ys + noise * rng.normal(size=ys.shape), lam


def numpy_dmd(ys, r):
    """Reference DMD eigenvalues from numpy alone: SVD of X, Ã = Uᴴ Y V Σ⁻¹, eig."""
    x, y = ys[:-1].T, ys[1:].T
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return np.linalg.eigvals(u[:, :r].conj().T @ y @ vh[:r].conj().T / s[:r])


def max_diff(a, b):
    """Largest distance from an eigenvalue in `a` to its nearest partner in `b`."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    return max(float(np.min(np.abs(b - z))) for z in a)


def test_auto_is_the_default_everywhere():
    assert DMD().svd == "auto"
    assert HankelDMD().svd == "auto"
    assert HAVOK().svd == "auto"
    for cls in (DMD, HankelDMD, HAVOK):
        with pytest.raises(ValueError, match="svd"):
            cls(svd="cholesky")


def test_auto_takes_the_gram_route_where_it_is_accurate():
    ys, lam = tall_modes(noise=1e-9)
    s = np.linalg.svd(ys[:-1].T, compute_uv=False)
    assert s[5] / s[0] > 0.5  # rank 6: well inside the Gram route's range (>= 0.011)
    assert _route(DMD(rank=6), ys) == "gram"
    auto = DMD(rank=6).fit(ys, dt=DT)
    gram = DMD(rank=6, svd="gram").fit(ys, dt=DT)
    qr = DMD(rank=6, svd="qr").fit(ys, dt=DT)
    # The fit is the Gram route's, bit for bit ...
    np.testing.assert_array_equal(
        np.asarray(auto.singular_values), np.asarray(gram.singular_values)
    )
    np.testing.assert_array_equal(np.asarray(auto.eigenvalues), np.asarray(gram.eigenvalues))
    # ... which differs measurably from QR's below √ε·σ₁ (the 1e-9 noise directions) ...
    tail = slice(6, None)
    np.testing.assert_allclose(np.asarray(qr.singular_values)[tail], s[tail], rtol=1e-3)
    assert np.max(np.abs(np.asarray(gram.singular_values)[tail] - s[tail]) / s[tail]) > 0.5
    # ... but not at the requested rank.
    assert max_diff(auto.eigenvalues, qr.eigenvalues) < 1e-10
    assert max_diff(auto.eigenvalues, numpy_dmd(ys, 6)) < 1e-10
    assert max_diff(auto.eigenvalues, lam) < 1e-8


@pytest.mark.parametrize("smallest", [1e-5, 1e-12])
def test_auto_falls_back_to_qr_when_the_truncation_is_ill_conditioned(smallest):
    ys, lam = graded(smallest)
    s = np.linalg.svd(ys[:-1].T, compute_uv=False)
    assert s[7] / s[0] < 1e-7  # far below the Gram route's range; below √ε for 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 1e-12 case warns about its condition number
        gram = DMD(rank=8, svd="gram").fit(ys, dt=DT)
        qr = DMD(rank=8, svd="qr").fit(ys, dt=DT)
        auto = DMD(rank=8).fit(ys, dt=DT)
        assert _route(DMD(rank=8), ys) == "qr"
    reference = numpy_dmd(ys, 8)
    err_numpy = max_diff(reference, lam)
    assert max_diff(gram.eigenvalues, lam) > 1e-4  # the Gram route alone is wrong
    np.testing.assert_array_equal(np.asarray(auto.eigenvalues), np.asarray(qr.eigenvalues))
    err_auto = max_diff(auto.eigenvalues, lam)
    if smallest == 1e-5:
        assert err_auto < 1e-10
        assert max_diff(auto.eigenvalues, reference) < 1e-10
    else:
        # σ₈/σ₁ ≈ 4e-14: nothing is accurate to 1e-10 here (numpy's own SVD-DMD is off by
        # about 3e-5); the fallback is as good as numpy's, the Gram route is not.
        assert err_auto < 10 * err_numpy
        assert max_diff(gram.eigenvalues, lam) > 1e3 * err_numpy


@pytest.mark.parametrize(
    ("rule", "route"),
    [(6, "gram"), (0.99, "gram"), (0, "gram"), (0.99999999, "qr"), (-1, "qr")],
)
def test_auto_matches_numpy_for_every_rank_rule(rule, route):
    ys, _ = tall_modes(noise=1e-3)
    s = np.linalg.svd(ys[:-1].T, compute_uv=False)
    r = select_rank(s, (ys.shape[1], ys.shape[0] - 1), rule)
    assert _route(DMD(rank=rule), ys) == route
    res = DMD(rank=rule).fit(ys, dt=DT)
    assert res.rank == r
    assert max_diff(res.eigenvalues, numpy_dmd(ys, r)) < 1e-10
    qr = DMD(rank=rule, svd="qr").fit(ys, dt=DT)
    assert max_diff(res.eigenvalues, qr.eigenvalues) < 1e-10


def test_margin_is_judged_against_the_last_snapshots_too():
    # A mode growing 8× per step makes the last snapshot 8× larger than any column of X:
    # the Gram matrix of Z = [X, x_m] carries rounding errors of ε·σ₁(Z)², 64× those of
    # X's own σ₁², so σ_r(X)/σ₁(X) = 0.02, inside the margin, is not enough.
    rng = np.random.default_rng(0)
    n_time, grow = 8, 8.0
    w = np.array([0.5, 1.5, 2.6])
    lam = np.concatenate([[grow], 0.9 * np.exp(1j * w), 0.9 * np.exp(-1j * w)])
    phi = rng.normal(size=(60, 4)) + 1j * rng.normal(size=(60, 4))
    phi[:, 0] = phi[:, 0].real
    phi = np.concatenate([phi, phi[:, 1:].conj()], 1)
    c = np.array([grow ** (2 - n_time)] + [0.01] * 6)
    ys = np.real(((phi * c) @ (lam[:, None] ** np.arange(n_time)[None])).T)
    s_x = np.linalg.svd(ys[:-1].T, compute_uv=False)
    s_z = np.linalg.svd(ys.T, compute_uv=False)
    assert 1.5 * gram_margin(np.float64) < s_x[6] / s_x[0] < 0.03
    assert s_z[0] / s_x[0] > 7.5
    assert _route(DMD(rank=7), ys) == "qr"
    auto = DMD(rank=7).fit(ys, dt=DT)
    qr = DMD(rank=7, svd="qr").fit(ys, dt=DT)
    np.testing.assert_array_equal(np.asarray(auto.eigenvalues), np.asarray(qr.eigenvalues))
    assert max_diff(auto.eigenvalues, lam) < 1e-12
    assert max_diff(auto.eigenvalues, numpy_dmd(ys, 7)) < 1e-12
    # Under jit the same bound decides, in a lax.cond.
    jitted = jax.jit(lambda y: DMD(rank=7).fit(y, dt=DT).eigenvalues)(jnp.asarray(ys))
    assert max_diff(jitted, lam) < 1e-12


def test_hard_threshold_on_round_off_singular_values_falls_back():
    # Noise-free rank-6 data: the optimal hard threshold is set by round-off singular
    # values, which the Gram route does not resolve; the rank it would pick is uncertain.
    ys, _ = tall_modes()
    assert _route(DMD(rank=0), ys) == "qr"
    assert _route(DMD(rank=6), ys) == "gram"


def test_float32_uses_its_own_margin():
    # σ₆/σ₁ ≈ 0.05: inside the float64 range (>= 0.011), outside float32's (>= 0.14).
    ys, lam = tall_modes(weights=(1.0, 1.0, 0.1))
    np.testing.assert_allclose(gram_margin(jnp.float64), 2.0**-6.5, rtol=1e-12)
    assert _route(DMD(rank=6), ys) == "gram"
    assert _route(DMD(rank=6), ys.astype(np.float32)) == "qr"
    res = DMD(rank=6).fit(ys.astype(np.float32), dt=DT)
    assert res.eigenvalues.dtype == jnp.complex64
    assert max_diff(res.eigenvalues, lam) < 1e-4
    well, lam_well = tall_modes(weights=(1.0, 1.0, 0.5))
    assert _route(DMD(rank=6), well.astype(np.float32)) == "gram"
    res = DMD(rank=6).fit(well.astype(np.float32), dt=DT)
    assert max_diff(res.eigenvalues, lam_well) < 1e-4


def test_jit_chooses_per_system_and_vmap_per_batch():
    well, _ = tall_modes(noise=1e-9)
    well2, _ = tall_modes(noise=1e-9, seed=1)
    ill, _ = graded(1e-5, noise=1e-12)
    assert _route(DMD(rank=6), well) == "gram"
    assert _route(DMD(rank=6), well2) == "gram"
    assert _route(DMD(rank=6), ill) == "qr"
    fit = lambda y: DMD(rank=6).fit(y, dt=DT)  # noqa: E731

    def tail_is_accurate(y, s_got):
        # Below √ε·σ₁ the Gram route's singular values are round-off noise, QR's accurate.
        s = np.linalg.svd(y[:-1].T, compute_uv=False)
        np.testing.assert_allclose(s_got[:6], s[:6], rtol=1e-10)
        tail_err = np.max(np.abs(s_got[6:] - s[6:]) / s[6:])
        assert tail_err < 1e-3 or tail_err > 0.5
        return bool(tail_err < 1e-3)

    # Under jit, each system takes its own route (a lax.cond on its data).
    for y, accurate in ((well, False), (ill, True)):
        got = np.asarray(jax.jit(fit)(jnp.asarray(y)).singular_values)
        assert tail_is_accurate(y, got) == accurate
    # Under vmap, the batch takes one route: Gram only when it suits every system.
    for batch, accurate in (((well, well2), False), ((well, ill), True)):
        got = np.asarray(jax.vmap(fit)(jnp.asarray(np.stack(batch))).singular_values)
        for y, s_got in zip(batch, got, strict=True):
            assert tail_is_accurate(y, s_got) == accurate
    # ... and stays one branch: a cond on an unbatched predicate, not a select of both.
    jaxpr = str(jax.make_jaxpr(jax.vmap(lambda y: fit(y).eigenvalues))(np.stack([well, ill])))
    assert "cond[" in jaxpr and "reduce_and" in jaxpr


@pytest.mark.parametrize(
    ("ys", "route"), [(tall_modes(noise=1e-3)[0], "gram"), (graded(1e-3, noise=1e-6)[0], "qr")]
)
def test_gradient_through_the_automatic_choice(ys, route):
    # Under grad the choice is a lax.cond and the QR route forms Q for its derivative.
    assert _route(DMD(rank=6), ys) == route

    def radius(y, svd):
        return jnp.sum(jnp.abs(DMD(rank=6, svd=svd).fit(y, dt=DT).eigenvalues))

    g_auto = np.asarray(jax.grad(radius)(jnp.asarray(ys), "auto"))
    g_direct = np.asarray(jax.grad(radius)(jnp.asarray(ys), "direct"))
    scale = np.max(np.abs(g_direct))
    assert scale > 1e-3
    np.testing.assert_allclose(g_auto, g_direct, rtol=0, atol=1e-8 * scale)


def test_gradient_under_vmap_through_the_batch_choice():
    ys = jnp.asarray(np.stack([tall_modes(noise=1e-3)[0], graded(1e-3, noise=1e-6)[0]]))

    def radius(y, svd):
        return jnp.sum(jnp.abs(DMD(rank=6, svd=svd).fit(y, dt=DT).eigenvalues))

    g_auto = np.asarray(jax.vmap(jax.grad(radius), in_axes=(0, None))(ys, "auto"))
    g_direct = np.asarray(jax.vmap(jax.grad(radius), in_axes=(0, None))(ys, "direct"))
    np.testing.assert_allclose(g_auto, g_direct, rtol=0, atol=1e-8 * np.max(np.abs(g_direct)))


def test_batched_tls_exact_and_forward_backward_agree_across_routes():
    ys = np.stack([tall_modes(n_time=15, noise=1e-4, seed=s)[0] for s in range(3)])
    for kw in ({"exact": True}, {"tlsq_rank": 6}, {"forward_backward": True}):
        results = {svd: DMD(rank=6, svd=svd, **kw).fit(ys, dt=DT) for svd in ("auto", "direct")}
        a, d = results["auto"], results["direct"]
        assert max_diff(a.eigenvalues, d.eigenvalues) < 1e-10
        np.testing.assert_allclose(
            np.asarray(a.reconstruct()), np.asarray(d.reconstruct()), atol=1e-9
        )
    assert _route(DMD(rank=6, tlsq_rank=6), ys) == "gram"


def test_havok_auto_matches_qr():
    t = np.arange(0, 40, 0.01)
    x = np.sin(t) + 0.5 * np.sin(2.3 * t) + 0.2 * np.sin(3.7 * t)
    auto = HAVOK(rank=5, delays=30).fit(x, dt=0.01)
    qr = HAVOK(rank=5, delays=30, svd="qr").fit(x, dt=0.01)
    # The operator depends on the signs of the singular vectors; its spectrum does not.
    assert max_diff(np.linalg.eigvals(auto.operator), np.linalg.eigvals(qr.operator)) < 1e-8
    np.testing.assert_allclose(
        np.asarray(auto.singular_values[:5]), np.asarray(qr.singular_values[:5]), rtol=1e-12
    )


def test_rank_interval_of_each_rule():
    s = np.array([10.0, 5.0, 2.0, 1.0, 0.5, 0.1])
    assert rank_interval(s, s, (100, 6), 0.9) == (2, 2)
    assert rank_interval(s, s, (100, 6), 0) == (2, 2)
    assert rank_interval(s, s, (100, 6), 4) == (4, 4)
    assert rank_interval(s, s, (100, 6), -1) == (6, 6)
    # Energy of the first one is 0.77, of two 0.96: with σ₁ up to 16, one may reach 0.9.
    lo, hi = s.copy(), s.copy()
    lo[:2] *= 0.9
    hi[:2] *= 1.6
    assert rank_interval(lo, hi, (100, 6), 0.9) == (1, 2)
    # Threshold ω(0.06)·median = 2.30: σ₃ = 2 can cross it when it may be 2.4.
    hi = s.copy()
    hi[2] = 2.4
    assert rank_interval(s, hi, (100, 6), 0) == (2, 3)
