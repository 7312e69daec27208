"""LangevinFlow: a sequential VAE whose latents follow underdamped Langevin dynamics."""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Real

from .._serialization import describe, register_loadable, template_from
from .._validation import check_int, check_positive
from ._abstract import AbstractSpikeModel
from ._baoab import _rollout
from ._dropout import inverted_dropout
from ._potentials import AbstractPotential, CoupledOscillatorPotential, MLPPotential
from ._transformer import TransformerDecoder

_DECODER_INPUTS = ("z", "v", "h", "hb")


class LatentPath(NamedTuple):
    """What [`LangevinFlow.trajectory`][] returns for one trial.

    - `z`, `v`: latent positions and velocities `(T, latent_dim)`.
    - `h`: encoder GRU states `(T, hidden_dim)`.
    - `log_rates`: `(T, n_output)` log-rates in spikes per bin.
    - `kl`: KL divergence of the posterior of (z₀, v₀) from N(0, I), nats (scalar).
    - `h_backward`: backward GRU states `(T, hidden_dim)` when the decoder reads them
      (`"hb"` in `decoder_inputs`), else None.
    """

    z: Array
    v: Array
    h: Array
    log_rates: Array
    kl: Array
    h_backward: Array | None = None


def _gru_states(cell: eqx.nn.GRUCell, frames: Array) -> Array:
    """The states `(T, hidden)` of `cell` after each of `frames` `(T, n_input)`, from zero."""
    frames = jnp.asarray(frames).astype(cell.weight_ih.dtype)
    h0 = jnp.zeros(cell.hidden_size, dtype=frames.dtype)

    def step(h, frame):
        h = cell(frame, h)
        return h, h

    return jax.lax.scan(step, h0, frames)[1]


def final_gru_state(cell: eqx.nn.GRUCell, frames: Array) -> Array:
    """The state of `cell` after reading `frames` `(T, n_input)` from a zero state."""
    return _gru_states(cell, frames)[-1]


