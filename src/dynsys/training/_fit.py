"""The fitting loop every model family calls: an objective, a sampler and policy objects.

`fit(model, objective, sampler, *, optimizer, n_steps, key, ...)` in the manner of
`diffrax.diffeqsolve`: the family supplies the objective (the loss of one batch, an
[`AbstractObjective`][dynsys.training.AbstractObjective]) and the sampler (`sampler(step,
key) -> batch`); evaluation with best-model selection, checkpointing, the non-finite policy
and the progress bar are each one small object, the same for every family.
"""

from __future__ import annotations

import bisect
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import optax

from .._validation import check_int
from ._checkpoint import (
    Checkpointing,
    check_checkpoint_target,
    has_tree,
    history_arrays,
    read_meta,
    read_tree,
    resolve_checkpoint,
    write_checkpoint,
)
from ._distributed import check_multiprocess, is_primary, primary_progress
from ._divergence import DIVERGED, DivergenceMonitor, divergence_error
from ._evaluation import Evaluation
from ._history import Record
from ._nonfinite import (
    RollbackOnNonfinite,
    as_nonfinite_policy,
    describe_nonfinite,
    nonfinite_error,
)
from ._objective import as_objective
from ._progress import as_progress
from ._sampler import is_jittable
from ._sharding import constrain_replicated, make_mesh, replicate, shard_batch
from ._step import check_filter_spec, check_optimizer, make_guarded_step


class FitResult(eqx.Module):
    """What [`dynsys.training.fit`][] returns.

    **Fields:**

    - `model`: the selected model: the best one if `select="best"`, else the last one.
    - `last_model`: the model after the last step (matches `opt_state` and `train_state`).
    - `best_model`: the best evaluated model (`select="best"`; None with `select="last"` or
      when no evaluation happened). With an ensemble and a per-member metric, each member is
      taken from its own best evaluation.
    - `opt_state`: the optax state after the last step.
    - `train_state`: the carried training state after the last step.
    - `history`: dict of per-step numpy arrays: `"step"` (0-based update index, shape
      `(n,)`), `"loss"` (loss before that update; shape `(n,)`, or `(n, ensemble)`) and one
      entry per metric returned by the objective. Steps undone by a rollback are not listed.
    - `eval_history`: dict of per-evaluation numpy arrays: `"step"` (number of steps done
      when evaluated) and one entry per key returned by `eval_fn`.
    - `steps`: number of steps done in total (including those before a resume).
    - `best_step`, `best_value`: step and value of the best evaluation (`select="best"`,
      arrays for per-member ensemble metrics), else None.
    - `rollbacks`: tuple of `(step, quantity)` for each non-finite or diverged step that was
      rolled back (quantity `"loss (diverged)"` for a divergence, which restores the state
      with the best running mean loss).
    - `wall_time`: seconds spent in this call's loop (compilation included).
    - `steps_per_second`: steps done in this call divided by `wall_time`.
    - `steps_per_call`: the steps run by one compiled call (see `fit`'s `steps_per_call`).
    """

    model: Any
    last_model: Any
    best_model: Any
    opt_state: Any
    train_state: Any
    history: dict
    eval_history: dict
    steps: int
    best_step: Any
    best_value: Any
    rollbacks: tuple
    wall_time: float
    steps_per_second: float
    steps_per_call: int = 1


class _Pending(NamedTuple):
    """One dispatched step whose results the host has not looked at yet."""

    index: int
    loss: Any
    metrics: Any
    ok: Any
    state: tuple


def _check_key(key: Any) -> None:
    ok = isinstance(key, jax.Array) and (
        jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
        or (key.dtype == jnp.uint32 and key.ndim == 1)
    )
    if not ok:
        raise TypeError(
            "`key` must be a jax.random key, e.g. jax.random.key(0) or jax.random.PRNGKey(0); "
            f"got {type(key).__name__}."
        )


def _key_data(key: Any) -> np.ndarray:
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return np.asarray(jax.random.key_data(key))
    return np.asarray(key)


def _strong(tree: Any) -> Any:
    """Drop weak types, so that the outputs of the first step match its inputs (no retrace)."""

    def fix(x):
        if isinstance(x, jax.Array) and x.weak_type:
            return x.astype(x.dtype)
        return x

    return jax.tree_util.tree_map(fix, tree)


def _step_keys_traced(key, index):
    step_key = jax.random.fold_in(key, index)
    keys = jax.random.split(step_key)
    return keys[0], keys[1], jnp.asarray(index, dtype=jnp.int32)


_step_keys = jax.jit(_step_keys_traced)

# Steps per compiled call when `fit` chooses (a traced sampler): enough to hide the per-call
# dispatch and host synchronisation (a few hundred microseconds each) behind the arithmetic,
# few enough that the progress bar, the non-finite check and a rollback stay fine-grained.
AUTO_STEPS_PER_CALL = 32


