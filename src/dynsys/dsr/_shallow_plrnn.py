"""The shallow PLRNN and its clipped form (Hess et al., ICML 2023)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._serialization import register_loadable
from .._validation import check_int
from ._abstract import AbstractPLRNN, common_arguments, common_hyperparameters
from ._initialization import (
    N_KEYS,
    glorot_uniform,
    normalized_positive_definite,
    resolve_dtype,
    uniform,
)
from ._observation import AbstractObservation, make_observation
from ._regularization import gtf_penalty


class ShallowPLRNN(AbstractPLRNN):
    """Shallow PLRNN: z_t = A ⊙ z_{t−1} + W₁ φ(W₂ z_{t−1} + h₂) + h₁ (+ C s_t).

    One hidden ReLU layer of width L between two linear maps (W₁: M×L, W₂: L×M). The
    **clipped** form (the default model of the GTF paper) subtracts φ(W₂z):
    z_t = A ⊙ z + W₁[φ(W₂z + h₂) − φ(W₂z)] + h₁. Each clipped hidden unit lies between
    min(0, h₂) and max(0, h₂), so orbits stay bounded whenever max|A| < 1.

    Jacobian: diag(A) + W₁ diag(d) W₂ with d = 1[W₂z > −h₂] (clipped: minus 1[W₂z > 0]).
    The activation pattern is 1[W₂z + h₂ > 0] (L bits), and for the clipped form
    additionally 1[W₂z > 0] (2L bits).

    Initialisation (reference code): A = diag(K) of the normalized positive definite
    matrix (see [`PLRNN`][]), W₁ ~ U(±1/√L), W₂ ~ U(±1/√M), h₁ = 0, h₂ = 0 (unclipped)
    or U(±1/√L) (clipped), C Glorot-uniform.

    **Arguments:**

    - `latent_dim`: M.
    - `hidden_dim`: L, the width of the hidden layer.
    - `obs_dim`: N.
    - `key`: PRNG key.
    - `clipped`: use the clipped form.
    - `n_inputs`, `observation`, `dtype`: as in [`PLRNN`][].

    Trainable parameters: 2ML + 2M + L (+ MK) + the observation model's; M=3, L=50 with
    the identity observation (N=3) gives 356.

    ```python
    import jax, jax.numpy as jnp
    model = ShallowPLRNN(3, 50, 3, key=jax.random.key(0), clipped=True)
    xs = model.generate(jnp.ones(3), 500)        # (500, 3)
    ```
    """

    A: Float[Array, " latent"]
    W1: Float[Array, "latent hidden"]
    W2: Float[Array, "hidden latent"]
    h1: Float[Array, " latent"]
    h2: Float[Array, " hidden"]
    C: Float[Array, "latent inputs"] | None
    observation: AbstractObservation
    clipped: bool = eqx.field(static=True)

    def __init__(
        self,
        latent_dim: int,
        hidden_dim: int,
        obs_dim: int,
        *,
        key: PRNGKeyArray,
        clipped: bool = False,
        n_inputs: int = 0,
        observation: str | AbstractObservation = "identity",
        dtype: Any = None,
    ) -> None:
        latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        hidden_dim = check_int(hidden_dim, "hidden_dim", minimum=1)
        obs_dim = check_int(obs_dim, "obs_dim", minimum=1)
        n_inputs = check_int(n_inputs, "n_inputs", minimum=0)
        dtype = resolve_dtype(dtype)
        k_npd, k_w1, k_w2, k_h2, k_c, k_obs = jax.random.split(key, N_KEYS)[:6]
        self.A = normalized_positive_definite(k_npd, latent_dim, dtype)[0]
        self.W1 = uniform(k_w1, (latent_dim, hidden_dim), hidden_dim**-0.5, dtype)
        self.W2 = uniform(k_w2, (hidden_dim, latent_dim), latent_dim**-0.5, dtype)
        self.h1 = jnp.zeros(latent_dim, dtype=dtype)
        if clipped:
            self.h2 = uniform(k_h2, (hidden_dim,), hidden_dim**-0.5, dtype)
        else:
            self.h2 = jnp.zeros(hidden_dim, dtype=dtype)
        self.C = glorot_uniform(k_c, (latent_dim, n_inputs), dtype) if n_inputs else None
        self.clipped = bool(clipped)
        self.observation = make_observation(
            observation, latent_dim, obs_dim, key=k_obs, dtype=dtype
        )

    @property
    def hidden_dim(self) -> int:
        """L, the width of the hidden layer."""
        return self.h2.shape[-1]

    def step(self, z, s=None):
        pre = z @ self.W2.T
        hidden = jax.nn.relu(pre + self.h2)
        if self.clipped:
            hidden = hidden - jax.nn.relu(pre)
        return self.A * z + hidden @ self.W1.T + self.h1 + self._input_drive(s)

    def latent_penalty(self):
        """GTF `regularization.jl`: ‖1 − A‖² + ‖W₁‖² + ‖W₂‖² + ‖h₁‖² + ‖h₂‖² (+ ‖C‖²).

        Pulls A towards 1 and the other weights towards 0.
        """
        return gtf_penalty(self.A, self.W1, self.W2, self.h1, self.h2, self.C)

    def _slopes(self, pattern):
        d = pattern[: self.hidden_dim].astype(self.dtype)
        if self.clipped:
            d = d - pattern[self.hidden_dim :].astype(self.dtype)
        return d

    @property
    def n_region_bits(self) -> int:
        return 2 * self.hidden_dim if self.clipped else self.hidden_dim

    def activation_pattern(self, z):
        pre = z @ self.W2.T
        active = pre + self.h2 > 0
        if self.clipped:
            return jnp.concatenate([active, pre > 0], axis=-1)
        return active

    def affine_piece(self, pattern):
        # On a region: φ(W₂z + h₂) = D₁(W₂z + h₂) and φ(W₂z) = D₂W₂z, so
        # F(z) = [diag(A) + W₁(D₁ − D₂)W₂] z + W₁D₁h₂ + h₁.
        d = self._slopes(pattern)
        on = pattern[: self.hidden_dim].astype(self.dtype)
        jac = jnp.diag(self.A) + (self.W1 * d) @ self.W2
        return jac, self.W1 @ (on * self.h2) + self.h1

    def jacobian_norm_upper_bound(self) -> Float[Array, ""]:
        """Parameter-only bound on the spectral norm of every Jacobian: max|A| + ‖W₁‖₂‖W₂‖₂.

        Valid for both forms, since the hidden-unit slopes lie in [−1, 1]. Used by the
        `jacobian_upper_bound` choice of the adaptive teacher-forcing α (GTF paper).
        """
        return jnp.max(jnp.abs(self.A)) + jnp.linalg.norm(self.W1, 2) * jnp.linalg.norm(self.W2, 2)


register_loadable(
    ShallowPLRNN,
    hyperparameters=lambda m: {
        "latent_dim": m.latent_dim,
        "hidden_dim": m.hidden_dim,
        "obs_dim": m.obs_dim,
        "clipped": m.clipped,
        **common_hyperparameters(m),
    },
    template=lambda hp: ShallowPLRNN(
        hp["latent_dim"],
        hp["hidden_dim"],
        hp["obs_dim"],
        clipped=hp["clipped"],
        **common_arguments(hp),
    ),
)
