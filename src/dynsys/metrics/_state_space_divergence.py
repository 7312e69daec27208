"""D_stsp: the state-space divergence KL(p_true ‖ p_gen) between two trajectories."""

from __future__ import annotations

import math
import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._validation import (
    as_array,
    check_finite,
    check_int,
    check_key,
    check_ndim,
    check_nonempty,
    check_positive,
    is_traced,
)

_ALPHA = 1e-5  # Laplace smoothing constant of the reference implementation
_MARGIN = 0.1  # histogram range: [min - 0.1 sigma, max + 0.1 sigma] of the true data
_GMM_FROM_DIM = 6  # method="auto" switches from bins to the Gaussian mixture at this dim
_MAX_CELLS = 2**25  # dense histograms above this many cells would need > 250 MB each
_GMM_CHUNK = 2**22  # entries of one (samples, points, dim) block of kernel distances


def state_space_divergence(
    true: ArrayLike,
    generated: ArrayLike,
    *,
    n_bins: Any = 30,
    method: str = "auto",
    sigma2: float = 1.0,
    n_samples: int = 1000,
    max_points: int = 10_000,
    key: PRNGKeyArray | None = None,
) -> Float[Array, ""]:
    """State-space divergence D_stsp = KL(p_true ‖ p_gen) of two trajectories.

    Compares where two trajectories spend their time, ignoring temporal order: the
    occupation density of the true trajectory against that of a generated one (e.g. a
    model's free-running output). Two estimators, as in the DSR reference code
    (Hess et al. 2023, GTF; Brenner et al. 2024, AL-RNN):

    - `"bins"`: per dimension `n_bins` equal bins over
      `[min − 0.1σ, max + 0.1σ]` of the **true** data (σ = sample standard deviation with
      `ddof=1`, per dimension), left-closed cells; generated points outside the range are
      dropped. Counts `h` (true, `N` points) and `g` (generated, `M` points inside the range)
      over the `C = n_bins**dim` cells are smoothed with α = 1e-5:
      `p = (h + α)/(N + αC)`, `q = (g + α)/(M + αC)`, and `D = Σ_cells p log(p/q)`.
      Counts are integers that cannot overflow (the Julia reference counts in UInt16).
    - `"gmm"`: the Monte-Carlo KL between Gaussian mixtures (Hershey & Olsen 2007). The first
      `min(T, max_points)` points of each series are centres of isotropic Gaussians with
      variance `sigma2`; `n_samples` samples `s = x_t + √sigma2·ε` are drawn from the true
      mixture (random `t`, ε ~ N(0, I)); `p(s)`, `q(s)` are the mixture densities of the
      true and generated centres (the common normalising constant cancels; computed with
      `logsumexp`), and `D = mean_s[log p(s) − log q(s)]`. Samples where `p` or `q`
      underflows (below the smallest normal number of the dtype, as the reference code
      evaluates them in linear scale) are dropped.
    - `"auto"`: `"bins"` for `dim < 6`, `"gmm"` otherwise (the GTF choice).

    The result is NaN when no generated point lies in the histogram range (bins) or every
    Monte-Carlo sample was dropped (gmm); a warning says why, unless the call is traced
    inside `jax.jit`. Finite samples give a positive floor even for a perfect model (about
    0.05–0.1 for 100k Lorenz-63 points, and about 1 for 10k points against 100k; see
    docs/metrics.md). A constant dimension of `true` (empty range) is rejected. The function
    is jit-able with the keyword arguments static; bins use a dense histogram of `C` integer
    counts (one `scatter-add` of flattened cell indices).

    **Arguments:**

    - `true`: the reference trajectory, shape `(time, dim)`.
    - `generated`: the trajectory to judge, shape `(time_gen, dim)`; its length may differ.
    - `n_bins`: bins per dimension (bins only), an int ≥ 1; `n_bins**dim` ≤ 2**25.
    - `method`: `"auto"`, `"bins"` or `"gmm"`.
    - `sigma2`: variance of the kernels and of the sampling noise (gmm only), > 0.
    - `n_samples`: number of Monte-Carlo samples (gmm only).
    - `max_points`: the most leading points of each series used as centres (gmm only).
    - `key`: PRNG key for the Monte-Carlo samples (gmm only); `None` uses the fixed
      `jax.random.PRNGKey(0)`, so repeated calls give the same number.

    **Returns:** the divergence, a scalar (nats; 0 for identical occupation densities).

    ```python
    import jax.numpy as jnp, dynsys
    from dynsys.metrics import state_space_divergence
    x = dynsys.simulate(dynsys.systems.Lorenz63(), None, jnp.arange(0.0, 200.0, 0.01))
    x = (x - x.mean(0)) / x.std(0)
    state_space_divergence(x[:10_000], x[10_000:])  # ≈ 1.2: 10k points give a high floor
    ```
    """
    true = as_array(true, "true")
    generated = as_array(generated, "generated")
    check_ndim(true, "true", 2, "2-D (time, dim)")
    check_ndim(generated, "generated", 2, "2-D (time, dim)")
    check_nonempty(true, "true")
    check_nonempty(generated, "generated")
    if generated.shape[1] != true.shape[1]:
        raise ValueError(
            f"`generated` must have the same dimension as `true` ({true.shape[1]}), "
            f"got shape {tuple(generated.shape)}."
        )
    check_finite(true, "true")
    check_finite(generated, "generated")
    if method not in ("auto", "bins", "gmm"):
        raise ValueError(f"`method` must be 'auto', 'bins' or 'gmm', got {method!r}.")
    dim = true.shape[1]
    if method == "auto":
        method = "bins" if dim < _GMM_FROM_DIM else "gmm"
    dtype = np.promote_types(true.dtype, generated.dtype)
    true, generated = true.astype(dtype), generated.astype(dtype)

    if method == "bins":
        n_bins = check_int(n_bins, "n_bins", minimum=1)
        n_cells = n_bins**dim
        if n_cells > _MAX_CELLS:
            raise ValueError(
                f"`n_bins`={n_bins} in {dim} dimensions gives {n_cells} histogram cells, more "
                f"than {_MAX_CELLS}; use fewer bins or method='gmm'."
            )
        if not is_traced(true):
            spread = np.ptp(np.asarray(true), axis=0)
            if np.any(spread == 0):
                raise ValueError(
                    f"`true` is constant in dimension(s) {np.flatnonzero(spread == 0).tolist()}; "
                    "the histogram range [min − 0.1σ, max + 0.1σ] would be empty."
                )
        value, n_used = _binned_kl(true, generated, n_bins)
        why = "no generated point lies inside the histogram range of the true data"
    else:
        check_positive(sigma2, "sigma2")
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        max_points = check_int(max_points, "max_points", minimum=1)
        key = jax.random.PRNGKey(0) if key is None else check_key(key, "key")
        value, n_used = _gmm_kl(
            true, generated, key, jnp.asarray(sigma2, dtype), n_samples, max_points
        )
        why = (
            "every Monte-Carlo sample was dropped because its density under the generated "
            "(or true) mixture underflows; the generated trajectory is far from the true one"
        )
    _warn_if_nan(value, n_used, why)
    return value


