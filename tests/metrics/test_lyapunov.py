import math
import time
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import systems
from dynsys.metrics import LyapunovSpectrum, kaplan_yorke_dimension, lyapunov_spectrum
from dynsys.systems._abstract import param

LORENZ_SUM = -(10.0 + 1.0 + 8.0 / 3.0)


class _LinearFlow(systems.AbstractFlow):
    """A user-defined flow dy/dt = diag(a + c cos t, b) y.

    Over a window [s, e] the exponents are exactly (a + c (sin e - sin s) / (e - s), b).
    """

    a: jax.Array = param(0.3)
    b: jax.Array = param(-1.2)
    c: jax.Array = param(0.0)
    name: ClassVar[str] = "linear"
    dim: ClassVar[int] = 2
    dt: ClassVar[float] = 0.01
    default_y0: ClassVar[tuple[float, ...]] = (1.0, 1.0)

    def rhs(self, t, y):
        return jnp.stack([(self.a + self.c * jnp.cos(t)) * y[0], self.b * y[1]])


# Shared by the linear-flow tests, so that they reuse one compilation; 3000 steps (30 time
# units) align the initial basis to exp(-(a - b) 30) ~ 1e-20.
_LINEAR_RUN = {"n_steps": 1_000, "transient": 3_000}


class _LinearStep(eqx.Module):
    """An RNN-like eqx.Module step z -> A z; the exponents are log|eigenvalues of A|."""

    matrix: jax.Array

    def __call__(self, z):
        return self.matrix @ z


def test_lorenz_spectrum_sum_and_kaplan_yorke():
    res = lyapunov_spectrum(systems.Lorenz63(), None, n_steps=50_000, transient=1_000)
    assert isinstance(res, LyapunovSpectrum)
    assert res.exponents.shape == (3,) and res.history.shape == (50_000, 3)
    lam = np.asarray(res.exponents)
    np.testing.assert_allclose(lam[0], 0.9056, atol=0.05)
    np.testing.assert_allclose(lam[1], 0.0, atol=0.02)
    # The divergence is constant, so the sum is exact up to the integration error.
    np.testing.assert_allclose(lam.sum(), LORENZ_SUM, atol=1e-6)
    np.testing.assert_allclose(np.asarray(res.exponents_per_step), lam * 0.01, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(res.history[-1]), lam, rtol=1e-12)
    np.testing.assert_allclose(float(kaplan_yorke_dimension(res)), 2.062, atol=0.005)
    assert res.dt == 0.01 and res.n_steps == 50_000
    assert np.all(np.diff(lam) <= 0)


def test_henon_spectrum_and_jacobian_determinant():
    res = lyapunov_spectrum(systems.Henon(), None, n_steps=100_000)
    np.testing.assert_allclose(np.asarray(res.exponents), [0.41922, -1.62319], atol=0.01)
    # |det J| = b at every step, so the sum is ln b up to round-off.
    np.testing.assert_allclose(float(res.exponents.sum()), math.log(0.3), atol=1e-6)


def test_logistic_r4_is_ln2():
    res = lyapunov_spectrum(systems.Logistic(), None, n_steps=100_000)
    np.testing.assert_allclose(np.asarray(res.exponents), [math.log(2.0)], atol=0.01)


def test_linear_map_exact_and_generic_initial_basis():
    step = lambda z: jnp.stack([0.5 * z[0], 2.0 * z[1]])  # noqa: E731
    y0 = jnp.array([1.0, 1.0])
    res = lyapunov_spectrum(step, y0, n_steps=200, transient=100)
    np.testing.assert_allclose(
        np.asarray(res.exponents), [math.log(2.0), math.log(0.5)], rtol=1e-12
    )
    # The expanding direction is the second axis: a basis started on e1 would miss it.
    top = lyapunov_spectrum(step, y0, n_steps=200, transient=100, n_exponents=1)
    np.testing.assert_allclose(np.asarray(top.exponents), [math.log(2.0)], rtol=1e-12)


def test_linear_user_flow_exact():
    res = lyapunov_spectrum(_LinearFlow(), None, **_LINEAR_RUN)
    np.testing.assert_allclose(np.asarray(res.exponents), [0.3, -1.2], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(res.exponents_per_step), [0.003, -0.012], rtol=1e-6)


