"""A small SINDy: sequentially thresholded least squares over a polynomial library."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._validation import as_array, check_finite, check_int, check_positive
from ._data import check_dt, check_snapshots
from ._dictionaries import Monomials
from ._finite_difference import finite_difference
from ._saving import register_result


class SINDyResult(eqx.Module):
    """A fitted SINDy model ẋ = Θ(x) Ξ.

    **Fields:** `coefficients` Ξ `(n_features, dim)` (exact zeros where thresholded),
    `library` (the [`Monomials`][dynsys.koopman.Monomials]).
    """

    coefficients: Float[Array, "features dim"]
    library: Monomials

    def rhs(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """The identified vector field at one state."""
        return self.library(x) @ self.coefficients.astype(x.dtype)

    def equations(self, precision: int = 3) -> list[str]:
        """Readable right-hand sides, e.g. `['-10 x0 + 10 x1', ...]`."""
        names = self.library.names()
        out = []
        for j in range(self.coefficients.shape[1]):
            terms = [
                f"{float(c):+.{precision}g} {n}"
                for c, n in zip(self.coefficients[:, j], names)
                if float(c) != 0.0
            ]
            out.append(" ".join(terms) if terms else "0")
        return out

    def simulate(self, x0: Any, n_steps: int, dt: float, *, substeps: int = 4) -> Array:
        """Integrate from `x0` `(dim,)` with classical RK4 (`substeps` per `dt`), `lax.scan`.

        **Returns:** `(n_steps + 1, dim)`, starting with `x0`.
        """
        x0 = as_array(x0, "x0")
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        substeps = check_int(substeps, "substeps", minimum=1)
        check_positive(dt, "dt")
        return _rk4(self, x0, n_steps, float(dt) / substeps, substeps)


register_result(SINDyResult, arrays=("coefficients",), nested=("library",))


@eqx.filter_jit
def _rk4(model, x0, n_steps: int, h: float, substeps: int):
    def sub(x, _):
        k1 = model.rhs(x)
        k2 = model.rhs(x + 0.5 * h * k1)
        k3 = model.rhs(x + 0.5 * h * k2)
        k4 = model.rhs(x + h * k3)
        return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None

    def step(x, _):
        x = jax.lax.scan(sub, x, None, length=substeps)[0]
        return x, x

    xs = jax.lax.scan(step, x0, None, length=n_steps)[1]
    return jnp.concatenate([x0[None], xs], 0)


class SINDy(eqx.Module):
    """Sparse identification of nonlinear dynamics (Brunton, Proctor & Kutz, PNAS 113, 2016).

    Derivatives by 2nd-order finite differences, library Θ = monomials up to `degree`,
    sequentially thresholded least squares (STLSQ): Ξ = argmin ‖Θ Ξ − Ẋ‖, then repeatedly
    zero |Ξ_ij| < `threshold` and refit each column on its remaining terms.

    **Arguments:** `degree`, `threshold` (>= 0), `n_iter` thresholding rounds.

    ```python
    res = SINDy(degree=2, threshold=0.1).fit(ys, dt=0.01)
    res.equations()
    ```
    """

    degree: int = eqx.field(static=True, default=2)
    threshold: float = eqx.field(static=True, default=0.1)
    n_iter: int = eqx.field(static=True, default=10)

    def __check_init__(self):
        check_int(self.degree, "degree", minimum=1)
        check_positive(self.threshold, "threshold", allow_zero=True)
        check_int(self.n_iter, "n_iter", minimum=0)

    def fit(self, ys: Any, *, dt: float) -> SINDyResult:
        """Fit to `(time, dim)` or `(batch, time, dim)` sampled every `dt` (>= 3 samples)."""
        ys, _ = check_snapshots(ys, "ys", min_time=3)
        dt = check_dt(dt)
        library = Monomials(ys.shape[2], self.degree)
        x = ys.reshape(-1, ys.shape[2])
        dx = jax.vmap(lambda y: finite_difference(y, dt))(ys).reshape(-1, ys.shape[2])
        theta = library.evaluate(x)
        check_finite(theta, "library(ys)")
        xi = _stlsq(theta, dx, self.threshold, self.n_iter)
        return SINDyResult(coefficients=xi, library=library)


@jax.jit
def _stlsq_impl(theta, dx, threshold, mask):
    def col(mask_j, dx_j):
        # Zeroed columns get exactly zero weight in the minimum-norm least-squares solution.
        m = mask_j.astype(theta.dtype)
        return jnp.linalg.lstsq(theta * m[None, :], dx_j)[0] * m

    xi = jax.vmap(col, in_axes=(1, 1), out_axes=1)(mask, dx)
    return xi, jnp.abs(xi) >= threshold


def _stlsq(theta, dx, threshold: float, n_iter: int):
    mask = jnp.ones((theta.shape[1], dx.shape[1]), bool)
    thr = jnp.asarray(threshold, theta.dtype)
    xi, new = _stlsq_impl(theta, dx, thr, mask)
    for _ in range(n_iter):
        mask = mask & new
        xi, new = _stlsq_impl(theta, dx, thr, mask)
    return xi
