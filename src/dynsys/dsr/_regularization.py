"""The latent regularisers of the reference codes of the GTF and AL-RNN papers.

Hess et al., ICML 2023 (GTF-shPLRNN) and Brenner et al., NeurIPS 2024 (ALRNN-DSR). Each
model states its own penalty ([`dynsys.dsr.AbstractRNN.latent_penalty`][]); this module
holds the GTF form they share and the entry point the training objective calls.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._abstract import AbstractRNN


def latent_regularizer(model: AbstractRNN) -> jax.Array:
    """The model's latent penalty, `model.latent_penalty()` (multiply by λ_lat).

    The built-in models' penalties:

    - [`ALRNN`][dynsys.dsr.ALRNN] (ALRNN-DSR `regularization.jl`): ‖relu(A + diag(W) −
      0.05)‖₂, the "AR convergence" term keeping the self-coupling below 0.95.
    - [`ShallowPLRNN`][dynsys.dsr.ShallowPLRNN] (GTF `regularization.jl`): ‖1 − A‖² +
      ‖W₁‖² + ‖W₂‖² + ‖h₁‖² + ‖h₂‖² (+ ‖C‖²), pulling A towards 1.
    - [`PLRNN`][dynsys.dsr.PLRNN], [`DendriticPLRNN`][dynsys.dsr.DendriticPLRNN]:
      ‖1 − A‖² + ‖W‖² + ‖h‖² (+ ‖C‖²), the GTF form.

    **Arguments:**

    - `model`: any [`AbstractRNN`][dynsys.dsr.AbstractRNN].

    **Returns:** a scalar array.
    """
    if not isinstance(model, AbstractRNN):
        raise TypeError(f"`model` must be a dynsys.dsr.AbstractRNN, got {type(model).__name__}.")
    return model.latent_penalty()


def gtf_penalty(A: Float[Array, " latent"], *weights: Array | None) -> Float[Array, ""]:
    """‖1 − A‖² + Σ ‖w‖² over the given weights (None skipped): the GTF reference's form."""
    return jnp.sum((1.0 - A) ** 2) + sum(jnp.sum(w**2) for w in weights if w is not None)
