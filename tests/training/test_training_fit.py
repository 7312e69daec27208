"""The fitting loop: convergence, one compilation, evaluation and best selection, guard,
rollback, resume bit for bit, ensembles, bad input."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dynsys.training import (
    AbstractObjective,
    Checkpointing,
    Evaluation,
    FitResult,
    LossFunction,
    NonFiniteError,
    RollbackOnNonfinite,
    fit,
)


class Linear(eqx.Module):
    w: jax.Array
    b: jax.Array

    def __call__(self, x):
        return x @ self.w + self.b


class Scalar(eqx.Module):
    w: jax.Array


_RNG = np.random.default_rng(0)
X = jnp.asarray(_RNG.normal(size=(32, 2)))
Y = X @ jnp.array([2.0, -1.0]) + 0.5 + 0.1 * jnp.asarray(_RNG.normal(size=32))


def _linear():
    return Linear(jnp.zeros(2, dtype=jnp.float64), jnp.zeros((), dtype=jnp.float64))


def _mse(model, batch, key):
    x, y = batch
    return jnp.mean((jax.vmap(model)(x) - y) ** 2)


def _random_batches(step, key):
    idx = jax.random.choice(key, X.shape[0], (8,))
    return X[idx], Y[idx]


def _full_batch(step, key):
    return X, Y


def _quadratic(model, target, key):
    """(w - target)**2: SGD with lr 0.1 gives w_k = target * (1 - 0.8**k) from w_0 = 0."""
    return jnp.sum((model.w - target) ** 2)


def test_fit_recovers_least_squares_and_fills_history():
    result = fit(
        _linear(), _mse, _full_batch, optimizer=optax.sgd(0.3), n_steps=300,
        key=jax.random.key(0), progress=False,
    )  # fmt: skip
    assert isinstance(result, FitResult)
    A = np.concatenate([np.asarray(X), np.ones((32, 1))], axis=1)
    coef = np.linalg.lstsq(A, np.asarray(Y), rcond=None)[0]
    np.testing.assert_allclose(np.asarray(result.model.w), coef[:2], atol=1e-10)
    np.testing.assert_allclose(np.asarray(result.model.b), coef[2], atol=1e-10)
    np.testing.assert_array_equal(result.history["step"], np.arange(300))
    assert result.history["loss"].shape == (300,)
    assert result.history["loss"][-1] < 1e-2 * result.history["loss"][0]
    assert result.steps == 300 and result.steps_per_second > 0
    assert result.last_model is result.model and result.best_model is None


def test_step_is_traced_once_and_progress_bar_shows_loss(capsys):
    traces = []

    def loss_fn(model, batch, train_state, key):
        traces.append(1)
        alpha, count = train_state
        loss = _mse(model, batch, key)
        return loss, ((alpha * 0.9, count + 1), {"mse": loss})

    state = (jnp.asarray(1.0), jnp.asarray(0))  # weak-typed on purpose
    result = fit(
        _linear(), LossFunction(loss_fn, has_aux=True), _random_batches,
        optimizer=optax.adam(0.05), n_steps=12, key=jax.random.key(0), state=state,
    )  # fmt: skip
    assert len(traces) == 1
    assert int(result.train_state[1]) == 12
    np.testing.assert_allclose(np.asarray(result.train_state[0]), 0.9**12, rtol=1e-12)
    np.testing.assert_allclose(result.history["mse"], result.history["loss"], rtol=1e-15)
    err = capsys.readouterr().err
    assert "loss=" in err and "step/s" in err and "12/12" in err


def test_eval_and_best_selection_pick_the_known_best_step():
    def eval_fn(model):
        return {"distance": jnp.abs(model.w - 1.0), "w": model.w}

    target = jnp.asarray(2.0, dtype=jnp.float64)
    result = fit(
        Scalar(jnp.zeros((), dtype=jnp.float64)), _quadratic, lambda i, k: target,
        optimizer=optax.sgd(0.1), n_steps=8, key=jax.random.key(0),
        evaluation=Evaluation(eval_fn, every=1, select="best", metric="distance"),
        progress=False,
    )  # fmt: skip
    w_k = 2.0 * (1.0 - 0.8 ** np.arange(1, 9))
    np.testing.assert_array_equal(result.eval_history["step"], np.arange(1, 9))
    np.testing.assert_allclose(result.eval_history["w"], w_k, rtol=1e-13)
    assert result.best_step == 3
    np.testing.assert_allclose(result.best_value, abs(w_k[2] - 1.0), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(result.model.w), w_k[2], rtol=1e-13)
    np.testing.assert_allclose(np.asarray(result.last_model.w), w_k[-1], rtol=1e-13)


def test_ensemble_fit_equals_separate_fits_and_selects_best_per_member():
    targets = jnp.asarray([2.0, 4.0], dtype=jnp.float64)

    def loss_fn(model, target, key):
        return _quadratic(model, target, key)

    def eval_fn(model):
        return {"distance": jnp.abs(model.w - 1.0)}

    models = Scalar(jnp.zeros(2, dtype=jnp.float64))
    result = fit(
        models, loss_fn, lambda i, k: targets, optimizer=optax.sgd(0.1), n_steps=6,
        key=jax.random.key(0), ensemble=2, shared_batch=False,
        evaluation=Evaluation(eval_fn, every=1, select="best"), progress=False,
    )  # fmt: skip
    assert result.history["loss"].shape == (6, 2)
    for m, t in enumerate((2.0, 4.0)):
        single = fit(
            Scalar(jnp.zeros((), dtype=jnp.float64)), loss_fn,
            lambda i, k, t=t: jnp.asarray(t, dtype=jnp.float64), optimizer=optax.sgd(0.1),
            n_steps=6, key=jax.random.key(0), progress=False,
        )  # fmt: skip
        np.testing.assert_allclose(
            np.asarray(result.last_model.w[m]), np.asarray(single.model.w), rtol=1e-13
        )
    # Member 0 (target 2) is closest to 1 after 3 steps, member 1 (target 4) after 1 step.
    np.testing.assert_array_equal(result.best_step, [3, 1])
    np.testing.assert_allclose(
        np.asarray(result.model.w), [2.0 * (1 - 0.8**3), 4.0 * (1 - 0.8)], rtol=1e-13
    )


def test_ensemble_shares_zero_d_training_state_and_keeps_per_member_state():
    # A 0-d leaf of train_state is one counter for all members (not vmapped); a leaf with a
    # member axis is per member. The cond on the shared counter updates every other step.
    def loss_fn(model, target, state, key):
        acc = jax.lax.cond(
            state["count"] % 2 == 0, lambda: state["acc"] + target, lambda: state["acc"]
        )
        new = {"count": state["count"] + 1, "acc": acc}
        return _quadratic(model, target, key), (new, {})

    targets = jnp.asarray([2.0, 4.0], dtype=jnp.float64)
    state = {"count": jnp.zeros((), jnp.int32), "acc": jnp.zeros(2, dtype=jnp.float64)}
    result = fit(
        Scalar(jnp.zeros(2, dtype=jnp.float64)), LossFunction(loss_fn, has_aux=True),
        lambda i, k: targets, optimizer=optax.sgd(0.1), n_steps=5, key=jax.random.key(0),
        state=state, ensemble=2, shared_batch=False, progress=False,
    )  # fmt: skip
    assert result.train_state["count"].shape == ()
    assert int(result.train_state["count"]) == 5
    np.testing.assert_allclose(np.asarray(result.train_state["acc"]), [6.0, 12.0])
    np.testing.assert_allclose(np.asarray(result.model.w), np.array([2.0, 4.0]) * (1 - 0.8**5))


def test_nonfinite_loss_raises_naming_the_step():
    def batches(step, key):
        return (X.at[0, 0].set(jnp.nan), Y) if step == 7 else (X, Y)

    with pytest.raises(NonFiniteError, match=r"step 7 .*loss") as info:
        fit(
            _linear(), _mse, batches, optimizer=optax.adam(0.01), n_steps=20,
            key=jax.random.key(0), progress=False,
        )  # fmt: skip
    assert info.value.step == 7 and isinstance(info.value, FloatingPointError)
    assert "learning rate" in str(info.value)
    assert np.all(np.isfinite(np.asarray(info.value.last_good_model.w)))


def test_nonfinite_parameter_is_named_by_its_leaf_path():
    def loss_fn(model, batch, key):
        return jnp.sqrt(jnp.sum(model.w**2)) + jnp.sum(model.b**2)  # gradient NaN at w = 0

    with pytest.raises(NonFiniteError, match=r"step 0 .*model\.w") as info:
        fit(
            _linear(), loss_fn, _full_batch, optimizer=optax.sgd(0.1), n_steps=3,
            key=jax.random.key(0), progress=False,
        )  # fmt: skip
    assert "model.b" not in info.value.quantity


def test_rollback_skips_bad_batches_and_halves_the_learning_rate():
    bad_steps = (3, 6)
    target = jnp.asarray(2.0, dtype=jnp.float64)

    def batches(step, key):
        return jnp.asarray(jnp.nan, dtype=jnp.float64) if step in bad_steps else target

    def run(max_rollbacks, **kwargs):
        return fit(
            Scalar(jnp.zeros((), dtype=jnp.float64)), _quadratic, batches,
            optimizer=optax.sgd(0.1), n_steps=10, key=jax.random.key(0), progress=False,
            on_nonfinite=RollbackOnNonfinite(max_rollbacks=max_rollbacks), **kwargs,
        )  # fmt: skip

    result = run(max_rollbacks=2)
    assert [s for s, _ in result.rollbacks] == [3, 6]
    assert "loss" in result.rollbacks[0][1]
    np.testing.assert_array_equal(result.history["step"], [0, 1, 2, 4, 5, 7, 8, 9])
    # Reference: steps 0-2 at lr 0.1, 4-5 at 0.05, 7-9 at 0.025; SGD w <- w - lr * 2 (w - 2).
    w = 0.0
    for lr in [0.1] * 3 + [0.05] * 2 + [0.025] * 3:
        w -= lr * 2.0 * (w - 2.0)
    np.testing.assert_allclose(np.asarray(result.model.w), w, rtol=1e-13)
    assert result.steps == 10
    # Checking every 4 steps finds the same first bad step and gives the same run.
    batched = run(max_rollbacks=2, check_every=4)
    np.testing.assert_array_equal(np.asarray(batched.model.w), np.asarray(result.model.w))
    with pytest.raises(NonFiniteError, match=r"step 6 .*after 1 rollback"):
        run(max_rollbacks=1)


def test_resume_continues_bit_for_bit(tmp_path):
    def loss_fn(model, batch, train_state, key):
        xb, yb = batch
        noise = 0.05 * jax.random.normal(key, yb.shape, dtype=yb.dtype)
        loss = jnp.mean((jax.vmap(model)(xb) - yb - noise) ** 2)
        alpha = jax.lax.stop_gradient(0.9 * train_state + 0.1 * loss)
        return loss, (alpha, {"alpha": alpha})

    def eval_fn(model):
        return {"val": _mse(model, (X, Y), None)}

    loss_fn = LossFunction(loss_fn, has_aux=True)
    kwargs = dict(
        optimizer=optax.adam(0.05), key=jax.random.key(3),
        state=jnp.asarray(1.0, dtype=jnp.float64),
        evaluation=Evaluation(eval_fn, every=4, select="best"), progress=False,
    )  # fmt: skip
    straight = fit(_linear(), loss_fn, _random_batches, n_steps=20, **kwargs)
    first = fit(
        _linear(), loss_fn, _random_batches, n_steps=10,
        checkpoint=Checkpointing(tmp_path, every=5), **kwargs,
    )  # fmt: skip
    assert (tmp_path / "last" / "meta.json").is_file() and (tmp_path / "best").is_dir()
    resumed = fit(
        _linear(), loss_fn, _random_batches, n_steps=20,
        checkpoint=Checkpointing(tmp_path, resume=True), **kwargs,
    )  # fmt: skip
    assert first.steps == 10 and resumed.steps == 20
    for a, b in [
        (straight.last_model.w, resumed.last_model.w),
        (straight.last_model.b, resumed.last_model.b),
        (straight.model.w, resumed.model.w),
        (straight.train_state, resumed.train_state),
    ]:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(jax.tree.leaves(straight.opt_state), jax.tree.leaves(resumed.opt_state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for name in ("step", "loss", "alpha"):
        np.testing.assert_array_equal(straight.history[name], resumed.history[name])
    np.testing.assert_array_equal(straight.eval_history["val"], resumed.eval_history["val"])
    assert straight.best_step == resumed.best_step

    # A run killed at step 13 resumes from its checkpoint at step 10, again bit for bit.
    class Killed(Exception):
        pass

    def dying_batches(step, key):
        if step == 13:
            raise Killed
        return _random_batches(step, key)

    with pytest.raises(Killed):
        fit(
            _linear(), loss_fn, dying_batches, n_steps=20,
            checkpoint=Checkpointing(tmp_path / "killed", every=5), **kwargs,
        )  # fmt: skip
    revived = fit(
        _linear(), loss_fn, _random_batches, n_steps=20,
        checkpoint=Checkpointing(tmp_path / "killed", resume=True), **kwargs,
    )  # fmt: skip
    np.testing.assert_array_equal(np.asarray(revived.model.w), np.asarray(straight.model.w))
    np.testing.assert_array_equal(revived.history["loss"], straight.history["loss"])
    with pytest.raises(ValueError, match="key"):
        fit(
            _linear(), loss_fn, _random_batches, n_steps=20,
            checkpoint=Checkpointing(tmp_path, resume=True), **{**kwargs, "key": jax.random.key(4)},
        )  # fmt: skip


def test_iterator_batches_are_accepted_and_running_out_is_an_error():
    result = fit(
        _linear(), _mse, iter([(X, Y)] * 3), optimizer=optax.sgd(0.1), n_steps=3,
        key=jax.random.key(0), progress=False,
    )  # fmt: skip
    assert result.steps == 3
    with pytest.raises(ValueError, match="ran out at step 2"):
        fit(
            _linear(), _mse, iter([(X, Y)] * 2), optimizer=optax.sgd(0.1), n_steps=3,
            key=jax.random.key(0), progress=False,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"n_steps": 0}, ValueError, "n_steps"),
        ({"n_steps": 2.5}, TypeError, "n_steps"),
        ({"evaluation": lambda m: {}}, TypeError, "evaluation"),
        ({"checkpoint": "dir"}, TypeError, "checkpoint"),
        ({"on_nonfinite": "ignore"}, ValueError, "on_nonfinite"),
        ({"loss_fn": 3}, TypeError, "objective"),
        ({"batches": [(X, Y)]}, TypeError, "sampler"),
        ({"optimizer": 0.1}, TypeError, "optimizer"),
        ({"key": 0}, TypeError, "key"),
        ({"gradient_clip": 0.0}, ValueError, "gradient_clip"),
        ({"check_every": 0}, ValueError, "check_every"),
        ({"devices": "gpu"}, ValueError, "devices"),
        ({"ensemble": 3}, ValueError, "ensemble"),
        ({"filter_spec": lambda x: False}, ValueError, "trainable"),
        ({"progress": "yes"}, TypeError, "progress"),
        ({"colour": "red"}, TypeError, "colour"),
    ],
)
def test_fit_rejects_bad_input(kwargs, error, name):
    args = dict(
        model=_linear(), loss_fn=_mse, batches=_full_batch, optimizer=optax.sgd(0.1),
        n_steps=2, key=jax.random.key(0), progress=False,
    )  # fmt: skip
    args.update(kwargs)
    with pytest.raises(error, match=name):
        fit(args.pop("model"), args.pop("loss_fn"), args.pop("batches"), **args)


@pytest.mark.parametrize(
    ("make", "error", "name"),
    [
        (lambda: Evaluation(lambda m: {}, select="worst"), ValueError, "select"),
        (lambda: Evaluation(lambda m: {}, every=0), ValueError, "every"),
        (lambda: Evaluation(lambda m: {}, mode="lowest"), ValueError, "mode"),
        (lambda: Evaluation(3), TypeError, "fn"),
        (lambda: Checkpointing("x", every=0), ValueError, "every"),
        (lambda: RollbackOnNonfinite(max_rollbacks=-1), ValueError, "max_rollbacks"),
        (lambda: RollbackOnNonfinite(lr_factor=2.0), ValueError, "lr_factor"),
        (lambda: LossFunction(3), TypeError, "loss_fn"),
    ],
)
def test_policy_objects_reject_bad_input(make, error, name):
    with pytest.raises(error, match=name):
        make()


def test_eval_metric_errors_name_the_argument():
    with pytest.raises(ValueError, match="best_metric"):
        fit(
            _linear(), _mse, _full_batch, optimizer=optax.sgd(0.1), n_steps=2,
            key=jax.random.key(0), progress=False,
            evaluation=Evaluation(lambda m: {"a": m.b, "b": m.b}, select="best"),
        )  # fmt: skip
    with pytest.raises(TypeError, match="eval_fn"):
        fit(
            _linear(), _mse, _full_batch, optimizer=optax.sgd(0.1), n_steps=2,
            key=jax.random.key(0), progress=False, evaluation=Evaluation(lambda m: 1.0),
        )  # fmt: skip


class _Counting(AbstractObjective):
    """Records the step index the core passes and carries a per-member running sum."""

    failure_hint: ClassVar[str] = "Counting-specific remedy."

    def init_state(self, model):
        return jnp.zeros((), dtype=model.w.dtype)

    def __call__(self, model, target, state, *, step, key):
        loss = _quadratic(model, target, key)
        new = state + step.astype(state.dtype)
        return loss, (new, {"step_seen": step})


def test_objective_gets_the_step_index_and_its_state_is_vmapped_over_members():
    targets = jnp.asarray([2.0, 4.0], dtype=jnp.float64)
    result = fit(
        Scalar(jnp.zeros(2, dtype=jnp.float64)), _Counting(), lambda i, k: targets,
        optimizer=optax.sgd(0.1), n_steps=5, key=jax.random.key(0), ensemble=2,
        shared_batch=False, progress=False,
    )  # fmt: skip
    np.testing.assert_array_equal(
        result.history["step_seen"], np.repeat(np.arange(5), 2).reshape(5, 2)
    )
    assert result.train_state.shape == (2,)
    np.testing.assert_array_equal(np.asarray(result.train_state), [10.0, 10.0])
    np.testing.assert_allclose(np.asarray(result.model.w), np.array([2.0, 4.0]) * (1 - 0.8**5))


def test_objective_failure_hint_and_explanation_reach_the_error():
    class Explained(_Counting):
        def explain_failure(self, error):
            return RuntimeError(f"explained: {error}")

    nan = jnp.asarray(jnp.nan, dtype=jnp.float64)
    model = Scalar(jnp.zeros((), dtype=jnp.float64))
    with pytest.raises(NonFiniteError, match=r"step 2 .*Counting-specific remedy\.$"):
        fit(
            model, _Counting(), lambda i, k: nan if i == 2 else jnp.asarray(2.0, dtype=jnp.float64),
            optimizer=optax.sgd(0.1), n_steps=4, key=jax.random.key(0), progress=False,
        )  # fmt: skip
    with pytest.raises(RuntimeError, match="explained: Training became non-finite at step 0"):
        fit(
            model, Explained(), lambda i, k: nan, optimizer=optax.sgd(0.1), n_steps=2,
            key=jax.random.key(0), progress=False,
        )  # fmt: skip


def test_gradient_clip_equals_chaining_the_clip_by_hand():
    kwargs = dict(n_steps=20, key=jax.random.key(1), progress=False)
    clipped = fit(
        _linear(), _mse, _random_batches, optimizer=optax.adam(0.05), gradient_clip=0.1, **kwargs
    )
    by_hand = fit(
        _linear(), _mse, _random_batches,
        optimizer=optax.chain(optax.clip_by_global_norm(0.1), optax.adam(0.05)), **kwargs,
    )  # fmt: skip
    free = fit(_linear(), _mse, _random_batches, optimizer=optax.adam(0.05), **kwargs)
    np.testing.assert_array_equal(np.asarray(clipped.model.w), np.asarray(by_hand.model.w))
    assert not np.array_equal(np.asarray(clipped.model.w), np.asarray(free.model.w))


def test_deprecated_keywords_warn_and_give_the_same_run(tmp_path):
    def eval_fn(model):
        return {"val": _mse(model, (X, Y), None)}

    common = dict(optimizer=optax.adam(0.05), n_steps=8, key=jax.random.key(2), progress=False)
    new = fit(
        _linear(), _mse, _random_batches, evaluation=Evaluation(eval_fn, every=2, select="best"),
        checkpoint=Checkpointing(tmp_path / "new", every=4), **common,
    )  # fmt: skip
    with pytest.warns(DeprecationWarning, match="eval_fn .*evaluation=Evaluation"):
        old = fit(
            _linear(), _mse, _random_batches, eval_fn=eval_fn, eval_every=2, select="best",
            checkpoint_dir=tmp_path / "old", checkpoint_every=4, **common,
        )  # fmt: skip
    np.testing.assert_array_equal(np.asarray(new.model.w), np.asarray(old.model.w))
    assert new.best_step == old.best_step and (tmp_path / "old" / "best").is_dir()


def test_param_dtype_is_the_first_floating_leaf():
    from dynsys.training import param_dtype

    assert param_dtype(_linear()) == jnp.float64
    assert param_dtype(Scalar(jnp.zeros((), jnp.float32))) == jnp.float32
    assert param_dtype({"n": jnp.zeros(3, jnp.int32)}, default=jnp.float32) == jnp.float32
