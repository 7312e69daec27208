"""Neural-population metrics of the Neural Latents Benchmark: bits per spike and R² scores."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln

from .._validation import check_int


def _array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"`{name}` must be an array of numbers, got {type(x).__name__}.")
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"`{name}` must hold real numbers, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return arr


def _counts(x: Any, name: str) -> np.ndarray:
    arr = _array(x, name)
    if np.any(arr < 0):
        raise ValueError(f"`{name}` must hold non-negative spike counts, got {arr.min()!r}.")
    if np.any(arr != np.round(arr)):
        bad = arr[arr != np.round(arr)].ravel()[0]
        raise ValueError(f"`{name}` must hold integer spike counts, got a value {bad!r}.")
    return arr


def _mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    if mask is None:
        return np.ones(shape[:2], dtype=bool)
    m = np.asarray(mask)
    if m.dtype != bool or m.shape != shape[:2]:
        raise ValueError(
            f"`mask` must be a boolean array of shape {shape[:2]} (trials, time), got dtype "
            f"{m.dtype} and shape {m.shape}."
        )
    return m


def poisson_nll(rates: Any, spikes: Any) -> np.ndarray:
    """Elementwise Poisson negative log-likelihood, λ − y log λ + log y!, in nats.

    **Arguments:** `rates` λ > 0 (spikes per bin) and `spikes` y (counts), same shape.

    **Returns:** array of that shape.

    ```python
    poisson_nll(np.array([0.5]), np.array([1]))   # 0.5 − log 0.5 ≈ 1.193
    ```
    """
    lam, y = _array(rates, "rates"), _counts(spikes, "spikes")
    if lam.shape != y.shape:
        raise ValueError(f"`rates` {lam.shape} and `spikes` {y.shape} must have one shape.")
    if np.any(lam <= 0):
        raise ValueError(
            f"`rates` must be > 0 (the Poisson log-likelihood of a spike at rate 0 is −inf), "
            f"got a minimum of {lam.min()!r}."
        )
    return lam - y * np.log(lam) + gammaln(y + 1.0)


def bits_per_spike(rates: Any, spikes: Any, *, mask: Any = None) -> float:
    """Log-likelihood gain of `rates` over a per-neuron mean-rate model, in bits per spike.

    The NLB definition (Pei et al. 2021, `nlb_tools.evaluation.bits_per_spike`):

        bps = (NLL_null − NLL_model) / (n_spikes · ln 2),

    where NLL is the Poisson negative log-likelihood summed over all (valid) trials, bins
    and neurons, and the null model predicts for each neuron its mean count over all
    (valid) trials and bins of `spikes` itself. 0 for the null model, > 0 for a model
    better than it.

    **Arguments:**

    - `rates`: predicted rates in spikes per bin, > 0, shape `(trials, time, neurons)`.
    - `spikes`: observed counts, same shape.
    - `mask`: optional `(trials, time)` bool of valid bins.

    **Returns:** bits per spike (float).

    ```python
    bits_per_spike(true_rates, spikes)   # > 0 when the rates carry information
    ```
    """
    lam, y = _array(rates, "rates"), _counts(spikes, "spikes")
    if lam.ndim != 3 or lam.shape != y.shape:
        raise ValueError(
            f"`rates` and `spikes` must both be (trials, time, neurons) of one shape, got "
            f"{lam.shape} and {y.shape}."
        )
    m = _mask(mask, y.shape)
    lam, y = lam[m], y[m]  # (valid bins, neurons)
    n_spikes = y.sum()
    if n_spikes == 0:
        where = "" if mask is None else " in the bins that `mask` keeps"
        raise ValueError(f"`spikes` holds no spike{where}; bits per spike is undefined.")
    null = np.broadcast_to(y.mean(axis=0), y.shape)
    safe_null = np.where(null > 0, null, 1.0)
    nll_null = np.sum(np.where(null > 0, null - y * np.log(safe_null), 0.0))
    nll_model = np.sum(poisson_nll(lam, y) - gammaln(y + 1.0))
    return float((nll_null - nll_model) / (n_spikes * np.log(2.0)))


def co_bps(rates: Any, spikes: Any, heldout: Any, n_forward: int = 0, *, mask: Any = None):
    """Co-smoothing bits per spike: [`bits_per_spike`][] on held-out neurons, observed bins.

    **Arguments:**

    - `rates`, `spikes`: full population `(trials, time, neurons)` (rates in spikes/bin).
    - `heldout`: indices of the held-out neurons.
    - `n_forward`: trailing forward bins to leave out (scored by [`fp_bps`][]).
    - `mask`: optional `(trials, time)` valid bins.

    **Returns:** co-bps (float).

    ```python
    co_bps(rates, ds.spikes[ds.eval], ds.heldout, ds.n_forward)
    ```
    """
    lam, y = _population(rates, spikes)
    idx = _indices(heldout, y.shape[-1], "heldout")
    t = _observed(y, n_forward)
    m = None if mask is None else _mask(mask, y.shape)[:, :t]
    return bits_per_spike(lam[:, :t][..., idx], y[:, :t][..., idx], mask=m)


def fp_bps(rates: Any, spikes: Any, n_forward: int, *, mask: Any = None) -> float:
    """Forward-prediction bits per spike: [`bits_per_spike`][] on the last `n_forward` bins.

    All neurons (held-in and held-out) count, as in NLB.

    **Arguments:** `rates`, `spikes` `(trials, time, neurons)`; `n_forward` >= 1; `mask`.

    **Returns:** fp-bps (float).

    ```python
    fp_bps(rates, ds.spikes[ds.eval], ds.n_forward)
    ```
    """
    lam, y = _population(rates, spikes)
    n_forward = check_int(n_forward, "n_forward", minimum=1)
    t = _observed(y, n_forward)
    m = None if mask is None else _mask(mask, y.shape)[:, t:]
    return bits_per_spike(lam[:, t:], y[:, t:], mask=m)


def _population(rates: Any, spikes: Any) -> tuple[np.ndarray, np.ndarray]:
    """`rates` and `spikes` checked as (trials, time, neurons) arrays of one shape."""
    lam, y = _array(rates, "rates"), _counts(spikes, "spikes")
    for arr, name in ((lam, "rates"), (y, "spikes")):
        if arr.ndim != 3:
            raise ValueError(f"`{name}` must be (trials, time, neurons), got shape {arr.shape}.")
    if lam.shape != y.shape:
        raise ValueError(f"`rates` {lam.shape} and `spikes` {y.shape} must have one shape.")
    return lam, y


def _observed(y: np.ndarray, n_forward: int) -> int:
    n_forward = check_int(n_forward, "n_forward", minimum=0)
    if n_forward >= y.shape[1]:
        raise ValueError(f"`n_forward`={n_forward} must be < the {y.shape[1]} time bins.")
    return y.shape[1] - n_forward


def _indices(idx: Any, n: int, name: str) -> np.ndarray:
    if idx is None or isinstance(idx, str | bytes):
        raise TypeError(f"`{name}` must be a non-empty 1-D list of integer indices, got {idx!r}.")
    arr = np.asarray(idx)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"`{name}` must be a non-empty 1-D list of integer indices, got {idx!r}.")
    if np.any(arr < 0) or np.any(arr >= n):
        raise ValueError(
            f"`{name}` indices must lie in [0, {n}) (the number of neurons), got {arr.tolist()}."
        )
    return arr


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination, uniformly averaged over outputs, **true values first**.

    For each output column j, R²_j = 1 − Σ(y_j − ŷ_j)² / Σ(y_j − ȳ_j)²; the mean over j is
    returned (sklearn's `r2_score(y_true, y_pred)`, `multioutput="uniform_average"`).
    R² is not symmetric: swapping the arguments (a known bug of the LangevinFlow Lorenz
    callback) gives another number.

    **Arguments:** `y_true`, `y_pred` of one shape `(samples,)` or `(samples, outputs)`
    (any leading axes are flattened into samples, the last axis is the outputs).

    **Returns:** R² (float, ≤ 1).

    ```python
    r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))   # 0.5
    ```
    """
    y, p = _array(y_true, "y_true"), _array(y_pred, "y_pred")
    if y.shape != p.shape:
        raise ValueError(f"`y_true` {y.shape} and `y_pred` {p.shape} must have one shape.")
    if y.ndim == 1:
        y, p = y[:, None], p[:, None]
    y, p = y.reshape(-1, y.shape[-1]), p.reshape(-1, p.shape[-1])
    if y.shape[0] < 2:
        raise ValueError(f"`y_true` needs at least 2 samples, got {y.shape[0]}.")
    ss_tot = np.sum((y - y.mean(0)) ** 2, axis=0)
    if np.any(ss_tot == 0):
        raise ValueError("`y_true` is constant in an output; R² is undefined there.")
    return float(np.mean(1.0 - np.sum((y - p) ** 2, axis=0) / ss_tot))


