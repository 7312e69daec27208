"""Fixed points of piecewise-linear RNNs, one linear solve per subregion."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Complex, Float

from .._validation import check_int
from ._abstract import AbstractPLRNN
from ._symbolic import codes_to_patterns, patterns_to_codes


class FixedPoints(eqx.Module):
    """Fixed-point candidates of a PL map, one per examined subregion.

    **Fields** (R = number of subregions examined):

    - `points`: `(R, M)`, the solution z* of (I − J_D) z = c_D of each region D.
    - `patterns`: `(R, n_bits)` bool, the region each candidate was solved for.
    - `is_real`: `(R,)`, True when z* is finite and lies in its own region (a true fixed
      point of the map); False for *virtual* fixed points (outside their region) and for
      regions where I − J_D is singular.
    - `eigenvalues`: `(R, M)` complex, eigenvalues of the region's Jacobian J_D.
    - `is_stable`: `(R,)`, max |eigenvalue| < 1.

    `codes` gives the regions as integers, `spectral_radius` the max |eigenvalue|, and
    `real()` keeps the true fixed points only.
    """

    points: Float[Array, "n latent"]
    patterns: Bool[Array, "n bits"]
    is_real: Bool[Array, " n"]
    eigenvalues: Complex[Array, "n latent"]
    is_stable: Bool[Array, " n"]

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @property
    def codes(self) -> np.ndarray:
        """Integer region codes `(R,)` (bit i = pattern entry i; see `symbolic_code`)."""
        return patterns_to_codes(np.asarray(self.patterns))

    @property
    def spectral_radius(self) -> Float[Array, " n"]:
        """Largest eigenvalue modulus of each region's Jacobian, `(R,)`."""
        return jnp.max(jnp.abs(self.eigenvalues), axis=-1)

    def real(self) -> FixedPoints:
        """The same record restricted to the true fixed points."""
        keep = np.asarray(self.is_real)
        return jax.tree_util.tree_map(lambda x: x[keep], self)


def fixed_points(
    model: AbstractPLRNN,
    regions: Any = None,
    *,
    max_exhaustive_bits: int = 12,
) -> FixedPoints:
    """All fixed points of a piecewise-linear RNN, real and virtual, with their stability.

    On a subregion D the map is affine, F(z) = J_D z + c_D (`model.affine_piece`), so its
    only candidate fixed point is z* = (I − J_D)⁻¹ c_D. The candidate is *real* when it
    lies in D (its activation pattern is D), otherwise *virtual*. For the AL-RNN,
    J_D = diag(A) + W diag(1, …, 1, d) and c_D = h. Candidates are solved for all regions
    at once (vmapped, jit-compiled); stability from the eigenvalues of J_D.

    With `regions=None` every one of the 2^n_bits regions is examined, which is exact and
    complete but limited to `n_bits <= max_exhaustive_bits` (AL-RNNs with few ReLU units;
    small PLRNNs). Otherwise pass the regions to examine, e.g. the codes visited by a long
    trajectory (`symbolic_code`), or search with [`find_cycles`][] and `k=1`.

    Points exactly on a region boundary count as in the region where the unit is off
    (the pattern uses `> 0`).

    **Arguments:**

    - `model`: any [`AbstractPLRNN`][].
    - `regions`: `None` (all regions), integer codes `(R,)`, or boolean patterns
      `(R, n_bits)`; duplicates are removed.
    - `max_exhaustive_bits`: the most pattern bits for exhaustive enumeration.

    **Returns:** [`FixedPoints`][] with one row per region (sorted by code).

    ```python
    model = ALRNN(20, 2, 3, key=jax.random.key(0))
    fps = fixed_points(model)            # 4 regions
    fps.real().points                    # the true fixed points
    ```
    """
    if not isinstance(model, AbstractPLRNN):
        raise TypeError(f"`model` must be an AbstractPLRNN, got {type(model).__name__}.")
    max_exhaustive_bits = check_int(max_exhaustive_bits, "max_exhaustive_bits", minimum=0)
    patterns = region_patterns(model, regions, max_exhaustive_bits, "fixed_points")
    points, is_real, eigenvalues = _solve_fixed_points(model, jnp.asarray(patterns))
    return FixedPoints(
        points=points,
        patterns=jnp.asarray(patterns),
        is_real=is_real,
        eigenvalues=eigenvalues,
        is_stable=jnp.max(jnp.abs(eigenvalues), axis=-1) < 1,
    )


def region_patterns(
    model: AbstractPLRNN, regions: Any, max_exhaustive_bits: int, caller: str
) -> np.ndarray:
    """Validated, de-duplicated boolean patterns `(R, n_bits)` for `regions` (None: all)."""
    n_bits = model.n_region_bits
    if regions is None:
        if n_bits > max_exhaustive_bits:
            raise ValueError(
                f"The model has 2^{n_bits} subregions, more than the exhaustive limit "
                f"2^{max_exhaustive_bits} (`max_exhaustive_bits`); pass `regions` (e.g. the "
                f"visited codes from symbolic_code) or search with find_cycles(model, 1, key=...)."
            )
        return codes_to_patterns(np.arange(2**n_bits, dtype=np.int64), n_bits)
    arr = np.asarray(regions)
    if arr.dtype == bool:
        if arr.ndim != 2 or arr.shape[1] != n_bits:
            raise ValueError(
                f"Boolean `regions` must have shape (R, n_bits={n_bits}), got {arr.shape}."
            )
        patterns = arr
    elif np.issubdtype(arr.dtype, np.integer):
        if arr.ndim != 1:
            raise ValueError(f"Integer `regions` (codes) must be 1-D, got shape {arr.shape}.")
        patterns = codes_to_patterns(arr, n_bits)
    else:
        raise TypeError(
            f"`regions` for {caller} must be integer codes or boolean patterns, "
            f"got dtype {arr.dtype}."
        )
    if patterns.shape[0] == 0:
        raise ValueError("`regions` must name at least one region, got none.")
    patterns = np.unique(patterns, axis=0)
    order = np.lexsort(patterns.T) if n_bits else np.arange(patterns.shape[0])
    return patterns[order]


@eqx.filter_jit
def _solve_fixed_points(model: AbstractPLRNN, patterns):
    eye = jnp.eye(model.latent_dim, dtype=model.dtype)

    def one(pattern):
        jac, offset = model.affine_piece(pattern)
        z = jnp.linalg.solve(eye - jac, offset)
        finite = jnp.all(jnp.isfinite(z))
        in_region = jnp.all(model.activation_pattern(z) == pattern)
        return z, finite & in_region, jnp.linalg.eigvals(jac)

    return jax.vmap(one)(patterns)
