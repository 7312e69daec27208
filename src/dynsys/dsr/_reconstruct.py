"""`reconstruct`: one call from a user's own time series to a validated reconstruction."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_in_range, check_int, check_positive
from ..data import Standardization, Trajectories, autocorrelation_time
from ..metrics import (
    lyapunov_spectrum,
    power_spectrum_distance,
    prediction_error,
    state_space_divergence,
)
from ._alrnn import ALRNN
from ._fit import ensemble_member, fit, make_ensemble
from ._reconstruction import Reconstruction
from ._settings import TrainingSettings, settings
from ._shallow_plrnn import ShallowPLRNN

MODELS = ("alrnn", "shplrnn")
TAU_RANGE = (4, 64)  # forcing interval, samples
SEQUENCE_PER_TAU = 12
SEQUENCE_RANGE = (50, 400)  # sequence length, samples
MIN_VALIDATION = 32  # samples in the validation tail of each trajectory
PROBE_STEPS = 100  # training steps timed (in a separate short fit) to size the budget
MIN_STEPS = 50  # trained even when the budget is spent before training
MAX_EVAL_TRAJECTORIES = 16  # validation trajectories scored per seed
TIME_COLUMN_NAMES = ("t", "time", "timestamp")
_MAX_BINS = 30  # D_stsp histogram bins per dimension: the protocol's, for 1e5 points in 3-D
_POINTS_PER_CELL = 4  # ... which is about 4 points per cell; fewer points get fewer bins
_BINS_BELOW_DIM = 6  # state_space_divergence uses bins below this dimension, else a GMM
_ALPHA = 1e-5  # state_space_divergence's Laplace smoothing
_DISTINCT_DECIMALS = 3  # states equal to 1e-3 data std count as one (cycle detection)

_HINT = (
    "In reconstruct the seeds train as one vmapped ensemble, so one diverging seed stops all "
    "of them. Try reconstruct(..., start_lr={lr:.2g}) (a smaller learning rate), a smaller "
    "tau (stronger teacher forcing), a shorter sequence_length, or another key."
)


@dataclasses.dataclass(frozen=True)
class _Plan:
    """Everything `reconstruct` decided before training (checked input, split, settings)."""

    model: str
    train: Trajectories  # z-scored training part, (B, T_train, N)
    validation: Any  # z-scored validation tails, (B_eval, V, N)
    stats: Standardization
    dt: float
    columns: list[str]
    settings: TrainingSettings
    n_steps: int | None
    n_seeds: int
    budget_s: float
    key: Any
    floor: dict
    n_bins: int
    validation_info: dict
    lines: list
    lyapunov_steps: int
    pe_steps: int


def reconstruct(
    data: Any,
    *,
    dt: float | int | None = None,
    model: str = "alrnn",
    key: jax.Array,
    budget_minutes: float | int = 10.0,
    n_seeds: int = 4,
    validation_fraction: float = 0.2,
    n_steps: int | None = None,
    lyapunov_steps: int = 5000,
    verbose: bool = True,
    progress: bool | None = None,
    **overrides: Any,
) -> Reconstruction:
    """Reconstruct the dynamics behind a user's time series with a PLRNN-family model.

    One call does the whole protocol, with settings derived from the data instead of a
    benchmark's table:

    1. **Check** the input (before anything is trained): real, finite values, no constant
       column, `dt > 0`, enough samples for the validation tail and the training windows.
    2. **Split** off the last `validation_fraction` (20 %) of every trajectory for
       validation, and **z-score** each column with the training part's mean and std
       ([`dynsys.data.Standardization`][]).
    3. **Derive the settings** from [`dynsys.dsr.settings`][]`("lorenz63", model)`:
       τ (forcing interval) = the data's time scale in samples,
       [`dynsys.data.autocorrelation_time`][] (the lag where the mean autocorrelation drops
       below 1/e), clipped to [4, 64] (AL-RNN; the shPLRNN keeps GTF's τ = 1 with adaptive
       α); `sequence_length` = 12 times that time scale (or 12 τ for a given τ), clipped to
       [50, 400] and to half the training part; `latent_dim` M = max(the table's, N + P)
       for the AL-RNN (N columns, P `pwl_units`) and max(the table's, N) for the shPLRNN; the
       number of steps from the budget: 100 steps are timed first (compilation measured apart), and
       `n_steps` is what fits in `budget_minutes` after the time spent so far, one more
       compilation and the evaluation. Each is printed, and each can be overridden.
    4. **Train** `n_seeds` models at once as a `vmap` ensemble ([`dynsys.dsr.fit`][] with
       [`dynsys.dsr.make_ensemble`][]), the untrained ensemble scored first as a baseline.
       The AL-RNN keeps each seed's checkpoint with the lowest training D_stsp (20 evaluations
       over the run), as its reference does; the shPLRNN keeps the last model (GTF).
    5. **Validate** every seed on the tail: generate 1.25 V steps from the first
       validation point, drop the first 0.25 V, compare with the V validation samples by
       D_stsp and D_H ([`dynsys.metrics`][]), mean over trajectories; select the lowest
       D_stsp (a seed whose free run diverges never wins; ties go to the lower D_H). PE(20)
       and λ_max (per unit time) of the selected model are added.
    6. **Floor**: D_stsp and D_H between the two halves of the training part (first V
       samples of each half), what the data score against themselves.

    **Arguments:**

    - `data`: one trajectory `(time, N)`, a batch `(batch, time, N)` (a common time grid),
      a [`dynsys.data.Trajectories`][] (no inputs), or a table with `.to_numpy()` and
      `.columns` (a pandas DataFrame; drop a time column first).
    - `dt`: the sampling step (time per row), > 0; optional for `Trajectories` with `dt`.
    - `model`: `"alrnn"` (AL-RNN, sparse teacher forcing) or `"shplrnn"` (clipped shallow
      PLRNN, adaptive generalized teacher forcing).
    - `key`: PRNG key (initialisation and batches).
    - `budget_minutes`: wall-clock budget of the whole call, > 0.
    - `n_seeds`: models trained at once; the best on validation is kept.
    - `validation_fraction`: the held-out tail of every trajectory, in (0, 0.5].
    - `n_steps`: train exactly this many steps (no timing; the budget is then not used).
    - `lyapunov_steps`: QR steps for λ_max (0 skips it).
    - `verbose`: print the derived settings (one line each) and the summary.
    - `progress`: the training progress bar (default: `verbose`).
    - `overrides`: any [`TrainingSettings`][] field, replacing the derived or table value
      (`tau=8`, `sequence_length=100`, `latent_dim=30`, `pwl_units=4`, `start_lr=5e-4`,
      ...).

    **Returns:** a [`Reconstruction`][]: `.generate(x0, n)` in the data's units,
    `.summary()`, `.to_dict()`, `.save(path)`.

    Raises `ValueError`/`TypeError` naming the argument for bad input, and
    [`dynsys.training.NonFiniteError`][] (with the step and a hint) when training diverges.

    ```python
    import jax, numpy as np, dynsys
    x = np.loadtxt("measurements.csv", delimiter=",")          # (time, N)
    rec = dynsys.dsr.reconstruct(x, dt=0.01, key=jax.random.key(0), budget_minutes=5)
    print(rec.summary())
    xs = rec.generate(x[-1], 5000)                             # the future, in x's units
    rec.save("reconstruction.eqx")
    ```
    """
    t_start = time.perf_counter()
    plan = prepare(
        data, dt=dt, model=model, key=key, budget_minutes=budget_minutes, n_seeds=n_seeds,
        validation_fraction=validation_fraction, n_steps=n_steps,
        lyapunov_steps=lyapunov_steps, overrides=overrides,
    )  # fmt: skip
    if progress is None:
        progress = bool(verbose)
    return run(plan, t_start=t_start, verbose=verbose, progress=progress)


# ---- checks and settings -----------------------------------------------------------------


def prepare(
    data: Any,
    *,
    dt: Any,
    model: Any,
    key: Any,
    budget_minutes: Any,
    n_seeds: Any,
    validation_fraction: Any,
    n_steps: Any,
    lyapunov_steps: Any,
    overrides: dict,
    columns: list[str] | None = None,
) -> _Plan:
    """Check every argument and derive the settings; nothing is trained here.

    The arguments are `reconstruct`'s (unchecked: this is the check); `overrides` the
    `TrainingSettings` keywords; `columns` names an array's columns (e.g. a file's header).
    Returns the plan that `run` trains.
    """
    if model not in MODELS:
        raise ValueError(f"`model` must be one of {MODELS}, got {model!r}.")
    if isinstance(budget_minutes, bool) or not isinstance(budget_minutes, int | float):
        raise TypeError(f"`budget_minutes` must be a number, got {budget_minutes!r}.")
    check_positive(budget_minutes, "budget_minutes")
    n_seeds = check_int(n_seeds, "n_seeds", minimum=1)
    _check_key(key)
    if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, int | float):
        raise TypeError(f"`validation_fraction` must be a number, got {validation_fraction!r}.")
    if not 0.0 < validation_fraction <= 0.5:
        raise ValueError(
            f"`validation_fraction` must lie in (0, 0.5], got {validation_fraction!r}."
        )
    if n_steps is not None:
        n_steps = check_int(n_steps, "n_steps", minimum=1)
    lyapunov_steps = check_int(lyapunov_steps, "lyapunov_steps", minimum=0)
    known = {f.name for f in dataclasses.fields(TrainingSettings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(
            f"reconstruct() got unknown setting(s) {unknown}; the keyword overrides are the "
            f"TrainingSettings fields {sorted(known)}."
        )

    states, columns, data_dt = _states(data, columns)
    dt = _check_dt(dt, data_dt)
    n_traj, n_times, n_cols = states.shape
    _check_values(states, columns)

    n_val = max(MIN_VALIDATION, int(round(validation_fraction * n_times)))
    n_train = n_times - n_val
    min_train = 2 * (SEQUENCE_RANGE[0] + 1)
    if n_train < min_train:
        raise ValueError(
            f"`data` is too short: {n_times} samples per trajectory, but reconstruct needs "
            f"at least {n_val + min_train} (a validation tail of {n_val} and two training "
            f"windows of {SEQUENCE_RANGE[0] + 1})."
        )
    dtype = jnp.result_type(float)
    train_raw = states[:, :n_train].astype(dtype)
    val_raw = states[:, n_train:].astype(dtype)
    for part, name in ((train_raw, "training part"), (val_raw, "validation tail")):
        spread = np.ptp(part, axis=(0, 1))
        if np.any(spread == 0):
            bad = [columns[i] for i in np.flatnonzero(spread == 0)]
            raise ValueError(
                f"`data` column(s) {bad} are constant over the {name} (the last "
                f"{n_val} samples are validation); the time series must vary in both."
            )
    stats = Standardization.fit(train_raw)
    train_z = np.asarray(stats.apply(jnp.asarray(train_raw)))
    val_z = np.asarray(stats.apply(jnp.asarray(val_raw)))

    base = settings("lorenz63", model)
    lines = [
        f"reconstruct: {n_traj} trajectory(ies) x {n_times} samples x {n_cols} column(s), "
        f"dt = {dt:g}; model {model}, {n_seeds} seed(s)",
        f"  validation       last {n_val} samples of each trajectory "
        f"({100 * n_val / n_times:.0f} %)",
    ]
    lag = autocorrelation_time(train_z)
    scale = int(np.clip(TAU_RANGE[1] if lag is None else lag, *TAU_RANGE))
    given_tau = overrides.get("tau")
    # a tau given by the user sets the sequence length as a derived one would
    seq_tau = given_tau if isinstance(given_tau, int) and given_tau > 0 else scale
    seq = int(np.clip(SEQUENCE_PER_TAU * seq_tau, *SEQUENCE_RANGE))
    seq = min(seq, (n_train - 1) // 2)
    # Sparse teacher forcing (AL-RNN) forces every tau steps: tau is the data's time scale.
    # Generalized teacher forcing (shPLRNN) mixes in the data at every step (tau = 1) with
    # an adaptive strength; its tau stays the table's.
    tau = min(scale, seq) if model == "alrnn" else base.tau
    if lag is None:
        scale_text = f"mean autocorrelation stays above 1/e: the largest, {TAU_RANGE[1]}"
    else:
        scale_text = (
            f"data time scale: mean autocorrelation < 1/e at lag {lag} ({lag * dt:g} time "
            f"units), clipped to {list(TAU_RANGE)}"
        )
    pwl = overrides.get("pwl_units", base.pwl_units)
    if model == "alrnn":
        latent = max(base.latent_dim, n_cols + (pwl if isinstance(pwl, int) else 0))
    else:
        latent = max(base.latent_dim, n_cols)
    derived = {
        "tau": (
            tau,
            scale_text
            if model == "alrnn"
            else "the GTF setting: the data mixed in at every step, with adaptive alpha",
        ),
        "sequence_length": (
            seq,
            f"{SEQUENCE_PER_TAU} x {'tau' if given_tau is not None else 'time scale'}, "
            f"clipped to {list(SEQUENCE_RANGE)} and to half the training part "
            f"({n_train} samples)",
        ),
        "latent_dim": (
            latent,
            f"the Lorenz-63 setting, at least N{' + pwl_units' if model == 'alrnn' else ''}",
        ),
    }
    if model == "alrnn":
        given_m = overrides.get("latent_dim")
        if isinstance(given_m, int) and "pwl_units" not in overrides and given_m < latent:
            # a smaller M given without P: keep the N read-out units linear, at least one ReLU
            derived["pwl_units"] = (
                max(1, min(base.pwl_units, given_m - n_cols)),
                f"the Lorenz-63 setting ({base.pwl_units}), at most latent_dim - N",
            )
        else:
            derived["pwl_units"] = (
                base.pwl_units,
                "the Lorenz-63 setting (the lowest D_stsp of P = 2..16 there)",
            )
    else:
        derived["hidden_dim"] = (base.hidden_dim, "the Lorenz-63 setting")
    s = base.replace(**{name: value for name, (value, _) in derived.items()})
    s = s.replace(**overrides)
    for name, (_, why) in derived.items():
        label = "override" if name in overrides else why
        lines.append(f"  {name:<16} {getattr(s, name)!s:<7} {label}")
    for name in sorted(set(overrides) - set(derived)):
        lines.append(f"  {name:<16} {getattr(s, name)!s:<7} override")
    _check_settings(s, model, n_cols, n_train)

    n_eval = min(n_traj, MAX_EVAL_TRAJECTORIES)
    n_bins = _n_bins(n_val, n_cols)
    floor = _floor(train_z[:n_eval], n_val, n_bins)
    lines.append(
        f"  D_stsp bins      {n_bins!s:<7} per column, about {_POINTS_PER_CELL} validation "
        f"samples per cell (the protocol's 30 for 1e5 samples in 3-D), at most {_MAX_BINS}"
    )
    lines.append(
        f"  floor            D_stsp {floor['d_stsp']:.4g}, D_H {floor['d_h']:.4g} "
        "(the training part's halves against each other)"
    )
    return _Plan(
        model=model,
        train=Trajectories.from_arrays(jnp.asarray(train_z), dt=dt),
        validation=jnp.asarray(val_z[:n_eval]),
        stats=stats,
        dt=float(dt),
        columns=columns,
        settings=s,
        n_steps=n_steps,
        n_seeds=n_seeds,
        budget_s=60.0 * float(budget_minutes),
        key=key,
        floor=floor,
        n_bins=n_bins,
        validation_info={
            "n_samples": n_val,
            "fraction": float(validation_fraction),
            "n_trajectories": n_eval,
            "n_train_samples": n_train,
            "d_stsp_bins": n_bins,
        },
        lines=lines,
        lyapunov_steps=lyapunov_steps,
        pe_steps=min(20, n_val - 1),
    )


def _check_key(key: Any) -> None:
    ok = isinstance(key, jax.Array) and (
        jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
        or (key.dtype == jnp.uint32 and key.shape == (2,))
    )
    if not ok:
        raise TypeError(f"`key` must be a jax.random key, e.g. jax.random.key(0); got {key!r}.")


def _states(data: Any, names: list[str] | None) -> tuple[np.ndarray, list[str], float | None]:
    """`(batch, time, N)` float64 values, column names and the data's own dt (or None)."""
    data_dt = None
    columns = None
    if isinstance(data, Trajectories):
        if data.states.ndim != 3:
            raise ValueError(
                f"`data` must hold ODE trajectories (batch, time, N), got state shape "
                f"{data.state_shape} (a field)."
            )
        if data.inputs is not None:
            raise ValueError(
                "`data` has external inputs; reconstruct models autonomous data. Train a model "
                "with inputs with dynsys.dsr.fit."
            )
        arr, data_dt = np.asarray(data.states), data.dt
    elif hasattr(data, "to_numpy") and hasattr(data, "columns"):
        columns = [str(c) for c in data.columns]
        time_like = [c for c in columns if c.lower() in TIME_COLUMN_NAMES]
        if time_like:
            raise ValueError(
                f"`data` has a time column {time_like[0]!r}; drop it (e.g. "
                f"df.drop(columns=[{time_like[0]!r}])) and pass its spacing as `dt`."
            )
        arr = np.asarray(data.to_numpy())
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            for i, name in enumerate(columns):
                try:
                    np.asarray(arr[:, i], dtype=np.float64)
                except (TypeError, ValueError):
                    raise TypeError(
                        f"`data` column {name!r} is not numeric (e.g. {arr[0, i]!r})."
                    ) from None
    else:
        if isinstance(data, str | bytes) or data is None:
            raise TypeError(f"`data` must be an array of numbers, got {type(data).__name__}.")
        try:
            arr = np.asarray(data)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`data` must be an array of numbers: {err}") from None
    if np.iscomplexobj(arr):
        raise TypeError(
            "`data` holds complex numbers; reconstruct needs real values (give the real and "
            "imaginary parts as separate columns)."
        )
    if arr.dtype == bool or not (arr.dtype == object or np.issubdtype(arr.dtype, np.number)):
        raise TypeError(f"`data` must hold real numbers, got dtype {arr.dtype}.")
    try:
        arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("`data` must hold real numbers only.") from None
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(
            f"`data` must be (time, N) or (batch, time, N), got shape {tuple(arr.shape)} "
            f"({arr.ndim} dimension(s))."
        )
    if 0 in arr.shape:
        raise ValueError(f"`data` is empty, shape {tuple(arr.shape)}.")
    if columns is None and names is not None and len(names) == arr.shape[-1]:
        columns = [str(name) for name in names]
    if columns is None:
        columns = [f"x{i}" for i in range(arr.shape[-1])]
    return arr, columns, data_dt


