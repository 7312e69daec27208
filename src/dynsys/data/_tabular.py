"""Tables to and from `Trajectories` arrays: long-format pandas DataFrames, xarray Datasets.

pandas and xarray are optional: each is imported inside the function that needs it. The
functions here read and check tables and return plain numpy arrays (or build tables from
them); `Trajectories.from_dataframe` / `.to_dataframe` / `.from_xarray` / `.to_xarray`
are the public entry points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def import_pandas(what: str) -> Any:
    """pandas, or an `ImportError` saying that `what` needs it."""
    try:
        import pandas as pd
    except ImportError as err:
        raise ImportError(
            f"{what} needs pandas, which is not installed; install it with "
            "`pip install pandas` (it is part of the `test` extra)."
        ) from err
    return pd


def import_xarray(what: str) -> Any:
    """xarray, or an `ImportError` saying that `what` needs it."""
    try:
        import xarray as xr
    except ImportError as err:
        raise ImportError(
            f"{what} needs xarray, which is not installed; install it with `pip install xarray`."
        ) from err
    return xr


def _column_list(value: Any, name: str) -> list[Any] | None:
    """`None`, one column label or a sequence of labels as a list (or None)."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    labels = list(value)
    if not labels:
        raise ValueError(f"`{name}` must name at least one column, got an empty sequence.")
    return labels


def _check_known(df: Any, labels: list[Any], name: str) -> None:
    unknown = [c for c in labels if c not in df.columns]
    if unknown:
        raise ValueError(
            f"`{name}` names column(s) {unknown!r} that the DataFrame does not have; "
            f"its columns are {list(df.columns)!r}."
        )


def _numeric_values(pd: Any, df: Any, label: Any, name: str) -> np.ndarray:
    """Column `label` as float64, or a `TypeError`/`ValueError` naming `name` and the column."""
    col = df[label]
    dtype = col.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    if not numeric or pd.api.types.is_bool_dtype(dtype):
        raise TypeError(
            f"`{name}` column {label!r} must hold real numbers, got dtype {dtype}; convert it "
            "first (e.g. `pd.to_numeric`, or datetimes to seconds)."
        )
    missing = col.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"`{name}` column {label!r} has {int(missing.sum())} missing value(s) (first at row "
            f"{int(np.argmax(missing))}); drop or fill them first."
        )
    values = col.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"`{name}` column {label!r} holds infinite values; clean the data first.")
    return values


