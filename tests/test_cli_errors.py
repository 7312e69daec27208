"""`python -m dynsys`: every mistake in the input is one line on stderr, exit status 2, found
before anything is trained; tracebacks only with `--debug`; metrics files are strict JSON."""

import json
import pathlib
import zipfile

import numpy as np
import pytest

from dynsys import data, dsr
from dynsys._cli import main, write_json
from dynsys._data_file import read_data_file
from dynsys.dsr import _reconstruct as rec_module

DT = 0.05


@pytest.fixture
def no_training(monkeypatch):
    """Training, or generating a benchmark, fails the test: the input is checked first."""

    def fail(*args, **kwargs):
        raise AssertionError("training started before the input was checked")

    monkeypatch.setattr(rec_module, "fit", fail)
    monkeypatch.setattr(dsr, "fit", fail)
    monkeypatch.setattr(data, "benchmark", fail)


def _series(n=600):
    t = np.arange(n) * DT
    return np.stack([np.sin(t), np.cos(1.3 * t)], axis=1)


def _files(tmp):
    """The bad inputs, written in `tmp`; returns {name: path}."""
    x = _series()
    paths = {}

    def save(name, array):
        np.save(tmp / name, array)
        paths[name] = tmp / name

    save("good.npy", x)
    save("one_value.npy", np.full((600, 1), 2.5))
    save("const.npy", np.stack([x[:, 0], np.full(600, 3.0)], axis=1))
    save("complex.npy", x + 1j)
    save("inf.npy", np.where(np.arange(600)[:, None] == 7, np.inf, x))
    save("nan.npy", np.where(np.arange(600)[:, None] == 7, np.nan, x))
    save("short.npy", x[:40])
    np.savetxt(tmp / "complex.csv", x[:, :1] + 1j * x[:, 1:], delimiter=",")
    (tmp / "time_only.csv").write_text("time\n" + "\n".join(f"{i * DT}" for i in range(600)))
    (tmp / "picture.npy").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (tmp / "noise").write_bytes(b"\x00\xff\x10" * 100)
    (tmp / "notes.txt").write_text("1 2\n3 4\n")
    with zipfile.ZipFile(tmp / "foreign.npz", "w") as archive:
        archive.writestr("readme.txt", "not an array")
    np.savez(tmp / "empty.npz")
    (tmp / "a_file").write_text("in the way of --out")
    (tmp / "folder").mkdir()
    paths["gone"] = tmp / "gone"  # no such file, and no suffix
    for name in ("time_only.csv", "picture.npy", "noise", "notes.txt", "complex.csv",
                 "foreign.npz", "empty.npz", "a_file", "folder"):  # fmt: skip
        paths[name] = tmp / name
    return paths


