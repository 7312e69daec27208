"""Observation models of the PLRNN family: how latent states map to data and back."""

import abc
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from equinox import AbstractVar
from jaxtyping import Array, Float, PRNGKeyArray

from .._serialization import register_loadable
from .._validation import check_int
from ._initialization import kaiming_normal, resolve_dtype, uniform


class AbstractObservation(eqx.Module):
    """A map between the latent space (dimension M) and the data space (dimension N).

    Subclasses provide:

    - `readout(z)`: the predicted observation x̂ = O(z), `(..., M) -> (..., N)`.
    - `init_state(x)`: a latent state inferred from one observation, `(..., N) -> (..., M)`;
      generation and teacher forcing start from it.
    - `forcing_signal(x)`: the data-inferred values of the forced latent units,
      `(..., N) -> (..., n_forced)`. Teacher forcing overwrites (or mixes into) the first
      `n_forced` latent units with it. No gradient flows through it, as in the reference
      code, where the forcing signals are precomputed outside the loss.
    - `n_forced`: how many *leading* latent units are forced.

    All methods broadcast over leading axes.
    """

    latent_dim: AbstractVar[int]
    obs_dim: AbstractVar[int]

    @abc.abstractmethod
    def readout(self, z: Float[Array, "*batch latent"]) -> Float[Array, "*batch obs"]:
        """Predicted observation(s) of latent state(s)."""

    @abc.abstractmethod
    def init_state(self, x: Float[Array, "*batch obs"]) -> Float[Array, "*batch latent"]:
        """Latent state(s) inferred from observation(s)."""

    @abc.abstractmethod
    def forcing_signal(self, x: Float[Array, "*batch obs"]) -> Float[Array, "*batch forced"]:
        """Data-inferred values of the first `n_forced` latent units (no gradient)."""

    @property
    @abc.abstractmethod
    def n_forced(self) -> int:
        """How many leading latent units are forced."""

    @property
    def n_parameters(self) -> int:
        """Number of trainable scalars (all floating array leaves)."""
        return count_float_entries(self)


def count_float_entries(tree: Any) -> int:
    """Total size of the floating-point leaves of `tree` (arrays or `jax.ShapeDtypeStruct`s)."""
    return int(
        sum(
            math.prod(leaf.shape)
            for leaf in jax.tree_util.tree_leaves(tree)
            if hasattr(leaf, "shape")
            and hasattr(leaf, "dtype")
            and jnp.issubdtype(leaf.dtype, jnp.inexact)
        )
    )


class IdentityObservation(AbstractObservation):
    """Identity readout: the first N latent units are the observations, x̂ = z[:N].

    The latent state inferred from an observation is z₁ = [x₁; L x₁], with a learned
    (M−N)×N matrix L (the only trainable parameter; empty when M = N). Teacher forcing
    acts on the N read-out units only (`n_forced = N`, forcing signal = the data itself),
    which is the reference "partial forcing" with the data padded by zeros.

    **Arguments:**

    - `latent_dim`: M, the latent dimension.
    - `obs_dim`: N ≤ M, the data dimension.
    - `key`: PRNG key for L ~ U(±1/√N) (the AL-RNN reference initialisation).
    - `dtype`: float dtype of L; default the current JAX default float.

    ```python
    import jax, jax.numpy as jnp
    obs = IdentityObservation(5, 3, key=jax.random.key(0))
    z1 = obs.init_state(jnp.ones(3))      # shape (5,); z1[:3] == 1
    obs.readout(z1)                        # == jnp.ones(3)
    ```
    """

    L: Float[Array, "hidden obs"]
    latent_dim: int = eqx.field(static=True)
    obs_dim: int = eqx.field(static=True)

    def __init__(
        self, latent_dim: int, obs_dim: int, *, key: PRNGKeyArray, dtype: Any = None
    ) -> None:
        latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        obs_dim = check_int(obs_dim, "obs_dim", minimum=1)
        if obs_dim > latent_dim:
            raise ValueError(
                "The identity observation model reads out the first `obs_dim` latent units, so "
                f"`obs_dim` must be <= `latent_dim`; got obs_dim={obs_dim}, "
                f"latent_dim={latent_dim}. Use observation='affine' for N > M."
            )
        dtype = resolve_dtype(dtype)
        self.latent_dim = latent_dim
        self.obs_dim = obs_dim
        self.L = uniform(key, (latent_dim - obs_dim, obs_dim), obs_dim**-0.5, dtype)

    def readout(self, z):
        return z[..., : self.obs_dim]

    def init_state(self, x):
        return jnp.concatenate([x, x @ self.L.T], axis=-1)

    def forcing_signal(self, x):
        return x

    @property
    def n_forced(self) -> int:
        return self.obs_dim


