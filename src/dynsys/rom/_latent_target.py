"""Φ-ROM's latent velocity target: the solver's time derivative pulled back by least squares."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def lstsq_qr(a: Float[Array, " m n"], b: Float[Array, " m"]) -> Float[Array, " n"]:
    """Least-squares solution of a x ≈ b by the reduced QR factorisation, x = R⁻¹ Qᵀ b.

    **Arguments:** `a` of shape `(m, n)` with m >= n and full column rank; `b` of shape `(m,)`.

    **Returns:** shape `(n,)`.
    """
    q, r = jnp.linalg.qr(a, mode="reduced")
    return jax.scipy.linalg.solve_triangular(r, q.T @ b, lower=False)


def latent_velocity_target(
    decoder: Any,
    alpha: Float[Array, " latent"],
    coords: Float[Array, " points coord_dim"],
    dudt: Float[Array, " points channels"],
    key: Any,
    num_points: int,
) -> Float[Array, " latent"]:
    """Latent velocity α̇* whose decoded image best matches a field's time derivative.

        α̇* = argmin_a ‖J_S a − r_S‖²,    J = ∂D(x, α)/∂α  (forward mode, d tangents),

    where S is a random subset of `num_points` of the points (hyper-reduction; Φ-ROM
    uses ⌊γ·P⌋ with γ = 0.1), r = du/dt at those points (from the solver, see
    [`dynsys.pde.time_derivative`][]) and the least-squares problem of size
    (|S|·C) × d is solved by QR. Φ-ROM, Hosseini Dashtbayaz et al., NeurIPS 2025
    (`PHIROM/training/train.py::_loss_jac_inverse`).

    **Arguments:**

    - `decoder`: `decoder(coords (P', coord_dim), alpha (d,)) -> (P', C)`.
    - `alpha`: latent, shape `(d,)`.
    - `coords`: all points, shape `(P, coord_dim)`.
    - `dudt`: time derivative at those points, shape `(P, C)`.
    - `key`: PRNG key for the subset.
    - `num_points`: size of the subset, with `num_points · C >= d`.

    **Returns:** shape `(d,)`.
    """
    idx = jax.random.permutation(key, coords.shape[0])[:num_points]
    sub = coords[idx]
    jac = jax.jacfwd(lambda a: decoder(sub, a))(alpha)  # (m, C, d)
    a = jac.reshape(-1, alpha.shape[0])
    b = dudt[idx].reshape(-1)
    return lstsq_qr(a, b)
