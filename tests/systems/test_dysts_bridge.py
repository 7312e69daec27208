"""The dysts bridge against dysts itself: every traceable flow equals dysts' right-hand side.

Needs the optional dependency dysts (`pip install 'dynsys[dysts]'`), skipped without it;
tests/systems/test_dysts_optional.py covers what works without dysts.
"""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dynsys
from dynsys import metrics, systems
from dynsys.systems import _dysts

with warnings.catch_warnings():
    # dysts without numba warns at import that it runs uncompiled; the comparisons below
    # then run against its plain NumPy code.
    warnings.filterwarnings("ignore", message="Numba not installed", category=UserWarning)
    dysts_flows = pytest.importorskip("dysts.flows")
    dysts_systems = pytest.importorskip("dysts.systems")

NAMES = systems.dysts_names()
# A sample that covers the kinds of code in dysts: a plain `_rhs` (Aizawa), parameters that
# are arrays (BeerRNN), an overridden `rhs` calling helper methods (BlinkingRotlet,
# InteriorSquirmer with an integer `arange`), the builtin `max` (BelousovZhabotinsky) and an
# explicitly time-dependent flow (Torus). Every system under the `slow` marker.
SAMPLE = [
    "Aizawa", "BeerRNN", "BlinkingRotlet", "InteriorSquirmer", "BelousovZhabotinsky", "Torus",
]  # fmt: skip
# Each `simulate` compiles a diffrax solve (2-4 s on one core), too slow for every system in
# the default suite: a sample there, every system under the `slow` marker.
SIMULATE_SAMPLE = ["Lorenz", "Duffing", "BeerRNN"]
# LiuChen's initial condition has y, z ~ 1e-10 on an unstable direction that grows by ~1e11
# within the period: an absolute tolerance of 1e-12 lets both integrators err by 1e-3 of the
# range (each within its tolerance); with a purely relative error control they agree to 1e-11.
ATOL = {"LiuChen": 1e-20}


def _points(system, n, seed):
    """`n` states near the default initial condition and times, float64."""
    rng = np.random.default_rng(seed)
    y0 = np.asarray(system.default_y0)
    ys = y0 * (1.0 + 0.1 * rng.standard_normal((n, system.dim))) + 0.01 * rng.standard_normal(
        (n, system.dim)
    )
    return ys, rng.uniform(0.0, 10.0, n)


def test_names_cover_dysts_flows_and_exclusions_have_reasons():
    flows = dysts_systems.get_attractor_list("continuous_no_delay")
    excluded = systems.dysts_excluded()
    assert set(NAMES) == set(flows) - set(excluded)
    assert len(NAMES) == len(flows) - len(_dysts._UNTRACEABLE) >= 120
    assert "Lorenz" in NAMES and "Lorenz96" not in NAMES
    assert "immutable" in excluded["Lorenz96"]
    for name in dysts_systems.get_attractor_list("delay"):
        assert "delay differential equation" in excluded[name]
    # A map named like a flow (Duffing) keeps the flow; the other maps are excluded.
    maps = set(dysts_systems.get_attractor_list("discrete"))
    assert "Duffing" in maps and "Duffing" in NAMES
    for name in maps - set(flows):
        assert "discrete-time map" in excluded[name]


@pytest.mark.parametrize("name", NAMES)
def test_rhs_equals_dysts(name):
    ours = systems.from_dysts(name)
    theirs = getattr(dysts_flows, name)()
    assert ours.dim == theirs.dimension
    ys, ts = _points(ours, 3, seed=len(name))
    expected = np.stack(
        [np.ravel(np.asarray(theirs.rhs(y, t), np.float64)) for y, t in zip(ys, ts)]
    )
    got = np.asarray(jax.vmap(ours.rhs)(jnp.asarray(ts), jnp.asarray(ys)))
    assert got.dtype == np.float64
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * scale)


