"""Look up built-in systems by name."""

from __future__ import annotations

from ._abstract import AbstractSystem
from ._flows import Chua, Duffing, Lorenz63, Lorenz96, LotkaVolterra, Rossler, Thomas, VanDerPol
from ._maps import Henon, Logistic

_REGISTRY: dict[str, type[AbstractSystem]] = {
    cls.name: cls
    for cls in (
        Lorenz63,
        Rossler,
        Lorenz96,
        Duffing,
        VanDerPol,
        LotkaVolterra,
        Thomas,
        Chua,
        Henon,
        Logistic,
    )
}


def names() -> list[str]:
    """Names of the built-in systems, sorted."""
    return sorted(_REGISTRY)


def get(name: str, **parameters) -> AbstractSystem:
    """Instantiate a built-in system by name, e.g. `get("lorenz63", rho=28.0)`.

    **Arguments:**

    - `name`: one of [`names()`][dynsys.systems.names] (case-insensitive, `-` treated as `_`).
    - `parameters`: keyword overrides of the default parameters.

    **Returns:** the system instance.
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string, got {type(name).__name__}.")
    key = name.lower().replace("-", "_")
    if key not in _REGISTRY:
        raise ValueError(f"Unknown system `name`={name!r}; expected one of {names()}.")
    return _REGISTRY[key](**parameters)
