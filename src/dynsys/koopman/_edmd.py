"""Extended DMD with a dictionary of observables (Williams, Kevrekidis & Rowley 2015)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from .._validation import as_array, check_finite, check_int, check_ndim
from ._data import check_snapshots, snapshot_pairs, warn_ill_conditioned
from ._dictionaries import AbstractDictionary, describe_dictionary
from ._dmd import _powers
from ._eig import complex_dtype, eig
from ._saving import register_result


def check_pairs(x: Any, y: Any, weights: Any):
    """Validate snapshot pairs `(M, dim)` and weights `(M,)`; return arrays."""
    x, y = as_array(x, "x"), as_array(y, "y")
    check_ndim(x, "x", 2, "(samples, dim)")
    if y.shape != x.shape:
        raise ValueError(f"`y` must have the shape of `x` {tuple(x.shape)}, got {tuple(y.shape)}.")
    if x.shape[0] < 1:
        raise ValueError("`x` must hold at least one snapshot pair.")
    check_finite(x, "x")
    check_finite(y, "y")
    if weights is None:
        w = jnp.full((x.shape[0],), 1.0 / x.shape[0], x.dtype)
    else:
        w = as_array(weights, "weights").astype(x.dtype)
        if w.shape != (x.shape[0],):
            raise ValueError(f"`weights` must have shape ({x.shape[0]},), got {tuple(w.shape)}.")
        check_finite(w, "weights")
        if not bool(jnp.all(w >= 0)):
            raise ValueError("`weights` must be non-negative quadrature weights.")
    return x, y, w


def pairs_from_trajectories(ys: Any):
    """Snapshot pairs `(M, dim)` from `(time, dim)` or `(batch, time, dim)` (no seams)."""
    ys, _ = check_snapshots(ys, "ys")
    x, y = snapshot_pairs(ys)
    return x.T, y.T


def lift(dictionary: AbstractDictionary, x: Any, y: Any):
    """Ψ_X, Ψ_Y `(M, N)` with a shape check of the dictionary output."""
    if not isinstance(dictionary, AbstractDictionary):
        raise TypeError(
            "`dictionary` must be a dynsys.koopman dictionary (Monomials, RBF, "
            "RandomFourierFeatures, FunctionDictionary, Concat...), got "
            f"{type(dictionary).__name__}."
        )
    px, py = dictionary.evaluate(x), dictionary.evaluate(y)
    check_finite(px, "dictionary(x)")
    check_finite(py, "dictionary(y)")
    if px.shape[1] > px.shape[0]:
        raise ValueError(
            f"the dictionary has N={px.shape[1]} functions but there are only M={px.shape[0]} "
            "snapshot pairs; EDMD needs M >= N (use fewer observables or more data)."
        )
    return px, py


@jax.jit
def _qr_blocks(px, py, w):
    """One thin QR of [√W Ψ_X, √W Ψ_Y]: returns R11, R12, R22 (each N×N)."""
    sw = jnp.sqrt(w)[:, None]
    n = px.shape[1]
    r = jnp.linalg.qr(jnp.concatenate([sw * px, sw * py], 1), mode="r")
    return r[:n, :n], r[:n, n:], r[n : 2 * n, n:] if r.shape[0] >= 2 * n else _pad(r, n)


def _pad(r, n):
    out = jnp.zeros((n, n), r.dtype)
    rows = r.shape[0] - n
    return out.at[:rows].set(r[n:, n:])


@jax.jit
def _edmd_core(r11, r12, px, x, w):
    k = jax.scipy.linalg.solve_triangular(r11, r12, lower=False)  # K = R11⁻¹ R12 = G⁺A
    lam, v = eig(k)
    cdt = complex_dtype(k.dtype)
    sw = jnp.sqrt(w)[:, None]
    b = jnp.linalg.lstsq(sw * px, sw * x)[0]  # x ≈ Ψ(x) B
    modes = jnp.linalg.solve(v, b.astype(cdt))  # x ≈ Σ_k φ_k(x) modes_k
    return k, lam.astype(cdt), v.astype(cdt), modes


class EDMDResult(eqx.Module):
    """A fitted EDMD: Koopman matrix, eigenvalues, eigenfunctions and Koopman modes.

    **Fields:**

    - `dictionary`: the observables ψ.
    - `koopman_matrix`: K = G⁺A `(N, N)`, acting on coefficient vectors: 𝒦(ψ·c) ≈ ψ·(Kc).
    - `eigenvalues`: λ `(N,)` complex (discrete time, per step `dt`).
    - `eigenvectors`: `(N, N)` complex, column k gives φ_k(x) = ψ(x)·v_k.
    - `modes`: Koopman modes `(N, dim)`: x ≈ Σ_k φ_k(x) modes[k].
    - `r11`, `r12`, `r22`: the R factor of the QR of [√WΨ_X, √WΨ_Y] (for residuals).
    - `dt`: time between x and y.
    """

    dictionary: AbstractDictionary
    koopman_matrix: Float[Array, "n n"]
    eigenvalues: Complex[Array, " n"]
    eigenvectors: Complex[Array, "n n"]
    modes: Complex[Array, "n dim"]
    r11: Array
    r12: Array
    r22: Array
    dt: float = eqx.field(static=True)

    @property
    def continuous_eigenvalues(self) -> Complex[Array, " n"]:
        """log(λ)/dt."""
        return jnp.log(self.eigenvalues) / self.dt

    def eigenfunctions(self, xs: Any) -> Complex[Array, "*samples n"]:
        """φ_k at states `xs` `(samples, dim)` (or one state `(dim,)`): ψ(x)·v_k."""
        xs = as_array(xs, "xs")
        single = xs.ndim == 1
        xs = xs[None] if single else xs
        psi = self.dictionary.evaluate(xs).astype(self.eigenvectors.dtype)
        out = psi @ self.eigenvectors
        return out[0] if single else out

    def predict(self, x0: Any, n_steps: int) -> Float[Array, "*batch time dim"]:
        """Linear Koopman forecast x_n = Re Σ_k λ_k^n φ_k(x0) modes_k, n = 0..n_steps.

        **Returns:** `(n_steps + 1, dim)` (or `(batch, n_steps + 1, dim)` for `x0` batched).
        """
        n_steps = check_int(n_steps, "n_steps", minimum=0)
        phi = self.eigenfunctions(x0)
        n = jnp.arange(n_steps + 1, dtype=self.koopman_matrix.dtype)
        powers = _powers(self.eigenvalues, n)
        if phi.ndim == 1:
            return jnp.real((powers * phi[None]) @ self.modes)
        return jnp.real((powers[None] * phi[:, None]) @ self.modes)


register_result(
    EDMDResult,
    arrays=("koopman_matrix", "eigenvalues", "eigenvectors", "modes", "r11", "r12", "r22"),
    static=("dt",),
    nested=("dictionary",),
    describe_nested=describe_dictionary,
)


class EDMD(eqx.Module):
    """Extended DMD: the Koopman operator compressed onto a dictionary of observables.

    With Ψ_X, Ψ_Y `(M, N)` the dictionary on snapshot pairs (x_j, y_j = F(x_j)) and
    quadrature weights W, K = G⁺A with G = Ψ_XᴴWΨ_X, A = Ψ_XᴴWΨ_Y (Williams, Kevrekidis &
    Rowley, J. Nonlinear Sci. 25, 2015). K is computed without forming G: a thin QR
    [√WΨ_X, √WΨ_Y] = Q[[R11, R12], [0, R22]] gives K = R11⁻¹R12 (the same factor gives
    ResDMD residuals). Eigenfunctions φ_k = ψ·v_k, modes from x ≈ Ψ(x)B.

    **Arguments:** `dictionary`: an `AbstractDictionary` (e.g. `Monomials(2, 4)`,
    `RBF(centres, ...)`, `Identity() + RandomFourierFeatures(...)`).

    ```python
    J = jnp.array([[0.9, -0.1], [0.0, 0.8]])
    x = jax.random.normal(jax.random.key(0), (500, 2)); y = x @ J.T
    res = EDMD(Monomials(dim=2, degree=4)).fit_pairs(x, y)
    res.eigenvalues   # {0.9^i 0.8^j : i + j <= 4}
    ```
    """

    dictionary: AbstractDictionary

    def __check_init__(self):
        if not isinstance(self.dictionary, AbstractDictionary):
            raise TypeError(
                f"`dictionary` must be an AbstractDictionary, got {type(self.dictionary).__name__}."
            )

    def fit(self, ys: Any, *, dt: float = 1.0) -> EDMDResult:
        """Fit to trajectories `(time, dim)` or `(batch, time, dim)` (pairs without seams)."""
        x, y = pairs_from_trajectories(ys)
        return self.fit_pairs(x, y, dt=dt)

    def fit_pairs(self, x: Any, y: Any, *, weights: Any = None, dt: float = 1.0) -> EDMDResult:
        """Fit to snapshot pairs `x`, `y` `(M, dim)` with optional weights `(M,)` (default 1/M)."""
        x, y, w = check_pairs(x, y, weights)
        px, py = lift(self.dictionary, x, y)
        r11, r12, r22 = _qr_blocks(px, py, w)
        warn_ill_conditioned(
            jnp.linalg.svd(r11, compute_uv=False), px.shape[1], px.dtype, "the dictionary matrix"
        )
        k, lam, v, modes = _edmd_core(r11, r12, px, x, w)
        return EDMDResult(
            dictionary=self.dictionary,
            koopman_matrix=k,
            eigenvalues=lam,
            eigenvectors=v,
            modes=modes,
            r11=r11,
            r12=r12,
            r22=r22,
            dt=float(dt),
        )


@jax.jit
def qr_residuals(r11, r12, r22, eigenvalues, eigenvectors):
    """ResDMD residuals in QR form: ‖[(R12 − λR11)v; R22 v]‖ / ‖R11 v‖ for each pair.

    Equal to ‖Ψ_Y v − λΨ_X v‖_W / ‖Ψ_X v‖_W without forming Gram matrices (which would
    square the condition number and lose half the digits).
    """
    cdt = eigenvectors.dtype
    r11, r12, r22 = r11.astype(cdt), r12.astype(cdt), r22.astype(cdt)
    top = r12 @ eigenvectors - (r11 @ eigenvectors) * eigenvalues[None, :]
    bottom = r22 @ eigenvectors
    num = jnp.sqrt(jnp.sum(jnp.abs(top) ** 2, axis=0) + jnp.sum(jnp.abs(bottom) ** 2, axis=0))
    return num / jnp.linalg.norm(r11 @ eigenvectors, axis=0)


def residual_matrices(r11, r12, r22):
    """C1 = R12 R11⁻¹, C2 = R22 R11⁻¹: τ(z) = σ_min([C1 − zI; C2])."""
    solve = jax.scipy.linalg.solve_triangular
    c1 = solve(r11.T, r12.T, lower=True).T
    c2 = solve(r11.T, r22.T, lower=True).T
    return c1, c2
