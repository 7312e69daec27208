"""Binned spike counts of a neural population with NLB-style splits: `SpikeData`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._validation import check_in_range, check_int, check_positive, is_traced


class SpikeData(eqx.Module):
    """Binned spike counts of trials, with held-out neurons, forward bins and a trial split.

    The layout follows the Neural Latents Benchmark (Pei et al., 2021): the population is
    split into *held-in* neurons (the model sees them) and *held-out* neurons (only
    predicted: co-smoothing); the last `n_forward` bins of every trial are never shown to
    a model (forward prediction); trials are split into `train` and `eval` sets,
    stratified by condition. Arrays are time-major. Build one with [`spike_data`][] (from
    recorded counts) or [`lorenz_spikes`][] (synthetic, with ground truth).

    **Fields:**

    - `spikes`: counts, shape `(trials, time, neurons)`, int32.
    - `mask`: `(trials, time)` bool, True on valid bins (all True for equal-length trials).
    - `conditions`: `(trials,)` int condition label of each trial.
    - `train`, `eval`: sorted trial indices of the two splits.
    - `rates`: true firing rates in spikes per bin `(trials, time, neurons)` or None.
    - `latents`: true latent states `(trials, time, latent_dim)` or None.
    - `heldin`, `heldout`: neuron indices (tuples of int, disjoint, together all neurons).
    - `n_forward`: number of forward-prediction bins at the end of each trial.
    - `bin_size`: bin width in seconds (None if unknown).
    """

    spikes: Int[Array, "trials time neurons"]
    mask: Bool[Array, "trials time"]
    conditions: Int[Array, " trials"]
    train: Int[Array, " n_train"]
    eval: Int[Array, " n_eval"]
    rates: Float[Array, "trials time neurons"] | None
    latents: Float[Array, "trials time latent"] | None
    heldin: tuple[int, ...] = eqx.field(static=True)
    heldout: tuple[int, ...] = eqx.field(static=True)
    n_forward: int = eqx.field(static=True)
    bin_size: float | None = eqx.field(static=True)

    def __check_init__(self):
        # also when built directly or by dataclasses.replace, not only by `spike_data`
        if not is_traced(self.spikes):
            check_spike_counts(self.spikes, "spikes")

    @property
    def n_trials(self) -> int:
        return int(self.spikes.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.spikes.shape[1])

    @property
    def n_neurons(self) -> int:
        return int(self.spikes.shape[2])

    @property
    def n_observed(self) -> int:
        """Bins a model may read: `n_bins − n_forward`."""
        return self.n_bins - self.n_forward

    def model_input(self, trials: Any = None) -> Int[Array, "trials observed heldin"]:
        """Counts a model may read: held-in neurons, observed bins, `(trials, T_obs, N_in)`.

        `trials`: indices (default all).
        """
        x = self.spikes if trials is None else self.spikes[jnp.asarray(trials)]
        return x[:, : self.n_observed][:, :, jnp.asarray(self.heldin)]


def split_trials(conditions: Any, fraction: float = 0.8, *, seed: int = 0):
    """Split trials into train and eval sets, stratified by condition.

    Within each condition the trials are shuffled (numpy generator seeded with `seed`) and
    the first `round(fraction · n_c)` train (at least one trial stays in each set when the
    condition has two or more trials).

    **Arguments:**

    - `conditions`: `(trials,)` integer condition labels.
    - `fraction`: share of each condition's trials that train, in (0, 1).
    - `seed`: seed of the shuffle.

    **Returns:** `(train, eval)`, sorted numpy index arrays.

    ```python
    train, eval_ = split_trials(np.repeat(np.arange(3), 5), 0.8)   # 12 and 3 trials
    ```
    """
    cond = _labels(conditions, "conditions")
    if cond.ndim != 1 or cond.size < 2:
        raise ValueError(f"`conditions` must be 1-D with >= 2 trials, got shape {cond.shape}.")
    return _split(cond, fraction, seed, "fraction")


def _labels(value: Any, name: str) -> np.ndarray:
    """`value` as an array of integer labels (integer dtype), or a `TypeError` naming `name`."""
    if value is None or isinstance(value, str | bytes):
        raise TypeError(f"`{name}` must be an array of integer labels, got {value!r}.")
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integer labels, got dtype {arr.dtype}.")
    return arr


def _split(cond: np.ndarray, fraction: Any, seed: Any, fraction_name: str):
    check_in_range(fraction, fraction_name, 0.0, 1.0)
    if not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"`{fraction_name}` must lie strictly between 0 and 1, got {fraction!r}.")
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    train, held = [], []
    for c in np.unique(cond):
        idx = rng.permutation(np.flatnonzero(cond == c))
        n = int(round(fraction * idx.size))
        if idx.size >= 2:
            n = min(max(n, 1), idx.size - 1)
        train.extend(idx[:n])
        held.extend(idx[n:])
    if not held:
        raise ValueError(
            f"`{fraction_name}`={fraction} leaves no eval trial (every condition has one trial); "
            "use a smaller fraction or more trials."
        )
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(held, dtype=np.int64))


def _counts(spikes: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    """Stack `spikes` into `(trials, time, neurons)` and validate it with its mask."""
    if isinstance(spikes, (list, tuple)):
        trials = [np.asarray(s) for s in spikes]
        if not trials or any(t.ndim != 2 for t in trials):
            raise ValueError(
                "`spikes` given as a sequence must hold one 2-D (time, neurons) array per "
                f"trial, got shapes {[t.shape for t in trials]}."
            )
        widths = {t.shape[1] for t in trials}
        if len(widths) != 1:
            raise ValueError(f"`spikes`: trials have different neuron counts {sorted(widths)}.")
        lengths = np.array([t.shape[0] for t in trials])
        if np.any(lengths != lengths[0]):
            if mask is None:
                raise ValueError(
                    f"`spikes`: trials have different lengths (from {lengths.min()} to "
                    f"{lengths.max()} bins) and no `mask` was given; pass a `(trials, "
                    f"{lengths.max()})` boolean `mask` marking each trial's valid bins."
                )
            m = np.asarray(mask, dtype=bool)
            if m.shape != (len(trials), lengths.max()) or np.any(m.sum(1) != lengths):
                raise ValueError(
                    f"`mask` must have shape {(len(trials), int(lengths.max()))} with row "
                    f"sums equal to the trial lengths {lengths.tolist()}, got shape {m.shape}."
                )
        out = np.zeros((len(trials), lengths.max(), widths.pop()), dtype=np.result_type(*trials))
        for i, t in enumerate(trials):
            out[i, : t.shape[0]] = t
        spikes = out
    arr = np.asarray(spikes)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"`spikes` must hold numbers (counts), got dtype {arr.dtype}.")
    if arr.ndim != 3:
        raise ValueError(f"`spikes` must be 3-D (trials, time, neurons), got shape {arr.shape}.")
    if min(arr.shape) < 1:
        raise ValueError(f"`spikes` must not be empty, got shape {arr.shape}.")
    check_spike_counts(arr, "spikes")
    if arr.size and arr.max() > np.iinfo(np.int32).max:
        raise ValueError(
            f"`spikes` holds counts up to {arr.max()!r}, more than int32 holds "
            f"({np.iinfo(np.int32).max}); these are not spike counts per bin."
        )
    if mask is None:
        m = np.ones(arr.shape[:2], dtype=bool)
    else:
        m = np.asarray(mask)
        if m.shape != arr.shape[:2]:
            raise ValueError(
                f"`mask` must have the (trials, time) shape of `spikes` {arr.shape[:2]}, got "
                f"{m.shape}."
            )
        if m.dtype != bool:
            raise TypeError(f"`mask` must be boolean, got dtype {m.dtype}.")
        if not m.any():
            raise ValueError("`mask` marks no valid bin: every bin of every trial is False.")
    return arr.astype(np.int32), m


def check_spike_counts(counts: Any, name: str) -> None:
    """Raise a `ValueError` unless `counts` are finite non-negative integers."""
    arr = np.asarray(counts)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"`{name}` contains NaN or infinite values; counts must be finite.")
        if np.any(arr != np.round(arr)):
            bad = arr[arr != np.round(arr)].ravel()[0]
            raise ValueError(f"`{name}` must hold integer spike counts, got a value {bad!r}.")
    if np.any(arr < 0):
        raise ValueError(f"`{name}` must hold non-negative spike counts, got {arr.min()!r}.")


def spike_data(
    spikes: Any,
    *,
    heldout: Sequence[int] = (),
    n_forward: int = 0,
    mask: Any = None,
    conditions: Any = None,
    train_fraction: float = 0.8,
    seed: int = 0,
    rates: Any = None,
    latents: Any = None,
    bin_size: float | None = None,
) -> SpikeData:
    """Wrap binned spike counts (e.g. a recording) as [`SpikeData`][] with NLB-style splits.

    **Arguments:**

    - `spikes`: counts `(trials, time, neurons)`, or a list of `(time_i, neurons)` arrays,
      one per trial (time-major, like every dynsys array). Trials of unequal length need a
      `mask`; they are zero-padded to the longest.
    - `heldout`: indices of the held-out neurons (co-smoothing targets), each in
      `[0, neurons)`, distinct; the others are held in (at least one).
    - `n_forward`: number of forward-prediction bins at the end of each trial, in
      `[0, time − 1]`.
    - `mask`: optional `(trials, time)` bool, True on valid bins.
    - `conditions`: optional `(trials,)` integer condition labels (default: one per trial).
    - `train_fraction`, `seed`: the stratified split of [`split_trials`][].
    - `rates`, `latents`: optional ground truth `(trials, time, neurons)` (spikes per bin,
      > 0) and `(trials, time, latent_dim)`.
    - `bin_size`: bin width in seconds.

    **Returns:** a [`SpikeData`][].

    ```python
    counts = np.random.default_rng(0).poisson(0.3, (40, 25, 12))
    ds = spike_data(counts, heldout=[10, 11], n_forward=5)
    ds.model_input(ds.train).shape   # (32, 20, 10)
    ```
    """
    arr, m = _counts(spikes, mask)
    n_trials, n_bins, n_neurons = arr.shape
    if isinstance(heldout, np.ndarray) and heldout.ndim == 1:
        heldout = heldout.tolist()
    if not isinstance(heldout, list | tuple | range):
        raise TypeError(
            f"`heldout` must be a sequence of integer neuron indices, got {type(heldout).__name__}."
        )
    out = []
    for i in heldout:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"`heldout` must hold integer neuron indices, got {i!r}.")
        if not 0 <= int(i) < n_neurons:
            raise ValueError(
                f"`heldout` index {int(i)} is out of range for {n_neurons} neurons "
                f"(expected 0 <= index < {n_neurons})."
            )
        out.append(int(i))
    if len(set(out)) != len(out):
        raise ValueError(f"`heldout` indices must be distinct, got {out}.")
    heldin = tuple(i for i in range(n_neurons) if i not in set(out))
    if not heldin:
        raise ValueError("`heldout` lists every neuron; at least one neuron must be held in.")
    n_forward = check_int(n_forward, "n_forward", minimum=0)
    if n_forward > n_bins - 1:
        raise ValueError(
            f"`n_forward` must leave at least one observed bin (<= {n_bins - 1}), got {n_forward}."
        )
    if conditions is None:
        cond = np.arange(n_trials)
    else:
        cond = _labels(conditions, "conditions")
        if cond.shape != (n_trials,):
            raise ValueError(
                f"`conditions` must be {n_trials} integer labels (one per trial of `spikes`), "
                f"got shape {cond.shape}."
            )
    if n_trials < 2:
        raise ValueError(f"`spikes` must hold at least 2 trials to split, got {n_trials}.")
    # Without conditions the split is a plain random one (all trials as one stratum).
    strata = np.zeros(n_trials, dtype=np.int64) if conditions is None else cond
    train, held = _split(strata, train_fraction, seed, "train_fraction")
    dtype = jnp.result_type(float)
    truth = []
    for name, value, last in (("rates", rates, n_neurons), ("latents", latents, None)):
        if value is None:
            truth.append(None)
            continue
        if isinstance(value, str | bytes):
            raise TypeError(f"`{name}` must be an array of numbers, got {value!r}.")
        v = np.asarray(value)
        if v.dtype.kind not in "iuf":
            raise TypeError(f"`{name}` must hold real numbers, got dtype {v.dtype}.")
        v = v.astype(float)
        if v.ndim != 3 or v.shape[:2] != (n_trials, n_bins) or (last and v.shape[2] != last):
            want = (n_trials, n_bins, last or "latent_dim")
            raise ValueError(
                f"`{name}` must have shape {want} (trials, time as `spikes`), got {v.shape}."
            )
        if not np.all(np.isfinite(v)):
            raise ValueError(f"`{name}` contains NaN or infinite values.")
        if name == "rates" and np.any(v <= 0):
            raise ValueError("`rates` must be positive (spikes per bin).")
        truth.append(jnp.asarray(v, dtype=dtype))
    if bin_size is not None:
        check_positive(bin_size, "bin_size")
        bin_size = float(bin_size)
    return SpikeData(
        spikes=jnp.asarray(arr),
        mask=jnp.asarray(m),
        conditions=jnp.asarray(cond, dtype=jnp.int32),
        train=jnp.asarray(train, dtype=jnp.int32),
        eval=jnp.asarray(held, dtype=jnp.int32),
        rates=truth[0],
        latents=truth[1],
        heldin=heldin,
        heldout=tuple(out),
        n_forward=n_forward,
        bin_size=bin_size,
    )
