"""The training objective of the reconstruction family: teacher forcing with adaptive α."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ..training import AbstractObjective
from ._regularization import latent_regularizer
from ._teacher_forcing import anneal_alpha, forced_rollout, jacobian_norm_estimate, optimal_alpha

DSR_HINT = (
    "Reconstruction-specific remedies: a lower start learning rate, stronger teacher forcing "
    "(smaller `tau`, or `alpha` closer to 1 / `adaptive_alpha=True`), or a shorter "
    "`sequence_length`."
)


class TeacherForcing(AbstractObjective):
    """MSE of the unforced one-step predictions along windows run with teacher forcing.

    The batch is `(windows, inputs)`: windows `(batch, T̃ + 1, N)` and their external inputs
    (or None). The model runs along each window with forcing every `tau` steps at strength
    α ([`dynsys.dsr.forced_rollout`][]); the loss is the MSE between the read-out predictions
    and the data, plus `lambda_latent` times the family's latent regulariser. The carried
    state is `{"alpha": α}`; with `adaptive=True` α is re-estimated every
    `alpha_update_interval` steps from the Jacobian norm at the data-inferred states
    (α* = max(0, 1 − 1/𝒩); α jumps up to α*, or else decays as γα + (1 − γ)α*).
    """

    tau: int = eqx.field(static=True)
    alpha: float = eqx.field(static=True)
    adaptive: bool = eqx.field(static=True)
    alpha_method: str = eqx.field(static=True)
    alpha_update_interval: int = eqx.field(static=True)
    alpha_decay: float = eqx.field(static=True)
    lambda_latent: float = eqx.field(static=True)
    dtype: Any = eqx.field(static=True)
    extra_hint: str = eqx.field(static=True, default="")

    @property
    def failure_hint(self) -> str:  # type: ignore[override]
        return f"{DSR_HINT} {self.extra_hint}" if self.extra_hint else DSR_HINT

    def init_state(self, model):
        return {"alpha": jnp.full((), self.alpha, dtype=self.dtype)}

    def __call__(self, model, batch, state, *, step, key):
        windows, drive = batch
        alpha = state["alpha"]
        if self.adaptive:
            frozen = jax.lax.stop_gradient(model)
            alpha = jax.lax.cond(
                step % self.alpha_update_interval == 0,
                lambda: anneal_alpha(
                    alpha,
                    optimal_alpha(jacobian_norm_estimate(frozen, windows, self.alpha_method)),
                    self.alpha_decay,
                ).astype(self.dtype),
                lambda: alpha,
            )

        def rollout(w, u):
            return forced_rollout(model, w, alpha=alpha, tau=self.tau, inputs=u)

        zs = jax.vmap(rollout)(windows, drive)
        loss = jnp.mean((model.readout(zs) - windows[:, 1:]) ** 2)
        if self.lambda_latent > 0:
            loss = loss + self.lambda_latent * latent_regularizer(model)
        return loss, ({"alpha": alpha}, {"alpha": alpha})