@pytest.mark.parametrize("name", sorted(_dysts._UNTRACEABLE))
def test_untraceable_list_is_exact(name):
    # If dysts makes one of these traceable, this fails: move it out of the list.
    with pytest.raises(ValueError, match="cannot be traced by JAX"):
        _dysts._check_traceable(_dysts._system_class(name)())
    with pytest.raises(ValueError, match="not available in dynsys"):
        systems.from_dysts(name)


def test_dysts_lorenz96_is_the_builtin_lorenz96():
    theirs = dysts_flows.Lorenz96()
    ours = systems.Lorenz96(n=theirs.dimension, forcing=float(theirs.f))
    y = np.random.default_rng(0).standard_normal(theirs.dimension) * 5.0
    np.testing.assert_allclose(
        np.asarray(ours.rhs(0.0, jnp.asarray(y))), theirs.rhs(y, 0.0), rtol=1e-14
    )


def _check_jit_vmap_grad(name):
    system = systems.from_dysts(name)
    ys, ts = _points(system, 4, seed=1)
    ys, ts = jnp.asarray(ys), jnp.asarray(ts)
    weights = jax.random.normal(jax.random.key(1), ys.shape, ys.dtype)

    def loss(s):
        return jnp.sum(weights * jax.vmap(s.rhs)(ts, ys))

    @eqx.filter_jit
    def traced(s):
        # Everything under one compilation: the parameters are tracers, not constants.
        jac = jax.jacfwd(s.rhs, argnums=1)(ts[0], ys[0])
        return jax.vmap(s.rhs)(ts, ys), eqx.filter_value_and_grad(loss)(s), jac

    rhs, (value, grad), jac = traced(system)
    eager = jax.vmap(system.rhs)(ts, ys)
    np.testing.assert_allclose(np.asarray(rhs), np.asarray(eager), rtol=1e-12, atol=1e-12)
    assert jac.shape == (system.dim, system.dim) and bool(jnp.all(jnp.isfinite(jac)))

    # The gradient with respect to the parameters against a central difference along a
    # random direction (the same compiled function at shifted parameters).
    params = system.parameters
    key = jax.random.key(0)
    direction = {
        k: jax.random.normal(jax.random.fold_in(key, i), v.shape, v.dtype) * (1e-3 + jnp.abs(v))
        for i, (k, v) in enumerate(sorted(params.items()))
    }
    directional = sum(jnp.sum(getattr(grad, k) * d) for k, d in direction.items())

    def shifted(eps):
        return eqx.tree_at(
            lambda s: [getattr(s, k) for k in sorted(params)],
            system,
            [params[k] + eps * direction[k] for k in sorted(params)],
        )

    eps = 1e-6
    fd = (traced(shifted(eps))[1][0] - traced(shifted(-eps))[1][0]) / (2 * eps)
    np.testing.assert_allclose(float(directional), float(fd), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", SAMPLE)
def test_jit_vmap_and_grad(name):
    _check_jit_vmap_grad(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(NAMES) - set(SAMPLE)))
def test_jit_vmap_and_grad_every_system(name):
    _check_jit_vmap_grad(name)


def _check_simulate(name):
    # One dominant period at dysts' 100 points per period; dysts integrates with scipy's
    # solve_ivp (DOP853 here, rtol = atol = 1e-12), dynsys with diffrax's Dopri8. dysts'
    # `make_trajectory(n)` spaces its n points over n / 100 periods, so its step is
    # `period / 100 * n / (n - 1)`, not quite `system.dt`: we integrate on dysts' own times.
    system = systems.from_dysts(name)
    n = 101
    atol = ATOL.get(name, 1e-12)
    ts, expected = getattr(dysts_flows, name)().make_trajectory(
        n, pts_per_period=100, return_times=True, postprocess=False, method="DOP853", atol=atol
    )
    np.testing.assert_allclose(ts[1] - ts[0], system.dt * n / (n - 1), rtol=1e-12)
    got = dynsys.simulate(system, None, jnp.asarray(ts), rtol=1e-12, atol=atol)
    scale = np.maximum(np.max(np.abs(expected), axis=0), 1e-12)
    np.testing.assert_allclose(np.asarray(got) / scale, expected / scale, rtol=0, atol=1e-6)


