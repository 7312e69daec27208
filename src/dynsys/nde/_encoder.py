"""A GRU run backwards in time over (observation, mask, time): the variational encoders."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .._serialization import register_loadable


class BackwardGRU(eqx.Module):
    """GRU encoder run from the last observation to the first, time as an input channel.

    Input at each step: `[y ⊙ mask, mask, t]` (2d + 1 channels); at a time with no observed
    channel the hidden state is carried unchanged, so padding and missing values do not
    leak into the code (Rubanova et al., NeurIPS 2019, encode with the mask as input).

    **Arguments:** `data_dim` d, `hidden_size` h, `key`, `dtype`.

    **Returns** (of `__call__(ts, ys, mask)`): hidden states `(time, h)`; entry i
    summarises observations i, i+1, ..., T−1 (entry 0 summarises the whole series).
    """

    cell: eqx.nn.GRUCell
    hidden_size: int = eqx.field(static=True)

    def __init__(self, data_dim: int, hidden_size: int, *, key: jax.Array, dtype=None):
        self.cell = eqx.nn.GRUCell(2 * data_dim + 1, hidden_size, key=key, dtype=dtype)
        self.hidden_size = hidden_size

    def __call__(
        self,
        ts: Float[Array, " time"],
        ys: Float[Array, "time d"],
        mask: Bool[Array, "time d"],
    ) -> Float[Array, "time h"]:
        dtype = ys.dtype
        inputs = jnp.concatenate(
            [jnp.where(mask, ys, jnp.zeros((), dtype)), mask.astype(dtype), ts[:, None]], axis=-1
        )
        seen = jnp.any(mask, axis=-1)

        def step(h, xs):
            x, s = xs
            h_new = self.cell(x, h)
            h = jnp.where(s, h_new, h)
            return h, h

        h0 = jnp.zeros((self.hidden_size,), dtype)
        _, hs = jax.lax.scan(step, h0, (inputs, seen), reverse=True)
        return hs


register_loadable(
    BackwardGRU,
    hyperparameters=lambda e: {
        "data_dim": (e.cell.input_size - 1) // 2,
        "hidden_size": e.hidden_size,
        "dtype": e.cell.weight_ih.dtype.name,
    },
    template=lambda hp: BackwardGRU(
        hp["data_dim"], hp["hidden_size"], key=jax.random.key(0), dtype=hp["dtype"]
    ),
)
