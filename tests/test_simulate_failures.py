"""`simulate` on bad tolerances, diverging maps and failing solves (issue 27)."""

import diffrax
import jax.numpy as jnp
import numpy as np
import pytest

import dynsys
from dynsys import systems


def named(name):
    """The argument named in backticks (dynsys) or quotes (the test suite's type-check hook)."""
    return rf"[`']{name}[`'\[]"


@pytest.mark.parametrize("bad", [None, "1e-6", [1e-6]])
def test_tolerances_are_type_checked_before_use(bad):
    with pytest.raises(TypeError, match=named("rtol")):
        dynsys.simulate(systems.Lorenz63(), None, jnp.linspace(0.0, 0.1, 3), rtol=bad)


def test_a_diverging_map_warns_with_the_step():
    ts = jnp.arange(12.0)
    with pytest.warns(RuntimeWarning, match="diverges from `y0`"):
        ys = dynsys.simulate(systems.Henon(), jnp.array([1e30, 0.0]), ts)
    assert not np.all(np.isfinite(np.asarray(ys)))


def test_a_failing_solve_is_a_runtime_error_with_a_hint():
    growth = systems.from_function(lambda t, y: y, dim=1)
    with pytest.raises(RuntimeError, match="`max_steps`"):
        dynsys.simulate(growth, None, jnp.array([0.0, 50.0]), solver=diffrax.Heun(),
                        max_steps=3)  # fmt: skip
    with pytest.raises(TypeError, match="`solver` must estimate its error"):
        dynsys.simulate(growth, None, jnp.array([0.0, 1.0]), solver=diffrax.Euler())