# (case, argv after the job name with {name} for the files, what the message must say)
RECONSTRUCT = [
    ("bad-flag-type", ["{good.npy}", "--dt", "abc"], "argument --dt: invalid float value"),
    ("bad-model", ["{good.npy}", "--model", "lstm"], "argument --model: invalid choice"),
    ("missing", ["{good.npy}.csv", "--dt", "1"], "no data file at"),
    ("folder", ["{folder}", "--dt", "1"], "is a folder, not a data file"),
    ("foreign-npy", ["{picture.npy}", "--dt", "1"], "not readable as a .npy array"),
    ("foreign-zip", ["{foreign.npz}", "--dt", "1"], "'readme.txt' in it is not a numpy array"),
    ("empty-npz", ["{empty.npz}", "--dt", "1"], "holds no arrays"),
    ("foreign-no-suffix", ["{noise}", "--dt", "1"], "has no suffix and is neither a .npy"),
    ("unknown-suffix", ["{notes.txt}", "--dt", "1"], "unknown data file type '.txt'"),
    ("benchmark-typo", ["lorenz-63"], "did you mean 'lorenz63' or"),
    ("no-such-name", ["{gone}"], "nor a file: no file '"),
    ("columns", ["{good.npy}", "--dt", "1", "--columns", "0,7"], "index 7 is out of range"),
    ("columns-empty", ["{good.npy}", "--dt", "1", "--columns", ","], "--columns ',' names no"),
    ("one-column", ["{time_only.csv}"], "has no data column besides the time column"),
    ("one-value", ["{one_value.npy}", "--dt", "1"], "column(s) ['x0'] are constant"),
    ("constant", ["{const.npy}", "--dt", "1"], "column(s) ['x1'] are constant"),
    ("complex-npy", ["{complex.npy}", "--dt", "1"], "holds complex numbers"),
    ("complex-csv", ["{complex.csv}", "--dt", "1"], "column 'x0' holds complex numbers"),
    ("inf", ["{inf.npy}", "--dt", "1"], "NaN or infinite value(s)"),
    ("nan", ["{nan.npy}", "--dt", "1"], "NaN or infinite value(s)"),
    ("too-short", ["{short.npy}", "--dt", "1"], "the data is too short"),
    ("too-short-benchmark", ["lorenz63", "--small", "--n-steps", "50"], "--n-steps 50 is too"),
    ("dt-zero", ["{good.npy}", "--dt", "0"], "--dt must be a finite number > 0, got 0.0"),
    ("dt-negative", ["{good.npy}", "--dt", "-1"], "--dt must be a finite number > 0"),
    ("dt-nan", ["{good.npy}", "--dt", "nan"], "--dt must be a finite number > 0, got nan"),
    ("P>M", ["{good.npy}", "--dt", "1", "-P", "5", "-M", "4"], "-P/--pwl-units 5 exceeds"),
    ("M<1", ["{good.npy}", "--dt", "1", "-M", "0"], "-M/--latent-dim must be >= 1"),
    ("budget-zero", ["{good.npy}", "--dt", "1", "--budget-minutes", "0"], "--budget-minutes"),
    ("budget-neg", ["{good.npy}", "--dt", "1", "--budget-minutes", "-1"], "finite number > 0"),
    ("steps", ["{good.npy}", "--dt", "1", "--steps", "0"], "--steps must be >= 1, got 0"),
    ("seeds", ["{good.npy}", "--dt", "1", "--seeds", "0"], "--seeds must be >= 1, got 0"),
    ("seed", ["lorenz63", "--seed", "-1"], "--seed must be >= 0, got -1"),
    ("epochs", ["lorenz63", "--epochs", "0"], "--epochs must be >= 1, got 0"),
    ("file-flag", ["rossler", "--dt", "0.1"], "--dt apply to data files only"),
    ("benchmark-flag", ["{good.npy}", "--dt", "1", "--epochs", "3"], "benchmark names only"),
    ("out-is-file", ["{good.npy}", "--dt", "1", "--out", "{a_file}"], "is a file, not a folder"),
    ("out-under-file", ["lorenz63", "--out", "{a_file}/sub"], "cannot be made"),
]


def _argv(template, paths):
    """`template` with each `{name}` replaced by the path of the file `name`."""
    argv = []
    for arg in template:
        for name, path in paths.items():
            arg = arg.replace("{" + name + "}", str(path))
        argv.append(arg)
    return argv


def _expect_error(argv, job, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert f"dynsys {job}: error: " in lines[-1], err
    assert message in lines[-1], lines[-1]
    if not lines[0].startswith("usage:"):  # argparse's own errors show the usage above
        assert len(lines) == 1, err
    return lines[-1]


@pytest.mark.parametrize("template, message", [c[1:] for c in RECONSTRUCT],
                         ids=[c[0] for c in RECONSTRUCT])  # fmt: skip
def test_reconstruct_mistakes_exit_2_with_one_line(tmp_path, capsys, no_training,
                                                   template, message):  # fmt: skip
    paths = _files(tmp_path)
    out = tmp_path / "out"
    argv = ["reconstruct", *_argv(template, paths)]
    if "--out" not in argv:
        argv += ["--out", str(out)]
    _expect_error(argv, "reconstruct", message, capsys)
    assert not out.exists() or not any(out.iterdir())


def test_unknown_name_lists_the_benchmarks(tmp_path, capsys, no_training):
    line = _expect_error(["reconstruct", "henon", "--out", str(tmp_path)], "reconstruct",
                         "'henon' is neither a benchmark name", capsys)  # fmt: skip
    assert "(lorenz63, lorenz96, rossler)" in line and "no file 'henon' was found" in line


def test_unreadable_csv(tmp_path, capsys, no_training, monkeypatch):
    path = tmp_path / "locked.csv"
    path.write_text("t,x\n0,1\n")

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "read_text", denied)
    _expect_error(["reconstruct", str(path), "--out", str(tmp_path / "o")], "reconstruct",
                  "'locked.csv' cannot be read: Permission denied", capsys)  # fmt: skip


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--epochs", "0"], "--epochs must be >= 1, got 0"),
        (["demo", "--seeds", "-2"], "--seeds must be >= 1, got -2"),
        (["demo", "--epochs", "many"], "argument --epochs: invalid int value"),
        (["demo", "--out", "{a_file}"], "is a file, not a folder"),
        (["systems", "--out", "{a_file}"], "is a file, not a folder"),
    ],
)
def test_demo_and_systems_mistakes(tmp_path, capsys, no_training, argv, message):
    paths = _files(tmp_path)
    argv = _argv(argv, paths)
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    _expect_error(argv, argv[0], message, capsys)


