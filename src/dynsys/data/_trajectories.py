"""The `Trajectories` container: times, states, optional inputs and JSON metadata; npz io."""

from __future__ import annotations

import json
import math
import os
import pathlib
import zipfile
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import (
    as_array,
    check_finite,
    check_increasing,
    check_int,
    check_ndim,
    check_nonempty,
    check_positive,
    is_traced,
)

_FORMAT_VERSION = 1
_DT_RTOL = 1e-4  # relative: metadata `dt` against the spacing of `times`
_STANDARDIZATION = "standardization"  # the metadata key of `Standardization.apply`


class Trajectories(eqx.Module):
    """A batch of trajectories on a shared time grid, with optional inputs and metadata.

    The common data format of dynsys: every model family trains on it, every metric reads
    it. Arrays are time-major. States have shape `(batch, time, *state_shape)`:
    `(batch, time, dim)` for ODE/map data and `(batch, time, channels, *space)` for
    fields, so `dim` is always the length of axis 2 (the channel axis for fields).
    External inputs, when present, have shape `(batch, time, input_dim)`. All arrays share
    one floating dtype (the dtype of `states`; `times` and `inputs` are cast to it).

    Metadata is a JSON-serialisable dict (system name, parameters, `dt`, noise level,
    seed, standardisation statistics, ...). It is held as a JSON string
    (`metadata_json`, a static field) so that the module stays hashable and immutable;
    the `metadata` property returns a fresh dict each time. Tuples come back as lists.

    Immutable: every method returns a new object. Build one from plain arrays with
    [`Trajectories.from_arrays`][]; save and load with [`Trajectories.save`][] /
    [`Trajectories.load`][] (`.npz`, metadata stored as JSON text, no pickle); convert
    from and to tables with [`Trajectories.from_dataframe`][] / [`Trajectories.to_dataframe`][]
    (pandas) and [`Trajectories.from_xarray`][] / [`Trajectories.to_xarray`][] (xarray).

    **Arguments:**

    - `times`: strictly increasing sample times, shape `(time,)`.
    - `states`: shape `(batch, time, *state_shape)` with `len(state_shape) >= 1`.
    - `inputs`: optional external inputs, shape `(batch, time, input_dim)`.
    - `metadata`: optional mapping of JSON-serialisable values (numpy/JAX scalars and
      arrays are converted to numbers and lists). If it has no `"dt"` entry, `dt` is
      inferred from `times` (or `None` when the grid is not uniform).

    ```python
    import numpy as np
    from dynsys.data import Trajectories
    traj = Trajectories.from_arrays(np.random.randn(500, 3), dt=0.01, system="noise")
    traj.n_trajectories, traj.n_times, traj.dim, traj.dt   # (1, 500, 3, 0.01)
    ```
    """

    times: Float[Array, " time"]
    states: Float[Array, "batch time *state"]
    inputs: Float[Array, "batch time input_dim"] | None
    metadata_json: str = eqx.field(static=True)

    def __init__(
        self,
        times: Any,
        states: Any,
        inputs: Any = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        _check_values: bool = True,
    ):
        # `_check_values=False` is for copies of already-checked arrays (slices, subsets):
        # the NaN/inf and monotonicity scans would cost a full pass over large field data.
        states = as_array(states, "states")
        if states.ndim < 3:
            raise ValueError(
                "`states` must be (batch, time, dim) or (batch, time, channels, *space), "
                f"got shape {tuple(states.shape)}; use Trajectories.from_arrays for a single "
                "(time, dim) trajectory."
            )
        check_nonempty(states, "states", axis=0)
        check_nonempty(states, "states", axis=1)
        if any(n == 0 for n in states.shape[2:]):
            raise ValueError(f"`states` has an empty state axis, shape {tuple(states.shape)}.")
        if _check_values:
            check_finite(states, "states")
        dtype = states.dtype
        times = as_array(times, "times").astype(dtype)
        check_ndim(times, "times", 1, "a 1-D array of times")
        if times.shape[0] != states.shape[1]:
            raise ValueError(
                f"`times` must have one entry per time step of `states` ({states.shape[1]}), "
                f"got {times.shape[0]}."
            )
        if _check_values:
            check_finite(times, "times")
            check_increasing(times, "times")
        if inputs is not None:
            inputs = as_array(inputs, "inputs").astype(dtype)
            check_ndim(inputs, "inputs", 3, "(batch, time, input_dim)")
            if inputs.shape[:2] != states.shape[:2]:
                raise ValueError(
                    "`inputs` must share the (batch, time) axes of `states` "
                    f"{tuple(states.shape[:2])}, got shape {tuple(inputs.shape)}."
                )
            check_nonempty(inputs, "inputs", axis=2)
            if _check_values:
                check_finite(inputs, "inputs")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise TypeError(f"`metadata` must be a mapping, got {type(metadata).__name__}.")
        meta = _to_json_value(dict(metadata or {}), "metadata")
        if "dt" not in meta:
            meta["dt"] = _infer_dt(times)
        self.times = times
        self.states = states
        self.inputs = inputs
        self.metadata_json = json.dumps(meta, sort_keys=True, allow_nan=True)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        states: Any,
        times: Any = None,
        *,
        dt: float | None = None,
        inputs: Any = None,
        **metadata: Any,
    ) -> Trajectories:
        """Build trajectories from plain arrays: one `(time, dim)` or many `(batch, time, ...)`.

        **Arguments:**

        - `states`: one trajectory `(time, dim)` or a batch `(batch, time, *state_shape)`.
          A single field trajectory must be given with a leading batch axis of length 1.
        - `times`: sample times `(time,)`; default `t0 + dt * arange(time)` with `t0 = 0`.
        - `dt`: sampling step. Without `times` it defaults to 1 (time = sample index);
          with `times` it is inferred from a uniform grid, and if given it must match.
        - `inputs`: external inputs `(time, input_dim)` or `(batch, time, input_dim)`
          (same batching as `states`).
        - `metadata`: any JSON-serialisable keywords (`system=`, `parameters=`, `noise=`...).

        **Returns:** a [`Trajectories`][].
        """
        states = as_array(states, "states")
        single = states.ndim == 2
        if states.ndim < 2:
            raise ValueError(
                "`states` must be (time, dim) or (batch, time, *state_shape), "
                f"got shape {tuple(states.shape)}."
            )
        if single:
            states = states[None]
        n_times = states.shape[1]
        if dt is not None:
            check_positive(dt, "dt")
            dt = float(dt)
        if times is None:
            step = 1.0 if dt is None else dt
            dt = step
            times = np.arange(n_times, dtype=np.float64) * step
        else:
            times = as_array(times, "times")
            check_ndim(times, "times", 1, "a 1-D array of times")
            check_finite(times, "times")
            check_increasing(times, "times")
            inferred = _infer_dt(times)
            agrees = inferred is not None and math.isclose(inferred, dt or 0.0, rel_tol=_DT_RTOL)
            if dt is not None and not agrees:
                raise ValueError(
                    f"`dt`={dt!r} does not match the spacing of `times` "
                    f"(inferred {inferred!r}); give one of them or make them agree."
                )
            dt = inferred if dt is None else dt
        if inputs is not None:
            inputs = as_array(inputs, "inputs")
            if single:
                check_ndim(inputs, "inputs", 2, "(time, input_dim) like a single `states`")
                inputs = inputs[None]
        metadata["dt"] = dt
        return cls(times, states, inputs, metadata)

    @classmethod
    def from_dataframe(
        cls,
        df: Any,
        *,
        time: Any = None,
        columns: Any = None,
        group: Any = None,
        inputs: Any = None,
        dt: float | None = None,
        resample: bool = False,
        **metadata: Any,
    ) -> Trajectories:
        """Build trajectories from a long-format pandas DataFrame (one row per sample).

        pandas is optional for dynsys; this method imports it and raises an `ImportError`
        when it is missing.

        **Arguments:**

        - `df`: a `pandas.DataFrame`, rows of one trajectory in time order.
        - `time`: the column of sample times. It must be strictly increasing within each
          trajectory, the same in all of them, and uniformly spaced: its spacing is `dt`.
          `None` (default): no time column, the rows are spaced by `dt`.
        - `columns`: the state columns, in order (one label or a list); default every column
          that is not `time`, `group` or `inputs`.
        - `group`: a column whose values split the rows into trajectories (the batch axis,
          in order of first appearance); every trajectory must have the same length.
          `None`: the whole frame is one trajectory.
        - `inputs`: columns of external inputs, if any.
        - `dt`: the sampling step without a time column (default 1); with one it must agree.
        - `resample`: `True` interpolates an irregular time column linearly onto the uniform
          grid with the same first and last time and number of samples (per trajectory).
          Default `False`: an irregular time column is an error.
        - `metadata`: JSON-serialisable keywords, as for [`Trajectories.from_arrays`][].
          The state and input column labels are stored as `state_names` and `input_names`
          (used by [`Trajectories.to_dataframe`][]).

        **Returns:** a [`Trajectories`][] with states `(n_groups, rows per group, dim)`.

        Missing values, non-numeric columns, a time column that is not strictly increasing
        or not uniform, unequal group lengths and unknown column names raise a
        `ValueError`/`TypeError` naming the argument and the column.

        ```python
        import numpy as np, pandas as pd
        from dynsys.data import Trajectories
        df = pd.DataFrame({"run": np.repeat(["a", "b"], 50), "t": np.tile(0.1 * np.arange(50), 2),
                           "x": np.random.randn(100), "y": np.random.randn(100)})
        traj = Trajectories.from_dataframe(df, time="t", group="run")
        traj.states.shape, traj.dt                          # (2, 50, 2), 0.1
        df2 = traj.to_dataframe()                           # columns trajectory, time, x, y
        ```
        """
        return _from_frame(
            cls, df, time, columns, group, inputs, dt, resample, metadata, columns_arg="columns"
        )

    @classmethod
    def from_xarray(
        cls,
        ds: Any,
        *,
        time: str = "time",
        variables: Any = None,
        inputs: Any = None,
        dt: float | None = None,
        resample: bool = False,
        **metadata: Any,
    ) -> Trajectories:
        """Build trajectories from an xarray Dataset with one variable per state channel.

        xarray is optional for dynsys; this method imports it and raises an `ImportError`
        when it is missing. The Dataset is read through `Dataset.to_dataframe` and
        [`Trajectories.from_dataframe`][], with the same rules and errors.

        **Arguments:**

        - `ds`: an `xarray.Dataset` whose state (and input) variables all have dimensions
          `(time,)` or `(trajectory, time)` (any name for the trajectory dimension).
        - `time`: the time dimension; its coordinate gives the times and `dt` (without a
          coordinate the samples are numbered 0, 1, ...).
        - `variables`: the state variables, in order; default every data variable that is
          not in `inputs`.
        - `inputs`, `dt`, `resample`, `metadata`: as for [`Trajectories.from_dataframe`][].

        **Returns:** a [`Trajectories`][] with states `(trajectory, time, dim)`.

        ```python
        ds = traj.to_xarray()
        Trajectories.from_xarray(ds).states.shape == traj.states.shape   # True
        ```
        """
        from ._tabular import dataset_to_frame

        frame, group, labels = dataset_to_frame(ds, time=time, variables=variables, inputs=inputs)
        return _from_frame(
            cls, frame, time, labels, group, inputs, dt, resample, metadata, columns_arg="variables"
        )

    # ------------------------------------------------------------------ properties
    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata as a fresh dict (edit it and pass to `with_metadata` to change it)."""
        return json.loads(self.metadata_json)

    @property
    def n_trajectories(self) -> int:
        """Number of trajectories (axis 0 of `states`)."""
        return self.states.shape[0]

    @property
    def n_times(self) -> int:
        """Number of time samples per trajectory (axis 1 of `states`)."""
        return self.states.shape[1]

    @property
    def state_shape(self) -> tuple[int, ...]:
        """Shape of one state: `(dim,)`, or `(channels, *space)` for fields."""
        return tuple(self.states.shape[2:])

    @property
    def dim(self) -> int:
        """State dimension (axis 2 of `states`; the channel count for fields)."""
        return self.states.shape[2]

    @property
    def input_dim(self) -> int | None:
        """Dimension of the external inputs, or `None` when there are none."""
        return None if self.inputs is None else self.inputs.shape[2]

    @property
    def dt(self) -> float | None:
        """Sampling step (from metadata; `None` for a non-uniform grid)."""
        return self.metadata.get("dt")

    @property
    def dtype(self) -> Any:
        """The floating dtype shared by all arrays."""
        return self.states.dtype

    # ------------------------------------------------------------------ new objects
    def with_metadata(self, **updates: Any) -> Trajectories:
        """A copy with metadata entries added or replaced by `updates`."""
        meta = self.metadata
        meta.update(updates)
        return Trajectories(self.times, self.states, self.inputs, meta, _check_values=False)

    def replace(self, *, states: Any = None, inputs: Any = None, **updates: Any) -> Trajectories:
        """A copy with new `states` and/or `inputs` (same batch, time axes), metadata updated."""
        meta = self.metadata
        meta.update(updates)
        return Trajectories(
            self.times,
            self.states if states is None else states,
            self.inputs if inputs is None else inputs,
            meta,
        )

    def astype(self, dtype: Any) -> Trajectories:
        """A copy with all arrays cast to the floating `dtype`."""
        dtype = _check_float_dtype(dtype, "dtype")
        inputs = None if self.inputs is None else self.inputs.astype(dtype)
        return Trajectories(
            self.times.astype(dtype), self.states.astype(dtype), inputs, self.metadata
        )

    def select(self, indices: Any) -> Trajectories:
        """The trajectories at `indices` (an int, a slice or a 1-D integer array), in that order."""
        if isinstance(indices, slice):
            idx = np.arange(self.n_trajectories)[indices]
        else:
            idx = np.atleast_1d(np.asarray(indices))
            if not np.issubdtype(idx.dtype, np.integer) or idx.ndim != 1:
                raise TypeError(f"`indices` must be integers (1-D) or a slice, got {indices!r}.")
        if idx.size == 0:
            raise ValueError("`indices` selects no trajectory.")
        if np.any(idx >= self.n_trajectories) or np.any(idx < -self.n_trajectories):
            raise ValueError(
                f"`indices` must lie in [-{self.n_trajectories}, {self.n_trajectories}), "
                f"got {idx.tolist()}."
            )
        inputs = None if self.inputs is None else self.inputs[idx]
        return Trajectories(
            self.times, self.states[idx], inputs, self.metadata, _check_values=False
        )

    def slice_time(self, start: int, stop: int | None = None) -> Trajectories:
        """Samples `start:stop` (Python slice semantics, step 1) of every trajectory."""
        start = check_int(start, "start")
        stop = None if stop is None else check_int(stop, "stop")
        idx = np.arange(self.n_times)[slice(start, stop)]
        if idx.size == 0:
            raise ValueError(
                f"`start`={start!r}, `stop`={stop!r} select no time step of {self.n_times}."
            )
        sl = slice(int(idx[0]), int(idx[-1]) + 1)
        inputs = None if self.inputs is None else self.inputs[:, sl]
        return Trajectories(
            self.times[sl], self.states[:, sl], inputs, self.metadata, _check_values=False
        )

    # ------------------------------------------------------------------ tables
    def to_dataframe(self, *, time: str = "time", group: str = "trajectory") -> Any:
        """The trajectories as a long-format pandas DataFrame, one row per sample.

        pandas is optional for dynsys; this method imports it and raises an `ImportError`
        when it is missing.

        **Arguments:**

        - `time`: the name of the time column.
        - `group`: the name of the column of trajectory indices `0..batch-1`, present only
          when there is more than one trajectory.

        **Returns:** a `pandas.DataFrame` with `batch * time` rows (trajectory-major, time
        within) and columns `group` (batch > 1), `time`, one per state channel (the
        `state_names` metadata when it has `dim` entries, else `x0, x1, ...`) and one per
        input channel (`input_names`, else `u0, u1, ...`), in the dtype of the states.
        [`Trajectories.from_dataframe`][]`(df, time=time, group=group)` gives back the same
        times and states. Field data `(batch, time, channels, *space)` is refused.

        ```python
        df = traj.to_dataframe()
        back = Trajectories.from_dataframe(df, time="time", group="trajectory")
        ```
        """
        from ._tabular import arrays_to_frame

        times, states, inputs, names, input_names = self._table_parts("to_dataframe", time, group)
        return arrays_to_frame(
            times,
            states,
            inputs,
            state_names=names,
            input_names=input_names,
            time=time,
            group=group,
        )

    def to_xarray(self, *, time: str = "time", group: str = "trajectory") -> Any:
        """The trajectories as an xarray Dataset, one variable per state and input channel.

        xarray is optional for dynsys; this method imports it and raises an `ImportError`
        when it is missing.

        **Arguments:**

        - `time`, `group`: the names of the time dimension (its coordinate holds `times`)
          and of the trajectory dimension (present only when batch > 1).

        **Returns:** an `xarray.Dataset` whose variables (named as the columns of
        [`Trajectories.to_dataframe`][]) have dimensions `(group, time)`, or `(time,)` for a
        single trajectory; `attrs["dynsys_metadata"]` holds the metadata as JSON text.
        [`Trajectories.from_xarray`][]`(ds, time=time)` gives back the same times and
        states. Field data is refused.

        ```python
        ds = traj.to_xarray()
        ds["x0"].dims                                  # ("trajectory", "time") or ("time",)
        ```
        """
        from ._tabular import arrays_to_dataset

        times, states, inputs, names, input_names = self._table_parts("to_xarray", time, group)
        return arrays_to_dataset(
            times,
            states,
            inputs,
            state_names=names,
            input_names=input_names,
            time=time,
            group=group,
            attrs={"dynsys_metadata": self.metadata_json},
        )

    def _table_parts(self, what: str, time: str, group: str) -> tuple[Any, ...]:
        """Numpy arrays and column names for `to_dataframe` / `to_xarray`, checked."""
        if len(self.state_shape) != 1:
            raise ValueError(
                f"`{what}` needs states (batch, time, dim); these are fields with state shape "
                f"{self.state_shape}. Flatten them first, e.g. "
                "`traj.replace(states=traj.states.reshape(*traj.states.shape[:2], -1))`."
            )
        for value, name in ((time, "time"), (group, "group")):
            if not isinstance(value, str):
                raise TypeError(f"`{name}` must be a column name (str), got {value!r}.")
        meta = self.metadata
        names = _channel_names(meta.get("state_names"), self.dim, "x")
        input_names = _channel_names(meta.get("input_names"), self.input_dim or 0, "u")
        used = [time, *names, *input_names] + ([group] if self.n_trajectories > 1 else [])
        if len(set(used)) != len(used):
            raise ValueError(
                f"`{what}` would write a column name twice: {used!r}; choose other `time`/"
                "`group` names or change the `state_names`/`input_names` metadata."
            )
        inputs = None if self.inputs is None else np.asarray(self.inputs)
        return np.asarray(self.times), np.asarray(self.states), inputs, names, input_names

    # ------------------------------------------------------------------ npz io
    def save(self, path: str | os.PathLike) -> pathlib.Path:
        """Write to a `.npz` file (suffix added if missing); metadata as JSON text, no pickle.

        The file holds the arrays, the metadata and a format version. Metadata that
        disagree with the arrays (a `dt` that is not the spacing of `times`, standardisation
        statistics of another shape) are refused here, as [`Trajectories.load`][] would
        refuse the file.

        **Returns:** the path written (`path`, with `.npz` appended unless it ends so).
        """
        path = _npz_path(path)
        _check_metadata(self.times, self.states, self.metadata, "`metadata`")
        arrays = {
            "dynsys_format": np.asarray(_FORMAT_VERSION),
            "times": np.asarray(self.times),
            "states": np.asarray(self.states),
            "metadata": np.asarray(self.metadata_json),
        }
        if self.inputs is not None:
            arrays["inputs"] = np.asarray(self.inputs)
        with open(path, "wb") as f:
            np.savez(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Trajectories:
        """Read a file written by [`Trajectories.save`][] (dtypes and metadata preserved).

        `path` may be given with or without its `.npz` suffix, as to `save`. The file is
        checked: its format version must be one this dynsys knows, the arrays must have
        consistent shapes and finite values, and the metadata must agree with them (`dt`
        finite, > 0 and equal to the spacing of `times` within a relative 1e-4;
        standardisation statistics finite, `std` > 0, one per channel). Anything else
        raises a `ValueError` naming the file and the field. float64 files load as
        float32 when JAX runs in 32-bit mode.
        """
        candidates = [pathlib.Path(path)]
        if candidates[0].suffix != ".npz":
            candidates.insert(0, _npz_path(path))
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            tried = " or ".join(repr(str(p)) for p in candidates)
            raise FileNotFoundError(f"`path`: no Trajectories file at {tried}.")
        where = f"`path` {str(found)!r}"
        try:
            archive = np.load(found, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"{where} is not a dynsys Trajectories file: {err}") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"{where} is not a dynsys Trajectories file (not an .npz archive).")
        with archive as data:
            missing = {"dynsys_format", "times", "states", "metadata"} - set(data.files)
            if missing:
                raise ValueError(
                    f"{where} is not a dynsys Trajectories file (missing {sorted(missing)})."
                )
            fields = {name: _read_field(data, name, where) for name in data.files}
        _check_format_version(fields["dynsys_format"], where)
        meta_text = fields["metadata"]
        if meta_text.ndim != 0 or meta_text.dtype.kind != "U":
            raise ValueError(f"{where}: field `metadata` must be JSON text, got {meta_text!r}.")
        try:
            metadata = json.loads(str(meta_text))
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: field `metadata` is not valid JSON ({err}).") from None
        if not isinstance(metadata, dict):
            raise ValueError(
                f"{where}: field `metadata` must be a JSON object, got {type(metadata).__name__}."
            )
        try:
            traj = cls(
                jnp.asarray(fields["times"]),
                jnp.asarray(fields["states"]),
                jnp.asarray(fields["inputs"]) if "inputs" in fields else None,
                metadata,
            )
            _check_metadata(traj.times, traj.states, metadata, "`metadata`")
        except (ValueError, TypeError) as err:
            raise ValueError(f"{where}: {err}") from None
        return traj


def _check_metadata(times: Any, states: Any, metadata: Mapping[str, Any], name: str) -> None:
    """Raise a `ValueError` naming `name` and the field if `metadata` disagrees with the arrays.

    Checks `dt` (None, or a finite number > 0 equal to the spacing of `times` within a
    relative 1e-4) and the `"standardization"` statistics (finite `mean` and `std`, one per
    channel, `std` > 0, `n_space` the number of spatial axes of `states`).
    """
    dt = metadata.get("dt")
    if dt is not None:
        if isinstance(dt, bool) or not isinstance(dt, int | float):
            raise ValueError(f"{name} field `dt` must be a number or null, got {dt!r}.")
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"{name} field `dt` must be finite and > 0, got {dt!r}.")
        spacing = _infer_dt(times)
        if times.shape[0] > 1 and spacing is None:
            raise ValueError(
                f"{name} field `dt`={dt!r} but `times` are not evenly spaced (dt must be null)."
            )
        if spacing is not None and not math.isclose(spacing, dt, rel_tol=_DT_RTOL):
            raise ValueError(
                f"{name} field `dt`={dt!r} does not match the spacing of `times` ({spacing!r})."
            )
    if _STANDARDIZATION in metadata:
        _check_standardization(
            metadata[_STANDARDIZATION], states, f"{name} field `{_STANDARDIZATION}`"
        )


def _check_standardization(stats: Any, states: Any, field: str) -> None:
    """Raise a `ValueError` naming `field` unless `stats` fit `states` (see `_check_metadata`)."""
    if not isinstance(stats, Mapping) or not {"mean", "std"} <= set(stats):
        raise ValueError(f"{field} must be an object with `mean` and `std`, got {stats!r}.")
    n_space = stats.get("n_space", 0)
    if isinstance(n_space, bool) or not isinstance(n_space, int) or n_space != states.ndim - 3:
        raise ValueError(
            f"{field}: `n_space` must be {states.ndim - 3} (the spatial axes of `states`, "
            f"state shape {tuple(states.shape[2:])}), got {n_space!r}."
        )
    n_channels = states.shape[2]
    for key in ("mean", "std"):
        value = stats[key]
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.shape != (n_channels,):
            raise ValueError(
                f"{field}: `{key}` must be a list of {n_channels} numbers (one per channel), "
                f"got {value!r}."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{field}: `{key}` must be finite, got {value!r}.")
        if key == "std" and not np.all(arr > 0):
            raise ValueError(f"{field}: `std` must be > 0 in every channel, got {value!r}.")


def _npz_path(path: str | os.PathLike) -> pathlib.Path:
    """`path` with `.npz` appended unless it already ends so (the file `save` writes)."""
    path = pathlib.Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _read_field(data: Any, name: str, where: str) -> np.ndarray:
    """The array `name` of an open `.npz` archive, or a `ValueError` naming file and field."""
    try:
        return data[name]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{where}: field `{name}` cannot be read ({err}).") from None


def _check_format_version(value: np.ndarray, where: str) -> None:
    """Raise a `ValueError` unless `value` is a format version this dynsys reads."""
    if value.ndim != 0 or value.dtype.kind not in "iu":
        raise ValueError(
            f"{where}: field `dynsys_format` must be an integer version, got {value!r}."
        )
    version = int(value)
    if version > _FORMAT_VERSION:
        raise ValueError(
            f"{where} has format version {version}, newer than this dynsys reads (up to "
            f"{_FORMAT_VERSION}); upgrade dynsys to read it."
        )
    if version < 1:
        raise ValueError(
            f"{where}: field `dynsys_format` holds {version}, not a known format version "
            f"(1 to {_FORMAT_VERSION})."
        )


def _infer_dt(times: Any) -> float | None:
    """The spacing of a uniform grid `times`, or None (non-uniform, traced or one sample)."""
    if is_traced(times) or times.shape[0] < 2:
        return None
    t = np.asarray(times, dtype=np.float64)
    d = np.diff(t)
    step = (t[-1] - t[0]) / (t.shape[0] - 1)
    eps = float(np.finfo(np.asarray(times).dtype).eps)
    tol = 4 * eps * max(float(np.max(np.abs(t))), abs(step))
    if np.all(np.abs(d - step) <= tol + 1e-9 * abs(step)):
        return float(step)
    return None


def _from_frame(
    cls: type[Trajectories],
    df: Any,
    time: Any,
    columns: Any,
    group: Any,
    inputs: Any,
    dt: float | None,
    resample: bool,
    metadata: dict[str, Any],
    *,
    columns_arg: str,
) -> Trajectories:
    """`from_dataframe` and `from_xarray`: `columns_arg` names the state columns' argument."""
    from ._tabular import frame_to_arrays

    times, states, ins, labels = frame_to_arrays(
        df,
        time=time,
        columns=columns,
        group=group,
        inputs=inputs,
        resample=resample,
        infer_dt=_infer_dt,
        columns_arg=columns_arg,
    )
    metadata.setdefault("state_names", [_label_text(c) for c in labels])
    if ins is not None:
        input_labels = [inputs] if isinstance(inputs, str) else list(inputs)
        metadata.setdefault("input_names", [_label_text(c) for c in input_labels])
    return cls.from_arrays(states, times, dt=dt, inputs=ins, **metadata)


