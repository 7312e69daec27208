"""The LangevinFlow example script runs end to end at a small size."""

import pytest

FIGURES = ("data", "loss", "rates", "latents")


# ~60 s of CPU (several JAX compilations in a fresh process): kept out of the default suite.
@pytest.mark.slow
def test_langevin_flow_example_runs_small(run_example):
    summary = run_example("langevin_flow_lorenz_spikes", FIGURES).metrics
    # The true rates are the ceiling: R² = 1 and the largest co-bps of the table.
    scores = summary["scores"]
    assert scores["true rates"]["rate_r2"] == 1.0
    assert scores["true rates"]["co_bps"] >= scores["smoothing + GLM"]["co_bps"]
    assert set(scores["LangevinFlow"]) == {"co_bps", "fp_bps", "rate_r2", "rate_r2_fwd", "psth_r2"}
