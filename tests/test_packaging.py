"""Packaging: the sdist and the wheel build without a warning, and the version has one source.

The build runs `python -m build --no-isolation` (the `build` package and the backend's
setuptools range are in the `test` extra, so no network is needed) on a copy of the files the
build reads, in a temporary folder: nothing is written into the source tree.
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile

import dynsys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]


def _source_copy(dest: pathlib.Path) -> pathlib.Path:
    """The files the build reads: pyproject.toml, the readme, the license files and src/."""
    project = PYPROJECT["project"]
    dest.mkdir()
    for name in ["pyproject.toml", project["readme"], *project["license-files"]]:
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    return dest


def test_sdist_and_wheel_build_without_warnings(tmp_path):
    source = _source_copy(tmp_path / "source")
    dist = tmp_path / "dist"
    # The environment's PYTHONDONTWRITEBYTECODE makes setuptools print "warning: byte-compiling
    # is disabled": a message about this interpreter, not about the package.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    warnings = [
        line for line in output.splitlines() if re.search(r"warn|deprecat", line, re.IGNORECASE)
    ]
    assert not warnings, "packaging warnings:\n" + "\n".join(warnings)

    wheel = dist / f"dynsys-{VERSION}-py3-none-any.whl"
    sdist = dist / f"dynsys-{VERSION}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(p.name for p in dist.iterdir())
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(f"dynsys-{VERSION}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata.splitlines()
    assert "License-File: LICENSE" in metadata.splitlines()
    assert f"dynsys-{VERSION}.dist-info/licenses/LICENSE" in names
    packages = {
        "/".join(("dynsys", *p.parent.relative_to(ROOT / "src" / "dynsys").parts, "__init__.py"))
        for p in (ROOT / "src" / "dynsys").rglob("__init__.py")
    }
    assert packages <= names, f"packages missing from the wheel: {sorted(packages - names)}"
    with tarfile.open(sdist) as tf:
        assert f"dynsys-{VERSION}/LICENSE" in tf.getnames()


def test_build_backend_range_is_in_the_test_extra():
    # The check above builds with the installed setuptools (no isolation): it must be one the
    # build-system table accepts.
    backend = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    assert backend and set(backend) <= set(PYPROJECT["project"]["optional-dependencies"]["test"])


def test_version_has_one_source():
    assert dynsys.__version__ == importlib.metadata.version("dynsys") == VERSION, (
        "the installed metadata is not pyproject's version: reinstall (pip install -e .)"
    )
    citation = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^version:\s*(\S+)\s*$", citation, re.M).group(1) == VERSION
