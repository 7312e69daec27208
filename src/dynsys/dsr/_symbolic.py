"""Symbolic dynamics of piecewise-linear RNNs: subregion codes, occupancy, transitions.

A trajectory of a PL map visits a sequence of linear subregions; replacing each state
by the integer name of its subregion gives a symbolic sequence (Brenner et al., NeurIPS
2024, for the AL-RNN). These are host-side analysis tools: inputs may be JAX or NumPy
arrays, outputs are NumPy arrays.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._validation import as_array, check_int
from ._abstract import AbstractPLRNN

_MAX_CODE_BITS = 62


def patterns_to_codes(patterns: Any) -> np.ndarray | np.int64:
    """Integer codes of boolean activation patterns: code = Σ_i 2^i · pattern[..., i].

    Bit i (value 2^i) is the i-th entry of the pattern; for the AL-RNN that is latent unit
    M−P+i (0-based), so unit M−P is the least significant bit.

    **Arguments:**

    - `patterns`: boolean array `(..., n_bits)`, n_bits ≤ 62.

    **Returns:** int64 array `(...)` (a NumPy `int64` scalar for a single pattern).

    ```python
    patterns_to_codes([[True, False], [False, True], [True, True]])   # [1, 2, 3]
    ```
    """
    patterns = np.asarray(patterns)
    if patterns.ndim == 0:
        raise ValueError(
            f"`patterns` must be at least 1-D (..., n_bits), got shape {patterns.shape}."
        )
    n_bits = patterns.shape[-1]
    if n_bits > _MAX_CODE_BITS:
        raise ValueError(
            f"Integer codes need at most {_MAX_CODE_BITS} pattern bits, the model has {n_bits}; "
            "work with the boolean patterns (model.activation_pattern) instead."
        )
    weights = np.left_shift(np.int64(1), np.arange(n_bits, dtype=np.int64))
    return (patterns.astype(np.int64) * weights).sum(axis=-1, dtype=np.int64)


def codes_to_patterns(codes: Any, n_bits: int) -> np.ndarray:
    """Boolean patterns `(..., n_bits)` of integer codes (inverse of [`patterns_to_codes`][])."""
    n_bits = check_int(n_bits, "n_bits", minimum=0)
    codes = _as_codes(codes, "codes")
    if n_bits > _MAX_CODE_BITS:
        raise ValueError(f"`n_bits` must be <= {_MAX_CODE_BITS}, got {n_bits}.")
    if codes.size and (codes.min() < 0 or codes.max() >= 2**n_bits):
        raise ValueError(
            f"`codes` must lie in [0, 2**{n_bits}), got range [{codes.min()}, {codes.max()}]."
        )
    return (np.right_shift(codes[..., None], np.arange(n_bits, dtype=np.int64)) & 1).astype(bool)


def symbolic_code(model: AbstractPLRNN, z_traj: Any) -> np.ndarray | np.int64:
    """The integer subregion code of every latent state of a trajectory.

    The code is the activation pattern read as a binary number, bit i = pattern entry i
    ([`patterns_to_codes`][]). For the [`ALRNN`][] bit i is 1 when unit M−P+i (0-based)
    is positive, so codes run over 0..2^P−1; for the [`PLRNN`][] bit i is unit i > 0; for
    the [`ShallowPLRNN`][] bit l is hidden unit l active (W₂z + h₂ > 0).

    **Arguments:**

    - `model`: any [`AbstractPLRNN`][] with at most 62 pattern bits.
    - `z_traj`: latent states `(..., M)`, e.g. a trajectory `(T, M)` from
      `model.generate_latent`.

    **Returns:** int64 codes, shape `(...)` (e.g. `(T,)`; a NumPy `int64` for one state).

    ```python
    model = ALRNN(20, 2, 3, key=jax.random.key(0))
    codes = symbolic_code(model, model.generate_latent(jnp.ones(20), 1000))   # (1000,)
    ```
    """
    if not isinstance(model, AbstractPLRNN):
        raise TypeError(f"`model` must be an AbstractPLRNN, got {type(model).__name__}.")
    z = as_array(z_traj, "z_traj", dtype=model.dtype)
    if z.ndim == 0 or z.shape[-1] != model.latent_dim:
        raise ValueError(
            f"`z_traj` must have last axis of length latent_dim={model.latent_dim}, "
            f"got shape {tuple(z.shape)}."
        )
    return patterns_to_codes(np.asarray(model.activation_pattern(z)))


class SubregionCounts(NamedTuple):
    """Visited subregions and their visit counts, most visited first (ties: smaller code first)."""

    regions: np.ndarray
    counts: np.ndarray


def subregion_counts(codes: Any) -> SubregionCounts:
    """How often each visited subregion occurs in a code sequence.

    **Arguments:**

    - `codes`: integer codes of any shape (flattened).

    **Returns:** [`SubregionCounts`][] `(regions, counts)`, both `(R,)` for the R distinct
    codes, sorted by count (descending), ties by code (ascending).

    ```python
    subregion_counts([0, 1, 1, 3])    # regions [1, 0, 3], counts [2, 1, 1]
    ```
    """
    codes = _as_codes(codes, "codes").ravel()
    regions, counts = np.unique(codes, return_counts=True)
    order = np.lexsort((regions, -counts))
    return SubregionCounts(regions[order], counts[order])


def n_subregions_used(codes: Any) -> int:
    """Number of distinct subregions visited by a code sequence."""
    return int(np.unique(_as_codes(codes, "codes")).size)


def coverage_curve(codes: Any) -> np.ndarray:
    """Fraction of points in the k most visited subregions, k = 1..R.

    **Arguments:**

    - `codes`: integer codes of any shape (flattened), at least one.

    **Returns:** float64 `(R,)`, non-decreasing, last entry 1; R = number of distinct codes.

    ```python
    coverage_curve([0, 1, 1, 3])      # [0.5, 0.75, 1.0]
    ```
    """
    counts = subregion_counts(codes).counts
    if counts.size == 0:
        raise ValueError("`codes` must hold at least one code, got none.")
    return np.cumsum(counts) / counts.sum()


class Transitions(NamedTuple):
    """Transition counts `counts[i, j]` = #(i → j) and row-normalised `probabilities`."""

    counts: np.ndarray
    probabilities: np.ndarray


