"""`python -m dynsys reconstruct FILE`: a user's data file to a saved reconstruction."""

import json
import math

import numpy as np
import pytest

import dynsys
from dynsys._cli import main
from dynsys._data_file import InputError, dt_from_times, read_data_file
from dynsys.dsr import Reconstruction
from dynsys.dsr import _reconstruct as rec_module

DT = 0.05


def oscillation(n=1000):
    t = np.arange(n) * DT
    return t, np.stack([np.cos(t) * 5 + 2, np.sin(t) + 0.3 * np.cos(2 * t)], axis=1)


def write_csv(path, header="time,a,b", n=1000, rows=None):
    t, x = oscillation(n)
    lines = [header] if header else []
    if rows is None:
        rows = [f"{ti:.4f},{a:.6f},{b:.6f}" for ti, (a, b) in zip(t, x, strict=True)]
    path.write_text("\n".join(lines + rows) + "\n")
    return path


def _strict_json(text):
    def refuse(token):
        raise ValueError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_csv_with_header_and_time_column(tmp_path, capsys):
    path = write_csv(tmp_path / "osc.csv")
    out = tmp_path / "rec"
    assert main(["reconstruct", str(path), "--small", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "dt = 0.05" in printed and "tau" in printed and "Verdict" in printed
    metrics = _strict_json((out / "metrics.json").read_text())
    assert math.isclose(metrics["dt"], DT, rel_tol=1e-9)  # taken from the time column
    assert metrics["time_column"] == "time"
    assert metrics["columns"] == ["a", "b"]
    assert metrics["source"] == str(path)
    assert metrics["n_steps"] == 100
    assert set(metrics["floor"]) == {"d_stsp", "d_h"}
    assert metrics["floor"]["d_stsp"] is not None and metrics["floor"]["d_stsp"] < 0.5
    assert len(metrics["seed_scores"]) == 2
    for fig in ("attractor.png", "power_spectra.png"):
        assert (out / fig).stat().st_size > 1000
    rec = dynsys.load(out / "reconstruction.eqx")
    assert isinstance(rec, Reconstruction)
    assert rec.columns == ["a", "b"]
    np.testing.assert_allclose(rec.dt, DT, rtol=1e-12)
    _, x = oscillation()
    assert np.asarray(rec.generate(x[0], 5)).shape == (5, 2)


@pytest.fixture
def no_training(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("training started before the input was checked")

    monkeypatch.setattr(rec_module, "fit", fail)


def _cases(tmp):
    t, x = oscillation()
    good = write_csv(tmp / "good.csv")
    plain = write_csv(tmp / "plain.csv", header=None)
    ragged = write_csv(tmp / "ragged.csv", rows=["0,1,2", "0.05,1", "0.1,2,3"])
    binary = tmp / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    text = write_csv(tmp / "text.csv", header="time,a,label",
                     rows=[f"{i * DT},{i},x{i}" for i in range(300)])  # fmt: skip
    cplx = write_csv(tmp / "complex.csv", header="time,a,b",
                     rows=[f"{i * DT},{i},{i}+2j" for i in range(300)])  # fmt: skip
    rows = list(zip(t, x[:, 0], x[:, 1], strict=True))
    const = write_csv(tmp / "const.csv", rows=[f"{ti:.4f},{a:.6f},3.0" for ti, a, _ in rows])
    jitter = [0.01 if i % 7 == 0 else 0.0 for i in range(len(rows))]
    uneven = write_csv(
        tmp / "uneven.csv",
        rows=[
            f"{ti + dj:.4f},{a:.6f},{b:.6f}" for (ti, a, b), dj in zip(rows, jitter, strict=True)
        ],
    )
    nan = write_csv(
        tmp / "nan.csv",
        rows=[f"{ti:.4f},{'nan' if i == 9 else a},{b}" for i, (ti, a, b) in enumerate(rows)],
    )
    empty_cell = write_csv(tmp / "empty_cell.csv", rows=["0,1,2", "0.05,,3"])
    header_only = write_csv(tmp / "header.csv", rows=[])
    short = write_csv(tmp / "short.csv", n=100)
    np.save(tmp / "complex.npy", x + 1j)
    np.save(tmp / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(tmp / "objects.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    np.savez(tmp / "two.npz", first=x, second=x)
    np.save(tmp / "series.npy", x)
    (tmp / "series.txt").write_text("1 2\n3 4\n")
    f, npy, npz = str(good), str(tmp / "series.npy"), str(tmp / "two.npz")
    return [
        ("missing", [str(tmp / "nope.csv")], "no data file at"),
        ("suffix", [str(tmp / "series.txt"), "--dt", "1"], "unknown data file type '.txt'"),
        ("ragged", [str(ragged)], "line 3 has 2 fields, expected 3"),
        ("binary", [str(binary), "--dt", "1"], "not a text (UTF-8) CSV"),
        ("text", [str(text)], "column 'label' is not numeric (line 2: 'x0')"),
        ("complex-csv", [str(cplx)], "column 'b' holds complex numbers"),
        ("complex-npy", [str(tmp / "complex.npy"), "--dt", "1"], "complex numbers"),
        ("strings-npy", [str(tmp / "strings.npy"), "--dt", "1"], "not real numbers"),
        ("objects-npy", [str(tmp / "objects.npy"), "--dt", "1"], "not readable as a .npy"),
        ("constant", [str(const)], "column(s) ['b'] are constant"),
        ("no-dt", [str(plain)], "no --dt given and no time column"),
        ("no-dt-npy", [npy], "no --dt given and no time column"),
        ("dt-zero", [npy, "--dt", "0"], "--dt must be a finite number > 0"),
        ("dt-negative", [npy, "--dt", "-0.5"], "--dt must be a finite number > 0"),
        ("dt-disagrees", [f, "--dt", "0.1"], "disagrees with the step 0.05"),
        ("uneven", [str(uneven)], "'time' is not evenly spaced"),
        ("budget", [f, "--budget-minutes", "0"], "--budget-minutes must be a finite number > 0"),
        ("budget-negative", [f, "--budget-minutes", "-2"], "--budget-minutes must be"),
        ("P>M", [f, "-P", "5", "-M", "4"], "-P/--pwl-units 5 exceeds -M/--latent-dim 4"),
        ("M<N", [f, "-M", "1", "-P", "0"], "latent_dim` (M) must be >= the number of columns"),
        ("nan", [str(nan)], "NaN or infinite value(s), in column(s) ['a']"),
        ("empty-cell", [str(empty_cell)], "column 'a' has an empty cell on line 3"),
        ("header-only", [str(header_only)], "has a header but no data rows"),
        ("short", [str(short)], "the data is too short"),
        ("npz-two", [npz, "--dt", "1"], "holds 2 arrays ['first', 'second']; name one"),
        ("npz-name", [npz, "--dt", "1", "--array", "third"], "--array 'third' is not in"),
        ("columns", [f, "--columns", "a,zzz"], "--columns: no column named 'zzz'"),
        ("time-column", [f, "--time-column", "when"], "--time-column: no column named 'when'"),
        ("epochs", [f, "--epochs", "3"], "--epochs apply to the benchmark names only"),
        ("benchmark", ["lorenz63", "-P", "3"], "-P/--pwl-units apply to data files only"),
        ("seeds", [f, "--seeds", "0"], "--seeds must be >= 1, got 0"),
    ]


CASES = [
    "missing",
    "suffix",
    "ragged",
    "binary",
    "text",
    "complex-csv",
    "complex-npy",
    "strings-npy",
    "objects-npy",
    "constant",
    "no-dt",
    "no-dt-npy",
    "dt-zero",
    "dt-negative",
    "dt-disagrees",
    "uneven",
    "budget",
    "budget-negative",
    "P>M",
    "M<N",
    "nan",
    "empty-cell",
    "header-only",
    "short",
    "npz-two",
    "npz-name",
    "columns",
    "time-column",
    "epochs",
    "benchmark",
    "seeds",
]


@pytest.mark.parametrize("name", CASES)
def test_bad_files_and_flags_exit_2_with_one_line(tmp_path, capsys, no_training, name):
    cases = {case[0]: case[1:] for case in _cases(tmp_path)}
    assert sorted(cases) == sorted(CASES)
    argv, message = cases[name]
    with pytest.raises(SystemExit) as exc:
        main(["reconstruct", *argv, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("python -m dynsys reconstruct: error: "), err
    assert message in lines[-1], lines[-1]
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "reconstruction.eqx").exists()


# ---- reading files ---------------------------------------------------------------------------


def test_read_csv_variants(tmp_path):
    semi = tmp_path / "semi.csv"
    semi.write_text("# measured on a Tuesday\nT;u;v\n0;1;2\n0.5;3;4\n\n1.0;5;6\n")
    found = read_data_file(semi)
    assert found.time_column == "T" and found.columns == ["u", "v"]
    np.testing.assert_array_equal(found.states, [[1, 2], [3, 4], [5, 6]])
    assert dt_from_times(found.times, "T") == 0.5

    spaced = tmp_path / "spaced.csv"
    spaced.write_text("1 2 3\n4 5 6\n7 8 9\n")
    found = read_data_file(spaced, time_column="0", columns="2")
    assert found.columns == ["x2"] and found.time_column == "x0"
    np.testing.assert_array_equal(found.times, [1, 4, 7])
    np.testing.assert_array_equal(found.states, [[3], [6], [9]])

    named = write_csv(tmp_path / "named.csv", header="timestamp,a,b,c",
                      rows=["0,1,2,3", "1,4,5,6"])  # fmt: skip
    found = read_data_file(named, columns="c,a")
    assert found.columns == ["c", "a"] and found.time_column == "timestamp"
    np.testing.assert_array_equal(found.states, [[3, 1], [6, 4]])
    with pytest.raises(InputError, match="--columns names the time column 'timestamp'"):
        read_data_file(named, columns="timestamp,a")


def test_read_numpy_variants(tmp_path):
    x = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "one.npy", x[:, 0])
    assert read_data_file(tmp_path / "one.npy").states.shape == (4, 1)
    np.save(tmp_path / "batch.npy", np.stack([x, x]))
    found = read_data_file(tmp_path / "batch.npy")
    assert found.states.shape == (2, 4, 3) and found.times is None
    np.savez(tmp_path / "arrays.npz", a=x, b=2 * x)
    found = read_data_file(tmp_path / "arrays.npz", array="b", time_column="0")
    np.testing.assert_array_equal(found.times, 2 * x[:, 0])
    np.testing.assert_array_equal(found.states, 2 * x[:, 1:])


def test_dt_from_times_tolerates_rounding():
    times = np.round(np.arange(1000) * 0.01, 4)
    np.testing.assert_allclose(dt_from_times(times, "t"), 0.01, rtol=1e-9)
    with pytest.raises(InputError, match="must increase"):
        dt_from_times(np.array([0.0, 1.0, 1.0, 2.0]), "t")


def test_divergence_is_one_message_and_exit_1(tmp_path, capsys, monkeypatch):
    from dynsys import training

    # dsr.fit appends its `failure_hint` (reconstruct's advice) to the core's message.
    def diverge(*args, failure_hint="", **kwargs):
        message = f"non-finite at step 7. {failure_hint}"
        raise training.NonFiniteError(message, step=7, quantity="loss")

    monkeypatch.setattr(rec_module, "fit", diverge)
    path = write_csv(tmp_path / "osc.csv", n=400)
    code = main(["reconstruct", str(path), "--small", "--out", str(tmp_path / "out")])
    assert code == 1
    err = capsys.readouterr().err
    assert "training diverged: non-finite at step 7" in err
    assert "one diverging seed stops all of them" in err and "Traceback" not in err
