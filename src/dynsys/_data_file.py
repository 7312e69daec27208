"""A user's data file (.npy, .npz, .csv) as states, optional times and column names."""

from __future__ import annotations

import csv
import pathlib
import zipfile
from typing import NamedTuple

import numpy as np

TIME_COLUMN_NAMES = ("t", "time", "timestamp")  # matched case-insensitively
SUFFIXES = (".npy", ".npz", ".csv")
DT_TOLERANCE = 1e-3  # relative: the largest deviation of a time step from the mean step


class InputError(ValueError):
    """A bad data file or command-line value; the message is one line for the user."""


class DataFile(NamedTuple):
    """What [`read_data_file`][] found: `states` `(time, N)` or `(batch, time, N)`,
    `times` `(time,)` or None, `columns` (N names) and the time column's name (or None)."""

    states: np.ndarray
    times: np.ndarray | None
    columns: list[str]
    time_column: str | None


def read_data_file(
    path: str | pathlib.Path,
    *,
    array: str | None = None,
    time_column: str | None = None,
    columns: str | None = None,
) -> DataFile:
    """Read a trajectory from a `.npy`, `.npz` or `.csv` file; raise `InputError` if unfit.

    **Arguments:**

    - `path`: the file; without a suffix its type is read from its first bytes (a .npy
      or .npz array, else a text table). `.npy`: one array `(time,)`, `(time, N)` or
      `(batch, time, N)`.
      `.npz`: one such array, or the one named by `array`. `.csv` (also `;`, tab or
      whitespace separated): a table of numbers, with an optional header row (a first row
      that does not parse as numbers); lines starting with `#` are skipped.
    - `array`: the array's name in an `.npz` file with several.
    - `time_column`: the time column, by header name or 0-based index; by default a column
      named `t`, `time` or `timestamp` (any case) if the file has a header.
    - `columns`: comma-separated names (or indices) of the columns to keep.

    **Returns:** a [`DataFile`][]: the states (float64, without the time column), the times
    (or None), the column names (`x0`, `x1`, ... without a header) and the time column.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise InputError(f"no data file at {str(path)!r}.")
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a folder, not a data file.")
    suffix = path.suffix.lower() or _sniff_suffix(path)
    if suffix not in SUFFIXES:
        raise InputError(
            f"unknown data file type {path.suffix or '(no suffix)'!r} of {path.name!r}; "
            f"give a {', '.join(SUFFIXES)} file."
        )
    if suffix == ".csv":
        if array is not None:
            raise InputError("--array applies to .npz files only.")
        values, header = _read_csv(path)
    else:
        values, header = _read_numpy(path, suffix, array), None
    n_cols = values.shape[-1]
    names = header if header is not None else [f"x{i}" for i in range(n_cols)]

    t_index = _time_index(time_column, header, n_cols, values.ndim)
    keep = [i for i in range(n_cols) if i != t_index]
    if columns is not None:
        if not _split(columns):
            raise InputError(f"--columns {columns!r} names no column.")
        keep = [_column_index(c, header, n_cols, "--columns") for c in _split(columns)]
        if t_index is not None and t_index in keep:
            raise InputError(f"--columns names the time column {names[t_index]!r}.")
        if len(set(keep)) != len(keep):
            raise InputError(f"--columns names a column twice: {columns!r}.")
    if not keep:
        raise InputError(f"{path.name!r} has no data column besides the time column.")
    times = None
    if t_index is not None:
        times = values[..., t_index] if values.ndim == 2 else None
        if times is None:
            raise InputError("a time column needs a 2-D table (time, columns).")
    states = values[..., keep]
    return DataFile(
        states=states,
        times=times,
        columns=[names[i] for i in keep],
        time_column=None if t_index is None else names[t_index],
    )


def dt_from_times(times: np.ndarray, name: str) -> float:
    """The step of an evenly spaced time column, or `InputError`."""
    if times.shape[0] < 2:
        raise InputError(f"the time column {name!r} has fewer than 2 samples.")
    if not np.all(np.isfinite(times)):
        raise InputError(f"the time column {name!r} holds NaN or infinite values.")
    steps = np.diff(times)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise InputError(
            f"the time column {name!r} must increase, but sample {i + 1} ({times[i + 1]!r}) "
            f"follows {times[i]!r}."
        )
    dt = float((times[-1] - times[0]) / (times.shape[0] - 1))
    worst = float(np.max(np.abs(steps - dt)))
    if worst > DT_TOLERANCE * dt:
        raise InputError(
            f"the time column {name!r} is not evenly spaced (steps from {steps.min():.6g} to "
            f"{steps.max():.6g}); resample the data to a fixed step, or pass --dt."
        )
    return dt


def _sniff_suffix(path: pathlib.Path) -> str:
    """The type of a file without a suffix, from its first bytes: `.npy`, `.npz` or `.csv`."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as err:
        raise InputError(f"{path.name!r} cannot be read: {err.strerror or err}.") from None
    if head.startswith(b"\x93NUMPY"):
        return ".npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ".npz"
    try:
        head.decode("utf-8")
        text = b"\x00" not in head
    except UnicodeDecodeError as err:  # a cut multi-byte character at the end is still text
        text = err.start >= len(head) - 3 and b"\x00" not in head
    if not text:
        raise InputError(
            f"{path.name!r} has no suffix and is neither a .npy or .npz array nor a text "
            f"table; give a {', '.join(SUFFIXES)} file."
        )
    return ".csv"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _column_index(token: str, header: list[str] | None, n_cols: int, flag: str) -> int:
    if header is not None and token in header:
        return header.index(token)
    try:
        index = int(token)
    except ValueError:
        known = f"the header has {header}" if header is not None else "the file has no header"
        raise InputError(f"{flag}: no column named {token!r} ({known}).") from None
    if not 0 <= index < n_cols:
        raise InputError(f"{flag}: column index {index} is out of range [0, {n_cols}).")
    return index


