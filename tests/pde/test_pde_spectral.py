"""ETDRK4 pseudo-spectral steppers against analytic solutions, orders and invariants."""

import jax
import jax.numpy as jnp
import numpy as np

from dynsys import pde
from dynsys.testing import convergence_order

L = 2 * np.pi


def _cole_hopf(x, t, nu):
    # u = −2ν ∂x log φ, φ = 2 + e^{−νt} cos x solves the heat equation.
    e = np.exp(-nu * t)
    return 2 * nu * e * np.sin(x) / (2 + e * np.cos(x))


def test_heat_matches_analytic_decay_1d_and_2d():
    x = pde.make_grid(2, L, 16)
    u0 = np.sin(x[0]) * np.cos(2 * x[1])
    s = pde.Heat(2, L, 16, dt=0.1, diffusivity=0.3)
    u = pde.repeat(s, jnp.asarray(u0)[None], 10)
    np.testing.assert_allclose(np.asarray(u[0]), np.exp(-0.3 * 5 * 1.0) * u0, atol=1e-13)
    x1 = np.arange(32) * L / 32
    s1 = pde.Heat(1, L, 32, dt=0.5, diffusivity=0.1)
    u1 = pde.repeat(s1, jnp.asarray(np.sin(3 * x1))[None], 4)
    np.testing.assert_allclose(np.asarray(u1[0]), np.exp(-0.1 * 9 * 2.0) * np.sin(3 * x1),
                               atol=1e-13)  # fmt: skip


def test_burgers_cole_hopf_and_fourth_order():
    nu, n = 0.1, 64
    x = np.arange(n) * L / n
    u0 = jnp.asarray(_cole_hopf(x, 0.0, nu))[None]
    exact = _cole_hopf(x, 1.0, nu)[None]
    s = pde.Burgers(1, L, n, dt=0.05, diffusivity=nu)
    np.testing.assert_allclose(np.asarray(pde.repeat(s, u0, 20)), exact, atol=1e-9)
    order, errors = convergence_order(
        lambda dt: pde.Burgers(1, L, n, dt, diffusivity=nu),
        u0,
        1.0,
        [0.25, 0.125, 0.0625],
        reference=exact,
    )
    assert 3.7 < order < 4.4, (order, errors)


def test_kdv_soliton_speed_shape_and_invariants():
    n, length, c = 128, 40.0, 2.0
    x = np.arange(n) * length / n

    def soliton(t):
        return c / 2 / np.cosh(np.sqrt(c) / 2 * (x - 12.0 - c * t)) ** 2

    s = pde.KortewegDeVries(1, length, n, dt=2e-3)
    traj = pde.rollout(s, jnp.asarray(soliton(0.0))[None], 250)
    np.testing.assert_allclose(np.asarray(traj[-1, 0]), soliton(0.5), atol=3e-5)
    mass = np.asarray(jnp.sum(traj, axis=(1, 2)))
    energy = np.asarray(jnp.sum(traj**2, axis=(1, 2)))
    np.testing.assert_allclose(mass, mass[0], rtol=1e-12)
    np.testing.assert_allclose(energy, energy[0], rtol=1e-8)


def test_ks_linear_growth_rate_and_2d_burgers_mean():
    # Small amplitude: u_t = −u_xx − u_xxxx, mode k grows at k² − k⁴.
    length, n = 8 * np.pi, 64
    x = np.arange(n) * length / n
    k = 2 * np.pi * 2 / length
    u0 = 1e-8 * np.cos(k * x)
    s = pde.KuramotoSivashinsky(1, length, n, dt=0.25)
    u = pde.repeat(s, jnp.asarray(u0)[None], 8)
    np.testing.assert_allclose(np.asarray(u[0]), np.exp((k**2 - k**4) * 2.0) * u0,
                               rtol=1e-6, atol=1e-14)  # fmt: skip
    b = pde.Burgers(2, L, 16, dt=0.05, diffusivity=0.05)
    u2 = pde.truncated_fourier_series(jax.random.key(1), 2, 16, cutoff=3, zero_mean=False)
    traj = pde.rollout(b, u2, 10)
    means = np.asarray(jnp.mean(traj, axis=(1, 2, 3)))
    np.testing.assert_allclose(means, means[0], atol=1e-14)
    assert float(jnp.std(traj[-1])) < float(jnp.std(traj[0]))  # viscous decay


def test_etdrk4_coefficients_match_direct_formulas():
    z = np.array([-3.0, -1.5, 2.0, -20.0 + 5j])
    e, e2, q, f1, f2, f3 = pde.etdrk4_coefficients(z, 1.0)
    np.testing.assert_allclose(e, np.exp(z), rtol=1e-14)
    np.testing.assert_allclose(q, (np.exp(z / 2) - 1) / z, rtol=1e-10)
    np.testing.assert_allclose(f1, (-4 - z + np.exp(z) * (4 - 3 * z + z**2)) / z**3, rtol=1e-9)
    np.testing.assert_allclose(f2, (2 + z + np.exp(z) * (z - 2)) / z**3, rtol=1e-9)
    np.testing.assert_allclose(f3, (-4 - 3 * z - z**2 + np.exp(z) * (4 - z)) / z**3, rtol=1e-9)
    # small |z|: the limits 1/2, 1/6 (φ-function values), no cancellation
    _, _, q0, f10, f20, f30 = pde.etdrk4_coefficients(np.array([1e-10]), 1.0)
    np.testing.assert_allclose(np.real([q0[0], f10[0], f20[0], f30[0]]),
                               [0.5, 1 / 6, 1 / 6, 1 / 6], rtol=1e-8)  # fmt: skip


def test_gradient_through_rollout_matches_finite_differences():
    s = pde.Burgers(1, L, 16, dt=0.1, diffusivity=0.1)
    u0 = pde.truncated_fourier_series(jax.random.key(0), 1, 16, cutoff=3)
    w = jax.random.normal(jax.random.key(1), (11, 1, 16))
    v = jax.random.normal(jax.random.key(2), (1, 16))

    @jax.jit
    def f(u):
        return jnp.sum(w * pde.rollout(s, u, 10))

    ad = float(jnp.sum(jax.grad(f)(u0) * v))
    eps = 1e-6
    fd = float((f(u0 + eps * v) - f(u0 - eps * v)) / (2 * eps))
    np.testing.assert_allclose(ad, fd, rtol=1e-7)


def test_spectral_float32():
    s = pde.KuramotoSivashinsky(1, 30.0, 32, dt=0.05)
    u = pde.truncated_fourier_series(jax.random.key(0), 1, 32, dtype=jnp.float32)
    out = s(u)
    assert out.dtype == jnp.float32 and out.shape == (1, 32)
    assert bool(jnp.all(jnp.isfinite(out)))