# scipy warns that DOP853 ignores the Jacobian dysts passes (it is for implicit methods).
@pytest.mark.filterwarnings("ignore:The following arguments have no effect")
@pytest.mark.parametrize("name", SIMULATE_SAMPLE)
def test_simulate_matches_dysts_integrator(name):
    _check_simulate(name)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The following arguments have no effect")
@pytest.mark.parametrize("name", sorted(set(NAMES) - set(SIMULATE_SAMPLE)))
def test_simulate_matches_dysts_integrator_every_system(name):
    _check_simulate(name)


def test_metadata_is_dysts_metadata():
    lorenz = systems.from_dysts("lorenz")  # case-insensitive
    theirs = dysts_flows.Lorenz()
    assert type(lorenz).__name__ == "Lorenz" and lorenz.name == "Lorenz"
    assert isinstance(lorenz, systems.DystsFlow) and isinstance(lorenz, systems.AbstractFlow)
    assert lorenz.default_y0 == tuple(theirs.ic)
    np.testing.assert_allclose(lorenz.dt, theirs.period / 100, rtol=1e-15)
    assert lorenz.integration_dt == theirs.dt and lorenz.period == theirs.period
    assert lorenz.reference.exponents == tuple(theirs.lyapunov_spectrum_estimated)
    assert lorenz.max_lyapunov_estimated == theirs.maximum_lyapunov_estimated
    assert lorenz.correlation_dimension == theirs.correlation_dimension
    assert lorenz.citation == theirs.citation
    assert lorenz.dysts_metadata["description"] == theirs.description
    assert {k: float(v) for k, v in lorenz.parameters.items()} == {
        k: float(v) for k, v in theirs.params.items()
    }
    # The same class each time, so compiled functions are reused.
    assert type(systems.from_dysts("Lorenz")) is type(lorenz)
    beer = systems.from_dysts("BeerRNN")
    np.testing.assert_array_equal(np.asarray(beer.w), dysts_flows.BeerRNN().w)


def test_parameter_overrides():
    ours = systems.from_dysts("Lorenz", rho=45.0)
    theirs = dysts_flows.Lorenz(parameters={"beta": 2.667, "rho": 45.0, "sigma": 10.0})
    y = np.array([1.0, -2.0, 20.0])
    np.testing.assert_allclose(np.asarray(ours.rhs(0.0, jnp.asarray(y))), theirs.rhs(y, 0.0))
    with pytest.raises(ValueError, match=r"Unknown parameters \['r'\].*'rho'"):
        systems.from_dysts("Lorenz", r=45.0)


def test_bad_names():
    with pytest.raises(ValueError, match=r"close matches: \['Lorenz'"):
        systems.from_dysts("Lorenx")
    with pytest.raises(ValueError, match="delay differential equation"):
        systems.from_dysts("MackeyGlass")
    with pytest.raises(ValueError, match="discrete-time map"):
        systems.from_dysts("Henon")
    with pytest.raises(TypeError, match="name"):
        systems.from_dysts(3)


def test_lyapunov_spectrum_and_data():
    lorenz = systems.from_dysts("Lorenz")
    spectrum = metrics.lyapunov_spectrum(lorenz, n_steps=1000, transient=100)
    # The exponents sum to the constant divergence -(sigma + 1 + beta) of Lorenz-63.
    np.testing.assert_allclose(float(jnp.sum(spectrum.exponents)), -13.667, atol=1e-2)
    assert 0.6 < float(spectrum.exponents[0]) < 1.2
    traj = dynsys.data.generate(systems.from_dysts("Aizawa"), n_trajectories=2, n_steps=20)
    assert traj.states.shape == (2, 20, 3) and traj.dt == systems.from_dysts("Aizawa").dt
