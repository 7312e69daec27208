"""Fixed-shape batches of whole series drawn at random, for training on entire trajectories."""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._validation import as_array, check_int
from ._random import check_key
from ._trajectories import Trajectories


class SeriesBatch(NamedTuple):
    """One batch of whole series from [`SeriesSampler`][].

    - `times`: `(time,)` when the series share one grid, else `(batch_size, time)`; None
      when the sampler has no times.
    - `states`: `(batch_size, time, *state_shape)`.
    - `inputs`: `(batch_size, time, input_dim)`, or None.
    - `mask`: booleans shaped like `states`, True where observed, or None.
    - `indices`: `(batch_size,)` indices of the drawn series in the data.
    """

    times: Float[Array, " time"] | Float[Array, "batch time"] | None
    states: Float[Array, "batch time *state"]
    inputs: Float[Array, "batch time input_dim"] | None
    mask: Bool[Array, "batch time *state"] | None
    indices: Int[Array, " batch"]


class SeriesSampler(eqx.Module):
    """Draws `batch_size` whole series per step: `sampler(key) -> SeriesBatch`.

    The sampler of [`dynsys.training.fit`][] for models trained on entire trajectories
    (neural ODEs, latent ODEs and SDEs). The series are drawn uniformly, without replacement
    when there are at least `batch_size` of them and with replacement otherwise (the default
    `replace=None`), so every batch has the same shape and a compiled training step never
    recompiles. Per-series time grids and observation masks are gathered with the states;
    a shared grid `(time,)` is passed through. It also takes the sampler convention of
    [`dynsys.training.fit`][], `sampler(step, key)`; the draw depends on the key only.

    The data are validated once, at construction; a call costs one compiled gather.

    **Arguments:**

    - `data`: [`Trajectories`][] (its times and inputs are used) or states
      `(batch, time, *state_shape)`.
    - `batch_size`: series per batch, `>= 1`.
    - `times`: `(time,)` shared or `(batch, time)` per series, finite and strictly
      increasing; only with an array `data` (optional).
    - `mask`: booleans `(batch, time)` or `(batch, time, *state_shape)`, True = observed
      (optional). States may be NaN or infinite only where the mask is False.
    - `replace`: draw with replacement; None: only when `batch_size` exceeds the number of
      series. `replace=False` needs `batch_size <= batch`.

    **Returns** (of `__call__(key)` or `__call__(step, key)`): a
    [`SeriesBatch`][dynsys.data.SeriesBatch] `(times, states, inputs, mask, indices)`, the
    mask broadcast to the shape of the states.

    ```python
    sampler = SeriesSampler(ys, times=ts, batch_size=32)     # ys (100, 50, 3), ts (50,)
    batch = sampler(jax.random.key(0))
    batch.states.shape, batch.times.shape                     # (32, 50, 3), (50,)
    ```
    """

    # a pure JAX function of (step, key): `training.fit` may draw inside its compiled calls
    jittable: ClassVar[bool] = True

    times: Float[Array, " time"] | Float[Array, "batch time"] | None
    states: Float[Array, "batch time *state"]
    inputs: Float[Array, "batch time input_dim"] | None
    mask: Bool[Array, "batch time *state"] | None
    batch_size: int = eqx.field(static=True)
    replace: bool = eqx.field(static=True)

    def __init__(
        self,
        data: Trajectories | Any,
        *,
        batch_size: int,
        times: Any = None,
        mask: Any = None,
        replace: bool | None = None,
    ):
        if isinstance(data, Trajectories):
            if times is not None:
                raise ValueError(
                    "`times` must not be given with Trajectories (their times are used)."
                )
            states, times, inputs = data.states, data.times, data.inputs
        else:
            states, inputs = as_array(data, "data"), None
            if states.ndim < 3 or any(n == 0 for n in states.shape):
                raise ValueError(
                    "`data` must be non-empty states (batch, time, *state_shape), got shape "
                    f"{tuple(states.shape)}."
                )
            if times is not None:
                times = _check_times(as_array(times, "times"), states.shape[:2])
        n_series = states.shape[0]
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        if replace is None:
            replace = self.batch_size > n_series
        elif not isinstance(replace, bool):
            raise TypeError(f"`replace` must be True, False or None, got {replace!r}.")
        elif not replace and self.batch_size > n_series:
            raise ValueError(
                f"`batch_size`={self.batch_size} exceeds the {n_series} series, which "
                "replace=False cannot draw; lower batch_size or pass replace=None or True."
            )
        self.replace = replace
        if mask is not None:
            mask = _check_mask(mask, states.shape)
        observed = np.ones(states.shape, bool) if mask is None else np.asarray(mask)
        bad = ~np.isfinite(np.asarray(states)) & observed
        if np.any(bad):
            raise ValueError(
                f"`data` holds {int(bad.sum())} NaN or infinite observed value(s) (first at "
                f"index {tuple(int(i) for i in np.argwhere(bad)[0])}); mark missing values "
                "False in `mask`."
            )
        self.times, self.states, self.inputs, self.mask = times, states, inputs, mask

    @property
    def n_series(self) -> int:
        """Number of series the sampler draws from."""
        return self.states.shape[0]

    def __call__(self, *args: Any) -> SeriesBatch:
        """`sampler(key)`, or `sampler(step, key)` as [`dynsys.training.fit`][] calls it."""
        if len(args) not in (1, 2):
            raise TypeError(
                "SeriesSampler is called as sampler(key) or sampler(step, key), got "
                f"{len(args)} arguments."
            )
        return _draw(
            check_key(args[-1]), self.times, self.states, self.inputs, self.mask,
            self.batch_size, self.replace,
        )  # fmt: skip


def _check_times(times: Any, batch_time: tuple[int, int]) -> Any:
    n, n_times = batch_time
    if times.shape not in ((n_times,), (n, n_times)):
        raise ValueError(
            f"`times` must be ({n_times},) or ({n}, {n_times}) for `data` with (batch, time) = "
            f"{batch_time}, got shape {tuple(times.shape)}."
        )
    arr = np.asarray(times)
    if not np.all(np.isfinite(arr)):
        raise ValueError("`times` contains NaN or infinite values.")
    if not np.all(np.diff(arr, axis=-1) > 0):
        raise ValueError("`times` must be strictly increasing along time (for every series).")
    return times


def _check_mask(mask: Any, shape: tuple[int, ...]) -> Any:
    mask = jnp.asarray(mask)
    if mask.dtype != jnp.bool_:
        raise TypeError(f"`mask` must be a boolean array (True = observed), got {mask.dtype}.")
    if mask.shape == shape[:2]:
        mask = jnp.broadcast_to(mask.reshape(shape[:2] + (1,) * (len(shape) - 2)), shape)
    if mask.shape != shape:
        raise ValueError(
            f"`mask` must have shape {shape[:2]} or {shape} (that of the states), got "
            f"{tuple(mask.shape)}."
        )
    return mask


@eqx.filter_jit
def _draw(key, times, states, inputs, mask, batch_size, replace):
    idx = jax.random.choice(key, states.shape[0], (batch_size,), replace=replace)
    return SeriesBatch(
        times=times[idx] if times is not None and times.ndim == 2 else times,
        states=states[idx],
        inputs=None if inputs is None else inputs[idx],
        mask=None if mask is None else mask[idx],
        indices=idx,
    )
