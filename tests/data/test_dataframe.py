"""Trajectories to and from long-format pandas DataFrames and xarray Datasets."""

import builtins
import sys

import numpy as np
import pytest

from dynsys.data import Trajectories

pd = pytest.importorskip("pandas")


def _frame(n_groups=3, n_times=20, dt=0.25, t0=1.0, seed=0):
    """A long-format frame: `run` (string labels), `t`, state `a`, `b`, input `u`."""
    rng = np.random.default_rng(seed)
    n = n_groups * n_times
    return pd.DataFrame(
        {
            "run": np.repeat([f"r{i}" for i in range(n_groups)], n_times),
            "t": np.tile(t0 + dt * np.arange(n_times), n_groups),
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "u": rng.normal(size=n),
        }
    )


def test_grouped_frame_reads_batch_axis_and_dt_from_time_column():
    df = _frame()
    traj = Trajectories.from_dataframe(df, time="t", columns=["a", "b"], group="run")
    assert traj.states.shape == (3, 20, 2) and traj.inputs is None
    np.testing.assert_allclose(traj.dt, 0.25, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(traj.times), 1.0 + 0.25 * np.arange(20))
    for i in range(3):
        rows = df[df["run"] == f"r{i}"]
        np.testing.assert_array_equal(np.asarray(traj.states[i]), rows[["a", "b"]].to_numpy())
    assert traj.metadata["state_names"] == ["a", "b"]


def test_groups_in_order_of_first_appearance_and_rows_interleaved():
    df = _frame(n_groups=2, n_times=5)
    shuffled = pd.concat([df.iloc[5:], df.iloc[:5]]).iloc[[0, 5, 1, 6, 2, 7, 3, 8, 4, 9]]
    traj = Trajectories.from_dataframe(shuffled, time="t", columns=["a"], group="run")
    np.testing.assert_array_equal(np.asarray(traj.states[0, :, 0]), df["a"].to_numpy()[5:])
    np.testing.assert_array_equal(np.asarray(traj.states[1, :, 0]), df["a"].to_numpy()[:5])


def test_default_columns_are_all_others_and_inputs_are_read():
    traj = Trajectories.from_dataframe(_frame(), time="t", group="run", inputs="u")
    assert traj.states.shape == (3, 20, 2) and traj.inputs.shape == (3, 20, 1)
    assert traj.metadata["input_names"] == ["u"]
    every = Trajectories.from_dataframe(_frame(), time="t", group="run")
    assert every.metadata["state_names"] == ["a", "b", "u"]


def test_no_time_column_uses_dt_keyword():
    df = _frame(n_groups=1)[["a", "b"]]
    traj = Trajectories.from_dataframe(df, dt=0.5, system="toy")
    assert traj.states.shape == (1, 20, 2) and traj.dt == 0.5
    np.testing.assert_array_equal(np.asarray(traj.times), 0.5 * np.arange(20))
    assert traj.metadata["system"] == "toy"
    assert Trajectories.from_dataframe(df).dt == 1.0
    with pytest.raises(ValueError, match="`dt`"):
        Trajectories.from_dataframe(_frame(n_groups=1), time="t", columns="a", dt=0.3)


@pytest.mark.parametrize("n_traj", [1, 4])
@pytest.mark.parametrize("with_inputs", [False, True])
def test_round_trip_is_exact(n_traj, with_inputs):
    rng = np.random.default_rng(1)
    states = rng.normal(size=(n_traj, 30, 3))
    inputs = rng.normal(size=(n_traj, 30, 2)) if with_inputs else None
    traj = Trajectories.from_arrays(states, 0.5 + 0.01 * np.arange(30), inputs=inputs)
    df = traj.to_dataframe()
    expected = ["time", "x0", "x1", "x2"] + (["u0", "u1"] if with_inputs else [])
    if n_traj > 1:
        expected = ["trajectory", *expected]
    assert list(df.columns) == expected and len(df) == n_traj * 30
    group = "trajectory" if n_traj > 1 else None
    back = Trajectories.from_dataframe(
        df,
        time="time",
        columns=["x0", "x1", "x2"],
        group=group,
        inputs=["u0", "u1"] if with_inputs else None,
    )
    np.testing.assert_array_equal(np.asarray(back.states), states)
    np.testing.assert_array_equal(np.asarray(back.times), np.asarray(traj.times))
    if with_inputs:
        np.testing.assert_array_equal(np.asarray(back.inputs), inputs)
    np.testing.assert_allclose(back.dt, traj.dt, rtol=1e-12)
    assert back.states.dtype == traj.states.dtype


