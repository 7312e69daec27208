"""The example scripts run end to end at a small size, and their notebooks are up to date."""

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ("lorenz_alrnn", "rossler_alrnn")
FIGURES = ("loss", "attractor", "power_spectra", "symbolic_code", "subregions", "transition_graph")
PWL_UNITS = {"lorenz_alrnn": 10, "rossler_alrnn": 10}
TARGET_LINES = {"lorenz_alrnn": ("<= 0.35", "<= 0.12", "0.906 ± 10 %", "<= 10 min"),
                "rossler_alrnn": ("<= 0.3",)}  # fmt: skip
_MARKER = re.compile(r"^# %%(.*)$", re.MULTILINE)


def _script_cells(text: str) -> list[tuple[str, str]]:
    """(cell_type, source) of a jupytext percent script, as jupytext converts it."""
    parts = _MARKER.split(text)
    cells = [("code", parts[0])] if parts[0].strip() else []
    for header, body in zip(parts[1::2], parts[2::2]):
        kind = "markdown" if "[markdown]" in header else "code"
        lines = body.strip("\n").split("\n")
        if kind == "markdown":
            lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
        cells.append((kind, "\n".join(lines).strip("\n")))
    return cells


def _notebook_cells(path: pathlib.Path) -> list[tuple[str, str]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        source = cell["source"]
        source = "".join(source) if isinstance(source, list) else source
        cells.append((cell["cell_type"], source.strip("\n")))
    return cells


# Slow (about 1 min each: the subprocess compiles a GTF training): run by `make test-examples`,
# which CI runs too; the default suite covers the same training in tests/dsr and tests/test_cli.py.
@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_small(name, run_example):
    run = run_example(name, FIGURES)
    metrics = run.metrics
    # Every point of the 3000-step generated trajectory is in exactly one subregion.
    assert sum(metrics["subregion_visits"].values()) == 3000
    assert max(int(code) for code in metrics["subregion_visits"]) < 2 ** PWL_UNITS[name]
    assert metrics["subregions_used"] == len(metrics["subregion_visits"])
    assert 0 <= metrics["fixed_points_real"] <= 2 ** PWL_UNITS[name]
    # The floors compare the test data with another true trajectory: finite, positive.
    assert 0 < metrics["floors"]["d_stsp"] < 10
    assert 0 < metrics["floors"]["d_h"] < 0.2
    for target in TARGET_LINES[name]:
        assert target in run.stdout


def test_notebook_cells_parse():
    text = "# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n\n\n# %%\ny = 2\n"
    assert _script_cells(text) == [("markdown", "# Title\n\ntext"), ("code", "x = 1"),
                                   ("code", "y = 2")]  # fmt: skip


ALL_EXAMPLES = sorted(path.stem for path in (ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_notebook_in_sync_with_script(name):
    script = _script_cells((ROOT / "examples" / f"{name}.py").read_text(encoding="utf-8"))
    notebook = _notebook_cells(ROOT / "notebooks" / f"{name}.ipynb")
    assert [kind for kind, _ in notebook] == [kind for kind, _ in script], (
        f"notebooks/{name}.ipynb has other cells than examples/{name}.py: run `make notebooks`"
    )
    for i, (nb_cell, script_cell) in enumerate(zip(notebook, script)):
        assert nb_cell == script_cell, (
            f"cell {i} of notebooks/{name}.ipynb differs from examples/{name}.py: "
            "run `make notebooks`"
        )
    nb_code = "\n".join(source for kind, source in notebook if kind == "code")
    script_code = "\n".join(source for kind, source in script if kind == "code")
    assert nb_code == script_code
