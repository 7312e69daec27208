"""Train a PLRNN-family model on time series by (generalized / sparse) teacher forcing."""

from __future__ import annotations

import pathlib
import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .. import training
from .._validation import check_in_range, check_int, check_positive
from ..data import Trajectories, batched_states, sample_windows
from ..metrics import state_space_divergence
from ._abstract import AbstractRNN
from ._objective import TeacherForcing
from ._settings import TrainingSettings
from ._teacher_forcing import ALPHA_METHODS


class ReconstructionResult(eqx.Module):
    """What [`dynsys.dsr.fit`][] returns.

    **Fields:**

    - `model`: the selected model (`select="best"`: lowest training D_stsp, else the last).
    - `last_model`: the model after the last step.
    - `fit`: the full [`dynsys.training.FitResult`][] (history with `loss` and `alpha`
      per step, `eval_history` with `d_stsp` on the training data, timings).
    - `settings`: the [`TrainingSettings`][] used.
    - `alpha`: forcing strength at the end of training.
    """

    model: Any
    last_model: Any
    fit: training.FitResult
    settings: TrainingSettings
    alpha: Any


def fit(
    model: AbstractRNN,
    data: Trajectories | Any,
    *,
    key: jax.Array,
    settings: TrainingSettings | None = None,
    n_steps: int | None = None,
    alpha_update_interval: int = 5,
    alpha_decay: float = 0.999,
    gradient_clip: float | None = None,
    optimizer: Any = None,
    select: str = "last",
    eval_every: int | None = None,
    n_eval_steps: int = 100_000,
    n_eval_starts: int = 1,
    ensemble: int | None = None,
    progress: bool = True,
    checkpoint: training.Checkpointing | None = None,
    on_nonfinite: Any = "raise",
    failure_hint: str = "",
    steps_per_call: int | None = None,
    checkpoint_dir: str | pathlib.Path | None = None,
    resume: bool = False,
    **overrides: Any,
) -> ReconstructionResult:
    """Train a PLRNN / shPLRNN / AL-RNN by teacher forcing, as in the reference codes.

    Each step draws `batch_size` windows of `sequence_length + 1` points uniformly with
    replacement from the data (plus Gaussian batch noise `noise_std`), runs the model along
    each window with forcing every `tau` steps at strength `alpha` (see
    [`dynsys.dsr.forced_rollout`][]: τ = 1 is generalized teacher forcing, α = 1 sparse /
    identity teacher forcing), and minimises the MSE between the read-out **unforced**
    predictions and the data, plus `lambda_latent` times the family's latent regulariser.
    RAdam with a per-epoch exponential learning-rate decay from `start_lr` to `end_lr`
    ([`dynsys.training.exponential_decay_per_epoch`][]), unless an `optimizer` is given.
    The objective is [`dynsys.dsr.TeacherForcing`][], trained by
    [`dynsys.training.fit`][].

    Adaptive α (aGTF, Hess et al. 2023): every `alpha_update_interval` steps the Jacobian
    norm 𝒩 is estimated at the data-inferred states of the batch (the settings'
    `alpha_method`, default the geometric-mean "product upper bound"),
    α* = max(0, 1 − 1/𝒩); α jumps up to α* at once, or else decays as
    α ← γα + (1 − γ)α* with γ = `alpha_decay`.

    Model selection is explicit: `select="last"` (GTF reference) keeps the final model,
    `select="best"` (AL-RNN reference) the evaluated model with the lowest D_stsp between
    `n_eval_steps` generated steps (from the first training point) and the training data,
    evaluated every `eval_every` steps (default: every 25 epochs). With `n_eval_starts=K`
    the generated steps are K free runs of `n_eval_steps // K` steps from K evenly spaced
    training points, pooled: a model with a spurious second attractor (a cycle beside the
    chaotic one) then scores badly even when the run from the first point misses it.

    **Arguments:**

    - `model`: the model to train (its size fixes M, P, L); with `ensemble=E`, a stacked
      ensemble from [`dynsys.dsr.make_ensemble`][].
    - `data`: [`dynsys.data.Trajectories`][] or an array `(time, N)` / `(batch, time, N)`;
      external inputs are taken from `Trajectories.inputs`.
    - `key`: PRNG key (batches, noise).
    - `settings`: [`TrainingSettings`][] (e.g. [`dynsys.dsr.settings`][]`("lorenz63")`);
      keyword `overrides` replace single fields (`tau=8`, `n_epochs=100`,
      `alpha_method="arithmetic_mean"`, ...).
    - `n_steps`: total steps; default `n_epochs · batches_per_epoch`.
    - `alpha_update_interval`, `alpha_decay`: the α schedule (reference: 5 and 0.999).
    - `gradient_clip`: global-norm clipping (None: off, as in the reference).
    - `optimizer`: an optax optimizer in place of the reference's RAdam schedule (the
      settings' `start_lr`, `end_lr` are then unused).
    - `select`, `eval_every`, `n_eval_steps`, `n_eval_starts`: model selection, above.
    - `ensemble`: train E stacked models at once with `jax.vmap`, each on its own batches.
    - `steps_per_call`: steps per compiled call of [`dynsys.training.fit`][] (default
      automatic, about 32; the same run bit for bit as 1, faster).
    - `progress`, `checkpoint` (a [`dynsys.training.Checkpointing`][]: folder, interval,
      resume), `on_nonfinite` (`"raise"`, `"rollback"` or a policy object): passed to
      [`dynsys.training.fit`][]. `checkpoint_dir` and `resume` are the deprecated spelling
      of `checkpoint=Checkpointing(checkpoint_dir, resume=resume)`.
    - `failure_hint`: more remedies appended to the error of a diverging run (a pipeline
      built on `fit` adds its own advice here).

    **Returns:** a [`ReconstructionResult`][].

    ```python
    bench = dynsys.data.benchmark("lorenz63")
    s = dynsys.dsr.settings("lorenz63")
    model = dynsys.ALRNN(s.latent_dim, s.pwl_units, 3, key=jax.random.key(0))
    result = dynsys.dsr.fit(model, bench.train, key=jax.random.key(1), settings=s)
    ```
    """
    s = (settings or TrainingSettings()).replace(**overrides) if overrides else settings
    s = s or TrainingSettings()
    if not isinstance(model, AbstractRNN):
        raise TypeError(f"`model` must be a dynsys.dsr.AbstractRNN, got {type(model)}.")
    states, inputs = _check_data(data, model, ensemble)
    _check_settings(s, states.shape[1])
    alpha_update_interval = check_int(alpha_update_interval, "alpha_update_interval", minimum=1)
    check_in_range(alpha_decay, "alpha_decay", 0.0, 1.0)
    if select not in ("last", "best"):
        raise ValueError(f"`select` must be 'last' or 'best', got {select!r}.")
    n_eval_steps = check_int(n_eval_steps, "n_eval_steps", minimum=2)
    n_eval_starts = check_int(n_eval_starts, "n_eval_starts", minimum=1)
    if n_eval_steps // n_eval_starts < 2:
        raise ValueError(
            f"`n_eval_steps` // `n_eval_starts` must be at least 2 steps per run, got "
            f"{n_eval_steps} // {n_eval_starts}."
        )
    if n_steps is None:
        n_steps = s.n_epochs * s.batches_per_epoch
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    if gradient_clip is not None:
        check_positive(gradient_clip, "gradient_clip")
    if not isinstance(failure_hint, str):
        raise TypeError(f"`failure_hint` must be a string, got {type(failure_hint).__name__}.")

    if checkpoint_dir is not None or resume:
        warnings.warn(
            "dsr.fit(checkpoint_dir=..., resume=...) is deprecated; pass "
            "checkpoint=dynsys.training.Checkpointing(checkpoint_dir, resume=resume).",
            DeprecationWarning,
            stacklevel=2,
        )
        if checkpoint is not None:
            raise ValueError("Pass `checkpoint` or the deprecated `checkpoint_dir`, not both.")
        if checkpoint_dir is None:
            raise ValueError("`resume=True` needs a checkpoint folder; pass `checkpoint`.")
        checkpoint = training.Checkpointing(checkpoint_dir, resume=resume)

    dtype = model.dtype
    states = states.astype(dtype)
    inputs = None if inputs is None else inputs.astype(dtype)
    if optimizer is None:
        optimizer = optax.radam(
            training.exponential_decay_per_epoch(
                s.start_lr, s.end_lr, s.n_epochs, s.batches_per_epoch
            )
        )
    objective = TeacherForcing(
        tau=s.tau,
        alpha=s.alpha,
        adaptive=s.adaptive_alpha and s.alpha_method != "constant",
        alpha_method=s.alpha_method,
        alpha_update_interval=alpha_update_interval,
        alpha_decay=alpha_decay,
        lambda_latent=s.lambda_latent,
        dtype=dtype,
        extra_hint=failure_hint,
    )
    window = s.sequence_length + 1

    def sample(key, data):
        states, inputs = data
        batch = sample_windows(
            key, states, window=window, batch_size=s.batch_size, inputs=inputs,
            noise_std=s.noise_std,
        )  # fmt: skip
        return batch if inputs is not None else (batch, None)

    if ensemble is None:
        draw = lambda step, key, data: sample(key, data)  # noqa: E731
    else:
        draw = lambda step, key, data: jax.vmap(sample, in_axes=(0, None))(  # noqa: E731
            jax.random.split(key, ensemble), data
        )
    sampler = training.JitSampler(draw, data=(states, inputs))

    evaluation = None
    if select == "best":
        evaluation = training.Evaluation(
            _training_divergence(
                states[0], min(n_eval_steps, states.shape[1]), ensemble, n_eval_starts
            ),
            every=25 * s.batches_per_epoch if eval_every is None else eval_every,
            select="best",
            metric="d_stsp",
        )
    result = training.fit(
        model, objective, sampler, optimizer=optimizer, n_steps=n_steps, key=key,
        evaluation=evaluation, checkpoint=checkpoint, on_nonfinite=on_nonfinite,
        progress=progress, gradient_clip=gradient_clip, ensemble=ensemble,
        shared_batch=ensemble is None, steps_per_call=steps_per_call,
    )  # fmt: skip
    return ReconstructionResult(
        model=result.model,
        last_model=result.last_model,
        fit=result,
        settings=s,
        alpha=result.train_state["alpha"],
    )


