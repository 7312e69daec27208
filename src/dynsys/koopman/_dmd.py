"""Dynamic mode decomposition: exact/projected DMD with TLS and forward-backward debiasing."""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .._serialization import register_loadable
from .._validation import as_array, check_int, check_ndim, is_traced
from ._compress import (
    Factor,
    check_svd_method,
    compress,
    every_system,
    reduce_and_rank,
    within_gram_range,
)
from ._data import check_dt, check_snapshots, warn_ill_conditioned
from ._eig import complex_dtype, eig
from ._rank import check_rank_spec, select_rank


def _powers(eigenvalues, s):
    """λ^s for real exponents s (time, ) -> (time, r), with 0^0 = 1 and 0^s = 0."""
    log_lam = jnp.log(jnp.where(eigenvalues == 0, jnp.ones_like(eigenvalues), eigenvalues))
    p = jnp.exp(s[:, None].astype(log_lam.dtype) * log_lam[None, :])
    zero = jnp.where(s[:, None] == 0, jnp.ones_like(p), jnp.zeros_like(p))
    return jnp.where(eigenvalues[None, :] == 0, zero, p)


class DMDResult(eqx.Module):
    """A fitted DMD: eigenvalues, modes and amplitudes of x(t) ≈ Σ_k φ_k b_k λ_k^{(t−t0)/Δt}.

    Immutable; every method is a pure function of the fields. Under `jax.vmap` of
    [`DMD.fit`][dynsys.koopman.DMD.fit] every array field gets a leading system axis.

    **Fields:**

    - `eigenvalues`: discrete-time DMD eigenvalues λ, `(rank,)` complex, in LAPACK order.
    - `modes`: DMD modes φ as columns, `(dim, rank)` complex.
    - `amplitudes`: b fitted to each trajectory's first snapshot by least squares,
      `(rank,)`, or `(batch, rank)` when the fit got a batch of trajectories.
    - `operator`: the reduced operator Ã = Uᴴ Y V Σ⁻¹, `(rank, rank)`.
    - `basis`: the POD basis U, `(dim, rank)`.
    - `singular_values`: all singular values of the snapshot matrix X, `(min(dim, pairs),)`.
    - `dt`, `t0`: sampling step and time of the first snapshot.
    - `n_time`: snapshots per trajectory in the fit.
    - `batched`: whether the fit got `(batch, time, dim)` data.
    - `real`: whether the data were real (then predictions are real).
    """

    eigenvalues: Complex[Array, " rank"]
    modes: Complex[Array, "dim rank"]
    amplitudes: Complex[Array, "*batch rank"]
    operator: Array
    basis: Array
    singular_values: Float[Array, " k"]
    dt: float = eqx.field(static=True)
    t0: float = eqx.field(static=True)
    n_time: int = eqx.field(static=True)
    batched: bool = eqx.field(static=True)
    real: bool = eqx.field(static=True)

    @property
    def rank(self) -> int:
        """Number of retained modes r."""
        return self.eigenvalues.shape[-1]

    @property
    def continuous_eigenvalues(self) -> Complex[Array, " rank"]:
        """ω = log(λ)/Δt (principal logarithm), in 1/time units."""
        return jnp.log(self.eigenvalues) / self.dt

    @property
    def frequencies(self) -> Float[Array, " rank"]:
        """Im(ω)/(2π): oscillation frequencies in cycles per time unit."""
        return jnp.imag(self.continuous_eigenvalues) / (2 * np.pi)

    @property
    def growth_rates(self) -> Float[Array, " rank"]:
        """Re(ω) = log|λ|/Δt: exponential growth (> 0) or decay (< 0) rates."""
        return jnp.log(jnp.abs(self.eigenvalues)) / self.dt

    @property
    def times(self) -> Float[Array, " time"]:
        """The sample times of the fitted data, `t0 + Δt·arange(n_time)`."""
        return self.t0 + self.dt * jnp.arange(self.n_time, dtype=self.singular_values.dtype)

    def dynamics(self, t: Any) -> Complex[Array, "*batch time rank"]:
        """Time coefficients b_k λ_k^{(t−t0)/Δt} at times `t` `(time,)`."""
        t = as_array(t, "t")
        check_ndim(t, "t", 1, "a 1-D array of times")
        return _dynamics(self, t.astype(self.singular_values.dtype))

    def predict(self, t: Any) -> Array:
        """States at any times `t` (not only on the sampling grid).

        x(t) = Σ_k φ_k b_k λ_k^{(t−t0)/Δt} = Σ_k φ_k b_k e^{ω_k (t−t0)}.

        **Arguments:** `t`: times `(time,)`, in the units of `dt`.

        **Returns:** `(time, dim)`, or `(batch, time, dim)` for a batched fit; real if the
        data were real.
        """
        t = as_array(t, "t")
        check_ndim(t, "t", 1, "a 1-D array of times")
        return _predict(self, t.astype(self.singular_values.dtype))

    def reconstruct(self) -> Array:
        """The fitted data reproduced by the modes: `predict(times)`, same shape as the data."""
        return self.predict(self.times)

    def forecast(self, n_steps: int) -> Array:
        """The next `n_steps` states after the last snapshot, on the sampling grid.

        **Returns:** `(n_steps, dim)` or `(batch, n_steps, dim)`.
        """
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        k = jnp.arange(self.n_time, self.n_time + n_steps, dtype=self.singular_values.dtype)
        return self.predict(self.t0 + self.dt * k)

    def forecast_from(self, x0: Any, n_steps: int) -> Array:
        """Forecast from a new initial state: b = argmin ‖Φb − x0‖, x_k = Φ Λ^k b.

        **Arguments:** `x0` `(dim,)`; `n_steps` >= 1.

        **Returns:** the states after 1..n_steps steps, `(n_steps, dim)`.
        """
        x0 = as_array(x0, "x0") if not jnp.iscomplexobj(x0) else jnp.asarray(x0)
        if x0.shape != (self.modes.shape[0],):
            raise ValueError(f"`x0` must have shape ({self.modes.shape[0]},), got {x0.shape}.")
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        return forecast_from_state(self, x0, n_steps)


