import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.dsr import AffineObservation, IdentityObservation

KEY = jax.random.key(3)


def test_identity_observation():
    obs = IdentityObservation(6, 3, key=KEY)
    assert obs.L.shape == (3, 3) and obs.n_parameters == 9 and obs.n_forced == 3
    assert np.abs(np.asarray(obs.L)).max() <= 3**-0.5
    x = jnp.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])  # (time, N)
    z = obs.init_state(x)
    assert z.shape == (2, 6)
    np.testing.assert_array_equal(np.asarray(z[:, :3]), np.asarray(x))
    np.testing.assert_allclose(np.asarray(z[:, 3:]), np.asarray(x) @ np.asarray(obs.L).T)
    np.testing.assert_array_equal(np.asarray(obs.readout(z)), np.asarray(x))
    np.testing.assert_array_equal(np.asarray(obs.forcing_signal(x)), np.asarray(x))
    square = IdentityObservation(3, 3, key=KEY)
    assert square.L.shape == (0, 3) and square.n_parameters == 0
    np.testing.assert_array_equal(np.asarray(square.init_state(x)), np.asarray(x))
    with pytest.raises(ValueError, match="obs_dim"):
        IdentityObservation(2, 3, key=KEY)


def test_affine_observation_inverse_and_initialisation():
    obs = AffineObservation(40, 30, key=KEY)
    assert obs.B.shape == (30, 40) and obs.b is None
    assert obs.n_parameters == 1200 and obs.n_forced == 40
    # Kaiming normal: N(0, 2 / fan_in), fan_in = M
    np.testing.assert_allclose(np.std(np.asarray(obs.B)), (2 / 40) ** 0.5, rtol=0.1)
    x = jnp.asarray(np.random.default_rng(4).standard_normal((5, 30)))
    z = obs.init_state(x)
    assert z.shape == (5, 40)
    np.testing.assert_allclose(np.asarray(obs.readout(z)), np.asarray(x), rtol=0, atol=1e-11)
    # the minimum-norm solution: z lies in the row space of B
    b = np.asarray(obs.B)
    _, _, vt = np.linalg.svd(b)
    np.testing.assert_allclose(np.asarray(z) @ vt[30:].T, 0.0, atol=1e-11)
    np.testing.assert_allclose(np.asarray(obs.forcing_signal(x)), np.asarray(z), rtol=1e-12)


def test_affine_observation_more_outputs_than_latents_projects():
    obs = AffineObservation(3, 8, key=KEY)
    x = jnp.asarray(np.random.default_rng(5).standard_normal(8))
    residual = np.asarray(x - obs.readout(obs.init_state(x)))
    # least squares: the residual is orthogonal to the range of B
    np.testing.assert_allclose(np.asarray(obs.B).T @ residual, 0.0, atol=1e-12)
    assert np.linalg.norm(residual) > 1e-3


@eqx.filter_jit
def _gradients(obs, x):
    g_force = eqx.filter_grad(lambda o: jnp.sum(o.forcing_signal(x) ** 2))(obs)
    g_init = eqx.filter_grad(lambda o: jnp.sum(o.init_state(x) ** 2))(obs)
    return g_force, g_init


def test_affine_bias_and_no_gradient_through_forcing_signal():
    obs = AffineObservation(4, 2, key=KEY, use_bias=True)
    obs = eqx.tree_at(lambda o: o.b, obs, jnp.array([1.0, -1.0]))
    assert obs.n_parameters == 10
    x = jnp.array([0.3, 0.7])
    np.testing.assert_allclose(np.asarray(obs.readout(obs.init_state(x))), np.asarray(x))
    np.testing.assert_allclose(np.asarray(obs.readout(jnp.zeros(4))), [1.0, -1.0], rtol=0, atol=0)
    g_force, g_init = _gradients(obs, x)
    np.testing.assert_array_equal(np.asarray(g_force.B), 0.0)
    assert np.count_nonzero(np.asarray(g_init.B)) > 0
