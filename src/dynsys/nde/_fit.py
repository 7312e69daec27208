"""Fit a neural DE to trajectories on the training core: curriculum, shooting, diagnostics."""

from __future__ import annotations

import math
import time
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import training
from .._validation import check_int, check_positive
from ..data import Trajectories
from ._checks import check_observations, masked_mean_square
from ._latent_ode import LatentODE
from ._latent_sde import LatentSDE
from ._neural_ode import NeuralODE
from ._neural_sde import NeuralSDE

_MODELS = (NeuralODE, LatentODE, NeuralSDE, LatentSDE)


class SolverError(training.NonFiniteError):
    """A differential-equation solve failed during [`dynsys.nde.fit`][].

    Raised instead of the training core's generic non-finite error when the cause is a
    failed solve (`max_steps` reached, step size collapsed, non-finite state). A subclass of
    [`dynsys.training.NonFiniteError`][], with extra attributes:

    - `phase`: 0-based curriculum phase; `trajectory`: index of the first failing
      trajectory in the training data; `segment`: shooting segment (or None);
    - `time_interval`: `(t_last_ok, t_first_bad)`, the saved times around the failure;
    - `reason`: diffrax's message.
    """

    def __init__(self, message, *, step, quantity, last_good_model, phase, trajectory,
                 segment, time_interval, reason):  # fmt: skip
        super().__init__(message, step=step, quantity=quantity, last_good_model=last_good_model)
        self.phase = phase
        self.trajectory = trajectory
        self.segment = segment
        self.time_interval = time_interval
        self.reason = reason