@eqx.filter_jit
def _dynamics(res: DMDResult, t):
    p = _powers(res.eigenvalues, (t - res.t0) / res.dt)
    if res.amplitudes.ndim == 2:
        return res.amplitudes[:, None, :] * p[None]
    return res.amplitudes[None, :] * p


@eqx.filter_jit
def _predict(res: DMDResult, t):
    x = _dynamics(res, t) @ res.modes.T
    return jnp.real(x) if res.real else x


_DMD_ARRAYS = ("eigenvalues", "modes", "amplitudes", "operator", "basis", "singular_values")


def _dmd_result_hyperparameters(res: DMDResult) -> dict:
    arrays = {
        name: {
            "shape": list(getattr(res, name).shape),
            "complex": bool(jnp.iscomplexobj(getattr(res, name))),
        }
        for name in _DMD_ARRAYS
    }
    return {
        "arrays": arrays,
        "dtype": res.singular_values.dtype.name,
        "dt": res.dt,
        "t0": res.t0,
        "n_time": res.n_time,
        "batched": res.batched,
        "real": res.real,
    }


def _dmd_result_template(hp: dict) -> DMDResult:
    def zeros(spec):
        dtype = complex_dtype(hp["dtype"]) if spec["complex"] else hp["dtype"]
        return jnp.zeros(tuple(spec["shape"]), dtype=dtype)

    arrays = {name: zeros(hp["arrays"][name]) for name in _DMD_ARRAYS}
    static = {name: hp[name] for name in ("dt", "t0", "n_time", "batched", "real")}
    return DMDResult(**arrays, **static)


register_loadable(
    DMDResult, hyperparameters=_dmd_result_hyperparameters, template=_dmd_result_template
)


def forecast_from_state(res: DMDResult, x0: Any, n_steps: int) -> Array:
    """Shared body of `DMDResult.forecast_from` (validated inputs)."""
    cdt = res.modes.dtype
    b = jnp.linalg.lstsq(res.modes, x0.astype(cdt))[0]
    p = _powers(res.eigenvalues, jnp.arange(1, n_steps + 1, dtype=res.singular_values.dtype))
    x = (p * b[None, :]) @ res.modes.T
    return jnp.real(x) if res.real else x


