"""The LangevinFlow example script runs end to end at a small size."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIGURES = ("data", "loss", "rates", "latents")


# ~60 s of CPU (several JAX compilations in a fresh process): kept out of the default suite.
@pytest.mark.slow
def test_langevin_flow_example_runs_small(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "DYNSYS_SMALL": "1", "MPLBACKEND": "Agg", "DYNSYS_OUT": str(out)}
    script = ROOT / "examples" / "langevin_flow_lorenz_spikes.py"
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    for fig in FIGURES:
        assert (out / f"{fig}.png").stat().st_size > 1000, fig
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["small"] is True
    # The true rates are the ceiling: R² = 1 and the largest co-bps of the table.
    scores = summary["scores"]
    assert scores["true rates"]["rate_r2"] == 1.0
    assert scores["true rates"]["co_bps"] >= scores["smoothing + GLM"]["co_bps"]
    assert set(scores["LangevinFlow"]) == {"co_bps", "fp_bps", "rate_r2", "rate_r2_fwd", "psth_r2"}
    assert not list(tmp_path.glob("outputs")), "wrote outside DYNSYS_OUT"
