"""HAVOK: Hankel alternative view of Koopman, a linear model forced by the last delay coordinate."""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.linalg import expm
from jaxtyping import Array, Bool, Complex, Float

from .._validation import as_array, check_finite, check_in_range, check_int, check_ndim
from ._compress import check_svd_method, compress, reduce_and_rank
from ._data import check_dt, warn_ill_conditioned
from ._eig import eig
from ._finite_difference import finite_difference
from ._hankel import _embed, check_delays, delay_unembed
from ._rank import check_rank_spec
from ._saving import register_result


@functools.partial(jax.jit, static_argnames=("dt",))
def _foh_matrices(a, b, dt: float):
    """Exact discretisation of v' = Av + Bu for u linear between samples (first-order hold)."""
    n, k = b.shape
    m = jnp.zeros((n + 2 * k, n + 2 * k), a.dtype)
    m = m.at[:n, :n].set(a).at[:n, n : n + k].set(b)
    m = m.at[n : n + k, n + k :].set(jnp.eye(k, dtype=a.dtype))
    e = expm(m * dt)
    return e[:n, :n], e[:n, n : n + k], e[:n, n + k :]


@functools.partial(jax.jit, static_argnames=("dt",))
def _simulate(a, b, forcing, v0, dt: float):
    phi, g1, g2 = _foh_matrices(a, b, dt)

    def step(v, uu):
        u0, u1 = uu
        v_next = phi @ v + g1 @ u0 + g2 @ ((u1 - u0) / dt)
        return v_next, v_next

    _, vs = jax.lax.scan(step, v0, (forcing[:-1], forcing[1:]))
    return jnp.concatenate([v0[None], vs], 0)


