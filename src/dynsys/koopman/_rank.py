"""PyDMD's `svd_rank` rule: fixed rank, energy fraction, optimal hard threshold, full rank."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def check_rank_spec(rank: Any, name: str = "rank") -> int | float:
    """Validate a rank rule: int >= 1, 0 (optimal hard threshold), -1 (full) or float in (0, 1)."""
    if isinstance(rank, bool) or not isinstance(rank, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be an int >= 1, 0, -1 or a float in (0, 1), got {rank!r}.")
    if isinstance(rank, (int, np.integer)):
        rank = int(rank)
        if rank < -1:
            raise ValueError(
                f"`{name}` must be an int >= 1, 0 (optimal hard threshold) or -1 (full rank), "
                f"got {rank}."
            )
        return rank
    rank = float(rank)
    if rank == 0.0:
        return 0
    if not 0.0 < rank < 1.0:
        raise ValueError(
            f"a float `{name}` is an energy fraction and must lie in (0, 1), got {rank!r}."
        )
    return rank


def svht_omega(beta: float) -> float:
    """Gavish–Donoho factor ω(β) ≈ 0.56β³ − 0.95β² + 1.82β + 1.43 (unknown noise level)."""
    return 0.56 * beta**3 - 0.95 * beta**2 + 1.82 * beta + 1.43


def select_rank(singular_values: Any, shape: tuple[int, int], rank: int | float) -> int:
    """The truncation rank chosen by a rank rule from the singular values of a data matrix.

    The rules are PyDMD's `svd_rank` (`pydmd.utils._compute_rank`):

    - int `r >= 1`: `r` (a `ValueError` if `r` exceeds the number of singular values,
      where PyDMD would silently clip);
    - `0`: the optimal hard threshold of Gavish & Donoho (IEEE Trans. Inf. Theory 60, 2014)
      for unknown noise, τ = ω(β)·median(σ), β = min(shape)/max(shape); the rank is the number
      of σ > τ, at least 1 (with a warning when none passes);
    - float `0 < r < 1`: the smallest rank whose cumulative energy Σσ²/Σσ² reaches `r`;
    - `-1`: every singular value.

    **Arguments:**

    - `singular_values`: σ in decreasing order, shape `(k,)`, `k = min(shape)`.
    - `shape`: `(n, m)` of the data matrix (for the threshold's aspect ratio β).
    - `rank`: the rule (see [`check_rank_spec`]).

    **Returns:** the rank, an int in `[1, k]`.

    ```python
    select_rank(np.array([3.0, 2.0, 1e-9]), (10, 3), 0.99)  # -> 2
    ```
    """
    s = np.asarray(singular_values, dtype=np.float64)
    k = s.shape[0]
    rank = check_rank_spec(rank)
    if rank == -1:
        return k
    if isinstance(rank, int) and rank >= 1:
        if rank > k:
            raise ValueError(
                f"`rank`={rank} is larger than the data allow: the snapshot matrix of shape "
                f"{tuple(shape)} has only {k} singular values."
            )
        return rank
    if rank == 0:
        beta = min(shape) / max(shape)
        tau = svht_omega(beta) * np.median(s)
        r = int(np.sum(s > tau))
        if r == 0:
            warnings.warn(
                "the optimal hard threshold kept no singular value; using rank 1.", stacklevel=3
            )
            r = 1
        return r
    energy = np.cumsum(s**2) / np.sum(s**2)
    return int(min(np.searchsorted(energy, rank) + 1, k))


def rank_interval(
    lower: Any, upper: Any, shape: tuple[int, int], rank: int | float
) -> tuple[int, int]:
    """The smallest and largest rank a rule can select when σ_i is known only within bounds.

    Each σ_i lies somewhere in `[lower_i, upper_i]`. Used to check that a rank read from
    inaccurate singular values (the Gram route's) is the rank the accurate ones would give:
    it is when both ends are equal. Each rule is monotone in the pieces it compares, so the
    extremes come from the interval ends:

    - `0` (optimal hard threshold): fewest kept, the lower σ against the threshold of the
      upper median; most kept, the upper σ against the threshold of the lower median.
    - float energy fraction: the cumulative energy of the first k is largest with the upper
      σ inside and the lower outside, and smallest the other way round.
    - int `r >= 1` and `-1` do not read the values: `(r, r)` and `(k, k)`.

    **Arguments:** `lower`, `upper` `(k,)` (decreasing within the rounding, >= 0);
    `shape` `(n, m)` of the data matrix; `rank` the rule.

    **Returns:** `(r_min, r_max)`.
    """
    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(upper, dtype=np.float64)
    k = lo.shape[0]
    rank = check_rank_spec(rank)
    if isinstance(rank, int) and rank != 0:
        r = select_rank(hi, shape, rank)
        return r, r
    if rank == 0:
        omega = svht_omega(min(shape) / max(shape))
        fewest = int(np.sum(lo > omega * np.median(hi)))
        most = int(np.sum(hi > omega * np.median(lo)))
        return max(fewest, 1), max(most, 1)
    lo2, hi2 = lo**2, hi**2
    inside_hi, inside_lo = np.cumsum(hi2), np.cumsum(lo2)
    outside_hi = np.sum(hi2) - inside_hi
    outside_lo = np.sum(lo2) - inside_lo
    with np.errstate(invalid="ignore", divide="ignore"):
        most_energy = inside_hi / (inside_hi + outside_lo)
        least_energy = inside_lo / (inside_lo + outside_hi)
    most_energy = np.nan_to_num(most_energy, nan=1.0)
    least_energy = np.nan_to_num(least_energy, nan=0.0)

    def first_reaching(energy):
        # The first k whose energy reaches the fraction, as in `select_rank`.
        hits = np.nonzero(energy >= rank)[0]
        return int(hits[0]) + 1 if hits.size else k

    return first_reaching(most_energy), first_reaching(least_energy)
