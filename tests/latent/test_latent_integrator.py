"""BAOAB: energy order with γ = 0, Boltzmann variance with friction and noise; potentials."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import latent


def _energy_drift(potential, z0, v0, dt, t_end=4.0):
    zs, vs = latent.langevin_rollout(potential, z0, v0, int(round(t_end / dt)), dt=dt,
                                     friction=0.0)  # fmt: skip
    energy = 0.5 * jnp.sum(vs**2, axis=1) + jax.vmap(potential)(zs)
    return float(jnp.max(jnp.abs(energy - energy[0])))


@pytest.mark.parametrize("name", ["mlp", "oscillators"])
def test_baoab_energy_error_is_second_order_without_friction(name):
    key = jax.random.key(0)
    if name == "mlp":
        potential = latent.MLPPotential(2, width=16, key=key)
        z0, v0 = jnp.array([1.0, -0.5]), jnp.array([0.5, 1.0])
    else:
        potential = latent.CoupledOscillatorPotential(8, init_scale=0.2, key=key)
        z0 = jax.random.normal(jax.random.key(1), (8,))
        v0 = jnp.zeros(8)
    dts = np.array([0.2, 0.1, 0.05])
    errors = np.array([_energy_drift(potential, z0, v0, dt) for dt in dts])
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    # Velocity Verlet: the energy error is O(h²) uniformly in time (log-log slope 2).
    np.testing.assert_allclose(slope, 2.0, atol=0.1)
    assert errors[-1] < 2e-3


def test_baoab_boltzmann_variance_quadratic():
    # Harmonic U = k z²/2 at temperature T: BAOAB samples z ~ N(0, T/k) exactly for any
    # stable step (Leimkuhler & Matthews 2013); v's variance is T + O(h²).
    k, temp, gamma = 2.0, 0.5, 1.0
    potential = latent.QuadraticPotential(k)
    n = 4000  # independent particles, one per coordinate
    for dt, tol_v in ((0.5, None), (0.05, 0.03)):
        steps = int(round(12.0 / dt))
        zs, vs = latent.langevin_rollout(potential, jnp.full(n, 2.0), jnp.zeros(n), steps,
                                         dt=dt, friction=gamma, temperature=temp,
                                         key=jax.random.key(3))  # fmt: skip
        # Relaxation time ~ 1/γ: after 12 time units the start is forgotten (e^-12).
        z_var = float(jnp.var(zs[-1]))
        # Standard error of a variance from 4000 samples: sqrt(2/4000) ≈ 2.2 %.
        np.testing.assert_allclose(z_var, temp / k, rtol=0.08)
        if tol_v is not None:
            np.testing.assert_allclose(float(jnp.var(vs[-1])), temp, rtol=0.08)


def test_baoab_without_noise_dissipates_energy():
    potential = latent.QuadraticPotential(1.0)
    zs, vs = latent.langevin_rollout(potential, jnp.ones(3), jnp.zeros(3), 200, dt=0.05,
                                     friction=0.5)  # fmt: skip
    energy = 0.5 * jnp.sum(vs**2, 1) + jax.vmap(potential)(zs)
    # Damped oscillator: energy decays roughly like e^{−γ t} (t = 10).
    assert float(energy[-1]) < 0.05 * float(energy[0])
    assert zs.shape == (201, 3)


def test_coupled_oscillator_potential_is_banded_quadratic():
    potential = latent.CoupledOscillatorPotential(12, n_groups=3, init_scale=0.3, confinement=0.5,
                                                  key=jax.random.key(2))  # fmt: skip
    a = np.asarray(potential.matrix())
    np.testing.assert_allclose(a, a.T, atol=1e-12)
    # Couplings only between index neighbours |i − j| <= 1 within and across chains.
    idx = np.arange(12) % 4
    far = np.abs(idx[:, None] - idx[None, :]) > 1
    np.testing.assert_allclose(a[far], 0.0, atol=1e-12)
    assert np.abs(a[~far & ~np.eye(12, dtype=bool)]).max() > 1e-3
    # The force is linear: F(z) = −A z.
    z = jax.random.normal(jax.random.key(4), (12,))
    np.testing.assert_allclose(np.asarray(potential.force(z)), -a @ np.asarray(z), atol=1e-12)
    np.testing.assert_allclose(float(potential(z)), 0.5 * z @ a @ z, rtol=1e-12)


def test_mlp_potential_is_nonlinear_and_confined():
    potential = latent.MLPPotential(3, width=8, confinement=1.0, key=jax.random.key(5))
    z = jnp.array([0.3, -0.2, 0.5])
    f1, f2 = potential.force(z), potential.force(2 * z)
    assert float(jnp.max(jnp.abs(f2 - 2 * f1))) > 1e-4
    far = 100.0 * z
    # Far out the confinement dominates: U grows like κ|z|²/2.
    np.testing.assert_allclose(float(potential(far)), 0.5 * float(jnp.sum(far**2)), rtol=0.05)


def test_integrator_bad_input():
    potential = latent.QuadraticPotential(1.0)
    with pytest.raises(ValueError, match="dt"):
        latent.langevin_rollout(potential, jnp.ones(2), jnp.ones(2), 3, dt=0.0, friction=1.0)
    with pytest.raises(ValueError, match="same shape|one shape"):
        latent.langevin_rollout(potential, jnp.ones(2), jnp.ones(3), 3, dt=0.1, friction=1.0)
    with pytest.raises(TypeError, match="potential"):
        latent.langevin_rollout(lambda z: z, jnp.ones(2), jnp.ones(2), 3, dt=0.1, friction=1.0)
    with pytest.raises(ValueError, match="divisible"):
        latent.CoupledOscillatorPotential(10, n_groups=4, key=jax.random.key(0))
    with pytest.raises(ValueError, match="stiffness"):
        latent.QuadraticPotential(-1.0)


@pytest.mark.slow
def test_baoab_boltzmann_moments_nonlinear_potential():
    # A 1-D learned (nonlinear) potential: <z²> and <z> of a long BAOAB run with friction
    # and noise match the Boltzmann density ∝ exp(−U/T) (quadrature), up to O(h²) bias.
    potential = latent.MLPPotential(1, width=8, confinement=1.0, key=jax.random.key(7))
    temp = 0.7
    grid = np.linspace(-8, 8, 4001)
    energy = np.asarray(jax.vmap(potential)(jnp.asarray(grid)[:, None]))
    weight = np.exp(-(energy - energy.min()) / temp)
    weight /= np.trapezoid(weight, grid)
    moments = [np.trapezoid(weight * grid**p, grid) for p in (1, 2)]
    # 500 independent particles, the last 400 of 2000 steps of each (20 relaxation times).
    zs1 = jax.vmap(
        lambda k: latent.langevin_rollout(potential, jnp.zeros(1), jnp.zeros(1), 2000, dt=0.05,
                                          friction=1.0, temperature=temp, key=k)[0][-400:, 0]
    )(jax.random.split(jax.random.key(9), 500))  # fmt: skip
    samples = np.asarray(zs1).ravel()
    np.testing.assert_allclose(samples.mean(), moments[0], atol=0.05)
    np.testing.assert_allclose((samples**2).mean(), moments[1], rtol=0.05)
