"""dynsys: learning, reconstructing and analysing dynamical systems from data, in JAX.

The names users reach for first are re-exported here; everything else lives in its
module: `dynsys.systems`, `dynsys.data`, `dynsys.metrics`, `dynsys.training`, ...
`save(path, obj)` and `load(path)` write and read any model or result of every family in one
file format (a JSON header and the leaves, never pickle). `__version__` is the installed
distribution's version (pyproject.toml is the one place it is written).
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from . import systems as systems
from ._serialization import load as load
from ._serialization import save as save
from ._simulate import simulate as simulate
from .dsr import ALRNN as ALRNN
from .dsr import PLRNN as PLRNN
from .dsr import ShallowPLRNN as ShallowPLRNN

__all__ = ["systems", "load", "save", "simulate", "ALRNN", "PLRNN", "ShallowPLRNN"]

try:
    __version__ = _version("dynsys")
except _PackageNotFoundError:  # a source tree put on sys.path by hand, never installed
    __version__ = "0+unknown"
