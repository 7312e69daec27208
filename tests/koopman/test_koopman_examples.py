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


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_koopman_example_runs_small(name, run_example):
    figures, key = CASES[name]
    metrics = run_example(name, figures).metrics
    assert key in metrics
