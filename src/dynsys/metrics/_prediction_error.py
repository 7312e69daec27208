"""PE(n): the n-step-ahead prediction error of a model started on the data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_array, check_finite, check_int, check_ndim, check_nonempty


class PredictionErrorResult(eqx.Module):
    """Result of [`dynsys.metrics.prediction_error`][].

    **Fields:**

    - `value`: PE(n), the mean squared error at step `n`, a scalar (the published number).
    - `curve`: the mean squared error at steps `1, …, n`, shape `(n,)`; `curve[-1] == value`.
    """

    value: Float[Array, ""]
    curve: Float[Array, " n"]


def prediction_error(
    step_fn: Any,
    init_fn: Any,
    data: ArrayLike,
    *,
    n: Any = 20,
    readout: Callable[[Array], Array] | None = None,
    batch_size: int | None = None,
) -> PredictionErrorResult:
    """n-step prediction error PE(n) of a model, started from every point of the data.

    For every start `t = 0, …, T − n − 1` (all `T − n` of them): `z = init_fn(x_t)`, then the
    model runs freely, `z ← step_fn(z)`, for `k = 1, …, n` steps, and its prediction
    `readout(z)` is compared with `x_{t+k}`. The per-step error is the mean over starts and
    dimensions,

        curve[k−1] = (1 / ((T − n)·dim)) Σ_t ‖readout(z_t^(k)) − x_{t+k}‖²,

    and `value = curve[n−1]` is PE(n) as reported by the GTF/AL-RNN code (only the n-th
    step, n = 20 there; Hess et al. 2023). Starts run in parallel (`jax.vmap`), steps with
    `lax.scan`; memory is O((T − n) · size of z) unless `batch_size` limits how many starts
    run at once. Jit-able; `step_fn`, `init_fn`, `readout` may be functions or
    `eqx.Module`s (models).

    **Arguments:**

    - `step_fn`: one step of the model on a single latent state, `z -> z_next` (same shape).
    - `init_fn`: the latent state for one observation, `x (dim,) -> z`.
    - `data`: the observed trajectory, shape `(time, dim)` with `time > n`.
    - `n`: the prediction horizon, an int ≥ 1.
    - `readout`: observation `z -> x̂ (dim,)`; default the first `dim` entries of a 1-D `z`.
    - `batch_size`: if given, the most starts evaluated at once (`lax.map`), to bound memory.

    **Returns:** a [`dynsys.metrics.PredictionErrorResult`][] with `.value` (scalar) and
    `.curve` (shape `(n,)`).

    ```python
    import jax.numpy as jnp, dynsys
    from dynsys.metrics import prediction_error
    henon = dynsys.systems.Henon()
    x = dynsys.simulate(henon, None, jnp.arange(1000.0))
    pe = prediction_error(henon.step, lambda x: x, x, n=20)
    pe.value  # 0.0: the true map predicts itself exactly
    ```
    """
    if not callable(step_fn):
        raise TypeError(f"`step_fn` must be callable (z -> z_next), got {type(step_fn).__name__}.")
    if not callable(init_fn):
        raise TypeError(f"`init_fn` must be callable (x -> z), got {type(init_fn).__name__}.")
    if readout is not None and not callable(readout):
        raise TypeError(f"`readout` must be callable (z -> x) or None, got {readout!r}.")
    data = as_array(data, "data")
    check_ndim(data, "data", 2, "2-D (time, dim)")
    check_nonempty(data, "data", axis=1)
    check_finite(data, "data")
    n = check_int(n, "n", minimum=1)
    if data.shape[0] <= n:
        raise ValueError(
            f"`data` must have more than `n`={n} time steps for an n-step prediction, "
            f"got shape {tuple(data.shape)}."
        )
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
    dim = data.shape[1]
    if readout is None:
        readout = _FirstEntries(dim)

    z_shape = jax.eval_shape(init_fn, jax.ShapeDtypeStruct((dim,), data.dtype))
    if isinstance(readout, _FirstEntries):
        if not hasattr(z_shape, "shape") or len(z_shape.shape) != 1 or z_shape.shape[0] < dim:
            raise ValueError(
                f"`init_fn` must return a 1-D state with at least {dim} entries for the default "
                f"readout (the first {dim} entries), got {_describe(z_shape)}; pass `readout`."
            )
    next_shape = jax.eval_shape(step_fn, z_shape)
    if _describe(next_shape) != _describe(z_shape):
        raise ValueError(
            f"`step_fn` must return a state like its input, {_describe(z_shape)}, "
            f"got {_describe(next_shape)}."
        )
    x_shape = jax.eval_shape(readout, z_shape)
    if getattr(x_shape, "shape", None) != (dim,):
        raise ValueError(
            f"`readout` must return an observation of shape ({dim},), got {_describe(x_shape)}."
        )
    curve = _curve(step_fn, init_fn, readout, data, n, batch_size)
    return PredictionErrorResult(value=curve[-1], curve=curve)


class _FirstEntries(eqx.Module):
    dim: int = eqx.field(static=True)

    def __call__(self, z):
        return z[: self.dim]


def _describe(tree) -> str:
    return str(jax.tree.map(lambda s: (tuple(s.shape), str(s.dtype)), tree))


@eqx.filter_jit
def _curve(step_fn, init_fn, readout, data, n: int, batch_size: int | None):
    n_starts, dim = data.shape[0] - n, data.shape[1]

    def squared_errors(t):
        def body(z, k):
            z = step_fn(z)
            x_hat = readout(z)
            dtype = np.promote_types(x_hat.dtype, data.dtype)
            x_true = jax.lax.dynamic_index_in_dim(data, t + k, keepdims=False)
            err = jnp.sum((x_hat.astype(dtype) - x_true.astype(dtype)) ** 2)
            return z, err

        _, errs = jax.lax.scan(body, init_fn(data[t]), jnp.arange(1, n + 1))
        return errs

    starts = jnp.arange(n_starts)
    if batch_size is None:
        errs = jax.vmap(squared_errors)(starts)
    else:
        errs = jax.lax.map(squared_errors, starts, batch_size=min(batch_size, n_starts))
    return jnp.sum(errs, axis=0) / (n_starts * dim)
