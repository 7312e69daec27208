"""The open extension point `AbstractRNN`: a user's own RNN, and the built-ins' penalties."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import dsr

KEY = jax.random.key(0)


class TanhRNN(dsr.AbstractRNN):
    """z_t = tanh(W z_{t−1} + h), the first N units read out: a user's model, not a PLRNN."""

    W: jax.Array
    h: jax.Array
    observation: dsr.IdentityObservation
    C: ClassVar[None] = None

    def __init__(self, latent_dim, obs_dim, *, key):
        k_w, k_obs = jax.random.split(key)
        self.W = jax.random.normal(k_w, (latent_dim, latent_dim)) / latent_dim
        self.h = jnp.zeros(latent_dim)
        self.observation = dsr.IdentityObservation(latent_dim, obs_dim, key=k_obs)

    def step(self, z, s=None):
        return jnp.tanh(z @ self.W.T + self.h)

    def latent_penalty(self):
        return jnp.sum(self.W**2)


def _circle(n=1000, dt=0.1):
    t = jnp.arange(n, dtype=jnp.float64) * dt
    return 0.8 * jnp.stack([jnp.sin(t), jnp.cos(t)], axis=-1)


def _perturb(model, seed):
    rng = np.random.default_rng(seed)
    leaves, treedef = jax.tree_util.tree_flatten(eqx.filter(model, eqx.is_inexact_array))
    noisy = [jnp.asarray(np.asarray(x) + 0.5 * rng.standard_normal(x.shape)) for x in leaves]
    return eqx.combine(jax.tree_util.tree_unflatten(treedef, noisy), model)


def test_abstract_classes_cannot_be_instantiated():
    with pytest.raises(TypeError):
        dsr.AbstractRNN()
    with pytest.raises(TypeError):
        dsr.AbstractPLRNN()

    class NoPenalty(dsr.AbstractRNN):  # step alone is not enough: the penalty is abstract
        observation: dsr.IdentityObservation
        C: ClassVar[None] = None

        def step(self, z, s=None):
            return z

    with pytest.raises(TypeError, match="latent_penalty"):
        NoPenalty(dsr.IdentityObservation(2, 2, key=KEY))
    assert issubclass(dsr.AbstractPLRNN, dsr.AbstractRNN)
    assert isinstance(dsr.ALRNN(4, 1, 2, key=KEY), dsr.AbstractRNN)


def test_user_rnn_gets_the_shared_interface_and_an_autodiff_jacobian():
    model = TanhRNN(4, 2, key=KEY)
    assert (model.latent_dim, model.obs_dim, model.n_inputs, model.n_forced) == (4, 2, 0, 2)
    assert model.dtype == jnp.float64
    assert model.n_parameters == 16 + 4 + 2 * 2  # W, h and the observation's L
    x0 = jnp.array([0.3, -0.2])
    xs = model.generate(x0, 5)
    np.testing.assert_allclose(np.asarray(xs[0]), np.asarray(x0), rtol=0, atol=0)
    z = model.init_state(x0)
    for t in range(1, 5):
        z = model.step(z)
        np.testing.assert_allclose(np.asarray(xs[t]), np.asarray(z[:2]), rtol=1e-14)
    # the default Jacobian is that of the map: diag(1 − tanh²(Wz + h)) W
    z = jnp.array([0.5, -1.0, 0.2, 2.0])
    expected = (1.0 - np.tanh(np.asarray(model.W) @ np.asarray(z)) ** 2)[:, None] * np.asarray(
        model.W
    )
    np.testing.assert_allclose(np.asarray(model.jacobian(z)), expected, rtol=1e-13, atol=1e-15)


def test_user_rnn_trains_through_fit_and_is_evaluated():
    xs = _circle()
    model = TanhRNN(6, 2, key=KEY)
    s = dsr.TrainingSettings(
        tau=5, sequence_length=20, batch_size=8, batches_per_epoch=10, n_epochs=30,
        start_lr=1e-2, end_lr=1e-3, noise_std=0.0,
    )  # fmt: skip
    result = dsr.fit(model, xs, key=jax.random.key(1), settings=s, progress=False)
    loss = np.asarray(result.fit.history["loss"])
    assert loss.shape == (300,) and np.all(np.isfinite(loss))
    first, last = loss[:10].mean(), loss[-10:].mean()
    assert last < 0.2 * first, (first, last)  # 0.28 -> 0.015 when written
    assert isinstance(result.model, TanhRNN)
    ev = dsr.evaluate(result.model, xs[:400], lyapunov_steps=200, dt=0.1)
    assert ev.n_subregions == -1  # not piecewise linear: no subregions
    assert np.isfinite(ev.pe) and ev.pe < float(jnp.mean(xs**2))


