"""Training: a short fit lowers the rollout error; bad data and divergence stop clearly."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dynsys import training
from dynsys import worldmodels as wm

F64 = jnp.float64


@pytest.fixture(scope="module")
def setup():
    data = wm.moving_blobs_video(jax.random.key(0), 8, 6, num_points=8, num_blobs=2,
                                 width_range=(0.15, 0.2), dtype=F64)  # fmt: skip
    k1, k2, k3 = jax.random.split(jax.random.key(1), 3)
    model = wm.WorldModel(
        wm.PatchEncoder(1, 4, hidden_channels=8, dtype=F64, key=k1),
        wm.ReactionDiffusionPredictor(4, context=2, hidden=16, n_steps=2, dtype=F64, key=k2),
        wm.PatchDecoder(4, 1, hidden_channels=8, dtype=F64, key=k3),
        frame_shape=(1, 8, 8),
    )
    return data, model


@pytest.mark.integration
def test_short_training_lowers_the_rollout_error(setup):
    data, model = setup
    before = wm.evaluate(model, data, horizons=3)
    result = wm.fit(model, data, key=jax.random.key(2), n_steps=60, batch_size=8, window=2,
                    learning_rate=1e-2, progress=False)  # fmt: skip
    after = wm.evaluate(result.model, data, horizons=3)
    assert np.all(after["rollout_mse"] < 0.5 * before["rollout_mse"]), (before, after)
    assert after["one_step_mse"] < 0.5 * before["one_step_mse"]
    assert after["rollout_ssim"][0] > before["rollout_ssim"][0]
    assert set(result.history) >= {"loss", "prediction", "reconstruction"}
    assert after["rollout_mse"].shape == (3,) and after["n_rollouts"] == 8 * 2


def test_diverging_training_stops_with_step_and_hint(setup):
    data, model = setup
    with pytest.raises(training.NonFiniteError, match=r"step \d+.*World-model remedies"):
        wm.fit(model, data, key=jax.random.key(2), n_steps=5, batch_size=2,
               learning_rate=1e200, gradient_clip=None, progress=False)  # fmt: skip


def test_fit_rejects_bad_data(setup):
    data, model = setup
    with pytest.raises(
        ValueError, match=r"`data.states\[0\]` has 6 frame\(s\) but needs at least 7"
    ):
        wm.fit(model, data, key=jax.random.key(0), n_steps=1, window=5, progress=False)
    gs = wm.gray_scott_video(jax.random.key(0), 2, 3, num_points=8, frame_every=9, burn_in=0,
                             dtype=F64)  # fmt: skip
    with pytest.raises(ValueError, match=r"`data.states\[0\]` has 2 channel\(s\)"):
        wm.fit(model, gs, key=jax.random.key(0), n_steps=1, progress=False)
    with pytest.raises(TypeError, match="Trajectories"):
        wm.fit(model, np.zeros((2, 6, 1, 8, 8)), key=jax.random.key(0), n_steps=1)
    persistence = wm.WorldModel(None, wm.Persistence(), None, frame_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="no trainable parameters"):
        wm.fit(persistence, data, key=jax.random.key(0), n_steps=1, progress=False)


def _leaves(model):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))]


def test_a_given_optimizer_is_used(setup):
    """optax.sgd(0.0) in place of the default AdamW: the parameters stay put."""
    data, model = setup
    result = wm.fit(model, data, key=jax.random.key(2), n_steps=2, batch_size=2,
                    optimizer=optax.sgd(0.0), progress=False)  # fmt: skip
    for a, b in zip(_leaves(model), _leaves(result.model)):
        np.testing.assert_array_equal(a, b)
    assert result.history["loss"].shape == (2,) and np.all(np.isfinite(result.history["loss"]))


def test_checkpoint_and_resume_continue_bit_for_bit(setup, tmp_path):
    """Stopped after 2 of 4 steps and resumed from the checkpoint: the uninterrupted run."""
    data, model = setup
    # A schedule-free optimizer: the default cosine decay depends on n_steps, which differs
    # between the two halves here (an interrupted run would resume with the same n_steps).
    args = dict(key=jax.random.key(2), batch_size=2, optimizer=optax.adam(1e-2), progress=False)
    full = wm.fit(model, data, n_steps=4, **args)
    wm.fit(model, data, n_steps=2, checkpoint=training.Checkpointing(tmp_path), **args)
    resumed = wm.fit(model, data, n_steps=4,
                     checkpoint=training.Checkpointing(tmp_path, resume=True), **args)  # fmt: skip
    assert resumed.steps == 4
    for key in ("step", "loss", "prediction", "reconstruction"):
        np.testing.assert_array_equal(resumed.history[key], full.history[key])
    for a, b in zip(_leaves(full.model), _leaves(resumed.model)):
        np.testing.assert_array_equal(a, b)
