"""The reaction–diffusion world-model example runs end to end at a small size."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIGURES = ("data", "loss", "horizon", "frames")
MODELS = {"reaction_diffusion", "convgru", "transformer", "persistence"}


# ~35 s of CPU (a fresh process compiling three trainings): kept out of the default suite,
# like the other families' example runs; the training itself is covered by test_worldmodels_fit.
@pytest.mark.slow
def test_reaction_diffusion_example_runs_small(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "DYNSYS_SMALL": "1", "MPLBACKEND": "Agg", "DYNSYS_OUT": str(out)}
    script = ROOT / "examples" / "reaction_diffusion_world_model.py"
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    for fig in FIGURES:
        assert (out / f"{fig}.png").stat().st_size > 1000, fig
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["small"] is True
    counts = summary["parameters"]
    assert set(counts) == MODELS - {"persistence"}
    assert max(counts.values()) <= 1.1 * min(counts.values())
    assert set(summary["scores"]) == MODELS
    for name, s in summary["scores"].items():
        mse, ssim = np.asarray(s["rollout_mse"]), np.asarray(s["rollout_ssim"])
        assert mse.shape == ssim.shape == (3,), name
        assert np.all(np.isfinite(mse)) and np.all(mse > 0) and np.all(ssim <= 1.0), name
    # Persistence copies pixels: its error grows with the horizon on evolving Gray–Scott.
    pers = summary["scores"]["persistence"]["rollout_mse"]
    assert pers[0] < pers[-1]
    assert not list(tmp_path.glob("outputs")), "wrote outside DYNSYS_OUT"
