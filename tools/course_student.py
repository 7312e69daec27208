"""Write student copies of the course notebooks: solution cells removed, outputs cleared.

The published course notebooks (`notebooks/course/*.ipynb`) carry, after each exercise, a
collapsed cell tagged `solution`, and are executed with the solutions on, so their outputs
show what the solutions compute. A student copy drops every cell tagged `solution` (the
cell is gone from the file, not just hidden) and clears every output, execution count and
the stored widget state. Standard library only: no Jupyter, no network.

Run: .venv/bin/python tools/course_student.py --out outputs/course-student notebooks/course/*.ipynb
(`make course-student` runs it on every course notebook; `COURSE_STUDENT=dir` changes the folder).
"""

from __future__ import annotations

import argparse
import json
import pathlib

SOLUTION_TAG = "solution"


def is_solution(cell: dict) -> bool:
    """Whether a notebook cell is tagged `solution`."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def student_copy(nb: dict) -> dict:
    """`nb` (a notebook as parsed JSON) without solution cells, outputs or widget state."""
    cells = []
    for cell in nb["cells"]:
        if is_solution(cell):
            continue
        cell = dict(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            cell["metadata"] = {
                k: v for k, v in cell.get("metadata", {}).items() if k != "execution"
            }
        cells.append(cell)
    metadata = {k: v for k, v in nb.get("metadata", {}).items() if k != "widgets"}
    return {**nb, "cells": cells, "metadata": metadata}


def write_student_copies(paths: list[pathlib.Path], out: pathlib.Path) -> list[pathlib.Path]:
    """Write the student copy of each notebook in `paths` to `out/<name>`; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        target = out / path.name
        with open(target, "w", encoding="utf-8") as f:
            json.dump(student_copy(nb), f, indent=1, ensure_ascii=False)
            f.write("\n")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("outputs/course-student"))
    args = parser.parse_args(argv)
    for target in write_student_copies(args.notebooks, args.out):
        print(target)


if __name__ == "__main__":
    main()
