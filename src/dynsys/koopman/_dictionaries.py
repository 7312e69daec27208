"""Dictionaries of observables ψ(x) for extended DMD: monomials, RBFs, Fourier features."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._serialization import describe, register_loadable, template_from
from .._validation import as_array, check_int, check_ndim, check_positive


class AbstractDictionary(eqx.Module):
    """A finite set of observables ψ: R^dim → R^N evaluated on one state.

    Subclasses implement `__call__(x)` for one state `(dim,)` returning `(N,)`; `evaluate`
    maps a batch. Dictionaries concatenate with `+` (or [`Concat`][dynsys.koopman.Concat]).
    """

    def __call__(self, x: Float[Array, " dim"]) -> Float[Array, " n"]:
        raise NotImplementedError

    def evaluate(self, xs: Float[Array, "samples dim"]) -> Float[Array, "samples n"]:
        """ψ on every row of `xs` `(samples, dim)`, returns `(samples, N)` (checked)."""
        out = jax.vmap(self)(xs)
        if out.ndim != 2 or out.shape[0] != xs.shape[0]:
            raise ValueError(
                f"dictionary {type(self).__name__} must map a state (dim,) to a 1-D vector "
                f"(N,), but on {xs.shape[0]} states it returned shape {tuple(out.shape)}."
            )
        return out

    def __add__(self, other: AbstractDictionary) -> Concat:
        if not isinstance(other, AbstractDictionary):
            return NotImplemented
        return Concat((self, other))


class Identity(AbstractDictionary):
    """The state itself, ψ(x) = x (N = dim)."""

    def __call__(self, x):
        return x


class Monomials(AbstractDictionary):
    """All monomials x^α with |α| <= `degree` (constant included), graded order.

    N = C(dim + degree, degree). Exponents are fixed at construction (needs `dim`).

    ```python
    Monomials(dim=2, degree=2)(jnp.array([2.0, 3.0]))  # [1, 2, 3, 4, 6, 9]
    ```
    """

    exponents: tuple = eqx.field(static=True)
    dim: int = eqx.field(static=True)
    degree: int = eqx.field(static=True)

    def __init__(self, dim: int, degree: int, *, include_constant: bool = True):
        self.dim = check_int(dim, "dim", minimum=1)
        self.degree = check_int(degree, "degree", minimum=1)
        exps = []
        for total in range(0 if include_constant else 1, degree + 1):
            for combo in itertools.combinations_with_replacement(range(dim), total):
                e = np.zeros(dim, dtype=np.int64)
                for i in combo:
                    e[i] += 1
                exps.append(e)
        self.exponents = tuple(tuple(int(k) for k in e) for e in exps)

    def names(self, variables: tuple[str, ...] | None = None) -> list[str]:
        """Readable names of the monomials, e.g. `['1', 'x0', 'x0*x1']`."""
        var = variables or tuple(f"x{i}" for i in range(self.dim))
        out = []
        for e in self.exponents:
            parts = [v if k == 1 else f"{v}^{k}" for v, k in zip(var, e) if k > 0]
            out.append("*".join(parts) if parts else "1")
        return out

    def __call__(self, x):
        if x.shape != (self.dim,):
            raise ValueError(f"Monomials(dim={self.dim}) got a state of shape {x.shape}.")
        # Integer powers (a float exponent would turn negative bases into NaN).
        table = jnp.stack([x**k for k in range(self.degree + 1)])  # (degree+1, dim)
        powers = table[np.asarray(self.exponents), np.arange(self.dim)[None, :]]
        return jnp.prod(powers, axis=1)


_RBF_KINDS = ("gauss", "thinplate", "exp", "invquad", "invmultquad")


class RBF(AbstractDictionary):
    """Radial basis functions φ(‖x − c_i‖/ε) around fixed centres c_i.

    Kinds: `"gauss"` e^{−r²}, `"exp"` e^{−r} (Colbrook's Duffing dictionary), `"thinplate"`
    r² log r, `"invquad"` 1/(1+r²), `"invmultquad"` 1/√(1+r²), with r = ‖x−c‖/ε.

    **Arguments:** `centers` `(N, dim)`, `width` ε > 0, `kind`.
    """

    centers: Float[Array, "n dim"]
    width: float = eqx.field(static=True)
    kind: str = eqx.field(static=True)

    def __init__(self, centers: Any, width: float = 1.0, kind: str = "gauss"):
        centers = as_array(centers, "centers")
        check_ndim(centers, "centers", 2, "(n_centers, dim)")
        check_positive(width, "width")
        if kind not in _RBF_KINDS:
            raise ValueError(f"`kind` must be one of {_RBF_KINDS}, got {kind!r}.")
        self.centers, self.width, self.kind = centers, float(width), kind

    def __call__(self, x):
        d = x[None, :] - self.centers.astype(x.dtype)
        r2 = jnp.sum(d * d, axis=1) / self.width**2
        if self.kind == "gauss":
            return jnp.exp(-r2)
        if self.kind == "exp":
            return jnp.exp(-jnp.sqrt(r2))
        if self.kind == "invquad":
            return 1.0 / (1.0 + r2)
        if self.kind == "invmultquad":
            return 1.0 / jnp.sqrt(1.0 + r2)
        safe = jnp.where(r2 > 0, r2, jnp.ones_like(r2))
        return jnp.where(r2 > 0, 0.5 * r2 * jnp.log(safe), jnp.zeros_like(r2))


class RandomFourierFeatures(AbstractDictionary):
    """Random Fourier features √(2/N) cos(ωᵢ·x + bᵢ) for the Gaussian kernel e^{−γ‖x−y‖²}.

    ω ~ N(0, 2γ I), b ~ U[0, 2π) (Rahimi & Recht, NeurIPS 2007); same `key`, same features.

    **Arguments:** `dim`, `n_features` N, `gamma` > 0, `key`.
    """

    omega: Float[Array, "n dim"]
    phase: Float[Array, " n"]

    def __init__(self, dim: int, n_features: int, gamma: float = 1.0, *, key: Any):
        dim = check_int(dim, "dim", minimum=1)
        n = check_int(n_features, "n_features", minimum=1)
        check_positive(gamma, "gamma")
        k1, k2 = jax.random.split(key)
        self.omega = jnp.sqrt(2.0 * gamma) * jax.random.normal(k1, (n, dim))
        self.phase = jax.random.uniform(k2, (n,), maxval=2 * np.pi)

    def __call__(self, x):
        n = self.phase.shape[0]
        z = self.omega.astype(x.dtype) @ x + self.phase.astype(x.dtype)
        return jnp.sqrt(2.0 / n) * jnp.cos(z)


class FunctionDictionary(AbstractDictionary):
    """User observables: `fn(x) -> (N,)` on one state `(dim,)` (checked on use)."""

    fn: Callable = eqx.field(static=True)

    def __init__(self, fn: Callable):
        if not callable(fn):
            raise TypeError(f"`fn` must be callable, got {type(fn).__name__}.")
        self.fn = fn

    def __call__(self, x):
        out = jnp.asarray(self.fn(x))
        if out.ndim != 1:
            raise ValueError(
                f"the user dictionary function must return a 1-D vector (N,) for one state "
                f"{x.shape}, got shape {tuple(out.shape)}."
            )
        return out.astype(x.dtype)


class Concat(AbstractDictionary):
    """Concatenation [ψ₁(x), ψ₂(x), ...] of dictionaries (also written ψ₁ + ψ₂)."""

    parts: tuple

    def __init__(self, parts: Any):
        parts = tuple(parts)
        for p in parts:
            if not isinstance(p, AbstractDictionary):
                raise TypeError(f"Concat takes dictionaries, got {type(p).__name__}.")
        flat = []
        for p in parts:
            flat.extend(p.parts if isinstance(p, Concat) else (p,))
        self.parts = tuple(flat)

    def __call__(self, x):
        return jnp.concatenate([p(x) for p in self.parts])


def describe_dictionary(dictionary: AbstractDictionary) -> dict:
    """`describe(dictionary)` for a file, refusing a user function that no file can hold."""
    if isinstance(dictionary, FunctionDictionary):
        raise ValueError(
            "Cannot save a FunctionDictionary: its observables are a Python function "
            f"({getattr(dictionary.fn, '__qualname__', dictionary.fn)!r}), and a dynsys file "
            "holds arrays and settings, never code. Use the built-in dictionaries (Monomials, "
            "RBF, RandomFourierFeatures, Identity, their sums), or save the arrays yourself."
        )
    return describe(dictionary)


register_loadable(Identity, hyperparameters=lambda d: {}, template=lambda hp: Identity())
register_loadable(
    Monomials,
    hyperparameters=lambda d: {
        "dim": d.dim,
        "degree": d.degree,
        "include_constant": not any(d.exponents[0]),
    },
    template=lambda hp: Monomials(hp["dim"], hp["degree"], include_constant=hp["include_constant"]),
)
register_loadable(
    RBF,
    hyperparameters=lambda d: {
        "n_centers": d.centers.shape[0],
        "dim": d.centers.shape[1],
        "width": d.width,
        "kind": d.kind,
        "dtype": d.centers.dtype.name,
    },
    template=lambda hp: RBF(
        jnp.zeros((hp["n_centers"], hp["dim"]), dtype=hp["dtype"]), hp["width"], hp["kind"]
    ),
)
register_loadable(
    RandomFourierFeatures,
    # gamma only scales the initial draw, which the saved leaves replace.
    hyperparameters=lambda d: {"dim": d.omega.shape[1], "n_features": d.omega.shape[0]},
    template=lambda hp: RandomFourierFeatures(hp["dim"], hp["n_features"], key=jax.random.key(0)),
)
register_loadable(
    Concat,
    hyperparameters=lambda d: {"parts": [describe_dictionary(p) for p in d.parts]},
    template=lambda hp: Concat(template_from(p) for p in hp["parts"]),
)