def test_adaptive_alpha_and_the_penalty_work_for_a_user_rnn():
    model = TanhRNN(4, 2, key=KEY)
    # adaptive α's Jacobian norm, through the autodiff Jacobian, against NumPy
    windows = 0.8 * jax.random.normal(jax.random.key(2), (3, 6, 2))
    z = np.concatenate([np.asarray(windows[:, 1:]), np.zeros((3, 5, 2))], axis=-1)
    w = np.asarray(model.W)
    norms = [
        np.linalg.norm((1.0 - np.tanh(w @ zz) ** 2)[:, None] * w, 2) for zz in z.reshape(-1, 4)
    ]
    estimate = dsr.jacobian_norm_estimate(model, windows, "batch_maximum")
    np.testing.assert_allclose(np.asarray(estimate), max(norms), rtol=1e-8)
    xs = _circle(400)
    s = dsr.TrainingSettings(
        tau=1, alpha=1.0, adaptive_alpha=True, alpha_method="batch_maximum",
        sequence_length=10, batch_size=4, batches_per_epoch=5, n_epochs=2, lambda_latent=0.1,
    )  # fmt: skip
    result = dsr.fit(model, xs, key=jax.random.key(1), settings=s, progress=False)
    alpha = np.asarray(result.fit.history["alpha"])
    assert np.all(np.isfinite(result.fit.history["loss"]))
    assert np.all(alpha >= 0) and alpha[0] < 1.0  # annealed towards α* < 1 from step 0
    # the objective adds λ · the model's own penalty
    losses = [
        dsr.TeacherForcing(
            tau=1, alpha=0.5, adaptive=False, alpha_method="constant", alpha_update_interval=5,
            alpha_decay=0.999, lambda_latent=lam, dtype=jnp.float64,
        )(model, (windows, None), {"alpha": jnp.asarray(0.5)}, step=0, key=KEY)[0]
        for lam in (0.0, 1e3)
    ]  # fmt: skip
    np.testing.assert_allclose(
        float(losses[1] - losses[0]), 1e3 * float(model.latent_penalty()), rtol=1e-10
    )


def test_fit_rejects_a_model_that_is_not_an_abstract_rnn():
    with pytest.raises(TypeError, match="AbstractRNN"):
        dsr.fit(object(), _circle(100), key=KEY, n_steps=1, progress=False)


def _old_formula(name, model):
    """The penalty as the isinstance chain computed it, in NumPy."""
    p = {k: np.asarray(v) for k, v in vars(model).items() if eqx.is_array(v)}
    if name == "alrnn":
        return np.linalg.norm(np.maximum(p["A"] + np.diag(p["W"]) - 0.05, 0.0))
    names = ["W1", "W2", "h1", "h2"] if name.startswith("shplrnn") else ["W", "h"]
    if model.C is not None:
        names.append("C")
    return np.sum((1.0 - p["A"]) ** 2) + sum(np.sum(p[n] ** 2) for n in names)


BUILDERS = {
    "plrnn": lambda k: dsr.PLRNN(5, 3, key=k, n_inputs=2),
    "shplrnn": lambda k: dsr.ShallowPLRNN(4, 6, 3, key=k),
    "shplrnn_clipped": lambda k: dsr.ShallowPLRNN(4, 6, 3, key=k, clipped=True, n_inputs=2),
    "alrnn": lambda k: dsr.ALRNN(6, 2, 3, key=k, n_inputs=2),
    "dendplrnn": lambda k: dsr.DendriticPLRNN(4, 3, 2, key=k, n_inputs=2),
    "dendplrnn_clipped": lambda k: dsr.DendriticPLRNN(4, 3, 2, key=k, clipped=True),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_builtin_latent_penalty_is_the_reference_formula(name):
    model = _perturb(BUILDERS[name](KEY), 3)
    expected = _old_formula(name, model)
    if name == "alrnn":
        assert expected > 0  # some self-couplings above 0.95: the relu is active
    penalty = model.latent_penalty()
    assert penalty.shape == () and penalty.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(penalty), expected, rtol=1e-13)
    np.testing.assert_allclose(
        np.asarray(dsr.latent_regularizer(model)), np.asarray(penalty), rtol=0, atol=0
    )


def test_latent_regularizer_rejects_other_objects():
    with pytest.raises(TypeError, match="AbstractRNN"):
        dsr.latent_regularizer(object())
