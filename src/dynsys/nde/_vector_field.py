"""The default neural vector field: a learnt scale times tanh of an MLP."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._serialization import register_loadable
from .._validation import check_int


class ScaledTanhMLP(eqx.Module):
    """Vector field `f(t, y) = scale ⊙ tanh(MLP([t,] y))`, the diffrax best-practice form.

    The bounded `tanh` output keeps the field (and hence the solver's step sizes) tame at
    initialisation and during training; the learnt per-channel `scale` (initialised to 1)
    restores the range. Hidden activations are softplus, as in the diffrax neural ODE and
    latent ODE examples (Kidger, *On Neural Differential Equations*, 2022, §2).

    **Arguments:**

    - `in_size`: state dimension d.
    - `out_size`: output dimension (default `in_size`; e.g. `d · noise_dim` for a
      diffusion matrix).
    - `width`, `depth`: MLP hidden width and number of hidden layers (`eqx.nn.MLP` depth).
    - `time_dependent`: feed the time `t` as an extra input channel (non-autonomous field).
    - `key`: PRNG key for the initial weights.
    - `dtype`: parameter dtype (default: JAX's default float).

    **Returns** (of `__call__(t, y, args=None)`): the field value, shape `(out_size,)`.

    ```python
    f = ScaledTanhMLP(3, width=64, depth=2, key=jax.random.key(0))
    f(0.0, jnp.ones(3)).shape   # (3,)
    ```
    """

    mlp: eqx.nn.MLP
    scale: Float[Array, " out"]
    time_dependent: bool = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        out_size: int | None = None,
        *,
        width: int = 64,
        depth: int = 2,
        time_dependent: bool = False,
        key: jax.Array,
        dtype=None,
    ):
        in_size = check_int(in_size, "in_size", minimum=1)
        out_size = in_size if out_size is None else check_int(out_size, "out_size", minimum=1)
        width = check_int(width, "width", minimum=1)
        depth = check_int(depth, "depth", minimum=0)
        dtype = jnp.result_type(float) if dtype is None else dtype
        self.time_dependent = bool(time_dependent)
        self.mlp = eqx.nn.MLP(
            in_size + int(self.time_dependent),
            out_size,
            width,
            depth,
            activation=jax.nn.softplus,
            final_activation=jnp.tanh,
            key=key,
            dtype=dtype,
        )
        self.scale = jnp.ones((out_size,), dtype=dtype)

    def __call__(self, t, y, args=None):
        if self.time_dependent:
            y = jnp.concatenate([jnp.asarray(t, y.dtype).reshape(1), y])
        return self.scale * self.mlp(y)


register_loadable(
    ScaledTanhMLP,
    hyperparameters=lambda f: {
        "in_size": f.mlp.in_size - int(f.time_dependent),
        "out_size": f.scale.shape[0],
        "width": f.mlp.width_size,
        "depth": f.mlp.depth,
        "time_dependent": f.time_dependent,
        "dtype": f.scale.dtype.name,
    },
    template=lambda hp: ScaledTanhMLP(
        hp["in_size"],
        hp["out_size"],
        width=hp["width"],
        depth=hp["depth"],
        time_dependent=hp["time_dependent"],
        key=jax.random.key(0),
        dtype=hp["dtype"],
    ),
)
