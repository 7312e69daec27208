"""General (nonsymmetric) eigendecomposition with a host fallback off CPU."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _host_eig(a):
    w, v = np.linalg.eig(a)
    cdtype = np.complex128 if a.dtype in (np.float64, np.complex128) else np.complex64
    return w.astype(cdtype), v.astype(cdtype)


def eig(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues and right eigenvectors of a square matrix (LAPACK `geev`).

    On CPU this is `jnp.linalg.eig`. Nonsymmetric `eig` is not implemented (or unreliable)
    on GPU/TPU backends (jax-ml/jax#1259, #25687), so there the small matrix is sent to the
    host and decomposed with `numpy.linalg.eig` through `jax.pure_callback` (works under
    `jit` and `vmap`, not differentiable). On CPU, derivatives of the eigenvectors are
    enabled (`enable_eigvec_derivs=True`); they are valid for distinct eigenvalues only.
    The matrices decomposed here are r×r (DMD) or N×N (EDMD dictionaries), so the
    transfer is cheap.

    **Arguments:** `a`, shape `(..., n, n)`.

    **Returns:** `(w, v)`, shapes `(..., n)` and `(..., n, n)` complex, `a @ v = v * w`.
    """
    if jax.default_backend() == "cpu":
        w, v = jax.lax.linalg.eig(a, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
        return w, v
    cdtype = complex_dtype(a.dtype)
    shapes = (
        jax.ShapeDtypeStruct(a.shape[:-1], cdtype),
        jax.ShapeDtypeStruct(a.shape, cdtype),
    )
    return jax.pure_callback(_host_eig, shapes, a, vmap_method="sequential")


def complex_dtype(dtype) -> jnp.dtype:
    """The complex dtype with the precision of the real `dtype`."""
    dtype = jnp.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        return dtype
    return jnp.dtype(jnp.complex128) if dtype == jnp.float64 else jnp.dtype(jnp.complex64)


def real_dtype(dtype) -> jnp.dtype:
    """The real dtype with the precision of `dtype` (real or complex)."""
    return jnp.finfo(dtype).dtype
