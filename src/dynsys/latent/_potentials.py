"""Potentials U(z) for underdamped Langevin latent dynamics."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._serialization import register_loadable
from .._validation import check_int, check_positive


class AbstractPotential(eqx.Module):
    """A scalar potential energy U(z) on the latent positions; subclass to add one.

    Subclasses implement `__call__(z) -> U` for one state `z` of shape `(dim,)`; the force
    −∇U is taken by automatic differentiation in [`AbstractPotential.force`][].
    """

    @abc.abstractmethod
    def __call__(self, z: Float[Array, " dim"]) -> Float[Array, ""]:
        """Potential energy of one state `z` `(dim,)`, a scalar."""

    def force(self, z: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """The force F(z) = −∇U(z), shape `(dim,)`."""
        return -jax.grad(self)(z)


class QuadraticPotential(AbstractPotential):
    """Isotropic harmonic potential U(z) = ½ k ‖z‖² (a reference with known answers).

    Its Boltzmann distribution at temperature T is N(0, T/k · I).

    **Arguments:** `stiffness` k > 0.

    ```python
    QuadraticPotential(2.0)(jnp.ones(3))   # 3.0
    ```
    """

    stiffness: float = eqx.field(static=True)

    def __init__(self, stiffness: float = 1.0):
        check_positive(stiffness, "stiffness")
        self.stiffness = float(stiffness)

    def __call__(self, z):
        return 0.5 * self.stiffness * jnp.sum(z**2)


class CoupledOscillatorPotential(AbstractPotential):
    """Locally coupled harmonic oscillators: a banded quadratic form (LangevinFlow's potential).

    z `(dim,)` is read as `n_groups` chains of `dim / n_groups` oscillators,
    z_{g,i}. A learned kernel W `(n_groups, n_groups, kernel_size)` couples every oscillator
    to its index neighbours (±(kernel_size − 1)/2) in all chains:

        (Wz)_{g,i} = Σ_{g'} Σ_k W[g, g', k] z_{g', i + k − (kernel_size − 1)/2}   (zero padded),
        U(z) = ½ ⟨z, W z⟩ + ½ κ ‖z‖².

    This is the potential of Song et al., "Langevin Flows for Modeling Neural Latent
    Dynamics" (CCN 2025; reference code `LangevinAutoencoder`, a 1-D convolution over 4
    groups with 3 taps), plus a confinement κ. It is a quadratic form ½ zᵀ(S + κI)z
    with S the symmetric part of a banded block operator, so the force −(S + κI)z is
    **linear**: the "oscillators" are harmonic. U is bounded below while S + κI is
    positive definite (true at the initial small W with κ > 0); training may leave that.

    **Arguments:**

    - `dim`: latent dimension, divisible by `n_groups`.
    - `n_groups`: number of chains (reference: 4).
    - `kernel_size`: odd number of taps (reference: 3).
    - `confinement`: κ >= 0.
    - `init_scale`: standard deviation of the initial kernel entries.
    - `key`: PRNG key.

    ```python
    U = CoupledOscillatorPotential(8, key=jax.random.key(0))
    U.matrix().shape   # (8, 8), symmetric, banded within and across chains
    ```
    """

    kernel: Float[Array, "groups groups taps"]
    dim: int = eqx.field(static=True)
    n_groups: int = eqx.field(static=True)
    confinement: float = eqx.field(static=True)

    def __init__(
        self,
        dim: int,
        n_groups: int = 4,
        kernel_size: int = 3,
        *,
        confinement: float = 1.0,
        init_scale: float = 0.05,
        dtype=None,
        key: jax.Array,
    ):
        dim = check_int(dim, "dim", minimum=1)
        n_groups = check_int(n_groups, "n_groups", minimum=1)
        kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
        if dim % n_groups:
            raise ValueError(f"`dim`={dim} must be divisible by `n_groups`={n_groups}.")
        if kernel_size % 2 == 0:
            raise ValueError(f"`kernel_size` must be odd, got {kernel_size}.")
        check_positive(confinement, "confinement", allow_zero=True)
        check_positive(init_scale, "init_scale", allow_zero=True)
        dtype = jnp.result_type(float) if dtype is None else dtype
        shape = (n_groups, n_groups, kernel_size)
        self.kernel = init_scale * jax.random.normal(key, shape, dtype=dtype)
        self.dim = dim
        self.n_groups = n_groups
        self.confinement = float(confinement)

    def apply_kernel(self, z: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """The banded operator W z, shape `(dim,)`."""
        g, taps = self.n_groups, self.kernel.shape[-1]
        chains = z.reshape(g, -1)
        n, half = chains.shape[1], taps // 2
        padded = jnp.pad(chains, ((0, 0), (half, half)))
        shifted = jnp.stack([padded[:, k : k + n] for k in range(taps)])  # (taps, g, n)
        return jnp.einsum("abk,kbi->ai", self.kernel, shifted).reshape(-1)

    def __call__(self, z):
        return 0.5 * jnp.dot(z, self.apply_kernel(z)) + 0.5 * self.confinement * jnp.sum(z**2)

    def force(self, z):
        # Closed form −½(W + Wᵀ)z − κz (no nested autodiff inside the training gradient):
        # the adjoint of the banded operator swaps the chain axes and flips the taps.
        adjoint = eqx.tree_at(lambda p: p.kernel, self, self.kernel.transpose(1, 0, 2)[..., ::-1])
        wz = 0.5 * (self.apply_kernel(z) + adjoint.apply_kernel(z))
        return -wz - self.confinement * z

    def matrix(self) -> Float[Array, "dim dim"]:
        """The Hessian S + κI of U (symmetric, banded), shape `(dim, dim)`."""
        return jax.hessian(self)(jnp.zeros(self.dim, dtype=self.kernel.dtype))


class MLPPotential(AbstractPotential):
    """A general learned potential: U(z) = MLP(z) + ½ κ ‖z‖² (nonlinear force).

    A tanh MLP to a scalar grows at most linearly, so the quadratic confinement κ > 0 keeps
    U bounded below and the Boltzmann density normalisable; the force −∇MLP(z) − κz is
    nonlinear (multi-well landscapes, limit-cycle-free gradient flows).

    **Arguments:**

    - `dim`: latent dimension.
    - `width`, `depth`: hidden width and number of hidden layers of the MLP.
    - `confinement`: κ > 0.
    - `key`: PRNG key.

    ```python
    U = MLPPotential(4, key=jax.random.key(0))
    U.force(jnp.zeros(4)).shape   # (4,)
    ```
    """

    mlp: eqx.nn.MLP
    confinement: float = eqx.field(static=True)

    def __init__(
        self,
        dim: int,
        width: int = 64,
        depth: int = 2,
        *,
        confinement: float = 1.0,
        dtype=None,
        key: jax.Array,
    ):
        dim = check_int(dim, "dim", minimum=1)
        width = check_int(width, "width", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
        check_positive(confinement, "confinement")
        self.mlp = eqx.nn.MLP(
            dim, "scalar", width, depth, activation=jnp.tanh, dtype=dtype, key=key
        )
        self.confinement = float(confinement)

    def __call__(self, z):
        return self.mlp(z) + 0.5 * self.confinement * jnp.sum(z**2)


register_loadable(
    QuadraticPotential,
    hyperparameters=lambda u: {"stiffness": u.stiffness},
    template=lambda hp: QuadraticPotential(hp["stiffness"]),
)
register_loadable(
    CoupledOscillatorPotential,
    hyperparameters=lambda u: {
        "dim": u.dim,
        "n_groups": u.n_groups,
        "kernel_size": u.kernel.shape[-1],
        "confinement": u.confinement,
        "dtype": u.kernel.dtype.name,
    },
    template=lambda hp: CoupledOscillatorPotential(
        hp["dim"],
        hp["n_groups"],
        hp["kernel_size"],
        confinement=hp["confinement"],
        dtype=hp["dtype"],
        key=jax.random.key(0),
    ),
)
register_loadable(
    MLPPotential,
    hyperparameters=lambda u: {
        "dim": u.mlp.in_size,
        "width": u.mlp.width_size,
        "depth": u.mlp.depth,
        "confinement": u.confinement,
        "dtype": u.mlp.layers[0].weight.dtype.name,
    },
    template=lambda hp: MLPPotential(
        hp["dim"],
        hp["width"],
        hp["depth"],
        confinement=hp["confinement"],
        dtype=hp["dtype"],
        key=jax.random.key(0),
    ),
)
