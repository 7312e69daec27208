"""The dysts bridge without dysts: dynsys imports without it, and says what to install."""

import subprocess
import sys

import pytest

from dynsys import systems
from dynsys.systems import _dysts


@pytest.fixture
def without_dysts(monkeypatch):
    """dysts made unimportable (a `None` entry in `sys.modules`), the bridge's caches emptied."""
    for module in ("dysts", "dysts.flows", "dysts.systems"):
        monkeypatch.setitem(sys.modules, module, None)
    _dysts._catalogue.cache_clear()
    _dysts._metadata.cache_clear()
    yield
    _dysts._catalogue.cache_clear()
    _dysts._metadata.cache_clear()


@pytest.mark.parametrize(
    "call",
    [
        lambda: systems.from_dysts("Lorenz"),
        systems.dysts_names,
        systems.dysts_excluded,
    ],
    ids=["from_dysts", "dysts_names", "dysts_excluded"],
)
def test_missing_dysts_names_the_extra(without_dysts, call):
    with pytest.raises(ImportError, match=r"optional dependency dysts.*dynsys\[dysts\]"):
        call()


def test_importing_dynsys_does_not_import_dysts():
    code = (
        "import sys, dynsys, dynsys.systems\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'dysts'], 'dysts imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