class AffineObservation(AbstractObservation):
    """Linear (optionally affine) readout x̂ = B z (+ b) with an N×M matrix B.

    The latent state inferred from data is the least-squares inverse pinv(B)(x − b); it
    gives both the initial state and the forcing signal for all M latent units
    (`n_forced = M`). B starts Kaiming-normal, N(0, 2/M); b starts at zero.

    **Arguments:**

    - `latent_dim`: M.
    - `obs_dim`: N (any size; N > M is allowed, e.g. many EEG channels, but then the readout
      of an inferred state is only the projection of x onto the range of B).
    - `key`: PRNG key for B.
    - `use_bias`: learn an offset b (off by default, as in the reference).
    - `dtype`: float dtype of the parameters.

    ```python
    import jax, jax.numpy as jnp
    obs = AffineObservation(5, 3, key=jax.random.key(0))
    x = jnp.array([1.0, -2.0, 0.5])
    obs.readout(obs.init_state(x))        # == x (B has full row rank)
    ```
    """

    B: Float[Array, "obs latent"]
    b: Float[Array, " obs"] | None
    latent_dim: int = eqx.field(static=True)
    obs_dim: int = eqx.field(static=True)

    def __init__(
        self,
        latent_dim: int,
        obs_dim: int,
        *,
        key: PRNGKeyArray,
        use_bias: bool = False,
        dtype: Any = None,
    ) -> None:
        latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        obs_dim = check_int(obs_dim, "obs_dim", minimum=1)
        dtype = resolve_dtype(dtype)
        self.latent_dim = latent_dim
        self.obs_dim = obs_dim
        self.B = kaiming_normal(key, (obs_dim, latent_dim), dtype)
        self.b = jnp.zeros(obs_dim, dtype=dtype) if use_bias else None

    def readout(self, z):
        x = z @ self.B.T
        return x if self.b is None else x + self.b

    def _inverse(self, x, pinv):
        if self.b is not None:
            x = x - self.b
        return x @ pinv.T

    def init_state(self, x):
        return self._inverse(x, jnp.linalg.pinv(self.B))

    def forcing_signal(self, x):
        return jax.lax.stop_gradient(self._inverse(x, jnp.linalg.pinv(self.B)))

    @property
    def n_forced(self) -> int:
        return self.latent_dim


def make_observation(
    observation: Any, latent_dim: int, obs_dim: int, *, key: PRNGKeyArray, dtype: Any
) -> AbstractObservation:
    """Build the observation model named by `observation`, or check a given instance."""
    if isinstance(observation, AbstractObservation):
        if observation.latent_dim != latent_dim or observation.obs_dim != obs_dim:
            raise ValueError(
                "`observation` must map latent_dim -> obs_dim = "
                f"{latent_dim} -> {obs_dim}, got {observation.latent_dim} -> "
                f"{observation.obs_dim}."
            )
        return observation
    if observation == "identity":
        return IdentityObservation(latent_dim, obs_dim, key=key, dtype=dtype)
    if observation == "affine":
        return AffineObservation(latent_dim, obs_dim, key=key, dtype=dtype)
    raise ValueError(
        "`observation` must be 'identity', 'affine' or an AbstractObservation instance, "
        f"got {observation!r}."
    )


register_loadable(
    IdentityObservation,
    hyperparameters=lambda obs: {
        "latent_dim": obs.latent_dim,
        "obs_dim": obs.obs_dim,
        "dtype": obs.L.dtype.name,
    },
    template=lambda hp: IdentityObservation(
        hp["latent_dim"], hp["obs_dim"], key=jax.random.key(0), dtype=hp["dtype"]
    ),
)
register_loadable(
    AffineObservation,
    hyperparameters=lambda obs: {
        "latent_dim": obs.latent_dim,
        "obs_dim": obs.obs_dim,
        "use_bias": obs.b is not None,
        "dtype": obs.B.dtype.name,
    },
    template=lambda hp: AffineObservation(
        hp["latent_dim"],
        hp["obs_dim"],
        key=jax.random.key(0),
        use_bias=hp["use_bias"],
        dtype=hp["dtype"],
    ),
)
