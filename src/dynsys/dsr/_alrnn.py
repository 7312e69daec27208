"""The almost-linear RNN (AL-RNN; Brenner et al., NeurIPS 2024)."""

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
    normal,
    normalized_positive_definite,
    resolve_dtype,
)
from ._observation import AbstractObservation, make_observation


class ALRNN(AbstractPLRNN):
    """Almost-linear RNN: z_t = A ⊙ z_{t−1} + W Φ*(z_{t−1}) + h (+ C s_t).

    Φ* is the identity on the first M−P units and ReLU on the last P units, so the map
    has only 2^P linear subregions, named by the sign pattern of the last P units (the
    "symbolic code"; bit i is unit M−P+i). W is a **full** M×M matrix (its diagonal is
    trained, unlike the vanilla PLRNN). With the identity observation the first N units
    are read out; they are linear as long as P ≤ M − N.

    Jacobian: diag(A) + W diag(1, …, 1, 1[z_{M−P+1..M} > 0]).

    Initialisation (reference code): A = diag(K) of the normalized positive definite
    matrix (see [`PLRNN`][]), W ~ N(0, 0.01²), h = 0, C Glorot-uniform, and (identity
    observation) L ~ U(±1/√N).

    **Arguments:**

    - `latent_dim`: M.
    - `pwl_units`: P ≤ M, the number of ReLU ("piecewise-linear") units.
    - `obs_dim`: N.
    - `key`: PRNG key.
    - `n_inputs`, `observation`, `dtype`: as in [`PLRNN`][].

    Trainable parameters: M² + 2M (+ MK) + the observation model's ((M−N)·N for the
    identity one); M=20, N=3 gives 440 + 51 = 491.

    ```python
    import jax, jax.numpy as jnp
    model = ALRNN(20, 2, 3, key=jax.random.key(0))
    xs = model.generate(jnp.ones(3), 500)        # (500, 3)
    ```
    """

    A: Float[Array, " latent"]
    W: Float[Array, "latent latent"]
    h: Float[Array, " latent"]
    C: Float[Array, "latent inputs"] | None
    observation: AbstractObservation
    pwl_units: int = eqx.field(static=True)

    def __init__(
        self,
        latent_dim: int,
        pwl_units: int,
        obs_dim: int,
        *,
        key: PRNGKeyArray,
        n_inputs: int = 0,
        observation: str | AbstractObservation = "identity",
        dtype: Any = None,
    ) -> None:
        latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        pwl_units = check_int(pwl_units, "pwl_units", minimum=0)
        obs_dim = check_int(obs_dim, "obs_dim", minimum=1)
        n_inputs = check_int(n_inputs, "n_inputs", minimum=0)
        if pwl_units > latent_dim:
            raise ValueError(
                f"`pwl_units` (P, the number of ReLU units) must be <= latent_dim={latent_dim}, "
                f"got {pwl_units}."
            )
        dtype = resolve_dtype(dtype)
        k_npd, k_w, k_c, k_obs = jax.random.split(key, N_KEYS)[:4]
        self.A = normalized_positive_definite(k_npd, latent_dim, dtype)[0]
        self.W = 0.01 * normal(k_w, (latent_dim, latent_dim), dtype)
        self.h = jnp.zeros(latent_dim, dtype=dtype)
        self.C = glorot_uniform(k_c, (latent_dim, n_inputs), dtype) if n_inputs else None
        self.pwl_units = pwl_units
        self.observation = make_observation(
            observation, latent_dim, obs_dim, key=k_obs, dtype=dtype
        )

    def _slopes(self, pattern):
        linear = jnp.ones(self.latent_dim - self.pwl_units, dtype=self.dtype)
        return jnp.concatenate([linear, pattern.astype(self.dtype)], axis=-1)

    def phi(self, z: Float[Array, "*batch latent"]) -> Float[Array, "*batch latent"]:
        """Φ*(z): identity on the first M−P units, ReLU on the last P."""
        is_pwl = jnp.arange(self.latent_dim) >= self.latent_dim - self.pwl_units
        return jnp.where(is_pwl, jax.nn.relu(z), z)

    def step(self, z, s=None):
        return self.A * z + self.phi(z) @ self.W.T + self.h + self._input_drive(s)

    def latent_penalty(self):
        """ALRNN-DSR `regularization.jl`: ‖relu(A + diag(W) − 0.05)‖₂.

        The "AR convergence" term, keeping each unit's self-coupling A + W_ii below 0.95.
        """
        return jnp.linalg.norm(jax.nn.relu(self.A + jnp.diagonal(self.W) - 0.05))

    @property
    def n_region_bits(self) -> int:
        return self.pwl_units

    def activation_pattern(self, z):
        return z[..., self.latent_dim - self.pwl_units :] > 0

    def affine_piece(self, pattern):
        return jnp.diag(self.A) + self.W * self._slopes(pattern), self.h


register_loadable(
    ALRNN,
    hyperparameters=lambda m: {
        "latent_dim": m.latent_dim,
        "pwl_units": m.pwl_units,
        "obs_dim": m.obs_dim,
        **common_hyperparameters(m),
    },
    template=lambda hp: ALRNN(
        hp["latent_dim"], hp["pwl_units"], hp["obs_dim"], **common_arguments(hp)
    ),
)
