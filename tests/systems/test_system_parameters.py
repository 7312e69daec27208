"""System parameters are checked at construction, naming the parameter (issue 27)."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import systems


def named(name):
    """The argument named in backticks (dynsys) or quotes (the test suite's type-check hook)."""
    return rf"[`']{name}[`'\[]"


@pytest.mark.parametrize(
    "cls, name",
    [(systems.Lorenz63, "sigma"), (systems.Henon, "a"), (systems.Lorenz96, "forcing"),
     (systems.Rossler, "c"), (systems.Logistic, "r")],
)  # fmt: skip
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.array([1.0, np.nan])])
def test_non_finite_parameters_fail_at_construction(cls, name, bad):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=named(name)):
        cls(**{name: bad})
    assert time.perf_counter() - start < 5.0  # not after an ODE solve


@pytest.mark.parametrize("bad", [None, "10", [10.0, 11.0], True, 1 + 1j, np.array(["a"])])
def test_non_numbers_are_type_errors(bad):
    with pytest.raises(TypeError, match=named("sigma")):
        systems.Lorenz63(sigma=bad)


def test_valid_values_numbers_arrays_and_traced():
    assert float(systems.Lorenz63(sigma=np.int64(3)).sigma) == 3.0
    assert systems.Lorenz63(sigma=np.array([9.0, 10.0])).sigma.shape == (2,)  # a batch
    assert systems.Lorenz96(forcing=2).default_y0[:2] == (2.01, 2.0)
    sigmas = jax.vmap(lambda s: systems.Lorenz63(sigma=s).sigma)(jnp.arange(3.0))
    np.testing.assert_array_equal(np.asarray(sigmas), [0.0, 1.0, 2.0])
    grad = jax.grad(lambda r: systems.Lorenz63(rho=r).rhs(0.0, jnp.ones(3))[1])(28.0)
    assert float(grad) == 1.0
    with pytest.raises(ValueError, match=named("default")):
        systems.param(float("nan"))


def test_from_function_checks_its_arguments():
    fn = lambda t, y: -y  # noqa: E731
    with pytest.raises(ValueError, match=named("y0")):
        systems.from_function(fn, dim=2, y0=(1.0, float("nan")))
    with pytest.raises(ValueError, match="`y0` must have length"):
        systems.from_function(fn, dim=2, y0=(1.0, 2.0, 3.0))
    with pytest.raises(TypeError, match=named("dt")):
        systems.from_function(fn, dim=2, dt="0.1")
    with pytest.raises(TypeError, match=named("name")):
        systems.from_function(fn, dim=2, name=3)
    with pytest.raises(ValueError, match=named("dt")):
        systems.FunctionFlow(fn, 2, -0.1, (1.0, 0.0), "decay")
    with pytest.raises(TypeError, match=named("fn")):
        systems.FunctionMap(None, 2, 1.0, (1.0, 0.0), "half")
