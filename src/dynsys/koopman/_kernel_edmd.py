"""Kernel EDMD: EDMD in the feature space of a kernel (Williams, Rowley & Kevrekidis 2015)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex

from .._serialization import register_loadable
from .._validation import as_array, check_int, check_positive
from ._data import warn_ill_conditioned
from ._dmd import _powers
from ._edmd import check_pairs, pairs_from_trajectories
from ._eig import complex_dtype, eig
from ._rank import check_rank_spec, select_rank
from ._saving import register_result

_KERNELS = ("gaussian", "laplacian", "polynomial", "linear")


class Kernel(eqx.Module):
    """A positive-definite kernel k(x, y) on states.

    `"gaussian"` e^{−γ‖x−y‖²}, `"laplacian"` e^{−γ‖x−y‖₁}, `"polynomial"` (γ x·y + c₀)^degree,
    `"linear"` x·y, or a user function `fn(x, y) -> scalar` (vmapped).
    """

    kind: str | Callable = eqx.field(static=True)
    gamma: float = eqx.field(static=True, default=1.0)
    degree: int = eqx.field(static=True, default=2)
    coef0: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        if not callable(self.kind) and self.kind not in _KERNELS:
            raise ValueError(f"`kind` must be one of {_KERNELS} or a callable, got {self.kind!r}.")
        check_positive(self.gamma, "gamma")
        check_int(self.degree, "degree", minimum=1)

    def gram(self, a: Array, b: Array) -> Array:
        """The matrix k(a_i, b_j), `(len(a), len(b))`."""
        if callable(self.kind):
            out = jax.vmap(lambda u: jax.vmap(lambda v: self.kind(u, v))(b))(a)
            if out.shape != (a.shape[0], b.shape[0]):
                raise ValueError(
                    f"the kernel function must return a scalar per pair, got shape {out.shape}."
                )
            return out.astype(a.dtype)
        if self.kind == "linear":
            return a @ b.T
        if self.kind == "polynomial":
            return (self.gamma * (a @ b.T) + self.coef0) ** self.degree
        if self.kind == "gaussian":
            d2 = jnp.sum(a**2, 1)[:, None] + jnp.sum(b**2, 1)[None, :] - 2 * a @ b.T
            return jnp.exp(-self.gamma * jnp.clip(d2, 0.0, None))
        return jnp.exp(-self.gamma * jnp.sum(jnp.abs(a[:, None] - b[None]), -1))


def _kernel_hyperparameters(kernel: Kernel) -> dict:
    if callable(kernel.kind):
        raise ValueError(
            "Cannot save a Kernel whose `kind` is a Python function "
            f"({getattr(kernel.kind, '__qualname__', kernel.kind)!r}): a dynsys file holds "
            f"arrays and settings, never code. Built-in kinds save: {_KERNELS}."
        )
    return {
        "kind": kernel.kind,
        "gamma": float(kernel.gamma),
        "degree": int(kernel.degree),
        "coef0": float(kernel.coef0),
    }


register_loadable(Kernel, hyperparameters=_kernel_hyperparameters, template=lambda hp: Kernel(**hp))


class KernelEDMDResult(eqx.Module):
    """A fitted kernel EDMD.

    **Fields:** `eigenvalues` `(r,)`; `coefficients` `(M, r)` = QΣ⁺V̂ so that
    φ(x) = k(x, X)·coefficients; `modes` `(r, dim)` with x ≈ Σ_k φ_k(x) modes_k; the
    training states `x_train` `(M, dim)`, `kernel`, `singular_values` (√ of the Gram
    eigenvalues, decreasing), `dt`.
    """

    eigenvalues: Complex[Array, " r"]
    coefficients: Array
    modes: Array
    x_train: Array
    kernel: Kernel
    singular_values: Array
    dt: float = eqx.field(static=True)

    @property
    def continuous_eigenvalues(self) -> Complex[Array, " r"]:
        """log(λ)/dt."""
        return jnp.log(self.eigenvalues) / self.dt

    def eigenfunctions(self, xs: Any) -> Complex[Array, "*samples r"]:
        """φ_k(x) = k(x, X) Q Σ⁺ v̂_k at states `xs` `(samples, dim)`."""
        xs = as_array(xs, "xs").astype(self.x_train.dtype)
        single = xs.ndim == 1
        xs = xs[None] if single else xs
        out = self.kernel.gram(xs, self.x_train).astype(self.coefficients.dtype) @ (
            self.coefficients
        )
        return out[0] if single else out

    def predict(self, x0: Any, n_steps: int) -> Array:
        """x_n = Re Σ_k λ_k^n φ_k(x0) modes_k, n = 0..n_steps: `(n_steps+1, dim)` (or batched)."""
        n_steps = check_int(n_steps, "n_steps", minimum=0)
        phi = self.eigenfunctions(x0)
        p = _powers(self.eigenvalues, jnp.arange(n_steps + 1, dtype=self.x_train.dtype))
        if phi.ndim == 1:
            return jnp.real((p * phi[None]) @ self.modes)
        return jnp.real((p[None] * phi[:, None]) @ self.modes)


register_result(
    KernelEDMDResult,
    arrays=("eigenvalues", "coefficients", "modes", "x_train", "singular_values"),
    static=("dt",),
    nested=("kernel",),
)


class KernelEDMD(eqx.Module):
    """Kernel EDMD (Williams, Rowley & Kevrekidis, J. Comput. Dyn. 2, 2015).

    With Ĝ_ij = k(x_i, x_j) and Â_ij = k(y_i, x_j) (M×M), Ĝ = QΣ²Qᵀ truncated by the rank
    rule, the Koopman matrix on the kernel's principal components is
    K̂ = (Σ⁺Qᵀ) Â (QΣ⁺) (r×r); K̂v̂ = λv̂ gives eigenvalues and eigenfunctions
    φ(x) = k(x, X)QΣ⁺v̂. A dictionary of dimension far beyond M (even infinite, Gaussian
    kernel) at the cost of M×M matrices. Same algorithm as PyDMD's `EDMD`.

    **Arguments:** `kernel` (a [`Kernel`][dynsys.koopman.Kernel]), `rank` (PyDMD's rule on
    the √ Gram eigenvalues; default −1 full).

    ```python
    res = KernelEDMD(Kernel("polynomial", degree=4), rank=15).fit_pairs(x, y)
    ```
    """

    kernel: Kernel
    rank: int | float = eqx.field(static=True, default=-1)

    def __check_init__(self):
        if not isinstance(self.kernel, Kernel):
            raise TypeError(f"`kernel` must be a Kernel, got {type(self.kernel).__name__}.")
        check_rank_spec(self.rank)

    def fit(self, ys: Any, *, dt: float = 1.0) -> KernelEDMDResult:
        """Fit to trajectories `(time, dim)` or `(batch, time, dim)` (pairs without seams)."""
        x, y = pairs_from_trajectories(ys)
        return self.fit_pairs(x, y, dt=dt)

    def fit_pairs(self, x: Any, y: Any, *, dt: float = 1.0) -> KernelEDMDResult:
        """Fit to snapshot pairs `x`, `y` `(M, dim)`."""
        x, y, _ = check_pairs(x, y, None)
        g = self.kernel.gram(x, x)
        a = self.kernel.gram(y, x)
        evals, q = jnp.linalg.eigh(g)
        evals, q = evals[::-1], q[:, ::-1]
        s = jnp.sqrt(jnp.clip(evals, 0.0, None))
        r = select_rank(np.asarray(s), (x.shape[0], x.shape[0]), self.rank)
        warn_ill_conditioned(s, r, s.dtype, "the kernel Gram matrix (square roots)")
        lam, coef, modes = _kedmd_core(q, s, a, x, r)
        return KernelEDMDResult(
            eigenvalues=lam,
            coefficients=coef,
            modes=modes,
            x_train=x,
            kernel=self.kernel,
            singular_values=s,
            dt=float(dt),
        )


@jax.jit
def _kedmd_core_impl(qs, s_inv, a, x):
    k_hat = (qs * s_inv[None, :]).T @ a @ (qs * s_inv[None, :])
    lam, v = eig(k_hat)
    cdt = complex_dtype(k_hat.dtype)
    coef = (qs * s_inv[None, :]).astype(cdt) @ v
    # Φ_X = Ĝ Q Σ⁺ V̂ = Q Σ V̂ on the training states.
    phi_x = (qs * (1.0 / s_inv)[None, :]).astype(cdt) @ v
    modes = jnp.linalg.lstsq(phi_x, x.astype(cdt))[0]
    return lam, coef, modes


def _kedmd_core(q, s, a, x, r: int):
    return _kedmd_core_impl(q[:, :r], 1.0 / s[:r], a, x)
