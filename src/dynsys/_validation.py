"""Checks run once at the public boundary of dynsys.

Every public entry point validates its arguments with these helpers, so that bad input
fails early with a message naming the argument, what was expected and what was given.
Value checks (finiteness, monotonicity) are skipped for traced arrays inside `jax.jit`,
where values are unknown; shape checks always run.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_traced(x: Any) -> bool:
    """True when `x` is a JAX tracer (its values are unknown at this point)."""
    return isinstance(x, jax.core.Tracer)


def as_array(x: Any, name: str, *, dtype: Any = None) -> jax.Array:
    """Convert `x` to a floating JAX array, or raise a `TypeError` naming `name`."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"`{name}` must be an array of numbers, got {type(x).__name__}.")
    try:
        arr = jnp.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"`{name}` must be an array of numbers, got {type(x).__name__}.") from err
    if not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)):
        raise TypeError(f"`{name}` must hold real numbers, got dtype {arr.dtype}.")
    if jnp.issubdtype(arr.dtype, jnp.integer):
        arr = arr.astype(jnp.result_type(float))
    return arr


def check_ndim(x: Any, name: str, ndims: int | tuple[int, ...], what: str = "") -> None:
    """Raise a `ValueError` unless `x.ndim` is one of `ndims`."""
    allowed = (ndims,) if isinstance(ndims, int) else tuple(ndims)
    if x.ndim not in allowed:
        shape_txt = what or " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"`{name}` must be {shape_txt}, got shape {tuple(x.shape)}.")


def check_last_dim(x: Any, name: str, dim: int) -> None:
    """Raise a `ValueError` unless the last axis of `x` has length `dim`."""
    if x.shape[-1] != dim:
        raise ValueError(
            f"`{name}` must have last axis of length {dim} (the state dimension), "
            f"got shape {tuple(x.shape)}."
        )


def check_nonempty(x: Any, name: str, axis: int = 0, min_len: int = 1) -> None:
    """Raise a `ValueError` if `x` has fewer than `min_len` entries along `axis`."""
    if x.ndim == 0 or x.shape[axis] < min_len:
        raise ValueError(
            f"`{name}` must have at least {min_len} entries along axis {axis}, "
            f"got shape {tuple(x.shape)}."
        )


def check_finite(x: Any, name: str) -> None:
    """Raise a `ValueError` if `x` holds NaN or inf (skipped for traced values)."""
    if is_traced(x):
        return
    arr = np.asarray(x)
    if not np.all(np.isfinite(arr)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"`{name}` contains {n_bad} NaN or infinite value(s); clean the data first."
        )


def check_increasing(ts: Any, name: str) -> None:
    """Raise a `ValueError` unless the 1-D `ts` is strictly increasing (skipped if traced)."""
    if is_traced(ts):
        return
    arr = np.asarray(ts)
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        i = int(np.argmin(np.diff(arr) > 0))
        raise ValueError(
            f"`{name}` must be strictly increasing, but {name}[{i + 1}]={arr[i + 1]!r} "
            f"<= {name}[{i}]={arr[i]!r}."
        )


def check_real(value: Any, name: str) -> Any:
    """Check that `value` is one finite real number (a Python/numpy number or a 0-d real array).

    Raises a `TypeError` naming `name` for anything else (None, a string, a list, a bool, a
    complex number, an array with more than one entry) and a `ValueError` for NaN or inf,
    before any conversion. Returns the value as a Python float, or unchanged when traced.
    """
    if is_traced(value):
        return value
    if isinstance(value, bool | np.bool_) or not _is_real_scalar(value):
        raise TypeError(f"`{name}` must be a real number, got {_show(value)}.")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"`{name}` must be finite, got {value!r}.")
    return v


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> Any:
    """Raise unless the scalar `value` is a finite number > 0 (>= 0 with `allow_zero`).

    A `TypeError` for a non-number (checked first, see [`check_real`][]), a `ValueError`
    for NaN, inf or the wrong sign. Returns the value as a Python float (unchanged if traced).
    """
    bound = ">= 0" if allow_zero else "> 0"
    if is_traced(value):
        return value
    if isinstance(value, bool | np.bool_) or not _is_real_scalar(value):
        raise TypeError(f"`{name}` must be a real number {bound}, got {_show(value)}.")
    v = float(value)
    ok = v >= 0 if allow_zero else v > 0
    if not ok or not np.isfinite(v):
        raise ValueError(f"`{name}` must be finite and {bound}, got {value!r}.")
    return v


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return `value` as an int, raising a `TypeError`/`ValueError` naming `name` if unfit."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer, got {value!r}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}.")
    return value


