"""EDMD, dictionaries, kernel EDMD and ResDMD (residuals, filtering, pseudospectra)."""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dynsys.koopman import (
    EDMD,
    RBF,
    FunctionDictionary,
    Identity,
    Kernel,
    KernelEDMD,
    Monomials,
    RandomFourierFeatures,
    ResDMD,
    plot_pseudospectrum,
)

J = np.array([[0.9, -0.1], [0.0, 0.8]])
TOY_EIGS = np.sort([0.9**i * 0.8**j for i in range(5) for j in range(5) if i + j <= 4])


@pytest.fixture(scope="module")
def toy_pairs():
    x = np.random.default_rng(42).normal(size=(500, 2))
    return x, x @ J.T


@pytest.fixture(scope="module")
def duffing_pairs():
    """One Euler step of the unforced Duffing flow x' = y, y' = x − x³ (a nonlinear map)."""
    x = np.random.default_rng(1).uniform(-2, 2, size=(1500, 2))
    y = np.stack([x[:, 0] + 0.1 * x[:, 1], x[:, 1] + 0.1 * (x[:, 0] - x[:, 0] ** 3)], 1)
    centres = np.random.default_rng(2).uniform(-2, 2, size=(25, 2))
    return x, y, centres


def test_monomials_and_dictionaries():
    m = Monomials(dim=2, degree=2)
    np.testing.assert_allclose(np.asarray(m(jnp.array([2.0, -3.0]))), [1, 2, -3, 4, -6, 9])
    assert m.names() == ["1", "x0", "x1", "x0^2", "x0*x1", "x1^2"]
    assert len(Monomials(3, 4).exponents) == 35
    c = np.array([[0.0, 0.0], [1.0, 1.0]])
    x = jnp.array([1.0, 0.0])
    np.testing.assert_allclose(np.asarray(RBF(c, 2.0, "gauss")(x)), np.exp(-np.array([1, 1]) / 4))
    np.testing.assert_allclose(np.asarray(RBF(c, 1.0, "exp")(x)), np.exp(-np.array([1.0, 1.0])))
    np.testing.assert_allclose(np.asarray(RBF(c, 1.0, "thinplate")(jnp.zeros(2)))[0], 0.0)
    both = Identity() + FunctionDictionary(lambda s: jnp.stack([jnp.sin(s[0])]))
    np.testing.assert_allclose(np.asarray(both(x)), [1.0, 0.0, np.sin(1.0)])
    assert len((both + m).parts) == 3


def test_random_fourier_features_approximate_the_gaussian_kernel():
    rff = RandomFourierFeatures(2, 4000, gamma=0.5, key=jax.random.key(0))
    a, b = jnp.array([0.3, -0.2]), jnp.array([-0.4, 0.5])
    approx = float(rff(a) @ rff(b))
    exact = float(np.exp(-0.5 * np.sum((np.asarray(a) - np.asarray(b)) ** 2)))
    assert abs(approx - exact) < 4 / np.sqrt(4000)
    same = RandomFourierFeatures(2, 4000, gamma=0.5, key=jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(same(a)), np.asarray(rff(a)))


def test_edmd_toy_spectrum_and_residuals(toy_pairs):
    x, y = toy_pairs
    res = ResDMD(Monomials(2, 4)).fit_pairs(x, y)
    lam = np.asarray(res.eigenvalues)
    np.testing.assert_allclose(np.sort(lam.real), TOY_EIGS, atol=1e-12)
    np.testing.assert_allclose(lam.imag, 0.0, atol=1e-12)
    assert np.max(np.asarray(res.residuals)) < 1e-10


def test_edmd_eigenfunctions_and_forecast(toy_pairs):
    x, y = toy_pairs
    res = EDMD(Monomials(2, 4)).fit_pairs(x, y)
    pts = np.random.default_rng(3).normal(size=(20, 2))
    phi_x = np.asarray(res.eigenfunctions(pts))
    phi_jx = np.asarray(res.eigenfunctions(pts @ J.T))
    np.testing.assert_allclose(phi_jx, phi_x * np.asarray(res.eigenvalues)[None], atol=1e-10)
    traj = np.asarray(res.predict(pts[0], 5))
    true = [pts[0]]
    for _ in range(5):
        true.append(J @ true[-1])
    np.testing.assert_allclose(traj, np.array(true), atol=1e-10)
    # Trajectory input: pairs are taken within each trajectory.
    other = [pts[1]]
    for _ in range(5):
        other.append(J @ other[-1])
    ys = np.stack([np.stack(true), np.stack(other)])
    lam = np.asarray(EDMD(Identity()).fit(ys).eigenvalues)
    np.testing.assert_allclose(np.sort(lam.real), [0.8, 0.9], atol=1e-10)


