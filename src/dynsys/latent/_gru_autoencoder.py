"""A GRU sequential auto-encoder (LFADS without controller): the recurrent baseline."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import ArrayLike, Real

from .._serialization import register_loadable
from .._validation import check_int
from ._abstract import AbstractSpikeModel
from ._langevin_flow import final_gru_state, gaussian_kl


class GRUAutoencoder(AbstractSpikeModel):
    """Sequential auto-encoder: bidirectional-GRU encoder → initial state → input-free GRU.

    The LFADS architecture without controller (Pandarinath et al. 2018; `nlb-lightning`
    `SequentialAutoencoder`): a bidirectional GRU reads the held-in counts of the observed
    bins; its two final states give the posterior N(μ, diag σ²) of the generator's initial
    state g₀ (prior N(0, I)); an autonomous GRU g_{t+1} = GRU(0, g_t) runs over all
    T = T_obs + n_forward bins; factors f_t = F g_t and log-rates R f_t + b are linear
    read-outs. The generator has no input, so all trial-to-trial variability must sit in
    g₀ (a dynamical-systems prior on the latents, as LangevinFlow's (z₀, v₀)).

    **Arguments:**

    - `n_input`, `n_output`, `n_forward`: as [`LangevinFlow`][].
    - `encoder_dim`: size of each encoder direction.
    - `generator_dim`: size of the generator GRU (= dimension of g₀).
    - `factor_dim`: number of factors.
    - `key`: PRNG key.

    **Call:** `model(x, key=None)` with `x` `(T_obs, n_input)` → `(log_rates (T, n_output),
    kl)`; `key` None uses the posterior mean.

    ```python
    model = GRUAutoencoder(24, 30, n_forward=10, key=jax.random.key(0))
    log_rates, kl = model(jnp.zeros((40, 24)))   # (50, 30), scalar
    ```
    """

    encoder_fwd: eqx.nn.GRUCell
    encoder_bwd: eqx.nn.GRUCell
    posterior: eqx.nn.Linear
    generator: eqx.nn.GRUCell
    factors: eqx.nn.Linear
    readout: eqx.nn.Linear
    n_input: int = eqx.field(static=True)
    n_output: int = eqx.field(static=True)
    n_forward: int = eqx.field(static=True)

    def __init__(
        self,
        n_input: int,
        n_output: int,
        n_forward: int = 0,
        *,
        encoder_dim: int = 64,
        generator_dim: int = 64,
        factor_dim: int = 16,
        dtype=None,
        key: jax.Array,
    ):
        self.n_input = check_int(n_input, "n_input", minimum=1)
        self.n_output = check_int(n_output, "n_output", minimum=1)
        self.n_forward = check_int(n_forward, "n_forward", minimum=0)
        encoder_dim = check_int(encoder_dim, "encoder_dim", minimum=1)
        generator_dim = check_int(generator_dim, "generator_dim", minimum=1)
        factor_dim = check_int(factor_dim, "factor_dim", minimum=1)
        k = jax.random.split(key, 6)
        self.encoder_fwd = eqx.nn.GRUCell(n_input, encoder_dim, dtype=dtype, key=k[0])
        self.encoder_bwd = eqx.nn.GRUCell(n_input, encoder_dim, dtype=dtype, key=k[1])
        posterior = eqx.nn.Linear(2 * encoder_dim, 2 * generator_dim, dtype=dtype, key=k[2])
        self.posterior = eqx.tree_at(lambda lin: lin.weight, posterior, 0.1 * posterior.weight)
        self.generator = eqx.nn.GRUCell(1, generator_dim, dtype=dtype, key=k[3])
        self.factors = eqx.nn.Linear(
            generator_dim, factor_dim, use_bias=False, dtype=dtype, key=k[4]
        )
        self.readout = eqx.nn.Linear(factor_dim, n_output, dtype=dtype, key=k[5])

    def __call__(self, x: Real[ArrayLike, "observed n_input"], *, key=None):
        dtype = self.posterior.weight.dtype
        x = jnp.asarray(x).astype(dtype)
        enc = jnp.concatenate(
            [final_gru_state(self.encoder_fwd, x), final_gru_state(self.encoder_bwd, x[::-1])]
        )
        mean, log_var = jnp.split(self.posterior(enc), 2)
        kl = gaussian_kl(mean, log_var)
        g0 = mean
        if key is not None:
            g0 = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape, dtype=dtype)
        n_total = x.shape[0] + self.n_forward
        zero = jnp.zeros(1, dtype=dtype)

        def gen(g, _):
            return self.generator(zero, g), g

        _, gs = jax.lax.scan(gen, g0, None, length=n_total)
        log_rates = jax.vmap(lambda g: self.readout(self.factors(g)))(gs)
        return log_rates, kl


register_loadable(
    GRUAutoencoder,
    hyperparameters=lambda m: {
        "n_input": m.n_input,
        "n_output": m.n_output,
        "n_forward": m.n_forward,
        "encoder_dim": m.encoder_fwd.hidden_size,
        "generator_dim": m.generator.hidden_size,
        "factor_dim": m.factors.out_features,
        "dtype": m.posterior.weight.dtype.name,
    },
    template=lambda hp: GRUAutoencoder(
        hp["n_input"],
        hp["n_output"],
        hp["n_forward"],
        encoder_dim=hp["encoder_dim"],
        generator_dim=hp["generator_dim"],
        factor_dim=hp["factor_dim"],
        dtype=hp["dtype"],
        key=jax.random.key(0),
    ),
)
