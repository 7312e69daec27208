"""Weight initialisations of the PLRNN family, re-derived from the reference codes.

Those of the GTF paper (Hess et al., ICML 2023; GTF-shPLRNN, `initialization.jl`) and of
the AL-RNN paper (Brenner et al., NeurIPS 2024; ALRNN-DSR, `initialization.jl`).
"""

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

# Random numbers are drawn in blocks of this fixed size (block i from fold_in(key, i)), so
# models of every shape reuse one compiled sampler per dtype: building a model of a new
# shape costs no fresh compilation of the PRNG (about a second on a small CPU).
_BLOCK = 4096
N_KEYS = 8  # every constructor splits its key into this many (one compiled split)


def resolve_dtype(dtype: Any) -> Any:
    """The float dtype to build parameters in: `dtype`, or the current JAX default float."""
    if dtype is None:
        return jnp.result_type(float)
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"`dtype` must be a floating dtype, got {dtype}.")
    return dtype


def _draw(sampler, key: PRNGKeyArray, n: int, dtype: Any) -> Array:
    """At least `n` samples as a flat array (whole blocks)."""
    n_blocks = max(1, -(-n // _BLOCK))
    blocks = [sampler(jax.random.fold_in(key, i), (_BLOCK,), dtype) for i in range(n_blocks)]
    return blocks[0] if n_blocks == 1 else jnp.concatenate(blocks)


# The arithmetic after the draws is jitted as one small function per shape: fewer eager
# operations to compile when a model of a new shape is built.
@functools.partial(jax.jit, static_argnames="shape")
def _first(flat, shape):
    return flat[: math.prod(shape)].reshape(shape)


@functools.partial(jax.jit, static_argnames="shape")
def _affine_first(flat, low, high, shape):
    return low + (high - low) * flat[: math.prod(shape)].reshape(shape)


def normal(key: PRNGKeyArray, shape: tuple[int, ...], dtype: Any) -> Array:
    """Standard normal entries."""
    return _first(_draw(jax.random.normal, key, math.prod(shape), dtype), shape)


def uniform(
    key: PRNGKeyArray, shape: tuple[int, ...], bound: Any, dtype: Any, *, low: Any = None
) -> Array:
    """U(−bound, bound) entries, or U(low, bound) when `low` is given."""
    u = _draw(jax.random.uniform, key, math.prod(shape), dtype)
    return _affine_first(u, -bound if low is None else low, bound, shape)


def normalized_positive_definite(
    key: PRNGKeyArray, dim: int, dtype: Any
) -> tuple[Float[Array, " dim"], Float[Array, "dim dim"]]:
    """Talathi & Vartak (2016) matrix: K = RᵀR/dim + I with R ~ N(0, 1), scaled to λ_max(K) = 1.

    K is symmetric positive definite with all eigenvalues in (0, 1], so the linear part
    z ↦ K z of a freshly initialised PLRNN neither explodes nor forgets instantly.

    **Returns:** `(diag(K), K with its diagonal set to zero)`.
    """
    return _npd_parts(normal(key, (dim, dim), dtype))


@jax.jit
def _npd_parts(r):
    dim = r.shape[0]
    eye = jnp.eye(dim, dtype=r.dtype)
    k = r.T @ r / dim + eye
    k = 0.5 * (k + k.T)  # exactly symmetric despite rounding in the product
    k = k / jnp.linalg.eigvalsh(k)[-1]
    return jnp.diag(k), k * (1 - eye)


def glorot_uniform(key: PRNGKeyArray, shape: tuple[int, int], dtype: Any) -> Array:
    """Glorot/Xavier uniform for an (out, in) matrix: U(±√(6/(out+in)))."""
    return uniform(key, shape, (6.0 / (shape[0] + shape[1])) ** 0.5, dtype)


def kaiming_normal(key: PRNGKeyArray, shape: tuple[int, int], dtype: Any) -> Array:
    """Kaiming/He normal for an (out, in) matrix: N(0, 2/in)."""
    return normal(key, shape, dtype) * (2.0 / shape[1]) ** 0.5
