import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.data import Standardization, Trajectories, standardize


def _traj(shape=(3, 200, 2), seed=0):
    rng = np.random.default_rng(seed)
    states = rng.normal(loc=[5.0, -2.0], scale=[3.0, 0.5], size=shape)
    return Trajectories.from_arrays(states, dt=0.1, system="toy")


def test_standardize_zero_mean_unit_std_and_metadata():
    traj = _traj()
    z, stats = standardize(traj)
    flat = np.asarray(z.states).reshape(-1, 2)
    np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(flat.std(axis=0), 1.0, rtol=1e-12)
    raw = np.asarray(traj.states).reshape(-1, 2)
    np.testing.assert_allclose(np.asarray(stats.mean), raw.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(stats.std), raw.std(axis=0), rtol=1e-12)
    recorded = z.metadata["standardization"]
    np.testing.assert_allclose(recorded["mean"], raw.mean(axis=0), rtol=1e-12)
    assert z.metadata["system"] == "toy"
    again = Standardization.from_metadata(z)
    np.testing.assert_allclose(np.asarray(again.std), np.asarray(stats.std), rtol=1e-15)


def test_invert_round_trip_for_trajectories_and_arrays():
    traj = _traj()
    z, stats = standardize(traj)
    back = stats.invert(z)
    np.testing.assert_allclose(np.asarray(back.states), np.asarray(traj.states), rtol=1e-12)
    assert "standardization" not in back.metadata
    window = jnp.asarray(np.asarray(z.states)[1, 10:30])  # (time, dim) model output
    np.testing.assert_allclose(
        np.asarray(stats.invert(window)), np.asarray(traj.states)[1, 10:30], rtol=1e-12
    )
    np.testing.assert_allclose(
        np.asarray(stats.apply(stats.invert(window))), np.asarray(window), atol=1e-12
    )


def test_test_set_uses_train_statistics():
    train, test = _traj(seed=0), _traj(seed=1)
    _, stats = standardize(train)
    test_z, stats2 = standardize(test, stats)
    assert stats2 is stats
    expected = (np.asarray(test.states) - np.asarray(stats.mean)) / np.asarray(stats.std)
    np.testing.assert_allclose(np.asarray(test_z.states), expected, rtol=1e-12)


def test_fields_are_standardised_per_channel():
    rng = np.random.default_rng(3)
    states = rng.normal(size=(2, 5, 3, 4, 4)) * np.array([1.0, 10.0, 0.1])[:, None, None]
    traj = Trajectories.from_arrays(states + 7.0, dt=1.0)
    z, stats = standardize(traj)
    assert stats.n_space == 2 and stats.mean.shape == (3,)
    per_channel = np.moveaxis(np.asarray(z.states), 2, 0).reshape(3, -1)
    np.testing.assert_allclose(per_channel.std(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(stats.invert(z).states), np.asarray(traj.states), rtol=1e-12
    )


def test_constant_channel_is_only_centred_and_float32_kept():
    states = np.stack([np.linspace(0, 1, 50), np.full(50, 3.0)], axis=-1).astype(np.float32)
    stats = Standardization.fit(states)
    np.testing.assert_allclose(np.asarray(stats.std)[1], 1.0)
    z = stats.apply(jnp.asarray(states))
    assert z.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(z)[:, 1], 0.0, atol=1e-6)


def test_apply_is_jittable():
    stats = Standardization.fit(_traj())
    x = jnp.ones((4, 2))
    jitted = jax.jit(lambda s, y: s.apply(y))(stats, x)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(stats.apply(x)), rtol=1e-12)


def test_bad_input_raises():
    traj = _traj()
    stats = Standardization.fit(traj)
    with pytest.raises(TypeError, match="data"):
        standardize(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="stats"):
        standardize(traj, stats={"mean": 0})
    with pytest.raises(ValueError, match="data"):
        stats.apply(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="data"):
        Standardization.fit(np.zeros(4))
    with pytest.raises(ValueError, match="data"):
        Standardization.fit(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="data"):
        Standardization.fit(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="n_space"):
        Standardization.fit(traj, n_space=1)
    with pytest.raises(ValueError, match="standardisation"):
        Standardization.from_metadata(traj)
    with pytest.raises(ValueError, match="mean"):
        Standardization(mean=jnp.zeros(2), std=jnp.ones(3))
