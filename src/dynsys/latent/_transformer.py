"""A one-layer Transformer that maps a latent sequence to log-rates."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._serialization import register_loadable
from .._validation import check_int
from ._dropout import inverted_dropout


class TransformerDecoder(eqx.Module):
    """One pre-norm Transformer encoder layer and a linear read-out, per sequence.

    u_t → x_t = P u_t;  x ← x + MHA(LN(x)) (causal mask optional);  x ← x + FFN(LN(x));
    y_t = R LN(x_t) + b, with FFN(x) = W₂ GELU(W₁ x). LangevinFlow's decoder is one such
    layer (reference: post-norm with T-Fixup scaling; pre-norm is used here for stable
    training without warm-up). No positional encoding: time enters through the inputs.
    With `dropout` > 0 and a `key`, dropout (rate `dropout`) is applied to the attention
    and feed-forward outputs before each residual sum (as in the original Transformer);
    without a key the layer is deterministic.

    **Arguments:**

    - `in_size`, `out_size`: input and output features per time step.
    - `model_size`: width d of the layer; `n_heads` must divide it.
    - `ff_size`: hidden width of the feed-forward block.
    - `causal`: True masks attention to the past and present (output t reads inputs ≤ t);
      False attends over the whole sequence (reference setting).
    - `dropout`: residual dropout rate in [0, 1) (default 0: none).
    - `key`: PRNG key.

    **Call:** `decoder(u, key=None)` with `u` `(time, in_size)` → `(time, out_size)`;
    `key` enables the dropout (training).

    ```python
    dec = TransformerDecoder(6, 5, model_size=16, n_heads=2, key=jax.random.key(0))
    dec(jnp.zeros((10, 6))).shape   # (10, 5)
    ```
    """

    project: eqx.nn.Linear
    attention: eqx.nn.MultiheadAttention
    norm1: eqx.nn.LayerNorm
    norm2: eqx.nn.LayerNorm
    norm3: eqx.nn.LayerNorm
    ff1: eqx.nn.Linear
    ff2: eqx.nn.Linear
    readout: eqx.nn.Linear
    causal: bool = eqx.field(static=True)
    dropout: float = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        out_size: int,
        *,
        model_size: int = 64,
        n_heads: int = 2,
        ff_size: int = 128,
        causal: bool = False,
        dropout: float = 0.0,
        dtype=None,
        key: jax.Array,
    ):
        in_size = check_int(in_size, "in_size", minimum=1)
        out_size = check_int(out_size, "out_size", minimum=1)
        model_size = check_int(model_size, "model_size", minimum=1)
        n_heads = check_int(n_heads, "n_heads", minimum=1)
        ff_size = check_int(ff_size, "ff_size", minimum=1)
        if model_size % n_heads:
            raise ValueError(f"`model_size`={model_size} must be divisible by `n_heads`={n_heads}.")
        if not isinstance(causal, bool):
            raise TypeError(f"`causal` must be True or False, got {causal!r}.")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"`dropout` must lie in [0, 1), got {dropout!r}.")
        k = jax.random.split(key, 5)
        self.project = eqx.nn.Linear(in_size, model_size, dtype=dtype, key=k[0])
        self.attention = eqx.nn.MultiheadAttention(
            n_heads, model_size, use_query_bias=True, use_key_bias=True, use_value_bias=True,
            use_output_bias=True, dtype=dtype, key=k[1],
        )  # fmt: skip
        self.norm1 = eqx.nn.LayerNorm(model_size, dtype=dtype)
        self.norm2 = eqx.nn.LayerNorm(model_size, dtype=dtype)
        self.norm3 = eqx.nn.LayerNorm(model_size, dtype=dtype)
        self.ff1 = eqx.nn.Linear(model_size, ff_size, dtype=dtype, key=k[2])
        self.ff2 = eqx.nn.Linear(ff_size, model_size, dtype=dtype, key=k[3])
        self.readout = eqx.nn.Linear(model_size, out_size, dtype=dtype, key=k[4])
        self.causal = causal
        self.dropout = float(dropout)

    def __call__(
        self, u: Float[Array, "time in_size"], *, key: jax.Array | None = None
    ) -> Float[Array, "time out_size"]:
        keys = (None, None) if key is None else jax.random.split(key)
        x = jax.vmap(self.project)(u)
        n = x.shape[0]
        mask = jnp.tril(jnp.ones((n, n), dtype=bool)) if self.causal else None
        h = jax.vmap(self.norm1)(x)
        x = x + inverted_dropout(self.attention(h, h, h, mask=mask), self.dropout, keys[0])
        h = jax.vmap(self.norm2)(x)
        ff = jax.vmap(lambda r: self.ff2(jax.nn.gelu(self.ff1(r))))(h)
        x = x + inverted_dropout(ff, self.dropout, keys[1])
        return jax.vmap(lambda r: self.readout(self.norm3(r)))(x)


register_loadable(
    TransformerDecoder,
    hyperparameters=lambda m: {
        "in_size": m.project.in_features,
        "out_size": m.readout.out_features,
        "model_size": m.project.out_features,
        "n_heads": m.attention.num_heads,
        "ff_size": m.ff1.out_features,
        "causal": m.causal,
        "dropout": m.dropout,
        "dtype": m.project.weight.dtype.name,
    },
    template=lambda hp: TransformerDecoder(
        hp["in_size"],
        hp["out_size"],
        model_size=hp["model_size"],
        n_heads=hp["n_heads"],
        ff_size=hp["ff_size"],
        causal=hp["causal"],
        dropout=hp["dropout"],
        dtype=hp["dtype"],
        key=jax.random.key(0),
    ),
)