def rate_r2(true_rates: Any, rates: Any, *, mask: Any = None) -> float:
    """R² of inferred against true firing rates, per neuron over trials × bins, averaged.

    True rates first (sklearn order): R² = mean over neurons of
    1 − Σ(λ_true − λ̂)² / Σ(λ_true − mean λ_true)².

    **Arguments:** `true_rates`, `rates`: `(trials, time, neurons)`; `mask`: optional
    `(trials, time)` valid bins.

    **Returns:** R² (float).

    ```python
    rate_r2(ds.rates[ds.eval], inferred)
    ```
    """
    y, p = _array(true_rates, "true_rates"), _array(rates, "rates")
    if y.ndim != 3 or y.shape != p.shape:
        raise ValueError(
            f"`true_rates` and `rates` must both be (trials, time, neurons) of one shape, got "
            f"{y.shape} and {p.shape}."
        )
    m = _mask(mask, y.shape)
    return r2_score(y[m], p[m])


def psth_r2(true_psth: Any, rates: Any, conditions: Any) -> float:
    """R² of condition-averaged inferred rates against the true PSTHs (NLB "psth R²").

    The inferred rates of the trials of each condition are averaged into a predicted PSTH,
    which is compared (per neuron over conditions × bins, then averaged) with `true_psth`.

    **Arguments:**

    - `true_psth`: `(conditions, time, neurons)` reference PSTHs (e.g. the true rates, or
      smoothed trial-averaged spikes).
    - `rates`: `(trials, time, neurons)` inferred rates.
    - `conditions`: `(trials,)` integer labels in `[0, n_conditions)`; every condition
      needs at least one trial.

    **Returns:** R² (float).

    ```python
    psth_r2(true_psth, inferred, ds.conditions[ds.eval])
    ```
    """
    y, p = _array(true_psth, "true_psth"), _array(rates, "rates")
    c = np.asarray(conditions)
    if y.ndim != 3 or p.ndim != 3 or y.shape[1:] != p.shape[1:]:
        raise ValueError(
            f"`true_psth` (conditions, time, neurons) and `rates` (trials, time, neurons) "
            f"must agree in time and neurons, got {y.shape} and {p.shape}."
        )
    if y.shape[0] == 0 or p.shape[0] == 0:
        raise ValueError(
            f"`true_psth` and `rates` must hold at least one condition and one trial, got "
            f"{y.shape} and {p.shape}."
        )
    if c.shape != (p.shape[0],) or not np.issubdtype(c.dtype, np.integer):
        raise ValueError(
            f"`conditions` must be {p.shape[0]} integer labels (one per trial of `rates`), got "
            f"shape {c.shape} and dtype {c.dtype}."
        )
    if np.any(c < 0) or np.any(c >= y.shape[0]):
        raise ValueError(
            f"`conditions` must lie in [0, {y.shape[0]}) (the conditions of `true_psth`), got "
            f"{c.min()}..{c.max()}."
        )
    counts = np.bincount(c, minlength=y.shape[0])
    if np.any(counts == 0):
        raise ValueError(f"`conditions`: no trial of condition(s) {np.flatnonzero(counts == 0)}.")
    pred = np.zeros_like(y)
    np.add.at(pred, c, p)
    pred /= counts[:, None, None]
    return r2_score(y.reshape(-1, y.shape[-1]), pred.reshape(-1, y.shape[-1]))


