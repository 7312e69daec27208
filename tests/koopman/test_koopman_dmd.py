"""DMD: known spectra, rank rules, forecasting, debiasing, batching, bad input."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import expm

from dynsys.koopman import DMD, select_rank

DT = 0.1


def damped_modes(n_time=120, dim=16, seed=0):
    """A sum of 3 damped oscillating modes (real data): ω_k = g_k ± i w_k."""
    rng = np.random.default_rng(seed)
    w = np.array([1.0, 2.5, 4.0])
    g = np.array([-0.1, -0.05, -0.2])
    lam = np.concatenate([g + 1j * w, g - 1j * w])
    phi = rng.normal(size=(dim, 3)) + 1j * rng.normal(size=(dim, 3))
    phi = np.concatenate([phi, phi.conj()], 1)
    t = np.arange(n_time) * DT
    ys = np.real(np.exp(t[:, None] * lam[None]) @ phi.T)
    return ys, lam


def sorted_c(z):
    return np.sort_complex(np.asarray(z))


@pytest.mark.parametrize(("svd", "exact"), [("qr", False), ("direct", True), ("gram", True)])
def test_recovers_frequencies_of_damped_modes(exact, svd):
    ys, lam = damped_modes()
    res = DMD(rank=6, exact=exact, svd=svd).fit(ys, dt=DT)
    np.testing.assert_allclose(sorted_c(res.continuous_eigenvalues), sorted_c(lam), atol=1e-9)
    np.testing.assert_allclose(
        np.sort(np.asarray(res.frequencies)), np.sort(lam.imag / (2 * np.pi)), atol=1e-10
    )
    np.testing.assert_allclose(np.sort(np.asarray(res.growth_rates)), np.sort(lam.real), atol=1e-10)
    np.testing.assert_allclose(np.asarray(res.reconstruct()), ys, atol=1e-9)


def test_rank_rules_select_expected_ranks():
    s = np.array([10.0, 5.0, 2.0, 1.0, 0.5, 0.1])
    energy = np.cumsum(s**2) / np.sum(s**2)  # 0.7407, 0.9259, 0.9555, 0.9630, ...
    assert select_rank(s, (100, 6), 0.9) == 2
    assert select_rank(s, (100, 6), float(energy[2])) == 3
    assert select_rank(s, (100, 6), 0.999) == 5
    assert select_rank(s, (100, 6), -1) == 6
    assert select_rank(s, (100, 6), 4) == 4
    # Optimal hard threshold: beta = 0.06, omega ≈ 1.5353, tau = omega * median = 2.303.
    assert select_rank(s, (100, 6), 0) == 2
    assert select_rank(s, (100, 6), 0.0) == 2


def test_rank_rules_on_noisy_low_rank_data():
    rng = np.random.default_rng(1)
    ys, _ = damped_modes(n_time=200, dim=40)
    noisy = ys + 1e-3 * rng.normal(size=ys.shape)
    assert DMD(rank=0).fit(noisy, dt=DT).rank == 6  # the hard threshold finds the true rank
    assert DMD(rank=-1).fit(noisy, dt=DT).rank == 40
    assert DMD(rank=3).fit(noisy, dt=DT).rank == 3
    s = np.linalg.svd(noisy[:-1].T, compute_uv=False)
    expected = int(np.searchsorted(np.cumsum(s**2) / np.sum(s**2), 0.95) + 1)
    assert DMD(rank=0.95).fit(noisy, dt=DT).rank == expected


def test_forecast_matches_true_linear_system():
    c = np.array([[-0.1, 2.0, 0.0], [-2.0, -0.1, 0.0], [0.0, 0.0, -0.5]])
    a = expm(c * DT)
    x0 = np.array([1.0, 0.0, 2.0])
    xs = [x0]
    for _ in range(149):
        xs.append(a @ xs[-1])
    xs = np.array(xs)
    res = DMD(rank=3).fit(xs[:100], dt=DT)
    np.testing.assert_allclose(np.asarray(res.forecast(50)), xs[100:], atol=1e-9)
    # Off-grid times: x(t) = expm(C t) x0.
    t = np.array([0.037, 1.234, 12.5])
    true = np.stack([expm(c * ti) @ x0 for ti in t])
    np.testing.assert_allclose(np.asarray(res.predict(t)), true, atol=1e-9)


def test_tls_and_forward_backward_reduce_noise_bias():
    rng = np.random.default_rng(0)
    n = 400
    ys, lam = damped_modes(n_time=n, dim=6)
    true = np.sort(np.abs(np.exp(lam * DT)))
    errs = {}
    for name, cfg in [
        ("plain", DMD(rank=6)),
        ("tls", DMD(rank=6, tlsq_rank=6)),
        ("fb", DMD(rank=6, forward_backward=True)),
    ]:
        e = []
        for seed in range(4):
            noisy = ys + 0.05 * np.std(ys) * np.random.default_rng(seed).normal(size=ys.shape)
            mags = np.sort(np.abs(np.asarray(cfg.fit(noisy, dt=DT).eigenvalues)))
            e.append(np.mean(mags - true))
        errs[name] = np.mean(e)
    # Noise in X biases DMD eigenvalues into the disc; both debiasing schemes remove most of it.
    assert errs["plain"] < -1e-3
    assert abs(errs["tls"]) < 0.3 * abs(errs["plain"])
    assert abs(errs["fb"]) < 0.3 * abs(errs["plain"])
    del rng


def test_batch_is_fitted_jointly_without_seams():
    c = np.array([[0.0, 1.5], [-1.5, -0.2]])
    a = expm(c * DT)
    trajs = []
    for x0 in ([1.0, 0.0], [0.0, 3.0], [-2.0, 1.0]):
        xs = [np.array(x0)]
        for _ in range(19):
            xs.append(a @ xs[-1])
        trajs.append(np.array(xs))
    batch = np.stack(trajs)
    res = DMD(rank=2).fit(batch, dt=DT)
    np.testing.assert_allclose(
        sorted_c(res.eigenvalues), sorted_c(np.linalg.eigvals(a)), atol=1e-12
    )
    assert res.amplitudes.shape == (3, 2)
    np.testing.assert_allclose(np.asarray(res.reconstruct()), batch, atol=1e-11)
    # Concatenating the trajectories in time puts seams into the pairs: the spectrum is wrong.
    seam = DMD(rank=2).fit(batch.reshape(-1, 2), dt=DT)
    assert np.max(np.abs(sorted_c(seam.eigenvalues) - sorted_c(np.linalg.eigvals(a)))) > 1e-3


def test_vmapped_fit_equals_fitting_one_by_one():
    systems = np.stack([damped_modes(n_time=40, dim=8, seed=s)[0] for s in range(5)])
    fit = lambda y: DMD(rank=6).fit(y, dt=DT)  # noqa: E731
    batched = jax.vmap(fit)(jnp.asarray(systems))
    for i in range(5):
        one = fit(systems[i])
        np.testing.assert_allclose(
            np.asarray(batched.eigenvalues[i]), np.asarray(one.eigenvalues), rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(
            np.asarray(batched.modes[i]), np.asarray(one.modes), rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(
            np.asarray(batched.amplitudes[i]), np.asarray(one.amplitudes), rtol=0, atol=1e-10
        )


def test_fit_compiles_under_jit_and_is_differentiable():
    ys, _ = damped_modes(n_time=30, dim=6)

    def spectral_abscissa(scale):
        res = DMD(rank=6).fit(jnp.asarray(ys) * scale, dt=DT)
        return jnp.max(jnp.abs(res.eigenvalues))

    # The eigenvalues of DMD do not depend on a global scale of the data.
    g = jax.grad(spectral_abscissa)(1.0)
    np.testing.assert_allclose(float(g), 0.0, atol=1e-8)
    val = jax.jit(spectral_abscissa)(2.0)
    np.testing.assert_allclose(float(val), float(spectral_abscissa(1.0)), rtol=1e-12)


def test_complex_snapshots():
    t = np.arange(30) * DT
    ys = np.stack([np.exp(2.3j * t), 0.5 * np.exp(-0.1 * t + 2.8j * t)], -1)
    res = DMD(rank=2).fit(jnp.asarray(ys), dt=DT)
    np.testing.assert_allclose(
        sorted_c(res.continuous_eigenvalues), sorted_c([2.3j, -0.1 + 2.8j]), atol=1e-10
    )
    np.testing.assert_allclose(np.asarray(res.reconstruct()), ys, atol=1e-10)


def test_bad_input_errors():
    ys, _ = damped_modes(n_time=20, dim=4)
    with pytest.raises(ValueError, match="at least 2 snapshots"):
        DMD(rank=1).fit(ys[:1], dt=DT)
    with pytest.raises(ValueError, match="larger than the data allow"):
        DMD(rank=5).fit(ys, dt=DT)
    bad = ys.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DMD(rank=2).fit(bad, dt=DT)
    with pytest.raises(ValueError, match="dt"):
        DMD(rank=2).fit(ys, dt=-1.0)
    with pytest.raises(ValueError, match="energy fraction"):
        DMD(rank=1.5)
    with pytest.raises(TypeError, match="rank"):
        DMD(rank="full")
    with pytest.raises(ValueError, match="time, dim"):
        DMD(rank=2).fit(ys[:, 0], dt=DT)
    with pytest.raises(TypeError, match="fixed int"):
        jax.vmap(lambda y: DMD(rank=0).fit(y, dt=DT))(jnp.stack([jnp.asarray(ys)] * 2))


def test_ill_conditioned_data_warns_with_condition_number():
    ys, _ = damped_modes(n_time=60, dim=12)
    rng = np.random.default_rng(0)
    ys = ys + 1e-13 * rng.normal(size=ys.shape)  # rank 6 plus round-off-level directions
    with pytest.warns(UserWarning, match=r"condition number \d\.\d+e\+\d+"):
        DMD(rank=8).fit(ys, dt=DT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DMD(rank=6).fit(ys, dt=DT)
    exactly_low_rank = np.zeros((10, 3))
    exactly_low_rank[:, 0] = np.arange(10.0)
    with pytest.raises(ValueError, match="exactly 0"):
        DMD(rank=2).fit(exactly_low_rank, dt=DT)


def test_forecast_from_a_new_state():
    c = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    a = expm(c * DT)
    xs = [np.array([1.0, 0.5])]
    for _ in range(30):
        xs.append(a @ xs[-1])
    res = DMD(rank=2).fit(np.array(xs), dt=DT)
    x0 = np.array([-3.0, 2.0])
    out = np.asarray(res.forecast_from(x0, 3))
    np.testing.assert_allclose(out, np.stack([a @ x0, a @ a @ x0, a @ a @ a @ x0]), atol=1e-12)
    with pytest.raises(ValueError, match="x0"):
        res.forecast_from(np.zeros(3), 2)
