"""`AbstractScores`: the one shape of every family's evaluation, and `json_safe`."""

import json
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.metrics import AbstractScores, json_safe


class _Scores(AbstractScores):
    not_scores: ClassVar[tuple[str, ...]] = ("trajectory",)

    error: float
    per_step: Any
    count: int
    trajectory: Any
    optional: float | None = None


def _scores(**kw):
    base = dict(error=float("nan"), per_step=np.array([0.5, np.inf]), count=3,
                trajectory=np.zeros((100, 2)))  # fmt: skip
    return _Scores(**{**base, **kw})


def test_a_read_only_mapping_of_its_scores():
    s = _scores()
    assert list(s) == ["error", "per_step", "count"]  # no data field, no None field
    assert len(s) == 3 and "count" in s and "trajectory" not in s and "optional" not in s
    assert s["count"] == 3 and s.count == 3 and s.trajectory.shape == (100, 2)
    assert set(dict(s)) == {"error", "per_step", "count"}
    with pytest.raises(KeyError, match="'trajectory' is not a score of _Scores; scores: error"):
        s["trajectory"]
    assert list(_scores(optional=0.25)) == ["error", "per_step", "count", "optional"]


def test_to_dict_is_strict_json_and_summary_names_every_score():
    d = _scores().to_dict()
    assert d == {"error": None, "per_step": [0.5, None], "count": 3}
    json.dumps(d, allow_nan=False)
    text = _scores(per_step=np.arange(10.0)).summary()
    assert text.splitlines()[0].startswith("error") and "nan" in text
    assert "(10 values)" in text and "count" in text


def test_json_safe_converts_arrays_scalars_and_containers():
    value = {"a": jnp.float32(1.5), "b": (np.float64("nan"), 2), "c": jnp.array([[1.0, -np.inf]]),
             "d": "text", "e": None, "f": True}  # fmt: skip
    out = json_safe(value)
    assert out == {"a": 1.5, "b": [None, 2], "c": [[1.0, None]], "d": "text", "e": None,
                   "f": True}  # fmt: skip
    json.dumps(out, allow_nan=False)
