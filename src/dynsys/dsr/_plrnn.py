"""The vanilla piecewise-linear RNN (Durstewitz 2017)."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._serialization import register_loadable
from .._validation import check_int
from ._abstract import AbstractPLRNN, common_arguments, common_hyperparameters
from ._initialization import N_KEYS, glorot_uniform, normalized_positive_definite, resolve_dtype
from ._observation import AbstractObservation, make_observation
from ._regularization import gtf_penalty


def _off_diagonal(w):
    return w * (1 - jnp.eye(w.shape[-1], dtype=w.dtype))


class PLRNN(AbstractPLRNN):
    """Vanilla PLRNN: z_t = A ⊙ z_{t−1} + W φ(z_{t−1}) + h (+ C s_t), φ = ReLU.

    A is a diagonal (stored as a vector) and W an M×M coupling matrix whose **diagonal is
    held at zero**: `step` uses W with its diagonal masked out, so the stored diagonal
    entries never influence the output and their gradients are exactly zero (the reference
    zeroes those gradients by hand after each backward pass). The Jacobian is
    J(z) = diag(A) + W_off diag(1[z > 0]); there are 2^M linear regions, named by the
    sign pattern of all M units.

    Initialisation (Durstewitz 2017; reference code): the "normalized positive definite"
    matrix K (Talathi & Vartak 2016; R ~ N(0,1), K = RᵀR/M + I, K ← K/λ_max(K)) gives
    A = diag(K) and W = offdiag(K); h = 0; C is Glorot-uniform.

    **Arguments:**

    - `latent_dim`: M.
    - `obs_dim`: N, the data dimension.
    - `key`: PRNG key.
    - `n_inputs`: K, number of external inputs (0: none).
    - `observation`: `"identity"` (x̂ = z[:N], needs N ≤ M), `"affine"` (x̂ = Bz) or an
      [`AbstractObservation`][] instance.
    - `dtype`: float dtype of the parameters; default the current JAX default float.

    Trainable parameters: M² + M (A, off-diagonal W, h) + MK + the observation model's.

    ```python
    import jax, jax.numpy as jnp
    model = PLRNN(10, 3, key=jax.random.key(0))
    xs = model.generate(jnp.ones(3), 500)        # (500, 3)
    ```
    """

    A: Float[Array, " latent"]
    W: Float[Array, "latent latent"]
    h: Float[Array, " latent"]
    C: Float[Array, "latent inputs"] | None
    observation: AbstractObservation

    _n_fixed_per_unit: ClassVar[int] = 1

    def __init__(
        self,
        latent_dim: int,
        obs_dim: int,
        *,
        key: PRNGKeyArray,
        n_inputs: int = 0,
        observation: str | AbstractObservation = "identity",
        dtype: Any = None,
    ) -> None:
        latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        obs_dim = check_int(obs_dim, "obs_dim", minimum=1)
        n_inputs = check_int(n_inputs, "n_inputs", minimum=0)
        dtype = resolve_dtype(dtype)
        k_npd, k_c, k_obs = jax.random.split(key, N_KEYS)[:3]
        self.A, self.W = normalized_positive_definite(k_npd, latent_dim, dtype)
        self.h = jnp.zeros(latent_dim, dtype=dtype)
        self.C = glorot_uniform(k_c, (latent_dim, n_inputs), dtype) if n_inputs else None
        self.observation = make_observation(
            observation, latent_dim, obs_dim, key=k_obs, dtype=dtype
        )

    def step(self, z, s=None):
        w = _off_diagonal(self.W)
        return self.A * z + jax.nn.relu(z) @ w.T + self.h + self._input_drive(s)

    def latent_penalty(self):
        """The GTF form: ‖1 − A‖² + ‖W‖² + ‖h‖² (+ ‖C‖²), W as stored (diagonal included)."""
        return gtf_penalty(self.A, self.W, self.h, self.C)

    @property
    def n_region_bits(self) -> int:
        return self.latent_dim

    def activation_pattern(self, z):
        return z > 0

    def affine_piece(self, pattern):
        w = _off_diagonal(self.W)
        return jnp.diag(self.A) + w * pattern.astype(w.dtype), self.h


register_loadable(
    PLRNN,
    hyperparameters=lambda m: {
        "latent_dim": m.latent_dim,
        "obs_dim": m.obs_dim,
        **common_hyperparameters(m),
    },
    template=lambda hp: PLRNN(hp["latent_dim"], hp["obs_dim"], **common_arguments(hp)),
)
