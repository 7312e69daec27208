"""The Koopman example scripts run end to end at a small size.

Marked `slow` (run by `make test-slow`): the three subprocesses take about a minute of CPU
together, which alone would exceed the module's default-suite budget.
"""

import pytest

CASES = {
    "koopman_lorenz": (("singular_values", "forcing", "reconstruction"), "n_switches"),
    "resdmd_duffing": (("pseudospectrum", "residuals"), "n_eigenvalues"),
    "stnn": (("loss", "forecasts"), "relative_error"),
}


def _learnt_koopman_lorenz(m):
    # HAVOK's finding: the forcing is active near lobe switches, far more than elsewhere
    assert m["n_switches"] >= 5, m
    assert m["forcing_enrichment_near_switches"] > 2.0, m
    assert m["havok_eigenvalues_real_max"] < 0.0, m  # the linear part is stable


def _learnt_resdmd_duffing(m):
    # ResDMD verifies some eigenpairs: at least one residual is small, and not all are
    assert m["n_eigenvalues"] == m["n_rbf"], m
    assert m["min_residual"] < 0.05 and m["n_residual_below_0.1"] >= 1, m
    assert m["median_residual"] > m["min_residual"], m


def _learnt_stnn(m):
    # standardised truth: forecasting zeros gives relative error 1; SINDy finds the ODE
    err = m["relative_error"]
    assert err["StNN (Hankel)"] < 0.9, err
    assert err["dense MLP"] < 1.0, err
    assert err["SINDy"] < 0.01, err


LEARNT = {
    "koopman_lorenz": _learnt_koopman_lorenz,
    "resdmd_duffing": _learnt_resdmd_duffing,
    "stnn": _learnt_stnn,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_koopman_example_runs_small(name, run_example):
    figures, key = CASES[name]
    metrics = run_example(name, figures).metrics
    assert key in metrics
    LEARNT[name](metrics)
