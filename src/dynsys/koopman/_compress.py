"""Tall data Z = Q·R reduced to its small factor R (Householder or Gram), and when each is accurate.

A DMD (or HAVOK) fit of tall data needs only R and the product of Q with a few small
matrices at the end: every other step works on `R` (columns × columns). There are two ways
to get an R:

- Householder QR (`"qr"`): backward stable; Q is never formed, its product with the
  r columns the result needs is applied from the Householder reflectors (`ormqr`).
- The Gram matrix (`"gram"`): ZᴴZ = E Λ Eᴴ by `eigh`, R = Λ^{1/2} Eᴴ, Q = Z E Λ^{−1/2}.
  One matrix product instead of a QR factorisation (about 2× fewer flops, all of them in
  GEMM), but squaring Z squares its condition: σ_i has relative error about
  ε·(σ₁/σ_i)², so singular values below √ε·σ₁ carry no digits at all.

[`gram_is_accurate`][] decides from the Gram route's own singular values whether its answer
is as good as QR's for the truncation asked for; [`every_system`][] makes that choice
once for a `vmap`ped batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.lax.linalg import ormqr
from jaxtyping import Array

from .._validation import is_traced
from ._rank import rank_interval, select_rank

_HIGHEST = jax.lax.Precision.HIGHEST

SVD_METHODS = ("auto", "qr", "gram", "direct")


def check_svd_method(svd: Any) -> str:
    """Validate the `svd` option: one of `SVD_METHODS`."""
    if svd not in SVD_METHODS:
        raise ValueError(f"`svd` must be one of {SVD_METHODS}, got {svd!r}.")
    return svd


class Factor(eqx.Module):
    """Q of Z = Q·R in the form cheapest to multiply: `lift(c, z)` = Q·c.

    `kind` is `"none"` (Q = I: the data were not reduced), `"qr"` (Householder reflectors
    `a` in the `(k, n)` layout of `jnp.linalg.qr(mode="raw")`, scalars `b`, applied with
    `ormqr` without forming Q), `"qr_explicit"` (Q = `a`, formed: the differentiable twin
    of `"qr"`) or `"gram"` (Q = Z·`b`). Z itself is not kept (it is the caller's data):
    `lift` gets it.
    """

    a: Array | None
    b: Array | None
    kind: str = eqx.field(static=True)

    def lift(self, c: Array, z: Array) -> Array:
        """Q·c for c `(k, p)`, k the rows of R and z `(n, k)` the data; returns `(n, p)`."""
        if self.kind == "none":
            return c
        if self.kind == "qr":
            k, n = self.a.shape
            padded = jnp.zeros((n, c.shape[1]), self.a.dtype).at[:k].set(c.astype(self.a.dtype))
            return ormqr(self.a.mT, self.b, padded)
        if self.kind == "qr_explicit":
            return jnp.matmul(self.a, c.astype(self.a.dtype), precision=_HIGHEST)
        small = jnp.matmul(self.b, c.astype(self.b.dtype), precision=_HIGHEST)
        return jnp.matmul(z, small, precision=_HIGHEST)


def compress(z: Array, method: str) -> tuple[Array, Factor]:
    """R and Q (as a [`Factor`][]) of a matrix `z` `(n, k)` with Z = Q·R.

    - `"qr"` / `"qr_explicit"`: Householder QR, R `(k, k)` upper triangular (for n > k).
    - `"gram"`: R = Λ^{1/2} Eᴴ `(k, k)` from ZᴴZ = E Λ Eᴴ (for n > k). Eigenvalues at or
      below ε²·λ_max (rounding noise, or negative) are dropped: that changes ZᴴZ by less
      than its own rounding error.
    - `"none"`: R = Z, Q = I.
    """
    n, k = z.shape
    if method == "none" or n <= k:
        return z, Factor(None, None, "none")
    if method == "qr":
        h, tau = jnp.linalg.qr(z, mode="raw")
        return jnp.triu(h[:, :k].mT), Factor(h, tau, "qr")
    if method == "qr_explicit":
        q, r = jnp.linalg.qr(z)
        return r, Factor(q, None, "qr_explicit")
    g = jnp.matmul(z.conj().T, z, precision=_HIGHEST)
    lam, e = jnp.linalg.eigh(g)
    eps = jnp.finfo(lam.dtype).eps
    keep = lam > eps**2 * jnp.max(lam)
    safe = jnp.where(keep, lam, jnp.ones_like(lam))
    root = jnp.where(keep, jnp.sqrt(safe), jnp.zeros_like(lam))
    inv_root = jnp.where(keep, 1.0 / jnp.sqrt(safe), jnp.zeros_like(lam))
    r = root[:, None].astype(e.dtype) * e.conj().T
    return r, Factor(None, e * inv_root[None, :].astype(e.dtype), "gram")


def gram_margin(dtype) -> float:
    """The smallest σ_r/σ₁ at which the Gram route is used: ε^{1/8} of the dtype.

    The Gram route's errors are those of the backward-stable QR route times at most
    κ_r = σ₁/σ_r (singular values: ε·κ_r² instead of ε·κ_r; singular subspaces:
    ε·σ₁²/(σ_r² − σ_{r+1}²) instead of ε·σ₁/(σ_r − σ_{r+1})). Requiring κ_r <= ε^{−1/8}
    bounds the relative error of every kept singular value by ε^{3/4}, the same "3/4 of the
    digits kept" line as the ill-conditioning warning, and the loss against QR to a factor
    ε^{−1/8}: 90 (< 2 digits; errors below 2e-12) in float64, 7 (< 1 digit; errors below
    7e-6) in float32. A looser line such as σ_r/σ₁ >= 1e3·√ε would allow errors of 1e-6 in
    either precision: in float64 that is 10⁵ times what QR returns.
    """
    return float(jnp.finfo(dtype).eps) ** 0.125


def within_gram_range(s, r: int, dtype, scale=None):
    """σ_r >= `gram_margin`·σ₁ (and σ₁ > 0), for numpy arrays or traced JAX arrays.

    `scale` (default σ₁ = `s[0]`) is an upper bound on the largest singular value of the
    matrix whose Gram was formed, when `s` belongs to a part of it (X within Z): the Gram
    route's rounding error scales with that matrix's σ₁².
    """
    top = s[0] if scale is None else scale
    return (s[r - 1] >= gram_margin(dtype) * top) & (top > 0)


@jax.custom_batching.custom_vmap
def every_system(ok: Array) -> Array:
    """`ok` itself; under `jax.vmap`, whether `ok` holds for every system (unbatched).

    Makes a route choice `lax.cond(every_system(ok), gram, qr)` stay a branch under `vmap`
    instead of becoming a select that runs both routes for every system: the batch takes
    the Gram route when it is accurate for all of its systems, the QR route otherwise.
    """
    return ok


@every_system.def_vmap
def _every_system_vmap(axis_size: int, in_batched: list[bool], ok: Array):
    del axis_size
    return (jnp.all(ok) if in_batched[0] else ok), False


def gram_is_accurate(
    s, r: int, rule: int | float, shape: tuple[int, int], dtype, scale=None
) -> bool:
    """Whether the Gram route's answer at rank `r` is as good as the QR route's (host side).

    **Arguments:**

    - `s`: the singular values the Gram route computed, decreasing, `(k,)`.
    - `r`: the rank that `rule` selected from them.
    - `rule`: the rank rule (PyDMD's `svd_rank`).
    - `shape`: `(n, m)` of the matrix the singular values belong to.
    - `dtype`: the precision of the computation.
    - `scale`: an upper bound on σ₁ of the matrix Z whose Gram was formed (default `s[0]`;
      see [`within_gram_range`][]).

    **Returns:** True when σ_r is inside the accurate range (see [`gram_margin`][]) and,
    for a rule that reads the spectrum (energy fraction, optimal hard threshold), the rank
    it selects cannot change when every σ_i² moves by the Gram route's rounding error
    η = max(n, m)·ε·σ₁(Z)² (Weyl's bound for the eigenvalues of the computed ZᴴZ).
    """
    s = np.asarray(s, dtype=np.float64)
    top = float(s[0] if scale is None else scale)
    if not bool(within_gram_range(s, r, dtype, top)):
        return False
    if isinstance(rule, int) and rule != 0:
        return True
    eta = max(shape) * float(jnp.finfo(dtype).eps) * top**2
    lo = np.sqrt(np.clip(s**2 - eta, 0.0, None))
    hi = np.sqrt(s**2 + eta)
    return rank_interval(lo, hi, shape, rule) == (r, r)


def reduce_and_rank(
    reduce: Callable[[str], tuple[Any, Array, Any]],
    method: str,
    auto: bool,
    shape: tuple[int, int],
    rule: int | float,
    also_accurate: Callable[[Any], bool] | None = None,
):
    """Reduce concrete data with `method`, select the rank, and apply the automatic choice.

    With `auto` and `method == "gram"`, the Gram route's answer is kept only where
    [`gram_is_accurate`][] (and `also_accurate(reduced)`, if given) says so; otherwise the
    data are reduced again by Householder QR and the rank is selected from its singular
    values. Warnings of the rank rule are those of the route kept.

    **Arguments:** `reduce(method) -> (reduced, singular values, scale)`, `scale` as in
    [`gram_is_accurate`][] (or None); `shape` `(n, m)` of the data matrix; `rule` the rank
    rule.

    **Returns:** `(reduced, rank, route)`, or None when the singular values are traced.
    """
    red, s, scale = reduce(method)
    if is_traced(s):
        return None
    if not (auto and method == "gram"):
        return red, select_rank(np.asarray(s), shape, rule), method
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = select_rank(np.asarray(s), shape, rule)
    scale = None if scale is None else float(scale)
    if gram_is_accurate(s, r, rule, shape, s.dtype, scale) and (
        also_accurate is None or also_accurate(red)
    ):
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=2)
        return red, r, "gram"
    red, s, _ = reduce("qr")
    return red, select_rank(np.asarray(s), shape, rule), "qr"
