"""The course notebooks run end to end at a small size with the solutions on, and are in sync."""

import json
import pathlib
import re

import numpy as np
import pytest

from test_examples import _notebook_cells, _script_cells

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = ROOT / "examples" / "course"
COURSE = sorted(path.stem for path in SOURCES.glob("*.py"))
FIGURES = {
    "01_flows_maps_lyapunov": ("lorenz", "logistic", "henon", "lyapunov_convergence"),
    "02_delay_embeddings_dmd": ("delay_attractor", "dmd_eigenvalues", "hankel_dmd", "havok"),
    "03_koopman_resdmd": ("pollution", "duffing_pseudospectrum"),
    "04_neural_odes": ("loss", "comparison"),
    "05_dsr_plrnn_alrnn": ("loss", "attractor", "symbolic_code", "transition_graph"),
    "06_reduced_order_pde": ("data", "training", "forecast_error"),
}


def _check_01(m):
    lam = m["lorenz_exponents"]
    assert abs(lam[0] - 0.906) < 0.1 and abs(lam[1]) < 0.05
    assert abs(sum(lam) + (10 + 1 + 8 / 3)) < 0.05  # the divergence of Lorenz-63
    assert 2.0 < m["kaplan_yorke_lorenz"] < 2.12
    assert abs(m["logistic_lambda_r4"] - np.log(2)) < 0.02
    assert abs(m["logistic_lambda_r4_library"] - np.log(2)) < 0.02
    np.testing.assert_allclose(m["henon_exponents"], [0.41922, -1.62319], atol=0.03)
    assert abs(sum(m["henon_exponents"]) - np.log(0.3)) < 1e-3
    assert 1.2 < m["kaplan_yorke_henon"] < 1.3
    assert m["lorenz_agreement"] < 1e-6


def _check_02(m):
    np.testing.assert_allclose(m["dmd_frequencies"], [0.5, 1.3], atol=1e-6)
    np.testing.assert_allclose(m["dmd_growth_rates"], [-0.1, -0.1, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(m["hankel_dmd_frequencies"], [0.5, 1.3], atol=1e-4)
    assert m["n_switches"] >= 5
    assert m["forcing_enrichment_near_switches"] > 2  # forcing bursts around lobe switches


def _check_03(m):
    assert m["toy_max_error"] < 1e-10
    assert m["polluted_n_true"] == 6 and m["polluted_n_eigenvalues"] > 6
    # The residual keeps exactly the true eigenvalues and rejects every spurious one.
    assert m["polluted_n_verified"] == 6 and m["polluted_verified_all_true"]
    assert m["polluted_min_spurious_residual"] > 1e-3
    assert m["duffing_n_eigenvalues"] == 40 and 0 < m["duffing_min_residual"] < 0.3
    counts = [m["duffing_counts_below"][k] for k in ("0.01", "0.05", "0.1", "0.3")]
    assert counts == sorted(counts) and counts[-1] > 0


def _check_04(m):
    errors = [m["euler_errors"][k] for k in ("2", "4", "8")]
    assert errors[0] > errors[1] > errors[2]  # first order: halving h halves the error
    assert m["loss_after"] < 0.5 * m["loss_before"]
    assert m["field_error_after"] < m["field_error_before"]
    assert m["traces"] == [1]


def _check_05(m):
    assert m["step_error"] < 1e-5 and m["tf_error"] < 1e-4
    assert m["loss_last"] < m["loss_first"]
    assert sum(m["subregion_visits"].values()) == 3000
    assert max(int(code) for code in m["subregion_visits"]) < 4
    assert 1 <= m["n_subregions"] <= 4 and 0 <= m["fixed_points_real"] <= 4


def _check_06(m):
    assert m["rhs_error"] < 1e-6 and m["velocity_error"] < 1e-3
    assert m["reconstruction_last"] < m["reconstruction_first"]
    assert 0 < m["phirom"]["in_horizon"] < 1 and 0 < m["phirom"]["beyond_horizon"] < 1


CHECKS = {name: globals()[f"_check_{name[:2]}"] for name in FIGURES}


def test_course_is_complete():
    assert COURSE == sorted(FIGURES)


# Slow (40-90 s each): run by `make test-examples`, which CI runs too; the stubs, the hidden
# solutions and the notebook sync are checked in the default suite below.
@pytest.mark.slow
@pytest.mark.parametrize("name", COURSE)
def test_course_example_runs_small_with_solutions(name, run_example):
    metrics = run_example(SOURCES / f"{name}.py", FIGURES[name], DYNSYS_SOLUTIONS="1").metrics
    assert metrics["solutions"] is True
    CHECKS[name](metrics)


_STUB = re.compile(r'raise NotImplementedError\(\s*"(Exercise [\d.]+):')


@pytest.mark.parametrize("name", COURSE)
def test_every_exercise_has_a_hidden_solution(name):
    """Each stub raises until solved and is followed by a collapsed `if SOLUTIONS:` cell."""
    text = (SOURCES / f"{name}.py").read_text(encoding="utf-8")
    assert 'SOLUTIONS = os.environ.get("DYNSYS_SOLUTIONS", "") not in ("", "0")' in text
    stubs = _STUB.findall(text)
    headers = re.findall(r"^# %%(.*)$", text, re.MULTILINE)
    solutions = [h for h in headers if 'tags=["solution"]' in h]
    assert len(stubs) >= 2 and len(solutions) == len(stubs), (stubs, solutions)
    assert all('jupyter={"source_hidden": true}' in h for h in solutions)
    cells = _script_cells(text)
    for i, (kind, source) in enumerate(cells):
        if kind == "code" and _STUB.search(source):
            assert cells[i + 1][1].startswith("if SOLUTIONS:"), f"cell {i + 1} of {name}"


@pytest.mark.parametrize("name", COURSE)
def test_course_notebook_in_sync_with_script(name):
    script = _script_cells((SOURCES / f"{name}.py").read_text(encoding="utf-8"))
    notebook_path = ROOT / "notebooks" / "course" / f"{name}.ipynb"
    notebook = _notebook_cells(notebook_path)
    assert notebook == script, (
        f"notebooks/course/{name}.ipynb differs from examples/course/{name}.py: "
        "run `make notebooks`"
    )
    nb = json.loads(notebook_path.read_text(encoding="utf-8"))
    hidden = [c for c in nb["cells"] if "solution" in c["metadata"].get("tags", [])]
    assert hidden and all(c["metadata"]["jupyter"]["source_hidden"] for c in hidden)
