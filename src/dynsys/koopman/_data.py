"""Validation of snapshot data at the public boundary of `dynsys.koopman`."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import as_array, check_finite, check_ndim, check_positive, is_traced


def check_snapshots(ys: Any, name: str = "ys", min_time: int = 2, *, add_batch: bool = True):
    """Return `ys` as `(batch, time, dim)` and whether it came batched; raise on bad input.

    With `add_batch=False` a `(time, dim)` array is returned as it is: adding the axis
    outside `jit` copies the data.
    """
    if isinstance(ys, (jax.Array, np.ndarray)) and jnp.issubdtype(ys.dtype, jnp.complexfloating):
        ys = jnp.asarray(ys)
    else:
        ys = as_array(ys, name)
    check_ndim(ys, name, (2, 3), "(time, dim) or (batch, time, dim)")
    batched = ys.ndim == 3
    if ys.shape[-2] < min_time:
        raise ValueError(
            f"`{name}` must hold at least {min_time} snapshots along the time axis, "
            f"got shape {tuple(ys.shape)}."
        )
    if ys.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {tuple(ys.shape)}.")
    check_finite(ys, name)
    return (ys[None] if add_batch and not batched else ys), batched


def check_dt(dt: Any) -> float:
    """The sampling step as a Python float > 0."""
    if is_traced(dt):
        raise TypeError("`dt` must be a concrete number (not traced), got a traced value.")
    check_positive(dt, "dt")
    return float(dt)


def snapshot_pairs(ys):
    """Columns X = [x_0..x_{T-2}], Y = [x_1..x_{T-1}] of every trajectory, side by side.

    Pairs never straddle two trajectories, so a batch is fitted jointly without seams.
    Shapes `(dim, batch·(time−1))`.
    """
    b, t, d = ys.shape
    x = ys[:, :-1].reshape(b * (t - 1), d).T
    y = ys[:, 1:].reshape(b * (t - 1), d).T
    return x, y


def condition_limit(dtype) -> float:
    """Condition number above which a warning is due: 3/4 of the digits are lost."""
    return float(jnp.finfo(dtype).eps) ** -0.75


def warn_ill_conditioned(s: Any, r: int, dtype, what: str) -> None:
    """Warn (with the condition number) if σ₁/σ_r makes the inverse lose most digits."""
    if is_traced(s):
        return
    s = np.asarray(s)
    if s[r - 1] == 0.0:
        raise ValueError(
            f"{what} has rank < {r}: its singular value number {r} is exactly 0. "
            "Lower `rank` (or use a rank rule such as 0 or 0.999)."
        )
    cond = float(s[0] / s[r - 1])
    if cond > condition_limit(dtype):
        warnings.warn(
            f"{what} truncated to rank {r} is ill-conditioned: condition number "
            f"{cond:.3e} (about {np.log10(cond):.0f} of {-np.log10(jnp.finfo(dtype).eps):.0f} "
            "digits lost). Lower `rank`, or use a rank rule such as 0 (optimal hard threshold).",
            stacklevel=3,
        )
