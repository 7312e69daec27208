"""Several steps per compiled call: bit for bit the run of one step per call.

With a traced sampler, the same key must give the same model, history, evaluations,
checkpoints, rollbacks and errors whether each compiled call runs one step or `k`, with
calls cut at the evaluation and checkpoint steps and after a rollback.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax
import pytest

from dynsys.training import (
    AbstractObjective,
    Checkpointing,
    Evaluation,
    JitSampler,
    NonFiniteError,
    RollbackOnNonfinite,
    fit,
)

_RNG = np.random.default_rng(1)
X = jnp.asarray(_RNG.normal(size=(64, 3)))
Y = jnp.tanh(X @ jnp.array([1.5, -0.7, 0.3])) + 0.05 * jnp.asarray(_RNG.normal(size=64))


class Net(eqx.Module):
    w: jax.Array
    v: jax.Array

    def __call__(self, x):
        return jnp.tanh(x @ self.w) @ self.v


def _net(key=0):
    k1, k2 = jax.random.split(jax.random.key(key))
    return Net(jax.random.normal(k1, (3, 4)), jax.random.normal(k2, (4,)))


class Regression(AbstractObjective):
    """MSE with dropout noise on the inputs (uses the key) and a running loss average
    (a carried state); NaN at the steps in `bad_steps` (the step index is traced)."""

    bad_steps: tuple = ()

    def init_state(self, model):
        return {"avg": jnp.zeros((), jnp.float64)}

    def __call__(self, model, batch, state, *, step, key):
        x, y = batch
        x = x * jax.random.bernoulli(key, 0.9, x.shape).astype(x.dtype) / 0.9
        loss = jnp.mean((jax.vmap(model)(x) - y) ** 2)
        for s in self.bad_steps:
            loss = jnp.where(step == s, jnp.nan, loss)
        avg = 0.9 * state["avg"] + 0.1 * jax.lax.stop_gradient(loss)
        return loss, ({"avg": avg}, {"avg": avg})


def _draw(step, key):
    idx = jax.random.choice(key, X.shape[0], (16,))
    return X[idx], Y[idx]


def _identical(a, b):
    la, lb = jtu.tree_leaves(a), jtu.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


def _run(k, **kw):
    options = dict(optimizer=optax.adam(1e-2), n_steps=40, key=jax.random.key(3),
                   progress=False, steps_per_call=k)  # fmt: skip
    options.update(kw)
    model = options.pop("model", _net())
    sampler = options.pop("sampler", JitSampler(_draw))
    return fit(model, options.pop("objective", Regression()), sampler, **options)


def test_k_steps_per_call_is_bit_identical_with_evaluation_and_checkpoints(tmp_path):
    evaluation = Evaluation(lambda m: {"val": jnp.mean((jax.vmap(m)(X) - Y) ** 2)}, every=10,
                            select="best")  # fmt: skip
    runs = {}
    for k in (1, 7):
        runs[k] = _run(k, evaluation=evaluation,
                       checkpoint=Checkpointing(tmp_path / f"k{k}", every=15))  # fmt: skip
    one, many = runs[1], runs[7]
    assert one.steps_per_call == 1 and many.steps_per_call == 7
    _identical((one.model, one.last_model, one.opt_state, one.train_state),
               (many.model, many.last_model, many.opt_state, many.train_state))  # fmt: skip
    for name in ("step", "loss", "avg"):
        np.testing.assert_array_equal(one.history[name], many.history[name])
    np.testing.assert_array_equal(one.history["step"], np.arange(40))
    for name in ("step", "val"):
        np.testing.assert_array_equal(one.eval_history[name], many.eval_history[name])
    np.testing.assert_array_equal(many.eval_history["step"], [10, 20, 30, 40])
    assert one.best_step == many.best_step
    # the checkpoints are written at the same steps with the same contents: resuming the
    # 7-step run from its checkpoint at step 30 ends where the 1-step run ended
    resumed = _run(7, evaluation=evaluation,
                   checkpoint=Checkpointing(tmp_path / "k7", every=15, resume=True))  # fmt: skip
    _identical(one.last_model, resumed.last_model)


def test_an_ensemble_is_bit_identical():
    models = eqx.filter_vmap(lambda k: Net(*_split(k)))(jax.random.split(jax.random.key(5), 3))
    one = _run(1, model=models, ensemble=3, n_steps=12)
    many = _run(5, model=models, ensemble=3, n_steps=12)
    _identical((one.model, one.opt_state), (many.model, many.opt_state))
    np.testing.assert_array_equal(one.history["loss"], many.history["loss"])
    assert many.history["loss"].shape == (12, 3)


def _split(key):
    k1, k2 = jax.random.split(key)
    return jax.random.normal(k1, (3, 4)), jax.random.normal(k2, (4,))


def test_a_nonfinite_step_inside_a_call_is_handled_as_with_one_step_per_call():
    objective = Regression(bad_steps=(13, 14, 30))
    rolled = {k: _run(k, objective=objective, on_nonfinite=RollbackOnNonfinite(max_rollbacks=5))
              for k in (1, 8)}  # fmt: skip
    one, many = rolled[1], rolled[8]
    assert one.rollbacks == many.rollbacks
    assert [step for step, _ in one.rollbacks] == [13, 14, 30]
    _identical((one.model, one.opt_state, one.train_state),
               (many.model, many.opt_state, many.train_state))  # fmt: skip
    np.testing.assert_array_equal(one.history["step"], many.history["step"])
    np.testing.assert_array_equal(one.history["loss"], many.history["loss"])
    assert 13 not in one.history["step"] and one.steps == 40

    errors = {}
    for k in (1, 8):
        with pytest.raises(NonFiniteError, match="step 13") as info:
            _run(k, objective=objective)
        errors[k] = info.value
    assert errors[1].step == errors[8].step == 13
    _identical(errors[1].last_good_model, errors[8].last_good_model)


def test_automatic_choice_and_bad_arguments():
    auto = _run(None)
    assert auto.steps_per_call == 32  # a JitSampler: traced
    _identical(auto.model, _run(1).model)
    host = _run(None, sampler=_draw)  # a plain function: called on the host, one step a call
    assert host.steps_per_call == 1
    np.testing.assert_allclose(np.asarray(host.history["loss"]), np.asarray(auto.history["loss"]),
                               rtol=1e-12)  # fmt: skip
    with pytest.raises(ValueError, match="`steps_per_call` must be >= 1"):
        _run(0)
    with pytest.raises(ValueError, match="needs a sampler function"):
        fit(_net(), Regression(), iter([_draw(0, jax.random.key(0))] * 4),
            optimizer=optax.adam(1e-2), n_steps=4, key=jax.random.key(3), progress=False,
            steps_per_call=2)  # fmt: skip