class DMD(eqx.Module):
    """Dynamic mode decomposition (Schmid 2010; exact DMD: Tu et al. 2014).

    Fits the best linear map x_{k+1} ≈ A x_k between consecutive snapshots, restricted to
    the leading POD subspace: with the thin SVD X = UΣVᴴ of the snapshots X = [x_0..x_{m−1}]
    and their successors Y = [x_1..x_m], truncated to rank r, Ã = Uᴴ Y V Σ⁻¹, Ã W = W Λ, and
    the modes are Φ = U W (projected) or Φ = Y V Σ⁻¹ W (exact; PyDMD's scaling, no 1/λ).
    Amplitudes b solve Φ b ≈ x_0 in least squares.

    Options, as in PyDMD: total-least-squares debiasing (Hemati et al. 2017: X and Y are
    projected on the leading `tlsq_rank` right singular vectors of [X; Y]) and
    forward-backward DMD (Dawson et al. 2016: Ã = (Ã_f Ã_b⁻¹)^{1/2} with the backward
    operator Ã_b = X̃ Ỹ⁺ in the same POD basis, X̃ = UᴴX, Ỹ = UᴴY; principal square root).

    Data are time-major: one trajectory `(time, dim)`, or a batch `(batch, time, dim)` fitted
    *jointly*: the snapshot pairs of all trajectories go into one X, Y without pairs across
    trajectory boundaries (no seams). To fit many independent systems at once, `jax.vmap`
    the fit (then `rank` must be a fixed int >= 1, the only rule that does not depend on
    data values).

    The ill-conditioning check costs nothing extra (it reads the singular values the fit
    needs anyway): σ₁/σ_r > ε^{−3/4} gives a warning with the condition number; σ_r = 0
    is an error.

    How the SVD is computed (`svd`). When the snapshots Z = [x_0..x_m] are taller than wide
    (dim > snapshots), Z = Q·R is reduced once to its small factor R (X = Q·Rx and
    Y = Q·Ry share all but one column per trajectory); everything is computed from R, and
    Q multiplies only the r columns of the basis and the modes. `"qr"` gets R by
    Householder QR (backward stable) and applies Q from its reflectors. `"gram"` gets R
    from the Gram matrix ZᴴZ (one matrix product and a small `eigh`, fewer flops than QR),
    but singular values below √ε·σ₁ lose all accuracy. `"auto"` (the default) computes the
    Gram route and keeps it only where the truncation lies well inside its accurate range,
    judged from the Gram route's own singular values: σ_r(X) >= ε^{1/8}·σ₁(Z) (0.011 in
    float64, 0.14 in float32; σ₁ of all snapshots, as the rounding error of ZᴴZ scales
    with it; then the Gram route's errors are at most ε^{−1/8} times QR's, below 2e-12
    relative in float64), and for rank rules that read the spectrum (energy fraction, optimal hard
    threshold) a selected rank that no rounding error of the Gram route could change; with
    TLS, also the TLS rank inside that range. Otherwise the fit is redone by `"qr"`. Inside
    `jit`/`grad` the choice is a `lax.cond` on the data; under `vmap` the whole batch takes
    one route: Gram if it is accurate for every system, QR otherwise (so a system's result
    may differ in the last digits with the batch it is fitted in). `"direct"` does no
    reduction: one LAPACK SVD of X.

    **Arguments:**

    - `rank`: PyDMD's `svd_rank` rule: int >= 1 fixed (error if larger than the data
      allow), float in (0, 1) energy fraction, 0 optimal hard threshold (Gavish–Donoho),
      −1 full rank.
    - `exact`: exact (True) or projected (False, PyDMD's default) modes.
    - `tlsq_rank`: 0 (off) or the TLS projection rank.
    - `forward_backward`: forward-backward debiasing.
    - `svd`: how the thin SVD of X is computed: `"auto"` (default), `"qr"`, `"gram"` or
      `"direct"`, as described above.

    ```python
    import jax.numpy as jnp
    from dynsys.koopman import DMD
    t = jnp.arange(100) * 0.1
    ys = jnp.stack([jnp.cos(2.0 * t), jnp.sin(2.0 * t), jnp.exp(-t)], -1)
    res = DMD(rank=3).fit(ys, dt=0.1)
    res.continuous_eigenvalues  # ≈ {±2i, −1}
    res.forecast(50)            # (50, 3)
    ```
    """

    rank: int | float = eqx.field(static=True, default=0)
    exact: bool = eqx.field(static=True, default=False)
    tlsq_rank: int = eqx.field(static=True, default=0)
    forward_backward: bool = eqx.field(static=True, default=False)
    svd: str = eqx.field(static=True, default="auto")

    def __check_init__(self):
        check_rank_spec(self.rank)
        for name in ("exact", "forward_backward"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"`{name}` must be True or False, got {getattr(self, name)!r}.")
        check_int(self.tlsq_rank, "tlsq_rank", minimum=0)
        check_svd_method(self.svd)

    def fit(self, ys: Any, *, dt: float = 1.0, t0: float = 0.0) -> DMDResult:
        """Fit to snapshots `ys` `(time, dim)` or `(batch, time, dim)` sampled every `dt`.

        **Arguments:**

        - `ys`: real or complex snapshots, at least 2 along time.
        - `dt`: sampling step (> 0), sets the units of `continuous_eigenvalues`,
          `frequencies` and `predict`.
        - `t0`: time of the first snapshot.

        **Returns:** a [`DMDResult`][dynsys.koopman.DMDResult].
        """
        ys, batched = check_snapshots(ys, "ys", add_batch=False)
        dt = check_dt(dt)
        t0 = float(t0)
        n_pairs = _pairs_shape(ys)[1]
        if self.tlsq_rank > n_pairs:
            raise ValueError(
                f"`tlsq_rank`={self.tlsq_rank} exceeds the {n_pairs} snapshot pairs of `ys`."
            )
        return _fit(self, ys, dt, t0, batched)


