"""Checkpoints round-trip bit for bit; mismatched templates fail clearly."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dynsys.training import Checkpoint, load_checkpoint, save_checkpoint


class Net(eqx.Module):
    W: jax.Array
    b: jax.Array
    activation: Callable

    def __call__(self, x):
        return self.activation(self.W @ x + self.b)


def _net(seed, width=4):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(width, 2)), rng.normal(size=width)
    return Net(jnp.asarray(W), jnp.asarray(b), jnp.tanh)


def _setup():
    mlp = _net(0)
    optimizer = optax.adam(1e-2)
    opt_state = optimizer.init(eqx.filter(mlp, eqx.is_inexact_array))
    # Make the optimiser state non-trivial.
    opt_state = jax.tree.map(lambda x: x + 0.25 if eqx.is_inexact_array(x) else x, opt_state)
    return mlp, opt_state


def test_round_trip_is_bit_for_bit(tmp_path):
    mlp, opt_state = _setup()
    state = jnp.asarray(0.123456789, dtype=jnp.float64)
    key = jax.random.key(42)
    history = {"step": np.arange(3), "loss": np.array([3.0, 2.0, 1.0 / 3.0])}
    path = save_checkpoint(
        tmp_path / "ck", mlp, opt_state, state, step=3, key=key, history=history,
        eval_history={"step": np.array([3]), "val": np.array([0.5])}, metadata={"note": "x"},
    )  # fmt: skip
    template = _net(1)
    like_opt = optax.adam(1e-2).init(eqx.filter(template, eqx.is_inexact_array))
    ckpt = load_checkpoint(path, like=(template, like_opt, jnp.zeros((), dtype=jnp.float64)))
    assert isinstance(ckpt, Checkpoint) and ckpt.step == 3
    for a, b in zip(jax.tree.leaves(mlp), jax.tree.leaves(ckpt.model)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(jax.tree.leaves(opt_state), jax.tree.leaves(ckpt.opt_state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(ckpt.train_state), np.asarray(state))
    np.testing.assert_array_equal(
        np.asarray(jax.random.key_data(ckpt.key)), np.asarray(jax.random.key_data(key))
    )
    np.testing.assert_array_equal(ckpt.history["loss"], history["loss"])
    np.testing.assert_array_equal(ckpt.eval_history["val"], [0.5])
    assert ckpt.metadata == {"note": "x"}
    # The restored model computes exactly what the saved one does.
    x = jnp.array([0.3, -0.7])
    np.testing.assert_array_equal(np.asarray(ckpt.model(x)), np.asarray(mlp(x)))


def test_overwrite_and_raw_keys_and_skipped_parts(tmp_path):
    mlp, opt_state = _setup()
    save_checkpoint(tmp_path / "ck", mlp, opt_state, step=1, key=jax.random.PRNGKey(5))
    shifted = jax.tree.map(lambda x: x + 1.0 if eqx.is_inexact_array(x) else x, mlp)
    save_checkpoint(tmp_path / "ck", shifted, None, step=2, key=jax.random.PRNGKey(5))
    ckpt = load_checkpoint(tmp_path / "ck", like=(mlp, None, None))
    assert ckpt.step == 2 and ckpt.opt_state is None and ckpt.train_state is None
    np.testing.assert_array_equal(np.asarray(ckpt.key), np.asarray(jax.random.PRNGKey(5)))
    np.testing.assert_array_equal(np.asarray(ckpt.model.b), np.asarray(shifted.b))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]  # no temporary folders left
    with pytest.raises(ValueError, match="opt_state"):
        load_checkpoint(tmp_path / "ck", like=(mlp, opt_state, None))


def test_bad_template_and_missing_checkpoint_are_clear_errors(tmp_path):
    mlp, opt_state = _setup()
    save_checkpoint(tmp_path / "ck", mlp, opt_state, step=0)
    wider = _net(0, width=5)
    with pytest.raises(ValueError, match="like"):
        load_checkpoint(tmp_path / "ck", like=(wider, None, None))
    with pytest.raises(TypeError, match="like"):
        load_checkpoint(tmp_path / "ck", like=mlp)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing", like=(mlp, None, None))
    with pytest.raises(ValueError, match="step"):
        save_checkpoint(tmp_path / "ck2", mlp, step=-1)
    with pytest.raises(TypeError, match="metadata"):
        save_checkpoint(tmp_path / "ck2", mlp, metadata={"f": object()})
