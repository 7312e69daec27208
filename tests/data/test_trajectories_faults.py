"""Datasets check themselves: tampered `.npz` files, the `.npz` suffix, bad `Standardization`."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.data import Standardization, Trajectories, standardize

DT = 0.1


def _saved(tmp_path, name="data"):
    """A standardised two-trajectory dataset saved in `tmp_path`; returns (traj, path)."""
    rng = np.random.default_rng(0)
    traj = Trajectories.from_arrays(rng.normal(size=(2, 30, 3)), dt=DT, system="toy")
    traj, _ = standardize(traj)
    return traj, traj.save(tmp_path / name)


def _fields(path):
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def _tamper(path, **changes):
    """Rewrite the file at `path` with fields replaced (None removes one)."""
    fields = _fields(path)
    for name, value in changes.items():
        if value is None:
            fields.pop(name)
        else:
            fields[name] = np.asarray(value)
    with open(path, "wb") as f:
        np.savez(f, **fields)


def _meta_with(path, **updates):
    meta = json.loads(str(_fields(path)["metadata"]))
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(meta.get(key), dict):
            meta[key] = {**meta[key], **value}
        else:
            meta[key] = value
    return json.dumps(meta, allow_nan=True)


# (case, changes as a function of the file's path, the field the message must name)
TAMPERED = [
    ("dt-negative", lambda p: {"metadata": _meta_with(p, dt=-1.0)}, "`dt`"),
    ("dt-zero", lambda p: {"metadata": _meta_with(p, dt=0.0)}, "`dt`"),
    ("dt-nan", lambda p: {"metadata": _meta_with(p, dt=float("nan"))}, "`dt`"),
    ("dt-inf", lambda p: {"metadata": _meta_with(p, dt=float("inf"))}, "`dt`"),
    ("dt-text", lambda p: {"metadata": _meta_with(p, dt="0.1")}, "`dt`"),
    ("dt-spacing", lambda p: {"metadata": _meta_with(p, dt=0.5)}, "`dt`"),
    ("dt-uneven", lambda p: {"times": np.cumsum(np.linspace(0.05, 0.15, 30))}, "`dt`"),
    (
        "std-zero",
        lambda p: {"metadata": _meta_with(p, standardization={"std": [1, 0, 1]})},
        "`std`",
    ),
    (
        "std-negative",
        lambda p: {"metadata": _meta_with(p, standardization={"std": [1, -2, 1]})},
        "`std`",
    ),
    (
        "std-nan",
        lambda p: {"metadata": _meta_with(p, standardization={"std": [1, "NaN", 1]})},
        "`std`",
    ),
    (
        "mean-nan",
        lambda p: {"metadata": _meta_with(p, standardization={"mean": [0, 0, None]})},
        "`mean`",
    ),
    (
        "mean-shape",
        lambda p: {"metadata": _meta_with(p, standardization={"mean": [0, 0]})},
        "`mean`",
    ),
    (
        "n-space",
        lambda p: {"metadata": _meta_with(p, standardization={"n_space": 2})},
        "`n_space`",
    ),
    (
        "stats-text",
        lambda p: {"metadata": _meta_with(p, standardization="z-scored")},
        "`standardization`",
    ),
    ("version-newer", lambda p: {"dynsys_format": 2}, "format version 2, newer"),
    ("version-zero", lambda p: {"dynsys_format": 0}, "`dynsys_format`"),
    ("version-text", lambda p: {"dynsys_format": "one"}, "`dynsys_format`"),
    ("version-missing", lambda p: {"dynsys_format": None}, "dynsys_format"),
    ("metadata-not-json", lambda p: {"metadata": "{dt: 0.1"}, "`metadata`"),
    ("metadata-not-object", lambda p: {"metadata": "[0.1]"}, "`metadata`"),
    ("metadata-number", lambda p: {"metadata": 0.1}, "`metadata`"),
    ("times-shape", lambda p: {"times": np.arange(29) * DT}, "`times`"),
    ("times-decreasing", lambda p: {"times": -np.arange(30) * DT}, "`times`"),
    ("states-nan", lambda p: {"states": np.full((2, 30, 3), np.nan)}, "`states`"),
    ("states-complex", lambda p: {"states": np.ones((2, 30, 3)) * 1j}, "`states`"),
    ("inputs-shape", lambda p: {"inputs": np.zeros((2, 29, 1))}, "`inputs`"),
]


@pytest.mark.parametrize("changes, field", [c[1:] for c in TAMPERED], ids=[c[0] for c in TAMPERED])
def test_tampered_file_names_file_and_field(tmp_path, changes, field):
    _, path = _saved(tmp_path)
    Trajectories.load(path)  # the untouched file loads
    _tamper(path, **changes(path))
    with pytest.raises(ValueError) as exc:
        Trajectories.load(path)
    message = str(exc.value)
    assert str(path) in message and field in message, message


def test_not_an_npz_archive(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(b"\x00\x01 not a zip file at all")
    with pytest.raises(ValueError, match="noise.npz.* not a dynsys Trajectories file"):
        Trajectories.load(path)
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz archive"):
        Trajectories.load(tmp_path / "plain.npy")


def test_metadata_within_tolerance_loads(tmp_path):
    traj, path = _saved(tmp_path)
    _tamper(path, metadata=_meta_with(path, dt=DT * (1 + 1e-6)))
    back = Trajectories.load(path)
    assert back.dt == pytest.approx(DT, rel=1e-5)
    np.testing.assert_array_equal(np.asarray(back.states), np.asarray(traj.states))
    assert Standardization.from_metadata(back).std.shape == (3,)


def test_long_float32_grid_round_trips(tmp_path):
    # 1e5 float32 times far from 0: rounding must not read as a `dt` mismatch
    times = 10.0 + 0.01 * np.arange(100_000)
    traj = Trajectories.from_arrays(np.zeros((100_000, 1), np.float32), times, dt=0.01)
    back = Trajectories.load(traj.save(tmp_path / "long"))
    assert back.times.dtype == jnp.float32 and back.dt == traj.dt


def test_save_refuses_metadata_that_load_would_refuse(tmp_path):
    traj, _ = _saved(tmp_path)
    with pytest.raises(ValueError, match="`dt`=0.5 does not match the spacing of `times`"):
        traj.with_metadata(dt=0.5).save(tmp_path / "bad")
    bad_stats = {"mean": [0.0] * 3, "std": [1.0, 0.0, 1.0], "n_space": 0}
    with pytest.raises(ValueError, match="`std` must be > 0"):
        traj.with_metadata(standardization=bad_stats).save(tmp_path / "bad")
    assert not (tmp_path / "bad.npz").exists()


@pytest.mark.parametrize("saved_as", ["data", "data.npz", "run.v1"])
def test_suffix_round_trip(tmp_path, saved_as):
    traj, path = _saved(tmp_path, saved_as)
    stem = saved_as.removesuffix(".npz")
    assert path == tmp_path / f"{stem}.npz" and path.exists()
    for name in (stem, f"{stem}.npz", str(tmp_path / stem)):
        back = Trajectories.load(tmp_path / name)
        np.testing.assert_array_equal(np.asarray(back.states), np.asarray(traj.states))
        assert back.metadata == traj.metadata


def test_load_prefers_the_file_save_wrote(tmp_path):
    traj, _ = _saved(tmp_path, "x")
    (tmp_path / "x").write_text("not the dataset")
    assert Trajectories.load(tmp_path / "x").metadata == traj.metadata


def test_missing_file_names_both_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'.*nope\.npz' or '.*nope'"):
        Trajectories.load(tmp_path / "nope")


# ---- Standardization -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mean, std, match",
    [
        (jnp.zeros(3), jnp.array([1.0, 0.0, 1.0]), "`std` must be > 0"),
        (jnp.zeros(3), jnp.array([1.0, -1.0, 1.0]), "`std` must be > 0"),
        (jnp.zeros(3), jnp.array([1.0, jnp.nan, 1.0]), "`std` contains 1 NaN"),
        (jnp.zeros(3), jnp.array([1.0, jnp.inf, 1.0]), "`std` contains 1 NaN or infinite"),
        (jnp.array([0.0, jnp.inf, 0.0]), jnp.ones(3), "`mean` contains 1 NaN or infinite"),
        (jnp.zeros(2), jnp.ones(3), "`std` must have the shape of `mean` \\(2,\\)"),
        (jnp.zeros((2, 2)), jnp.ones((2, 2)), "`mean` must be 1-D"),
        (jnp.zeros(1), jnp.asarray(0.0), "`std` must have the shape of `mean`"),
        (jnp.zeros(2), "1", "`std` must be an array of numbers"),
    ],
)
def test_standardization_checks_its_statistics(mean, std, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Standardization(mean=mean, std=std)


def test_standardization_never_divides_by_zero():
    stats = Standardization(mean=jnp.zeros(2), std=jnp.array([2.0, 0.5]))
    np.testing.assert_allclose(np.asarray(stats.apply(jnp.ones((4, 2)))), [[0.5, 2.0]] * 4)
    # a constant channel is fitted with std 1 (centred only), so `fit` never trips the check
    fitted = Standardization.fit(jnp.stack([jnp.arange(5.0), jnp.full(5, 3.0)], axis=1))
    np.testing.assert_allclose(np.asarray(fitted.std)[1], 1.0)


def test_from_metadata_checks_the_statistics():
    traj, stats = standardize(
        Trajectories.from_arrays(np.random.default_rng(1).normal(size=(20, 2)), dt=DT)
    )
    bad = traj.with_metadata(standardization={**stats.to_dict(), "std": [1.0, 0.0]})
    with pytest.raises(ValueError, match="`traj` metadata field `standardization`: `std`"):
        Standardization.from_metadata(bad)
    wrong = traj.with_metadata(standardization={**stats.to_dict(), "mean": [0.0]})
    with pytest.raises(ValueError, match="`mean` must be a list of 2 numbers"):
        Standardization.from_metadata(wrong)