def _fit(cfg: DMD, ys, dt: float, t0: float, batched: bool) -> DMDResult:
    lam, modes, amps, atilde, u, s = _fit_arrays(cfg, ys)
    if not batched:
        amps = amps[0]
    return DMDResult(
        eigenvalues=lam,
        modes=modes,
        amplitudes=amps,
        operator=atilde,
        basis=u,
        singular_values=s,
        dt=dt,
        t0=t0,
        n_time=int(ys.shape[-2]),
        batched=batched,
        real=not jnp.issubdtype(ys.dtype, jnp.complexfloating),
    )


def _batch_time_dim(ys) -> tuple[int, int, int]:
    """(batch, time, dim) of `(time, dim)` or `(batch, time, dim)` snapshots."""
    return (1, *ys.shape) if ys.ndim == 2 else ys.shape


def _pairs_shape(ys) -> tuple[int, int]:
    """(dim, pairs): the shape of the snapshot matrix X."""
    b, t, d = _batch_time_dim(ys)
    return d, b * (t - 1)


def _first_method(svd: str, ys) -> str:
    """How Z is reduced first: only tall Z (dim > snapshots) is worth reducing."""
    b, t, d = _batch_time_dim(ys)
    tall = d > b * t
    if svd == "direct" or not tall:
        return "none"
    return "gram" if svd == "auto" else svd


def _fixed_rank(rule: int | float) -> bool:
    """Whether a rank rule ignores the data values (int >= 1, or -1 for full rank)."""
    return rule == -1 or (isinstance(rule, int) and rule >= 1)


def _fit_arrays(cfg: DMD, ys):
    """(λ, modes, amplitudes `(batch, r)`, Ã, U, σ) of a validated fit."""
    if not is_traced(ys):
        choice = _choose(cfg, ys)
        if choice is not None:
            red, r, _ = choice
            warn_ill_conditioned(red.s, r, red.s.dtype, "the snapshot matrix X")
            return _solve_jit(red, ys, r, cfg.exact, cfg.forward_backward)
    if not _fixed_rank(cfg.rank):
        raise TypeError(
            f"rank rule {cfg.rank!r} depends on the data values and cannot be used under "
            "jax.jit/vmap; pass a fixed int `rank` >= 1."
        )
    shape = _pairs_shape(ys)
    r = select_rank(np.zeros(min(shape)), shape, cfg.rank)
    return _fit_traced(ys, r, cfg.exact, cfg.forward_backward, cfg.tlsq_rank, cfg.svd)


