"""Train and evaluate sequential latent models of spike counts through `dynsys.training.fit`."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import metrics, training
from .._validation import check_in_range, check_int, check_positive
from ..data import SpikeData, TrialSampler
from ._abstract import AbstractSpikeModel
from ._objective import SpikeELBO

_LEARNING_RATE, _FINAL_LR_FRACTION, _WEIGHT_DECAY = 3e-3, 1.0, 2e-5


def _check_model(model: Any, data: Any) -> None:
    if not isinstance(model, AbstractSpikeModel):
        raise TypeError(
            f"`model` must be a dynsys.latent.AbstractSpikeModel, got {type(model).__name__}."
        )
    if not isinstance(data, SpikeData):
        raise TypeError(f"`data` must be a dynsys.data.SpikeData, got {type(data).__name__}.")
    want = (len(data.heldin), data.n_neurons, data.n_forward)
    have = (model.n_input, model.n_output, model.n_forward)
    if want != have:
        raise ValueError(
            f"`model` (n_input, n_output, n_forward) = {have} does not match `data` "
            f"(held-in neurons, neurons, forward bins) = {want}."
        )


def _default_optimizer(
    learning_rate: float | None,
    final_lr_fraction: float | None,
    weight_decay: float | None,
    n_steps: int,
) -> optax.GradientTransformation:
    """AdamW, with a cosine decay of the rate to `final_lr_fraction` of it when below 1."""
    learning_rate = _LEARNING_RATE if learning_rate is None else learning_rate
    final_lr_fraction = _FINAL_LR_FRACTION if final_lr_fraction is None else final_lr_fraction
    weight_decay = _WEIGHT_DECAY if weight_decay is None else weight_decay
    check_positive(learning_rate, "learning_rate")
    check_in_range(final_lr_fraction, "final_lr_fraction", 0.0, 1.0)
    if final_lr_fraction <= 0.0:
        raise ValueError(f"`final_lr_fraction` must be > 0, got {final_lr_fraction!r}.")
    check_positive(weight_decay, "weight_decay", allow_zero=True)
    schedule = learning_rate
    if final_lr_fraction < 1.0:
        schedule = optax.cosine_decay_schedule(learning_rate, n_steps, alpha=final_lr_fraction)
    return optax.adamw(schedule, weight_decay=weight_decay)


def fit(
    model: AbstractSpikeModel,
    data: SpikeData,
    *,
    key: jax.Array,
    optimizer: Any = None,
    n_steps: int = 2000,
    batch_size: int = 64,
    learning_rate: float | None = None,
    final_lr_fraction: float | None = None,
    weight_decay: float | None = None,
    kl_weight: float = 1.0,
    kl_ramp_steps: int | None = None,
    cd_rate: float = 0.3,
    gradient_clip: float | None = 1.0,
    eval_every: int | None = None,
    checkpoint: training.Checkpointing | None = None,
    on_nonfinite: Any = "raise",
    progress: bool = True,
) -> training.FitResult:
    """Train a spike model by the (β-weighted) ELBO with coordinated dropout.

    Each step draws `batch_size` training trials without replacement
    ([`dynsys.data.TrialSampler`][]), applies [`coordinated_dropout`][] to their held-in
    observed counts, and minimises

        L = Σ w·(λ − y log λ) / Σ w  +  β(step) · mean_trials KL / (T · N),

    the Poisson negative log-likelihood per scored entry (held-out neurons and forward
    bins always, held-in observed entries when dropped; masked bins never) plus the KL
    per entry, so that β = 1 is the ELBO per entry. β ramps linearly from 0 to
    `kl_weight` over `kl_ramp_steps` (reference: to 0.1 over 500 epochs). The default
    optimizer is AdamW (`learning_rate`, `weight_decay`, optional cosine decay), with
    global-norm gradient clipping; the loop is [`dynsys.training.fit`][] (non-finite steps
    stop with the step and the latent family's hint).

    **Arguments:**

    - `model`: an [`AbstractSpikeModel`][] sized for `data` (n_input = held-in neurons,
      n_output = all neurons, n_forward = forward bins).
    - `data`: [`dynsys.data.SpikeData`][]; only its `train` trials are used.
    - `key`: PRNG key (batches, dropout, posterior samples, Langevin noise).
    - `optimizer`: an optax `GradientTransformation`; None (default): AdamW built from
      `learning_rate`, `final_lr_fraction` and `weight_decay`, which may only be given
      without `optimizer`.
    - `n_steps`, `batch_size`.
    - `learning_rate` (default 3e-3), `weight_decay` (default 2e-5): of the default AdamW.
    - `final_lr_fraction`: in (0, 1], default 1; below 1 the learning rate of the default
      AdamW follows a cosine decay from `learning_rate` to `final_lr_fraction ·
      learning_rate` over `n_steps` (1: constant).
    - `kl_weight`, `kl_ramp_steps` (default `n_steps // 4`): the β schedule.
    - `cd_rate`: coordinated-dropout rate in [0, 1).
    - `gradient_clip`: global-norm clipping of the gradients before the optimizer (default
      1.0; None: off).
    - `eval_every`: record the eval-trial Poisson NLL per entry (deterministic inference)
      every so many steps in `eval_history["eval_nll"]` (a
      [`dynsys.training.Evaluation`][]; monitoring only, the last model is returned).
    - `checkpoint`: a [`dynsys.training.Checkpointing`][] (folder, interval, resume; a
      resumed run continues bit for bit), or None.
    - `on_nonfinite`: `"raise"`, `"rollback"` or a policy object
      ([`dynsys.training.RaiseOnNonfinite`][], [`dynsys.training.RollbackOnNonfinite`][]).
    - `progress`: show a progress bar.

    **Returns:** the [`dynsys.training.FitResult`][] (`.model` is the trained model;
    `history` holds `loss`, `nll`, `kl`, `beta`).

    ```python
    ds = dynsys.data.lorenz_spikes(n_conditions=8, n_trials=4)
    model = LangevinFlow(len(ds.heldin), ds.n_neurons, ds.n_forward, key=jax.random.key(0))
    result = fit(model, ds, key=jax.random.key(1), n_steps=200)
    ```
    """
    _check_model(model, data)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    n_train = int(data.train.shape[0])
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if batch_size > n_train:
        raise ValueError(f"`batch_size`={batch_size} exceeds the {n_train} training trials.")
    if optimizer is None:
        optimizer = _default_optimizer(learning_rate, final_lr_fraction, weight_decay, n_steps)
    else:
        given = [
            name
            for name, value in (
                ("learning_rate", learning_rate),
                ("final_lr_fraction", final_lr_fraction),
                ("weight_decay", weight_decay),
            )
            if value is not None
        ]
        if given:
            raise ValueError(
                f"{', '.join(f'`{g}`' for g in given)} configure the default optimizer; "
                "with `optimizer` given, set them in it instead."
            )
    check_positive(kl_weight, "kl_weight", allow_zero=True)
    kl_ramp_steps = max(n_steps // 4, 1) if kl_ramp_steps is None else kl_ramp_steps
    kl_ramp_steps = check_int(kl_ramp_steps, "kl_ramp_steps", minimum=1)
    check_in_range(cd_rate, "cd_rate", 0.0, 1.0)
    if cd_rate >= 1.0:
        raise ValueError(f"`cd_rate` must be < 1, got {cd_rate!r}.")
    if gradient_clip is not None:
        check_positive(gradient_clip, "gradient_clip")

    dtype = training.param_dtype(model)
    sampler = TrialSampler(
        (data.spikes[data.train].astype(dtype), data.mask[data.train]), batch_size=batch_size
    )
    objective = SpikeELBO(
        heldin=tuple(data.heldin),
        n_observed=data.n_observed,
        cd_rate=float(cd_rate),
        kl_weight=float(kl_weight),
        kl_ramp_steps=kl_ramp_steps,
    )

    evaluation = None
    if eval_every is not None:
        eval_every = check_int(eval_every, "eval_every", minimum=1)
        x_eval = data.model_input(data.eval)
        y_eval = data.spikes[data.eval].astype(dtype)
        ok_eval = jnp.broadcast_to(data.mask[data.eval][..., None], y_eval.shape).astype(dtype)

        @eqx.filter_jit
        def eval_fn(m):
            lr = jax.vmap(lambda x: m(x)[0])(x_eval)
            nll = jnp.sum(ok_eval * (jnp.exp(lr) - y_eval * lr)) / jnp.sum(ok_eval)
            return {"eval_nll": nll}

        evaluation = training.Evaluation(eval_fn, every=eval_every)

    return training.fit(
        model,
        objective,
        sampler,
        optimizer=optimizer,
        n_steps=n_steps,
        key=key,
        evaluation=evaluation,
        checkpoint=checkpoint,
        on_nonfinite=on_nonfinite,
        progress=progress,
        gradient_clip=gradient_clip,
    )


def infer_rates(
    model: AbstractSpikeModel,
    data: SpikeData,
    trials: Any = None,
    *,
    n_samples: int = 0,
    key: jax.Array | None = None,
) -> jax.Array:
    """Rates of `model` for some trials of `data` (spikes per bin).

    With `n_samples=0` (default) the model runs on the held-in observed counts with
    `key=None` (posterior means, no latent noise) and the log-rates are exponentiated.
    With `n_samples=K > 0` the rates are the average of `exp(log-rates)` over `K`
    samples of the posterior and of the latent noise (LFADS's "posterior sample and
    average"), which estimates the posterior-mean rate rather than the rate at the
    posterior mean; `key` is then required.

    **Arguments:** `model`; `data`; `trials`: indices (default: all trials);
    `n_samples`: 0 or the number of posterior samples; `key`: PRNG key for the samples.

    **Returns:** rates `(trials, time, neurons)`.

    ```python
    rates = infer_rates(result.model, ds, ds.eval)
    sampled = infer_rates(result.model, ds, ds.eval, n_samples=32, key=jax.random.key(0))
    ```
    """
    _check_model(model, data)
    n_samples = check_int(n_samples, "n_samples", minimum=0)
    if n_samples and key is None:
        raise ValueError("`key` is required when `n_samples` > 0 (posterior sampling).")
    trials = jnp.arange(data.n_trials) if trials is None else jnp.asarray(trials)
    if trials.ndim != 1 or not jnp.issubdtype(trials.dtype, jnp.integer):
        raise ValueError(f"`trials` must be a 1-D array of trial indices, got {trials.shape}.")
    if trials.size and (int(trials.min()) < 0 or int(trials.max()) >= data.n_trials):
        raise ValueError(f"`trials` must lie in [0, {data.n_trials}).")
    x = data.model_input(trials)
    if not n_samples:
        return _infer(model, x)
    total = jnp.zeros(x.shape[:1] + (data.n_bins, data.n_neurons))
    for sample_key in jax.random.split(key, n_samples):
        total = total + _infer_sample(model, x, sample_key)
    return total / n_samples


@eqx.filter_jit
def _infer(model, x):
    return jnp.exp(jax.vmap(lambda xi: model(xi)[0])(x))


@eqx.filter_jit
def _infer_sample(model, x, key):
    keys = jax.random.split(key, x.shape[0])
    return jnp.exp(jax.vmap(lambda xi, k: model(xi, key=k)[0])(x, keys))


class SpikeScores(metrics.AbstractScores):
    """NLB-style scores of a spike model ([`dynsys.latent.evaluate`][]).

    **Fields** (None, and so absent from the mapping, where the data cannot give them):
    `co_bps`, `fp_bps`, `rate_r2`, `rate_r2_fwd`, `psth_r2`. A
    [`dynsys.metrics.AbstractScores`][]: `s["co_bps"]`, `"fp_bps" in s`, `s.to_dict()`,
    `s.summary()`.
    """

    co_bps: float | None = None
    fp_bps: float | None = None
    rate_r2: float | None = None
    rate_r2_fwd: float | None = None
    psth_r2: float | None = None


def evaluate(model: Any, data: SpikeData, trials: Any = None) -> SpikeScores:
    """NLB-style scores of a model (or of its inferred rates) on some trials of `data`.

    - `co_bps`: [`dynsys.metrics.co_bps`][] on the held-out neurons (observed bins);
    - `fp_bps`: [`dynsys.metrics.fp_bps`][] on the forward bins (if any);
    - `rate_r2`: [`dynsys.metrics.rate_r2`][] against the true rates (if known; true
      first), all neurons over the observed bins (the inference task);
    - `rate_r2_fwd`: the same over the forward bins (the forecast task);
    - `psth_r2`: [`dynsys.metrics.psth_r2`][] of condition-averaged rates against the
      condition-averaged true rates over the observed bins (if known).

    **Arguments:** `model`: an [`AbstractSpikeModel`][dynsys.latent.AbstractSpikeModel]
    (its rates are [`infer_rates`][dynsys.latent.infer_rates] with posterior means), or
    rates `(len(trials), time, neurons)` in spikes per bin (e.g. sampled rates, or the
    true rates for the ceiling); `data`; `trials` indices (default `data.eval`).

    **Returns:** a [`SpikeScores`][dynsys.latent.SpikeScores] (a read-only mapping of the
    scores that apply, as the dict it replaces).

    ```python
    evaluate(result.model, ds)
    evaluate(infer_rates(model, ds, ds.eval, n_samples=32, key=key), ds)
    ```
    """
    if not isinstance(data, SpikeData):
        raise TypeError(f"`data` must be a dynsys.data.SpikeData, got {type(data).__name__}.")
    trials = np.asarray(data.eval if trials is None else trials)
    if isinstance(model, AbstractSpikeModel):
        rates = np.asarray(infer_rates(model, data, trials))
    elif isinstance(model, eqx.Module):
        raise TypeError(
            f"`model` must be a dynsys.latent.AbstractSpikeModel or an array of rates, got "
            f"{type(model).__name__}."
        )
    else:
        rates = np.asarray(model)
    if rates.shape != (trials.size, data.n_bins, data.n_neurons):
        raise ValueError(
            f"`rates` must have shape {(trials.size, data.n_bins, data.n_neurons)}, got "
            f"{rates.shape}."
        )
    spikes, mask = np.asarray(data.spikes)[trials], np.asarray(data.mask)[trials]
    out: dict[str, float] = {}
    if data.heldout:
        out["co_bps"] = metrics.co_bps(rates, spikes, data.heldout, data.n_forward, mask=mask)
    if data.n_forward:
        out["fp_bps"] = metrics.fp_bps(rates, spikes, data.n_forward, mask=mask)
    if data.rates is not None:
        true = np.asarray(data.rates)[trials]
        t = data.n_observed
        out["rate_r2"] = metrics.rate_r2(true[:, :t], rates[:, :t], mask=mask[:, :t])
        if data.n_forward:
            out["rate_r2_fwd"] = metrics.rate_r2(true[:, t:], rates[:, t:], mask=mask[:, t:])
        _, cond = np.unique(np.asarray(data.conditions)[trials], return_inverse=True)
        n_c = int(cond.max()) + 1
        counts = np.bincount(cond, minlength=n_c)[:, None, None]
        psth = np.zeros((n_c, t) + true.shape[2:])
        np.add.at(psth, cond, true[:, :t])
        out["psth_r2"] = metrics.psth_r2(psth / counts, rates[:, :t], cond)
    return SpikeScores(**out)
