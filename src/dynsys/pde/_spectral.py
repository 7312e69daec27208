"""Pseudo-spectral ETDRK4 steppers on periodic hypercubes (Cox–Matthews / Kassam–Trefethen)."""

from __future__ import annotations

import dataclasses
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import check_int, check_positive, check_real
from ._convection import convection_hat
from ._protocol import AbstractStepper


def wavenumbers(num_spatial_dims: int, domain_extent: float, num_points: int) -> np.ndarray:
    """Angular wavenumbers of the real FFT grid, shape `(D, N, ..., N, N//2 + 1)`.

    Axis `d` of the result holds k_d = 2π m / L for the integer mode m of spatial axis `d`
    (`fftfreq` on every axis but the last, `rfftfreq` on the last), matching
    `jnp.fft.rfftn` over the spatial axes.

    **Arguments:** `num_spatial_dims` (D), `domain_extent` (L), `num_points` (N).

    **Returns:** numpy array of shape `(D, N, ..., N, N//2 + 1)`.
    """
    num_spatial_dims = check_int(num_spatial_dims, "num_spatial_dims", minimum=1)
    domain_extent = check_positive(domain_extent, "domain_extent")
    num_points = check_int(num_points, "num_points", minimum=1)
    freqs = [np.fft.fftfreq(num_points, 1.0 / num_points)] * (num_spatial_dims - 1)
    freqs.append(np.fft.rfftfreq(num_points, 1.0 / num_points))
    grids = np.meshgrid(*freqs, indexing="ij")
    return np.stack(grids) * (2.0 * np.pi / domain_extent)