class NDEFitResult(eqx.Module):
    """What [`dynsys.nde.fit`][] returns.

    **Fields:**

    - `model`: the trained model (after the last phase).
    - `phases`: one [`dynsys.training.FitResult`][] per curriculum phase.
    - `lengths`: number of time points trained on in each phase.
    - `traces`: how many times the training step was traced (compiled) in each phase; 1
      means no recompilation within the phase.
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


class _Shooting(eqx.Module):
    """A NeuralODE together with learned segment initial conditions (trained jointly)."""

    model: NeuralODE
    ics: Any


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
    progress: bool = True,
    on_nonfinite: str = "raise",
    check_every: int = 1,
    eval_fn: Any = None,
    eval_every: int | None = None,
) -> NDEFitResult:
    """Train a neural DE on trajectories with [`dynsys.training.fit`][].

    Objectives (minimised, per observed entry):

    - [`NeuralODE`][dynsys.nde.NeuralODE]: trajectory matching, the masked MSE between the
      solve from each series' first point and the series. With `shooting=S`, multiple
      shooting: the series is cut into S segments that share end points; each segment is
      solved from its own initial condition (the data point, `shooting_init="data"`, or a
      free parameter initialised there, `"learned"`), and `continuity_weight ×` the mean
      squared gap between a segment's end and the next one's start is added. Learned
      initial conditions cover the augmented dimensions too; they need the state fully
      observed at the segment starts, as do data initial conditions.
    - [`LatentODE`][dynsys.nde.LatentODE]: the negative ELBO, NLL + `kl_weight` · KL.
    - [`NeuralSDE`][dynsys.nde.NeuralSDE]: the Euler–Maruyama transition NLL
      ([`NeuralSDE.transition_nll`][dynsys.nde.NeuralSDE.transition_nll]).
    - [`LatentSDE`][dynsys.nde.LatentSDE]: the negative ELBO with the path-space KL,
      NLL + `kl_weight` · (KL_z0 + KL_path).

    Length curriculum (Kidger's neural ODE example): phase k trains `steps[k]` steps on the
    first `ceil(lengths[k] · T)` points of every series (default: 10 % then 100 %), with a
    fresh optimiser state per phase. Each phase compiles its step once: batches have a
    fixed shape (`batch_size` series drawn per step, with replacement only when there are
    fewer series), and per-sample time grids are data, not constants (see `traces`).

    Solves inside the loss run with `throw=False`; a failed solve gives a non-finite loss,
    the training core stops, and this function re-solves every training series with the
    last good model to raise a [`SolverError`][dynsys.nde.SolverError] naming the
    trajectory, the time interval, diffrax's reason and what to change.

    **Arguments:**

    - `model`: a NeuralODE, LatentODE, NeuralSDE or LatentSDE.
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
    - `shooting`, `shooting_init`, `continuity_weight`: multiple shooting (NeuralODE).
    - `kl_weight`: weight of the KL terms (latent models; 1 is the ELBO).
    - `progress`, `on_nonfinite`, `check_every`: passed to the training core.
    - `eval_fn`, `eval_every`: `eval_fn(model) -> dict` of scalars called every `eval_every`
      steps of each phase (passed to the training core; results in each phase's
      `eval_history`).

    **Returns:** an [`NDEFitResult`][dynsys.nde.NDEFitResult].

    ```python
    bench = dynsys.data.benchmark("lorenz63", n_steps=5_000)
    windows = bench.train.states[0, :4000].reshape(40, 100, 3)
    model = nde.NeuralODE(3, key=jax.random.key(0))
    result = nde.fit(model, windows, ts=bench.train.times[:100], key=jax.random.key(1),
                     steps=(200, 200), lengths=(0.2, 1.0))
    ```
    """
    if not isinstance(model, _MODELS):
        raise TypeError(
            "`model` must be a dynsys.nde NeuralODE, LatentODE, NeuralSDE or LatentSDE, got "
            f"{type(model).__name__}."
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
        if not isinstance(model, NeuralODE):
            raise ValueError("`shooting` (multiple shooting) applies to NeuralODE models only.")
        if ts.ndim != 1:
            raise ValueError("`shooting` needs one shared time grid `ts` of shape (time,).")
    if shooting_init not in ("data", "learned"):
        raise ValueError(f"`shooting_init` must be 'data' or 'learned', got {shooting_init!r}.")
    optimizer = optax.adabelief(3e-3) if optimizer is None else optimizer
    n_series, n_times = ys.shape[0], ys.shape[1]
    ys = ys.astype(_param_dtype(model))
    ts = ts.astype(ys.dtype)

    phase_results, phase_lengths, traces, histories = [], [], [], []
    ics_out = None
    current: Any = model
    t_start = time.perf_counter()
    step_offset = 0
    for phase, (n_steps, frac) in enumerate(zip(steps, lengths, strict=True)):
        length = max(2, math.ceil(frac * n_times))
        seg = None if shooting is None else _segments(length, shooting)
        ts_p, ys_p, mask_p = ts[..., :length], ys[:, :length], mask[:, :length]
        if isinstance(model, NeuralODE):
            start_mask = mask_p[:, 0] if seg is None else mask_p[:, seg[:, 0]]
            if not bool(jnp.all(start_mask)):
                raise ValueError(
                    "`mask`: a NeuralODE is solved from observed initial states; the first time "
                    "point"
                    + (" of every shooting segment" if seg is not None else "")
                    + " must be fully observed for every series."
                )
        if shooting_init == "learned" and seg is not None:
            # Free initial conditions per (series, segment), re-initialised from the data at
            # the start of every phase (the segments move with the length).
            ode = current.model if isinstance(current, _Shooting) else current
            current = _Shooting(ode, ode.augment(ys_p[:, seg[:, 0]]))
        counter = [0]
        loss_fn = _make_loss(model, seg, shooting_init, continuity_weight, kl_weight, counter)
        arrays = (ts_p, ys_p, mask_p)
        batch_fn = _make_batches(arrays, n_series, batch_size)
        phase_eval = None
        if eval_fn is not None:

            def phase_eval(m, eval_fn=eval_fn):
                return eval_fn(m.model if isinstance(m, _Shooting) else m)

        try:
            result = training.fit(
                current, loss_fn, batch_fn, optimizer=optimizer, n_steps=n_steps,
                key=jax.random.fold_in(key, phase), has_aux=True, progress=progress,
                on_nonfinite=on_nonfinite, check_every=check_every, eval_fn=phase_eval,
                eval_every=eval_every,
            )  # fmt: skip
        except training.NonFiniteError as err:
            diagnosed = _diagnose(err, model, phase, arrays, seg, shooting_init, key)
            if diagnosed is err:
                raise
            raise diagnosed from err
        current = result.model
        phase_results.append(result)
        phase_lengths.append(length)
        traces.append(counter[0])
        hist = dict(result.history)
        hist["step"] = np.asarray(hist["step"]) + step_offset
        hist["phase"] = np.full(len(hist["step"]), phase)
        histories.append(hist)
        step_offset += result.steps
    if isinstance(current, _Shooting):
        ics_out = current.ics
        current = current.model
    history = {k: np.concatenate([h[k] for h in histories]) for k in histories[0]}
    return NDEFitResult(
        model=current,
        phases=tuple(phase_results),
        lengths=tuple(phase_lengths),
        traces=tuple(traces),
        history=history,
        initial_conditions=ics_out,
        wall_time=time.perf_counter() - t_start,
    )


def _param_dtype(model):
    leaves = [x for x in jax.tree_util.tree_leaves(model) if eqx.is_inexact_array(x)]
    return leaves[0].dtype if leaves else jnp.result_type(float)


def _make_batches(arrays, n_series, batch_size):
    ts, ys, mask = arrays
    replace = batch_size > n_series
    per_sample = ts.ndim == 2

    @jax.jit
    def gather(key):
        idx = jax.random.choice(key, n_series, (batch_size,), replace=replace)
        return {
            "ts": ts[idx] if per_sample else ts,
            "ys": ys[idx],
            "mask": mask[idx],
            "idx": idx,
        }

    return lambda step, key: gather(key)


def _make_loss(model, seg, shooting_init, continuity_weight, kl_weight, counter):
    """The loss for `model`'s type: `loss(model, batch, train_state, key)` (has_aux)."""

    def over_batch(fn, batch, *args):
        in_ts = 0 if batch["ts"].ndim == 2 else None
        in_axes = (in_ts, 0, 0) + (0,) * len(args)
        return jax.vmap(fn, in_axes=in_axes)(batch["ts"], batch["ys"], batch["mask"], *args)

    def n_observed(batch, dtype):
        return jnp.maximum(jnp.sum(batch["mask"]), 1).astype(dtype)

    if isinstance(model, NeuralODE) and seg is None:

        def loss(m, batch, state, key):
            counter[0] += 1
            in_ts = 0 if batch["ts"].ndim == 2 else None
            pred = jax.vmap(lambda t, y0: m(t, y0, throw=False), in_axes=(in_ts, 0))(
                batch["ts"], batch["ys"][:, 0]
            )
            mse = masked_mean_square(pred, batch["ys"], batch["mask"])
            return mse, (state, {"mse": mse})

        return loss

    if isinstance(model, NeuralODE):
        seg_idx = jnp.asarray(seg)

        def loss(m, batch, state, key):
            counter[0] += 1
            if isinstance(m, _Shooting):
                ode, starts = m.model, m.ics[batch["idx"]]
            else:
                ode, starts = m, m.augment(batch["ys"][:, seg_idx[:, 0]])
            ts_seg = batch["ts"][seg_idx]  # (S, m+1)
            ys_seg = batch["ys"][:, seg_idx]  # (B, S, m+1, d)
            mask_seg = batch["mask"][:, seg_idx]

            def one(t, s0):
                return ode.solve(t, s0, throw=False).ys

            per_seg = jax.vmap(one, in_axes=(0, 0))
            pred = jax.vmap(per_seg, in_axes=(None, 0))(ts_seg, starts)  # (B, S, m+1, state)
            mse = masked_mean_square(pred[..., : ode.data_dim], ys_seg, mask_seg)
            if shooting_init == "learned":
                gap = pred[:, :-1, -1, :] - starts[:, 1:, :]
            else:
                gap = pred[:, :-1, -1, : ode.data_dim] - starts[:, 1:, : ode.data_dim]
            cont = jnp.mean(gap**2) if gap.shape[1] > 0 else jnp.zeros((), mse.dtype)
            total = mse + continuity_weight * cont
            return total, (state, {"mse": mse, "continuity": cont})

        return loss

    if isinstance(model, LatentODE):

        def loss(m, batch, state, key):
            counter[0] += 1
            keys = jax.random.split(key, batch["ys"].shape[0])
            nll, kl = over_batch(
                lambda t, y, k, kk: m.elbo_terms(t, y, k, key=kk, throw=False), batch, keys
            )
            n = n_observed(batch, nll.dtype)
            total = (jnp.sum(nll) + kl_weight * jnp.sum(kl)) / n
            return total, (state, {"nll": jnp.sum(nll) / n, "kl": jnp.mean(kl)})

        return loss

    if isinstance(model, NeuralSDE):

        def loss(m, batch, state, key):
            counter[0] += 1
            nll = over_batch(m.transition_nll, batch)
            pairs = batch["mask"][:, :-1] & batch["mask"][:, 1:]
            n = jnp.maximum(jnp.sum(pairs), 1).astype(nll.dtype)
            return jnp.sum(nll) / n, (state, {})

        return loss

    def loss(m, batch, state, key):  # LatentSDE
        counter[0] += 1
        keys = jax.random.split(key, batch["ys"].shape[0])
        nll, kl0, klp = over_batch(
            lambda t, y, k, kk: m.elbo_terms(t, y, k, key=kk, throw=False), batch, keys
        )
        n = n_observed(batch, nll.dtype)
        total = (jnp.sum(nll) + kl_weight * (jnp.sum(kl0) + jnp.sum(klp))) / n
        metrics = {"nll": jnp.sum(nll) / n, "kl_z0": jnp.mean(kl0), "kl_path": jnp.mean(klp)}
        return total, (state, metrics)

    return loss


def _diagnose(err, model, phase, arrays, seg, shooting_init, key):
    """Re-solve every training series with the last good model; a SolverError or `err`."""
    last = err.last_good_model
    if last is None or isinstance(model, NeuralSDE):
        return err
    ts, ys, mask = arrays
    ode = last.model if isinstance(last, _Shooting) else last
    per_sample = ts.ndim == 2
    n = ys.shape[0]

    if isinstance(model, NeuralODE):
        if seg is None:
            starts, tgrid = ode.augment(ys[:, 0])[:, None], ts[..., None, :]
        else:
            idx = jnp.asarray(seg)
            starts = last.ics if isinstance(last, _Shooting) else ode.augment(ys[:, idx[:, 0]])
            tgrid = ts[idx]

        @jax.jit
        def solve_all(starts):
            def one(t, s0):
                sol = ode.solve(t, s0, throw=False)
                return sol.ys, sol.result == diffrax.RESULTS.successful, sol.result._value

            inner = jax.vmap(one, in_axes=(0, 0))
            t_axis = 0 if (per_sample and seg is None) else None
            return jax.vmap(inner, in_axes=(t_axis, 0))(tgrid, starts)

        out, ok, codes = solve_all(starts)
        grids = np.asarray(jnp.broadcast_to(tgrid, out.shape[:3]))
    else:
        keys = jax.random.split(jax.random.fold_in(key, 10_000 + phase), n)

        @jax.jit
        def solve_all(keys):
            def one(t, y, mk, k):
                if isinstance(ode, LatentODE):
                    mean, _ = ode.encode(t, y, mk)
                    sol = ode.solve(t, mean, throw=False)
                else:
                    ctx, mean, _ = ode.encode(t, y, mk)
                    s0 = jnp.concatenate([mean, jnp.zeros((1,), mean.dtype)])
                    sol = ode._solve(ode._posterior_terms(t, ctx, k), t, s0, False)
                return sol.ys[None], (sol.result == diffrax.RESULTS.successful)[None], \
                    sol.result._value[None]  # fmt: skip

            return jax.vmap(one, in_axes=(0 if per_sample else None, 0, 0, 0))(ts, ys, mask, keys)

        out, ok, codes = solve_all(keys)
        grids = np.asarray(jnp.broadcast_to(ts if per_sample else ts[None], (n, ts.shape[-1])))
        grids = grids[:, None, :]
    ok = np.asarray(ok) & np.all(np.isfinite(np.asarray(out)), axis=(2, 3))
    if np.all(ok):
        return err
    b, s = (int(v) for v in np.argwhere(~ok)[0])
    finite = np.all(np.isfinite(np.asarray(out[b, s])), axis=-1)
    k = int(np.argmin(finite)) if not np.all(finite) else len(finite) - 1
    t_bad = float(grids[b, s, k])
    t_ok = float(grids[b, s, k - 1]) if k > 0 else float(grids[b, s, 0])
    reason = _code_message(int(np.asarray(codes)[b, s]))
    n_bad = int((~ok).sum())
    where = f"trajectory {b}" + (f", shooting segment {s}" if seg is not None else "")
    message = (
        f"The differential-equation solve failed at training step {err.step} (phase {phase}): "
        f"{where} (of {n} series; {n_bad} solve(s) fail) between t={t_ok:.6g} and "
        f"t={t_bad:.6g}: {reason} What to change: raise `max_steps` of the model (now "
        f"{ode.max_steps}); for stiff dynamics use an implicit solver, e.g. "
        "solver=diffrax.Kvaerno5() with a PIDController; lower the learning rate or clip "
        "gradients (optimizer=optax.chain(optax.clip_by_global_norm(1.0), ...)); start the "
        "curriculum on shorter prefixes (`lengths`) or use multiple shooting (`shooting`); "
        "train in float64 if the step size collapsed."
    )
    return SolverError(
        message, step=err.step, quantity=err.quantity, last_good_model=last, phase=phase,
        trajectory=b, segment=None if seg is None else s, time_interval=(t_ok, t_bad),
        reason=reason,
    )  # fmt: skip


def _code_message(code: int) -> str:
    messages = getattr(diffrax.RESULTS, "_index_to_message", None)
    if code == 0:
        return "the solution became non-finite (NaN/inf) although the solver reported success."
    if messages is not None and 0 <= code < len(messages):
        return str(messages[code])
    return f"diffrax result code {code}."
