"""Ground-truth dynamical systems: flows, maps, user systems, a registry and the dysts bridge."""

from ._abstract import AbstractFlow as AbstractFlow
from ._abstract import AbstractMap as AbstractMap
from ._abstract import AbstractSystem as AbstractSystem
from ._abstract import LyapunovReference as LyapunovReference
from ._abstract import param as param
from ._dysts import DystsFlow as DystsFlow
from ._dysts import dysts_excluded as dysts_excluded
from ._dysts import dysts_names as dysts_names
from ._dysts import from_dysts as from_dysts
from ._flows import Chua as Chua
from ._flows import Duffing as Duffing
from ._flows import Lorenz63 as Lorenz63
from ._flows import Lorenz96 as Lorenz96
from ._flows import LotkaVolterra as LotkaVolterra
from ._flows import Rossler as Rossler
from ._flows import Thomas as Thomas
from ._flows import VanDerPol as VanDerPol
from ._from_function import FunctionFlow as FunctionFlow
from ._from_function import FunctionMap as FunctionMap
from ._from_function import from_function as from_function
from ._maps import Henon as Henon
from ._maps import Logistic as Logistic
from ._registry import get as get
from ._registry import names as names

__all__ = [
    "AbstractFlow",
    "AbstractMap",
    "AbstractSystem",
    "LyapunovReference",
    "param",
    "Chua",
    "Duffing",
    "Lorenz63",
    "Lorenz96",
    "LotkaVolterra",
    "Rossler",
    "Thomas",
    "VanDerPol",
    "FunctionFlow",
    "FunctionMap",
    "from_function",
    "DystsFlow",
    "dysts_excluded",
    "dysts_names",
    "from_dysts",
    "Henon",
    "Logistic",
    "get",
    "names",
]