def _check_dt(dt: Any, data_dt: float | None) -> float:
    if dt is None:
        if data_dt is None:
            raise ValueError(
                "`dt` is required: the time between two samples of `data` (the Trajectories "
                "have no uniform dt)."
            )
        dt = data_dt
    if isinstance(dt, bool) or not isinstance(dt, int | float | np.number):
        raise TypeError(f"`dt` must be a number, got {dt!r}.")
    check_positive(dt, "dt")
    if data_dt is not None and not math.isclose(float(dt), data_dt, rel_tol=1e-4):
        raise ValueError(f"`dt`={dt!r} disagrees with the Trajectories' dt={data_dt!r}.")
    return float(dt)


def _check_values(states: np.ndarray, columns: list[str]) -> None:
    finite = np.isfinite(states)
    if not np.all(finite):
        bad = [columns[i] for i in np.flatnonzero(~np.all(finite, axis=(0, 1)))]
        raise ValueError(
            f"`data` contains {int(np.size(finite) - np.count_nonzero(finite))} NaN or "
            f"infinite value(s), in column(s) {bad}; clean or interpolate them first."
        )
    spread = np.ptp(states, axis=(0, 1))
    if np.any(spread == 0):
        bad = [columns[i] for i in np.flatnonzero(spread == 0)]
        raise ValueError(
            f"`data` column(s) {bad} are constant; drop them (a constant carries no dynamics "
            "and cannot be z-scored)."
        )