def test_round_trip_without_time_column_keeps_states_and_names():
    df = _frame(n_groups=1)[["a", "b"]]
    traj = Trajectories.from_dataframe(df, dt=0.1)
    out = traj.to_dataframe(time="seconds")
    assert list(out.columns) == ["seconds", "a", "b"]
    np.testing.assert_array_equal(out[["a", "b"]].to_numpy(), df.to_numpy())
    back = Trajectories.from_dataframe(out, time="seconds")
    np.testing.assert_array_equal(np.asarray(back.states), np.asarray(traj.states))
    np.testing.assert_array_equal(np.asarray(back.times), np.asarray(traj.times))


def test_stale_state_names_fall_back_to_x():
    traj = Trajectories.from_arrays(np.zeros((5, 2)), state_names=["only_one"])
    assert list(traj.to_dataframe().columns) == ["time", "x0", "x1"]


def test_resample_interpolates_onto_uniform_grid_only_when_asked():
    t = np.array([0.0, 0.1, 0.3, 0.4, 0.8, 1.0])
    df = pd.DataFrame({"t": t, "x": 2.0 * t + 1.0, "u": -t})
    with pytest.raises(ValueError, match=r"`time` column 't' is not uniformly spaced.*resample"):
        Trajectories.from_dataframe(df, time="t", columns="x")
    traj = Trajectories.from_dataframe(df, time="t", columns="x", inputs="u", resample=True)
    grid = np.linspace(0.0, 1.0, 6)
    np.testing.assert_allclose(np.asarray(traj.times), grid, rtol=0, atol=1e-15)
    np.testing.assert_allclose(traj.dt, 0.2, rtol=1e-12)
    # A linear signal is interpolated exactly.
    np.testing.assert_allclose(np.asarray(traj.states[0, :, 0]), 2.0 * grid + 1.0, atol=1e-14)
    np.testing.assert_allclose(np.asarray(traj.inputs[0, :, 0]), -grid, atol=1e-14)
    # A uniform column is left as it is.
    uniform = _frame(n_groups=2)
    plain = Trajectories.from_dataframe(uniform, time="t", group="run")
    again = Trajectories.from_dataframe(uniform, time="t", group="run", resample=True)
    np.testing.assert_array_equal(np.asarray(again.states), np.asarray(plain.states))
    with pytest.raises(ValueError, match="`resample=True` needs a `time` column"):
        Trajectories.from_dataframe(df, columns="x", resample=True)


# ---------------------------------------------------------------------------- bad input
def test_missing_values_are_refused():
    df = _frame()
    df.loc[7, "b"] = np.nan
    with pytest.raises(ValueError, match=r"`columns` column 'b' has 1 missing value.*row 7"):
        Trajectories.from_dataframe(df, time="t", group="run")
    df = _frame()
    df.loc[3, "t"] = np.nan
    with pytest.raises(ValueError, match=r"`time` column 't' has 1 missing"):
        Trajectories.from_dataframe(df, time="t", group="run")
    df = _frame()
    df.loc[2, "run"] = None
    with pytest.raises(ValueError, match=r"`group` column 'run' has 1 missing"):
        Trajectories.from_dataframe(df, time="t", group="run")
    df = _frame()
    df["u"] = df["u"].astype("Float64")
    df.loc[4, "u"] = pd.NA
    with pytest.raises(ValueError, match=r"`inputs` column 'u' has 1 missing"):
        Trajectories.from_dataframe(df, time="t", group="run", inputs="u")
    df = _frame()
    df.loc[0, "a"] = np.inf
    with pytest.raises(ValueError, match=r"`columns` column 'a' holds infinite"):
        Trajectories.from_dataframe(df, time="t", group="run")