def _warn_if_nan(value: Any, n_used: Any, why: str) -> None:
    if is_traced(value) or is_traced(n_used):
        return
    if int(n_used) == 0:
        warnings.warn(f"state_space_divergence is NaN: {why}.", RuntimeWarning, stacklevel=3)


@eqx.filter_jit
def _binned_kl(true, generated, n_bins: int):
    dim = true.shape[1]
    n_cells = n_bins**dim
    sigma = jnp.std(true, axis=0, ddof=1)
    lo = jnp.min(true, axis=0) - _MARGIN * sigma
    hi = jnp.max(true, axis=0) + _MARGIN * sigma
    width = jnp.where(hi > lo, hi - lo, jnp.ones_like(hi))

    int_dtype = jnp.asarray(0).dtype  # int64 under float64, else int32 (cells < 2**25)
    strides = jnp.asarray([n_bins ** (dim - 1 - d) for d in range(dim)], dtype=int_dtype)

    def counts(x):
        # clip before the cast so that far-away points cannot overflow the integer type
        rel = jnp.clip((x - lo) / width * n_bins, -1.0, float(n_bins))
        idx = jnp.floor(rel).astype(int_dtype)
        inside = jnp.all((idx >= 0) & (idx < n_bins), axis=1)
        flat = jnp.where(inside, jnp.sum(idx * strides, axis=1), n_cells)
        hist = jnp.zeros(n_cells, int_dtype).at[flat].add(1, mode="drop")
        return hist, jnp.sum(inside.astype(int_dtype))

    h, n_true = counts(true)
    g, n_gen = counts(generated)
    dtype = true.dtype
    smoothing = _ALPHA * n_cells
    p = (h.astype(dtype) + _ALPHA) / (n_true.astype(dtype) + smoothing)
    q = (g.astype(dtype) + _ALPHA) / (n_gen.astype(dtype) + smoothing)
    kl = jnp.sum(p * (jnp.log(p) - jnp.log(q)))
    return jnp.where(n_gen > 0, kl, jnp.nan), n_gen


@eqx.filter_jit
def _gmm_kl(true, generated, key, sigma2, n_samples: int, max_points: int):
    centres_p = true[: min(true.shape[0], max_points)]
    centres_q = generated[: min(generated.shape[0], max_points)]
    dtype = true.dtype
    key_t, key_eps = jax.random.split(key)
    t = jax.random.randint(key_t, (n_samples,), 0, centres_p.shape[0])
    eps = jax.random.normal(key_eps, (n_samples, true.shape[1]), dtype)
    samples = centres_p[t] + jnp.sqrt(sigma2) * eps

    def log_mixture(centres):
        # log of mean_t exp(-|s - c_t|^2 / (2 sigma2)), without the Gaussian constant
        def one(s):
            sq = jnp.sum((centres - s) ** 2, axis=1)
            return jax.nn.logsumexp(-0.5 * sq / sigma2) - math.log(centres.shape[0])

        batch = max(1, _GMM_CHUNK // (centres.shape[0] * centres.shape[1]))
        return jax.lax.map(one, samples, batch_size=min(batch, n_samples))

    log_p = log_mixture(centres_p)
    log_q = log_mixture(centres_q)
    # the reference evaluates p, q in linear scale and drops samples where either is 0
    log_tiny = math.log(float(jnp.finfo(dtype).tiny))
    keep = (log_p >= log_tiny) & (log_q >= log_tiny)
    n_kept = jnp.sum(keep.astype(jnp.asarray(0).dtype))
    total = jnp.sum(jnp.where(keep, log_p - log_q, jnp.zeros_like(log_p)))
    value = jnp.where(n_kept > 0, total / jnp.maximum(n_kept, 1).astype(dtype), jnp.nan)
    return value, n_kept
