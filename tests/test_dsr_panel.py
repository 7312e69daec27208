"""The reconstruction panel (benchmarks/dsr_panel.py) and its table of systems."""

import json
import math
import pathlib
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import dynsys

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from _panel_systems import DROPPED, PANEL, panel_data  # noqa: E402


def test_panel_systems_are_well_formed():
    builtins = {n.replace("_", "") for n in dynsys.systems.names()}
    assert len(PANEL) >= 10
    assert any(e.dim >= 6 for e in PANEL.values())
    for name, entry in PANEL.items():
        assert name.lower() not in builtins
        assert entry.dim >= 3 and entry.citation
        assert entry.lyapunov > 0 and entry.lyapunov_dysts > 0
        assert math.isclose(entry.sample_dt, entry.period / 100)
        system = entry.system
        assert system.dim == entry.dim and system.dt == entry.sample_dt
        y0 = jnp.asarray(entry.initial_condition)
        dy = np.asarray(system.rhs(0.0, y0))
        assert dy.shape == (entry.dim,) and np.all(np.isfinite(dy)), name
    assert not set(DROPPED) & set(PANEL)
    assert all(reason for _, reason in DROPPED.values())


@pytest.mark.integration  # three float64 Dopri8 solves to compile: about 30 s
def test_panel_data_is_standardised_alike():
    train, test, reference = panel_data(PANEL["SprottB"], 500)
    assert train.states.shape == test.states.shape == reference.states.shape == (1, 500, 3)
    x = np.asarray(train.states[0])
    np.testing.assert_allclose(x.mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(x.std(0), 1.0, atol=1e-5)
    np.testing.assert_allclose(train.dt, PANEL["SprottB"].sample_dt, rtol=1e-12)
    # Independent initial conditions: the three trajectories differ from the first sample.
    assert not np.allclose(test.states[0, :10], train.states[0, :10], atol=1e-2)
    assert not np.allclose(reference.states[0, :10], test.states[0, :10], atol=1e-2)
    for t in (test, reference):
        assert np.all(np.abs(np.asarray(t.states)) < 10.0)


@pytest.mark.integration
def test_small_panel_runs(tmp_path):
    cmd = [sys.executable, str(BENCHMARKS / "dsr_panel.py"), "--small", "--out", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| LorenzCoupled | 6 | parrot |" in done.stdout
    rows = json.loads((tmp_path / "dsr_panel.json").read_text())["rows"]
    (row,) = rows
    assert row["system"] == "LorenzCoupled" and row["dim"] == 6
    assert math.isfinite(row["floor"]["d_stsp"]) and math.isfinite(row["floor"]["d_h"])
    methods = row["methods"]
    assert set(methods) == {"reconstruct", "parrot", "node"}
    assert all("error" not in r for r in methods.values()), methods
    parrot = methods["parrot"]
    assert math.isfinite(parrot["d_stsp"]) and math.isfinite(parrot["d_h"])
    assert math.isnan(parrot["lambda_max"])
    assert all(r["train_s"] >= 0 and r["eval_s"] > 0 for r in methods.values())