class HAVOKResult(eqx.Module):
    """A fitted HAVOK model v' = A v + B u on the delay coordinates.

    **Fields:**

    - `operator`: the full r×r regression matrix Ξᵀ, `dv/dt ≈ Ξᵀ v`.
    - `a`: `(r−k, r−k)` linear part; `b`: `(r−k, k)` forcing input (k = `num_chaos`).
    - `delay_coordinates`: V, the time coefficients of the delay embedding, `(windows, r)`.
    - `singular_values`: all singular values of the embedding; `basis`: U `(delays·dim, r)`.
    - `dt`, `delays`, `lag`, `dim`, `num_chaos`.
    """

    operator: Float[Array, "r r"]
    a: Float[Array, "rl rl"]
    b: Float[Array, "rl k"]
    delay_coordinates: Float[Array, "windows r"]
    singular_values: Float[Array, " s"]
    basis: Float[Array, "dd r"]
    dt: float = eqx.field(static=True)
    delays: int = eqx.field(static=True)
    lag: int = eqx.field(static=True)
    dim: int = eqx.field(static=True)
    num_chaos: int = eqx.field(static=True)

    @property
    def rank(self) -> int:
        """Number r of delay coordinates kept."""
        return self.delay_coordinates.shape[1]

    @property
    def eigenvalues(self) -> Complex[Array, " rl"]:
        """Continuous-time eigenvalues of the linear part A."""
        return eig(self.a)[0]

    @property
    def forcing(self) -> Float[Array, "windows k"]:
        """The forcing signal u: the last `num_chaos` delay coordinates."""
        return self.delay_coordinates[:, -self.num_chaos :]

    @property
    def linear_coordinates(self) -> Float[Array, "windows rl"]:
        """The first r−k delay coordinates (the linearly modelled ones)."""
        return self.delay_coordinates[:, : -self.num_chaos]

    def forcing_threshold(self, p: float = 0.01) -> Float[Array, ""]:
        """Threshold on |u| exceeded by a fraction `p` of the samples (the (1−p)-quantile).

        Brunton et al. observe that |u| has long non-Gaussian tails and is large only in
        rare bursts; `p` is the assumed probability of a forcing event.
        """
        check_in_range(p, "p", 0.0, 1.0)
        return jnp.quantile(jnp.abs(self.forcing[:, 0]), 1.0 - p)

    def active_forcing(self, threshold: float | None = None) -> Bool[Array, " windows"]:
        """Where the forcing is active, |u| > `threshold` (default `forcing_threshold()`)."""
        thr = self.forcing_threshold() if threshold is None else threshold
        return jnp.abs(self.forcing[:, 0]) > thr

    def simulate(self, forcing: Any, v0: Any = None) -> Float[Array, "time rl"]:
        """Integrate v' = A v + B u(t) exactly for a forcing linear between samples.

        The first-order-hold discretisation (the same as `scipy.signal.lsim`) is computed
        once with a matrix exponential, then stepped with `lax.scan`.

        **Arguments:** `forcing` `(time, k)` (or `(time,)` for k = 1) sampled every `dt`;
        `v0` `(r−k,)`, default the first fitted linear coordinate vector.

        **Returns:** the linear coordinates `(time, r−k)`.
        """
        u = as_array(forcing, "forcing")
        if u.ndim == 1:
            u = u[:, None]
        check_ndim(u, "forcing", 2, "(time, num_chaos) or (time,)")
        if u.shape[1] != self.num_chaos or u.shape[0] < 2:
            raise ValueError(
                f"`forcing` must be (time >= 2, {self.num_chaos}), got {tuple(u.shape)}."
            )
        check_finite(u, "forcing")
        v0 = self.linear_coordinates[0] if v0 is None else as_array(v0, "v0")
        if v0.shape != (self.rank - self.num_chaos,):
            raise ValueError(
                f"`v0` must have shape ({self.rank - self.num_chaos},), got {tuple(v0.shape)}."
            )
        dtype = self.a.dtype
        return _simulate(self.a, self.b, u.astype(dtype), v0.astype(dtype), self.dt)

    def reconstruct_coordinates(self) -> Float[Array, "windows rl"]:
        """The linear coordinates simulated from the first one, driven by the fitted forcing."""
        return self.simulate(self.forcing)

    def to_series(self, v: Float[Array, "windows rl"]) -> Float[Array, "time dim"]:
        """Map linear delay coordinates back to the series: de-Hankel of V Σ Uᵀ."""
        k = v.shape[1]
        h = (v * self.singular_values[:k][None, :]) @ self.basis[:, :k].T
        return delay_unembed(h, self.delays, self.lag, self.dim)

    def reconstruct(self) -> Float[Array, "time dim"]:
        """The series reproduced by the forced linear model (PyDMD's `reconstructed_data`)."""
        return self.to_series(self.reconstruct_coordinates())


register_result(
    HAVOKResult,
    arrays=("operator", "a", "b", "delay_coordinates", "singular_values", "basis"),
    static=("dt", "delays", "lag", "dim", "num_chaos"),
)