def test_nonautonomous_flow_matches_integral():
    t0, dt = 0.7, 0.01
    res = lyapunov_spectrum(_LinearFlow(c=2.0), None, t0=t0, **_LINEAR_RUN)
    s = t0 + _LINEAR_RUN["transient"] * dt
    e = s + _LINEAR_RUN["n_steps"] * dt
    expected = 0.3 + 2.0 * (math.sin(e) - math.sin(s)) / (e - s)
    np.testing.assert_allclose(np.asarray(res.exponents), [expected, -1.2], rtol=1e-6)


def test_callable_equals_map_and_from_function():
    henon = systems.Henon()
    y0 = jnp.array([0.1, 0.1])
    ref = lyapunov_spectrum(henon, y0, n_steps=2_000)
    plain = lyapunov_spectrum(lambda z: henon.step(z), y0, n_steps=2_000)
    user = lyapunov_spectrum(
        systems.from_function(lambda z: henon.step(z), dim=2, y0=(0.1, 0.1), discrete=True),
        None,
        n_steps=2_000,
    )
    for other in (plain, user):
        # Same operations in the same order: equal to round-off.
        np.testing.assert_allclose(
            np.asarray(other.exponents), np.asarray(ref.exponents), rtol=1e-12
        )
        np.testing.assert_allclose(np.asarray(other.history), np.asarray(ref.history), rtol=1e-12)


def test_renorm_every_gives_same_exponents_and_history_grid():
    # The R factor of a product is the product of the stepwise R factors (QR uniqueness),
    # so re-orthonormalising less often changes nothing but round-off.
    henon = systems.Henon()
    every1 = lyapunov_spectrum(henon, None, n_steps=1_000, transient=50)
    every7 = lyapunov_spectrum(henon, None, n_steps=1_000, transient=50, renorm_every=7)
    np.testing.assert_allclose(
        np.asarray(every7.exponents), np.asarray(every1.exponents), rtol=1e-9
    )
    assert every7.history.shape == (143, 2)
    np.testing.assert_array_equal(np.asarray(every7.history_steps[-2:]), [994, 1000])
    np.testing.assert_allclose(
        np.asarray(every7.history[::10]), np.asarray(every1.history[6::70]), rtol=1e-9
    )


def test_float32_module_step_with_model_dt():
    matrix = jnp.array([[2.0, 1.0], [0.0, 0.5]], dtype=jnp.float32)
    y0 = jnp.array([0.3, -0.2], dtype=jnp.float32)
    res = lyapunov_spectrum(_LinearStep(matrix), y0, n_steps=500, transient=50, dt=0.1)
    assert res.exponents.dtype == jnp.float32
    per_step = [math.log(2.0), math.log(0.5)]
    np.testing.assert_allclose(np.asarray(res.exponents_per_step), per_step, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(res.exponents), np.array(per_step) / 0.1, rtol=1e-5)


def test_vmap_over_parameters():
    # Under vmap the sum is still ln b for every b (|det J| = b).
    bs = jnp.array([0.2, 0.3])
    sums = jax.vmap(
        lambda b: lyapunov_spectrum(systems.Henon(b=b), None, n_steps=500).exponents.sum()
    )(bs)
    np.testing.assert_allclose(np.asarray(sums), np.log(np.asarray(bs)), rtol=1e-10)


def test_compiles_once():
    traces = []
    henon = systems.Henon()

    def step(z):
        traces.append(1)
        return henon.step(z)

    y0 = jnp.array([0.1, 0.1])
    lyapunov_spectrum(step, y0, n_steps=100)
    n_first = len(traces)
    lyapunov_spectrum(step, y0 + 0.01, n_steps=100)
    assert len(traces) == n_first


def test_kaplan_yorke_known_cases():
    lorenz = jnp.array([0.9056, 0.0, -14.5723])
    np.testing.assert_allclose(float(kaplan_yorke_dimension(lorenz)), 2 + 0.9056 / 14.5723)
    np.testing.assert_allclose(
        float(kaplan_yorke_dimension(lorenz[::-1])), 2 + 0.9056 / 14.5723, rtol=1e-12
    )
    henon = jnp.array([0.41922, -1.62319])
    np.testing.assert_allclose(float(kaplan_yorke_dimension(henon)), 1 + 0.41922 / 1.62319)
    assert float(kaplan_yorke_dimension(jnp.array([-0.1, -2.0]))) == 0.0
    assert float(kaplan_yorke_dimension(jnp.array([0.5, 0.1, -0.2]))) == 3.0
    assert float(kaplan_yorke_dimension(jnp.array([0.0, -1.0]))) == 1.0
    np.testing.assert_allclose(float(kaplan_yorke_dimension([1.0, -0.5, -1.0])), 2.5)


