"""dynsys: learning, reconstructing and analysing dynamical systems from data, in JAX.

The names users reach for first are re-exported here; everything else lives in its
module: `dynsys.systems`, `dynsys.data`, `dynsys.metrics`, `dynsys.training`, ...
`save(path, obj)` and `load(path)` write and read any model or result of every family in one
file format (a JSON header and the leaves, never pickle).
"""

from . import systems as systems
from ._serialization import load as load
from ._serialization import save as save
from ._simulate import simulate as simulate
from .dsr import ALRNN as ALRNN
from .dsr import PLRNN as PLRNN
from .dsr import ShallowPLRNN as ShallowPLRNN

__version__ = "0.1.0"
