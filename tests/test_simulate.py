import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import dynsys
from dynsys import systems


def _scipy_reference(system, y0, ts):
    fun = lambda t, y: np.asarray(system.rhs(t, jnp.asarray(y)))  # noqa: E731
    sol = solve_ivp(fun, (ts[0], ts[-1]), y0, method="DOP853", t_eval=ts, rtol=1e-12, atol=1e-12)
    return sol.y.T


@pytest.mark.parametrize("name", ["lorenz63", "rossler", "duffing", "vanderpol", "chua"])
def test_simulate_matches_scipy_dop853(name):
    system = systems.get(name)
    ts = np.linspace(0.0, 2.0, 41)
    y0 = np.asarray(system.initial_state())
    ours = dynsys.simulate(system, y0, ts)
    ref = _scipy_reference(system, y0, ts)
    np.testing.assert_allclose(np.asarray(ours), ref, rtol=1e-7, atol=1e-8)


def test_simulate_batch_equals_loop():
    system = systems.Lorenz63()
    y0s = jnp.array([[1.0, 1.0, 1.0], [-2.0, 3.0, 20.0]])
    ts = jnp.linspace(0.0, 1.0, 11)
    batched = dynsys.simulate(system, y0s, ts)
    assert batched.shape == (2, 11, 3)
    for i in range(2):
        np.testing.assert_allclose(
            np.asarray(batched[i]), np.asarray(dynsys.simulate(system, y0s[i], ts)), rtol=1e-12
        )


def test_simulate_gradient_matches_finite_difference():
    # d x(t1) / d rho against central differences, and the gradient reaches y0; one compiled
    # forward (reused by the differences) and one compiled gradient.
    ts = jnp.linspace(0.0, 0.5, 6)

    @jax.jit
    def final_x(rho, y0):
        return dynsys.simulate(
            systems.Lorenz63(rho=rho), y0, ts, solver=diffrax.Tsit5(), max_steps=256
        )[-1, 0]

    rho, y0 = jnp.asarray(28.0), systems.Lorenz63().initial_state()
    g_rho, g_y0 = jax.jit(jax.grad(final_x, argnums=(0, 1)))(rho, y0)
    eps = 1e-5
    fd = (final_x(rho + eps, y0) - final_x(rho - eps, y0)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(g_rho), np.asarray(fd), rtol=1e-5)
    fd_y0 = (final_x(rho, y0.at[1].add(eps)) - final_x(rho, y0.at[1].add(-eps))) / (2 * eps)
    assert g_y0.shape == (3,) and np.all(np.isfinite(np.asarray(g_y0)))
    np.testing.assert_allclose(np.asarray(g_y0[1]), np.asarray(fd_y0), rtol=1e-5)


def test_simulate_map_iterates_step():
    henon = systems.Henon()
    ys = dynsys.simulate(henon, jnp.array([0.1, 0.1]), jnp.arange(4.0))
    expected = [np.array([0.1, 0.1])]
    for _ in range(3):
        x, y = expected[-1]
        expected.append(np.array([1 - 1.4 * x**2 + y, 0.3 * x]))
    np.testing.assert_allclose(np.asarray(ys), np.stack(expected), rtol=1e-14)


def test_simulate_user_system_same_as_builtin():
    lorenz = systems.Lorenz63()
    user = systems.from_function(lambda t, y: lorenz.rhs(t, y), dim=3, y0=(1.0, 1.0, 1.0))
    ts = jnp.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(
        np.asarray(dynsys.simulate(user, None, ts)),
        np.asarray(dynsys.simulate(lorenz, None, ts)),
        rtol=1e-12,
    )


def test_simulate_float32_warns_and_runs():
    ts = jnp.linspace(0.0, 1.0, 5, dtype=jnp.float32)
    with pytest.warns(UserWarning, match="float32"):
        ys = dynsys.simulate(systems.Lorenz63(), jnp.ones(3, dtype=jnp.float32), ts)
    assert np.all(np.isfinite(np.asarray(ys)))


@pytest.mark.parametrize(
    "y0, ts, match",
    [
        (jnp.ones(2), jnp.linspace(0, 1, 3), "y0"),
        (jnp.ones((2, 2, 3)), jnp.linspace(0, 1, 3), "y0"),
        (jnp.array([1.0, jnp.nan, 1.0]), jnp.linspace(0, 1, 3), "y0"),
        (jnp.ones(3), jnp.array([0.0, 1.0, 0.5]), "ts"),
        (jnp.ones(3), jnp.array([]), "ts"),
        (jnp.ones(3), jnp.ones((2, 2)), "ts"),
    ],
)
def test_simulate_rejects_bad_input(y0, ts, match):
    with pytest.raises(ValueError, match=match):
        dynsys.simulate(systems.Lorenz63(), y0, ts)


def test_simulate_rejects_non_system():
    with pytest.raises(TypeError, match="system"):
        dynsys.simulate(lambda t, y: y, jnp.ones(3), jnp.linspace(0, 1, 3))
