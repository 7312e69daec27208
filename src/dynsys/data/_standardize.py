"""Z-scoring per channel with stored statistics that can be inverted."""

from __future__ import annotations

from typing import Any, TypeVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import (
    as_array,
    check_finite,
    check_int,
    check_ndim,
    check_nonempty,
    is_traced,
)
from ._trajectories import Trajectories, _check_standardization

_METADATA_KEY = "standardization"

_Data = TypeVar("_Data", Trajectories, ArrayLike)


class Standardization(eqx.Module):
    """Per-channel z-scoring x ↦ (x − mean) / std, with its inverse.

    Statistics are per channel (per state dimension for ODE data), pooled over all
    trajectories, time steps and, for fields, spatial positions; `std` is the population
    standard deviation (ddof = 0). A channel that is exactly constant gets `std = 1`, so it
    is only centred. Applied to [`Trajectories`][], the statistics are recorded in the
    metadata under `"standardization"` (`mean`, `std`, `n_space`), from which
    [`Standardization.from_metadata`][] rebuilds the transform to invert model output.

    Arrays are accepted too: the channel axis is `x.ndim - 1 - n_space`, i.e. the last axis
    for `(..., dim)` data and axis −(1 + n_space) for fields `(..., channels, *space)`.

    **Arguments:**

    - `mean`, `std`: shape `(channels,)`, finite, `std > 0` (checked at construction: a
      `ValueError` names the argument).
    - `n_space`: number of trailing spatial axes after the channel axis (0 for ODE data).

    ```python
    stats = Standardization.fit(traj)
    z = stats.apply(traj)          # zero mean, unit std per dimension
    back = stats.invert(z)         # equals traj up to rounding
    ```
    """

    # `_channels`: equal lengths are checked by `__check_init__`, with its own message.
    mean: Float[Array, " _channels"] = eqx.field(converter=lambda x: as_array(x, "mean"))
    std: Float[Array, " _channels"] = eqx.field(converter=lambda x: as_array(x, "std"))
    n_space: int = eqx.field(static=True, default=0)

    def __check_init__(self):
        check_ndim(self.mean, "mean", 1, "1-D (channels,)")
        if self.std.shape != self.mean.shape:
            raise ValueError(
                f"`std` must have the shape of `mean` {tuple(self.mean.shape)} (one per "
                f"channel), got {tuple(self.std.shape)}."
            )
        check_int(self.n_space, "n_space", minimum=0)
        check_finite(self.mean, "mean")
        check_finite(self.std, "std")
        if not is_traced(self.std) and not bool(np.all(np.asarray(self.std) > 0)):
            bad = np.flatnonzero(~(np.asarray(self.std) > 0)).tolist()
            raise ValueError(
                f"`std` must be > 0 in every channel (it divides the data), got "
                f"{np.asarray(self.std).tolist()} (channel(s) {bad})."
            )

    @classmethod
    def fit(cls, data: Trajectories | Any, *, n_space: int | None = None) -> Standardization:
        """Estimate per-channel mean and std from `data`.

        **Arguments:**

        - `data`: [`Trajectories`][], or an array `(..., channels, *space)` with at least
          one sample axis before the channel axis, e.g. `(time, dim)` or `(batch, time, dim)`.
        - `n_space`: number of spatial axes for an array (default 0); for `Trajectories` it
          is `states.ndim - 3` and must not be given differently.

        **Returns:** a `Standardization` holding arrays of the data's dtype.
        """
        x, n_space = _data_array(data, n_space, "data")
        check_nonempty(x, "data", axis=0)
        check_finite(x, "data")
        axis = x.ndim - 1 - n_space
        if is_traced(x):
            moved = jnp.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)
            mean, std = jnp.mean(moved, axis=1), jnp.std(moved, axis=1)
            std = jnp.where(std > 0, std, jnp.ones_like(std))
        else:
            # Accumulate in float64 so float32 data of 10^5+ samples keeps its digits.
            moved = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0).reshape(x.shape[axis], -1)
            mean, std = moved.mean(axis=1), moved.std(axis=1)
            std = np.where(std > 0, std, 1.0)
            mean, std = jnp.asarray(mean.astype(x.dtype)), jnp.asarray(std.astype(x.dtype))
        return cls(mean=mean, std=std, n_space=n_space)

    @classmethod
    def from_metadata(cls, traj: Trajectories) -> Standardization:
        """The transform recorded in `traj.metadata["standardization"]` (raises if absent)."""
        if not isinstance(traj, Trajectories):
            raise TypeError(
                f"`traj` must be a dynsys.data.Trajectories, got {type(traj).__name__}."
            )
        stats = traj.metadata.get(_METADATA_KEY)
        if stats is None:
            raise ValueError("`traj` carries no standardisation statistics in its metadata.")
        _check_standardization(stats, traj.states, f"`traj` metadata field `{_METADATA_KEY}`")
        dtype = traj.dtype
        return cls(
            mean=jnp.asarray(np.asarray(stats["mean"], dtype=dtype)),
            std=jnp.asarray(np.asarray(stats["std"], dtype=dtype)),
            n_space=int(stats.get("n_space", 0)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The statistics as plain lists (the form stored in metadata)."""
        return {
            "mean": np.asarray(self.mean).tolist(),
            "std": np.asarray(self.std).tolist(),
            "n_space": self.n_space,
        }

    def apply(self, data: _Data) -> _Data:
        """Return (data − mean) / std; `Trajectories` also get the statistics in metadata."""
        if isinstance(data, Trajectories):
            self._check_traj(data)
            z = self._forward(data.states)
            return data.replace(states=z, **{_METADATA_KEY: self.to_dict()})
        x = self._check_array(data)
        return self._forward(x)

    def invert(self, data: _Data) -> _Data:
        """Return data · std + mean; `Trajectories` lose the statistics from their metadata."""
        if isinstance(data, Trajectories):
            self._check_traj(data)
            meta = data.metadata
            meta.pop(_METADATA_KEY, None)
            return Trajectories(data.times, self._backward(data.states), data.inputs, meta)
        x = self._check_array(data)
        return self._backward(x)

    def _shaped(self, x):
        shape = (self.mean.shape[0],) + (1,) * self.n_space
        return self.mean.astype(x.dtype).reshape(shape), self.std.astype(x.dtype).reshape(shape)

    def _forward(self, x):
        mean, std = self._shaped(x)
        return (x - mean) / std

    def _backward(self, x):
        mean, std = self._shaped(x)
        return x * std + mean

    def _check_traj(self, traj: Trajectories) -> None:
        if traj.states.ndim - 3 != self.n_space or traj.dim != self.mean.shape[0]:
            raise ValueError(
                f"`data` has state shape {traj.state_shape}; this Standardization expects "
                f"{self.mean.shape[0]} channels and {self.n_space} spatial axes."
            )

    def _check_array(self, data: Any):
        x = as_array(data, "data")
        axis = x.ndim - 1 - self.n_space
        if axis < 0 or x.shape[axis] != self.mean.shape[0]:
            raise ValueError(
                f"`data` must have {self.mean.shape[0]} channels on axis {axis} "
                f"(n_space={self.n_space}), got shape {tuple(x.shape)}."
            )
        return x


def standardize(
    data: Trajectories, stats: Standardization | None = None
) -> tuple[Trajectories, Standardization]:
    """Z-score `data` per channel, with statistics fitted on it or given.

    **Arguments:**

    - `data`: [`Trajectories`][].
    - `stats`: statistics to use (e.g. those of the training set, for a test set);
      default `Standardization.fit(data)`.

    **Returns:** `(standardised trajectories, stats)`; the statistics are also recorded in
    the metadata under `"standardization"`.

    ```python
    train_z, stats = standardize(train)
    test_z, _ = standardize(test, stats)
    ```
    """
    if not isinstance(data, Trajectories):
        raise TypeError(f"`data` must be a dynsys.data.Trajectories, got {type(data).__name__}.")
    if stats is None:
        stats = Standardization.fit(data)
    elif not isinstance(stats, Standardization):
        raise TypeError(f"`stats` must be a Standardization, got {type(stats).__name__}.")
    return stats.apply(data), stats


def _data_array(data: Any, n_space: int | None, name: str):
    if isinstance(data, Trajectories):
        inferred = data.states.ndim - 3
        if n_space is not None and check_int(n_space, "n_space", minimum=0) != inferred:
            raise ValueError(
                f"`n_space`={n_space} disagrees with the trajectories' state shape "
                f"{data.state_shape} ({inferred} spatial axes)."
            )
        return data.states, inferred
    n_space = 0 if n_space is None else check_int(n_space, "n_space", minimum=0)
    x = as_array(data, name)
    if x.ndim < 2 + n_space:
        raise ValueError(
            f"`{name}` must have at least one sample axis before the channel axis "
            f"((..., channels{', *space' if n_space else ''})), got shape {tuple(x.shape)}."
        )
    return x, n_space
