"""The training objectives of the built-in neural DEs, one per model (and multiple shooting).

Each is a final [`dynsys.training.AbstractObjective`][] built by its model's `objective`
method for one curriculum phase of [`dynsys.nde.fit`][]; it is called on
[`dynsys.data.SeriesBatch`][]es and turns a non-finite run caused by a failed solve into a
[`dynsys.nde.SolverError`][].
"""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import training
from ._abstract import FitPhase
from ._checks import masked_mean_square
from ._solver_error import diffrax_outcome, series_grids, solve_outcomes, solver_error

FAILURE_HINT = (
    "Neural DEs: start the length curriculum on shorter prefixes (`lengths`) or use "
    "multiple shooting (`shooting`); raise the model's `max_steps` or use an implicit solver "
    "for stiff dynamics (e.g. solver=diffrax.Kvaerno5() with a PIDController); train in "
    "float64."
)


class LearnedStarts(eqx.Module):
    """A NeuralODE trained together with the initial conditions of its shooting segments.

    `starts`: `(n_series, n_segments, state_dim)`, one free initial state per segment of
    every training series (`shooting_init="learned"` of [`dynsys.nde.fit`][]).
    """

    model: Any
    starts: Any


def _over_batch(fn, batch, *args):
    """`fn(ts, ys, mask, *args)` vmapped over the series of a batch (shared or own grids)."""
    in_ts = 0 if batch.times.ndim == 2 else None
    in_axes = (in_ts, 0, 0) + (0,) * len(args)
    return jax.vmap(fn, in_axes=in_axes)(batch.times, batch.states, batch.mask, *args)


def _n_observed(batch, dtype):
    return jnp.maximum(jnp.sum(batch.mask), 1).astype(dtype)


class TrajectoryMatching(training.AbstractObjective):
    """Trajectory matching of a [`NeuralODE`][dynsys.nde.NeuralODE]: the masked MSE between
    the solve from each series' first point and the series.

    `loss = Σ_observed (ŷ(t) − y(t))² / #observed`; metric `"mse"`. A failed solve is
    diagnosed by re-solving every training series with the last good model.

    **Arguments:** `phase`: the [`FitPhase`][dynsys.nde.FitPhase] (its data for the
    diagnosis).
    """

    phase: FitPhase
    failure_hint: ClassVar[str] = FAILURE_HINT

    def __call__(self, model, batch, state, *, step, key):
        in_ts = 0 if batch.times.ndim == 2 else None
        pred = jax.vmap(lambda t, y0: model(t, y0, throw=False), in_axes=(in_ts, 0))(
            batch.times, batch.states[:, 0]
        )
        mse = masked_mean_square(pred, batch.states, batch.mask)
        return mse, (state, {"mse": mse})

    def explain_failure(self, error):
        ode = error.last_good_model
        if ode is None:
            return error
        ts, ys = self.phase.ts, self.phase.ys
        tgrid, starts = ts[..., None, :], ode.augment(ys[:, 0])[:, None]

        def one(t, s0):
            return jax.vmap(lambda tt, ss: diffrax_outcome(ode.solve(tt, ss, throw=False)))(t, s0)

        outcomes = solve_outcomes(one, tgrid, starts, in_axes=(0 if ts.ndim == 2 else None, 0))
        grids = jnp.broadcast_to(tgrid, outcomes[0].shape[:3])
        return solver_error(
            error, phase=self.phase.index, outcomes=outcomes, grids=grids, segmented=False,
            max_steps=ode.max_steps,
        )  # fmt: skip


