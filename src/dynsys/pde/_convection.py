"""The conservative convection nonlinearity −½ c Σ_d ∂_d(u²), pseudo-spectral and dealiased."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Complex


def convection_hat(
    u_hat: Complex[Array, " channels *modes"],
    ik: Complex[Array, " dims *modes"],
    mask: Complex[Array, " *modes"],
    scale: float,
    num_points: int,
) -> Complex[Array, " channels *modes"]:
    """Fourier coefficients of the dealiased convection term −½ c Σ_d ∂_d(u²).

        N̂ = −½ c · M · (Σ_d i k_d) · F[(F⁻¹ û)²],

    with F the real FFT over the D spatial axes and M the dealiasing mask. The square is
    taken in physical space and the derivative in Fourier space (pseudo-spectral); the
    conservative form leaves the zero mode, hence the spatial mean of u, untouched. This is
    the scalar form (advection along the diagonal; u u_x in 1-D) shared by the
    [`Burgers`][dynsys.pde.Burgers] and [`KortewegDeVries`][dynsys.pde.KortewegDeVries]
    steppers, which validate their inputs; no checks here.

    **Arguments:**

    - `u_hat`: `jnp.fft.rfftn` of the state over its spatial axes, shape
      `(channels, N, ..., N, N//2 + 1)`, complex.
    - `ik`: i times the angular wavenumbers, shape `(D, N, ..., N, N//2 + 1)`, complex
      (see [`wavenumbers`][dynsys.pde.wavenumbers]).
    - `mask`: dealiasing mask (1 on kept modes, 0 elsewhere), shape `(N, ..., N//2 + 1)`,
      complex.
    - `scale`: convection scale c.
    - `num_points`: points N per spatial axis (the length the inverse FFT restores).

    **Returns:** N̂, shape of `u_hat`.
    """
    axes = tuple(range(-ik.shape[0], 0))
    u = jnp.fft.irfftn(u_hat, s=(num_points,) * ik.shape[0], axes=axes)
    sq_hat = jnp.fft.rfftn(u * u, axes=axes)
    # Scale, mask and derivative are multiplied first and the transform last: a different
    # order of these complex products rounds differently.
    return (-0.5 * scale) * mask * jnp.sum(ik, axis=0) * sq_hat
