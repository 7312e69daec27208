"""Parameter counting and predictors built at matched parameter counts."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_int
from ._convgru import ConvGRU
from ._rd_predictor import ReactionDiffusionPredictor
from ._transformer import TransformerPredictor


def count_parameters(module: Any) -> int:
    """Number of floating-point array entries (trainable parameters) of a pytree.

    Works on real modules and on the `jax.ShapeDtypeStruct` skeletons of
    `eqx.filter_eval_shape`.

    **Arguments:** `module`: any pytree.

    **Returns:** an int.

    ```python
    count_parameters(ConvGRU(16, key=jax.random.key(0)))   # 14 144
    ```
    """
    total = 0
    for leaf in jax.tree_util.tree_leaves(module):
        dtype = getattr(leaf, "dtype", None)
        if dtype is not None and jnp.issubdtype(dtype, jnp.inexact):
            total += int(np.prod(leaf.shape))
    return total


def _count(build: Callable[..., Any], *widths: int) -> int:
    return count_parameters(eqx.filter_eval_shape(build, *widths))


def _linear_width(build: Callable[[int], Any], target: int) -> int:
    """The width w >= 1 closest to `target` for a count linear in w (two evaluations)."""
    c1, c2 = _count(build, 1), _count(build, 2)
    return max(1, round((target - c1) / (c2 - c1)) + 1)


def matched_predictors(
    latent_channels: int,
    *,
    context: int = 2,
    key: jax.Array,
    gru_hidden: int | None = None,
    rd_kwargs: dict | None = None,
    transformer_kwargs: dict | None = None,
    dtype=None,
) -> dict[str, Any]:
    """The three learned predictors at (nearly) equal parameter counts.

    The [`ConvGRU`][] (3×3 kernels, `gru_hidden` channels, default `latent_channels`) sets
    the budget P; the reaction MLP width of [`ReactionDiffusionPredictor`][], and the width
    d (the largest multiple of 4 and of the head count within P) and then the feed-forward
    width of a one-block [`TransformerPredictor`][] are chosen to bring their counts
    closest to P (FluidWorld compares models at ≈ 800 K parameters each; these are small
    predictors for small latents). The closest width is typically within 1 % of P.

    **Arguments:** `latent_channels` C; `context`; `key`; `gru_hidden`; extra keyword
    arguments for the RD predictor (`rd_kwargs`, e.g. `dilations`, `n_steps`) and the
    Transformer (`transformer_kwargs`, e.g. `n_heads`); `dtype`.

    **Returns:** dict `{"reaction_diffusion": ..., "convgru": ..., "transformer": ...}`.

    ```python
    preds = matched_predictors(16, key=jax.random.key(0))
    {k: count_parameters(p) for k, p in preds.items()}
    ```
    """
    c = check_int(latent_channels, "latent_channels", minimum=1)
    context = check_int(context, "context", minimum=1)
    rd_kwargs = dict(rd_kwargs or {})
    tf_kwargs = dict(transformer_kwargs or {})
    for name, kw, reserved in (("rd_kwargs", rd_kwargs, "hidden"),
                               ("transformer_kwargs", tf_kwargs, "size")):  # fmt: skip
        if reserved in kw or "context" in kw or "key" in kw:
            raise ValueError(f"`{name}` must not set {reserved!r}, 'context' or 'key'.")
    k_gru, k_rd, k_tf = jax.random.split(key, 3)
    gru = ConvGRU(c, context=context, hidden_channels=gru_hidden, dtype=dtype, key=k_gru)
    target = count_parameters(gru)

    def rd(h):
        return ReactionDiffusionPredictor(c, context=context, hidden=h, dtype=dtype, key=k_rd,
                                          **rd_kwargs)  # fmt: skip

    heads = tf_kwargs.get("n_heads", 4)
    step = 4 * heads // math.gcd(4, heads)
    tf_kwargs.pop("ff_size", None)

    def tf(d, ff=None):
        return TransformerPredictor(c, context=context, size=d, ff_size=ff, dtype=dtype,
                                    key=k_tf, **tf_kwargs)  # fmt: skip

    # Counts are linear in the reaction width and in the feed-forward width, quadratic in
    # d (with ff = 2d): a few shape evaluations give the widths without a search.
    h = _linear_width(rd, target)
    q = [_count(tf, step * i) for i in (1, 2, 3)]
    a = (q[2] - 2 * q[1] + q[0]) / 2.0
    b = q[1] - q[0] - 3.0 * a
    i_max = max(
        i
        for i in range(1, 1025 // step + 1)
        if a * i * i + b * i + (q[0] - a - b) <= target or i == 1
    )
    d = step * i_max
    ff = _linear_width(lambda f: tf(d, f), target)
    return {"reaction_diffusion": rd(h), "convgru": gru, "transformer": tf(d, ff)}
