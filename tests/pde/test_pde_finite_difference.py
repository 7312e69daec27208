"""Finite-difference steppers: reaction–diffusion and Φ-ROM's parametric Burgers."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy.integrate import solve_ivp

from dynsys import pde
from dynsys.testing import convergence_order


def test_fitzhugh_nagumo_uniform_state_follows_the_ode():
    s = pde.FitzHughNagumo(2.0, 8, dt=0.01, num_substeps=2)
    c0 = jnp.stack([jnp.full((8, 8), 0.3), jnp.full((8, 8), -0.1)])
    traj = pde.rollout(s, c0, 100)

    def ode(t, y):
        return [y[0] - y[0] ** 3 - y[1] - 0.005, (y[0] - y[1]) / 0.1]

    ref = solve_ivp(ode, (0, 1.0), [0.3, -0.1], rtol=1e-12, atol=1e-12).y[:, -1]
    np.testing.assert_allclose(np.asarray(traj[-1, :, 3, 5]), ref, rtol=1e-8)
    np.testing.assert_allclose(np.asarray(jnp.std(traj[-1], axis=(1, 2))), 0.0, atol=1e-14)


def test_gray_scott_homogeneous_state_and_fourth_order_in_time():
    s = pde.GrayScott(2.5, 16, dt=1.0)
    c = jnp.stack([jnp.ones((16, 16)), jnp.zeros((16, 16))])
    np.testing.assert_allclose(np.asarray(pde.repeat(s, c, 5)), np.asarray(c), atol=0)
    blob = pde.gaussian_blobs(jax.random.key(0), 2, 2.5, 8, width_range=(0.2, 0.3))[0]
    c0 = jnp.stack([1 - 0.5 * blob, 0.25 * blob])
    order, _ = convergence_order(lambda dt: pde.GrayScott(2.5, 8, dt), c0, 8.0, [4.0, 2.0],
                                 reference_refinement=4)  # fmt: skip
    assert 3.7 < order < 4.4, order


def test_parametric_burgers_steady_state_and_first_order():
    s = pde.ParametricBurgers(mu=0.02)
    u = pde.repeat(s, jnp.ones((1, 256)), 1500)  # t = 105: characteristics have left
    x = s.grid
    exact = np.sqrt(1 + 2 * 0.02 * (np.exp(0.02 * x) - 1) / 0.02)
    np.testing.assert_allclose(np.asarray(u[0]), exact, rtol=5e-3)
    assert float(u[0, 0]) == 1.0  # left value held fixed
    # the aux argument overrides the field μ
    u_aux = pde.repeat(s, jnp.ones((1, 256)), 20, aux=jnp.asarray(0.03))
    u_field = pde.repeat(pde.ParametricBurgers(mu=0.03), jnp.ones((1, 256)), 20)
    np.testing.assert_allclose(np.asarray(u_aux), np.asarray(u_field), rtol=1e-15)
    dq = (s(u) - u) / s.dt
    np.testing.assert_allclose(np.asarray(dq), np.asarray(s.rhs(u)), atol=1e-12)
    u0 = jnp.asarray(1 + 0.5 * np.exp(-(((x - 30) / 8) ** 2)))[None]
    order, _ = convergence_order(lambda dt: pde.ParametricBurgers(dt=dt), u0, 2.8,
                                 [0.07, 0.035, 0.0175])  # fmt: skip
    assert 0.8 < order < 1.3, order
