"""The interface shared by the sequential latent-variable models of neural populations."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
from jaxtyping import Array, ArrayLike, Float, Real


class AbstractSpikeModel(eqx.Module):
    """A model that maps held-in spike counts of one trial to log-rates of all neurons.

    Subclasses ([`LangevinFlow`][], [`GRUAutoencoder`][]) implement `__call__`; the
    training loop [`dynsys.latent.fit`][] and [`dynsys.latent.infer_rates`][] use only
    this interface, so a user's own model trains through the same code.

    **Fields every subclass sets:** `n_input` (held-in neurons read), `n_output` (neurons
    predicted: held-in and held-out, in data order) and `n_forward` (bins predicted beyond
    the observed window).
    """

    n_input: eqx.AbstractVar[int]
    n_output: eqx.AbstractVar[int]
    n_forward: eqx.AbstractVar[int]

    @abc.abstractmethod
    def __call__(
        self, x: Real[ArrayLike, "observed n_input"], *, key: jax.Array | None = None
    ) -> tuple[Float[Array, "time n_output"], Float[Array, ""]]:
        """Log-rates (spikes per bin) `(T_obs + n_forward, n_output)` and the KL term.

        `key` None is deterministic inference (posterior means, no latent noise); with a
        key the posterior is sampled (training).
        """