def _where_members(mask: np.ndarray, new: Any, old: Any) -> Any:
    """Per-member choice between two ensemble pytrees (`mask` True: take from `new`)."""
    if mask.ndim == 0:
        return new if bool(mask) else old
    new_arrays, static = eqx.partition(new, eqx.is_array)
    old_arrays = eqx.filter(old, eqx.is_array)
    m = jnp.asarray(mask)

    def pick(x, y):
        if x.shape[: m.ndim] != m.shape:
            return x
        return jnp.where(m.reshape(m.shape + (1,) * (x.ndim - m.ndim)), x, y)

    return eqx.combine(jax.tree_util.tree_map(pick, new_arrays, old_arrays), static)


def _member_axes(train_state: Any) -> Any:
    """Ensemble `vmap` axes of a training state: 0-d arrays are shared by all members."""
    return jax.tree_util.tree_map(
        lambda x: 0 if eqx.is_array(x) and x.ndim > 0 else None, train_state
    )


_LEGACY = {
    "has_aux": "fit(model, LossFunction(loss_fn, has_aux=True), ...) or an AbstractObjective",
    "train_state": "state=...",
    "eval_fn": "evaluation=Evaluation(fn, ...)",
    "eval_every": "evaluation=Evaluation(fn, every=...)",
    "select": "evaluation=Evaluation(fn, select=...)",
    "best_metric": "evaluation=Evaluation(fn, metric=...)",
    "best_mode": "evaluation=Evaluation(fn, mode=...)",
    "checkpoint_dir": "checkpoint=Checkpointing(directory, ...)",
    "checkpoint_every": "checkpoint=Checkpointing(directory, every=...)",
    "resume": "checkpoint=Checkpointing(directory, resume=True)",
    "max_rollbacks": "on_nonfinite=RollbackOnNonfinite(max_rollbacks=...)",
    "rollback_lr_factor": "on_nonfinite=RollbackOnNonfinite(lr_factor=...)",
}


def _legacy_options(legacy: dict, evaluation, checkpoint, on_nonfinite, state):
    """Translate the keyword arguments of the 0.x `fit` into policy objects (deprecated)."""
    unknown = sorted(set(legacy) - set(_LEGACY))
    if unknown:
        raise TypeError(f"fit() got unexpected keyword argument(s) {', '.join(unknown)}.")
    warnings.warn(
        "dynsys.training.fit: the keyword(s) "
        + ", ".join(f"{k} (use {_LEGACY[k]})" for k in legacy)
        + " are deprecated and will be removed in the next release.",
        DeprecationWarning,
        stacklevel=3,
    )
    has_aux = legacy.pop("has_aux", False)
    if "train_state" in legacy:
        state = legacy.pop("train_state")
    eval_keys = ("eval_fn", "eval_every", "select", "best_metric", "best_mode")
    if any(k in legacy for k in eval_keys):
        if evaluation is not None:
            raise ValueError("Pass `evaluation` or the deprecated eval_fn/... keywords, not both.")
        fn = legacy.pop("eval_fn", None)
        every = legacy.pop("eval_every", None)
        select = legacy.pop("select", "last")
        if fn is None:
            if every is not None:
                raise ValueError(
                    "`eval_every` was given without `eval_fn`; pass an eval_fn(model)."
                )
            if select == "best":
                raise ValueError(
                    "`select='best'` needs `eval_fn` to rank models; pass an eval_fn(model)."
                )
        else:
            evaluation = Evaluation(
                fn, every=every, select=select, metric=legacy.pop("best_metric", None),
                mode=legacy.pop("best_mode", "min"),
            )  # fmt: skip
    ckpt_keys = ("checkpoint_dir", "checkpoint_every", "resume")
    if any(k in legacy for k in ckpt_keys):
        if checkpoint is not None:
            raise ValueError("Pass `checkpoint` or the deprecated checkpoint_dir/... keywords.")
        directory = legacy.pop("checkpoint_dir", None)
        every = legacy.pop("checkpoint_every", None)
        resume = legacy.pop("resume", False)
        if directory is None:
            if every is not None:
                raise ValueError("`checkpoint_every` was given without `checkpoint_dir`.")
            if resume:
                raise ValueError(
                    "`resume=True` needs `checkpoint_dir` (where `last` is read from)."
                )
        else:
            checkpoint = Checkpointing(directory, every=every, resume=resume)
    if "max_rollbacks" in legacy or "rollback_lr_factor" in legacy:
        max_rollbacks = legacy.pop("max_rollbacks", 3)
        lr_factor = legacy.pop("rollback_lr_factor", 0.5)
        if isinstance(as_nonfinite_policy(on_nonfinite), RollbackOnNonfinite):
            on_nonfinite = RollbackOnNonfinite(max_rollbacks=max_rollbacks, lr_factor=lr_factor)
    return has_aux, evaluation, checkpoint, on_nonfinite, state


