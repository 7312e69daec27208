"""The bad-input battery: public names fed NaN, wrong shapes, wrong types and bad scalars.

The default suite runs a fixed seeded sample of every (entry, argument, mutation) case and
asserts that none is unclear or silent; `-m slow` runs them all
(`python benchmarks/bad_input_battery.py` prints the table). Entries come from
`entries_core.py` and, when it exists, `entries_models.py`.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from .battery import Entry, format_counts, format_failures, run_battery

# The packages whose `__all__` lists entries_core covers.
CORE_MODULES = (
    "dynsys",
    "dynsys.systems",
    "dynsys.metrics",
    "dynsys.pde",
    "dynsys.data",
    "dynsys.testing",
    "dynsys.training",
    "dynsys.plot",
)
# The default suite's sample: SAMPLE cases among MAX_ENTRIES entries drawn with the seed (a
# sample costs about one compilation per entry: ~20 s on 2 busy cores).
SAMPLE = 80
MAX_ENTRIES = 24


def all_entries() -> list[Entry]:
    """The entries of entries_core and (if present) entries_models."""
    from . import entries_core

    entries = list(entries_core.ENTRIES)
    try:
        models = importlib.import_module(f"{__package__}.entries_models")
    except ModuleNotFoundError as err:
        if not err.name or not err.name.endswith("entries_models"):
            raise
    else:
        entries += list(models.ENTRIES)
    return entries


def _resolve(qualified: str):
    """The object a (possibly `[variant]`-suffixed) qualified entry name points to."""
    name = qualified.split("[")[0]
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _check(result):
    bad = result.failures()
    assert not bad, (
        f"{len(bad)} unclear/silent/broken case(s):\n{format_failures(bad)}\n\n"
        f"{format_counts(result.counts)}"
    )


def test_entries_are_well_formed():
    entries = all_entries()
    names = [e.name for e in entries]
    assert len(names) == len(set(names)), "duplicate entry names"
    for entry in entries:
        obj = _resolve(entry.name)
        assert callable(obj), entry.name
        if entry.factory is None:  # factories are checked when they run
            missing = [a.name for a in entry.specs if a.name not in entry.kwargs]
            assert not missing, f"{entry.name}: no valid value for {missing}"
            assert set(entry.positional) <= set(entry.kwargs), entry.name


def test_every_public_name_has_an_entry_or_is_excluded():
    from . import entries_core

    covered = {id(_resolve(e.name)) for e in all_entries()}
    missing = []
    for module_name in CORE_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            qualified = f"{module_name}.{name}"
            obj = getattr(module, name)
            if qualified in entries_core.EXCLUDED or inspect.ismodule(obj):
                continue
            if id(obj) not in covered:
                missing.append(qualified)
    assert not missing, f"public names without a battery entry or exclusion: {missing}"
    stale = [n for n in entries_core.EXCLUDED if n.rpartition(".")[2] not in
             importlib.import_module(n.rpartition(".")[0]).__all__]  # fmt: skip
    assert not stale, f"exclusions of names that are no longer public: {stale}"


def test_battery_sample_is_clean(tmp_path):
    result = run_battery(
        all_entries(), sample=SAMPLE, seed=0, tmp_path=tmp_path, max_entries=MAX_ENTRIES
    )
    _check(result)


@pytest.mark.slow
def test_battery_full_is_clean(tmp_path):
    _check(run_battery(all_entries(), tmp_path=tmp_path))
