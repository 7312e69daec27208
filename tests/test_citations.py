"""Docstrings and comments in `src/dynsys` cite only what a user has.

A citation of a Markdown file (`docs/metrics.md`) or of a path into this repository or next
to it (`docs/...`, `examples/...`, `shared/...`, `../...`) must name a file of the
repository, relative to its root; an anchor (`docs/modules/dsr.md#training`) must be a
heading of that page. Working notes that do not ship (`dsr.md §2.2`) fail. Papers are cited
by authors, venue and year, and the published reference codes by their repository's name
(GTF-shPLRNN, ALRNN-DSR, ...): neither is a path here.
"""

from __future__ import annotations

import pathlib
import re
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "dynsys"

# Top-level folders of the repository, and the folders beside it that hold working notes.
_FOLDERS = ("docs", "examples", "notebooks", "benchmarks", "tests", "tools", "src")
_OUTSIDE = ("shared", "reference")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_MARKDOWN = re.compile(r"(?<![\w./-])([\w./-]*\w\.md)(#[\w-]+)?(?![\w-])")
_PREFIXES = "|".join(_FOLDERS + _OUTSIDE)
_PATH = re.compile(rf"(?<![\w./:-])((?:\.\./)+[\w.*/-]+|(?:{_PREFIXES})/[\w.*/-]+)")


def _slug(heading: str) -> str:
    """The anchor Python-Markdown's `toc` gives a heading (the site's default slugify)."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: pathlib.Path) -> set[str]:
    anchors, fenced = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)):
            anchors.add(_slug(match.group(1)))
    return anchors


def _exists(path: str) -> bool:
    target = ROOT / path
    if "*" in path:
        return any(target.parent.glob(target.name))
    return target.exists()


def _broken(text: str) -> list[tuple[int, str]]:
    """(offset, citation) of every cited file or anchor in `text` the repository lacks."""
    text = _URL.sub(lambda m: " " * len(m.group(0)), text)  # keeps the offsets
    broken = []
    for match in _MARKDOWN.finditer(text):
        path, anchor = match.group(1), match.group(2)
        if not _exists(path):
            broken.append((match.start(), path))
        elif anchor and anchor[1:] not in _anchors(ROOT / path):
            broken.append((match.start(), path + anchor))
    for match in _PATH.finditer(text):
        path = match.group(1).rstrip(".,;:")
        if not _exists(path) and (match.start(), path) not in broken:
            broken.append((match.start(), path))
    return sorted(broken)


def broken_citations(text: str) -> list[str]:
    """The cited files (and anchors) in `text` that the repository does not have."""
    return [path for _, path in _broken(text)]


def test_the_check_finds_what_a_user_does_not_have():
    text = (
        "see dsr.md §2.2 and `shared/reference/dsr.md` §5; ../shared/notes.txt; "
        "docs/modules/dsr.md#no-such-heading; examples/no_such_example.py"
    )
    assert broken_citations(text) == [
        "dsr.md",
        "shared/reference/dsr.md",
        "../shared/notes.txt",
        "docs/modules/dsr.md#no-such-heading",
        "examples/no_such_example.py",
    ]
    fine = (
        "docs/metrics.md; docs/modules/dsr.md#training; docs/modules/dsr.md#evaluation; "
        "https://example.org/notes/README.md; GTF-shPLRNN `settings/defaults.json`; "
        "Hess et al., ICML 2023; examples/*.py"
    )
    assert broken_citations(fine) == []


def test_sources_cite_only_files_of_the_repository():
    broken = []
    for source in sorted(SRC.rglob("*.py")):
        text = source.read_text(encoding="utf-8")
        for offset, path in _broken(text):
            line = text.count("\n", 0, offset) + 1
            broken.append(f"{source.relative_to(ROOT)}:{line}: {path}")
    assert not broken, (
        "citations of files the user does not have (cite the paper with its section or "
        "equation, or a page of docs/ relative to the repository root):\n" + "\n".join(broken)
    )