def gaussian_kl(mean: Array, log_var: Array) -> Array:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² − 1 − log σ²), summed, in nats."""
    return 0.5 * jnp.sum(mean**2 + jnp.exp(log_var) - 1.0 - log_var)


class LangevinFlow(AbstractSpikeModel):
    """LangevinFlow (Song, Keller, Yue, Perona, Welling, CCN 2025): Langevin latent dynamics.

    Generative model for one trial of T = T_obs + n_forward bins:

        (z₀, v₀) ~ q(z₀, v₀ | x) = N(μ(h_{T_obs}), diag σ²(h_{T_obs})),   prior N(0, I);
        dz = v dt,  dv = (−∇U(z) − γ v) dt + √(2γT) dW     (integrated by BAOAB, step h);
        log λ_{1:T} = Decoder([z_t, v_t, h_t]_{t=1:T}),   y_{t,n} ~ Poisson(λ_{t,n}).

    The encoder is a GRU run causally over the held-in counts of the observed bins
    (h_t, t < T_obs; for forward bins it is fed the last observed frame again, as the
    reference code). Unlike the reference, which reads (z₀, v₀) from the *first* GRU
    state, the posterior is read from the *last* observed state, which has seen the whole
    window (as LFADS's initial-condition encoder): otherwise the latents would carry one
    bin of information and only the h_t bypass could explain the data. With
    `bidirectional=True` a second GRU reads the observed bins backwards and the posterior
    reads both final states, as LFADS's bidirectional initial-condition encoder: the
    early bins, which fix (z₀, v₀) most directly, are then read last by one of the two
    GRUs instead of first. The bypass h_t stays the causal forward state unless the
    decoder also reads `"hb"`: the backward GRU's state at each observed bin, which has
    read that bin and all later observed bins (zero state in the forward bins, which
    have no later data). With h and hb the bypass *smooths* (past and future data per
    bin) instead of *filtering* (past data only), as NDT's acausal attention on the spikes
    or LFADS's bidirectional controller encoder.

    The Langevin noise is the same in prior and posterior (no inferred controller), so
    the path KL reduces to the KL of (z₀, v₀). The decoder is a one-layer Transformer
    ([`TransformerDecoder`][], causal or acausal) on the per-bin concatenation of the
    `decoder_inputs` ("z", "v", "h", "hb"); dropping "h" (and "hb") removes the
    encoder-state bypass, so the decoder sees the Langevin latents only.

    **Arguments:**

    - `n_input`: held-in neurons read by the encoder.
    - `n_output`: neurons predicted (held-in and held-out, in the data's order).
    - `n_forward`: bins predicted after the observed window.
    - `latent_dim`: dimension of z and of v (reference: = hidden size; divisible by 4 for
      the oscillator potential).
    - `hidden_dim`: GRU size.
    - `potential`: `"oscillators"` ([`CoupledOscillatorPotential`][], default),
      `"mlp"` ([`MLPPotential`][]) or any [`AbstractPotential`][].
    - `dt`: integrator step h per bin (reference: 0.01 with explicit Euler).
    - `friction`: γ >= 0 (per unit time). `temperature`: T >= 0 (0: deterministic).
    - `model_size`, `n_heads`, `ff_size`, `causal`: the decoder.
    - `decoder_inputs`: non-empty subset of `("z", "v", "h", "hb")` in that order
      (default `("z", "v", "h")`, the reference's).
    - `bidirectional`: infer (z₀, v₀) from a forward and a backward GRU (default False:
      the forward GRU only).
    - `dropout`: dropout rate in [0, 1) on the decoder's input features and on its
      residual branches, active only when a `key` is given (training; default 0: none).
      The reference applies 0.05 in its encoder; NDT-style decoders use more. On the
      Lorenz benchmark 0.1 and 0.3 lower the rate R² (docs/benchmarks.md).
    - `key`: PRNG key.

    **Call:** `model(x, key=None)` with `x` `(T_obs, n_input)` counts →
    `(log_rates (T, n_output), kl)`; see [`LangevinFlow.trajectory`][].

    ```python
    model = LangevinFlow(24, 30, n_forward=10, latent_dim=16, hidden_dim=32,
                         key=jax.random.key(0))
    log_rates, kl = model(jnp.zeros((40, 24)))   # (50, 30), scalar
    ```
    """

    encoder: eqx.nn.GRUCell
    backward_encoder: eqx.nn.GRUCell | None
    posterior: eqx.nn.Linear
    potential: AbstractPotential
    decoder: TransformerDecoder
    n_input: int = eqx.field(static=True)
    n_output: int = eqx.field(static=True)
    n_forward: int = eqx.field(static=True)
    latent_dim: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    friction: float = eqx.field(static=True)
    temperature: float = eqx.field(static=True)
    decoder_inputs: tuple[str, ...] = eqx.field(static=True)
    dropout: float = eqx.field(static=True)
    bidirectional: bool = eqx.field(static=True)

    def __init__(
        self,
        n_input: int,
        n_output: int,
        n_forward: int = 0,
        *,
        latent_dim: int = 64,
        hidden_dim: int = 64,
        potential: str | AbstractPotential = "oscillators",
        dt: float = 0.1,
        friction: float = 1.0,
        temperature: float = 1.0,
        model_size: int = 64,
        n_heads: int = 2,
        ff_size: int = 128,
        causal: bool = False,
        decoder_inputs: tuple[str, ...] = ("z", "v", "h"),
        bidirectional: bool = False,
        dropout: float = 0.0,
        dtype=None,
        key: jax.Array,
    ):
        self.n_input = check_int(n_input, "n_input", minimum=1)
        self.n_output = check_int(n_output, "n_output", minimum=1)
        self.n_forward = check_int(n_forward, "n_forward", minimum=0)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        hidden_dim = check_int(hidden_dim, "hidden_dim", minimum=1)
        check_positive(dt, "dt")
        check_positive(friction, "friction", allow_zero=True)
        check_positive(temperature, "temperature", allow_zero=True)
        decoder_inputs = tuple(decoder_inputs)
        if (
            not decoder_inputs
            or any(d not in _DECODER_INPUTS for d in decoder_inputs)
            or list(decoder_inputs) != [d for d in _DECODER_INPUTS if d in decoder_inputs]
        ):
            raise ValueError(
                "`decoder_inputs` must be a non-empty ordered subset of ('z', 'v', 'h', "
                f"'hb'), got {decoder_inputs!r}."
            )
        k = jax.random.split(key, 4)
        if isinstance(potential, str):
            if potential == "oscillators":
                potential = CoupledOscillatorPotential(latent_dim, dtype=dtype, key=k[0])
            elif potential == "mlp":
                potential = MLPPotential(latent_dim, dtype=dtype, key=k[0])
            else:
                raise ValueError(
                    f"`potential` must be 'oscillators', 'mlp' or an AbstractPotential, "
                    f"got {potential!r}."
                )
        elif not isinstance(potential, AbstractPotential):
            raise TypeError(
                f"`potential` must be a string or an AbstractPotential, got {type(potential)}."
            )
        self.potential = potential
        self.encoder = eqx.nn.GRUCell(n_input, hidden_dim, dtype=dtype, key=k[1])
        self.backward_encoder = None
        if bidirectional or "hb" in decoder_inputs:
            self.backward_encoder = eqx.nn.GRUCell(
                n_input, hidden_dim, dtype=dtype, key=jax.random.fold_in(k[1], 1)
            )
        n_summary = 2 * hidden_dim if bidirectional else hidden_dim
        posterior = eqx.nn.Linear(n_summary, 4 * latent_dim, dtype=dtype, key=k[2])
        # Start near the prior: small means, unit variances.
        self.posterior = eqx.tree_at(lambda lin: lin.weight, posterior, 0.1 * posterior.weight)
        sizes = {"z": latent_dim, "v": latent_dim, "h": hidden_dim, "hb": hidden_dim}
        self.decoder = TransformerDecoder(
            sum(sizes[d] for d in decoder_inputs), n_output, model_size=model_size,
            n_heads=n_heads, ff_size=ff_size, causal=causal, dropout=dropout, dtype=dtype,
            key=k[3],
        )  # fmt: skip
        self.dropout = self.decoder.dropout
        self.dt = float(dt)
        self.friction = float(friction)
        self.temperature = float(temperature)
        self.decoder_inputs = decoder_inputs
        self.bidirectional = bool(bidirectional)

    def trajectory(self, x: Real[ArrayLike, "observed n_input"], *, key=None) -> LatentPath:
        """Encode one trial, integrate the latents and decode: a [`LatentPath`][].

        **Arguments:** `x` `(T_obs, n_input)` held-in counts of the observed bins; `key`
        None: posterior means and noise-free dynamics (deterministic inference); a key:
        reparameterised sample of (z₀, v₀) and Langevin noise.

        **Returns:** [`LatentPath`][] with `T = T_obs + n_forward` bins.
        """
        dtype = self.posterior.weight.dtype
        x = jnp.asarray(x).astype(dtype)
        frames = jnp.concatenate([x, jnp.repeat(x[-1:], self.n_forward, axis=0)])
        hs = _gru_states(self.encoder, frames)
        summary = hs[x.shape[0] - 1]
        hb = None
        if self.backward_encoder is not None:
            reversed_states = _gru_states(self.backward_encoder, x[::-1])
            if self.bidirectional:
                summary = jnp.concatenate([summary, reversed_states[-1]])
            if "hb" in self.decoder_inputs:
                pad = jnp.zeros((self.n_forward, reversed_states.shape[1]), dtype)
                hb = jnp.concatenate([reversed_states[::-1], pad])
        stats = self.posterior(summary)
        mean, log_var = jnp.split(stats, 2)
        kl = gaussian_kl(mean, log_var)
        drop_keys = (None, None)
        if key is None:
            state, noise_key = mean, None
        else:
            if self.dropout > 0:  # (without dropout, the key stream of earlier versions)
                key, k_drop = jax.random.split(key)
                drop_keys = tuple(jax.random.split(k_drop))
            k0, noise_key = jax.random.split(key)
            eps = jax.random.normal(k0, mean.shape, dtype=dtype)
            state = mean + jnp.exp(0.5 * log_var) * eps
        z0, v0 = jnp.split(state, 2)
        zs, vs = _rollout(
            self.potential, z0, v0, frames.shape[0] - 1, self.dt, self.friction,
            self.temperature, noise_key,
        )  # fmt: skip
        parts = {"z": zs, "v": vs, "h": hs, "hb": hb}
        u = jnp.concatenate([parts[d] for d in self.decoder_inputs], -1)
        u = inverted_dropout(u, self.dropout, drop_keys[0])
        log_rates = self.decoder(u, key=drop_keys[1])
        return LatentPath(zs, vs, hs, log_rates, kl, hb)

    def __call__(self, x, *, key=None):
        path = self.trajectory(x, key=key)
        return path.log_rates, path.kl


def _langevin_flow_hyperparameters(model: LangevinFlow) -> dict:
    return {
        "n_input": model.n_input,
        "n_output": model.n_output,
        "n_forward": model.n_forward,
        "latent_dim": model.latent_dim,
        "hidden_dim": model.encoder.hidden_size,
        "potential": describe(model.potential),
        "dt": model.dt,
        "friction": model.friction,
        "temperature": model.temperature,
        "model_size": model.decoder.project.out_features,
        "n_heads": model.decoder.attention.num_heads,
        "ff_size": model.decoder.ff1.out_features,
        "causal": model.decoder.causal,
        "decoder_inputs": list(model.decoder_inputs),
        "bidirectional": model.bidirectional,
        "dropout": model.dropout,
        "dtype": model.posterior.weight.dtype.name,
    }


def _langevin_flow_template(hp: dict) -> LangevinFlow:
    names = ["n_forward", "latent_dim", "hidden_dim", "dt", "friction", "temperature"]
    names += ["model_size", "n_heads", "ff_size", "causal", "bidirectional", "dropout", "dtype"]
    return LangevinFlow(
        hp["n_input"],
        hp["n_output"],
        potential=template_from(hp["potential"]),
        decoder_inputs=tuple(hp["decoder_inputs"]),
        key=jax.random.key(0),
        **{name: hp[name] for name in names},
    )


register_loadable(
    LangevinFlow,
    hyperparameters=_langevin_flow_hyperparameters,
    template=_langevin_flow_template,
)