def _check_settings(s: TrainingSettings, model: str, n_cols: int, n_train: int) -> None:
    tau = check_int(s.tau, "tau", minimum=1)
    seq = check_int(s.sequence_length, "sequence_length", minimum=1)
    latent = check_int(s.latent_dim, "latent_dim", minimum=1)
    if latent < n_cols:
        raise ValueError(
            f"`latent_dim` (M) must be >= the number of columns N={n_cols} (the first N latent "
            f"units are read out), got {latent}."
        )
    if model == "alrnn":
        pwl = check_int(s.pwl_units, "pwl_units", minimum=0)
        if pwl > latent:
            raise ValueError(
                f"`pwl_units` (P, the number of ReLU units) must be <= latent_dim (M)="
                f"{latent}, got {pwl}."
            )
    else:
        check_int(s.hidden_dim, "hidden_dim", minimum=1)
    if seq + 1 > n_train:
        raise ValueError(
            f"`data` is too short for the chosen windows: `sequence_length`={seq} needs "
            f"{seq + 1} samples, the training part has {n_train} per trajectory."
        )
    if tau > seq:
        raise ValueError(f"`tau`={tau} must be <= sequence_length={seq}.")
    check_int(s.batch_size, "batch_size", minimum=1)
    check_int(s.batches_per_epoch, "batches_per_epoch", minimum=1)
    check_in_range(s.alpha, "alpha", 0.0, 1.0)
    check_positive(s.start_lr, "start_lr")
    check_positive(s.end_lr, "end_lr")


