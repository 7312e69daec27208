import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.data import Trajectories


def _random_states(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def test_from_arrays_single_trajectory():
    states = _random_states((50, 3))
    traj = Trajectories.from_arrays(states, dt=0.1, system="toy", parameters={"a": 1.5})
    assert traj.states.shape == (1, 50, 3)
    assert (traj.n_trajectories, traj.n_times, traj.dim, traj.state_shape) == (1, 50, 3, (3,))
    assert traj.dt == 0.1
    np.testing.assert_allclose(np.asarray(traj.times), 0.1 * np.arange(50), rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(traj.states[0]), states)
    assert traj.metadata["system"] == "toy" and traj.metadata["parameters"] == {"a": 1.5}
    assert traj.input_dim is None and traj.inputs is None


def test_from_arrays_batch_with_times_and_inputs():
    states = _random_states((4, 20, 2))
    inputs = _random_states((4, 20, 1), seed=1)
    times = 2.0 + 0.5 * np.arange(20)
    traj = Trajectories.from_arrays(states, times, inputs=inputs)
    assert (traj.n_trajectories, traj.n_times, traj.dim, traj.input_dim) == (4, 20, 2, 1)
    np.testing.assert_allclose(traj.dt, 0.5, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(traj.inputs), inputs)
    # Non-uniform grid: no dt.
    uneven = Trajectories.from_arrays(states, np.cumsum(np.linspace(0.1, 1.0, 20)))
    assert uneven.dt is None
    # No times, no dt: time is the sample index.
    assert Trajectories.from_arrays(states).dt == 1.0


def test_fields_keep_state_shape():
    states = _random_states((2, 6, 3, 8, 8))  # (batch, time, channels, x, y)
    traj = Trajectories.from_arrays(states, dt=0.2)
    assert traj.dim == 3 and traj.state_shape == (3, 8, 8)
    assert traj.slice_time(1, 4).states.shape == (2, 3, 3, 8, 8)


def test_npz_round_trip_preserves_everything(tmp_path):
    states = _random_states((3, 15, 2))
    inputs = _random_states((3, 15, 4), seed=2)
    meta = {"system": "toy", "parameters": {"k": np.float64(0.25), "v": jnp.arange(3.0)}}
    traj = Trajectories.from_arrays(states, dt=0.05, inputs=inputs, noise=0.05, seed=7, **meta)
    path = traj.save(tmp_path / "data")
    assert path.name == "data.npz" and path.exists()
    back = Trajectories.load(path)
    for name in ("times", "states", "inputs"):
        a, b = getattr(traj, name), getattr(back, name)
        assert a.dtype == b.dtype == jnp.float64
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert back.metadata == traj.metadata
    assert back.metadata["parameters"] == {"k": 0.25, "v": [0.0, 1.0, 2.0]}
    assert (back.dt, back.metadata["noise"], back.metadata["seed"]) == (0.05, 0.05, 7)


def test_npz_round_trip_float32_without_inputs(tmp_path):
    traj = Trajectories.from_arrays(_random_states((10, 3)).astype(np.float32), dt=0.01)
    back = Trajectories.load(traj.save(tmp_path / "x.npz"))
    assert back.states.dtype == jnp.float32 and back.inputs is None
    np.testing.assert_array_equal(np.asarray(back.states), np.asarray(traj.states))


def test_npz_has_no_pickle(tmp_path):
    path = Trajectories.from_arrays(_random_states((5, 2)), system="a").save(tmp_path / "p")
    with np.load(path, allow_pickle=False) as data:
        assert data["metadata"].dtype.kind == "U"


def test_module_is_immutable_and_methods_return_new_objects():
    traj = Trajectories.from_arrays(_random_states((3, 10, 2)), dt=0.1, system="toy")
    new = traj.with_metadata(noise=0.1)
    assert "noise" not in traj.metadata and new.metadata["noise"] == 0.1
    with pytest.raises(AttributeError):
        traj.states = traj.states  # type: ignore[misc]
    sub = traj.select([2, 0])
    np.testing.assert_array_equal(np.asarray(sub.states[0]), np.asarray(traj.states[2]))
    part = traj.slice_time(3, 7)
    np.testing.assert_allclose(np.asarray(part.times), [0.3, 0.4, 0.5, 0.6], rtol=1e-12)
    assert traj.astype(jnp.float32).states.dtype == jnp.float32
    hash(traj.metadata_json)


def test_trajectories_pass_through_jit():
    traj = Trajectories.from_arrays(_random_states((2, 8, 3)), dt=0.1, system="toy")
    doubled = jax.jit(lambda t: t.replace(states=2.0 * t.states))(traj)
    assert isinstance(doubled, Trajectories) and doubled.metadata == traj.metadata
    np.testing.assert_allclose(np.asarray(doubled.states), 2.0 * np.asarray(traj.states))


@pytest.mark.parametrize(
    "states, kwargs, err, match",
    [
        (np.zeros(5), {}, ValueError, "states"),
        (np.zeros((0, 3)), {}, ValueError, "states"),
        (np.zeros((2, 0, 3)), {}, ValueError, "states"),
        (np.array([[0.0, np.nan]]), {}, ValueError, "states"),
        ("abc", {}, TypeError, "states"),
        (np.zeros((4, 2)), {"times": [0.0, 1.0, 1.0, 2.0]}, ValueError, "times"),
        (np.zeros((4, 2)), {"times": [0.0, 1.0, 2.0]}, ValueError, "times"),
        (np.zeros((4, 2)), {"times": [0.0, 1.0, np.inf, 4.0]}, ValueError, "times"),
        (np.zeros((4, 2)), {"dt": -0.1}, ValueError, "dt"),
        (np.zeros((4, 2)), {"dt": 0.5, "times": [0.0, 1.0, 2.0, 3.0]}, ValueError, "dt"),
        (np.zeros((4, 2)), {"inputs": np.zeros((3, 1))}, ValueError, "inputs"),
        (np.zeros((4, 2)), {"inputs": np.zeros((4,))}, ValueError, "inputs"),
        (np.zeros((4, 2)), {"inputs": np.full((4, 1), np.nan)}, ValueError, "inputs"),
        (np.zeros((4, 2)), {"bad": object()}, TypeError, "metadata"),
    ],
)
def test_bad_input_raises(states, kwargs, err, match):
    with pytest.raises(err, match=match):
        Trajectories.from_arrays(states, **kwargs)


def test_bad_constructor_and_load(tmp_path):
    with pytest.raises(ValueError, match="states"):
        Trajectories(np.arange(3.0), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="metadata"):
        Trajectories(np.arange(3.0), np.zeros((1, 3, 2)), None, metadata=[1, 2])
    with pytest.raises(TypeError, match="metadata"):
        Trajectories(np.arange(3.0), np.zeros((1, 3, 2)), None, metadata={1: 2})
    traj = Trajectories.from_arrays(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="indices"):
        traj.select([1])
    with pytest.raises(ValueError, match="start"):
        traj.slice_time(5)
    with pytest.raises(FileNotFoundError, match="path"):
        Trajectories.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a dynsys"):
        Trajectories.load(tmp_path / "other.npz")