def test_kernel_edmd_polynomial_kernel_toy(toy_pairs):
    x, y = toy_pairs
    res = KernelEDMD(Kernel("polynomial", degree=4, gamma=1.0, coef0=1.0), rank=15).fit_pairs(x, y)
    np.testing.assert_allclose(np.sort(np.asarray(res.eigenvalues).real), TOY_EIGS, atol=1e-8)
    pts = np.random.default_rng(4).normal(size=(5, 2))
    np.testing.assert_allclose(
        np.asarray(res.eigenfunctions(pts @ J.T)),
        np.asarray(res.eigenfunctions(pts) * res.eigenvalues[None]),
        atol=1e-7,
    )
    np.testing.assert_allclose(np.asarray(res.predict(pts[0], 2))[2], J @ J @ pts[0], atol=1e-8)


def test_resdmd_qr_residuals_equal_direct_form(duffing_pairs):
    x, y, c = duffing_pairs
    d = RBF(c, 1.0, "exp")
    res = ResDMD(d).fit_pairs(x, y)
    e = res.edmd
    px = np.asarray(d.evaluate(jnp.asarray(x)))
    py = np.asarray(d.evaluate(jnp.asarray(y)))
    v, lam = np.asarray(e.eigenvectors), np.asarray(e.eigenvalues)
    direct = np.linalg.norm(py @ v - (px @ v) * lam[None], axis=0) / np.linalg.norm(px @ v, axis=0)
    np.testing.assert_allclose(np.asarray(res.residuals), direct, rtol=0, atol=1e-12)
    assert np.min(direct) < 0.1 and np.max(direct) > 0.3  # non-trivial residuals
    # The Gram form vᴴ(L − λAᴴ − λ̄A + |λ|²G)v / vᴴGv squares the condition number: on the
    # exact toy it only reaches ~1e-8 where the QR form reaches ~1e-15 (see the toy test).


def test_resdmd_filtering_and_pseudospectrum(duffing_pairs):
    x, y, c = duffing_pairs
    res = ResDMD(RBF(c, 1.0, "exp")).fit_pairs(x, y)
    r = np.asarray(res.residuals)
    eps = float(np.median(r))
    kept, vecs = res.filtered(eps)
    assert kept.shape[0] == int(np.sum(r <= eps)) and vecs.shape == (25, kept.shape[0])
    # τ(λ_k) <= res_k: the pseudospectral residual minimises over the whole span.
    lam = res.eigenvalues
    tau = np.asarray(res.pseudospectrum(lam, batch_size=7))
    assert np.all(tau <= r + 1e-12)
    grid = np.linspace(-1.5, 1.5, 9)
    zz = grid[None, :] + 1j * grid[:, None]
    tau_grid = np.asarray(res.pseudospectrum(zz))
    assert tau_grid.shape == (9, 9) and np.all(tau_grid >= 0)
    # Far from the spectrum τ(z) grows like |z|.
    assert float(res.pseudospectrum(jnp.array([50.0 + 0j]))[0]) > 40
    fig = plot_pseudospectrum(res, n_grid=12)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_edmd_bad_input(toy_pairs):
    x, y = toy_pairs
    with pytest.raises(ValueError, match="1-D vector"):
        EDMD(FunctionDictionary(lambda s: jnp.outer(s, s))).fit_pairs(x, y)
    with pytest.raises(ValueError, match="M >= N"):
        EDMD(Monomials(2, 4)).fit_pairs(x[:10], y[:10])
    with pytest.raises(ValueError, match="shape of `x`"):
        EDMD(Monomials(2, 2)).fit_pairs(x, y[:-1])
    with pytest.raises(TypeError, match="AbstractDictionary"):
        EDMD(lambda s: s)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        EDMD(Monomials(2, 2)).fit_pairs(bad, y)
    with pytest.warns(UserWarning, match="condition number"):
        EDMD(Identity() + Identity()).fit_pairs(x, y)
