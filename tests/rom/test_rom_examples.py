"""The Φ-ROM and custom-solver examples run at small size and write their outputs."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIGURES = {"phirom_burgers": ["data", "training", "forecast_error"],
           "custom_solver": ["rollout", "phirom_error"]}  # fmt: skip


# Slow: two subprocesses that each compile Φ-ROM and DINo training (> 1 min on the shared
# CPU); Φ-ROM's end-to-end training is covered in the default suite by test_rom_phirom.py.
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_example_runs_small(name, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "DYNSYS_SMALL": "1", "MPLBACKEND": "Agg", "DYNSYS_OUT": str(out)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / f"{name}.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    for fig in FIGURES[name]:
        assert (out / f"{fig}.png").stat().st_size > 1000, fig
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["small"] is True
    if name == "custom_solver":
        assert all(metrics["conformance"].values())
        assert 1.8 < metrics["order"] < 2.3
    else:
        for model in ("phirom", "dino"):
            assert 0 < metrics[model]["in_horizon"] < 10
        assert metrics["fine_grid_shape"] == [16, 256, 1]
