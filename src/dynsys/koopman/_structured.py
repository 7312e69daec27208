"""Structured linear layers: Hankel and Toeplitz matrices applied by FFT in O(n log n)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import check_int


def _fft_size(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _conv_slice(g: Array, x: Array, n_in: int, n_out: int) -> Array:
    """(g * x)[n_in−1 : n_in−1+n_out] of the linear convolution, by real FFTs.

    A circular convolution of size N >= len(g) = n_in + n_out − 1 suffices: the wrapped
    terms only land on outputs outside the slice that is kept.
    """
    n = _fft_size(g.shape[0])
    full = jnp.fft.irfft(jnp.fft.rfft(g, n) * jnp.fft.rfft(x, n), n)
    return full[n_in - 1 : n_in - 1 + n_out]


class _StructuredLinear(eqx.Module):
    generator: Float[Array, " n_gen"]
    bias: Float[Array, " out"] | None
    in_features: int = eqx.field(static=True)
    out_features: int = eqx.field(static=True)

    def __init__(self, in_features: int, out_features: int, *, use_bias: bool = True, key: Any):
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        n_gen = in_features + out_features - 1
        bound = 1.0 / np.sqrt(in_features)
        k1, k2 = jax.random.split(key)
        self.generator = jax.random.uniform(k1, (n_gen,), minval=-bound, maxval=bound)
        self.bias = (
            jax.random.uniform(k2, (out_features,), minval=-bound, maxval=bound)
            if use_bias
            else None
        )

    @property
    def n_params(self) -> int:
        """in + out − 1 generator entries (+ out biases), against in·out (+ out) dense."""
        return self.generator.shape[0] + (0 if self.bias is None else self.out_features)

    @property
    def flops(self) -> int:
        """Floating-point operations of one matrix–vector product by FFT.

        Counted as 3 real FFTs of size n (≈ 2.5 n log₂ n flops each) plus the n/2+1 complex
        products (6 flops each): 7.5 n log₂ n + 3n, n = next power of 2 >= in + out − 1.
        """
        n = _fft_size(self.generator.shape[0])
        return int(7.5 * n * np.log2(n) + 3 * n)

    def _finish(self, y):
        return y if self.bias is None else y + self.bias.astype(y.dtype)


class HankelLinear(_StructuredLinear):
    """A linear layer whose weight is an out×in Hankel matrix, H_ij = h_{i+j}.

    in + out − 1 parameters instead of in·out, applied by FFT: H x = (h ∗ reverse(x))
    sliced, O(n log n). This is the layer of the structured network StNN (Aluvihare,
    Lingsch, Li & Perera, arXiv 2503.23697), whose weights inherit the Hankel structure of
    time-delay (Hankel) operators.

    **Arguments:** `in_features`, `out_features`, `use_bias`, `key`.

    ```python
    layer = HankelLinear(8, 8, key=jax.random.key(0))
    layer(x)  # == layer.matrix() @ x + layer.bias
    ```
    """

    def matrix(self) -> Float[Array, "out in"]:
        """The dense out×in Hankel matrix (for checks; the layer never forms it)."""
        i = np.arange(self.out_features)[:, None]
        j = np.arange(self.in_features)[None, :]
        return self.generator[i + j]

    def __call__(self, x: Float[Array, " in"]) -> Float[Array, " out"]:
        g = self.generator.astype(x.dtype)
        return self._finish(_conv_slice(g, x[::-1], self.in_features, self.out_features))


class ToeplitzLinear(_StructuredLinear):
    """A linear layer whose weight is an out×in Toeplitz matrix, T_ij = t_{i−j+in−1}.

    Same parameter count and FFT cost as [`HankelLinear`][dynsys.koopman.HankelLinear]
    (a Toeplitz matrix is a Hankel matrix with its columns reversed).
    """

    def matrix(self) -> Float[Array, "out in"]:
        """The dense out×in Toeplitz matrix."""
        i = np.arange(self.out_features)[:, None]
        j = np.arange(self.in_features)[None, :]
        return self.generator[i - j + self.in_features - 1]

    def __call__(self, x: Float[Array, " in"]) -> Float[Array, " out"]:
        g = self.generator.astype(x.dtype)
        return self._finish(_conv_slice(g, x, self.in_features, self.out_features))
