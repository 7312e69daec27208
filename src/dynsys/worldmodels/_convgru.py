"""Convolutional GRU predictor (Ballas et al. 2016): the recurrent baseline of the world models."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._serialization import register_loadable
from .._validation import check_int
from ._abstract import AbstractPredictor


class ConvGRU(AbstractPredictor):
    """A convolutional GRU run over the context window, with a residual read-out.

        [a; r] = σ(W_g ∗ [z_τ; h]),   ĥ = tanh(W_c ∗ [z_τ; r ⊙ h]),   h ← (1 − a) ⊙ h + a ⊙ ĥ,
        z_{t+1} = z_t + W_o h            (τ = t−c+1 … t,  h₀ = 0,  W_o = 0 at init),

    with k×k periodic ("circular") convolutions ∗ and a 1×1 read-out W_o (Ballas, Yao, Pal,
    Courville, ICLR 2016; the ConvLSTM baseline of FluidWorld has the same role). The
    hidden state restarts from zero for every window, so backpropagation through a window
    is truncated at its start.

    **Arguments:** `latent_channels` C; `context` (>= 1); `hidden_channels` (default C);
    `kernel_size` (odd, default 3); `dtype`; `key`.

    **Call:** `gru(window)` with `window` `(context, C, h, w)` → `(C, h, w)`.

    ```python
    gru = ConvGRU(16, context=2, key=jax.random.key(0))
    gru(jnp.ones((2, 16, 8, 8))).shape   # (16, 8, 8)
    ```
    """

    gates: eqx.nn.Conv2d
    candidate: eqx.nn.Conv2d
    readout: eqx.nn.Conv2d
    context: int = eqx.field(static=True)
    latent_channels: int = eqx.field(static=True)
    hidden_channels: int = eqx.field(static=True)

    def __init__(
        self,
        latent_channels: int,
        *,
        context: int = 2,
        hidden_channels: int | None = None,
        kernel_size: int = 3,
        dtype=None,
        key: jax.Array,
    ):
        c = check_int(latent_channels, "latent_channels", minimum=1)
        self.context = check_int(context, "context", minimum=1)
        hid = c if hidden_channels is None else hidden_channels
        hid = check_int(hid, "hidden_channels", minimum=1)
        k = check_int(kernel_size, "kernel_size", minimum=1)
        if k % 2 == 0:
            raise ValueError(f"`kernel_size` must be odd, got {k}.")
        self.latent_channels, self.hidden_channels = c, hid
        k1, k2, k3 = jax.random.split(key, 3)
        conv = dict(padding=k // 2, padding_mode="CIRCULAR", dtype=dtype)
        self.gates = eqx.nn.Conv2d(c + hid, 2 * hid, k, key=k1, **conv)
        self.candidate = eqx.nn.Conv2d(c + hid, hid, k, key=k2, **conv)
        readout = eqx.nn.Conv2d(hid, c, 1, dtype=dtype, key=k3)
        self.readout = eqx.tree_at(
            lambda m: (m.weight, m.bias), readout,
            (jnp.zeros_like(readout.weight), jnp.zeros_like(readout.bias)),
        )  # fmt: skip

    def cell(self, x: Float[Array, "C h w"], h: Float[Array, "H h w"]) -> Float[Array, "H h w"]:
        """One GRU update of the hidden state `h` given the latent frame `x`."""
        a, r = jnp.split(jax.nn.sigmoid(self.gates(jnp.concatenate([x, h]))), 2)
        cand = jnp.tanh(self.candidate(jnp.concatenate([x, r * h])))
        return (1.0 - a) * h + a * cand

    def __call__(
        self, window: Float[Array, "context channels h w"]
    ) -> Float[Array, "channels h w"]:
        """The next latent frame: the GRU reads the window, the read-out adds a residual."""
        window = window[-self.context :]
        h0 = jnp.zeros((self.hidden_channels, *window.shape[2:]), window.dtype)
        h, _ = jax.lax.scan(lambda h, x: (self.cell(x, h), None), h0, window)
        return window[-1] + self.readout(h)


register_loadable(
    ConvGRU,
    hyperparameters=lambda m: {
        "latent_channels": m.latent_channels,
        "context": m.context,
        "hidden_channels": m.hidden_channels,
        "kernel_size": m.gates.kernel_size[0],
        "dtype": m.gates.weight.dtype.name,
    },
    template=lambda hp: ConvGRU(
        hp["latent_channels"],
        context=hp["context"],
        hidden_channels=hp["hidden_channels"],
        kernel_size=hp["kernel_size"],
        dtype=hp["dtype"],
        key=jax.random.key(0),
    ),
)
