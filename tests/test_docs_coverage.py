"""Docs coverage: every public name has a docstring, every public module an API page.

Pure Python (no mkdocs): the public packages are `dynsys` and its subpackages without a
leading underscore; the public surface of each is its `__all__`, which must equal what its
`__init__.py` re-exports with the redundant-alias form `from ._x import Name as Name` (the
rule the API pages use too) plus what it defines itself, so that the two cannot drift. A
docstring is looked up in the source, so a dataclass's generated signature text does not
count as documentation.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

SRC = ROOT / "src" / "dynsys"
# Packages that must stay public; the test finds every other one by itself.
EXPECTED_MODULES = {
    "dynsys",
    "dynsys.systems",
    "dynsys.data",
    "dynsys.metrics",
    "dynsys.training",
    "dynsys.dsr",
    "dynsys.nde",
    "dynsys.koopman",
    "dynsys.pde",
    "dynsys.rom",
    "dynsys.latent",
    "dynsys.testing",
    "dynsys.plot",
    "dynsys.worldmodels",
}


def _public_modules() -> list[str]:
    """`dynsys` and every subpackage (a folder with `__init__.py`) without a leading `_`."""
    packages = [
        ".".join(("dynsys", *init.parent.relative_to(SRC).parts))
        for init in SRC.rglob("__init__.py")
    ]
    return sorted(name for name in packages if not any(p.startswith("_") for p in name.split(".")))


def _public_names(module_name: str) -> list[str]:
    """The declared public surface: the package's `__all__`."""
    return list(importlib.import_module(module_name).__all__)


def _reexported_names(module_name: str) -> list[str]:
    """Names re-exported (`import x as x`) or defined at the top of a package's `__init__`."""
    module = importlib.import_module(module_name)
    tree = ast.parse(pathlib.Path(module.__file__).read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            names += [a.name for a in node.names if a.asname is not None and a.asname == a.name]
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.append(node.name)
    return [n for n in names if not n.startswith("_")]


@functools.cache
def _module_tree(path: str) -> ast.Module:
    return ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))


def _source_docstring(obj) -> str | None:
    """The docstring written in the source for a class or function; None if not found there."""
    obj = inspect.unwrap(obj)
    mod = sys.modules.get(getattr(obj, "__module__", None) or "")
    path = getattr(mod, "__file__", None)
    qualname = getattr(obj, "__qualname__", None)
    if path is None or qualname is None or not path.endswith(".py"):
        return None
    nodes = _module_tree(path).body
    node = None
    for part in qualname.split("."):
        node = next(
            (
                n
                for n in nodes
                if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                and n.name == part
            ),
            None,
        )
        if node is None:
            return None
        nodes = node.body
    return ast.get_docstring(node) or ""


def _docstring(obj) -> str:
    if inspect.ismodule(obj):
        return obj.__doc__ or ""
    if inspect.isclass(obj) or callable(obj):
        found = _source_docstring(obj)
        if found is not None:
            return found
    doc = getattr(obj, "__doc__", None) or ""
    if dataclasses.is_dataclass(obj) and doc.startswith(f"{getattr(obj, '__name__', '')}("):
        return ""  # the signature that dataclasses write when there is no docstring
    return doc


def _documented_modules() -> set[str]:
    blocks = set()
    for page in DOCS.rglob("*.md"):
        for match in re.finditer(r"^:::\s+([\w.]+)", page.read_text(encoding="utf-8"), re.M):
            blocks.add(match.group(1))
    return blocks


def test_public_modules_are_found():
    missing = EXPECTED_MODULES - set(_public_modules())
    assert not missing, f"public packages not found under {SRC}: {sorted(missing)}"


@pytest.mark.parametrize("module_name", _public_modules())
def test_all_is_the_reexported_names(module_name):
    module = importlib.import_module(module_name)
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{module_name} declares no `__all__`"
    assert len(declared) == len(set(declared)), f"{module_name}.__all__ repeats a name"
    reexported = _reexported_names(module_name)
    assert sorted(declared) == sorted(reexported), (
        f"{module_name}.__all__ differs from its `from ._x import Name as Name` re-exports: "
        f"only in __all__ {sorted(set(declared) - set(reexported))}, only re-exported "
        f"{sorted(set(reexported) - set(declared))}"
    )
    namespace: dict = {}
    exec(f"from {module_name} import *", namespace)  # what a star import gives a user
    assert set(namespace) - {"__builtins__"} == set(declared)


@pytest.mark.parametrize("module_name", _public_modules())
def test_public_names_have_docstrings(module_name):
    module = importlib.import_module(module_name)
    assert (module.__doc__ or "").strip(), f"{module_name} has no module docstring"
    names = _public_names(module_name)
    assert names, f"{module_name} re-exports nothing (expected `from ._x import Name as Name`)"
    missing = [n for n in names if not _docstring(getattr(module, n)).strip()]
    assert not missing, f"{module_name}: public names without a docstring: {missing}"


def test_every_public_module_has_an_api_block():
    documented = _documented_modules()
    missing = [m for m in _public_modules() if m not in documented]
    assert not missing, (
        f"no `::: module` block in any page under docs/ for {missing}; add one (e.g. "
        "docs/api/<name>.md) and list the page in mkdocs.yml's nav"
    )


def test_api_pages_are_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted((DOCS / "api").glob("*.md")):
        assert f"api/{page.name}" in nav, f"docs/api/{page.name} is not in mkdocs.yml's nav"


def test_docstring_lookup_sees_through_dataclass_signatures():
    # The check must be able to fail: equinox modules are dataclasses, whose generated
    # `__doc__` is the signature; a class without a written docstring must count as missing.
    import equinox as eqx

    class Undocumented(eqx.Module):
        x: int

    assert Undocumented.__doc__  # the generated signature text
    assert _docstring(Undocumented) == ""
    from dynsys.systems import from_function

    assert "Wrap a plain function" in _docstring(from_function)
