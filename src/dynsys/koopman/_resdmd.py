"""Residual DMD: verified EDMD eigenpairs and pseudospectra (Colbrook & Townsend 2024)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from .._validation import check_int, check_positive
from ._dictionaries import AbstractDictionary
from ._edmd import EDMD, EDMDResult, qr_residuals, residual_matrices
from ._eig import complex_dtype
from ._saving import register_result


class ResDMDResult(eqx.Module):
    """EDMD eigenpairs with their residuals, and the pseudospectrum of the Koopman operator.

    **Fields:** `edmd` (the [`EDMDResult`][dynsys.koopman.EDMDResult]), `residuals` `(N,)`:
    res(λ_k, φ_k) ≈ ‖(𝒦 − λ_k)φ_k‖/‖φ_k‖ for the infinite-dimensional operator 𝒦.
    """

    edmd: EDMDResult
    residuals: Float[Array, " n"]

    @property
    def eigenvalues(self) -> Complex[Array, " n"]:
        """All EDMD eigenvalues."""
        return self.edmd.eigenvalues

    def filtered(self, epsilon: float) -> tuple[Array, Array]:
        """Eigenvalues with residual <= `epsilon` and their eigenvectors (spurious ones removed).

        This is ResDMD's Algorithm 2 (Colbrook & Townsend): every kept λ lies within
        `epsilon` of the spectrum of 𝒦 (up to quadrature error). Runs on concrete arrays.

        **Returns:** `(eigenvalues (k,), eigenvectors (N, k))`.
        """
        check_positive(epsilon, "epsilon")
        keep = jnp.asarray(self.residuals) <= epsilon
        idx = jnp.nonzero(keep)[0]
        return self.edmd.eigenvalues[idx], self.edmd.eigenvectors[:, idx]

    def pseudospectrum(self, z: Any, *, batch_size: int = 256) -> Float[Array, "*grid"]:
        """τ(z) = min_g ‖(𝒦 − z)g‖/‖g‖ over the dictionary span, on any array of points z.

        In QR form τ(z) = σ_min([C1 − zI; C2]) with C1 = R12R11⁻¹, C2 = R22R11⁻¹ (a 2N×N
        matrix per z, independent of the number of snapshots M), vmapped over the grid in
        chunks of `batch_size`. The ε-pseudospectrum is approximated by {z : τ(z) < ε};
        τ(z) is an upper bound on the distance from z to the spectrum of 𝒦 (up to
        quadrature error) that converges as the dictionary grows.

        **Arguments:** `z` complex points, any shape.

        **Returns:** τ(z), same shape as `z`.
        """
        z = jnp.asarray(z)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        c1, c2 = residual_matrices(self.edmd.r11, self.edmd.r12, self.edmd.r22)
        return _tau(c1, c2, z.reshape(-1), batch_size).reshape(z.shape)


register_result(ResDMDResult, arrays=("residuals",), nested=("edmd",))


@eqx.filter_jit
def _tau(c1, c2, zs, batch_size):
    cdt = complex_dtype(c1.dtype)
    c1, c2 = c1.astype(cdt), c2.astype(cdt)
    eye = jnp.eye(c1.shape[0], dtype=cdt)

    def one(z):
        m = jnp.concatenate([c1 - z.astype(cdt) * eye, c2], 0)
        return jnp.linalg.svd(m, compute_uv=False)[-1]

    return jax.lax.map(one, zs.astype(cdt), batch_size=batch_size)


class ResDMD(eqx.Module):
    """Residual DMD (Colbrook & Townsend, CPAM 77, 2024; Colbrook, Ayton & Szőke, JFM 955, 2023).

    Fits [`EDMD`][dynsys.koopman.EDMD] and computes, for every eigenpair (λ, g = ψ·v),

        res(λ, g)² = ‖Ψ_Y v − λΨ_X v‖²_W / ‖Ψ_X v‖²_W
                   = vᴴ(L − λAᴴ − λ̄A + |λ|²G)v / vᴴGv,

    with L = Ψ_YᴴWΨ_Y, which measures ‖(𝒦 − λ)g‖/‖g‖ for the true operator (not only its
    projection), so spurious eigenvalues ("spectral pollution") have large residuals.
    The residual is computed in QR form from one thin QR [√WΨ_X, √WΨ_Y] =
    Q[[R11, R12], [0, R22]]: res = ‖[(R12 − λR11)v; R22 v]‖/‖R11 v‖, keeping the full
    precision that the Gram form (squared condition number) loses.

    **Arguments:** `dictionary` (any `AbstractDictionary`).

    ```python
    res = ResDMD(RBF(centres, width, kind="exp")).fit_pairs(x, y)
    lam, _ = res.filtered(1e-3)
    tau = res.pseudospectrum(zgrid)
    ```
    """

    dictionary: AbstractDictionary

    def fit(self, ys: Any, *, dt: float = 1.0) -> ResDMDResult:
        """Fit to trajectories `(time, dim)` or `(batch, time, dim)`."""
        return _with_residuals(EDMD(self.dictionary).fit(ys, dt=dt))

    def fit_pairs(self, x: Any, y: Any, *, weights: Any = None, dt: float = 1.0) -> ResDMDResult:
        """Fit to pairs `x`, `y` `(M, dim)` with quadrature weights `(M,)` (default 1/M)."""
        return _with_residuals(EDMD(self.dictionary).fit_pairs(x, y, weights=weights, dt=dt))


def _with_residuals(edmd: EDMDResult) -> ResDMDResult:
    res = qr_residuals(edmd.r11, edmd.r12, edmd.r22, edmd.eigenvalues, edmd.eigenvectors)
    return ResDMDResult(edmd=edmd, residuals=res)


def plot_pseudospectrum(
    result: ResDMDResult,
    *,
    x_range: tuple[float, float] = (-1.2, 1.2),
    y_range: tuple[float, float] = (-1.2, 1.2),
    n_grid: int = 100,
    levels: Any = (1e-2, 10**-1.5, 1e-1, 10**-0.5, 1.0),
    ax: Any = None,
):
    """EDMD eigenvalues coloured by residual over contours of τ(z) (the pseudospectrum).

    **Arguments:** the fitted `result`; the grid (`x_range` × `y_range`, `n_grid`² points);
    contour `levels` of τ; an optional matplotlib `ax`.

    **Returns:** the matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    n_grid = check_int(n_grid, "n_grid", minimum=2)
    xs = np.linspace(*x_range, n_grid)
    ys = np.linspace(*y_range, n_grid)
    zz = xs[None, :] + 1j * ys[:, None]
    tau = np.asarray(result.pseudospectrum(jnp.asarray(zz)))
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 5))
    else:
        fig = ax.figure
    cs = ax.contour(xs, ys, np.log10(tau), levels=np.log10(np.asarray(levels)), cmap="Greys_r")
    ax.clabel(cs, fmt=lambda v: f"$10^{{{v:.1f}}}$", fontsize=7)
    lam = np.asarray(result.eigenvalues)
    res = np.asarray(result.residuals)
    sc = ax.scatter(lam.real, lam.imag, c=np.log10(np.maximum(res, 1e-16)), s=12, cmap="viridis")
    fig.colorbar(sc, ax=ax, label=r"$\log_{10}$ residual")
    theta = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(theta), np.sin(theta), "k:", lw=0.8)
    ax.set_xlabel(r"Re $\lambda$")
    ax.set_ylabel(r"Im $\lambda$")
    ax.set_aspect("equal")
    ax.set_title("EDMD eigenvalues and pseudospectrum", fontsize=10)
    return fig
