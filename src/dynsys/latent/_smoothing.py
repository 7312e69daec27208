"""The NLB smoothing baseline: Gaussian-smoothed spikes and a Poisson GLM read-out."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._serialization import register_loadable
from .._validation import check_int, check_positive
from ..data import SpikeData
from ._abstract import AbstractSpikeModel


def gaussian_smooth(x: Float[Array, "time channels"], sd: float) -> Float[Array, "time channels"]:
    """Smooth along time with a Gaussian kernel of `sd` bins, renormalised at the edges.

    y_t = Σ_s K(t − s) x_s / Σ_s K(t − s), K(d) = exp(−d² / 2 sd²), over the bins of the
    sequence (no padding bias at the edges).

    **Arguments:** `x` `(time, channels)`; `sd` > 0 in bins.

    **Returns:** `(time, channels)`.

    ```python
    gaussian_smooth(jnp.ones((10, 2)), 2.0)   # all ones
    ```
    """
    n = x.shape[0]
    t = jnp.arange(n, dtype=x.dtype)
    k = jnp.exp(-0.5 * ((t[:, None] - t[None, :]) / sd) ** 2)
    return (k @ x) / jnp.sum(k, axis=1, keepdims=True)


class SmoothingBaseline(AbstractSpikeModel):
    """Gaussian-smoothed held-in spikes → Poisson GLM log-rates (NLB "Smoothing" baseline).

    log λ_{t,n} = w_nᵀ s_t + b_n with s_t the held-in counts smoothed by a Gaussian kernel
    ([`gaussian_smooth`][]); forward bins reuse the features of the last observed bin.
    Fitted by [`fit_smoothing_baseline`][]. No latent dynamics: a floor that any latent
    model should beat in co-bps.

    **Fields:** `weights` `(n_input + 1, n_output)` (last row: bias), `sd` (bins), and the
    `n_input`, `n_output`, `n_forward` of [`AbstractSpikeModel`][].
    """

    weights: Float[Array, "features n_output"]
    sd: float = eqx.field(static=True)
    n_input: int = eqx.field(static=True)
    n_output: int = eqx.field(static=True)
    n_forward: int = eqx.field(static=True)

    def features(self, x):
        s = gaussian_smooth(jnp.asarray(x).astype(self.weights.dtype), self.sd)
        s = jnp.concatenate([s, jnp.repeat(s[-1:], self.n_forward, axis=0)])
        return jnp.concatenate([s, jnp.ones((s.shape[0], 1), dtype=s.dtype)], axis=1)

    def __call__(self, x, *, key=None):
        return self.features(x) @ self.weights, jnp.zeros((), dtype=self.weights.dtype)


register_loadable(
    SmoothingBaseline,
    hyperparameters=lambda m: {
        "sd": m.sd,
        "n_input": m.n_input,
        "n_output": m.n_output,
        "n_forward": m.n_forward,
        "dtype": m.weights.dtype.name,
    },
    template=lambda hp: SmoothingBaseline(
        weights=jnp.zeros((hp["n_input"] + 1, hp["n_output"]), dtype=hp["dtype"]),
        sd=hp["sd"],
        n_input=hp["n_input"],
        n_output=hp["n_output"],
        n_forward=hp["n_forward"],
    ),
)


def fit_smoothing_baseline(
    data: SpikeData, *, kernel_sd: float = 2.0, alpha: float = 1e-2, n_iter: int = 30
) -> SmoothingBaseline:
    """Fit the [`SmoothingBaseline`][] on the training trials of `data` (Newton's method).

    For each output neuron the penalised Poisson GLM
    min_w Σ_{trials, bins} (e^{φᵀw} − y φᵀw) + (α/2) ‖w_{1:F}‖² (bias unpenalised)
    is solved by `n_iter` Newton steps from w = (0, log ȳ), on the observed bins of the
    training trials (as the NLB baseline's `PoissonRegressor`, here vectorised in JAX).

    **Arguments:**

    - `data`: [`dynsys.data.SpikeData`][].
    - `kernel_sd`: kernel standard deviation in bins (NLB: 50 ms; 2.5 bins of 20 ms).
    - `alpha`: ridge penalty >= 0 (per training bin: scaled by their number).
    - `n_iter`: Newton iterations.

    **Returns:** a fitted [`SmoothingBaseline`][].

    ```python
    base = fit_smoothing_baseline(ds)
    rates = infer_rates(base, ds)
    ```
    """
    if not isinstance(data, SpikeData):
        raise TypeError(f"`data` must be a dynsys.data.SpikeData, got {type(data).__name__}.")
    check_positive(kernel_sd, "kernel_sd")
    check_positive(alpha, "alpha", allow_zero=True)
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    dtype = jnp.result_type(float)
    model = SmoothingBaseline(
        weights=jnp.zeros((len(data.heldin) + 1, data.n_neurons), dtype=dtype),
        sd=float(kernel_sd),
        n_input=len(data.heldin),
        n_output=data.n_neurons,
        n_forward=data.n_forward,
    )
    x = data.model_input(data.train).astype(dtype)
    t_obs = data.n_observed
    phi = jax.vmap(lambda xi: model.features(xi)[:t_obs])(x).reshape(-1, x.shape[-1] + 1)
    y = data.spikes[data.train][:, :t_obs].astype(dtype).reshape(-1, data.n_neurons)
    m = data.mask[data.train][:, :t_obs].reshape(-1).astype(dtype)
    weights = _newton_poisson(phi, y, m, float(alpha) * float(jnp.sum(m)), n_iter)
    return eqx.tree_at(lambda b: b.weights, model, weights)


@eqx.filter_jit
def _newton_poisson(phi, y, m, penalty, n_iter):
    f = phi.shape[1]
    reg = penalty * jnp.diag(jnp.concatenate([jnp.ones(f - 1), jnp.zeros(1)])).astype(phi.dtype)
    ridge = 1e-8 * jnp.eye(f, dtype=phi.dtype)

    def solve(yn):
        mean = jnp.sum(m * yn) / jnp.sum(m)
        w0 = jnp.zeros(f, dtype=phi.dtype).at[-1].set(jnp.log(jnp.maximum(mean, 1e-6)))

        def step(_, w):
            lam = jnp.exp(jnp.clip(phi @ w, -20.0, 20.0)) * m
            grad = phi.T @ (lam - m * yn) + reg @ w
            hess = (phi * lam[:, None]).T @ phi + reg + ridge
            return w - jnp.linalg.solve(hess, grad)

        return jax.lax.fori_loop(0, n_iter, step, w0)

    return jax.vmap(solve, in_axes=1, out_axes=1)(y)
