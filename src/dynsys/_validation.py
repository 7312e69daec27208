"""Checks run once at the public boundary of dynsys.

Every public entry point validates its arguments with these helpers, so that bad input
fails early with a message naming the argument, what was expected and what was given.
Value checks (finiteness, monotonicity) are skipped for traced arrays inside `jax.jit`,
where values are unknown; shape checks always run.
"""

from __future__ import annotations

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


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> None:
    """Raise a `ValueError` unless the scalar `value` is > 0 (or >= 0 with `allow_zero`)."""
    if is_traced(value):
        return
    v = float(value)
    ok = v >= 0 if allow_zero else v > 0
    if not ok or not np.isfinite(v):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be finite and {bound}, got {value!r}.")


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return `value` as an int, raising a `TypeError`/`ValueError` naming `name` if unfit."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer, got {value!r}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}.")
    return value


def check_in_range(value: Any, name: str, low: float, high: float) -> None:
    """Raise a `ValueError` unless `low <= value <= high` (skipped if traced)."""
    if is_traced(value):
        return
    v = float(value)
    if not (low <= v <= high):
        raise ValueError(f"`{name}` must lie in [{low}, {high}], got {value!r}.")
