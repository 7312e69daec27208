"""Hankel (time-delay) DMD: DMD on delay-embedded snapshots (Arbabi & Mezić 2017)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from .._validation import as_array, check_int, check_ndim
from ._compress import check_svd_method
from ._data import check_dt, check_snapshots
from ._dmd import DMD, DMDResult, forecast_from_state
from ._hankel import _embed, check_delays
from ._rank import check_rank_spec
from ._saving import register_result


class HankelDMDResult(eqx.Module):
    """A fitted Hankel DMD: a [`DMDResult`][dynsys.koopman.DMDResult] on delay windows.

    **Fields:** `dmd` (the DMD of the embedded windows; its modes have `delays·dim` rows,
    oldest block first), `delays`, `lag`, `dim`, `n_time` (samples per trajectory of the
    original series).
    """

    dmd: DMDResult
    delays: int = eqx.field(static=True)
    lag: int = eqx.field(static=True)
    dim: int = eqx.field(static=True)
    n_time: int = eqx.field(static=True)

    @property
    def eigenvalues(self) -> Complex[Array, " rank"]:
        """Discrete-time eigenvalues λ (per sampling step)."""
        return self.dmd.eigenvalues

    @property
    def continuous_eigenvalues(self) -> Complex[Array, " rank"]:
        """ω = log(λ)/Δt."""
        return self.dmd.continuous_eigenvalues

    @property
    def frequencies(self) -> Float[Array, " rank"]:
        """Im(ω)/(2π) in cycles per time unit."""
        return self.dmd.frequencies

    @property
    def modes(self) -> Complex[Array, "dim rank"]:
        """Modes restricted to the first (oldest) delay block, `(dim, rank)`."""
        return self.dmd.modes[: self.dim]

    @property
    def amplitudes(self) -> Array:
        """Amplitudes of the first window, `(rank,)` or `(batch, rank)`."""
        return self.dmd.amplitudes

    @property
    def times(self) -> Float[Array, " time"]:
        """Sample times of the original series."""
        d = self.dmd
        return d.t0 + d.dt * jnp.arange(self.n_time, dtype=d.singular_values.dtype)

    def predict(self, t: Any) -> Array:
        """States of the original series at any times `t` `(time,)`.

        A window starting at s holds x(s), x(s+lag·Δt), ..., x(s+(d−1)·lag·Δt). A time
        t < span (span = (d−1)·lag·Δt) is read from the first block of the window at t
        (PyDMD's 'first' reconstruction); later times from the last block of the window
        at t − span, which is what makes forecasting go beyond the data.

        **Returns:** `(time, dim)` or `(batch, time, dim)`.
        """
        t = as_array(t, "t")
        check_ndim(t, "t", 1, "a 1-D array of times")
        t = t.astype(self.dmd.singular_values.dtype)
        span = (self.delays - 1) * self.lag * self.dmd.dt
        late = (t - self.dmd.t0) >= span
        first = self.dmd.predict(t)[..., : self.dim]
        last = self.dmd.predict(t - span)[..., -self.dim :]
        return jnp.where(late[:, None], last, first)

    def reconstruct(self) -> Array:
        """The original series reproduced by the model at its sample times."""
        return self.predict(self.times)

    def forecast(self, n_steps: int) -> Array:
        """The next `n_steps` samples after the end of the series, `(n_steps, dim)`."""
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        d = self.dmd
        k = jnp.arange(self.n_time, self.n_time + n_steps, dtype=d.singular_values.dtype)
        return self.predict(d.t0 + d.dt * k)

    def forecast_from(self, window: Any, n_steps: int) -> Array:
        """Forecast after a new window of the last `(delays−1)·lag + 1` samples.

        The window is embedded, its amplitudes fitted by least squares on the delay modes,
        and the last block of the advanced window is read off.

        **Arguments:** `window` `((delays−1)·lag + 1, dim)`, oldest first; `n_steps` >= 1.

        **Returns:** the next `n_steps` samples, `(n_steps, dim)`.
        """
        window = as_array(window, "window")
        span = (self.delays - 1) * self.lag + 1
        if window.shape != (span, self.dim):
            raise ValueError(
                f"`window` must have shape ({span}, {self.dim}), got {tuple(window.shape)}."
            )
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        z0 = _embed(window, self.delays, self.lag)[0]
        z = forecast_from_state(self.dmd, z0, n_steps)
        return z[:, -self.dim :]


register_result(
    HankelDMDResult, arrays=(), static=("delays", "lag", "dim", "n_time"), nested=("dmd",)
)


class HankelDMD(eqx.Module):
    """DMD on time-delay windows of the data (Hankel DMD; Arbabi & Mezić, SIADS 16, 2017).

    Each trajectory `(time, dim)` becomes the windows `[x(t), x(t+lag), ...,
    x(t+(d−1)lag)]` `(time − (d−1)lag, d·dim)` (PyDMD's block-Hankel matrix, transposed),
    and [`DMD`][dynsys.koopman.DMD] is fitted to consecutive windows (one sample apart).
    Delay coordinates turn a scalar observable into enough observables to resolve several
    Koopman eigenvalues (a single sine needs 2 delays, k sines 2k). A batch is embedded
    trajectory by trajectory and fitted jointly without seams.

    **Arguments:** `rank` (PyDMD's rule, see [`DMD`][dynsys.koopman.DMD]), `delays` d >= 1,
    `lag` >= 1, `exact`, `tlsq_rank`, `forward_backward`, `svd` as for `DMD`.

    ```python
    t = jnp.arange(400) * 0.05
    ys = jnp.sin(2.0 * t)[:, None]       # one observable, one frequency
    res = HankelDMD(rank=2, delays=10).fit(ys, dt=0.05)
    res.frequencies                       # ≈ ±2/(2π)
    ```
    """

    rank: int | float = eqx.field(static=True, default=0)
    delays: int = eqx.field(static=True, default=1)
    lag: int = eqx.field(static=True, default=1)
    exact: bool = eqx.field(static=True, default=False)
    tlsq_rank: int = eqx.field(static=True, default=0)
    forward_backward: bool = eqx.field(static=True, default=False)
    svd: str = eqx.field(static=True, default="auto")

    def __check_init__(self):
        check_rank_spec(self.rank)
        check_int(self.delays, "delays", minimum=1)
        check_int(self.lag, "lag", minimum=1)
        check_svd_method(self.svd)

    def fit(self, ys: Any, *, dt: float = 1.0, t0: float = 0.0) -> HankelDMDResult:
        """Fit to `ys` `(time,)`, `(time, dim)` or `(batch, time, dim)` sampled every `dt`.

        **Returns:** a [`HankelDMDResult`][dynsys.koopman.HankelDMDResult].
        """
        ys = as_array(ys, "ys")
        if ys.ndim == 1:
            ys = ys[:, None]
        ys, batched = check_snapshots(ys, "ys")
        check_delays(ys.shape[1], self.delays, self.lag)
        dt = check_dt(dt)
        windows = jax.vmap(lambda y: _embed(y, self.delays, self.lag))(ys)
        dmd = DMD(
            rank=self.rank,
            exact=self.exact,
            tlsq_rank=self.tlsq_rank,
            forward_backward=self.forward_backward,
            svd=self.svd,
        ).fit(windows if batched else windows[0], dt=dt, t0=t0)
        return HankelDMDResult(
            dmd=dmd,
            delays=self.delays,
            lag=self.lag,
            dim=int(ys.shape[2]),
            n_time=int(ys.shape[1]),
        )
