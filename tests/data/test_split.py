import jax
import numpy as np
import pytest

from dynsys.data import Trajectories, split_time, split_trajectories


def _traj(batch=10, time=50):
    states = np.arange(batch * time * 2, dtype=np.float64).reshape(batch, time, 2)
    return Trajectories.from_arrays(states, dt=0.5, system="toy")


def test_split_time_sizes_and_contents():
    traj = _traj()
    train, test = split_time(traj, 0.8)
    assert train.states.shape == (10, 40, 2) and test.states.shape == (10, 10, 2)
    np.testing.assert_array_equal(
        np.concatenate([np.asarray(train.states), np.asarray(test.states)], axis=1),
        np.asarray(traj.states),
    )
    np.testing.assert_allclose(np.asarray(test.times)[0], 20.0, rtol=1e-12)
    assert (train.metadata["split"], test.metadata["split"]) == ("train", "test")
    assert train.dt == test.dt == 0.5


def test_split_trajectories_sizes_seeded_and_disjoint():
    traj = _traj()
    train, test = split_trajectories(traj, 0.7, key=jax.random.key(0))
    assert (train.n_trajectories, test.n_trajectories) == (7, 3)
    ids = lambda t: set((np.asarray(t.states)[:, 0, 0] // 100).astype(int).tolist())  # noqa: E731
    assert ids(train).isdisjoint(ids(test)) and ids(train) | ids(test) == set(range(10))
    again, _ = split_trajectories(traj, 0.7, key=jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(again.states), np.asarray(train.states))
    other = [ids(split_trajectories(traj, 0.7, key=jax.random.key(s))[1]) for s in range(1, 6)]
    assert any(o != ids(test) for o in other)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.01, 0.99, -0.5, 2.0])
def test_split_empty_part_raises(fraction):
    with pytest.raises(ValueError, match="fraction"):
        split_time(_traj(time=20), fraction)
    with pytest.raises(ValueError, match="fraction"):
        split_trajectories(_traj(batch=5), fraction, key=jax.random.key(0))


def test_split_bad_types_raise():
    with pytest.raises(TypeError, match="data"):
        split_time(np.zeros((2, 10, 2)), 0.5)
    with pytest.raises(TypeError, match="fraction"):
        split_time(_traj(), "half")
    with pytest.raises(TypeError, match="key"):
        split_trajectories(_traj(), 0.5, key=0)
