"""The finite-difference Laplacian: eigenvalues, exactness on cubics, padding, adjointness."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import pde


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("dilation", [1, 2, 3])
def test_periodic_sinusoid_is_an_eigenfunction(dims, dilation):
    n, length = 24, 2.0
    dx = length / n
    x = pde.make_grid(dims, length, n)
    kappa = 2 * np.pi * 2 / length
    u = np.stack([np.sin(kappa * x[-1]), 3 * np.cos(kappa * x[0])])
    h = dilation * dx
    lam = -(2 - 2 * np.cos(kappa * h)) / h**2  # the stencil's symbol at κ
    lap = pde.laplacian_fd(jnp.asarray(u), dx, dilation=dilation)
    np.testing.assert_allclose(np.asarray(lap), lam * u, atol=1e-11)


@pytest.mark.parametrize("dilation", [1, 3])
def test_exact_on_a_cubic_away_from_the_boundary(dilation):
    n, dx = 20, 0.05
    x = np.arange(n) * dx
    xx, yy = np.meshgrid(x, x, indexing="ij")
    u = xx**3 - 2 * xx * yy**2 + 0.5 * yy**2 + xx  # Δu = 2x + 1
    lap = np.asarray(pde.laplacian_fd(jnp.asarray(u)[None], dx, dilation=dilation, padding="zero"))
    k = dilation
    inner = (slice(k, n - k), slice(k, n - k))
    np.testing.assert_allclose(lap[0][inner], (2 * xx + 1)[inner], atol=1e-10)
    # at the edge the zero ghost values are felt
    assert np.max(np.abs(lap[0][:k] - (2 * xx + 1)[:k])) > 1.0


@pytest.mark.parametrize("dilation", [1, 2, 5])
def test_zero_padding_is_the_periodic_stencil_of_the_zero_extended_field(dilation):
    u = jax.random.normal(jax.random.key(0), (2, 7, 9), jnp.float64)
    k = dilation
    ext = jnp.pad(u, ((0, 0), (k, k), (k, k)))
    want = pde.laplacian_fd(ext, 0.1, dilation=k)[:, k:-k, k:-k]
    got = pde.laplacian_fd(u, 0.1, dilation=k, padding="zero")
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-13, atol=1e-10)


@pytest.mark.parametrize("padding", ["periodic", "zero"])
def test_symmetric_operator_and_mass_conservation(padding):
    ku, kv = jax.random.split(jax.random.key(1))
    u = jax.random.normal(ku, (3, 10, 10), jnp.float64)
    v = jax.random.normal(kv, (3, 10, 10), jnp.float64)
    lap = jax.jit(lambda w: pde.laplacian_fd(w, 0.2, dilation=2, padding=padding))
    # <Δu, v> = <u, Δv>, so the gradient of <Δu, v> in u is Δv
    grad = jax.grad(lambda w: jnp.sum(lap(w) * v))(u)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(lap(v)), rtol=1e-12, atol=1e-12)
    total = np.asarray(jnp.sum(lap(u), axis=(1, 2)))
    if padding == "periodic":
        np.testing.assert_allclose(total, 0.0, atol=1e-11)
    else:  # mass leaks through the boundary
        assert np.min(np.abs(total)) > 1e-3


def test_bad_input_names_the_argument():
    u = jnp.ones((1, 8, 8))
    with pytest.raises(ValueError, match="`dx`"):
        pde.laplacian_fd(u, 0.0)
    with pytest.raises(ValueError, match="`dilation`"):
        pde.laplacian_fd(u, 0.1, dilation=0)
    # TypeErrors come from `check_int`/`as_array`, or first from the tests' type checker
    with pytest.raises(TypeError, match="dilation"):
        pde.laplacian_fd(u, 0.1, dilation=1.5)
    with pytest.raises(ValueError, match="`padding`"):
        pde.laplacian_fd(u, 0.1, padding="reflect")
    with pytest.raises(ValueError, match="`u`"):
        pde.laplacian_fd(jnp.ones(8), 0.1)
    with pytest.raises(TypeError, match="`u`|'u'"):
        pde.laplacian_fd("field", 0.1)
