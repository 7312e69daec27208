"""Boundary checks shared by the neural-DE models and their fitting: times, data, masks."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from .._validation import as_array, check_increasing, check_ndim, is_traced


def check_times(ts: Any, name: str = "ts", *, min_len: int = 2) -> Any:
    """`ts` as a float array `(time,)` or per-sample `(batch, time)`, strictly increasing."""
    ts = as_array(ts, name)
    check_ndim(ts, name, (1, 2), "1-D (time,) or 2-D (batch, time)")
    if ts.shape[-1] < min_len:
        raise ValueError(
            f"`{name}` must hold at least {min_len} times, got shape {tuple(ts.shape)}."
        )
    if not is_traced(ts):
        arr = np.asarray(ts)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"`{name}` contains NaN or infinite times.")
        if arr.ndim == 1:
            check_increasing(arr, name)
        else:
            steps = np.diff(arr, axis=-1)
            if not np.all(steps > 0):
                b, i = np.argwhere(~(steps > 0))[0]
                raise ValueError(
                    f"`{name}` must be strictly increasing along time for every sample, but "
                    f"{name}[{b}, {i + 1}]={arr[b, i + 1]!r} <= {name}[{b}, {i}]={arr[b, i]!r} "
                    "(duplicate or decreasing time)."
                )
    return ts


def check_state(y0: Any, name: str, dim: int) -> Any:
    """`y0` as a float array whose last axis has length `dim`."""
    y0 = as_array(y0, name)
    if y0.ndim == 0 or y0.shape[-1] != dim:
        raise ValueError(
            f"`{name}` must have last axis of length {dim} (the model's data dimension), "
            f"got shape {tuple(y0.shape)}."
        )
    return y0


def check_observations(ts: Any, ys: Any, mask: Any, dim: int) -> tuple[Any, Any, Any]:
    """Validate a batch of observations; return `(ts, ys_filled, mask)`.

    `ts` is `(time,)` (shared grid) or `(batch, time)`; `ys` is `(batch, time, dim)` or one
    trajectory `(time, dim)`; `mask` is None or boolean `(batch, time)` / `(batch, time,
    dim)`, True where observed. NaN in `ys` is an error unless masked out; masked entries
    are replaced by 0 so that nothing non-finite reaches a loss. Returns `mask` broadcast to
    the shape of `ys` (all True when None).
    """
    ys = as_array(ys, "ys")
    if ys.ndim == 2:
        ys = ys[None]
        if mask is not None:
            mask = jnp.asarray(mask)[None]
    check_ndim(ys, "ys", 3, "(batch, time, dim) or (time, dim)")
    if ys.shape[-1] != dim:
        raise ValueError(
            f"`ys` must have last axis of length {dim} (the model's data dimension), "
            f"got shape {tuple(ys.shape)}."
        )
    ts = check_times(ts, "ts")
    if ts.shape[-1] != ys.shape[1]:
        raise ValueError(
            f"`ts` and `ys` disagree in length: ts has {ts.shape[-1]} times, ys has "
            f"{ys.shape[1]} (shapes {tuple(ts.shape)} and {tuple(ys.shape)})."
        )
    if ts.ndim == 2 and ts.shape[0] != ys.shape[0]:
        raise ValueError(
            f"Per-sample `ts` {tuple(ts.shape)} must have one row per trajectory of `ys` "
            f"{tuple(ys.shape)}."
        )
    if mask is None:
        mask = jnp.ones(ys.shape, dtype=bool)
    else:
        mask = jnp.asarray(mask)
        if mask.dtype != jnp.bool_:
            raise TypeError(f"`mask` must be a boolean array (True = observed), got {mask.dtype}.")
        if mask.shape == ys.shape[:2]:
            mask = jnp.broadcast_to(mask[..., None], ys.shape)
        if mask.shape != ys.shape:
            raise ValueError(
                f"`mask` must have shape {tuple(ys.shape[:2])} or {tuple(ys.shape)} (that of "
                f"`ys`), got {tuple(mask.shape)}."
            )
    if not is_traced(ys):
        bad = ~np.isfinite(np.asarray(ys)) & np.asarray(mask)
        if np.any(bad):
            b, i, j = np.argwhere(bad)[0]
            raise ValueError(
                f"`ys` contains {int(bad.sum())} NaN or infinite observation(s) that are not "
                f"masked out (first: ys[{b}, {i}, {j}]); pass mask=... (True = observed) to "
                "mark missing values instead of NaN."
            )
    ys = jnp.where(mask, ys, jnp.zeros((), ys.dtype))
    return ts, ys, mask


def masked_mean_square(pred: Any, ys: Any, mask: Any) -> Any:
    """Mean of `(pred - ys)²` over the observed (mask True) entries."""
    diff = jnp.where(mask, pred - ys, jnp.zeros((), pred.dtype))
    count = jnp.maximum(jnp.sum(mask), 1).astype(pred.dtype)
    return jnp.sum(diff**2) / count
