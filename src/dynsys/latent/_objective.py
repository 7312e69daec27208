"""The training objective of the latent family: a β-weighted ELBO with coordinated dropout."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from ..training import AbstractObjective
from ._dropout import coordinated_dropout


class SpikeELBO(AbstractObjective):
    """Poisson NLL per scored entry plus the ramped KL per entry, on a batch of trials.

    The batch is `(counts, valid)`: spike counts `(trials, bins, neurons)` in the model's
    dtype and a mask `(trials, bins)` of observed bins. For each trial the held-in observed
    counts go through [`coordinated_dropout`][dynsys.latent.coordinated_dropout] (rate
    `cd_rate`), the model returns log-rates and a KL, and

        L = Σ w·(λ − y log λ) / Σ w  +  β(step) · mean_trials KL / (bins · neurons),

    with weights w on the scored entries (held-out neurons and forward bins always, held-in
    observed entries when dropped; masked bins never) and β(step) = `kl_weight` ·
    min(1, step / `kl_ramp_steps`), ramped by the core's step index. No carried state;
    metrics `nll`, `kl`, `beta`. Final.
    """

    heldin: tuple[int, ...] = eqx.field(static=True)
    n_observed: int = eqx.field(static=True)
    cd_rate: float = eqx.field(static=True)
    kl_weight: float = eqx.field(static=True)
    kl_ramp_steps: int = eqx.field(static=True)

    failure_hint: ClassVar[str] = (
        "Latent-model remedies: a lower `learning_rate`, a tighter `gradient_clip`, a smaller "
        "latent step `dt`, or a slower KL ramp."
    )

    def __call__(self, model, batch, state, *, step, key):
        counts, ok = batch
        n_bins, n_out = counts.shape[1:]
        dtype = counts.dtype
        heldin, t_obs = jnp.asarray(self.heldin), self.n_observed

        def trial_terms(counts, ok, key):
            k_cd, k_model = jax.random.split(key)
            x = counts[:t_obs][:, heldin]
            if self.cd_rate > 0:
                x, keep = coordinated_dropout(k_cd, x, self.cd_rate)
                kept = jnp.zeros((n_bins, n_out), dtype=bool).at[:t_obs, heldin].set(keep)
                scored = ~kept
            else:
                scored = jnp.ones((n_bins, n_out), dtype=bool)
            log_rates, kl = model(x, key=k_model)
            nll = jnp.exp(log_rates) - counts * log_rates
            w = (scored & ok[:, None]).astype(dtype)
            return jnp.sum(w * nll), jnp.sum(w), kl

        keys = jax.random.split(key, counts.shape[0])
        nll_sum, weight, kl = jax.vmap(trial_terms)(counts, ok, keys)
        nll = jnp.sum(nll_sum) / jnp.maximum(jnp.sum(weight), 1.0)
        kl = jnp.mean(kl) / (n_bins * n_out)
        beta = self.kl_weight * jnp.minimum(1.0, step.astype(dtype) / self.kl_ramp_steps)
        loss = nll + beta * kl
        return loss, (state, {"nll": nll, "kl": kl, "beta": beta})
