"""PDE tools reject bad input naming the argument, before any computation (issue 27)."""

import jax
import numpy as np
import pytest

from dynsys import pde
from dynsys.testing import StepperConformanceError, check_stepper, convergence_order


def named(name):
    """The argument named in backticks (dynsys) or quotes (the test suite's type-check hook)."""
    return rf"[`']{name}[`'\[]"


def test_laplacian_of_an_integer_field_is_finite():
    u = np.arange(16, dtype=np.int32).reshape(1, 4, 4)
    lap = np.asarray(pde.laplacian_fd(u, 0.5))
    assert lap.dtype.kind == "f" and np.all(np.isfinite(lap))
    with pytest.raises(ValueError, match=named("u")):
        pde.laplacian_fd(np.full((1, 4), np.nan), 0.5)
    with pytest.raises(TypeError, match=named("dx")):
        pde.laplacian_fd(np.ones((1, 4)), None)


@pytest.mark.parametrize("kwargs, name", [
    (dict(dt=0.0), "dt"), (dict(dt=None), "dt"), (dict(circle_radius=-1.0), "circle_radius"),
    (dict(num_circle_points=0), "num_circle_points"), (dict(dt=1e4), "linear"),
])  # fmt: skip
def test_etdrk4_coefficients_checks(kwargs, name):
    args = {"linear": np.array([-1.0, 0.0, 1.0]), "dt": 0.1, **kwargs}
    with pytest.raises((TypeError, ValueError), match=named(name)):
        pde.etdrk4_coefficients(**args)


@pytest.mark.parametrize("n, name", [(0, "num_points"), (2.5, "num_points")])
def test_wavenumbers_checks(n, name):
    with pytest.raises((TypeError, ValueError), match=named(name)):
        pde.wavenumbers(1, 1.0, n)
    with pytest.raises(ValueError, match=named("domain_extent")):
        pde.wavenumbers(1, 0.0, 8)


def test_spectral_stepper_with_an_exploding_linear_part_names_its_coefficients():
    with pytest.raises(ValueError, match=named("second_order_scale")):
        pde.KuramotoSivashinsky(1, 10.0, 16, 0.1, second_order_scale=1e30)
    with pytest.raises(ValueError, match=named("convection_scale")):
        pde.Burgers(1, 1.0, 16, 0.1, convection_scale=float("nan"))


def test_stepper_inputs_and_aux_are_checked():
    heat = pde.Heat(1, 1.0, 8, 0.01)
    with pytest.raises(ValueError, match=named("u0")):
        pde.rollout(heat, np.ones((1, 9)), 2)
    with pytest.raises(ValueError, match=named("u")):
        pde.time_derivative(heat, np.full((1, 8), np.nan))
    with pytest.raises(ValueError, match=named("aux")):
        pde.ParametricBurgers(num_points=8)(np.ones((1, 8)), float("nan"))
    with pytest.raises(ValueError, match=named("feed_rate")):
        pde.GrayScott(feed_rate=float("inf"))
    with pytest.raises(ValueError, match=named("num_points")):
        pde.check_state(np.ones((1, 8)), 1, 1, 0)


def test_an_unstable_step_warns():
    with pytest.warns(RuntimeWarning, match="unstable"):
        pde.ParametricBurgers(num_points=8)(np.ones((1, 8)), 1e3)


class _Euler(pde.AbstractStepper):
    dt: float
    num_spatial_dims: int = 1
    num_points: int = 8
    num_channels: int = 1
    domain_extent: float = 1.0

    def step(self, u, *aux):
        return u - self.dt * u


def test_conformance_checks_reject_bad_arguments():
    u = np.ones((1, 8))
    with pytest.raises(ValueError, match=named("u")):
        check_stepper(_Euler(0.1), np.full((1, 8), np.nan))
    with pytest.raises(TypeError, match=named("rhs_rtol")):
        check_stepper(_Euler(0.1), u, rhs_rtol=None)
    with pytest.raises(ValueError, match=named("dts")):
        convergence_order(lambda dt: _Euler(dt), u, 0.4, [0.1])
    with pytest.raises(ValueError, match=named("u0")):
        convergence_order(lambda dt: _Euler(dt), np.ones((1, 9)), 0.4, [0.2, 0.1])
    with pytest.raises(ValueError, match=named("t_final")):
        convergence_order(lambda dt: _Euler(dt), u, 1e30, [0.2, 0.1])
    # a failed check is an AssertionError and a ValueError, and names what it concerns
    with pytest.raises(StepperConformanceError, match=named("expected_order")) as info:
        check_stepper(_Euler(0.1), u, make_stepper=_Euler, expected_order=5)
    assert isinstance(info.value, AssertionError) and isinstance(info.value, ValueError)


def test_truncated_fourier_series_checks_the_key():
    with pytest.raises(TypeError, match=named("key")):
        pde.truncated_fourier_series(None, 1, 16)
    with pytest.raises(ValueError, match=named("width_range")):
        pde.gaussian_blobs(jax.random.key(0), 1, 1.0, 8, width_range=(0.2, 0.1))
