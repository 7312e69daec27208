"""The pure step: one update equals the analytic gradient step; aux state; freezing; vmap."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dynsys.training import make_step


class Linear(eqx.Module):
    w: jax.Array
    b: jax.Array

    def __call__(self, x):
        return x @ self.w + self.b


def _data(seed, n=16):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = x @ np.array([2.0, -1.0]) + 0.5 + 0.1 * rng.normal(size=n)
    return jnp.asarray(x), jnp.asarray(y)


def _mse(model, batch, key):
    x, y = batch
    return jnp.mean((jax.vmap(model)(x) - y) ** 2)


def _model(w=(0.3, -0.2), b=0.1):
    return Linear(jnp.asarray(w, dtype=jnp.float64), jnp.asarray(b, dtype=jnp.float64))


def test_one_sgd_step_equals_analytic_gradient_step():
    x, y = _data(0)
    model = _model()
    optimizer = optax.sgd(0.1)
    step = eqx.filter_jit(make_step(_mse, optimizer))
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    new, _, state, loss, metrics = step(model, opt_state, None, (x, y), jax.random.key(1))
    r = np.asarray(x @ model.w + model.b - y)
    grad_w = 2.0 * np.asarray(x).T @ r / len(r)
    grad_b = 2.0 * np.mean(r)
    np.testing.assert_allclose(np.asarray(loss), np.mean(r**2), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(new.w), np.asarray(model.w) - 0.1 * grad_w, rtol=1e-13)
    np.testing.assert_allclose(np.asarray(new.b), float(model.b) - 0.1 * grad_b, rtol=1e-13)
    assert state is None and metrics == {}


def test_aux_state_is_carried_without_gradient_and_metrics_returned():
    x, y = _data(0)

    def loss_fn(model, batch, train_state, key):
        scale, count = train_state
        loss = scale * _mse(model, batch, key)
        new_state = (scale * 0.5, count + 1)
        return loss, (new_state, {"w0": model.w[0]})

    model = _model()
    optimizer = optax.sgd(0.1)
    step = eqx.filter_jit(make_step(loss_fn, optimizer, has_aux=True))
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    state = (jnp.asarray(2.0, dtype=jnp.float64), jnp.asarray(0))
    reference = eqx.filter_jit(make_step(_mse, optax.sgd(0.2)))
    ref_model = reference(model, opt_state, None, (x, y), jax.random.key(0))[0]
    model1, _, state, _, metrics = step(model, opt_state, state, (x, y), jax.random.key(0))
    # The loss scaled by 2 gives twice the gradient: the same as lr 0.2 on the plain loss.
    np.testing.assert_allclose(np.asarray(model1.w), np.asarray(ref_model.w), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(metrics["w0"]), 0.3, rtol=1e-15)
    model2, _, state, _, _ = step(model1, opt_state, state, (x, y), jax.random.key(0))
    np.testing.assert_allclose(np.asarray(state[0]), 0.5, rtol=1e-15)
    assert int(state[1]) == 2


def test_filter_spec_freezes_leaves():
    x, y = _data(0)
    model = _model()
    spec = Linear(w=True, b=False)
    optimizer = optax.adam(0.1)
    step = eqx.filter_jit(make_step(_mse, optimizer, filter_spec=spec))
    opt_state = optimizer.init(eqx.filter(model, spec))
    new = step(model, opt_state, None, (x, y), jax.random.key(0))[0]
    np.testing.assert_array_equal(np.asarray(new.b), np.asarray(model.b))
    assert np.all(np.abs(np.asarray(new.w - model.w)) > 1e-3)


def test_gradient_mask_as_optax_transform_keeps_diagonal_zero():
    class Matrix(eqx.Module):
        W: jax.Array

    def loss_fn(model, batch, key):
        return jnp.sum((model.W - batch) ** 2)

    def zero_diagonal(updates, params):
        return jax.tree_util.tree_map(lambda u: u * (1.0 - jnp.eye(3, dtype=u.dtype)), updates)

    optimizer = optax.chain(optax.adam(0.1), optax.stateless(zero_diagonal))
    model = Matrix(jnp.zeros((3, 3), dtype=jnp.float64))
    step = eqx.filter_jit(make_step(loss_fn, optimizer))
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    target = jnp.ones((3, 3), dtype=jnp.float64)
    for _ in range(3):
        model, opt_state, *_ = step(model, opt_state, None, target, jax.random.key(0))
    np.testing.assert_array_equal(np.diag(np.asarray(model.W)), 0.0)
    off = np.asarray(model.W)[~np.eye(3, dtype=bool)]
    assert np.all(off > 0.25)


def test_vmapped_step_over_seeds_equals_separate_runs():
    x, y = _data(0)

    def noisy_loss(model, batch, key):
        xb, yb = batch
        noise = 0.1 * jax.random.normal(key, yb.shape, dtype=yb.dtype)
        return jnp.mean((jax.vmap(model)(xb) - yb - noise) ** 2)

    rng = np.random.default_rng(1)
    w0, b0 = rng.normal(size=(3, 2)), rng.normal(size=3)

    optimizer = optax.adam(0.05)
    step = make_step(noisy_loss, optimizer)
    loss_keys = jax.random.split(jax.random.key(2), (4, 3))

    models = Linear(jnp.asarray(w0), jnp.asarray(b0))  # an ensemble of 3, stacked
    states = eqx.filter_vmap(optimizer.init)(eqx.filter(models, eqx.is_inexact_array))
    vstep = eqx.filter_jit(eqx.filter_vmap(step, in_axes=(0, 0, None, None, 0)))
    for t in range(4):
        models, states, _, losses, _ = vstep(models, states, None, (x, y), loss_keys[t])
    assert losses.shape == (3,)

    single = eqx.filter_jit(step)
    for m in range(3):
        model = Linear(jnp.asarray(w0[m]), jnp.asarray(b0[m]))
        state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
        for t in range(4):
            model, state, _, loss, _ = single(model, state, None, (x, y), loss_keys[t, m])
        np.testing.assert_allclose(np.asarray(models.w[m]), np.asarray(model.w), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(models.b[m]), np.asarray(model.b), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(losses[m]), np.asarray(loss), rtol=1e-12)


def test_make_step_rejects_bad_input():
    with pytest.raises(TypeError, match="loss_fn"):
        make_step(3.0, optax.sgd(0.1))
    with pytest.raises(TypeError, match="optimizer"):
        make_step(_mse, 0.1)
    with pytest.raises(TypeError, match="has_aux"):
        make_step(_mse, optax.sgd(0.1), has_aux="yes")

    def vector_loss(model, batch, key):
        return jax.vmap(model)(batch[0]) - batch[1]

    step = make_step(vector_loss, optax.sgd(0.1))
    model = _model()
    with pytest.raises(ValueError, match="scalar"):
        step(model, optax.sgd(0.1).init(model), None, _data(0), None)

    bad_aux = make_step(lambda m, b, s, k: (_mse(m, b, k), s), optax.sgd(0.1), has_aux=True)
    with pytest.raises(TypeError, match=r"\(state, metrics\)"):
        bad_aux(model, optax.sgd(0.1).init(model), None, _data(0), None)
