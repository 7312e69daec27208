"""Train/test splits: by time within each trajectory, or by whole trajectories."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .._validation import check_in_range, is_traced
from ._random import check_key
from ._trajectories import Trajectories


def split_time(data: Trajectories, fraction: float = 0.8) -> tuple[Trajectories, Trajectories]:
    """Split every trajectory in time: the first part trains, the rest tests.

    The training part holds the first `round(fraction · n_times)` samples of each
    trajectory, the test part the remaining ones (with their own, later, times). Both parts
    keep all trajectories and the metadata, plus `"split": "train"` / `"test"`.

    **Arguments:**

    - `data`: [`Trajectories`][] with at least 2 time samples.
    - `fraction`: share of the time samples that go to training, in (0, 1).

    **Returns:** `(train, test)`, shapes `(batch, n_train, ...)` and
    `(batch, n_times − n_train, ...)`.

    ```python
    train, test = split_time(traj, 0.8)
    ```
    """
    _check_data(data)
    n_train = _n_first(fraction, data.n_times, "time samples")
    train = data.slice_time(0, n_train).with_metadata(split="train")
    test = data.slice_time(n_train).with_metadata(split="test")
    return train, test


def split_trajectories(
    data: Trajectories, fraction: float = 0.8, *, key: jax.Array
) -> tuple[Trajectories, Trajectories]:
    """Split whole trajectories at random into a training and a test set.

    A random permutation drawn with `key` orders the trajectories; the first
    `round(fraction · n_trajectories)` of it train, the rest test; within each part the
    trajectories keep their stored order. Same key, same split.

    **Arguments:**

    - `data`: [`Trajectories`][] with at least 2 trajectories.
    - `fraction`: share of the trajectories that go to training, in (0, 1).
    - `key`: a JAX random key.

    **Returns:** `(train, test)` with `n_train` and `n_trajectories − n_train` trajectories.

    ```python
    train, test = split_trajectories(traj, 0.75, key=jax.random.key(0))
    ```
    """
    _check_data(data)
    key = check_key(key)
    n_train = _n_first(fraction, data.n_trajectories, "trajectories")
    order = np.asarray(jax.random.permutation(key, data.n_trajectories))
    train = data.select(np.sort(order[:n_train])).with_metadata(split="train")
    test = data.select(np.sort(order[n_train:])).with_metadata(split="test")
    return train, test


def _check_data(data: Any) -> None:
    if not isinstance(data, Trajectories):
        raise TypeError(f"`data` must be a dynsys.data.Trajectories, got {type(data).__name__}.")


def _n_first(fraction: Any, n: int, what: str) -> int:
    if (
        is_traced(fraction)
        or isinstance(fraction, bool)
        or not isinstance(fraction, int | float | np.floating)
    ):
        raise TypeError(f"`fraction` must be a number in (0, 1), got {fraction!r}.")
    check_in_range(fraction, "fraction", 0.0, 1.0)
    n_train = int(round(float(fraction) * n))
    if n_train < 1 or n_train > n - 1:
        raise ValueError(
            f"`fraction`={fraction!r} of {n} {what} leaves an empty train or test part "
            f"({n_train} vs {n - n_train}); both need at least one."
        )
    return n_train
