"""The reaction–diffusion world-model example runs end to end at a small size."""

import numpy as np
import pytest

FIGURES = ("data", "loss", "horizon", "frames")
MODELS = {"reaction_diffusion", "convgru", "transformer", "persistence"}


# ~35 s of CPU (a fresh process compiling three trainings): kept out of the default suite,
# like the other families' example runs; the training itself is covered by test_worldmodels_fit.
@pytest.mark.slow
def test_reaction_diffusion_example_runs_small(run_example):
    summary = run_example("reaction_diffusion_world_model", FIGURES).metrics
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
