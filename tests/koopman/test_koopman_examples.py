"""The Koopman example scripts run end to end at a small size.

Marked `slow` (run by `make test-slow`): the three subprocesses take about a minute of CPU
together, which alone would exceed the module's default-suite budget.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CASES = {
    "koopman_lorenz": (("singular_values", "forcing", "reconstruction"), "n_switches"),
    "resdmd_duffing": (("pseudospectrum", "residuals"), "n_eigenvalues"),
    "stnn": (("loss", "forecasts"), "relative_error"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_koopman_example_runs_small(name, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "DYNSYS_SMALL": "1", "MPLBACKEND": "Agg", "DYNSYS_OUT": str(out)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / f"{name}.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    figures, key = CASES[name]
    for fig in figures:
        assert (out / f"{fig}.png").stat().st_size > 1000, fig
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["small"] is True and key in metrics