def test_non_numeric_columns_are_refused():
    df = _frame()
    with pytest.raises(TypeError, match=r"`columns` column 'run' must hold real numbers"):
        Trajectories.from_dataframe(df, time="t")
    df = _frame()
    df["a"] = df["a"].astype(str)  # dtype object in pandas 2, str in pandas 3
    message = r"`columns` column 'a' must hold real numbers, got dtype (object|str)"
    with pytest.raises(TypeError, match=message):
        Trajectories.from_dataframe(df, time="t", group="run")
    df = _frame()
    df["t"] = pd.to_datetime(df["t"], unit="s")
    with pytest.raises(TypeError, match=r"`time` column 't' must hold real numbers.*datetime"):
        Trajectories.from_dataframe(df, time="t", group="run")
    with pytest.raises(TypeError, match=r"`df` must be a pandas DataFrame, got ndarray"):
        Trajectories.from_dataframe(np.zeros((4, 2)))


def test_non_monotonic_time_is_refused():
    df = _frame(n_groups=2, n_times=6)
    df.loc[[8, 9], "t"] = df.loc[[9, 8], "t"].to_numpy()
    with pytest.raises(ValueError, match=r"`time` column 't' must be strictly increasing in group "
                       r"'r1', but row 9"):  # fmt: skip
        Trajectories.from_dataframe(df, time="t", group="run")
    df = _frame(n_groups=1, n_times=6)
    df.loc[3, "t"] = df.loc[2, "t"]
    with pytest.raises(ValueError, match=r"`time` column 't' must be strictly increasing, but"):
        Trajectories.from_dataframe(df, time="t", columns="a", resample=True)


def test_unequal_groups_and_different_grids_are_refused():
    df = _frame(n_groups=2, n_times=6).drop(index=11)
    with pytest.raises(ValueError, match=r"`group` column 'run'.*unequal length.*'r0': 6, 'r1': 5"):
        Trajectories.from_dataframe(df, time="t", group="run")
    df = _frame(n_groups=2, n_times=6)
    df.loc[6:, "t"] += 0.5
    with pytest.raises(ValueError, match=r"`time` column 't' differs between group 'r0'.*'r1'"):
        Trajectories.from_dataframe(df, time="t", group="run")


def test_unknown_and_conflicting_column_names_are_refused():
    df = _frame()
    for kwargs, name in [
        ({"time": "time"}, "time"),
        ({"group": "batch"}, "group"),
        ({"columns": ["a", "c"]}, "columns"),
        ({"inputs": ["v"]}, "inputs"),
    ]:
        with pytest.raises(ValueError, match=rf"`{name}` names column\(s\) .* does not have"):
            Trajectories.from_dataframe(df, **kwargs)
    with pytest.raises(ValueError, match=r"`columns` must not include the `time`"):
        Trajectories.from_dataframe(df, time="t", group="run", columns=["a", "t"])
    with pytest.raises(ValueError, match=r"`columns` and `inputs` share column"):
        Trajectories.from_dataframe(df, time="t", group="run", columns=["a", "u"], inputs="u")
    with pytest.raises(ValueError, match=r"`columns` names a column twice"):
        Trajectories.from_dataframe(df, time="t", group="run", columns=["a", "a"])
    with pytest.raises(ValueError, match=r"`time` and `group` name the same column"):
        Trajectories.from_dataframe(df, time="t", group="t")
    with pytest.raises(ValueError, match=r"`df` has no rows"):
        Trajectories.from_dataframe(df.iloc[:0], time="t")
    with pytest.raises(TypeError, match="resample"):
        Trajectories.from_dataframe(df, time="t", group="run", resample="yes")