def _time_index(time_column: str | None, header, n_cols: int, ndim: int) -> int | None:
    if time_column is not None:
        return _column_index(str(time_column), header, n_cols, "--time-column")
    if header is None or ndim != 2:
        return None
    found = [i for i, name in enumerate(header) if name.strip().lower() in TIME_COLUMN_NAMES]
    return found[0] if found else None


def _read_numpy(path: pathlib.Path, suffix: str, array: str | None) -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        kind = "an .npz archive" if suffix == ".npz" else "a .npy array"
        raise InputError(f"{path.name!r} is not readable as {kind}: {_line(err)}") from None
    if suffix == ".npz" or isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded as archive:
            names = list(archive.files)
            if array is not None:
                if array not in names:
                    raise InputError(
                        f"--array {array!r} is not in {path.name!r}; it holds {names}."
                    )
                name = array
            elif len(names) == 1:
                name = names[0]
            elif not names:
                raise InputError(f"{path.name!r} is an .npz archive that holds no arrays.")
            else:
                raise InputError(
                    f"{path.name!r} holds {len(names)} arrays {names}; name one with --array."
                )
            try:
                values = archive[name]
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
                raise InputError(f"array {name!r} of {path.name!r}: {_line(err)}") from None
            if not isinstance(values, np.ndarray):  # a zip member that is no .npy array
                raise InputError(
                    f"{path.name!r} is a zip archive but {name!r} in it is not a numpy array; "
                    "give an .npz file written by numpy.savez."
                )
    else:
        if array is not None:
            raise InputError("--array applies to .npz files only.")
        values = loaded
    if np.iscomplexobj(values):
        raise InputError(
            f"{path.name!r} holds complex numbers; give real values (e.g. the real and "
            "imaginary parts as separate columns)."
        )
    if values.dtype == bool or not np.issubdtype(values.dtype, np.number):
        raise InputError(f"{path.name!r} holds {values.dtype} values, not real numbers.")
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim not in (2, 3):
        raise InputError(
            f"{path.name!r} holds an array of shape {values.shape}; give (time,), (time, N) "
            "or (batch, time, N)."
        )
    return np.asarray(values, dtype=np.float64)


def _line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _read_csv(path: pathlib.Path):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path.name!r} is not a text (UTF-8) CSV file.") from None
    except OSError as err:
        raise InputError(f"{path.name!r} cannot be read: {err.strerror or err}.") from None
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InputError(f"{path.name!r} is empty.")
    first = lines[0][1]
    delimiter = next((d for d in (",", ";", "\t") if d in first), None)
    if delimiter is None:
        rows = [line.split() for _, line in lines]
    else:
        rows = list(csv.reader((line for _, line in lines), delimiter=delimiter))
    rows = [[cell.strip() for cell in row] for row in rows]
    header = None
    # A first row of complex numbers is data (refused below), not a header.
    if not all(_is_number(cell) or _is_complex(cell) for cell in rows[0]):
        header = rows[0]
        lines, rows = lines[1:], rows[1:]
        if len(set(header)) != len(header):
            raise InputError(f"{path.name!r}: the header names a column twice: {header}.")
    if not rows:
        raise InputError(f"{path.name!r} has a header but no data rows.")
    n_cols = len(header) if header is not None else len(rows[0])
    names = header if header is not None else [f"x{i}" for i in range(n_cols)]
    values = np.empty((len(rows), n_cols))
    for (number, _), row in zip(lines, rows, strict=True):
        if len(row) != n_cols:
            raise InputError(
                f"{path.name!r} line {number} has {len(row)} fields, expected {n_cols}."
            )
    for j, name in enumerate(names):
        for i, ((number, _), row) in enumerate(zip(lines, rows, strict=True)):
            cell = row[j]
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise InputError(_bad_cell(path, name, number, cell)) from None
    return values, header


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_complex(cell: str) -> bool:
    """A cell such as `1+2j`, `(1-2j)` or `3i` (numpy.savetxt and MATLAB spellings)."""
    try:
        complex(cell.replace("i", "j"))
    except ValueError:
        return False
    return any(ch.isdigit() for ch in cell)


def _bad_cell(path: pathlib.Path, name: str, number: int, cell: str) -> str:
    if cell == "":
        return f"{path.name!r}: column {name!r} has an empty cell on line {number}."
    if not _is_complex(cell):
        return f"{path.name!r}: column {name!r} is not numeric (line {number}: {cell!r})."
    return (
        f"{path.name!r}: column {name!r} holds complex numbers (line {number}: {cell!r}); "
        "give real values."
    )