def _choose(cfg: DMD, ys):
    """Reduce concrete data, pick the rank and (for `svd="auto"`) the route.

    **Returns:** `(reduced problem, rank, route)` with route `"gram"`, `"qr"` or `"none"`;
    None when the arrays turn out to be traced (inside a `jit` that closed over `ys`).
    """
    shape = _pairs_shape(ys)
    if _fixed_rank(cfg.rank):
        select_rank(np.zeros(min(shape)), shape, cfg.rank)  # a too-large rank fails early

    def reduce(method):
        red = _reduce_jit(ys, method, cfg.tlsq_rank)
        return red, red.s, red.scale

    def tls_accurate(red):
        if cfg.tlsq_rank == 0:
            return True
        s_tls = np.asarray(red.s_tls)
        scale = max(float(s_tls[0]), float(red.scale))
        return bool(within_gram_range(s_tls, cfg.tlsq_rank, s_tls.dtype, scale))

    method = _first_method(cfg.svd, ys)
    return reduce_and_rank(reduce, method, cfg.svd == "auto", shape, cfg.rank, tls_accurate)


def _route(cfg: DMD, ys: Any) -> str:
    """The route `cfg.fit(ys)` takes on concrete data: `"gram"`, `"qr"` or `"none"`.

    `"none"`: the data were not reduced (Z not taller than wide, or `svd="direct"`). Lets
    tests see the automatic choice; the fit makes it in the same `_choose`.
    """
    ys, _ = check_snapshots(ys, "ys")
    return _choose(cfg, ys)[2]


def _columns(ys):
    """Every snapshot as a column of Z `(dim, batch·time)`, and the columns of X, Y and x_0.

    Pairs never straddle two trajectories (see `snapshot_pairs`); X and Y share all but
    `batch` columns, so one reduction of Z serves both.
    """
    b, t, d = _batch_time_dim(ys)
    idx = np.arange(b * t).reshape(b, t)
    return ys.reshape(b * t, d).T, idx[:, :-1].ravel(), idx[:, 1:].ravel(), idx[:, 0]


def _last_columns(ys):
    """The columns of Z that are not in X: each trajectory's last snapshot."""
    b, t, _ = _batch_time_dim(ys)
    return np.arange(b * t).reshape(b, t)[:, -1]


class _Reduced(eqx.Module):
    """DMD in the coordinates of R, where Z = Q·R: X = Q·rx, Y = Q·`ry`, x_0 = Q·`r0`.

    Holds Q (`factor`), the TLS-projected `ry`, the thin SVD `u`, `s`, `vh` of the projected
    rx, the singular values `s_tls` of [rx; ry] (None without TLS), `scale` >= σ₁(Z) (the
    Gram route's rounding error scales with σ₁(Z)², which can exceed σ₁(X) when the last
    snapshots are large) and `n_rows`, the rows of Z (the state dimension).
    """

    factor: Factor
    ry: Array
    r0: Array
    u: Array
    s: Array
    vh: Array
    s_tls: Array | None
    scale: Array
    n_rows: int = eqx.field(static=True)


def _reduce(ys, method: str, tlsq_rank: int) -> _Reduced:
    z, ix, iy, i0 = _columns(ys)
    r, factor = compress(z, method)
    rx, ry, r0 = r[:, ix], r[:, iy], r[:, i0]
    s_tls = None
    if tlsq_rank > 0:
        # [X; Y] = diag(Q, Q)·[rx; ry] has the right singular vectors of [rx; ry].
        _, s_tls, vh_xy = jnp.linalg.svd(jnp.concatenate([rx, ry], 0), full_matrices=False)
        v_tls = vh_xy[:tlsq_rank].conj().T
        p = v_tls @ v_tls.conj().T
        rx, ry = rx @ p, ry @ p
    u, s, vh = jnp.linalg.svd(rx, full_matrices=False)
    # Z = [X, last columns] up to a permutation, so σ₁(Z)² <= σ₁(X)² + ‖last columns‖²;
    # with TLS, s[0] is that of the projected X, so σ₁([X; Y]) bounds σ₁(X) instead.
    s_x = s[0] if s_tls is None else s_tls[0]
    last = r[:, _last_columns(ys)]
    scale = jnp.sqrt(s_x**2 + jnp.sum(jnp.abs(last) ** 2))
    return _Reduced(factor, ry, r0, u, s, vh, s_tls, scale, int(z.shape[0]))


_reduce_jit = jax.jit(_reduce, static_argnames=("method", "tlsq_rank"))