def _dealias_mask(num_spatial_dims: int, num_points: int, fraction: float) -> np.ndarray:
    """Keep the modes with |m_d| <= fraction · N/2 on every axis (the 2/3 rule by default)."""
    m = wavenumbers(num_spatial_dims, 2.0 * np.pi, num_points)
    cutoff = fraction * (num_points // 2)
    return np.all(np.abs(m) <= cutoff, axis=0)


def etdrk4_coefficients(
    linear: np.ndarray, dt: float, *, num_circle_points: int = 16, circle_radius: float = 1.0
) -> tuple[np.ndarray, ...]:
    """ETDRK4 coefficients of Cox & Matthews (2002) by the Kassam–Trefethen contour integral.

    For the diagonal linear operator L (Fourier symbol) and h = dt, with z = hL:

        E  = e^{z},   E2 = e^{z/2},
        Q  = h · φ̄[(e^{r/2} − 1) / r],
        f1 = h · φ̄[(−4 − r + e^{r}(4 − 3r + r²)) / r³],
        f2 = h · φ̄[(2 + r + e^{r}(r − 2)) / r³],
        f3 = h · φ̄[(−4 − 3r − r² + e^{r}(4 − r)) / r³],

    where φ̄[g] is the mean of g(z + ρ e^{iθ_j}) over `num_circle_points` points on a circle of
    radius ρ around each z (Kassam & Trefethen 2005, SIAM J. Sci. Comput. 26, 1214), which
    evaluates these functions without the cancellation of the direct formulas at small |z|.
    The mean over a full circle works for complex (dispersive) symbols as well.

    **Arguments:**

    - `linear`: Fourier symbol of L, any shape, real or complex (numpy).
    - `dt`: time step h > 0.
    - `num_circle_points`, `circle_radius`: contour discretisation (keywords).

    **Returns:** `(E, E2, Q, f1, f2, f3)`, complex128 numpy arrays of the shape of `linear`.

    Raises a `ValueError` when Re(z) + `circle_radius` exceeds the float64 range of the
    exponential (an operator that grows faster than e^700 per step).
    """
    if linear is None or isinstance(linear, str | bytes):
        raise TypeError(f"`linear` must be an array of numbers, got {linear!r}.")
    linear = np.asarray(linear)
    if linear.dtype.kind not in "iufc":
        raise TypeError(f"`linear` must hold real or complex numbers, got dtype {linear.dtype}.")
    if not np.all(np.isfinite(linear)):
        raise ValueError("`linear` contains NaN or infinite values.")
    dt = check_positive(dt, "dt")
    num_circle_points = check_int(num_circle_points, "num_circle_points", minimum=1)
    circle_radius = check_positive(circle_radius, "circle_radius")
    z = np.asarray(linear, dtype=np.complex128) * dt
    growth = (float(np.max(z.real)) if z.size else 0.0) + circle_radius
    if growth > _MAX_EXPONENT:
        raise ValueError(
            f"Re(`linear`·`dt`) + `circle_radius` reaches {growth:.3g}: e^z overflows float64 "
            f"(limit {_MAX_EXPONENT}); the linear operator grows too fast over one step "
            "(check its coefficients, or lower `dt`)."
        )
    theta = 2.0 * np.pi * (np.arange(num_circle_points) + 0.5) / num_circle_points
    r = z[..., None] + circle_radius * np.exp(1j * theta)
    er = np.exp(r)
    q = dt * np.mean((np.exp(r / 2) - 1.0) / r, axis=-1)
    f1 = dt * np.mean((-4.0 - r + er * (4.0 - 3.0 * r + r**2)) / r**3, axis=-1)
    f2 = dt * np.mean((2.0 + r + er * (r - 2.0)) / r**3, axis=-1)
    f3 = dt * np.mean((-4.0 - 3.0 * r - r**2 + er * (4.0 - r)) / r**3, axis=-1)
    return np.exp(z), np.exp(z / 2), q, f1, f2, f3


_MAX_EXPONENT = 700.0  # e^700 ≈ 1e304, just inside float64


def _complex_dtype(dtype: Any) -> Any:
    return jnp.complex128 if dtype == jnp.float64 else jnp.complex64


class AbstractSpectralStepper(AbstractStepper):
    """Semi-linear PDE u_t = L u + N(u) on [0, L)^D, periodic, stepped with ETDRK4.

    The linear part acts exactly in Fourier space; the nonlinear part N is evaluated
    pseudo-spectrally (products in physical space, derivatives in Fourier space) with
    dealiasing of N̂ (keep |m_d| <= fraction·N/2 on every axis; 2/3 rule by default), and
    integrated with the fourth-order exponential time differencing Runge–Kutta scheme of
    Cox & Matthews (2002) in the stable form of Kassam & Trefethen (2005):

        a = E2 v + Q N̂(v),  b = E2 v + Q N̂(a),  c = E2 a + Q (2 N̂(b) − N̂(v)),
        v_next = E v + f1 N̂(v) + 2 f2 (N̂(a) + N̂(b)) + f3 N̂(c),

    with v = û. Grid points x_j = j L / N, j = 0..N−1 (exponax's convention). Fourth order in
    dt for smooth solutions, exact for linear problems (N = 0).

    Subclasses define the Fourier symbol (`_linear_symbol(k)`, k of shape
    `(D, N, ..., N//2+1)`) and the nonlinear term in Fourier space
    (`_nonlinear_hat(u_hat, ik, mask)` with `ik` = i·k, complex).
    """

    dt: float = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_points: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    domain_extent: float = eqx.field(static=True)
    _k: np.ndarray
    _mask: np.ndarray
    _linear: np.ndarray
    _coeffs: tuple

    def _setup(
        self,
        num_spatial_dims,
        domain_extent,
        num_points,
        dt,
        *,
        dealiasing_fraction=2 / 3,
        num_circle_points=16,
        circle_radius=1.0,
    ) -> None:
        self.num_spatial_dims = check_int(num_spatial_dims, "num_spatial_dims", minimum=1)
        if self.num_spatial_dims > 3:
            raise ValueError(f"`num_spatial_dims` must be 1, 2 or 3, got {num_spatial_dims}.")
        self.domain_extent = check_positive(domain_extent, "domain_extent")
        self.num_points = check_int(num_points, "num_points", minimum=4)
        self.dt = check_positive(dt, "dt")
        self.num_channels = 1
        self._k = wavenumbers(self.num_spatial_dims, self.domain_extent, self.num_points)
        self._mask = _dealias_mask(self.num_spatial_dims, self.num_points, dealiasing_fraction)
        self._linear = np.asarray(self._linear_symbol(self._k), dtype=np.complex128)
        try:
            self._coeffs = etdrk4_coefficients(
                self._linear,
                self.dt,
                num_circle_points=num_circle_points,
                circle_radius=circle_radius,
            )
        except ValueError as err:
            base = {"dt", "num_spatial_dims", "num_points", "num_channels", "domain_extent"}
            params = [f"`{f.name}`" for f in dataclasses.fields(self)
                      if f.name not in base and not f.name.startswith("_")]  # fmt: skip
            raise ValueError(
                f"{type(self).__name__}: the linear part L(k)·dt grows too fast for the "
                f"exponential integrator ({err}). Check {', '.join(params)}, `dt` and "
                "`domain_extent` (the largest wavenumber is π·num_points/domain_extent)."
            ) from err

    def _linear_symbol(self, k: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _nonlinear_hat(self, u_hat: jax.Array, ik: jax.Array, mask: jax.Array) -> jax.Array:
        raise NotImplementedError

    # -- helpers for subclasses ------------------------------------------------------------
    def _axes(self) -> tuple[int, ...]:
        return tuple(range(-self.num_spatial_dims, 0))

    def _fft(self, u: jax.Array) -> jax.Array:
        return jnp.fft.rfftn(u, axes=self._axes())

    def _ifft(self, u_hat: jax.Array) -> jax.Array:
        return jnp.fft.irfftn(
            u_hat, s=(self.num_points,) * self.num_spatial_dims, axes=self._axes()
        )

    def _consts(self, dtype):
        # Everything that multiplies Fourier coefficients is complex, so that the strict
        # dtype-promotion mode never sees a real-times-complex product.
        cdt = _complex_dtype(dtype)
        ik = jnp.asarray(self._k, dtype=cdt) * jnp.asarray(1j, dtype=cdt)
        mask = jnp.asarray(self._mask, dtype=cdt)
        coeffs = tuple(jnp.asarray(c, dtype=cdt) for c in self._coeffs)
        return ik, mask, coeffs

    def step(
        self, u: Float[Array, " channels *space"], *aux: Any
    ) -> Float[Array, " channels *space"]:
        """One ETDRK4 step of `u`, shape `(1, *space)` (no input checks)."""
        ik, mask, (e, e2, q, f1, f2, f3) = self._consts(u.dtype)
        nl = lambda vh: self._nonlinear_hat(vh, ik, mask)  # noqa: E731
        v = self._fft(u)
        nv = nl(v)
        a = e2 * v + q * nv
        na = nl(a)
        b = e2 * v + q * na
        nb = nl(b)
        c = e2 * a + q * (2.0 * nb - nv)
        nc = nl(c)
        v_next = e * v + f1 * nv + 2.0 * f2 * (na + nb) + f3 * nc
        return self._ifft(v_next).astype(u.dtype)

    def rhs(
        self, u: Float[Array, " channels *space"], *aux: Any
    ) -> Float[Array, " channels *space"]:
        """Continuous right-hand side L u + N(u) (pseudo-spectral, dealiased N)."""
        ik, mask, _ = self._consts(u.dtype)
        lin = jnp.asarray(self._linear, dtype=_complex_dtype(u.dtype))
        v = self._fft(u)
        return self._ifft(lin * v + self._nonlinear_hat(v, ik, mask)).astype(u.dtype)


def _grad_hat(u_hat, ik):
    """Fourier coefficients of ∂_d u for every axis d: shape (D, C, ...)."""
    return ik[:, None] * u_hat[None]


class Heat(AbstractSpectralStepper):
    """Heat (diffusion) equation u_t = ν Δu, periodic, exact in time (ETDRK4 with N = 0).

    **Arguments:** `num_spatial_dims` (1–3), `domain_extent` L, `num_points` N, `dt`;
    keyword `diffusivity` ν >= 0 (default 0.01).

    Analytic check: u0 = sin(2π x / L) decays as e^{−ν (2π/L)² t}.

    ```python
    s = Heat(1, 1.0, 64, dt=0.01, diffusivity=0.01)
    ```
    """

    diffusivity: float = eqx.field(static=True)

    def __init__(self, num_spatial_dims, domain_extent, num_points, dt, *, diffusivity=0.01):
        self.diffusivity = check_positive(diffusivity, "diffusivity", allow_zero=True)
        self._setup(num_spatial_dims, domain_extent, num_points, dt)

    def _linear_symbol(self, k):
        return -self.diffusivity * np.sum(k**2, axis=0)

    def _nonlinear_hat(self, u_hat, ik, mask):
        return jnp.zeros_like(u_hat)


class Burgers(AbstractSpectralStepper):
    """Viscous Burgers equation (scalar), u_t + ½ c Σ_d ∂_d(u²) = ν Δu, periodic, ETDRK4.

    In 1-D this is u_t + c u u_x = ν u_xx; in D dimensions the scalar form of exponax's
    `Burgers(single_channel=True)` (advection along the diagonal). The convection term is
    taken in conservative form, so the spatial mean is conserved exactly.

    **Arguments:** `num_spatial_dims`, `domain_extent` L, `num_points` N, `dt`; keywords
    `diffusivity` ν > 0 (default 0.1), `convection_scale` c (default 1.0).

    Analytic check: Cole–Hopf, u = −2ν ∂_x log φ with φ a heat solution.

    ```python
    s = Burgers(1, 2 * jnp.pi, 128, dt=0.01, diffusivity=0.05)
    ```
    """

    diffusivity: float = eqx.field(static=True)
    convection_scale: float = eqx.field(static=True)

    def __init__(
        self,
        num_spatial_dims,
        domain_extent,
        num_points,
        dt,
        *,
        diffusivity=0.1,
        convection_scale=1.0,
    ):
        self.diffusivity = check_positive(diffusivity, "diffusivity", allow_zero=True)
        self.convection_scale = check_real(convection_scale, "convection_scale")
        self._setup(num_spatial_dims, domain_extent, num_points, dt)

    def _linear_symbol(self, k):
        return -self.diffusivity * np.sum(k**2, axis=0)

    def _nonlinear_hat(self, u_hat, ik, mask):
        return convection_hat(u_hat, ik, mask, self.convection_scale, self.num_points)


class KuramotoSivashinsky(AbstractSpectralStepper):
    """Kuramoto–Sivashinsky equation u_t + ½|∇u|² + Δu + Δ²u = 0 (gradient-norm form), ETDRK4.

    The combustion (gradient-norm) form, valid in any dimension, as exponax's
    `KuramotoSivashinsky` with default scales. In 1-D, w = u_x satisfies the conservative
    form w_t + w w_x + w_xx + w_xxxx = 0. Chaotic for L ≳ 30 (1-D, L = 60 with N = 128
    is a standard choice).

    **Arguments:** `num_spatial_dims`, `domain_extent` L, `num_points` N, `dt`; keywords
    `gradient_norm_scale` (default 1), `second_order_scale` (default 1),
    `fourth_order_scale` (default 1): u_t + g/2 |∇u|² + s₂ Δu + s₄ Δ²u = 0;
    `zero_mode_fix` (default True, as exponax): drop the mean of the nonlinear term, so the
    spatial mean of u is conserved instead of drifting at rate −g/2 ⟨|∇u|²⟩ (the drift does
    not feed back into the dynamics, which only see ∇u).

    ```python
    s = KuramotoSivashinsky(1, 60.0, 128, dt=0.1)
    ```
    """

    gradient_norm_scale: float = eqx.field(static=True)
    second_order_scale: float = eqx.field(static=True)
    fourth_order_scale: float = eqx.field(static=True)
    zero_mode_fix: bool = eqx.field(static=True)

    def __init__(
        self,
        num_spatial_dims,
        domain_extent,
        num_points,
        dt,
        *,
        gradient_norm_scale=1.0,
        second_order_scale=1.0,
        fourth_order_scale=1.0,
        zero_mode_fix=True,
    ):
        if not isinstance(zero_mode_fix, bool | np.bool_):
            raise TypeError(f"`zero_mode_fix` must be True or False, got {zero_mode_fix!r}.")
        self.zero_mode_fix = bool(zero_mode_fix)
        self.gradient_norm_scale = check_real(gradient_norm_scale, "gradient_norm_scale")
        self.second_order_scale = check_real(second_order_scale, "second_order_scale")
        self.fourth_order_scale = check_real(fourth_order_scale, "fourth_order_scale")
        self._setup(num_spatial_dims, domain_extent, num_points, dt)

    def _linear_symbol(self, k):
        k2 = np.sum(k**2, axis=0)
        return self.second_order_scale * k2 - self.fourth_order_scale * k2**2

    def _nonlinear_hat(self, u_hat, ik, mask):
        grads = self._ifft(_grad_hat(u_hat, ik))
        norm2 = jnp.sum(grads * grads, axis=0)
        out = (-0.5 * self.gradient_norm_scale) * mask * self._fft(norm2)
        if self.zero_mode_fix:
            out = out.at[(..., *([0] * self.num_spatial_dims))].set(0.0)
        return out


class KortewegDeVries(AbstractSpectralStepper):
    """Korteweg–de Vries equation u_t + ½ c Σ_d ∂_d(u²) + δ Σ_d ∂_d³ u = −ε Δ²u, ETDRK4.

    With c = 6, δ = 1, ε = 0 in 1-D this is u_t + 6 u u_x + u_xxx = 0, whose soliton
    u = (s/2) sech²(√s (x − x₀ − s t)/2) moves at speed s. Mass ∫u is conserved exactly
    (conservative convection); ∫u² is conserved by the PDE for ε = 0. The optional
    hyper-diffusion ε damps the highest modes (exponax's `hyper_diffusivity`).

    **Arguments:** `num_spatial_dims`, `domain_extent` L, `num_points` N, `dt`; keywords
    `convection_scale` c (default 6), `dispersivity` δ (default 1), `hyper_diffusivity` ε
    (default 0).

    ```python
    s = KortewegDeVries(1, 40.0, 256, dt=1e-3)
    ```
    """

    convection_scale: float = eqx.field(static=True)
    dispersivity: float = eqx.field(static=True)
    hyper_diffusivity: float = eqx.field(static=True)

    def __init__(
        self,
        num_spatial_dims,
        domain_extent,
        num_points,
        dt,
        *,
        convection_scale=6.0,
        dispersivity=1.0,
        hyper_diffusivity=0.0,
    ):
        self.convection_scale = check_real(convection_scale, "convection_scale")
        self.dispersivity = check_real(dispersivity, "dispersivity")
        self.hyper_diffusivity = check_positive(
            hyper_diffusivity, "hyper_diffusivity", allow_zero=True
        )
        self._setup(num_spatial_dims, domain_extent, num_points, dt)

    def _linear_symbol(self, k):
        # −δ Σ_d (i k_d)³ = i δ Σ_d k_d³ ; −ε |k|⁴
        k2 = np.sum(k**2, axis=0)
        return 1j * self.dispersivity * np.sum(k**3, axis=0) - self.hyper_diffusivity * k2**2

    def _nonlinear_hat(self, u_hat, ik, mask):
        return convection_hat(u_hat, ik, mask, self.convection_scale, self.num_points)