class HAVOK(eqx.Module):
    """HAVOK (Brunton, Brunton, Proctor, Kaiser & Kutz, Nat. Commun. 8, 19, 2017).

    A chaotic scalar series is delay-embedded, H = V Σ Uᵀ (windows × delays), and the
    leading r delay coordinates V are regressed on their time derivative (2nd-order finite
    differences): V̇ ≈ V Ξ. The last `num_chaos` coordinates are treated as an external
    input: v̇ = A v + B u, with A, B blocks of Ξᵀ. For Lorenz-63 the forcing u is near zero
    most of the time and bursts before each lobe switch. Matches PyDMD's `HAVOK`
    (standard, non-structured variant).

    **Arguments:**

    - `rank`: PyDMD's rank rule for the delay embedding (int r >= num_chaos+1, 0, float, −1).
    - `delays`: number of delays (window length), >= 2.
    - `lag`: spacing of the delays in samples.
    - `num_chaos`: number k of forcing coordinates.
    - `svd`: how the thin SVD of the embedding is computed, as for
      [`DMD`][dynsys.koopman.DMD]: `"auto"` (default), `"qr"`, `"gram"` or `"direct"`.

    ```python
    ys = dynsys.simulate(dynsys.systems.Lorenz63(), None, jnp.arange(0, 50, 0.002))
    res = HAVOK(rank=15, delays=50).fit(ys[:, 0], dt=0.002)
    res.active_forcing()      # bursts before lobe switches
    res.reconstruct()         # (time, 1)
    ```
    """

    rank: int | float = eqx.field(static=True, default=0)
    delays: int = eqx.field(static=True, default=10)
    lag: int = eqx.field(static=True, default=1)
    num_chaos: int = eqx.field(static=True, default=1)
    svd: str = eqx.field(static=True, default="auto")

    def __check_init__(self):
        check_rank_spec(self.rank)
        check_int(self.delays, "delays", minimum=1)
        check_int(self.lag, "lag", minimum=1)
        check_int(self.num_chaos, "num_chaos", minimum=1)
        check_svd_method(self.svd)

    def fit(self, ys: Any, *, dt: float) -> HAVOKResult:
        """Fit to one series `(time,)` or `(time, dim)` sampled every `dt`.

        **Returns:** a [`HAVOKResult`][dynsys.koopman.HAVOKResult].
        """
        ys = as_array(ys, "ys")
        check_ndim(ys, "ys", (1, 2), "(time,) or (time, dim)")
        if ys.ndim == 1:
            ys = ys[:, None]
        check_delays(ys.shape[0], self.delays, self.lag)
        check_finite(ys, "ys")
        dt = check_dt(dt)
        h = _embed(ys, self.delays, self.lag)
        if h.shape[0] < 3:
            raise ValueError("HAVOK needs at least 3 delay windows for its finite differences.")
        shape = (h.shape[1], h.shape[0])

        def reduce(method):
            out = _reduced_svd(h, method)
            return out, out[2], None

        # Only tall embeddings (more windows than delay coordinates) are worth reducing.
        tall = h.shape[0] > h.shape[1]
        method = ("gram" if self.svd == "auto" else self.svd) if tall else "direct"
        choice = reduce_and_rank(reduce, method, self.svd == "auto", shape, self.rank)
        if choice is None:
            raise TypeError(
                "HAVOK.fit reads the singular values to choose its rank and route, so `ys` "
                "must be concrete: it cannot run under jax.jit/vmap/grad."
            )
        (factor, u_small, s, vh), r, _ = choice
        if r < self.num_chaos + 1:
            raise ValueError(
                f"HAVOK needs rank >= num_chaos + 1 = {self.num_chaos + 1}, but the rank rule "
                f"{self.rank!r} gave {r}; increase `delays` or pass an int `rank`."
            )
        warn_ill_conditioned(s, r, s.dtype, "the delay embedding")
        op, v, basis = _havok_fit(factor, h, u_small, vh, r, dt)
        k = self.num_chaos
        return HAVOKResult(
            operator=op,
            a=op[:-k, :-k],
            b=op[:-k, -k:],
            delay_coordinates=v,
            singular_values=s,
            basis=basis,
            dt=dt,
            delays=self.delays,
            lag=self.lag,
            dim=int(ys.shape[1]),
            num_chaos=k,
        )


@functools.partial(jax.jit, static_argnames=("method",))
def _reduced_svd(h, method: str):
    """Thin SVD of the embedding, h = Q·R, R = u_small Σ vh (Q kept as a factor)."""
    r, factor = compress(h, "none" if method == "direct" else method)
    u_small, s, vh = jnp.linalg.svd(r, full_matrices=False)
    return factor, u_small, s, vh


@functools.partial(jax.jit, static_argnames=("r", "dt"))
def _havok_fit(factor, h, u_small, vh, r: int, dt: float):
    v = factor.lift(u_small[:, :r], h)
    v_dot = finite_difference(v, dt)
    xi = jnp.linalg.lstsq(v, v_dot)[0]
    return xi.T, v, vh[:r].T