def _times_complex(a, w):
    """a @ w for a complex w, as two real products when a is real."""
    if jnp.iscomplexobj(a):
        return a @ w
    return jax.lax.complex(a @ jnp.real(w), a @ jnp.imag(w))


def _solve(red: _Reduced, ys, r: int, exact: bool, fb: bool):
    """Ã, its eigenpairs, modes and amplitudes at rank r; only the r lifted columns are n-sized."""
    u = red.u[:, :r]
    s_r = red.s[:r]
    v = red.vh[:r].conj().T
    yv = (red.ry @ v) / s_r.astype(v.dtype)[None, :]
    atilde = u.conj().T @ yv
    cdt = complex_dtype(atilde.dtype)
    if fb:
        xt = s_r[:, None].astype(red.vh.dtype) * red.vh[:r]
        yt = u.conj().T @ red.ry
        xt, yt = xt.astype(cdt), yt.astype(cdt)
        # Ã_b = X̃ Ỹ⁺  <=>  Ỹᴴ Ã_bᴴ ≈ X̃ᴴ in least squares.
        a_back = jnp.linalg.lstsq(yt.conj().T, xt.conj().T)[0].conj().T
        m = jnp.linalg.solve(a_back.T, atilde.astype(cdt).T).T
        mu, w = eig(m)
        lam = jnp.sqrt(mu)
        atilde = (w * lam[None, :]) @ jnp.linalg.inv(w)
    else:
        lam, w = eig(atilde)
    lam = lam.astype(cdt)
    w = w.astype(cdt)
    lifted = red.factor.lift(jnp.concatenate([u, yv], 1) if exact else u, _columns(ys)[0])
    basis = lifted[:, :r]
    modes = _times_complex(lifted[:, r:] if exact else basis, w)
    # Q has orthonormal columns and x_0 = Q·r0, so the least-squares amplitudes of the
    # n-sized modes are those of the small ones; the cutoff is the one lstsq would use on
    # the n-sized modes.
    rcond = float(jnp.finfo(s_r.dtype).eps) * max(red.n_rows, r)
    small = (yv if exact else u).astype(cdt) @ w
    amps = jnp.linalg.lstsq(small, red.r0.astype(cdt), rcond=rcond)[0].T
    return lam, modes, amps, atilde, basis, red.s


_solve_jit = jax.jit(_solve, static_argnames=("r", "exact", "fb"))


def _qr_fit(ys, r: int, exact: bool, fb: bool, tlsq_rank: int):
    """The QR route with Q applied from its reflectors; Q is formed only under differentiation.

    `ormqr` (which skips forming Q) has no derivative rule, so derivatives come from the same
    computation with Q formed explicitly (equal results, to rounding).
    """

    @jax.custom_jvp
    def fit(ys):
        return _solve(_reduce(ys, "qr", tlsq_rank), ys, r, exact, fb)

    @fit.defjvp
    def fit_jvp(primals, tangents):
        def explicit(ys):
            return _solve(_reduce(ys, "qr_explicit", tlsq_rank), ys, r, exact, fb)

        return jax.jvp(explicit, primals, tangents)

    return fit(ys)


@functools.partial(jax.jit, static_argnames=("r", "exact", "fb", "tlsq_rank", "svd"))
def _fit_traced(ys, r: int, exact: bool, fb: bool, tlsq_rank: int, svd: str):
    """The fit at a fixed rank inside `jit`/`vmap`/`grad`: the automatic choice as a `lax.cond`.

    Under `vmap` the whole batch takes one route (see `every_system`): Gram when it is
    accurate for every system, QR (after the Gram attempt) otherwise.
    """
    method = _first_method(svd, ys)
    if method == "qr":
        return _qr_fit(ys, r, exact, fb, tlsq_rank)
    red = _reduce(ys, method, tlsq_rank)
    if svd != "auto" or method != "gram":
        return _solve(red, ys, r, exact, fb)
    dtype = red.s.dtype
    ok = within_gram_range(red.s, r, dtype, red.scale)
    if tlsq_rank > 0:
        tls_scale = jnp.maximum(red.s_tls[0], red.scale)
        ok = ok & within_gram_range(red.s_tls, tlsq_rank, dtype, tls_scale)
    return jax.lax.cond(
        every_system(ok),
        lambda: _solve(red, ys, r, exact, fb),
        lambda: _qr_fit(ys, r, exact, fb, tlsq_rank),
    )
