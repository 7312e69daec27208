"""Dilated stencils against the analytic Laplacian; RD step invariants; RMS normalisation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import pde
from dynsys.worldmodels import ReactionDiffusionPredictor, dilated_laplacian, rms_norm

L = 2.0
_step = eqx.filter_jit(lambda m, u: m.step(u))
_integrate = eqx.filter_jit(lambda m, u: m.integrate(u))


def _field(n):
    """f = sin(2πx/L) cos(4πy/L) + cos(2πy/L) and its Laplacian, on the periodic grid."""
    x = np.arange(n) * L / n
    xx, yy = np.meshgrid(x, x, indexing="ij")
    k = 2 * np.pi / L
    f = np.sin(k * xx) * np.cos(2 * k * yy) + np.cos(k * yy)
    lap = -5 * k**2 * np.sin(k * xx) * np.cos(2 * k * yy) - k**2 * np.cos(k * yy)
    return jnp.asarray(np.stack([f, 2 * f])), np.stack([lap, 2 * lap])


@pytest.mark.parametrize("dilation", [1, 2, 4])
def test_stencil_matches_analytic_laplacian_second_order(dilation):
    errors = []
    for n in (64, 128):
        f, lap = _field(n)
        approx = dilated_laplacian(f, dilation, dx=L / n)
        errors.append(np.max(np.abs(np.asarray(approx) - lap)) / np.max(np.abs(lap)))
    # Error O((d·dx)²): d·dx = 4·2/64 = 0.125 at worst, k = π → relative error ≲ 5 %.
    assert errors[0] < 0.07 * (dilation / 4) ** 2 + 1e-3
    np.testing.assert_allclose(errors[0] / errors[1], 4.0, rtol=0.05)


def test_dilation_one_equals_pde_laplacian():
    f, _ = _field(32)
    np.testing.assert_allclose(
        np.asarray(dilated_laplacian(f, 1, dx=0.3)), np.asarray(pde.laplacian_fd(f, 0.3)),
        rtol=1e-12, atol=1e-12,
    )  # fmt: skip


def test_zero_padding_agrees_inside_and_differs_at_the_edge():
    f = jnp.asarray(np.random.default_rng(0).normal(size=(1, 12, 12)))
    per = np.asarray(dilated_laplacian(f, 2))
    zero = np.asarray(dilated_laplacian(f, 2, padding="zero"))
    np.testing.assert_allclose(zero[:, 2:-2, 2:-2], per[:, 2:-2, 2:-2], rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(zero[:, :2] - per[:, :2])) > 1e-3


def test_laplacian_bad_input():
    with pytest.raises(ValueError, match="padding"):
        dilated_laplacian(jnp.ones((1, 4, 4)), 1, padding="reflect")
    with pytest.raises(ValueError, match="`u`"):
        dilated_laplacian(jnp.ones((4, 4)), 1)
    with pytest.raises(ValueError, match="dilation"):
        dilated_laplacian(jnp.ones((1, 4, 4)), 0)


def _diffusion_only(padding):
    rd = ReactionDiffusionPredictor(3, context=1, hidden=5, dilations=(1, 2, 4), padding=padding,
                                    dtype=jnp.float64, key=jax.random.key(0))  # fmt: skip
    # Non-trivial diffusivities per scale and channel; the reaction is exactly zero.
    raw = jax.random.normal(jax.random.key(1), rd.diffusion_raw.shape, jnp.float64)
    return eqx.tree_at(lambda m: (m.diffusion_raw, m.w2, m.b2), rd,
                       (raw, jnp.zeros_like(rd.w2), jnp.zeros_like(rd.b2)))  # fmt: skip


def test_rd_step_conserves_mass_without_reaction_with_periodic_padding():
    u = jax.random.uniform(jax.random.key(2), (3, 16, 16), jnp.float64)
    rd = _diffusion_only("periodic")
    u1 = _step(rd, u)
    assert np.max(np.abs(np.asarray(u1 - u))) > 1e-3  # the step does change the field
    np.testing.assert_allclose(
        np.asarray(jnp.sum(u1, axis=(1, 2))), np.asarray(jnp.sum(u, axis=(1, 2))), rtol=1e-12
    )
    # With zero padding mass leaks through the boundary: the invariant is the padding's.
    lost = jnp.sum(_step(_diffusion_only("zero"), u)) - jnp.sum(u)
    assert float(lost) < -1e-2


def test_rd_time_step_is_bounded_and_starts_at_a_tenth():
    rd = ReactionDiffusionPredictor(2, dt_bounds=(0.01, 0.3), dtype=jnp.float64,
                                    key=jax.random.key(0))  # fmt: skip
    np.testing.assert_allclose(float(rd.dt), 0.1, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(rd.diffusivities), 0.1, rtol=1e-12)
    for raw, bound in ((1e3, 0.3), (-1e3, 0.01)):
        moved = eqx.tree_at(lambda m: m.dt_raw, rd, jnp.asarray(raw, jnp.float64))
        np.testing.assert_allclose(float(moved.dt), bound, rtol=1e-12)


def test_rd_adaptive_stop_freezes_a_static_state():
    kw = dict(context=1, n_steps=6, dtype=jnp.float64, key=jax.random.key(0))
    u = jnp.ones((2, 8, 8), jnp.float64)  # constant: diffusion is zero, rms-norm keeps it
    _, taken = _integrate(ReactionDiffusionPredictor(2, adaptive_tol=1e-3, **kw), u)
    assert int(taken) == 1
    v = jax.random.normal(jax.random.key(1), (2, 8, 8), jnp.float64)
    _, taken = _integrate(ReactionDiffusionPredictor(2, adaptive_tol=1e-9, **kw), v)
    assert int(taken) == 6
    _, taken = _integrate(ReactionDiffusionPredictor(2, **kw), v)
    assert int(taken) == 6


def test_rms_norm_gives_the_gain_as_rms():
    u = jax.random.normal(jax.random.key(0), (4, 5, 5), jnp.float64)
    out = jax.jit(rms_norm)(u, jnp.full((4,), 2.0, jnp.float64), 0.0)
    np.testing.assert_allclose(np.asarray(jnp.sqrt(jnp.mean(out**2, axis=0))), 2.0, rtol=1e-12)


def test_rd_predictor_bad_arguments():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="dt_bounds"):
        ReactionDiffusionPredictor(2, dt_bounds=(0.2, 0.3), key=key)
    with pytest.raises(ValueError, match="padding"):
        ReactionDiffusionPredictor(2, padding="reflect", key=key)
    with pytest.raises(ValueError, match="dilations"):
        ReactionDiffusionPredictor(2, dilations=(), key=key)


@pytest.mark.parametrize("padding", ["periodic", "zero"])
def test_stencils_are_the_pde_laplacian(padding):
    u = jax.random.normal(jax.random.key(3), (3, 12, 12), jnp.float64)
    for d in (1, 2, 4):
        np.testing.assert_allclose(
            np.asarray(dilated_laplacian(u, d, dx=0.3, padding=padding)),
            np.asarray(pde.laplacian_fd(u, 0.3, dilation=d, padding=padding)), rtol=0, atol=0,
        )  # fmt: skip
    rd = _diffusion_only(padding)
    want = sum(coef[:, None, None] * d**2 * pde.laplacian_fd(u, 1.0, dilation=d, padding=padding)
               for d, coef in zip(rd.dilations, rd.diffusivities))  # fmt: skip
    np.testing.assert_allclose(np.asarray(rd.diffusion(u)), np.asarray(want), rtol=1e-12,
                               atol=1e-12)  # fmt: skip