def test_to_dataframe_refuses_fields_and_name_clashes():
    fields = Trajectories(np.arange(4.0), np.zeros((2, 4, 1, 8)))
    with pytest.raises(ValueError, match=r"`to_dataframe` needs states \(batch, time, dim\)"):
        fields.to_dataframe()
    traj = Trajectories.from_arrays(np.zeros((2, 5, 2)))
    with pytest.raises(ValueError, match=r"would write a column name twice"):
        traj.to_dataframe(time="x0")
    with pytest.raises(TypeError, match="group"):
        traj.to_dataframe(group=3)


def test_missing_pandas_gives_an_import_error(monkeypatch):
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "pandas")
    monkeypatch.setattr(builtins, "__import__", no_pandas)
    traj = Trajectories.from_arrays(np.zeros((5, 2)))
    with pytest.raises(ImportError, match=r"Trajectories.to_dataframe needs pandas"):
        traj.to_dataframe()
    with pytest.raises(ImportError, match=r"Trajectories.from_dataframe needs pandas"):
        Trajectories.from_dataframe(object())


# ---------------------------------------------------------------------------- xarray
@pytest.mark.parametrize("n_traj", [1, 3])
def test_xarray_round_trip_is_exact(n_traj):
    pytest.importorskip("xarray")
    rng = np.random.default_rng(2)
    states = rng.normal(size=(n_traj, 25, 2))
    inputs = rng.normal(size=(n_traj, 25, 1))
    traj = Trajectories.from_arrays(states, 0.02 * np.arange(25), inputs=inputs, system="toy")
    ds = traj.to_xarray()
    dims = ("trajectory", "time") if n_traj > 1 else ("time",)
    assert ds["x0"].dims == dims and ds["u0"].dims == dims
    assert '"system": "toy"' in ds.attrs["dynsys_metadata"]
    back = Trajectories.from_xarray(ds, variables=["x0", "x1"], inputs=["u0"])
    np.testing.assert_array_equal(np.asarray(back.states), states)
    np.testing.assert_array_equal(np.asarray(back.inputs), inputs)
    np.testing.assert_array_equal(np.asarray(back.times), np.asarray(traj.times))
    np.testing.assert_allclose(back.dt, 0.02, rtol=1e-12)


def test_xarray_time_first_layout_and_bad_input():
    xr = pytest.importorskip("xarray")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 2))
    ds = xr.Dataset(
        {"x": (("t", "run"), x), "label": (("run",), np.array(["a", "b"]))},
        coords={"t": 0.5 * np.arange(10)},
    )
    traj = Trajectories.from_xarray(ds, time="t", variables="x")
    np.testing.assert_array_equal(np.asarray(traj.states[:, :, 0]), x.T)
    assert traj.dt == 0.5
    with pytest.raises(ValueError, match=r"variable 'label' of `ds` has dimensions"):
        Trajectories.from_xarray(ds, time="t")
    with pytest.raises(ValueError, match=r"`time`='time' is not a dimension"):
        Trajectories.from_xarray(ds, variables="x")
    with pytest.raises(ValueError, match=r"`variables` names variable\(s\) \['y'\]"):
        Trajectories.from_xarray(ds, time="t", variables=["y"])
    with pytest.raises(TypeError, match=r"`ds` must be an xarray Dataset"):
        Trajectories.from_xarray(ds["x"], time="t")
    bad = ds.copy()
    bad["x"][3, 1] = np.nan
    with pytest.raises(ValueError, match=r"`variables` column 'x' has 1 missing"):
        Trajectories.from_xarray(bad, time="t", variables="x")