def fit(
    model: Any,
    objective: Any,
    sampler: Callable[[int, Any], Any] | Iterator,
    *,
    optimizer: Any,
    n_steps: int,
    key: Any,
    evaluation: Evaluation | None = None,
    checkpoint: Checkpointing | None = None,
    on_nonfinite: Any = "raise",
    progress: Any = True,
    gradient_clip: float | None = None,
    state: Any = None,
    opt_state: Any = None,
    filter_spec: Any = eqx.is_inexact_array,
    check_every: int = 1,
    devices: Any = None,
    ensemble: int | None = None,
    shared_batch: bool = True,
    steps_per_call: int | None = None,
    **deprecated: Any,
) -> FitResult:
    """Train `model` on an objective with an optax optimizer: the one fitting loop of dynsys.

    Each step draws a batch from the sampler, then runs one compiled update (the objective's
    loss, its gradient, the optax update; compiled once with `eqx.filter_jit`). The keys are
    derived from the step index, `batch_key, loss_key = jax.random.split(
    jax.random.fold_in(key, step))`, so that a run is a deterministic function of its inputs
    and a resumed run continues bit for bit. Around the step the loop keeps a history and
    runs the policies: evaluation and best-model selection, checkpoints, the non-finite
    guard and the progress bar.

    **Arguments:**

    - `model`: the model, any pytree (an `eqx.Module`). With `ensemble=E`, a stacked
      ensemble (every trainable array has a leading axis of length E, e.g. made with
      `eqx.filter_vmap(make_model)(jax.random.split(key, E))`).
    - `objective`: an [`AbstractObjective`][dynsys.training.AbstractObjective], called as
      `objective(model, batch, state, step=step, key=key) -> (loss, (state, metrics))`
      (for one member of an ensemble), or a plain `loss_fn(model, batch, key) -> loss`
      (wrapped in a [`LossFunction`][dynsys.training.LossFunction]).
    - `sampler`: `sampler(step, key) -> batch`, a function of the 0-based step index and a
      key (e.g. [`dynsys.data.WindowSampler`][]); it must be deterministic in its inputs for
      resume to be exact. Alternatively an iterator yielding batches; then resuming does not
      fast-forward it (pass an iterator positioned at the checkpoint's step). Batch leaves
      should be arrays (Python numbers are compile-time constants and would trigger
      recompilation when they change).
    - `optimizer`: an optax `GradientTransformation`, e.g. `optax.adam(1e-3)` or with a
      schedule from [`dynsys.training.exponential_decay_per_epoch`][].
    - `n_steps`: total number of steps, >= 1 (a resumed run continues up to it).
    - `key`: PRNG key of the run.
    - `evaluation`: an [`Evaluation`][dynsys.training.Evaluation] (scores during training,
      `select="best"`), or None: no evaluation, the last model is returned.
    - `checkpoint`: a [`Checkpointing`][dynsys.training.Checkpointing] (folder, interval,
      resume), or None.
    - `on_nonfinite`: `"raise"` / [`RaiseOnNonfinite`][dynsys.training.RaiseOnNonfinite]
      stops with a [`NonFiniteError`][dynsys.training.NonFiniteError] naming the step, the
      quantity and the objective's `failure_hint`; `"rollback"` /
      [`RollbackOnNonfinite`][dynsys.training.RollbackOnNonfinite] restores the state before
      the failing step, skips that batch, scales the learning rate and continues.
    - `progress`: True/False or a [`Progress`][dynsys.training.Progress].
    - `gradient_clip`: clip gradients to this global norm before the optimizer (None: off).
    - `state`: the objective's initial carried state; default `objective.init_state(model)`
      (vmapped over the members of an ensemble). Its array leaves are traced, other leaves
      are compile-time constants. With an ensemble, arrays with a leading member axis are
      per member and 0-d arrays are shared by all members.
    - `opt_state`: initial optimiser state; default `optimizer.init` of the trainable part
      (vmapped over the members for an ensemble).
    - `filter_spec`: which leaves to train (as for `eqx.partition`).
    - `check_every`: how often (in steps) the host waits for the device to check the loss
      and the finiteness flag and to update history and bar. 1 checks every step; larger
      values let the device run ahead, at the cost of keeping that many states in memory.
    - `devices`: None (default device), `"all"` (every visible device) or a list of devices:
      data-parallel training on a 1-D mesh, the leading batch axis split over the devices
      (its length must be divisible by their number), model and states replicated.
      Several processes (multi-host): call `jax.distributed.initialize()` in each process
      (one per host or GPU; a SLURM job detects its settings), then `fit(...,
      devices="all")` in each with the same arguments; every sampler returns its own rows
      of the global batch ([`local_batch`][dynsys.training.local_batch]), every process
      gets the same result, only process 0 shows progress and writes checkpoints, and
      `resume` is refused (see the guide "Distributed training").
    - `ensemble`: number E of ensemble members trained at once with `jax.vmap` (None: a
      single model). Losses and metrics get a trailing member axis in the history; one
      non-finite member stops (or rolls back) the whole ensemble.
    - `shared_batch`: with an ensemble, every member sees the same batch (True) or the batch
      has a leading member axis (False).
    - `steps_per_call`: steps run by one compiled call (a loop over steps, the batches
      drawn inside it), bit for bit the same run as one step per call but without
      the per-step dispatch and host synchronisation. None (default): 32 when the sampler
      declares itself a pure JAX function (the `dynsys.data` samplers, a
      [`JitSampler`][dynsys.training.JitSampler]), else 1 (and always 1 with `devices` or
      an iterator). An explicit k > 1 traces any sampler function (it must then be a pure
      JAX function of `step` and `key`). Calls end at the evaluation and checkpoint steps,
      where the policies run; a non-finite step inside a call is found and handled as with
      one step per call. With a traced sampler, one compiled program (a `while_loop` whose
      trip count is an argument) runs every call, so any k gives the same bits; the host
      path of a sampler that is not traced may differ from it at the rounding level.
      `check_every` applies to the host path only.

    The keywords of earlier releases (`has_aux`, `train_state`, `eval_fn`, `eval_every`,
    `select`, `best_metric`, `best_mode`, `checkpoint_dir`, `checkpoint_every`, `resume`,
    `max_rollbacks`, `rollback_lr_factor`) still work for one release, with a
    `DeprecationWarning`.

    **Returns:**

    A [`dynsys.training.FitResult`][].

    **Example:**

    ```python
    def sampler(step, key):
        idx = jax.random.choice(key, len(xs), (32,))
        return xs[idx], ys[idx]

    def loss_fn(model, batch, key):
        x, y = batch
        return jnp.mean((jax.vmap(model)(x) - y) ** 2)

    result = fit(model, loss_fn, sampler, optimizer=optax.adam(1e-3), n_steps=1000,
                 key=jax.random.key(0),
                 evaluation=Evaluation(lambda m: {"val": val_loss(m)}, every=100,
                                       select="best"))
    model = result.model
    ```
    """
    # -- validation at the boundary ---------------------------------------------------------
    has_aux = False
    if deprecated:
        has_aux, evaluation, checkpoint, on_nonfinite, state = _legacy_options(
            dict(deprecated), evaluation, checkpoint, on_nonfinite, state
        )
    objective = as_objective(objective, has_aux)
    if callable(sampler):
        batch_fn, batch_iter = sampler, None
    elif isinstance(sampler, Iterator):
        batch_fn, batch_iter = None, sampler
    else:
        raise TypeError(
            "`sampler` must be a function sampler(step, key) -> batch or an iterator of "
            f"batches, got {type(sampler).__name__} (for one fixed batch use "
            "`lambda step, key: batch`)."
        )
    check_optimizer(optimizer)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    _check_key(key)
    check_filter_spec(filter_spec)
    if evaluation is not None and not isinstance(evaluation, Evaluation):
        raise TypeError(
            "`evaluation` must be a dynsys.training.Evaluation or None, got "
            f"{type(evaluation).__name__}."
        )
    if checkpoint is not None and not isinstance(checkpoint, Checkpointing):
        raise TypeError(
            "`checkpoint` must be a dynsys.training.Checkpointing or None, got "
            f"{type(checkpoint).__name__}."
        )
    policy = as_nonfinite_policy(on_nonfinite)
    rolls = isinstance(policy, RollbackOnNonfinite)
    max_rollbacks = policy.max_rollbacks if rolls else 0
    rollback_lr_factor = policy.lr_factor if rolls else None
    progress = as_progress(progress)
    if gradient_clip is not None:
        ok = isinstance(gradient_clip, (int, float)) and not isinstance(gradient_clip, bool)
        if not (ok and math.isfinite(gradient_clip) and gradient_clip > 0):
            raise ValueError(
                f"`gradient_clip` must be a positive number or None, got {gradient_clip!r}."
            )
        optimizer = optax.chain(optax.clip_by_global_norm(gradient_clip), optimizer)
    check_every = check_int(check_every, "check_every", minimum=1)
    if ensemble is not None:
        ensemble = check_int(ensemble, "ensemble", minimum=1)
    mesh = make_mesh(devices)
    check_multiprocess(mesh, checkpoint)
    progress = primary_progress(progress, mesh)
    # Steps in compiled calls (a `while_loop` over steps that draws the batches) for a
    # sampler that is a pure JAX function; else one jitted step per call, the sampler on
    # the host (an iterator, a numpy sampler, data-parallel devices).
    traceable = batch_iter is None and mesh is None and is_jittable(batch_fn)
    if steps_per_call is None:
        steps_per_call = AUTO_STEPS_PER_CALL if traceable else 1
    else:
        steps_per_call = check_int(steps_per_call, "steps_per_call", minimum=1)
        if steps_per_call > 1 and batch_iter is not None:
            raise ValueError(
                "`steps_per_call` > 1 draws the batches inside the compiled call; it needs a "
                "sampler function sampler(step, key), not an iterator."
            )
        if steps_per_call > 1 and mesh is not None:
            raise ValueError("`steps_per_call` > 1 is not supported with `devices`; use 1.")
    in_loop = steps_per_call > 1 or traceable
    # One program for every call length up to the automatic one: the same bits for any k.
    capacity = max(steps_per_call, AUTO_STEPS_PER_CALL)
    eval_fn = None if evaluation is None else evaluation.fn
    eval_every = None if evaluation is None else evaluation.every
    select = "last" if evaluation is None else evaluation.select
    best_metric = None if evaluation is None else evaluation.metric
    best_mode = "min" if evaluation is None else evaluation.mode
    ckpt_dir = None if checkpoint is None else checkpoint.directory
    checkpoint_every = None if checkpoint is None else checkpoint.every
    resume = checkpoint is not None and checkpoint.resume
    if ckpt_dir is not None:  # a file or a foreign folder is refused before any training
        if not resume:  # else `last` is resolved below, with an error of its own
            check_checkpoint_target(ckpt_dir / "last", "checkpoint")
        check_checkpoint_target(ckpt_dir / "best", "checkpoint")

    params = eqx.filter(model, filter_spec)
    param_leaves = jax.tree_util.tree_leaves(params)
    if not param_leaves:
        raise ValueError(
            "`model` has no trainable arrays under `filter_spec` (nothing to optimise)."
        )
    if ensemble is not None:
        for leaf in param_leaves:
            if jnp.ndim(leaf) == 0 or jnp.shape(leaf)[0] != ensemble:
                raise ValueError(
                    f"`model`: with ensemble={ensemble} every trainable array needs a leading "
                    f"member axis of length {ensemble}, got an array of shape "
                    f"{tuple(jnp.shape(leaf))}."
                )
    if state is None:
        if ensemble is None:
            state = objective.init_state(model)
        else:
            state = eqx.filter_vmap(objective.init_state)(model)
    train_state = state

    # -- the compiled step ------------------------------------------------------------------
    step_fn = make_guarded_step(objective, optimizer, filter_spec=filter_spec)
    if ensemble is not None:
        batch_axis = None if shared_batch else 0
        state_axes = _member_axes(train_state)
        step_fn = eqx.filter_vmap(
            step_fn,
            in_axes=(0, 0, state_axes, batch_axis, 0, None, None),
            out_axes=(eqx.if_array(0), eqx.if_array(0), state_axes) + (eqx.if_array(0),) * 3,
        )

    @eqx.filter_jit
    def train_step(model, opt_state, train_state, batch, loss_key, step_index, update_scale):
        if ensemble is not None:
            loss_key = jax.random.split(loss_key, ensemble)
        model, opt_state, train_state, loss, metrics, ok = step_fn(
            model, opt_state, train_state, batch, loss_key, step_index, update_scale
        )
        model, opt_state, train_state = constrain_replicated((model, opt_state, train_state), mesh)
        return model, opt_state, train_state, loss, metrics, ok

    @eqx.filter_jit
    def train_steps(model, opt_state, train_state, sampler, run_key, first, n, update_scale):
        """Up to `capacity` steps from step `first` in one compiled `while_loop`.

        The trip count `n` is a traced argument, so one program serves every call, whatever
        its length: a run is the same bits for any `steps_per_call`. The loop stops after
        a bad step (non-finite loss, parameters or state) with the state before it.
        """
        arrays, static = eqx.partition((model, opt_state, train_state), eqx.is_array)

        def one(arrays, j):
            current = eqx.combine(arrays, static)
            batch_key, loss_key, step_index = _step_keys_traced(run_key, first + j)
            batch = sampler(step_index, batch_key)
            if ensemble is not None:
                loss_key = jax.random.split(loss_key, ensemble)
            *new, loss, metrics, ok = step_fn(*current, batch, loss_key, step_index, update_scale)
            return eqx.filter(tuple(new), eqx.is_array), (loss, metrics, ok)

        # Traced once (an objective may count its traces): the jaxpr gives the output shapes
        # for the buffers and is the loop body.
        flat, in_tree = jax.tree_util.tree_flatten((arrays, jnp.zeros((), jnp.int32)))
        jaxpr, shapes = jax.make_jaxpr(
            lambda *leaves: one(*jax.tree_util.tree_unflatten(in_tree, leaves)),
            return_shape=True,
        )(*flat)
        out_tree = jax.tree_util.tree_structure(shapes)
        one_flat = jax.extend.core.jaxpr_as_fun(jaxpr)
        buffers = jax.tree_util.tree_map(
            lambda x: jnp.zeros((capacity,) + x.shape, x.dtype), shapes[1]
        )

        def cond(carry):
            j, _, alive, _ = carry
            return (j < n) & alive

        def body(carry):
            j, arrays, _, buffers = carry
            leaves = jax.tree_util.tree_leaves((arrays, j))
            new_arrays, outputs = jax.tree_util.tree_unflatten(out_tree, one_flat(*leaves))
            good = jnp.all(outputs[2])
            arrays = jax.lax.cond(good, lambda: new_arrays, lambda: arrays)
            buffers = jax.tree_util.tree_map(lambda b, v: b.at[j].set(v), buffers, outputs)
            return j + 1, arrays, good, buffers

        init = (jnp.zeros((), jnp.int32), arrays, jnp.asarray(True), buffers)
        done, arrays, alive, buffers = jax.lax.while_loop(cond, body, init)
        return eqx.combine(arrays, static), done, alive, buffers

    if opt_state is None:
        init = optimizer.init if ensemble is None else eqx.filter_vmap(optimizer.init)
        with jax.numpy_dtype_promotion("standard"):
            opt_state = init(params)

    # -- state of the run, possibly restored -------------------------------------------------
    history = Record("objective's metrics")
    evals = Record("`eval_fn`")
    start = 0
    update_scale = 1.0
    rollbacks: list[tuple[int, str]] = []
    best_model, best_value, best_step = None, None, None
    # An interrupted save is completed or undone first; a damaged checkpoint is an error.
    if resume and (last := resolve_checkpoint(ckpt_dir / "last", "checkpoint")) is not None:
        meta, arrays = read_meta(last)
        if "key" in arrays and not np.array_equal(arrays["key"], _key_data(key)):
            raise ValueError(
                f"`key` differs from the key of the checkpoint in {str(last)!r}; resume with "
                "the same key to continue the same run."
            )
        if has_tree(last, "train_state") != (train_state is not None):
            raise ValueError(
                f"`train_state`: the checkpoint in {str(last)!r} "
                f"{'holds' if has_tree(last, 'train_state') else 'holds no'} training state, "
                f"but train_state={'None' if train_state is None else 'a pytree'} was given."
            )
        template = model
        model = read_tree(last, "model", model, "model")
        opt_state = read_tree(last, "opt_state", opt_state, "opt_state")
        if train_state is not None:
            train_state = read_tree(last, "train_state", train_state, "train_state")
        start = int(meta["step"])
        if start > n_steps:
            raise ValueError(
                f"`n_steps`={n_steps} is smaller than the step {start} of the checkpoint in "
                f"{str(last)!r}; n_steps counts all steps, including those before the resume."
            )
        info = meta["metadata"].get("fit", {})
        update_scale = float(info.get("update_scale", 1.0))
        rollbacks = [(int(s), str(q)) for s, q in info.get("rollbacks", [])]
        history.extend_from({k[8:]: v for k, v in arrays.items() if k.startswith("history:")})
        evals.extend_from({k[5:]: v for k, v in arrays.items() if k.startswith("eval:")})
        if select == "best" and has_tree(last, "best_model"):
            best_model = read_tree(last, "best_model", template, "model")
            best_value = arrays["fit:best_value"]
            best_step = arrays["fit:best_step"]

    model, opt_state, train_state = _strong(replicate((model, opt_state, train_state), mesh))
    if best_model is not None:
        best_model = replicate(best_model, mesh)

    last_eval = evals.steps[-1] if len(evals) else None
    last_ckpt = start if start > 0 and ckpt_dir is not None else None
    best_dirty = False

    def evaluate(step_count, current):
        nonlocal best_model, best_value, best_step, best_metric, best_dirty
        values = eval_fn(current)
        if not isinstance(values, Mapping):
            raise TypeError(
                f"`eval_fn` must return a dict of named scalars, got {type(values).__name__}."
            )
        values = {str(k): np.asarray(jax.device_get(v), dtype=float) for k, v in values.items()}
        evals.append(step_count, values)
        if select != "best":
            return
        if best_metric is None:
            if len(values) != 1:
                raise ValueError(
                    f"`best_metric` must name one of the eval_fn keys {sorted(values)} when "
                    "eval_fn returns several."
                )
            best_metric = next(iter(values))
        if best_metric not in values:
            raise ValueError(
                f"`best_metric`={best_metric!r} is not among the eval_fn keys {sorted(values)}."
            )
        value = values[best_metric]
        if best_model is None:
            best_model = current
            best_value, best_step = value, np.full(value.shape, step_count)
            best_dirty = True
            return
        better = value < best_value if best_mode == "min" else value > best_value
        improved = np.asarray(better | (np.isnan(best_value) & ~np.isnan(value)))
        if np.any(improved):
            best_model = _where_members(improved, current, best_model)
            best_value = np.where(improved, value, best_value)
            best_step = np.where(improved, step_count, best_step)
            best_dirty = True

    def save(step_count):
        nonlocal best_dirty
        if not is_primary(mesh):  # process 0 writes for every process of a run
            return
        arrays = history_arrays(history.as_dict(), evals.as_dict())
        trees = {"model": model, "opt_state": opt_state, "train_state": train_state}
        info = {
            "update_scale": update_scale,
            "rollbacks": [[s, q] for s, q in rollbacks],
            "select": select,
            "best_metric": best_metric,
            "best_mode": best_mode,
        }
        if select == "best" and best_model is not None:
            trees["best_model"] = best_model
            arrays["fit:best_value"] = best_value
            arrays["fit:best_step"] = best_step
        write_checkpoint(
            ckpt_dir / "last",
            trees,
            step=step_count,
            key=key,
            arrays=arrays,
            metadata={"fit": info},
        )
        if select == "best" and best_model is not None and best_dirty:
            write_checkpoint(
                ckpt_dir / "best",
                {"model": best_model},
                step=int(np.max(best_step)),
                key=key,
                arrays={"fit:best_value": best_value, "fit:best_step": best_step},
                metadata={"fit": info},
            )
            best_dirty = False

    def _next_boundary(s):
        """The first step after `s` at which an evaluation or a checkpoint may fall due."""
        boundary = n_steps
        if eval_fn is not None and eval_every is not None:
            boundary = min(boundary, (s // eval_every + 1) * eval_every)
        if ckpt_dir is not None and checkpoint_every is not None:
            boundary = min(boundary, (s // checkpoint_every + 1) * checkpoint_every)
        return boundary

    def eval_due(s):
        if eval_fn is None or last_eval == s:
            return False
        return s == n_steps if eval_every is None else s % eval_every == 0

    def ckpt_due(s):
        return (
            ckpt_dir is not None
            and last_ckpt != s
            and (s == n_steps or (checkpoint_every is not None and s % checkpoint_every == 0))
        )

    # The divergence guard watches the running mean of the loss; a resumed run replays its
    # history into it (the state with the best loss is then the restored one).
    monitor = None
    if policy.divergence_factor is not None:
        monitor = DivergenceMonitor(policy.divergence_factor, policy.divergence_window)
        if len(history):
            past = history.as_dict()
            monitor.rebuild(past["step"], past["loss"], [s for s, q in rollbacks if q == DIVERGED])

    # -- the loop -----------------------------------------------------------------------------
    scale_array = jnp.asarray(update_scale, dtype=jnp.float32)
    last_good = (model, opt_state, train_state)
    # The state entering the current window of steps, and the one entering the window in
    # which the running mean loss was best (restored by a divergence rollback).
    entry_state = best_state = last_good
    best_state_end = start
    pending: list[_Pending] = []
    bar = progress.bar(n_steps, start)
    t0 = time.perf_counter()
    i = start
    try:
        while i < n_steps:
            window_start = i
            if not in_loop:
                batch_key, loss_key, step_index = _step_keys(key, i)
                if batch_iter is None:
                    batch = batch_fn(i, batch_key)
                else:
                    try:
                        batch = next(batch_iter)
                    except StopIteration:
                        raise ValueError(
                            f"`batches`: the iterator ran out at step {i}, before "
                            f"n_steps={n_steps}."
                        ) from None
                batch = shard_batch(batch, mesh)
                model, opt_state, train_state, loss, metrics, ok = train_step(
                    model, opt_state, train_state, batch, loss_key, step_index, scale_array
                )
                pending.append(_Pending(i, loss, metrics, ok, (model, opt_state, train_state)))
                i += 1
                if not (i % check_every == 0 or i == n_steps or eval_due(i) or ckpt_due(i)):
                    continue
                # The host looks at the dispatched steps: record them, or find the first bad one.
                window_start = pending[0].index
                losses, metric_rows, oks = jax.device_get(
                    ([p.loss for p in pending], [p.metrics for p in pending],
                     [p.ok for p in pending])
                )  # fmt: skip
                bad = next((j for j, flag in enumerate(oks) if not np.all(flag)), None)
                n_good = len(pending) if bad is None else bad
                if n_good:
                    last_good = pending[n_good - 1].state
                failed_state = None if bad is None else pending[bad].state
                pending = []
            else:
                # Several steps in one compiled call, ending at the next evaluation or
                # checkpoint; the returned state is the last good one.
                n = min(steps_per_call, _next_boundary(i) - i)
                state, done, alive, buffers = train_steps(
                    model, opt_state, train_state, batch_fn, key,
                    jnp.asarray(i, dtype=jnp.int32), jnp.asarray(n, dtype=jnp.int32),
                    scale_array,
                )  # fmt: skip
                (loss_rows, metric_cols, _), done, alive = jax.device_get((buffers, done, alive))
                done = int(done)
                losses = list(loss_rows[:done])
                metric_rows = [{k: v[j] for k, v in metric_cols.items()} for j in range(done)]
                bad = None if alive else done - 1
                n_good = done if bad is None else bad
                last_good = state
                model, opt_state, train_state = state
                failed_state = None
                if bad is not None:  # the failing step again, as one step, to name the culprit
                    batch_key, loss_key, step_index = _step_keys(key, i + bad)
                    failed_state = train_step(
                        *state, batch_fn(i + bad, batch_key), loss_key, step_index,
                        scale_array,
                    )[:3]  # fmt: skip
                i += done
            diverged = None
            if monitor is not None and n_good:
                diverged, improved = monitor.update(window_start, np.stack(losses[:n_good]))
                if diverged is not None:  # it comes before any non-finite step of the window
                    n_good, bad = diverged + 1, None
                elif np.any(improved):
                    best_state = _where_members(improved, entry_state, best_state)
                    best_state_end = window_start
            for j in range(n_good):
                for reserved in ("loss", "step"):
                    if reserved in metric_rows[j]:
                        raise ValueError(
                            f"The objective returned a metric named {reserved!r}; that name is "
                            "reserved for the history, rename it."
                        )
                history.append(window_start + j, {"loss": losses[j], **metric_rows[j]})
            if bad is not None:
                failed_index = window_start + bad
                quantity = describe_nonfinite(losses[bad], failed_state[0], failed_state[2])
                if not rolls or len(rollbacks) >= max_rollbacks:
                    error = nonfinite_error(
                        failed_index,
                        quantity,
                        n_rollbacks=len(rollbacks),
                        last_good_model=last_good[0],
                        hint=objective.failure_hint,
                    )
                    raise objective.explain_failure(error)
                rollbacks.append((failed_index, quantity))
                model, opt_state, train_state = last_good
                if rollback_lr_factor is not None:
                    update_scale *= float(rollback_lr_factor)
                    scale_array = jnp.asarray(update_scale, dtype=jnp.float32)
                i = failed_index + 1
            if diverged is not None:
                failed_index = window_start + diverged
                if not rolls or len(rollbacks) >= max_rollbacks:
                    error = divergence_error(
                        failed_index,
                        monitor,
                        history.as_dict()["loss"],
                        n_rollbacks=len(rollbacks),
                        last_good_model=best_state[0],
                        hint=objective.failure_hint,
                    )
                    raise objective.explain_failure(error)
                rollbacks.append((failed_index, DIVERGED))
                model, opt_state, train_state = last_good = best_state
                # The steps after the restored state are undone: out of the history too.
                history.truncate(bisect.bisect_left(history.steps, best_state_end))
                monitor.restart_window()
                if rollback_lr_factor is not None:
                    update_scale *= float(rollback_lr_factor)
                    scale_array = jnp.asarray(update_scale, dtype=jnp.float32)
                i = failed_index + 1
            entry_state = (model, opt_state, train_state)
            bar.update(i - window_start)
            if n_good:
                postfix = {"loss": f"{float(np.mean(losses[n_good - 1])):.4g}"}
                if rollbacks:
                    postfix["rollbacks"] = len(rollbacks)
                bar.set_postfix(postfix, refresh=False)
            if eval_due(i):
                evaluate(i, model)
                last_eval = i
            if ckpt_due(i):
                save(i)
                last_ckpt = i
        # A resumed run that was already complete, or a rollback on the last step, ends here
        # without having passed the final evaluation and checkpoint.
        if eval_due(i):
            evaluate(i, model)
            last_eval = i
        if ckpt_due(i):
            save(i)
            last_ckpt = i
    finally:
        bar.close()
    wall = time.perf_counter() - t0

    selected = best_model if (select == "best" and best_model is not None) else model
    if best_value is not None:
        if np.ndim(best_value) == 0:
            best_value, best_step = float(best_value), int(best_step)
        else:
            best_value, best_step = np.asarray(best_value), np.asarray(best_step, dtype=np.int64)
    return FitResult(
        model=selected,
        last_model=model,
        best_model=best_model if select == "best" else None,
        opt_state=opt_state,
        train_state=train_state,
        history=history.as_dict(),
        eval_history=evals.as_dict(),
        steps=i,
        best_step=best_step,
        best_value=best_value,
        rollbacks=tuple(rollbacks),
        wall_time=wall,
        steps_per_second=(i - start) / wall if wall > 0 else float("nan"),
        steps_per_call=steps_per_call,
    )
