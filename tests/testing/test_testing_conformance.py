"""The stepper conformance suite on every built-in stepper and on a user's toy stepper."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import pde
from dynsys.testing import StepperConformanceError, check_stepper, convergence_order

L = 2 * np.pi


class ToyAdvectionDiffusion(eqx.Module):
    """A user's stepper: FD advection–diffusion, Heun (RK2) in time, not subclassing anything."""

    dt: float
    velocity: float = 1.0
    nu: float = 0.05
    n: int = 32

    def rhs(self, u):
        dx = L / self.n
        up, um = jnp.roll(u, -1, -1), jnp.roll(u, 1, -1)
        return -self.velocity * (up - um) / (2 * dx) + self.nu * (up - 2 * u + um) / dx**2

    def __call__(self, u):
        k1 = self.rhs(u)
        k2 = self.rhs(u + self.dt * k1)
        return u + 0.5 * self.dt * (k1 + k2)


def _u1(n):
    return pde.truncated_fourier_series(jax.random.key(0), 1, n, cutoff=3)


def test_user_toy_stepper_passes_with_order_two():
    make = lambda dt: ToyAdvectionDiffusion(dt=dt)  # noqa: E731
    report = check_stepper(make(0.02), _u1(32), make_stepper=make, expected_order=2)
    assert all(entry["ok"] for entry in report.values())
    assert 1.8 < report["convergence"]["order"] < 2.3
    assert report["grad"]["rel_err"] < 1e-6


BUILTINS = {
    "heat": (lambda dt: pde.Heat(1, L, 16, dt, diffusivity=0.1), 0.1, 1),
    "burgers": (lambda dt: pde.Burgers(1, L, 16, dt, diffusivity=0.1), 0.1, 1),
    "ks": (lambda dt: pde.KuramotoSivashinsky(1, 30.0, 16, dt), 0.05, 1),
    "kdv": (
        lambda dt: pde.KortewegDeVries(1, L, 16, dt, convection_scale=1.0, dispersivity=0.1),
        0.01,
        1,
    ),  # fmt: skip
    "burgers2d": (lambda dt: pde.Burgers(2, L, 8, dt, diffusivity=0.1), 0.1, 2),
    "ks2d": (lambda dt: pde.KuramotoSivashinsky(2, 20.0, 8, dt), 0.05, 2),
    "kdv2d": (
        lambda dt: pde.KortewegDeVries(2, L, 8, dt, convection_scale=1.0, dispersivity=0.05),
        0.01,
        2,
    ),  # fmt: skip
    "gray_scott": (lambda dt: pde.GrayScott(2.5, 8, dt), 1.0, "rd"),
    "fitzhugh_nagumo": (lambda dt: pde.FitzHughNagumo(2.0, 8, dt), 1e-3, "rd"),
    "parametric_burgers": (lambda dt: pde.ParametricBurgers(num_points=32, dt=dt), 0.07, "pb"),
}


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_steppers_conform(name):
    make, dt, kind = BUILTINS[name]
    if kind == "pb":
        u = 1.0 + 0.3 * jnp.abs(_u1(32))
    elif kind == "rd":
        b = jnp.abs(pde.truncated_fourier_series(jax.random.key(0), 2, 8, cutoff=2))
        u = jnp.concatenate([1 - 0.3 * b, 0.25 * b])
    elif kind == 2:
        u = pde.truncated_fourier_series(jax.random.key(0), 2, 8, cutoff=2)
    else:
        u = _u1(16)
    report = check_stepper(make(dt), u, make_stepper=make)
    assert report["grad"]["rel_err"] < 1e-5
    assert {"shape_dtype", "jit", "vmap", "grad", "time_derivative"} <= set(report)


def test_broken_steppers_are_reported():
    class WrongShape(eqx.Module):
        dt: float = 0.1

        def __call__(self, u):
            return u[..., ::2]

    with pytest.raises(StepperConformanceError, match="shape_dtype"):
        check_stepper(WrongShape(), _u1(16))

    class NoGradient(eqx.Module):
        dt: float = 0.1

        def __call__(self, u):
            return u + 0.1 * jax.lax.stop_gradient(jnp.sin(u))

    with pytest.raises(StepperConformanceError, match="grad"):
        check_stepper(NoGradient(), _u1(16))

    class BadRhs(eqx.Module):
        """Steps correctly but reports a right-hand side three times too large."""

        dt: float = 0.01

        def rhs(self, u):
            return 3.0 * ToyAdvectionDiffusion(dt=self.dt).rhs(u)

        def __call__(self, u):
            return ToyAdvectionDiffusion(dt=self.dt)(u)

    report = check_stepper(BadRhs(), _u1(32), raise_on_failure=False)
    assert not report["time_derivative"]["ok"]
    with pytest.raises(StepperConformanceError, match="convergence"):
        # Claims order 4, is order 2.
        check_stepper(
            ToyAdvectionDiffusion(dt=0.02),
            _u1(32),
            make_stepper=lambda dt: ToyAdvectionDiffusion(dt=dt),
            expected_order=4,
        )


def test_convergence_order_input_errors():
    with pytest.raises(ValueError, match="at least two"):
        convergence_order(lambda dt: pde.Heat(1, L, 8, dt), _u1(8), 1.0, [0.1])
    with pytest.raises(ValueError, match="multiple"):
        convergence_order(lambda dt: pde.Heat(1, L, 8, dt), _u1(8), 1.0, [0.3, 0.15])
