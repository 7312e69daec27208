"""tools/course_student.py (`make course-student`): student copies without the solutions."""

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
COURSE = sorted((ROOT / "notebooks" / "course").glob("*.ipynb"))


def _source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _is_solution(cell: dict) -> bool:
    return "solution" in cell["metadata"].get("tags", [])


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("course-student")
    tool = ROOT / "tools" / "course_student.py"
    run = subprocess.run(
        [sys.executable, str(tool), "--out", str(out), *map(str, COURSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return out


def test_the_course_has_notebooks():
    assert len(COURSE) == 6


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_student_copy_has_no_solution(path, student_dir):
    original = json.loads(path.read_text(encoding="utf-8"))
    student_path = student_dir / path.name
    student = json.loads(student_path.read_text(encoding="utf-8"))
    solutions = [c for c in original["cells"] if _is_solution(c)]
    kept = [c for c in original["cells"] if not _is_solution(c)]
    assert solutions, f"{path.name} has no cell tagged `solution`: nothing to check"

    # The solution cells are gone, not hidden; every other cell is kept, in order.
    assert not [c for c in student["cells"] if _is_solution(c)]
    assert [(c["cell_type"], _source(c)) for c in student["cells"]] == [
        (c["cell_type"], _source(c)) for c in kept
    ]

    # No line of solution code survives anywhere in the file (lines that the exercise
    # cells share with their solutions, such as a signature or a docstring, excepted).
    kept_lines = {line.strip() for c in kept for line in _source(c).splitlines()}
    solution_lines = {
        line.strip() for c in solutions for line in _source(c).splitlines() if line.strip()
    } - kept_lines
    assert solution_lines
    text = student_path.read_text(encoding="utf-8")
    assert "if SOLUTIONS:" not in text
    leaked = [line for line in solution_lines if json.dumps(line)[1:-1] in text]
    assert not leaked, f"solution text left in the student copy of {path.name}: {leaked[:3]}"

    # The exercises are still there, and nothing computed with the solutions is shown.
    assert "raise NotImplementedError" in text
    code = [c for c in student["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "widgets" not in student["metadata"]
