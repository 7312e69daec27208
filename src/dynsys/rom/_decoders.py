"""Implicit-neural-representation decoders D(x, α): fields at any coordinates from a latent."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._serialization import register_loadable
from .._validation import check_int
from ._activations import activation_from_name, activation_name


def _normalisation(coord_bounds, coord_dim):
    if coord_bounds is None:
        return (0.0,) * coord_dim, (1.0,) * coord_dim
    lo, hi = (np.broadcast_to(np.asarray(b, dtype=np.float64), (coord_dim,)) for b in coord_bounds)
    if np.any(hi <= lo):
        raise ValueError(f"`coord_bounds` must have hi > lo on every axis, got {coord_bounds}.")
    return tuple(float(v) for v in 0.5 * (lo + hi)), tuple(float(v) for v in 0.5 * (hi - lo))


def bounds_of(center: tuple, halfwidth: tuple, what: str) -> list[list[float]]:
    """`[lo, hi]` (one entry per axis) that `(lo + hi) / 2`, `(hi − lo) / 2` map back to
    exactly `center` and `halfwidth`, for saving a model whose constructor takes bounds.

    `center ∓ halfwidth` is off by rounding for about a third of all bounds, so the
    neighbouring floats (±2 ulp) are searched for a pair that reproduces both bit for bit.
    `what` names the model in the `ValueError` raised when there is none.
    """

    def around(x: float) -> list[float]:
        return [float(v) for v in x + np.spacing(x) * np.arange(-2, 3)]

    lows, highs = [], []
    for c, h in zip(center, halfwidth):
        pair = next(
            (
                (lo, hi)
                for lo, hi in itertools.product(around(c - h), around(c + h))
                if 0.5 * (lo + hi) == c and 0.5 * (hi - lo) == h
            ),
            None,
        )
        if pair is None:
            raise ValueError(
                f"Cannot save this {what}: no bounds reproduce its normalisation (centre {c!r}, "
                f"half-width {h!r}) exactly."
            )
        lows.append(pair[0])
        highs.append(pair[1])
    return [lows, highs]


class AbstractDecoder(eqx.Module):
    """An INR decoder: `decoder(coords, alpha) -> values`, coords `(P, coord_dim)`, values `(P, C)`.

    Coordinates are mapped affinely from `coord_bounds` to [−1, 1] and outputs
    de-normalised as `output_shift + output_scale · net(x, α)` (fixed statistics, as
    Φ-ROM's `DecoderMLP`), so the network works at unit scale.
    """

    latent_dim: eqx.AbstractVar[int]
    num_channels: eqx.AbstractVar[int]
    coord_dim: eqx.AbstractVar[int]
    coord_center: eqx.AbstractVar[tuple]
    coord_halfwidth: eqx.AbstractVar[tuple]
    output_shift: eqx.AbstractVar[float]
    output_scale: eqx.AbstractVar[float]

    def point(self, x: Float[Array, " coord_dim"], alpha: Float[Array, " latent"]):
        """Decoder at one normalised point (implemented by subclasses); returns `(C,)`."""
        raise NotImplementedError

    def __call__(
        self, coords: Float[Array, " points coord_dim"], alpha: Float[Array, " latent"]
    ) -> Float[Array, " points channels"]:
        """Decode the latent `alpha` at the points `coords`; returns `(P, num_channels)`."""
        dtype = coords.dtype
        c = jnp.asarray(self.coord_center, dtype=dtype)
        h = jnp.asarray(self.coord_halfwidth, dtype=dtype)
        xn = (coords - c) / h
        out = jax.vmap(lambda x: self.point(x, alpha))(xn)
        return self.output_shift + self.output_scale * out


class MLPDecoder(AbstractDecoder):
    """D(x, α) = MLP([x̃, α]): coordinates concatenated with the latent (Φ-ROM `DecoderMLP`).

    **Arguments:**

    - `coord_dim`: number of coordinates (1 for 1-D fields).
    - `latent_dim`: latent size d.
    - `num_channels`: output channels C.
    - `width`, `depth`: hidden width and number of hidden layers (keywords; Φ-ROM Burgers:
      width 32).
    - `activation`: hidden activation (keyword; default `jnp.sin`, as Φ-ROM's scripts).
    - `coord_bounds`: `(lo, hi)` of the coordinates, mapped to [−1, 1] (keyword).
    - `output_shift`, `output_scale`: de-normalisation of the output (keywords).
    - `key`: PRNG key (keyword).

    ```python
    dec = MLPDecoder(1, 4, 1, coord_bounds=(0.0, 100.0), key=jax.random.key(0))
    u = dec(coords, alpha)     # coords (P, 1), alpha (4,) -> (P, 1)
    ```
    """

    mlp: eqx.nn.MLP
    latent_dim: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    coord_dim: int = eqx.field(static=True)
    coord_center: tuple = eqx.field(static=True)
    coord_halfwidth: tuple = eqx.field(static=True)
    output_shift: float = eqx.field(static=True)
    output_scale: float = eqx.field(static=True)

    def __init__(
        self,
        coord_dim: int,
        latent_dim: int,
        num_channels: int = 1,
        *,
        width: int = 32,
        depth: int = 4,
        activation: Callable = jnp.sin,
        coord_bounds: Any = None,
        output_shift: float = 0.0,
        output_scale: float = 1.0,
        key: Any,
    ):
        self.coord_dim = check_int(coord_dim, "coord_dim", minimum=1)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.num_channels = check_int(num_channels, "num_channels", minimum=1)
        self.coord_center, self.coord_halfwidth = _normalisation(coord_bounds, self.coord_dim)
        self.output_shift = float(output_shift)
        self.output_scale = float(output_scale)
        self.mlp = eqx.nn.MLP(
            self.coord_dim + self.latent_dim,
            self.num_channels,
            check_int(width, "width", minimum=1),
            check_int(depth, "depth", minimum=1),
            activation=activation,
            key=key,
        )

    def point(self, x, alpha):
        """MLP([x̃, α]) at one normalised point."""
        return self.mlp(jnp.concatenate([x, alpha.astype(x.dtype)]))


class HyperDecoder(AbstractDecoder):
    """Multiplicative filter network with latent shifts (DINo / Φ-ROM `HyperDecoder`).

        z₀ = g₀(x),   z_l = (W_l z_{l−1} + b_l + U_l α) ⊙ g_l(x),   D = W_out z_L + b_out,
        g_l(x) = sin(Ω_l x̃ + φ_l),

    with trainable filter frequencies Ω_l (He-uniform scaled by `input_scale`), the latent
    entering every layer as a shift through a bias-free linear map U_l (Fathony et al. 2021,
    multiplicative filter networks; Yin et al. 2023, DINo).

    **Arguments:** `coord_dim`, `latent_dim`, `num_channels`; keywords `width` (64),
    `depth` (number of filter layers, 3), `input_scale` (frequency scale of the filters,
    default 16), `coord_bounds`, `output_shift`, `output_scale`, `key`.

    ```python
    dec = HyperDecoder(2, 16, 1, width=64, coord_bounds=(0.0, 1.0), key=jax.random.key(0))
    ```
    """

    filters: list
    linears: list
    shifts: list
    out: eqx.nn.Linear
    latent_dim: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    coord_dim: int = eqx.field(static=True)
    coord_center: tuple = eqx.field(static=True)
    coord_halfwidth: tuple = eqx.field(static=True)
    output_shift: float = eqx.field(static=True)
    output_scale: float = eqx.field(static=True)

    def __init__(
        self,
        coord_dim: int,
        latent_dim: int,
        num_channels: int = 1,
        *,
        width: int = 64,
        depth: int = 3,
        input_scale: float = 16.0,
        coord_bounds: Any = None,
        output_shift: float = 0.0,
        output_scale: float = 1.0,
        key: Any,
    ):
        self.coord_dim = check_int(coord_dim, "coord_dim", minimum=1)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.num_channels = check_int(num_channels, "num_channels", minimum=1)
        width = check_int(width, "width", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
        self.coord_center, self.coord_halfwidth = _normalisation(coord_bounds, self.coord_dim)
        self.output_shift = float(output_shift)
        self.output_scale = float(output_scale)
        keys = jax.random.split(key, 3 * depth + 2)
        # Each filter layer gets a share of the frequency scale, so the product of the
        # depth+1 sines has bandwidth ~input_scale (as in MFN's "scaled" initialisation).
        scale = input_scale / np.sqrt(depth + 1)
        self.filters = []
        for i in range(depth + 1):
            lin = eqx.nn.Linear(self.coord_dim, width, key=keys[i])
            bound = scale * np.sqrt(6.0 / self.coord_dim) / 2.0
            w = jax.random.uniform(keys[i], lin.weight.shape, minval=-bound, maxval=bound)
            b = jax.random.uniform(jax.random.fold_in(keys[i], 1), (width,), minval=-np.pi,
                                   maxval=np.pi)  # fmt: skip
            self.filters.append(eqx.tree_at(lambda m: (m.weight, m.bias), lin, (w, b)))
        self.linears = [eqx.nn.Linear(width, width, key=keys[depth + 1 + i]) for i in range(depth)]
        self.shifts = [
            eqx.nn.Linear(self.latent_dim, width, use_bias=False, key=keys[2 * depth + 1 + i])
            for i in range(depth)
        ]
        self.out = eqx.nn.Linear(width, self.num_channels, key=keys[-1])

    def point(self, x, alpha):
        """The MFN at one normalised point."""
        alpha = alpha.astype(x.dtype)
        z = jnp.sin(self.filters[0](x))
        for filt, lin, shift in zip(self.filters[1:], self.linears, self.shifts):
            z = (lin(z) + shift(alpha)) * jnp.sin(filt(x))
        return self.out(z)


def _decoder_hyperparameters(dec: AbstractDecoder) -> dict:
    owner = type(dec).__name__
    return {
        "coord_dim": dec.coord_dim,
        "latent_dim": dec.latent_dim,
        "num_channels": dec.num_channels,
        "coord_bounds": bounds_of(dec.coord_center, dec.coord_halfwidth, owner),
        "output_shift": dec.output_shift,
        "output_scale": dec.output_scale,
    }


def _mlp_decoder_hyperparameters(dec: MLPDecoder) -> dict:
    return {
        **_decoder_hyperparameters(dec),
        "width": dec.mlp.width_size,
        "depth": dec.mlp.depth,
        "activation": activation_name(dec.mlp.activation, "MLPDecoder"),
    }


def _mlp_decoder_template(hp: dict) -> MLPDecoder:
    return MLPDecoder(
        hp["coord_dim"],
        hp["latent_dim"],
        hp["num_channels"],
        width=hp["width"],
        depth=hp["depth"],
        activation=activation_from_name(hp["activation"]),
        coord_bounds=hp["coord_bounds"],
        output_shift=hp["output_shift"],
        output_scale=hp["output_scale"],
        key=jax.random.key(0),
    )


register_loadable(
    MLPDecoder, hyperparameters=_mlp_decoder_hyperparameters, template=_mlp_decoder_template
)


def _hyper_decoder_hyperparameters(dec: HyperDecoder) -> dict:
    return {
        **_decoder_hyperparameters(dec),
        "width": dec.out.in_features,
        "depth": len(dec.linears),
    }


def _hyper_decoder_template(hp: dict) -> HyperDecoder:
    return HyperDecoder(
        hp["coord_dim"],
        hp["latent_dim"],
        hp["num_channels"],
        width=hp["width"],
        depth=hp["depth"],
        coord_bounds=hp["coord_bounds"],
        output_shift=hp["output_shift"],
        output_scale=hp["output_scale"],
        key=jax.random.key(0),
    )


register_loadable(
    HyperDecoder, hyperparameters=_hyper_decoder_hyperparameters, template=_hyper_decoder_template
)
