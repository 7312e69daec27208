"""`python -m dynsys --help` (the real entry point, in a fresh interpreter) lists the jobs;
`--version` prints pyproject's version."""

import os
import pathlib
import subprocess
import sys
import tomllib

import pytest

from dynsys._cli import main

JOBS = ("reconstruct", "demo", "systems")
ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_python_m_dynsys_help_lists_every_job():
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.run(
        [sys.executable, "-m", "dynsys", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m dynsys")
    # Each job starts a line of the sub-command list; argparse wraps the help text after it.
    lines = [line.strip() for line in proc.stdout.splitlines()]
    for job in JOBS:
        assert any(line == job or line.startswith(job + " ") for line in lines), proc.stdout
    text = " ".join(proc.stdout.split())
    assert "what `make demo` runs" in text
    assert "evaluate the reconstruction" in text


def test_python_m_dynsys_version():
    proc = subprocess.run(
        [sys.executable, "-m", "dynsys", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    version = tomllib.loads(ROOT.joinpath("pyproject.toml").read_text())["project"]["version"]
    assert proc.stdout == f"dynsys {version}\n"


def test_no_job_is_an_error_that_names_the_jobs(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "JOB" in err and "required" in err


def test_every_job_has_its_own_help(capsys):
    for job in JOBS:
        with pytest.raises(SystemExit) as exc:
            main([job, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: python -m dynsys {job}")
        assert "--out" in out
