"""One shape for what every family's `evaluate` returns: a read-only mapping of named scores."""

from __future__ import annotations

import collections.abc
import dataclasses
import math
from typing import Any, ClassVar

import equinox as eqx
import numpy as np


def json_safe(value: Any) -> Any:
    """`value` as strict-JSON values: NaN and ±inf become None, arrays become nested lists.

    Floats, numpy/JAX scalars and arrays, dicts, lists and tuples are converted recursively;
    anything else (str, int, bool, None) is returned as it is, so
    `json.dumps(json_safe(v), allow_nan=False)` works for any mix of these.
    """
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # numpy or JAX array / scalar
        array = np.asarray(value)
        if array.ndim == 0:
            return json_safe(array.item())
        return [json_safe(v) for v in array.tolist()]
    return value


class AbstractScores(eqx.Module, collections.abc.Mapping):
    """Base of what every family's `evaluate(model, test, ...)` returns.

    The scores are the dataclass fields of the subclass (plain floats, ints, small arrays or
    dicts of floats). A scores module is a read-only mapping of its scores (`s["d_stsp"]`,
    `dict(s)`, `"fp_bps" in s`; a field that is None, a score that does not apply, is left
    out), with attribute access (`s.d_stsp`), [`to_dict`][dynsys.metrics.AbstractScores.to_dict]
    (strict JSON) and [`summary`][dynsys.metrics.AbstractScores.summary] (one line per score).
    Fields named in the class variable `not_scores` (e.g. a generated trajectory) are data
    kept beside the scores: attributes only, not in the mapping or in `to_dict`.
    """

    not_scores: ClassVar[tuple[str, ...]] = ()

    def _score_names(self) -> list[str]:
        return [
            f.name
            for f in dataclasses.fields(self)
            if f.name not in self.not_scores and getattr(self, f.name) is not None
        ]

    def __getitem__(self, name: str) -> Any:
        if name not in self._score_names():
            raise KeyError(f"{name!r} is not a score of {type(self).__name__}; scores: "
                           f"{', '.join(self._score_names())}.")  # fmt: skip
        return getattr(self, name)

    def __iter__(self):
        return iter(self._score_names())

    def __len__(self) -> int:
        return len(self._score_names())

    def to_dict(self) -> dict[str, Any]:
        """The scores as a strict-JSON dict (NaN and inf as None, arrays as lists).

        `json.dumps(scores.to_dict(), allow_nan=False)` always works.
        """
        return {name: json_safe(getattr(self, name)) for name in self._score_names()}

    def summary(self) -> str:
        """One line per score: its name and value (arrays: first and last entries)."""
        lines = []
        for name in self._score_names():
            value = getattr(self, name)
            lines.append(f"{name:<20}{_format(value)}")
        return "\n".join(lines)


def _format(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_format(v)}" for k, v in value.items()) or "-"
    array = np.asarray(value)
    if array.ndim == 0:
        item = array.item()
        return f"{item:.4g}" if isinstance(item, float) else str(item)
    flat = array.reshape(-1)
    if flat.size <= 4:
        return "[" + ", ".join(_format(v) for v in flat) + "]"
    return f"[{_format(flat[0])}, ..., {_format(flat[-1])}] ({flat.size} values)"
