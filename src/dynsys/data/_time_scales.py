"""The time scale of a multivariate series: where its mean autocorrelation drops below 1/e."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_in_range, check_int, check_nonempty
from ._trajectories import Trajectories, batched_states


def autocorrelation_time(
    data: Trajectories | Any,
    *,
    threshold: float = 1.0 / math.e,
    max_lag: int | None = None,
) -> int | None:
    """The first lag (in samples) at which the mean autocorrelation drops below `threshold`.

    Every column of every trajectory is centred and scaled by its own mean and standard
    deviation; its autocorrelation ρ(k) = Σ_t z_t z_{t+k} / Σ_t z_t² (the biased estimator,
    via the FFT) is averaged over columns and trajectories, and the first k with
    mean ρ(k) < `threshold` is returned. With the default 1/e this is the e-folding time of
    the correlations, one of the data-driven choices of the teacher-forcing interval τ
    (the dendPLRNN code's `tau_estimation.py`; the other is the first minimum of the
    time-delayed mutual information). Lorenz-63 sampled at Δt = 0.01 gives 19–20 samples
    (0.2 time units), Rössler at Δt = 0.08 gives 12.

    **Arguments:**

    - `data`: a trajectory `(time, dim)`, a batch `(batch, time, dim)` or
      [`Trajectories`][]; finite values, no constant column.
    - `threshold`: the level in (0, 1) (default 1/e).
    - `max_lag`: the largest lag examined, >= 1 (default `time − 1`; larger values are
      cut to `time − 1`).

    **Returns:** the lag in samples (≥ 1), or `None` when the mean autocorrelation stays
    above `threshold` up to `max_lag` (a slow trend, or too short a series).

    ```python
    import jax.numpy as jnp
    from dynsys.data import autocorrelation_time
    t = jnp.arange(2000) * 0.01
    autocorrelation_time(jnp.sin(2 * jnp.pi * t)[:, None])   # 20 (period: 100 samples)
    ```
    """
    x = batched_states(data, "data")
    check_nonempty(x, "data", axis=1, min_len=2)
    threshold = check_in_range(threshold, "threshold", 0.0, 1.0)
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"`threshold` must lie in (0, 1), got {threshold!r}.")
    n = x.shape[1]
    max_lag = n - 1 if max_lag is None else check_int(max_lag, "max_lag", minimum=1)
    max_lag = min(max_lag, n - 1)

    z = np.asarray(x, dtype=np.float64)
    z = z - z.mean(axis=1, keepdims=True)
    power = np.sum(z**2, axis=1)  # (batch, dim)
    if np.any(power == 0):
        raise ValueError("`data` has a constant column in some trajectory; it has no time scale.")
    # Zero padding to 2n makes the FFT product a linear (not circular) correlation.
    spectrum = np.fft.rfft(z, n=2 * n, axis=1)
    acov = np.fft.irfft(np.abs(spectrum) ** 2, n=2 * n, axis=1)[:, : max_lag + 1]
    rho = np.mean(acov / power[:, None, :], axis=(0, 2))
    below = np.flatnonzero(rho[1:] < threshold)
    return int(below[0]) + 1 if below.size else None
