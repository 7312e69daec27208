"""Predictors, WorldModel shapes and input checks, matched parameter counts, SSIM, data sets."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import worldmodels as wm

KEY = jax.random.key(0)
F64 = jnp.float64


def _model(predictor, channels=2, latent=4, size=8):
    k1, k2 = jax.random.split(jax.random.key(1))
    return wm.WorldModel(
        wm.PatchEncoder(channels, latent, hidden_channels=6, dtype=F64, key=k1),
        predictor,
        wm.PatchDecoder(latent, channels, hidden_channels=6, dtype=F64, key=k2),
        frame_shape=(channels, size, size),
    )


def test_matched_parameter_counts_within_ten_percent():
    for latent in (4, 8):
        preds = wm.matched_predictors(latent, context=2, key=KEY)
        counts = {name: wm.count_parameters(p) for name, p in preds.items()}
        # ConvGRU with 3×3 kernels, hidden = C: 3 (9·2C·C + C) + (C·C + C).
        assert counts["convgru"] == 3 * (18 * latent**2 + latent) + latent**2 + latent
        ref = counts["convgru"]
        for name, n in counts.items():
            assert abs(n - ref) <= 0.1 * ref, (name, counts)
    assert wm.count_parameters(wm.Persistence()) == 0


@pytest.mark.parametrize("name", ["convgru", "transformer"])
def test_residual_baselines_start_as_latent_persistence(name):
    preds = wm.matched_predictors(4, context=2, key=KEY, dtype=F64)
    window = jax.random.normal(jax.random.key(2), (2, 4, 8, 8), F64)
    out = eqx.filter_jit(lambda p, w: p(w))(preds[name], window)
    np.testing.assert_allclose(np.asarray(out), np.asarray(window[-1]), rtol=0, atol=1e-14)


def test_world_model_rollout_one_step_and_predict_agree():
    rd = wm.ReactionDiffusionPredictor(4, context=2, hidden=8, dtype=F64, key=KEY)
    rd = eqx.tree_at(lambda m: m.w2, rd, 0.3 * jnp.ones_like(rd.w2))
    model = _model(rd)
    frames = jax.random.uniform(jax.random.key(3), (5, 2, 8, 8), F64)
    roll = model.rollout(frames[:2], 3)
    assert roll.shape == (3, 2, 8, 8)
    one = model.one_step(frames)
    assert one.shape == (3, 2, 8, 8)
    nxt = model.predict(frames[:2])
    np.testing.assert_allclose(np.asarray(roll[0]), np.asarray(nxt), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(one[0]), np.asarray(nxt), rtol=1e-12, atol=1e-12)
    # Rollout feeds its own predictions back: horizon 2 differs from teacher forcing.
    assert np.max(np.abs(np.asarray(roll[1] - one[1]))) > 1e-6


def test_pixel_persistence_copies_the_last_frame():
    model = wm.WorldModel(None, wm.Persistence(), None, frame_shape=(1, 8, 8))
    frames = jax.random.uniform(jax.random.key(4), (3, 1, 8, 8), F64)
    out = model.rollout(frames, 4)
    np.testing.assert_array_equal(np.asarray(out), np.broadcast_to(frames[-1], (4, 1, 8, 8)))


def test_bad_frames_are_rejected_with_the_argument_named():
    model = wm.WorldModel(None, wm.ConvGRU(2, context=3, key=KEY), None, frame_shape=(2, 8, 8))
    good = jnp.zeros((4, 2, 8, 8))
    with pytest.raises(ValueError, match=r"`frames` has 1 channel\(s\), the model expects 2"):
        model.rollout(good[:, :1], 2)
    with pytest.raises(ValueError, match=r"`frames` has frames of size \(8, 6\)"):
        model.rollout(good[..., :6], 2)
    with pytest.raises(ValueError, match=r"`frames` must be a video"):
        model.rollout(good[0], 2)
    with pytest.raises(ValueError, match=r"`frames` has 2 frame\(s\) but needs at least 3"):
        model.rollout(good[:2], 2)
    with pytest.raises(ValueError, match=r"`frames` has 3 frame\(s\) but needs at least 4"):
        model.one_step(good[:3])
    with pytest.raises(ValueError, match=r"`frames` contains 1 NaN"):
        model.predict(good.at[1, 0, 2, 2].set(jnp.nan))
    with pytest.raises(ValueError, match="n_steps"):
        model.rollout(good, 0)


def test_world_model_construction_checks():
    enc = wm.PatchEncoder(2, 4, key=KEY)
    dec = wm.PatchDecoder(4, 2, key=KEY)
    with pytest.raises(ValueError, match="channel"):
        wm.WorldModel(enc, wm.Persistence(), dec, frame_shape=(3, 8, 8))
    with pytest.raises(ValueError, match="divisible by the patch size"):
        wm.WorldModel(enc, wm.Persistence(), dec, frame_shape=(2, 9, 8))
    with pytest.raises(ValueError, match="latent channels"):
        wm.WorldModel(enc, wm.ConvGRU(5, key=KEY), dec, frame_shape=(2, 8, 8))
    with pytest.raises(ValueError, match="both"):
        wm.WorldModel(enc, wm.Persistence(), None, frame_shape=(2, 8, 8))
    with pytest.raises(TypeError, match="predictor"):
        wm.WorldModel(None, lambda w: w[-1], None, frame_shape=(2, 8, 8))


def test_video_data_sets():
    gs = wm.gray_scott_video(KEY, 2, 3, num_points=16, frame_every=9, burn_in=0, dtype=F64)
    assert gs.states.shape == (2, 3, 2, 16, 16)
    assert gs.metadata["dataset"] == "gray_scott"
    u, v = np.asarray(gs.states[:, :, 0]), np.asarray(gs.states[:, :, 1])
    assert 0.3 < u.min() and u.max() <= 1.0 + 1e-6 and v.min() >= -1e-6 and v.max() > 0.05
    fhn = wm.fitzhugh_nagumo_video(KEY, 2, 3, num_points=16, frame_every=9, burn_in=0,
                                   dtype=F64)  # fmt: skip
    assert fhn.states.shape == (2, 3, 2, 16, 16) and np.isfinite(np.asarray(fhn.states)).all()
    assert float(jnp.max(fhn.states[:, :, 0])) > 0.5  # an excited wave is present
    blobs = wm.moving_blobs_video(KEY, 3, 6, num_points=16, dtype=F64)
    assert blobs.states.shape == (3, 6, 1, 16, 16)
    # Translation conserves the total brightness of every frame; the frames do move.
    mass = np.asarray(jnp.sum(blobs.states, axis=(2, 3, 4)))
    np.testing.assert_allclose(mass, mass[:, :1] * np.ones((1, 6)), rtol=1e-10)
    assert float(jnp.max(jnp.abs(blobs.states[:, 1] - blobs.states[:, 0]))) > 1e-2
    with pytest.raises(ValueError, match="n_frames"):
        wm.moving_blobs_video(KEY, 2, 1)
    with pytest.raises(ValueError, match="speed_range"):
        wm.moving_blobs_video(KEY, 2, 4, speed_range=(2.0, 1.0))
