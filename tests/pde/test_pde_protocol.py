"""Rollout, time derivative, wrappers, data and initial conditions; bad input."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import pde
from dynsys.data import Trajectories


class _Doubler(eqx.Module):
    dt: float = 0.5

    def __call__(self, u):
        return 2.0 * u


def test_rollout_shapes_include_init_and_aux_per_step():
    u0 = jnp.ones((1, 4))
    traj = pde.rollout(_Doubler(), u0, 3)
    np.testing.assert_allclose(np.asarray(traj[:, 0, 0]), [1, 2, 4, 8])
    assert pde.rollout(_Doubler(), u0, 3, include_init=False).shape == (3, 1, 4)
    forced = pde.ForcedStepper(_Doubler())
    f = jnp.ones((3, 1, 4))
    traj = pde.rollout(forced, u0, 3, aux=f, aux_per_step=True)
    # u_{k+1} = 2 (u_k + 0.5): 1 -> 3 -> 7 -> 15
    np.testing.assert_allclose(np.asarray(traj[:, 0, 0]), [1, 3, 7, 15])
    np.testing.assert_allclose(np.asarray(pde.repeat(_Doubler(), u0, 3)), 8 * np.ones((1, 4)))
    # time_derivative: difference quotient (no rhs) and rhs when present
    np.testing.assert_allclose(np.asarray(pde.time_derivative(_Doubler(), u0)), 2 * np.ones((1, 4)))
    h = pde.Heat(1, 2 * np.pi, 16, dt=0.1, diffusivity=1.0)
    u = jnp.asarray(np.sin(np.arange(16) * 2 * np.pi / 16))[None]
    np.testing.assert_allclose(np.asarray(pde.time_derivative(h, u)), -np.asarray(u), atol=1e-13)
    dq = pde.time_derivative(h, u, use_rhs=False)
    np.testing.assert_allclose(np.asarray(dq), (np.exp(-0.1) - 1) / 0.1 * np.asarray(u), atol=1e-13)


def test_wrappers():
    h = pde.Heat(1, 2 * np.pi, 16, dt=0.1, diffusivity=1.0)
    u = pde.truncated_fourier_series(jax.random.key(0), 1, 16, cutoff=3)
    rep = pde.RepeatedStepper(h, 3)
    np.testing.assert_allclose(np.asarray(rep.dt), 0.3, rtol=1e-12)
    assert rep.num_points == 16
    np.testing.assert_allclose(np.asarray(rep(u)), np.asarray(h(h(h(u)))), atol=1e-14)
    rep12 = pde.RepeatedStepper(h, 12)  # the fori_loop branch
    np.testing.assert_allclose(np.asarray(rep12(u)), np.asarray(pde.repeat(h, u, 12)), atol=1e-14)
    np.testing.assert_allclose(np.asarray(pde.ForcedStepper(h)(u, jnp.zeros_like(u))),
                               np.asarray(h(u)), atol=0)  # fmt: skip
    b = pde.BoundStepper(pde.ParametricBurgers(), jnp.asarray(0.025))
    u1 = jnp.ones((1, 256))
    np.testing.assert_allclose(
        np.asarray(b(u1)), np.asarray(pde.ParametricBurgers()(u1, jnp.asarray(0.025)))
    )
    np.testing.assert_allclose(np.asarray(b.rhs(u1)), np.asarray((b(u1) - u1) / b.dt), atol=1e-12)
    # RHSStepper: FD heat equation, eigenmode decays at the discrete rate
    dx = 2 * np.pi / 16
    rs = pde.RHSStepper(lambda v: pde.laplacian_fd(v, dx), 0.01, solver=diffrax.Tsit5())
    mode = jnp.asarray(np.sin(np.arange(16) * dx))[None]
    lam = -(2 - 2 * np.cos(dx)) / dx**2
    np.testing.assert_allclose(np.asarray(rs(mode)), np.exp(lam * 0.01) * np.asarray(mode),
                               atol=1e-12)  # fmt: skip


def test_pde_trajectories_dataset():
    s = pde.ParametricBurgers(num_points=32)
    mus = jnp.asarray([0.015, 0.03])
    data = pde.pde_trajectories(s, jnp.ones((2, 1, 32)), 5, aux=mus, metadata={"note": "x"})
    assert isinstance(data, Trajectories)
    assert data.states.shape == (2, 6, 1, 32)
    np.testing.assert_allclose(np.asarray(data.times), 0.07 * np.arange(6), atol=1e-15)
    assert data.metadata["params"] == [0.015, 0.03] and data.metadata["note"] == "x"
    np.testing.assert_allclose(
        np.asarray(data.states[1, -1]), np.asarray(pde.repeat(s, jnp.ones((1, 32)), 5, aux=mus[1]))
    )


def test_initial_conditions():
    u = pde.truncated_fourier_series(jax.random.key(0), 2, 16, cutoff=2, num_channels=2)
    assert u.shape == (2, 16, 16)
    np.testing.assert_allclose(np.asarray(jnp.max(jnp.abs(u), axis=(1, 2))), 1.0, rtol=1e-12)
    spec = np.abs(np.fft.fft2(np.asarray(u[0])))
    m = np.abs(np.fft.fftfreq(16, 1 / 16))
    high = (m[:, None] > 2) | (m[None, :] > 2)
    assert spec[high].max() < 1e-10 and abs(spec[0, 0]) < 1e-10
    b = pde.gaussian_blobs(jax.random.key(1), 2, 2.5, 32, num_blobs=2)
    assert b.shape == (1, 32, 32) and float(b.min()) >= 0.0 and float(b.max()) <= 2.0
    assert pde.make_grid(1, 1.0, 4).shape == (1, 4)
    np.testing.assert_allclose(pde.make_grid(1, 1.0, 4)[0], [0, 0.25, 0.5, 0.75])


def test_bad_inputs_have_clear_errors():
    h = pde.Heat(1, 1.0, 16, dt=0.1)
    with pytest.raises(ValueError, match="jax.vmap"):
        h(jnp.ones((4, 1, 16)))
    with pytest.raises(ValueError, match="1 channel"):
        h(jnp.ones((2, 16)))
    with pytest.raises(ValueError, match="NaN"):
        h(jnp.full((1, 16), jnp.nan))
    with pytest.raises(ValueError, match="NaN"):
        pde.rollout(h, jnp.full((1, 16), jnp.inf), 3)

    class Bad(eqx.Module):
        dt: float = 0.1

        def __call__(self, u):
            return u[:, :-1]

    with pytest.raises(ValueError, match="same shape"):
        pde.rollout(Bad(), jnp.ones((1, 16)), 3)
    with pytest.raises(ValueError, match="n_steps"):
        pde.rollout(h, jnp.ones((1, 16)), -1)
    with pytest.raises(TypeError, match="stepper"):
        pde.rollout("heat", jnp.ones((1, 16)), 3)
    with pytest.raises(ValueError, match="aux"):
        pde.rollout(pde.ForcedStepper(h), jnp.ones((1, 16)), 3, aux=jnp.ones((2, 1, 16)),
                    aux_per_step=True)  # fmt: skip
    with pytest.raises(ValueError, match="dt"):
        pde.Heat(1, 1.0, 16, dt=-0.1)
    with pytest.raises(ValueError, match="diffusivity"):
        pde.GrayScott(diffusivity_u=-1.0)
    with pytest.raises(ValueError, match="forcing"):
        pde.ForcedStepper(h)(jnp.ones((1, 16)), jnp.ones((1, 8)))
    with pytest.raises(ValueError, match="cutoff"):
        pde.truncated_fourier_series(jax.random.key(0), 1, 8, cutoff=4)
