"""NeuralODE: forward solves against exp(At), gradients against finite differences, bad input."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from jax.flatten_util import ravel_pytree

from dynsys import nde

A = np.array([[-0.1, 1.3], [-1.0, -0.1]])


class Linear(eqx.Module):
    matrix: jax.Array

    def __call__(self, t, y, args=None):
        return self.matrix @ y


def _tight():
    return diffrax.PIDController(rtol=1e-10, atol=1e-12)


# Small step budgets keep diffrax's compile times (which grow with max_steps) low.


def test_linear_forward_matches_matrix_exponential():
    ts = np.linspace(0.0, 3.0, 31)
    y0 = np.array([1.0, -0.5])
    model = nde.NeuralODE(
        2, vector_field=Linear(jnp.asarray(A)), stepsize_controller=_tight(), max_steps=512
    )
    ys = model(jnp.asarray(ts), jnp.asarray(y0))
    expected = np.stack([scipy.linalg.expm(A * t) @ y0 for t in ts])
    np.testing.assert_allclose(np.asarray(ys), expected, rtol=1e-8, atol=1e-9)


def test_augmented_linear_forward_matches_matrix_exponential():
    # Augmented dimension starting at 0, coupled into the observed ones.
    big = np.array([[-0.1, 1.3, 0.5], [-1.0, -0.1, 0.0], [0.3, 0.2, -0.4]])
    ts = np.linspace(0.0, 2.0, 21)
    y0 = np.array([0.7, 0.2])
    model = nde.NeuralODE(
        2,
        augment_dim=1,
        vector_field=Linear(jnp.asarray(big)),
        stepsize_controller=_tight(),
        max_steps=512,
    )
    ys = model(jnp.asarray(ts), jnp.asarray(y0))
    assert ys.shape == (21, 2)
    expected = np.stack([(scipy.linalg.expm(big * t) @ np.r_[y0, 0.0])[:2] for t in ts])
    np.testing.assert_allclose(np.asarray(ys), expected, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("controller", ["constant", pytest.param("pid", marks=pytest.mark.slow)])
def test_float64_gradients_match_central_differences(controller):
    # Discretise-then-optimise gradients through the recursive-checkpoint adjoint. With
    # fixed steps they are the exact derivative of the computed solution; with a tight
    # adaptive solve they match it to the solver tolerance.
    key = jax.random.key(3)
    if controller == "constant":
        kw = dict(stepsize_controller=diffrax.ConstantStepSize(), dt0=0.05, max_steps=32)
    else:
        kw = dict(stepsize_controller=_tight(), max_steps=512)
    model = nde.NeuralODE(2, key=key, width=8, depth=1, augment_dim=1, **kw)
    ts = jnp.linspace(0.0, 1.0, 6)
    target = jnp.sin(ts)[:, None] * jnp.array([1.0, -0.5])
    params, static = eqx.partition(model, eqx.is_inexact_array)
    flat, unravel = ravel_pytree((params, jnp.array([0.3, -0.2])))

    def loss(theta):
        p, y0 = unravel(theta)
        pred = eqx.combine(p, static)(ts, y0)
        return jnp.sum((pred - target) ** 2)

    value_and_grad = jax.jit(jax.value_and_grad(loss))  # one compilation serves both
    grad = np.asarray(value_and_grad(flat)[1])
    idx = np.random.default_rng(0).choice(flat.size, 12, replace=False)
    idx = np.r_[idx, flat.size - 2, flat.size - 1]  # include both y0 entries
    h = 1e-6
    fd = []
    for i in idx:
        e = jnp.zeros_like(flat).at[i].set(h)
        up, down = value_and_grad(flat + e)[0], value_and_grad(flat - e)[0]
        fd.append((float(up) - float(down)) / (2 * h))
    np.testing.assert_allclose(grad[idx], np.asarray(fd), rtol=1e-5, atol=1e-5)
    assert np.max(np.abs(grad[idx])) > 1e-3  # the check is not vacuous


def test_default_vector_field_is_scaled_tanh_mlp():
    model = nde.NeuralODE(3, key=jax.random.key(0), width=16, depth=1)
    vf = model.vector_field
    assert isinstance(vf, nde.ScaledTanhMLP)
    y = jnp.array([10.0, -20.0, 30.0])
    # |f| <= scale (tanh output) and the learnt scale starts at 1.
    assert np.all(np.abs(np.asarray(vf(0.0, y))) <= 1.0)
    np.testing.assert_allclose(np.asarray(vf.scale), 1.0)
    assert isinstance(model.solver, diffrax.Tsit5)
    assert isinstance(model.adjoint, diffrax.RecursiveCheckpointAdjoint)
    assert model.stepsize_controller.rtol == 1e-3 and model.stepsize_controller.atol == 1e-6


def test_bad_times_and_states_are_rejected():
    model = nde.NeuralODE(2, vector_field=Linear(jnp.asarray(A)))
    y0 = jnp.ones(2)
    with pytest.raises(ValueError, match="strictly increasing"):
        model(jnp.array([0.0, 0.2, 0.1]), y0)
    with pytest.raises(ValueError, match="strictly increasing"):
        model(jnp.array([0.0, 0.1, 0.1, 0.3]), y0)  # duplicate time
    with pytest.raises(ValueError, match="last axis of length 2"):
        model(jnp.linspace(0, 1, 5), jnp.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        model(jnp.linspace(0, 1, 5), jnp.array([jnp.nan, 1.0]))
    with pytest.raises(ValueError, match="at least 2"):
        model(jnp.array([0.0]), y0)
    with pytest.raises(TypeError, match="key"):
        nde.NeuralODE(2)
    with pytest.raises(ValueError, match="dt0"):
        nde.NeuralODE(2, vector_field=Linear(jnp.asarray(A)), dt0=-1.0)