def _label_text(label: Any) -> str:
    """A column label as text for the `state_names`/`input_names` metadata."""
    return label if isinstance(label, str) else str(label)


def _channel_names(stored: Any, n: int, prefix: str) -> list[str]:
    """The stored channel names when they are `n` strings, else `prefix0..prefix{n-1}`."""
    if isinstance(stored, list) and len(stored) == n and all(isinstance(c, str) for c in stored):
        return list(stored)
    return [f"{prefix}{j}" for j in range(n)]


def _check_float_dtype(dtype: Any, name: str) -> np.dtype:
    """`dtype` as a numpy floating dtype available in the current JAX mode, else raise."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"`{name}` must be a floating dtype, got {dtype!r}.") from err
    if not np.issubdtype(dt, np.floating) and dt != jnp.bfloat16:
        raise TypeError(f"`{name}` must be a floating dtype, got {dt}.")
    if dt.itemsize == 8 and not jax.config.read("jax_enable_x64"):
        raise ValueError(
            f"`{name}`=float64 needs 64-bit JAX; enable it with "
            "jax.config.update('jax_enable_x64', True) or ask for float32."
        )
    return dt


def _to_json_value(value: Any, name: str) -> Any:
    """Convert `value` (numbers, strings, lists, dicts, numpy/JAX arrays) to plain JSON types."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, jax.Array | np.ndarray):
        if is_traced(value):
            raise TypeError(f"`{name}` holds a traced array; metadata must be concrete values.")
        return np.asarray(value).tolist()
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"`{name}` keys must be strings, got {k!r}.")
            out[k] = _to_json_value(v, f"{name}[{k!r}]")
        return out
    if isinstance(value, list | tuple):
        return [_to_json_value(v, f"{name}[{i}]") for i, v in enumerate(value)]
    raise TypeError(
        f"`{name}` must hold JSON-serialisable values (numbers, strings, lists, dicts, arrays), "
        f"got {type(value).__name__}."
    )


