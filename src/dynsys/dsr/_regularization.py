"""The latent regularisers of the reference codes of the GTF and AL-RNN papers.

Hess et al., ICML 2023 (GTF-shPLRNN) and Brenner et al., NeurIPS 2024 (ALRNN-DSR).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._abstract import AbstractPLRNN
from ._alrnn import ALRNN
from ._shallow_plrnn import ShallowPLRNN


def latent_regularizer(model: AbstractPLRNN) -> jax.Array:
    """The model family's latent penalty (multiply by λ_lat).

    - AL-RNN (ALRNN-DSR `regularization.jl`): ‖relu(A + diag(W) − 0.05)‖₂, the
      "AR convergence" term keeping the self-coupling below 0.95.
    - shPLRNN (GTF `regularization.jl`): ‖1 − A‖² + ‖W₁‖² + ‖W₂‖² + ‖h₁‖² + ‖h₂‖² (+ ‖C‖²),
      pulling A towards 1.
    - Other models (PLRNN, dendritic): ‖1 − A‖² + ‖W‖² + ‖h‖² (+ ‖C‖²), the GTF form.
    """
    if isinstance(model, ALRNN):
        return jnp.linalg.norm(jax.nn.relu(model.A + jnp.diagonal(model.W) - 0.05))
    if isinstance(model, ShallowPLRNN):
        terms = [model.W1, model.W2, model.h1, model.h2]
    else:
        terms = [getattr(model, name) for name in ("W", "h") if hasattr(model, name)]
    if model.C is not None:
        terms.append(model.C)
    return jnp.sum((1.0 - model.A) ** 2) + sum(jnp.sum(t**2) for t in terms)