@pytest.mark.parametrize(
    "bad, err",
    [(jnp.ones((2, 2)), ValueError), (jnp.array([]), ValueError), ([0.1, jnp.nan], ValueError)],
)
def test_kaplan_yorke_rejects_bad_input(bad, err):
    with pytest.raises(err, match="exponents"):
        kaplan_yorke_dimension(bad)


def _henon_step(z):
    return systems.Henon().step(z)


@pytest.mark.parametrize(
    "system, y0, kwargs, err, match",
    [
        (systems.Lorenz63, None, {}, TypeError, "class Lorenz63"),
        ("henon", None, {}, TypeError, "system_or_map"),
        (_henon_step, None, {}, ValueError, "y0"),
        (systems.Henon(), jnp.ones(3), {}, ValueError, r"shape \(2,\)"),
        (systems.Henon(), jnp.ones((1, 2)), {}, ValueError, "y0"),
        (systems.Henon(), jnp.array([0.1, jnp.inf]), {}, ValueError, "y0"),
        (systems.Henon(), None, {"n_steps": 0}, ValueError, "n_steps"),
        (systems.Henon(), None, {"n_steps": 10.0}, TypeError, "n_steps"),
        (systems.Henon(), None, {"transient": -1}, ValueError, "transient"),
        (systems.Henon(), None, {"n_exponents": 3}, ValueError, "n_exponents"),
        (systems.Henon(), None, {"dt": 0.0}, ValueError, "dt"),
        (systems.Henon(), None, {"renorm_every": 0}, ValueError, "renorm_every"),
        (systems.Henon(), None, {"solver": diffrax.Tsit5()}, ValueError, "solver"),
        (systems.Lorenz63(), None, {"solver": "rk4"}, TypeError, "solver"),
        (systems.Lorenz63(), None, {"rtol": -1.0}, ValueError, "rtol"),
        (lambda z: z[:1], jnp.ones(2), {}, ValueError, "shape"),
    ],
)
def test_rejects_bad_input(system, y0, kwargs, err, match):
    with pytest.raises(err, match=match):
        lyapunov_spectrum(system, y0, **({"n_steps": 10, "transient": 0} | kwargs))


def test_diverging_orbit_raises():
    with pytest.raises(FloatingPointError, match="NaN/infinite"):
        lyapunov_spectrum(lambda z: z**2 + 1.0, jnp.array([2.0]), n_steps=50, transient=0)


def test_singular_jacobian_warns_minus_inf():
    step = lambda z: jnp.stack([0.5 * z[0], 0.0 * z[1]])  # noqa: E731
    with pytest.warns(RuntimeWarning, match="-inf"):
        res = lyapunov_spectrum(step, jnp.array([1.0, 1.0]), n_steps=20, transient=5)
    np.testing.assert_allclose(float(res.exponents[0]), math.log(0.5), rtol=1e-12)
    assert np.isneginf(float(res.exponents[1]))


def test_solver_failure_raises():
    # Tolerances no step can meet: every step is rejected until `max_steps` runs out.
    with pytest.raises(RuntimeError, match="max_steps"):
        lyapunov_spectrum(_LinearFlow(), None, rtol=1e-300, atol=1e-300, **_LINEAR_RUN)


@pytest.mark.slow
def test_lorenz_long_horizon_accuracy():
    start = time.perf_counter()
    res = lyapunov_spectrum(systems.Lorenz63(), None, n_steps=1_000_000, transient=1_000)
    lam = np.asarray(res.exponents)
    print(f"Lorenz-63 T=10000: {lam}, sum {lam.sum()}, {time.perf_counter() - start:.1f} s")
    np.testing.assert_allclose(lam[0], 0.9056, atol=0.02)
    np.testing.assert_allclose(lam.sum(), LORENZ_SUM, atol=1e-3)


@pytest.mark.slow
def test_rossler_long_horizon_accuracy():
    start = time.perf_counter()
    res = lyapunov_spectrum(systems.Rossler(), None, n_steps=312_500, transient=1_000)
    lam = np.asarray(res.exponents)
    print(f"Rossler T=25000: {lam}, {time.perf_counter() - start:.1f} s")
    np.testing.assert_allclose(lam[0], 0.0714, atol=0.005)
    np.testing.assert_allclose(lam[1], 0.0, atol=0.005)
