"""Time-delay (Hankel) embedding of a time-major series and its inverse."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_array, check_finite, check_int, check_ndim


def check_delays(n_time: int, delays: int, lag: int, name: str = "ys") -> None:
    """Raise a `ValueError` unless a series of `n_time` samples holds one delay window."""
    need = lag * (delays - 1) + 1
    if n_time < need + 1:
        raise ValueError(
            f"`delays`={delays} with `lag`={lag} needs a series of at least {need + 1} samples "
            f"(a window spans {need}; at least 2 windows), but `{name}` has {n_time}."
        )


def delay_embed(ys: ArrayLike, delays: int, lag: int = 1) -> Float[Array, "windows delays_dim"]:
    """Stack delayed copies of a series: the time-major Hankel (delay) embedding.

    Row `t` is `[y(t), y(t+lag), ..., y(t+(delays−1)lag)]` (oldest first, each `y` a block of
    `dim` entries), i.e. the transpose of PyDMD's block-Hankel matrix.

    **Arguments:**

    - `ys`: series `(time,)` or `(time, dim)`.
    - `delays`: number of delayed copies `d >= 1`.
    - `lag`: spacing of the copies in samples, `>= 1`.

    **Returns:** `(time − (d−1)·lag, d·dim)`.

    ```python
    delay_embed(jnp.arange(5.0), 3)  # [[0,1,2],[1,2,3],[2,3,4]]
    ```
    """
    ys = as_array(ys, "ys")
    check_ndim(ys, "ys", (1, 2), "(time,) or (time, dim)")
    delays = check_int(delays, "delays", minimum=1)
    lag = check_int(lag, "lag", minimum=1)
    if ys.ndim == 1:
        ys = ys[:, None]
    need = lag * (delays - 1) + 1
    if ys.shape[0] < need:
        raise ValueError(
            f"`delays`={delays} with `lag`={lag} spans {need} samples, but `ys` has {ys.shape[0]}."
        )
    check_finite(ys, "ys")
    return _embed(ys, delays, lag)


def _embed(ys: Any, delays: int, lag: int) -> Any:
    n_win = ys.shape[0] - lag * (delays - 1)
    idx = jnp.arange(n_win)[:, None] + lag * jnp.arange(delays)[None, :]
    return ys[idx].reshape(n_win, delays * ys.shape[1])


def delay_unembed(h: Float[Array, "windows delays_dim"], delays: int, lag: int = 1, dim: int = 1):
    """Invert [`delay_embed`][dynsys.koopman.delay_embed]: a series from delay windows.

    Each time is covered by several windows; like PyDMD's `dehankel`, the value of the
    last (newest) block covering it is kept.

    **Arguments:** `h` `(windows, delays·dim)`; `delays`, `lag`, `dim` as in the embedding.

    **Returns:** `(windows + (delays−1)·lag, dim)`.
    """
    n_win = h.shape[0]
    blocks = h.reshape(n_win, delays, dim)
    out = jnp.zeros((n_win + lag * (delays - 1), dim), h.dtype)
    for i in range(delays):
        out = out.at[i * lag : i * lag + n_win].set(blocks[:, i])
    return out
