"""dynsys: learning, reconstructing and analysing dynamical systems from data, in JAX.

The names users reach for first are re-exported here; everything else lives in its
module: `dynsys.systems`, `dynsys.data`, `dynsys.metrics`, `dynsys.training`, ...
"""

from . import systems as systems
from ._simulate import simulate as simulate
from .dsr import ALRNN as ALRNN
from .dsr import PLRNN as PLRNN
from .dsr import ShallowPLRNN as ShallowPLRNN

__version__ = "0.1.0"
