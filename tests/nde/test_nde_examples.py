"""The neural-DE example scripts (sources of the notebooks) run at small size."""

import math

import pytest

FIGURES = {
    "neural_ode_lorenz": ["loss", "attractor", "timeseries"],
    "latent_sde": ["training", "samples", "neural_sde"],
}


# Each run compiles several diffrax solves (~1.5–3 min wall on the shared 2-core machine),
# beyond the module's default-suite budget: run by `make test-slow`.
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_nde_example_runs_small(name, run_example):
    metrics = run_example(name, FIGURES[name], timeout=900).metrics
    if name == "neural_ode_lorenz":
        assert metrics["traces"] == [1, 1]  # one compilation per curriculum phase
        assert metrics["lengths"] == [8, 40]
        # 1500-sample trajectories: the floors are finite and positive, not small.
        assert 0 < metrics["floors"]["d_stsp"] < 50 and 0 < metrics["floors"]["d_h"] < 0.5
        assert metrics["pe"] > 0 and math.isfinite(metrics["pe"])
    else:
        assert metrics["latent_sde"]["traces"] == [1]
        assert metrics["latent_sde"]["kl_path"] >= 0 and metrics["latent_sde"]["kl_z0"] >= 0
        assert math.isfinite(metrics["neural_sde"]["drift_rms_error"])
