"""Fit a neural DE to trajectories on the training core: curriculum, shooting, diagnostics."""

from __future__ import annotations

import math
import time
from typing import Any

import equinox as eqx
import jax
import numpy as np
import optax

from .. import training
from .._validation import check_int, check_positive
from ..data import SeriesSampler, Trajectories
from ._abstract import AbstractNDE, FitPhase
from ._checks import check_observations
from ._objectives import LearnedStarts


class NDEFitResult(eqx.Module):
    """What [`dynsys.nde.fit`][] returns.

    **Fields:**

    - `model`: the trained model (after the last phase).
    - `phases`: one [`dynsys.training.FitResult`][] per curriculum phase.
    - `lengths`: number of time points trained on in each phase.
    - `traces`: how many times the training step was traced (compiled) in each phase; 1
      means no recompilation within the phase (0: a phase restored complete from its
      checkpoint).
    - `history`: `{"step", "loss", "phase", ...}` concatenated over phases (numpy arrays).
    - `initial_conditions`: learned shooting initial conditions `(n_trajectories,
      n_segments, state_dim)` of the last phase, else None.
    - `wall_time`: seconds for all phases (compilation included).
    """

    model: Any
    phases: tuple
    lengths: tuple
    traces: tuple
    history: dict
    initial_conditions: Any
    wall_time: float


class _TraceCount:
    """A mutable count, shared by an objective and the caller that reads it."""

    def __init__(self):
        self.value = 0


class _CountedTraces(training.AbstractObjective):
    """A model's objective that counts how often it is traced (once per compilation)."""

    objective: training.AbstractObjective
    count: _TraceCount = eqx.field(static=True)

    # `failure_hint` is a class attribute of an objective; the wrapper answers with the
    # wrapped objective's, which the training core appends to its error.
    @property
    def failure_hint(self) -> str:
        return self.objective.failure_hint

    def init_state(self, model):
        return self.objective.init_state(model)

    def __call__(self, model, batch, state, *, step, key):
        self.count.value += 1
        return self.objective(model, batch, state, step=step, key=key)

    def explain_failure(self, error):
        return self.objective.explain_failure(error)


def _resolve_phases(steps, lengths):
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
        steps = (int(steps),)
    steps = tuple(check_int(s, "steps", minimum=1) for s in steps)
    if lengths is None:
        if len(steps) == 1:
            lengths = (1.0,)
        elif len(steps) == 2:
            lengths = (0.1, 1.0)
        else:
            raise ValueError(f"`lengths` is required with {len(steps)} phases in `steps`.")
    lengths = tuple(float(x) for x in lengths)
    if len(lengths) != len(steps):
        raise ValueError(
            f"`lengths` ({len(lengths)} entries) must match `steps` ({len(steps)} phases)."
        )
    for x in lengths:
        if not 0.0 < x <= 1.0:
            raise ValueError(f"`lengths` are fractions of the series in (0, 1], got {lengths}.")
    return steps, lengths


def _segments(length: int, n_segments: int) -> np.ndarray:
    """`(S, m+1)` indices of S overlapping segments covering the first S·m+1 points."""
    m = (length - 1) // n_segments
    if m < 1:
        raise ValueError(
            f"`shooting`={n_segments} segments need at least {n_segments + 1} time points in "
            f"every phase, but a phase trains on {length}; lower `shooting` or raise `lengths`."
        )
    return np.arange(n_segments)[:, None] * m + np.arange(m + 1)[None, :]


def _unwrap(model: Any) -> Any:
    return model.model if isinstance(model, LearnedStarts) else model