def first_trajectory(data: Any, name: str) -> Array:
    """The first trajectory `(time, dim)` of `data`: `Trajectories`, `(time, dim)` or
    `(batch, time, dim)`; raise a `ValueError` naming `name` on other shapes or non-finite
    values (evaluation entry points of the model families use it)."""
    if isinstance(data, Trajectories):
        return data.states[0]
    x = as_array(data, name)
    if x.ndim == 3 and x.shape[0] > 0:
        x = x[0]
    if x.ndim != 2:
        raise ValueError(
            f"`{name}` must be (time, dim), (batch, time, dim) or Trajectories, got {x.shape}."
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"`{name}` is empty: shape {tuple(x.shape)} (time, dim).")
    if not bool(jnp.all(jnp.isfinite(x))):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return x


def batched_states(data: Any, name: str) -> Array:
    """All trajectories of `data` as one `(batch, time, dim)` array, checked.

    **Arguments:**

    - `data`: [`Trajectories`][] (its states), one trajectory `(time, dim)` or a batch
      `(batch, time, dim)`.
    - `name`: the argument's name, used in the error messages.

    **Returns:** the states `(batch, time, dim)`. Raises a `ValueError` naming `name` for
    another shape or for NaN/inf values.

    ```python
    import jax.numpy as jnp
    from dynsys.data import batched_states
    batched_states(jnp.zeros((100, 3)), "data").shape      # (1, 100, 3)
    ```
    """
    if isinstance(data, Trajectories):
        return data.states
    x = as_array(data, name)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(
            f"`{name}` must be (time, dim), (batch, time, dim) or Trajectories, got shape "
            f"{tuple(x.shape)}."
        )
    if 0 in x.shape:
        raise ValueError(f"`{name}` is empty: shape {tuple(x.shape)} (batch, time, dim).")
    check_finite(x, name)
    return x