def _n_bins(n_val: int, n_cols: int) -> int:
    """D_stsp bins per dimension: about `_POINTS_PER_CELL` validation samples per cell."""
    return int(np.clip(round((n_val / _POINTS_PER_CELL) ** (1.0 / n_cols)), 2, _MAX_BINS))


def _floor(train: np.ndarray, n_val: int, n_bins: int) -> dict[str, float]:
    """D_stsp and D_H between the two halves of each training trajectory (mean)."""
    half = train.shape[1] // 2
    length = min(n_val, half)
    d_stsp, d_h = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for x in train:
            first, second = jnp.asarray(x[:length]), jnp.asarray(x[half : half + length])
            if np.any(np.ptp(x[half : half + length], axis=0) == 0):
                d_stsp.append(math.nan)
                d_h.append(math.nan)
                continue
            d_stsp.append(float(state_space_divergence(second, first, n_bins=n_bins)))
            d_h.append(float(power_spectrum_distance(second, first)))
    return {"d_stsp": float(np.mean(d_stsp)), "d_h": float(np.mean(d_h))}


# ---- training, validation, selection ---------------------------------------------------------


def run(plan: _Plan, *, t_start: float, verbose: bool, progress: bool) -> Reconstruction:
    """Train the ensemble of a checked plan, validate, select; the `Reconstruction`."""
    say = print if verbose else (lambda *a, **k: None)
    for line in plan.lines:
        say(line, flush=True)
    s = plan.settings
    n_cols = plan.train.dim
    if plan.model == "alrnn":
        factory = lambda k: ALRNN(s.latent_dim, s.pwl_units, n_cols, key=k)  # noqa: E731
    else:
        factory = lambda k: ShallowPLRNN(s.latent_dim, s.hidden_dim, n_cols, key=k, clipped=True)  # noqa: E731
    key_model, key_fit = jax.random.split(plan.key)
    ensemble = make_ensemble(factory, key_model, plan.n_seeds)
    n_val = plan.validation.shape[1]
    n_transient = int(round(0.25 * n_val))

    t_eval = time.perf_counter()
    untrained, _ = _score_seeds(ensemble, plan, n_transient)
    first = ensemble_member(ensemble, _select(untrained))
    _extras(first, plan, n_transient)  # compiles PE and lambda_max: the evaluation is timed
    eval_time = time.perf_counter() - t_eval

    if plan.n_steps is None:
        n_steps, how = _budget_steps(ensemble, plan, key_fit, t_start, eval_time)
    else:
        n_steps, how = plan.n_steps, "override (no budget timing)"
    bpe = s.batches_per_epoch
    if n_steps >= bpe:
        n_epochs = n_steps // bpe
        n_steps = n_epochs * bpe
    else:
        n_epochs, bpe = 1, n_steps
    s = s.replace(n_epochs=n_epochs, batches_per_epoch=bpe)
    say(f"  {'n_steps':<16} {n_steps!s:<7} {how}", flush=True)

    t_train = time.perf_counter()
    # The AL-RNN reference keeps the checkpoint with the lowest training D_stsp: its
    # sparse-TF runs drift onto a stable focus late in training (docs/benchmarks.md,
    # "AL-RNN on Lorenz-63: diagnosis"); the GTF reference keeps the last model.
    selection = {}
    if plan.model == "alrnn":
        selection = dict(select="best", eval_every=max(bpe, n_steps // 20),
                         n_eval_steps=plan.train.n_times)  # fmt: skip
    result = fit(
        ensemble, plan.train, key=key_fit, settings=s, n_steps=n_steps,
        ensemble=plan.n_seeds, progress=progress,
        failure_hint=_HINT.format(lr=s.start_lr / 3), **selection,
    )  # fmt: skip
    train_time = time.perf_counter() - t_train

    scores, runs = _score_seeds(result.model, plan, n_transient)
    best = _select(scores)
    chosen = ensemble_member(result.model, best)
    pe, lam = _extras(chosen, plan, n_transient)
    checks = _checks(np.asarray(plan.validation[0]), runs[best], plan.n_bins)
    info = {
        "columns": plan.columns,
        "model": plan.model,
        "settings": dataclasses.asdict(s),
        "n_steps": int(n_steps),
        "scores": {
            "d_stsp": scores[best]["d_stsp"],
            "d_h": scores[best]["d_h"],
            "pe": pe,
            "lambda_max": lam,
        },
        "pe_steps": plan.pe_steps,
        "floor": plan.floor,
        "seed_scores": scores,
        "untrained_scores": untrained,
        "selected_seed": best,
        "train_time": train_time,
        "validation": plan.validation_info,
        "checks": checks,
        "budget_minutes": plan.budget_s / 60.0,
        "total_time": time.perf_counter() - t_start,
    }
    rec = Reconstruction(
        model=chosen,
        standardization=plan.stats,
        dt=plan.dt,
        info_json=json.dumps(info, allow_nan=True, default=str),
    )
    say(rec.summary(), flush=True)
    return rec


@contextlib.contextmanager
def _compile_clock():
    """Seconds JAX spends tracing, lowering and compiling inside the block (a 1-list)."""
    total = [0.0]

    def listen(event: str, duration: float, **_: Any) -> None:
        if event.startswith("/jax/core/compile/"):
            total[0] += duration

    monitoring = jax.monitoring
    register = getattr(monitoring, "register_event_duration_secs_listener", None)
    unregister = getattr(monitoring, "unregister_event_duration_listener", None)
    if register is None or unregister is None:
        yield total  # compilation is then counted as training time: fewer steps, not more
        return
    register(listen)
    try:
        yield total
    finally:
        unregister(listen)


def _budget_steps(ensemble, plan: _Plan, key, t_start: float, eval_time: float):
    """Time a short run, then the steps that fit the rest of the budget."""
    s = plan.settings
    t0 = time.perf_counter()
    with _compile_clock() as compile_s:
        fit(ensemble, plan.train, key=key, settings=s, n_steps=PROBE_STEPS,
            ensemble=plan.n_seeds, progress=False)  # fmt: skip
    wall = time.perf_counter() - t0
    compile_time = min(compile_s[0], wall)
    per_step = max(wall - compile_time, 1e-3 * wall) / PROBE_STEPS
    left = plan.budget_s - (time.perf_counter() - t_start) - compile_time - eval_time
    n_steps = int(left / per_step)
    how = (
        f"budget {plan.budget_s / 60:g} min: {1e3 * per_step:.3g} ms per step timed over "
        f"{PROBE_STEPS} steps; {compile_time:.1f} s compilation and {eval_time:.1f} s "
        "evaluation kept aside"
    )
    if n_steps < MIN_STEPS:
        how += f"; the budget is spent, training the minimum of {MIN_STEPS} steps"
        n_steps = MIN_STEPS
    return n_steps, how


@eqx.filter_jit
def _free_runs(model, x0, n_steps: int):
    """Free runs `(batch, n_steps, N)` and their latent states from observations `(batch, N)`."""
    z = model.generate_latent(model.init_state(x0), n_steps)
    return model.readout(z), z[:, -1]


def _score_seeds(ensemble, plan: _Plan, n_transient: int):
    """Per-seed validation scores and each seed's free runs `(B, V, N)` (numpy)."""
    validation = plan.validation
    n_val = validation.shape[1]
    rows, runs = [], []
    for i in range(plan.n_seeds):
        member = ensemble_member(ensemble, i)
        generated, _ = _free_runs(member, validation[:, 0], n_transient + n_val)
        generated = np.asarray(generated[:, n_transient:])
        diverged = not bool(np.all(np.isfinite(generated)))
        d_stsp, d_h = math.nan, math.nan
        if not diverged:
            d_stsp, d_h = _divergences(validation, generated, plan.n_bins)
        rows.append({"seed": i, "d_stsp": d_stsp, "d_h": d_h, "diverged": diverged})
        runs.append(generated)
    return rows, runs


def _divergences(validation, generated, n_bins: int) -> tuple[float, float]:
    """Mean D_stsp and D_H over trajectories (NaN when any is NaN; warnings kept quiet)."""
    d_stsp, d_h = [], []
    with warnings.catch_warnings():
        # NaN is the answer for a run outside the data's range or a constant run; the
        # diagnostics say so in words.
        warnings.simplefilter("ignore", RuntimeWarning)
        for x, g in zip(validation, generated, strict=True):
            g = jnp.asarray(g, dtype=x.dtype)
            d_stsp.append(float(state_space_divergence(x, g, n_bins=n_bins)))
            d_h.append(float(power_spectrum_distance(x, g)))
    return float(np.mean(d_stsp)), float(np.mean(d_h))


def _select(rows: list[dict]) -> int:
    """Lowest D_stsp; a diverged or NaN seed only wins when every seed is one; ties by D_H."""

    def rank(r):
        d = r["d_stsp"] if math.isfinite(r["d_stsp"]) else math.inf
        h = r["d_h"] if math.isfinite(r["d_h"]) else math.inf
        return (r["diverged"], d, h, r["seed"])

    return min(rows, key=rank)["seed"]


def _extras(model, plan: _Plan, n_transient: int):
    """PE(n) over the validation tails and λ_max from the end of the first free run."""
    validation = plan.validation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pes = [
            float(prediction_error(model.step, model.init_state, x, n=plan.pe_steps,
                                   readout=model.readout, batch_size=4096).value)
            for x in validation
        ]  # fmt: skip
    pe = float(np.mean(pes))
    _, z_last = _free_runs(model, validation[:1, 0], n_transient + validation.shape[1])
    z_last = z_last[0]
    lam = math.nan
    if plan.lyapunov_steps > 0 and bool(jnp.all(jnp.isfinite(z_last))):
        spectrum = lyapunov_spectrum(
            model.step, z_last, n_steps=plan.lyapunov_steps,
            transient=min(1000, plan.lyapunov_steps // 5), dt=plan.dt, n_exponents=1,
        )  # fmt: skip
        lam = float(spectrum.exponents[0])
    return pe, lam


def _checks(x: np.ndarray, generated: np.ndarray, n_bins: int) -> dict[str, Any]:
    """What the diagnostics need: the run's spread, distinct states, overlap with the data."""
    g = np.asarray(generated[0], dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    tail = g[g.shape[0] // 2 :]
    finite = bool(np.all(np.isfinite(tail)))
    checks = {
        "n_tail": int(tail.shape[0]),
        "tail_std": float(np.max(np.std(tail, axis=0))) if finite else None,
        "distinct_states": (
            int(np.unique(np.round(tail, _DISTINCT_DECIMALS), axis=0).shape[0]) if finite else None
        ),
        "ceiling": None,
        "overlap": None,
    }
    if finite and x.shape[1] < _BINS_BELOW_DIM:
        checks["ceiling"], checks["overlap"] = _ceiling_and_overlap(x, g, n_bins)
    return checks


def _ceiling_and_overlap(x: np.ndarray, g: np.ndarray, n_bins: int) -> tuple[float, float]:
    """D_stsp's largest value for these sample sizes, and the generated share in data cells.

    The binning is state_space_divergence's (`n_bins` per dimension over [min − 0.1σ,
    max + 0.1σ] of the data). The ceiling is the divergence when the generated points all
    sit in cells the data never visit: Σ_{h>0} p log(p (M + αC) / α), with p the smoothed
    data histogram, M the generated points inside the range and C the number of cells.
    """
    sigma = np.std(x, axis=0, ddof=1)
    lo = x.min(axis=0) - 0.1 * sigma
    hi = x.max(axis=0) + 0.1 * sigma
    n_cells = n_bins ** x.shape[1]
    strides = n_bins ** np.arange(x.shape[1] - 1, -1, -1)

    def cells(points):
        idx = np.floor((points - lo) / (hi - lo) * n_bins).astype(np.int64)
        inside = np.all((idx >= 0) & (idx < n_bins), axis=1)
        return idx[inside] @ strides, int(inside.sum())

    data_cells, n_data = cells(x)
    gen_cells, n_gen = cells(g)
    occupied, counts = np.unique(data_cells, return_counts=True)
    overlap = float(np.isin(gen_cells, occupied).sum() / g.shape[0])
    p = (counts + _ALPHA) / (n_data + _ALPHA * n_cells)
    m = max(n_gen, 1)
    ceiling = float(np.sum(p * np.log(p * (m + _ALPHA * n_cells) / _ALPHA)))
    return ceiling, overlap
