"""Teacher-forced rollouts and the adaptive forcing strength α (GTF, sparse TF).

One rule covers both forcing schemes of the papers cited below: every `tau`-th step the first
`n_forced` latent units are mixed with the data-inferred state,

    z̃_t[:D] = (1 − α) z_t[:D] + α ẑ_t     if t mod τ = 0,     z̃_t = z_t otherwise,

where z_t = F(z̃_{t−1}) is the unforced prediction. τ = 1 is generalized teacher forcing
(GTF, Hess et al. 2023); α = 1 with τ > 1 is sparse / identity teacher forcing (STF,
Mikhaeil et al. 2022; Brenner et al. 2022), where the replaced units carry no gradient.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._abstract import AbstractRNN

ALPHA_METHODS = ("constant", "product_upper_bound", "batch_maximum", "arithmetic_mean")


def forced_rollout(
    model: AbstractRNN,
    window: Float[Array, "time obs"],
    *,
    alpha: Float[Array, ""] | float,
    tau: int,
    inputs: Float[Array, "time inputs"] | None = None,
) -> Float[Array, "time-1 latent"]:
    """Unforced one-step predictions z_1..z_T along a teacher-forced rollout of one window.

    **Arguments:**

    - `model`: an [`AbstractRNN`][dynsys.dsr.AbstractRNN].
    - `window`: observations x_0..x_T, shape `(T + 1, N)`; x_0 gives the initial state
      `model.init_state(x_0)`, x_1..x_T the forcing signals and targets.
    - `alpha`: forcing strength in [0, 1] (0: free running, 1: replace).
    - `tau`: forcing interval (≥ 1); forcing acts at steps t = τ, 2τ, ...
    - `inputs`: external inputs aligned with `window`, `(T + 1, K)`, or None.

    **Returns:** the predictions z_t = F(z̃_{t−1}) before forcing, shape `(T, M)`; the loss
    compares `model.readout` of them with x_1..x_T.
    """
    zhat = jax.lax.stop_gradient(model.forcing_signal(window))
    n_forced = zhat.shape[-1]
    steps = jnp.arange(1, window.shape[0])
    forced_now = (steps % tau) == 0
    drive = None if inputs is None else inputs[1:]

    def body(z_tilde, xs):
        target, force, s = xs
        z = model.step(z_tilde, s)
        mixed = (1.0 - alpha) * z[:n_forced] + alpha * target
        head = jnp.where(force, mixed, z[:n_forced])
        return jnp.concatenate([head, z[n_forced:]]), z

    z0 = model.init_state(window[0])
    _, zs = jax.lax.scan(body, z0, (zhat[1:], forced_now, drive))
    return zs


def data_inferred_states(model: AbstractRNN, windows: Float[Array, "*batch obs"]) -> Array:
    """Latent states inferred from data: forcing signals padded with zeros to M units.

    This is where the reference code of the GTF paper (Hess et al., ICML 2023) evaluates the
    Jacobians for the adaptive α: O⁻¹(x), the data padded with zeros for the identity
    observation, pinv(B)x for the affine one.
    """
    zhat = model.forcing_signal(windows)
    pad = model.latent_dim - zhat.shape[-1]
    return jnp.concatenate([zhat, jnp.zeros((*zhat.shape[:-1], pad), zhat.dtype)], axis=-1)


def jacobian_norm_estimate(
    model: AbstractRNN, windows: Float[Array, "batch time obs"], method: str
) -> Float[Array, ""]:
    """Estimate 𝒩, the Jacobian norm the forcing must compensate (aGTF, Hess et al., ICML 2023).

    - `product_upper_bound` (default of the reference): per sequence the geometric mean over
      time of ‖J(ẑ_t)‖₂, then the maximum over the batch.
    - `batch_maximum`: the largest ‖J(ẑ_t)‖₂ over batch and time.
    - `arithmetic_mean`: per sequence ‖mean_t J(ẑ_t)‖₂, then the maximum over the batch.
    """
    z = data_inferred_states(model, windows[:, 1:])
    jac = jax.vmap(jax.vmap(model.jacobian))(z)
    if method == "arithmetic_mean":
        return jnp.max(_spectral_norm(jnp.mean(jac, axis=1)))
    norms = _spectral_norm(jac)
    if method == "batch_maximum":
        return jnp.max(norms)
    return jnp.max(jnp.exp(jnp.mean(jnp.log(norms), axis=1)))


def optimal_alpha(norm: Float[Array, ""]) -> Float[Array, ""]:
    """α* = max(0, 1 − 1/𝒩): the smallest α with (1 − α)𝒩 ≤ 1 (bounded gradients)."""
    return jnp.maximum(0.0, 1.0 - 1.0 / norm)


def anneal_alpha(alpha: Any, estimate: Any, decay: float) -> Array:
    """Jump up to a larger estimate at once, otherwise decay: α ← γα + (1 − γ)α_est."""
    return jnp.where(estimate > alpha, estimate, decay * alpha + (1.0 - decay) * estimate)


def _spectral_norm(mats, n_squarings: int = 12):
    """Largest singular value of each matrix in a batch, by repeated squaring of JᵀJ.

    A batched LAPACK SVD pays a per-matrix call: for the thousands of small Jacobians of a
    batch (16 × 200 of size M × M) it cost twice the whole training step. Here the Gram
    matrix G = JᵀJ is squared `n_squarings` times (rescaled each time), i.e. raised to the
    power 2^k, whose dominant column is the top eigenvector v of G; the Rayleigh quotient
    vᵀGv / vᵀv is then σ₁². The eigenvector error shrinks like (σ₂/σ₁)^(2^(k+1)) and the
    Rayleigh quotient's error is quadratic in it: with k = 12 the result equals the SVD's to
    rounding (tested to 1e-10 in float64) unless σ₂ is within about 1e-4 of σ₁, where it
    lies between σ₂ and σ₁. All operations are dense batched matmuls.
    """
    gram = jnp.swapaxes(mats, -1, -2) @ mats
    power = gram
    for _ in range(n_squarings):
        scale = jnp.max(jnp.abs(power), axis=(-2, -1), keepdims=True)
        power = power / jnp.where(scale > 0, scale, 1.0)
        power = power @ power
    column = jnp.argmax(jnp.sum(power * power, axis=-2), axis=-1)
    v = jnp.take_along_axis(power, column[..., None, None], axis=-1)[..., 0]
    vv = jnp.sum(v * v, axis=-1)
    quotient = jnp.sum(v * (gram @ v[..., None])[..., 0], axis=-1) / jnp.where(vv > 0, vv, 1.0)
    return jnp.sqrt(jnp.maximum(quotient, 0.0))
