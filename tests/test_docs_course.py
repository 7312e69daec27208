"""The course, the model guide and the results summary are reachable from the site and README."""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NAV = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
COURSE = sorted(p.name for p in (ROOT / "notebooks" / "course").glob("*.ipynb"))
PAPER = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks_to_check():
    assert len(COURSE) == 6 and PAPER


@pytest.mark.parametrize("name", COURSE)
def test_course_notebook_is_in_the_nav_and_on_the_course_page(name):
    assert f"notebooks/course/{name}" in NAV, f"notebooks/course/{name} is not in mkdocs.yml's nav"
    page = (ROOT / "docs" / "course.md").read_text(encoding="utf-8")
    assert f"(notebooks/course/{name})" in page, f"docs/course.md does not link {name}"


@pytest.mark.parametrize("name", PAPER)
def test_paper_notebook_is_in_the_nav(name):
    assert f"notebooks/{name}" in NAV, f"notebooks/{name} is not in mkdocs.yml's nav"


@pytest.mark.parametrize("page", ["course.md", "results.md", "guides/choosing.md", "benchmarks.md"])
def test_page_is_in_the_nav_and_linked_from_readme_and_index(page):
    assert f": {page}" in NAV, f"docs/{page} is not in mkdocs.yml's nav"
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert f"({page})" in index, f"docs/index.md does not link {page}"
    if page != "benchmarks.md":
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        assert f"docs/{page}" in readme, f"README.md does not mention docs/{page}"


def test_results_come_before_the_benchmark_log_in_the_nav():
    assert NAV.index(": results.md") < NAV.index(": benchmarks.md")
