"""The boundary checks of `dynsys._validation`: types first, then values, the name always."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys._validation import (
    check_in_range,
    check_key,
    check_parameter,
    check_positive,
    check_real,
)

NOT_NUMBERS = [None, "1", b"1", [1.0], (1.0,), {"a": 1}, True, 1 + 2j, np.ones(2), object()]
FINITE = st.floats(allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("value", NOT_NUMBERS)
@pytest.mark.parametrize(
    "check",
    [check_real, check_positive, lambda v, n: check_in_range(v, n, 0.0, 1.0)],
)
def test_non_numbers_are_a_type_error_naming_the_argument(check, value):
    # the type is checked before any float() conversion (e.g. `rtol=None`, `dt="1"`)
    with pytest.raises(TypeError, match="`rtol`"):
        check(value, "rtol")


@settings(max_examples=60, deadline=None)
@given(FINITE)
def test_check_positive_accepts_exactly_the_positive_numbers(x):
    if x > 0:
        assert check_positive(x, "dt") == x
    else:
        with pytest.raises(ValueError, match="`dt`"):
            check_positive(x, "dt")
    if x >= 0:
        assert check_positive(x, "dt", allow_zero=True) == x


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_a_value_error(bad):
    for check in (check_real, check_positive):
        with pytest.raises(ValueError, match="`x`"):
            check(bad, "x")
    with pytest.raises(ValueError, match="`x`"):
        check_in_range(bad, "x", 0.0, 1.0)


@settings(max_examples=60, deadline=None)
@given(FINITE)
def test_check_in_range_bounds(x):
    if 0.0 <= x <= 1.0:
        assert check_in_range(x, "p", 0.0, 1.0) == x
    else:
        with pytest.raises(ValueError, match=r"`p` must lie in \[0.0, 1.0\]"):
            check_in_range(x, "p", 0.0, 1.0)


def test_zero_dimensional_arrays_are_numbers_and_traced_values_pass():
    assert check_real(np.array(2.5), "x") == 2.5
    assert check_positive(jnp.asarray(3), "x") == 3.0
    # inside jit the value is unknown: nothing to check, the tracer comes back
    assert float(jax.jit(lambda v: check_positive(v, "x") * 2)(1.5)) == 3.0


@pytest.mark.parametrize("key", [jax.random.key(0), jax.random.PRNGKey(0)])
def test_check_key_accepts_typed_and_raw_keys(key):
    assert check_key(key) is key
    jax.jit(lambda k: check_key(k))(key)  # dtypes and shapes are known when traced


@pytest.mark.parametrize(
    "bad",
    [None, 0, 1.5, np.zeros(2), np.zeros(2, np.int32), jax.random.split(jax.random.key(0), 3)],
)
def test_check_key_rejects_everything_else_naming_it(bad):
    with pytest.raises(TypeError, match="`rng`"):
        check_key(bad, "rng")


def test_check_parameter_takes_numbers_and_arrays():
    assert check_parameter(0.5, "feed_rate") == 0.5
    stack = np.array([0.1, 0.2])
    assert check_parameter(stack, "feed_rate", positive=True) is stack
    with pytest.raises(ValueError, match="`tau`"):
        check_parameter(np.array([1.0, 0.0]), "tau", positive=True)
    with pytest.raises(ValueError, match="`k`"):
        check_parameter(np.array([1.0, np.nan]), "k")
    for bad in (None, "0.1", [0.1], True, np.array(["a"])):
        with pytest.raises(TypeError, match="`k`"):
            check_parameter(bad, "k")