def velocity_r2(
    train_rates: Any,
    train_behavior: Any,
    eval_rates: Any,
    eval_behavior: Any,
    *,
    alphas: Any = None,
    n_folds: int = 5,
) -> float:
    """Behaviour-decoding R² of a ridge regression from rates (NLB "vel R²").

    A ridge map (with intercept) from rates to behaviour is fit on the training bins, its
    penalty α chosen from `alphas` (default logspace(−4, 0, 9), as nlb_tools) by
    `n_folds`-fold contiguous cross-validation on R²; it is refit on all training bins and
    scored by [`r2_score`][] (true first) on the eval bins. Also serves to decode true
    latents from inferred ones.

    **Arguments:**

    - `train_rates` `(..., features)`, `train_behavior` `(..., outputs)` with the same
      leading shape (e.g. `(trials, time)`); likewise `eval_rates`, `eval_behavior`.
    - `alphas`: candidate ridge penalties (> 0).
    - `n_folds`: cross-validation folds, >= 2.

    **Returns:** R² on the eval data (float).

    ```python
    velocity_r2(rates_train, vel_train, rates_eval, vel_eval)
    ```
    """
    xs = [_array(a, n) for a, n in ((train_rates, "train_rates"), (eval_rates, "eval_rates"))]
    ys = [_array(a, n) for a, n in ((train_behavior, "train_behavior"),
                                    (eval_behavior, "eval_behavior"))]  # fmt: skip
    for x, y, part in zip(xs, ys, ("train", "eval")):
        if x.shape[:-1] != y.shape[:-1]:
            raise ValueError(
                f"`{part}_rates` {x.shape} and `{part}_behavior` {y.shape} must share their "
                "leading (samples) axes."
            )
    for x, y, part in zip(xs, ys, ("train", "eval")):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(
                f"`{part}_rates` and `{part}_behavior` must be (..., features) and "
                f"(..., outputs) arrays, got shapes {x.shape} and {y.shape}."
            )
    if xs[0].shape[-1] != xs[1].shape[-1]:
        raise ValueError(
            f"`train_rates` {xs[0].shape} and `eval_rates` {xs[1].shape} must have the same "
            "number of features (last axis)."
        )
    if ys[0].shape[-1] != ys[1].shape[-1]:
        raise ValueError(
            f"`train_behavior` {ys[0].shape} and `eval_behavior` {ys[1].shape} must have the "
            "same number of outputs (last axis)."
        )
    (xtr, xev), (ytr, yev) = [[a.reshape(-1, a.shape[-1]) for a in pair] for pair in (xs, ys)]
    alphas = np.logspace(-4, 0, 9) if alphas is None else _array(alphas, "alphas")
    if alphas.ndim != 1 or alphas.size == 0 or np.any(alphas <= 0):
        raise ValueError(
            f"`alphas` must be a non-empty 1-D array of positive values, got {alphas}."
        )
    n_folds = check_int(n_folds, "n_folds", minimum=2)
    if xtr.shape[0] < 2 * n_folds:
        raise ValueError(
            f"`n_folds`={n_folds} needs at least {2 * n_folds} training samples "
            f"(`train_rates`), got {xtr.shape[0]}."
        )
    folds = np.array_split(np.arange(xtr.shape[0]), n_folds)
    scores = []
    for a in alphas:
        s = []
        for f in folds:
            keep = np.ones(xtr.shape[0], dtype=bool)
            keep[f] = False
            w = _ridge(xtr[keep], ytr[keep], a)
            s.append(_r2_safe(ytr[f], _predict(w, xtr[f])))
        scores.append(np.mean(s))
    best = alphas[int(np.argmax(scores))]
    return r2_score(yev, _predict(_ridge(xtr, ytr, best), xev))


def _ridge(x, y, alpha):
    xm, ym = x.mean(0), y.mean(0)
    xc = x - xm
    coef = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - ym))
    return coef, ym - xm @ coef


def _predict(w, x):
    coef, intercept = w
    return x @ coef + intercept


def _r2_safe(y, p):
    ss_tot = np.sum((y - y.mean(0)) ** 2, axis=0)
    ss_tot = np.where(ss_tot > 0, ss_tot, 1.0)
    return float(np.mean(1.0 - np.sum((y - p) ** 2, axis=0) / ss_tot))