def check_parameter(
    value: Any, name: str, *, positive: bool = False, allow_zero: bool = False
) -> Any:
    """Check a model or solver coefficient: a real number or a real array, all finite.

    With `positive`, every entry must be > 0 (>= 0 with `allow_zero`). Arrays of any shape
    are accepted (a stack of coefficients to `jax.vmap` over); traced values are skipped.
    Raises a `TypeError`/`ValueError` naming `name`; returns `value` unchanged.
    """
    if is_traced(value):
        return value
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    is_number = isinstance(value, int | float | np.integer | np.floating)
    if isinstance(value, bool | np.bool_) or not (is_number or (
        isinstance(value, np.ndarray | jax.Array) and kind in ("i", "u", "f")
    )):  # fmt: skip
        raise TypeError(f"`{name}` must be a real number or array, got {_show(value)}.")
    arr = np.asarray(value)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite, got {_short(arr)}.")
    if positive and not np.all(arr >= 0 if allow_zero else arr > 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be {bound}, got {_short(arr)}.")
    return value


def _short(arr: np.ndarray) -> str:
    return repr(arr.tolist()) if arr.size <= 6 else f"an array with {arr.size} entries"


def check_in_range(value: Any, name: str, low: float, high: float) -> Any:
    """Raise unless `value` is a real number with `low <= value <= high` (skipped if traced).

    A `TypeError` for a non-number (checked first), a `ValueError` for NaN or a value
    outside the interval. Returns the value as a Python float (unchanged if traced).
    """
    if is_traced(value):
        return value
    if isinstance(value, bool | np.bool_) or not _is_real_scalar(value):
        raise TypeError(f"`{name}` must be a real number in [{low}, {high}], got {_show(value)}.")
    v = float(value)
    if not (low <= v <= high):
        raise ValueError(f"`{name}` must lie in [{low}, {high}], got {value!r}.")
    return v


def check_key(key: Any, name: str = "key") -> Any:
    """Check that `key` is one JAX PRNG key; return it unchanged.

    Accepted: a typed key (`jax.random.key(0)`, shape `()`) or a raw key
    (`jax.random.PRNGKey(0)`, uint32 of the default implementation's shape, `(2,)`).
    Anything else (None, an int, a float array, a batch of keys) raises a `TypeError` naming
    `name`. Only dtypes and shapes are checked, so traced keys are checked too.
    """
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if shape == ():
            return key
        raise TypeError(f"`{name}` must be a single PRNG key, got a key array of shape {shape}.")
    raw_shape = _raw_key_shape()
    if dtype is not None and dtype == np.uint32 and tuple(shape) == raw_shape:
        return key
    got = _show(key) if dtype is None else f"an array of dtype {dtype} and shape {tuple(shape)}"
    raise TypeError(
        f"`{name}` must be a JAX PRNG key, e.g. jax.random.key(0) or jax.random.PRNGKey(0), "
        f"got {got}."
    )


@functools.cache
def _raw_key_shape() -> tuple[int, ...]:
    return tuple(jax.random.key_data(jax.random.key(0)).shape)


def _is_real_scalar(value: Any) -> bool:
    if isinstance(value, int | float | np.integer | np.floating):
        return True
    if isinstance(value, np.ndarray | jax.Array) and value.ndim == 0:
        return bool(
            np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)
        )
    return False


def _show(value: Any) -> str:
    """A short description of a bad value for an error message."""
    if value is None or isinstance(value, bool | int | float | complex | str):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)}"
    return type(value).__name__
