"""The dendritic PLRNN (dendPLRNN; Brenner et al., ICML 2022) and its clipped form."""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._serialization import register_loadable
from .._validation import as_array, check_int
from ._abstract import AbstractPLRNN, common_arguments, common_hyperparameters
from ._initialization import (
    N_KEYS,
    glorot_uniform,
    normal,
    normalized_positive_definite,
    resolve_dtype,
    uniform,
)
from ._observation import AbstractObservation, IdentityObservation, make_observation
from ._plrnn import _off_diagonal
from ._regularization import gtf_penalty


class DendriticPLRNN(AbstractPLRNN):
    """Dendritic PLRNN: z_t = A ⊙ z + W Φ(z) + h, Φ(z)_m = Σ_b α_b φ(z_m − H_{m,b}).

    Each unit passes through a weighted sum of B shifted ReLUs ("dendritic bases") with
    weights α shared across units and per-unit thresholds H (M×B). The **clipped** form
    uses Σ_b α_b [φ(z_m − H_{m,b}) − φ(z_m)], which keeps orbits bounded if ‖A‖ < 1.
    As in the vanilla [`PLRNN`][], W's diagonal is held at zero (masked in `step`).

    Jacobian: diag(A) + W diag(Σ_b α_b 1[z_m > H_{m,b}] (− Σ_b α_b 1[z_m > 0] clipped)).
    The activation pattern is 1[z_m > H_{m,b}] (M·B bits, unit-major) and, clipped,
    additionally 1[z_m > 0] (M more bits).

    Initialisation (reference code): A, W from the normalized positive definite matrix
    (A = diag K, W = offdiag K), h = 0, α ~ U(±1/√B), H ~ N(0, 1), or, when `data` is given
    with the identity observation, H ~ U[min data, max data].

    **Arguments:**

    - `latent_dim`: M.
    - `n_bases`: B, number of ReLU bases per unit.
    - `obs_dim`: N.
    - `key`: PRNG key.
    - `clipped`: use the clipped form.
    - `data`: optional training data `(time, N)` for the threshold initialisation.
    - `n_inputs`, `observation`, `dtype`: as in [`PLRNN`][].

    Trainable parameters: M² + M + B + MB (+ MK) + the observation model's.

    ```python
    import jax, jax.numpy as jnp
    model = DendriticPLRNN(10, 4, 3, key=jax.random.key(0), clipped=True)
    xs = model.generate(jnp.ones(3), 500)        # (500, 3)
    ```
    """

    A: Float[Array, " latent"]
    W: Float[Array, "latent latent"]
    h: Float[Array, " latent"]
    alpha: Float[Array, " bases"]
    H: Float[Array, "latent bases"]
    C: Float[Array, "latent inputs"] | None
    observation: AbstractObservation
    clipped: bool = eqx.field(static=True)

    _n_fixed_per_unit: ClassVar[int] = 1

    def __init__(
        self,
        latent_dim: int,
        n_bases: int,
        obs_dim: int,
        *,
        key: PRNGKeyArray,
        clipped: bool = False,
        data: ArrayLike | None = None,
        n_inputs: int = 0,
        observation: str | AbstractObservation = "identity",
        dtype: Any = None,
    ) -> None:
        latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        n_bases = check_int(n_bases, "n_bases", minimum=1)
        obs_dim = check_int(obs_dim, "obs_dim", minimum=1)
        n_inputs = check_int(n_inputs, "n_inputs", minimum=0)
        dtype = resolve_dtype(dtype)
        k_npd, k_a, k_h, k_c, k_obs = jax.random.split(key, N_KEYS)[:5]
        self.A, self.W = normalized_positive_definite(k_npd, latent_dim, dtype)
        self.h = jnp.zeros(latent_dim, dtype=dtype)
        self.alpha = uniform(k_a, (n_bases,), n_bases**-0.5, dtype)
        self.observation = make_observation(
            observation, latent_dim, obs_dim, key=k_obs, dtype=dtype
        )
        if data is not None and isinstance(self.observation, IdentityObservation):
            data = as_array(data, "data", dtype=dtype)
            self.H = uniform(k_h, (latent_dim, n_bases), data.max(), dtype, low=data.min())
        else:
            self.H = normal(k_h, (latent_dim, n_bases), dtype)
        self.C = glorot_uniform(k_c, (latent_dim, n_inputs), dtype) if n_inputs else None
        self.clipped = bool(clipped)

    @property
    def n_bases(self) -> int:
        """B, the number of ReLU bases per unit."""
        return self.alpha.shape[-1]

    def basis_expansion(self, z: Float[Array, "*batch latent"]) -> Float[Array, "*batch latent"]:
        """Φ(z): the per-unit weighted sum of shifted ReLUs."""
        out = jax.nn.relu(z[..., None] - self.H) @ self.alpha
        if self.clipped:
            out = out - jnp.sum(self.alpha) * jax.nn.relu(z)
        return out

    def step(self, z, s=None):
        w = _off_diagonal(self.W)
        return self.A * z + self.basis_expansion(z) @ w.T + self.h + self._input_drive(s)

    def latent_penalty(self):
        """The GTF form: ‖1 − A‖² + ‖W‖² + ‖h‖² (+ ‖C‖²), W as stored (diagonal included).

        The bases α and thresholds H are not penalised.
        """
        return gtf_penalty(self.A, self.W, self.h, self.C)

    @property
    def n_region_bits(self) -> int:
        n = self.latent_dim * self.n_bases
        return n + self.latent_dim if self.clipped else n

    def activation_pattern(self, z):
        above = z[..., None] > self.H
        bits = above.reshape(*above.shape[:-2], -1)
        if self.clipped:
            return jnp.concatenate([bits, z > 0], axis=-1)
        return bits

    def affine_piece(self, pattern):
        # On a region Φ(z)_m = Σ_b α_b u_{mb}(z_m − H_{mb}) (− Σα v_m z_m clipped) with the
        # 0/1 indicators u (above threshold) and v (above zero): affine in z.
        m, b = self.latent_dim, self.n_bases
        u = pattern[: m * b].reshape(m, b).astype(self.dtype)
        slope = u @ self.alpha
        if self.clipped:
            slope = slope - jnp.sum(self.alpha) * pattern[m * b :].astype(self.dtype)
        offset = -(u * self.H) @ self.alpha
        w = _off_diagonal(self.W)
        return jnp.diag(self.A) + w * slope, w @ offset + self.h


register_loadable(
    DendriticPLRNN,
    hyperparameters=lambda m: {
        "latent_dim": m.latent_dim,
        "n_bases": m.n_bases,
        "obs_dim": m.obs_dim,
        "clipped": m.clipped,
        **common_hyperparameters(m),
    },
    template=lambda hp: DendriticPLRNN(
        hp["latent_dim"],
        hp["n_bases"],
        hp["obs_dim"],
        clipped=hp["clipped"],
        **common_arguments(hp),
    ),
)