def test_a_path_without_suffix_is_a_file_when_it_exists(tmp_path):
    x = _series(20)
    np.save(tmp_path / "a.npy", x)
    np.savez(tmp_path / "b.npz", x=x)
    np.savetxt(tmp_path / "c.csv", x, delimiter=",", header="t_a,b", comments="")
    for name in ("a.npy", "b.npz", "c.csv"):
        bare = tmp_path / name.split(".")[0]
        (tmp_path / name).rename(bare)
        found = read_data_file(bare)
        np.testing.assert_allclose(found.states.reshape(20, -1)[:, -1], x[:, 1], rtol=1e-15)


def test_debug_shows_the_traceback(tmp_path, capsys, no_training):
    argv = ["reconstruct", str(tmp_path / "none.npy"), "--out", str(tmp_path / "o")]
    for debug in (["--debug", *argv], [*argv, "--debug"]):
        with pytest.raises(SystemExit) as exc:
            main(debug)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):")
        assert "InputError" in err
        assert err.strip().splitlines()[-1].startswith("python -m dynsys reconstruct: error: ")


def test_a_failure_inside_a_job_is_one_line_exit_1(tmp_path, capsys, monkeypatch):
    import dynsys._systems_job as systems_job

    def broken(**kwargs):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(systems_job, "run_systems", broken)
    assert main(["systems", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == (
        "python -m dynsys systems: error: RuntimeError: something broke (a failure inside "
        "dynsys, not in the input; rerun with --debug for the traceback)\n"
    )
    assert main(["--debug", "systems", "--out", str(tmp_path)]) == 1
    assert "Traceback" in capsys.readouterr().err


# ---- metrics.json ----------------------------------------------------------------------------


def _strict(text):
    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_metrics_json_is_strict_with_reasons(tmp_path):
    record = {
        "d_stsp": 0.25,
        "d_h": float("nan"),
        "lambda_max": np.float32(np.inf),
        "train_d_stsp_per_seed": [0.5, float("nan"), 0.3],
        "seed_scores": [{"seed": 0, "d_h": float("-inf")}],
        "subregion_visits": {3: 10},
        "note": None,
    }
    path = tmp_path / "metrics.json"
    write_json(path, record)
    with pytest.raises(ValueError, match="not strict JSON"):
        _strict(json.dumps({"d_h": float("nan")}))  # what a plain json.dumps would write
    back = _strict(path.read_text())
    assert back["d_stsp"] == 0.25 and "d_stsp_reason" not in back
    assert back["d_h"] is None and back["d_h_reason"].startswith("NaN: the free run diverged")
    assert back["lambda_max"] is None and back["lambda_max_reason"].startswith("+inf: not")
    assert back["train_d_stsp_per_seed"] == [0.5, None, 0.3]
    assert back["train_d_stsp_per_seed_reason"].startswith("entries [1] were NaN")
    (row,) = back["seed_scores"]
    assert set(row) == {"seed", "d_h", "d_h_reason"} and row["d_h"] is None
    assert row["d_h_reason"].startswith("-inf: ")
    assert back["subregion_visits"] == {"3": 10} and back["note"] is None
    assert "note_reason" not in back


def test_metrics_json_reasons_from_the_raw_record(tmp_path):
    # a record made JSON-safe already (a `to_dict()`): the reasons come from the raw one
    raw = {"scores": {"d_stsp": float("nan"), "pe": 0.1}, "floor": {"d_h": 0.2}}
    safe = {"source": "x.csv", "scores": {"d_stsp": None, "pe": 0.1}, "floor": {"d_h": 0.2}}
    write_json(tmp_path / "m.json", safe, raw)
    back = _strict((tmp_path / "m.json").read_text())
    assert back["scores"]["d_stsp"] is None
    assert "state-space divergence is undefined" in back["scores"]["d_stsp_reason"]
    assert set(back["floor"]) == {"d_h"} and back["source"] == "x.csv"