def transition_matrix(codes: Any, n_regions: int | None = None) -> Transitions:
    """Empirical transition counts and probabilities between subregions.

    counts[i, j] is the number of times code i is immediately followed by code j
    (self-transitions on the diagonal); probabilities[i] = counts[i] / Σ_j counts[i, j],
    and a row of zeros for a region never left (never visited, or only as the last point).

    **Arguments:**

    - `codes`: a code sequence `(T,)`, or several independent ones `(batch, T)`
      (no transition is counted across sequences).
    - `n_regions`: size of the matrix; default `max(codes) + 1`. Every code must be below
      it. For models with many subregions, first relabel the visited codes (e.g. with
      `np.unique(codes, return_inverse=True)`).

    **Returns:** [`Transitions`][]: `counts` int64 and `probabilities` float64, both
    `(n_regions, n_regions)`.

    ```python
    t = transition_matrix([0, 1, 1, 3, 0, 1], n_regions=4)
    t.counts[0, 1]        # 2
    t.probabilities[1]    # [0, 0.5, 0, 0.5]
    ```
    """
    codes = _as_codes(codes, "codes")
    if codes.ndim not in (1, 2):
        raise ValueError(f"`codes` must be (T,) or (batch, T), got shape {codes.shape}.")
    codes = codes.reshape(-1, codes.shape[-1])
    if n_regions is None:
        n_regions = int(codes.max()) + 1 if codes.size else 1
    n_regions = check_int(n_regions, "n_regions", minimum=1)
    if codes.size and codes.max() >= n_regions:
        raise ValueError(
            f"Every code must be < n_regions={n_regions}, got a code {int(codes.max())}."
        )
    counts = np.zeros((n_regions, n_regions), dtype=np.int64)
    np.add.at(counts, (codes[:, :-1].ravel(), codes[:, 1:].ravel()), 1)
    totals = counts.sum(axis=1, keepdims=True)
    probabilities = np.divide(
        counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0
    )
    return Transitions(counts, probabilities)


def _as_codes(codes: Any, name: str) -> np.ndarray:
    arr = np.asarray(codes)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise TypeError(f"`{name}` must hold integer subregion codes, got dtype {arr.dtype}.")
    if arr.size and arr.min() < 0:
        raise ValueError(f"`{name}` must be non-negative, got {int(arr.min())}.")
    return arr.astype(np.int64)
