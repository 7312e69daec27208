"""Records of a run: per-step losses and metrics, per-evaluation metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


class Record:
    """Append-only table of named columns, one row per step or evaluation, with a `step` column.

    Rows are kept as numpy values and stacked on demand; every row must carry the same
    columns (a metric that appears or disappears midway is an error in the caller's code).
    """

    def __init__(self, what: str):
        self.what = what
        self.steps: list[int] = []
        self.columns: dict[str, list[np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.steps)

    def append(self, step: int, values: Mapping[str, Any]) -> None:
        values = {str(k): np.asarray(v) for k, v in values.items()}
        if self.steps and set(values) != set(self.columns):
            raise ValueError(
                f"The {self.what} must return the same names at every call; got "
                f"{sorted(values)} after {sorted(self.columns)}."
            )
        if not self.steps:
            self.columns = {k: [] for k in values}
        self.steps.append(int(step))
        for k, v in values.items():
            self.columns[k].append(v)

    def truncate(self, n: int) -> None:
        """Keep the first `n` rows."""
        del self.steps[n:]
        for col in self.columns.values():
            del col[n:]

    def as_dict(self) -> dict[str, np.ndarray]:
        out = {"step": np.asarray(self.steps, dtype=np.int64)}
        for k, col in self.columns.items():
            out[k] = np.stack(col) if col else np.zeros((0,))
        return out

    def extend_from(self, table: Mapping[str, np.ndarray]) -> None:
        """Append the rows of a dict as produced by `as_dict` (e.g. read from a checkpoint)."""
        if "step" not in table:
            return
        names = [k for k in table if k != "step"]
        for i, step in enumerate(np.asarray(table["step"])):
            self.append(int(step), {k: table[k][i] for k in names})