class MultipleShooting(training.AbstractObjective):
    """Multiple shooting of a [`NeuralODE`][dynsys.nde.NeuralODE].

    The series are cut into the segments `phase.segments` (`(S, m + 1)` time indices) that
    share their end points; each segment is solved from its own initial condition (the data
    point, `shooting_init="data"`, or a free parameter, `"learned"`, when the model is a
    `LearnedStarts`), and the continuity penalty is added:
    `loss = mse + continuity_weight · mean |ŷ_s(end) − start_{s+1}|²` (over the data
    dimensions for data starts, the full state for learned ones). Metrics `"mse"`,
    `"continuity"`.

    **Arguments:** `phase`: the [`FitPhase`][dynsys.nde.FitPhase] (segments, weights, data).
    """

    phase: FitPhase
    failure_hint: ClassVar[str] = FAILURE_HINT

    def __call__(self, model, batch, state, *, step, key):
        seg_idx = jnp.asarray(self.phase.segments)
        if isinstance(model, LearnedStarts):
            ode, starts = model.model, model.starts[batch.indices]
        else:
            ode, starts = model, model.augment(batch.states[:, seg_idx[:, 0]])
        ts_seg = batch.times[seg_idx]  # (S, m+1)
        ys_seg = batch.states[:, seg_idx]  # (B, S, m+1, d)
        mask_seg = batch.mask[:, seg_idx]

        def one(t, s0):
            return ode.solve(t, s0, throw=False).ys

        per_seg = jax.vmap(one, in_axes=(0, 0))
        pred = jax.vmap(per_seg, in_axes=(None, 0))(ts_seg, starts)  # (B, S, m+1, state)
        mse = masked_mean_square(pred[..., : ode.data_dim], ys_seg, mask_seg)
        if self.phase.shooting_init == "learned":
            gap = pred[:, :-1, -1, :] - starts[:, 1:, :]
        else:
            gap = pred[:, :-1, -1, : ode.data_dim] - starts[:, 1:, : ode.data_dim]
        cont = jnp.mean(gap**2) if gap.shape[1] > 0 else jnp.zeros((), mse.dtype)
        total = mse + self.phase.continuity_weight * cont
        return total, (state, {"mse": mse, "continuity": cont})

    def explain_failure(self, error):
        last = error.last_good_model
        if last is None:
            return error
        learned = isinstance(last, LearnedStarts)
        ode = last.model if learned else last
        idx = jnp.asarray(self.phase.segments)
        starts = last.starts if learned else ode.augment(self.phase.ys[:, idx[:, 0]])
        tgrid = self.phase.ts[idx]

        def one(t, s0):
            return jax.vmap(lambda tt, ss: diffrax_outcome(ode.solve(tt, ss, throw=False)))(t, s0)

        outcomes = solve_outcomes(one, tgrid, starts, in_axes=(None, 0))
        grids = jnp.broadcast_to(tgrid, outcomes[0].shape[:3])
        return solver_error(
            error, phase=self.phase.index, outcomes=outcomes, grids=grids, segmented=True,
            max_steps=ode.max_steps,
        )  # fmt: skip


class LatentODEELBO(training.AbstractObjective):
    """The negative ELBO of a [`LatentODE`][dynsys.nde.LatentODE] per observed entry.

    `loss = (Σ_series NLL + kl_weight · Σ_series KL(q(z0) ‖ N(0, I))) / #observed`, one
    posterior sample per series ([`LatentODE.elbo_terms`][dynsys.nde.LatentODE.elbo_terms]).
    Metrics `"nll"` (per observed entry) and `"kl"` (per series).

    **Arguments:** `phase`: the [`FitPhase`][dynsys.nde.FitPhase] (`kl_weight`, data).
    """

    phase: FitPhase
    failure_hint: ClassVar[str] = FAILURE_HINT

    def __call__(self, model, batch, state, *, step, key):
        keys = jax.random.split(key, batch.states.shape[0])
        nll, kl = _over_batch(
            lambda t, y, k, kk: model.elbo_terms(t, y, k, key=kk, throw=False), batch, keys
        )
        n = _n_observed(batch, nll.dtype)
        total = (jnp.sum(nll) + self.phase.kl_weight * jnp.sum(kl)) / n
        return total, (state, {"nll": jnp.sum(nll) / n, "kl": jnp.mean(kl)})

    def explain_failure(self, error):
        model = error.last_good_model
        if model is None:
            return error

        def one(t, y, mk, k):
            mean, _ = model.encode(t, y, mk)
            return _one_segment(diffrax_outcome(model.solve(t, mean, throw=False)))

        return _latent_solver_error(error, self.phase, one, model.max_steps)