def _resample(t: np.ndarray, arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Linear interpolation of `(time, k)` arrays from times `t` onto the uniform grid with
    the same end points and number of samples."""
    grid = np.linspace(t[0], t[-1], t.shape[0])
    out = [
        np.stack([np.interp(grid, t, a[:, j]) for j in range(a.shape[1])], axis=1) for a in arrays
    ]
    return grid, out


def frame_to_arrays(
    df: Any,
    *,
    time: Any,
    columns: Any,
    group: Any,
    inputs: Any,
    resample: bool,
    infer_dt: Any,
    columns_arg: str = "columns",
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None, list[Any]]:
    """Read a long-format DataFrame into `(times, states, inputs, state_names)`.

    `times` is `(time,)` or None (no time column), `states` `(batch, time, dim)`, `inputs`
    `(batch, time, input_dim)` or None. `infer_dt(times)` returns the step of a uniform
    grid or None; `columns_arg` is the name of the state columns' argument in messages.
    See `Trajectories.from_dataframe` for the rules.
    """
    pd = import_pandas("Trajectories.from_dataframe")
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`df` must be a pandas DataFrame, got {type(df).__name__}.")
    if len(df) == 0:
        raise ValueError("`df` has no rows.")
    if not isinstance(resample, bool):
        raise TypeError(f"`resample` must be True or False, got {resample!r}.")
    for value, name in ((time, "time"), (group, "group")):
        if value is not None:
            _check_known(df, [value], name)
    if time is not None and time == group:
        raise ValueError(f"`time` and `group` name the same column {time!r}.")
    if resample and time is None:
        raise ValueError("`resample=True` needs a `time` column to resample from.")
    input_labels = _column_list(inputs, "inputs") or []
    _check_known(df, input_labels, "inputs")
    reserved = {c for c in (time, group) if c is not None}
    state_labels = _column_list(columns, columns_arg)
    if state_labels is None:
        state_labels = [c for c in df.columns if c not in reserved and c not in input_labels]
        if not state_labels:
            raise ValueError(
                "`df` has no state column besides the `time`, `group` and `inputs` columns "
                f"{sorted(map(str, reserved | set(input_labels)))!r}."
            )
    _check_known(df, state_labels, columns_arg)
    for labels, name in ((state_labels, columns_arg), (input_labels, "inputs")):
        clash = [c for c in labels if c in reserved]
        if clash:
            raise ValueError(f"`{name}` must not include the `time` or `group` column {clash!r}.")
        if len(set(labels)) != len(labels):
            raise ValueError(f"`{name}` names a column twice: {labels!r}.")
    both = set(state_labels) & set(input_labels)
    if both:
        raise ValueError(f"`{columns_arg}` and `inputs` share column(s) {sorted(both)!r}.")

    states = np.stack([_numeric_values(pd, df, c, columns_arg) for c in state_labels], axis=1)
    ins = (
        np.stack([_numeric_values(pd, df, c, "inputs") for c in input_labels], axis=1)
        if input_labels
        else None
    )
    t = None if time is None else _numeric_values(pd, df, time, "time")

    if group is None:
        keys, rows = [None], [np.arange(len(df))]
    else:
        gcol = df[group]
        missing = gcol.isna().to_numpy()
        if missing.any():
            raise ValueError(
                f"`group` column {group!r} has {int(missing.sum())} missing value(s) (first at "
                f"row {int(np.argmax(missing))}); every row must belong to a trajectory."
            )
        codes, keys = pd.factorize(gcol, sort=False)
        rows = [np.flatnonzero(codes == i) for i in range(len(keys))]
        lengths = {keys[i]: r.size for i, r in enumerate(rows)}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"`group` column {group!r} splits the rows into trajectories of unequal length "
                f"{lengths!r}; Trajectories needs equal lengths (trim or resample them first)."
            )

    def where(i: int) -> str:
        return "" if group is None else f" in group {keys[i]!r}"

    times = None
    for i, r in enumerate(rows):
        if t is None:
            continue
        ti = t[r]
        steps = np.diff(ti)
        if np.any(steps <= 0):
            j = int(np.argmax(steps <= 0))
            raise ValueError(
                f"`time` column {time!r} must be strictly increasing{where(i)}, but row "
                f"{int(r[j + 1])} has {ti[j + 1]!r} after {ti[j]!r} at row {int(r[j])}; "
                "sort the rows by time and drop duplicates first."
            )
        if infer_dt(ti) is None and ti.size > 1:
            if not resample:
                raise ValueError(
                    f"`time` column {time!r} is not uniformly spaced{where(i)} (steps from "
                    f"{steps.min()!r} to {steps.max()!r}); Trajectories needs a uniform dt. "
                    "Pass `resample=True` to interpolate linearly onto a uniform grid."
                )
            arrays = [states[r]] + ([] if ins is None else [ins[r]])
            ti, out = _resample(ti, arrays)
            states[r] = out[0]
            if ins is not None:
                ins[r] = out[1]
        if times is None:
            times = ti
        elif not np.array_equal(ti, times):
            raise ValueError(
                f"`time` column {time!r} differs between group {keys[0]!r} (from {times[0]!r} "
                f"to {times[-1]!r}) and group {keys[i]!r} (from {ti[0]!r} to {ti[-1]!r}); "
                "Trajectories holds one time grid shared by all trajectories."
            )
    states_b = np.stack([states[r] for r in rows])
    inputs_b = None if ins is None else np.stack([ins[r] for r in rows])
    return times, states_b, inputs_b, state_labels


def arrays_to_frame(
    times: np.ndarray,
    states: np.ndarray,
    inputs: np.ndarray | None,
    *,
    state_names: list[str],
    input_names: list[str],
    time: str,
    group: str,
) -> Any:
    """A long-format DataFrame: rows trajectory-major, time within; see `to_dataframe`."""
    pd = import_pandas("Trajectories.to_dataframe")
    batch, n_times = states.shape[:2]
    data: dict[str, Any] = {}
    if batch > 1:
        data[group] = np.repeat(np.arange(batch), n_times)
    data[time] = np.tile(times, batch)
    for j, name in enumerate(state_names):
        data[name] = states[:, :, j].reshape(-1)
    for j, name in enumerate(input_names):
        data[name] = inputs[:, :, j].reshape(-1)
    return pd.DataFrame(data)


def dataset_to_frame(ds: Any, *, time: Any, variables: Any, inputs: Any) -> tuple[Any, Any, Any]:
    """An xarray Dataset as a long-format DataFrame, with the group dimension (or None) and
    the state variables; see `Trajectories.from_xarray`."""
    xr = import_xarray("Trajectories.from_xarray")
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"`ds` must be an xarray Dataset, got {type(ds).__name__}.")
    input_labels = _column_list(inputs, "inputs") or []
    labels = _column_list(variables, "variables")
    if labels is None:
        labels = [v for v in ds.data_vars if v not in input_labels]
    for names, name in ((labels, "variables"), (input_labels, "inputs")):
        unknown = [v for v in names if v not in ds.data_vars]
        if unknown:
            raise ValueError(
                f"`{name}` names variable(s) {unknown!r} that the Dataset does not have; its "
                f"data variables are {list(ds.data_vars)!r}."
            )
    if not labels:
        raise ValueError("`ds` has no state variable besides `inputs`.")
    dims = ds[labels[0]].dims
    for v in labels + input_labels:
        if set(ds[v].dims) != set(dims):
            raise ValueError(
                f"variable {v!r} of `ds` has dimensions {ds[v].dims}, unlike {labels[0]!r} "
                f"{dims}; every state and input variable needs the same dimensions."
            )
    if time not in dims:
        raise ValueError(
            f"`time`={time!r} is not a dimension of the variables, whose dimensions are {dims}."
        )
    others = [d for d in dims if d != time]
    if len(others) > 1:
        raise ValueError(
            f"the variables of `ds` have dimensions {dims}; expected ({time!r},) or "
            f"(trajectory, {time!r}) with one other dimension for the trajectories."
        )
    group = others[0] if others else None
    frame = ds[labels + input_labels].to_dataframe(dim_order=[*others, time]).reset_index()
    return frame, group, labels


def arrays_to_dataset(
    times: np.ndarray,
    states: np.ndarray,
    inputs: np.ndarray | None,
    *,
    state_names: list[str],
    input_names: list[str],
    time: str,
    group: str,
    attrs: dict[str, Any],
) -> Any:
    """An xarray Dataset with one variable per state and input channel; see `to_xarray`."""
    xr = import_xarray("Trajectories.to_xarray")
    batched = states.shape[0] > 1
    dims = (group, time) if batched else (time,)

    def var(a: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
        return dims, a if batched else a[0]

    data = {name: var(states[:, :, j]) for j, name in enumerate(state_names)}
    data.update({name: var(inputs[:, :, j]) for j, name in enumerate(input_names)})
    coords = {time: times}
    if batched:
        coords[group] = np.arange(states.shape[0])
    return xr.Dataset(data, coords=coords, attrs=attrs)