def make_ensemble(factory: Any, key: jax.Array, n: int) -> Any:
    """Stack `n` independently initialised models for `fit(..., ensemble=n)`.

    **Arguments:**

    - `factory`: `factory(key) -> model`, e.g. `lambda k: ALRNN(20, 2, 3, key=k)`.
    - `key`: PRNG key, split into `n` member keys.
    - `n`: number of members (≥ 1).

    **Returns:** a model whose array leaves have a leading member axis of length `n`; take
    member i with [`dynsys.dsr.ensemble_member`][].
    """
    n = check_int(n, "n", minimum=1)
    return eqx.filter_vmap(factory)(jax.random.split(key, n))


def ensemble_member(ensemble: Any, i: int) -> Any:
    """Member `i` of a stacked ensemble (the array leaves indexed at `i`)."""
    return jax.tree.map(lambda x: x[i] if eqx.is_array(x) else x, ensemble)


def _training_divergence(train: jax.Array, n_eval: int, ensemble: int | None, n_starts: int = 1):
    """The AL-RNN reference's selection metric: D_stsp of a free run from x_0 vs the data
    (with `n_starts` > 1: of `n_starts` pooled runs from evenly spaced data points)."""
    reference = train[:n_eval]
    run_length = n_eval // n_starts
    start_index = jnp.arange(n_starts) * (n_eval // n_starts)

    # The data enter as arguments, not as closed-over constants: XLA would otherwise
    # constant-fold reductions over the whole training trajectory at every compilation.
    def single(model, reference):
        def one_run(x0):
            return model.readout(_free_run(model, model.init_state(x0), run_length))

        if n_starts == 1:
            generated = one_run(reference[0])
        else:
            runs = jax.vmap(one_run)(reference[start_index])
            generated = runs.reshape(-1, reference.shape[-1])
        return state_space_divergence(reference, generated)

    if ensemble is not None:
        single = eqx.filter_vmap(single, in_axes=(eqx.if_array(0), None))
    run = eqx.filter_jit(single)

    def eval_fn(model):
        value = run(model, reference)
        # A model that leaves the data range scores NaN; rank it worst, never best.
        return {"d_stsp": jnp.where(jnp.isfinite(value), value, jnp.inf)}

    return eval_fn


def _free_run(model, z0, n):
    def body(z, _):
        z = model.step(z)
        return z, z

    _, zs = jax.lax.scan(body, z0, None, length=n - 1)
    return jnp.concatenate([z0[None], zs])


def _check_data(data, model, ensemble):
    states = batched_states(data, "data")
    inputs = data.inputs if isinstance(data, Trajectories) else None
    n_obs = model.obs_dim if ensemble is None else model.observation.obs_dim
    if states.shape[-1] != n_obs:
        raise ValueError(
            f"`data` has dimension {states.shape[-1]} but the model observes obs_dim={n_obs}."
        )
    if (inputs is None) != (model.C is None):
        raise ValueError(
            "`data` inputs and the model's inputs disagree: the data has "
            f"{'no' if inputs is None else inputs.shape[-1]} input channels, the model "
            f"n_inputs={0 if model.C is None else model.C.shape[-1]}."
        )
    return states, inputs


def _check_settings(s: TrainingSettings, n_times: int) -> None:
    if not isinstance(s, TrainingSettings):
        raise TypeError(f"`settings` must be a dynsys.dsr.TrainingSettings, got {type(s)}.")
    check_int(s.tau, "tau", minimum=1)
    check_in_range(s.alpha, "alpha", 0.0, 1.0)
    if s.alpha_method not in ALPHA_METHODS:
        raise ValueError(f"`alpha_method` must be one of {ALPHA_METHODS}, got {s.alpha_method!r}.")
    check_int(s.sequence_length, "sequence_length", minimum=1)
    if s.sequence_length + 1 > n_times:
        raise ValueError(
            f"`sequence_length`={s.sequence_length} needs windows of {s.sequence_length + 1} "
            f"points, but the data has only {n_times} time steps."
        )
    check_int(s.batch_size, "batch_size", minimum=1)
    check_int(s.batches_per_epoch, "batches_per_epoch", minimum=1)
    check_int(s.n_epochs, "n_epochs", minimum=1)
    check_positive(s.start_lr, "start_lr")
    check_positive(s.end_lr, "end_lr")
    check_positive(s.noise_std, "noise_std", allow_zero=True)
    check_positive(s.lambda_latent, "lambda_latent", allow_zero=True)