def fit(
    model: Any,
    data: Trajectories | Any,
    *,
    key: jax.Array,
    ts: Any = None,
    mask: Any = None,
    steps: int | tuple[int, ...] = (500, 500),
    lengths: tuple[float, ...] | None = None,
    batch_size: int = 32,
    optimizer: Any = None,
    shooting: int | None = None,
    shooting_init: str = "data",
    continuity_weight: float = 1.0,
    kl_weight: float = 1.0,
    progress: Any = True,
    on_nonfinite: Any = "raise",
    check_every: int = 1,
    eval_fn: Any = None,
    eval_every: int | None = None,
    checkpoint: training.Checkpointing | None = None,
) -> NDEFitResult:
    """Train a neural DE on trajectories with [`dynsys.training.fit`][].

    The model supplies its objective
    ([`AbstractNDE.objective`][dynsys.nde.AbstractNDE.objective]); for the built-in models
    (minimised, per observed entry):

    - [`NeuralODE`][dynsys.nde.NeuralODE]: trajectory matching
      ([`TrajectoryMatching`][dynsys.nde.TrajectoryMatching]), the masked MSE between the
      solve from each series' first point and the series. With `shooting=S`, multiple
      shooting ([`MultipleShooting`][dynsys.nde.MultipleShooting]): the series is cut into
      S segments that share end points; each segment is solved from its own initial
      condition (the data point, `shooting_init="data"`, or a free parameter initialised
      there, `"learned"`), and `continuity_weight ×` the mean squared gap between a
      segment's end and the next one's start is added. Learned initial conditions cover
      the augmented dimensions too; they need the state fully observed at the segment
      starts, as do data initial conditions.
    - [`LatentODE`][dynsys.nde.LatentODE]: the negative ELBO, NLL + `kl_weight` · KL
      ([`LatentODEELBO`][dynsys.nde.LatentODEELBO]).
    - [`NeuralSDE`][dynsys.nde.NeuralSDE]: the Euler–Maruyama transition NLL
      ([`TransitionNLL`][dynsys.nde.TransitionNLL]).
    - [`LatentSDE`][dynsys.nde.LatentSDE]: the negative ELBO with the path-space KL,
      NLL + `kl_weight` · (KL_z0 + KL_path) ([`LatentSDEELBO`][dynsys.nde.LatentSDEELBO]).

    Length curriculum (Kidger's neural ODE example): phase k trains `steps[k]` steps on the
    first `ceil(lengths[k] · T)` points of every series (default: 10 % then 100 %), with a
    fresh optimiser state per phase. Each phase compiles its step once: batches have a
    fixed shape (`batch_size` series drawn per step by a [`dynsys.data.SeriesSampler`][],
    with replacement only when there are fewer series), and per-sample time grids are
    data, not constants (see `traces`).

    Solves inside the loss run with `throw=False`; a failed solve gives a non-finite loss,
    the training core stops, and the objective re-solves every training series with the
    last good model to raise a [`SolverError`][dynsys.nde.SolverError] naming the
    trajectory, the time interval, diffrax's reason and what to change. Other non-finite
    runs raise the core's [`dynsys.training.NonFiniteError`][] with the step and the
    family's hints.

    **Arguments:**

    - `model`: an [`AbstractNDE`][dynsys.nde.AbstractNDE]: a NeuralODE, LatentODE,
      NeuralSDE, LatentSDE or a subclass of your own.
    - `data`: [`dynsys.data.Trajectories`][] (its `times`), or states `(batch, time, d)` /
      `(time, d)` with `ts`.
    - `key`: PRNG key (batches, posterior samples).
    - `ts`: times `(time,)` shared, or `(batch, time)` one grid per series (required for
      arrays; strictly increasing).
    - `mask`: boolean `(batch, time)` or `(batch, time, d)`, True = observed. NaN in the
      data is only accepted where the mask is False.
    - `steps`: optimiser steps per phase (int for one phase).
    - `lengths`: fraction of the series per phase (see above).
    - `batch_size`: series per step (fixed shape).
    - `optimizer`: optax transformation; default `optax.adabelief(3e-3)`.
    - `shooting`, `shooting_init`, `continuity_weight`: multiple shooting (NeuralODE;
      `shooting` needs one shared time grid).
    - `kl_weight`: weight of the KL terms (latent models; 1 is the ELBO).
    - `progress`: True/False or a [`dynsys.training.Progress`][].
    - `on_nonfinite`: `"raise"`, `"rollback"`, or a [`dynsys.training.RaiseOnNonfinite`][]
      / [`dynsys.training.RollbackOnNonfinite`][] (per phase).
    - `check_every`: how often the host checks the loss (see [`dynsys.training.fit`][]).
    - `eval_fn`, `eval_every`: `eval_fn(model) -> dict` of scalars called every `eval_every`
      steps of each phase (None: at the end of each phase; results in each phase's
      `eval_history`).
    - `checkpoint`: a [`dynsys.training.Checkpointing`][], or None. Phase k writes its
      checkpoints to the subfolder `phase{k}` of the directory; with `resume=True` a
      completed phase is restored from its last checkpoint and an interrupted one continues
      from it, bit for bit (given the same arguments).

    **Returns:** an [`NDEFitResult`][dynsys.nde.NDEFitResult].

    ```python
    bench = dynsys.data.benchmark("lorenz63", n_steps=5_000)
    windows = bench.train.states[0, :4000].reshape(40, 100, 3)
    model = nde.NeuralODE(3, key=jax.random.key(0))
    result = nde.fit(model, windows, ts=bench.train.times[:100], key=jax.random.key(1),
                     steps=(200, 200), lengths=(0.2, 1.0))
    ```
    """
    if not isinstance(model, AbstractNDE):
        raise TypeError(
            "`model` must be a dynsys.nde model (NeuralODE, LatentODE, NeuralSDE, LatentSDE "
            f"or a subclass of dynsys.nde.AbstractNDE), got {type(model).__name__}."
        )
    if isinstance(data, Trajectories):
        if ts is not None:
            raise ValueError("`ts` must not be given with Trajectories (their times are used).")
        ts, ys = data.times, data.states
    else:
        if ts is None:
            raise ValueError("`ts` is required when `data` is an array of states.")
        ys = data
    ts, ys, mask = check_observations(ts, ys, mask, model.data_dim)
    steps, lengths = _resolve_phases(steps, lengths)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    check_positive(continuity_weight, "continuity_weight", allow_zero=True)
    check_positive(kl_weight, "kl_weight", allow_zero=True)
    if shooting is not None:
        shooting = check_int(shooting, "shooting", minimum=1)
        if ts.ndim != 1:
            raise ValueError("`shooting` needs one shared time grid `ts` of shape (time,).")
    if shooting_init not in ("data", "learned"):
        raise ValueError(f"`shooting_init` must be 'data' or 'learned', got {shooting_init!r}.")
    if eval_fn is None and eval_every is not None:
        raise ValueError("`eval_every` was given without `eval_fn`; pass an eval_fn(model).")
    if checkpoint is not None and not isinstance(checkpoint, training.Checkpointing):
        raise TypeError(
            "`checkpoint` must be a dynsys.training.Checkpointing or None, got "
            f"{type(checkpoint).__name__}."
        )
    optimizer = optax.adabelief(3e-3) if optimizer is None else optimizer
    n_times = ys.shape[1]
    ys = ys.astype(training.param_dtype(model))
    ts = ts.astype(ys.dtype)
    evaluation = None
    if eval_fn is not None:
        evaluation = training.Evaluation(lambda m: eval_fn(_unwrap(m)), every=eval_every)

    phase_results, phase_lengths, traces, histories = [], [], [], []
    current: Any = model
    t_start = time.perf_counter()
    step_offset = 0
    for index, (n_steps, frac) in enumerate(zip(steps, lengths, strict=True)):
        length = max(2, math.ceil(frac * n_times))
        segments = None if shooting is None else _segments(length, shooting)
        ts_p, ys_p, mask_p = ts[..., :length], ys[:, :length], mask[:, :length]
        phase = FitPhase(
            index=index, ts=ts_p, ys=ys_p, mask=mask_p, key=key, kl_weight=kl_weight,
            segments=segments, shooting_init=shooting_init,
            continuity_weight=continuity_weight,
        )  # fmt: skip
        count = _TraceCount()
        objective = _CountedTraces(_unwrap(current).objective(phase), count)
        if segments is not None and shooting_init == "learned":
            # Free initial conditions per (series, segment), re-initialised from the data at
            # the start of every phase (the segments move with the length).
            ode = _unwrap(current)
            current = LearnedStarts(ode, ode.augment(ys_p[:, segments[:, 0]]))
        phase_checkpoint = None
        if checkpoint is not None:
            phase_checkpoint = training.Checkpointing(
                checkpoint.directory / f"phase{index}",
                every=checkpoint.every,
                resume=checkpoint.resume,
            )
        result = training.fit(
            current, objective, SeriesSampler(ys_p, times=ts_p, mask=mask_p, batch_size=batch_size),
            optimizer=optimizer, n_steps=n_steps, key=jax.random.fold_in(key, index),
            evaluation=evaluation, checkpoint=phase_checkpoint, on_nonfinite=on_nonfinite,
            progress=progress, check_every=check_every,
        )  # fmt: skip
        current = result.model
        phase_results.append(result)
        phase_lengths.append(length)
        traces.append(count.value)
        hist = dict(result.history)
        hist["step"] = np.asarray(hist["step"]) + step_offset
        hist["phase"] = np.full(len(hist["step"]), index)
        histories.append(hist)
        step_offset += result.steps
    starts = current.starts if isinstance(current, LearnedStarts) else None
    history = {k: np.concatenate([h[k] for h in histories]) for k in histories[0]}
    return NDEFitResult(
        model=_unwrap(current),
        phases=tuple(phase_results),
        lengths=tuple(phase_lengths),
        traces=tuple(traces),
        history=history,
        initial_conditions=starts,
        wall_time=time.perf_counter() - t_start,
    )