class TransitionNLL(training.AbstractObjective):
    """The Euler–Maruyama transition NLL of a [`NeuralSDE`][dynsys.nde.NeuralSDE] per
    observed pair ([`NeuralSDE.transition_nll`][dynsys.nde.NeuralSDE.transition_nll]).

    `loss = Σ_series NLL / #(pairs of consecutive observed entries)`; no solve, so no
    solver diagnosis.

    **Arguments:** `phase`: the [`FitPhase`][dynsys.nde.FitPhase].
    """

    phase: FitPhase
    failure_hint: ClassVar[str] = FAILURE_HINT

    def __call__(self, model, batch, state, *, step, key):
        nll = _over_batch(model.transition_nll, batch)
        pairs = batch.mask[:, :-1] & batch.mask[:, 1:]
        n = jnp.maximum(jnp.sum(pairs), 1).astype(nll.dtype)
        return jnp.sum(nll) / n, (state, {})


class LatentSDEELBO(training.AbstractObjective):
    """The negative ELBO of a [`LatentSDE`][dynsys.nde.LatentSDE] per observed entry.

    `loss = (Σ NLL + kl_weight · (Σ KL_z0 + Σ KL_path)) / #observed`, one posterior path
    per series ([`LatentSDE.elbo_terms`][dynsys.nde.LatentSDE.elbo_terms]). Metrics
    `"nll"` (per observed entry), `"kl_z0"` and `"kl_path"` (per series).

    **Arguments:** `phase`: the [`FitPhase`][dynsys.nde.FitPhase] (`kl_weight`, data).
    """

    phase: FitPhase
    failure_hint: ClassVar[str] = FAILURE_HINT

    def __call__(self, model, batch, state, *, step, key):
        keys = jax.random.split(key, batch.states.shape[0])
        nll, kl0, klp = _over_batch(
            lambda t, y, k, kk: model.elbo_terms(t, y, k, key=kk, throw=False), batch, keys
        )
        n = _n_observed(batch, nll.dtype)
        total = (jnp.sum(nll) + self.phase.kl_weight * (jnp.sum(kl0) + jnp.sum(klp))) / n
        metrics = {"nll": jnp.sum(nll) / n, "kl_z0": jnp.mean(kl0), "kl_path": jnp.mean(klp)}
        return total, (state, metrics)

    def explain_failure(self, error):
        model = error.last_good_model
        if model is None:
            return error

        def one(t, y, mk, k):
            ctx, mean, _ = model.encode(t, y, mk)
            s0 = jnp.concatenate([mean, jnp.zeros((1,), mean.dtype)])
            sol = model._solve(model._posterior_terms(t, ctx, k), t, s0, False)
            return _one_segment(diffrax_outcome(sol))

        return _latent_solver_error(error, self.phase, one, model.max_steps)


def _one_segment(outcome):
    return tuple(x[None] for x in outcome)


def _latent_solver_error(error, phase: FitPhase, one, max_steps: int) -> Exception:
    """Re-solve every series from its posterior mean (`one(ts, ys, mask, key)`); diagnose."""
    ts, ys, mask = phase.ts, phase.ys, phase.mask
    n = ys.shape[0]
    keys = jax.random.split(jax.random.fold_in(phase.key, 10_000 + phase.index), n)
    in_axes = (0 if ts.ndim == 2 else None, 0, 0, 0)
    outcomes = solve_outcomes(one, ts, ys, mask, keys, in_axes=in_axes)
    return solver_error(
        error, phase=phase.index, outcomes=outcomes, grids=series_grids(ts, n),
        segmented=False, max_steps=max_steps,
    )  # fmt: skip
