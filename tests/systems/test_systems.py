import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dynsys
from dynsys import systems


def test_registry_lists_all_builtins():
    expected = {
        "lorenz63", "rossler", "lorenz96", "duffing", "vanderpol",
        "lotka_volterra", "thomas", "chua", "henon", "logistic",
    }  # fmt: skip
    assert expected <= set(systems.names())
    for name in systems.names():
        s = systems.get(name)
        assert isinstance(s, systems.AbstractSystem)
        y0 = s.initial_state()
        assert y0.shape == (s.dim,)
        out = s.step(y0) if s.is_map else s.rhs(0.0, y0)
        assert out.shape == (s.dim,)
        assert np.all(np.isfinite(np.asarray(out)))
        assert s.dt > 0


def test_registry_rejects_unknown_name():
    with pytest.raises(ValueError, match="lorenz63"):
        systems.get("lorenz64")


def test_lorenz63_defaults_and_divergence():
    s = systems.Lorenz63()
    np.testing.assert_allclose(
        [float(s.sigma), float(s.rho), float(s.beta)], [10.0, 28.0, 8.0 / 3.0], rtol=0
    )
    jac = jax.jacfwd(lambda y: s.rhs(0.0, y))(jnp.array([1.3, -0.2, 17.0]))
    np.testing.assert_allclose(float(jnp.trace(jac)), -(10.0 + 1.0 + 8.0 / 3.0), rtol=1e-14)
    np.testing.assert_allclose(sum(s.reference.exponents), -(10 + 1 + 8 / 3), atol=1e-3)


def test_rossler_and_lorenz96_equations():
    r = systems.Rossler()
    np.testing.assert_allclose(
        np.asarray(r.rhs(0.0, jnp.array([1.0, 2.0, 3.0]))),
        [-2.0 - 3.0, 1.0 + 0.2 * 2.0, 0.2 + 3.0 * (1.0 - 5.7)],
        rtol=1e-14,
    )
    l96 = systems.Lorenz96(n=5, forcing=8.0)
    x = jnp.arange(5.0)
    expected = [(x[(i + 1) % 5] - x[i - 2]) * x[i - 1] - x[i] + 8.0 for i in range(5)]
    np.testing.assert_allclose(np.asarray(l96.rhs(0.0, x)), np.asarray(expected), rtol=1e-14)
    assert l96.dim == 5 and len(l96.default_y0) == 5
    with pytest.raises(ValueError, match="n"):
        systems.Lorenz96(n=2)


def test_henon_jacobian_determinant():
    h = systems.Henon()
    jac = jax.jacfwd(h.step)(jnp.array([0.3, -0.1]))
    np.testing.assert_allclose(float(jnp.linalg.det(jac)), -0.3, rtol=1e-14)


def test_lotka_volterra_conserves_invariant():
    lv = systems.LotkaVolterra()
    ys = dynsys.simulate(lv, None, jnp.linspace(0.0, 20.0, 201))
    h = lv.invariant(ys)
    np.testing.assert_allclose(np.asarray(h), float(h[0]), rtol=1e-8)


def test_parameters_are_differentiable_leaves():
    s = systems.Lorenz63()
    assert set(s.parameters) == {"sigma", "rho", "beta"}
    grads = eqx.filter_grad(lambda m: jnp.sum(m.rhs(0.0, jnp.ones(3))))(s)
    np.testing.assert_allclose(float(grads.rho), 1.0)


def test_user_subclass_and_from_function():
    class Oscillator(systems.AbstractFlow):
        omega: jax.Array = systems.param(2.0)
        name = "osc"
        dim = 2
        dt = 0.1
        default_y0 = (1.0, 0.0)

        def rhs(self, t, y):
            return jnp.stack([y[1], -(self.omega**2) * y[0]])

    osc = Oscillator()
    ts = jnp.linspace(0.0, 3.0, 31)
    ys = dynsys.simulate(osc, None, ts)
    np.testing.assert_allclose(np.asarray(ys[:, 0]), np.cos(2.0 * np.asarray(ts)), atol=1e-8)

    f = systems.from_function(lambda y: 0.5 * y, dim=1, discrete=True, y0=(1.0,))
    np.testing.assert_allclose(
        np.asarray(dynsys.simulate(f, None, jnp.arange(4.0))[:, 0]), [1, 0.5, 0.25, 0.125]
    )
    with pytest.raises(ValueError, match="y0"):
        systems.from_function(lambda t, y: y, dim=2, y0=(1.0,))
    with pytest.raises(TypeError, match="fn"):
        systems.from_function(3, dim=2)
