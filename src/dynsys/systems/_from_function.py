"""Wrap a user's plain function as a dynsys system."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import numpy as np

from .._validation import as_array, check_finite, check_int, check_ndim, check_positive
from ._abstract import AbstractFlow, AbstractMap


def _check_function_system(system) -> None:
    """Shared checks of `FunctionFlow` and `FunctionMap` (run at construction)."""
    if not callable(system.fn):
        raise TypeError(f"`fn` must be callable, got {type(system.fn).__name__}.")
    dim = check_int(system.dim, "dim", minimum=1)
    check_positive(system.dt, "dt")
    y0 = system.default_y0
    if not isinstance(y0, tuple) or not all(
        isinstance(v, float | int | np.floating | np.integer) and not isinstance(v, bool)
        for v in y0
    ):
        raise TypeError(f"`default_y0` must be a tuple of {dim} real numbers, got {y0!r}.")
    if len(y0) != dim:
        raise ValueError(f"`default_y0` must have length dim={dim}, got length {len(y0)}.")
    if not np.all(np.isfinite(y0)):
        raise ValueError(f"`default_y0` must be finite, got {y0!r}.")
    if not isinstance(system.name, str):
        raise TypeError(f"`name` must be a string, got {type(system.name).__name__}.")


class FunctionFlow(AbstractFlow):
    """A flow whose vector field is a user function `fn(t, y) -> dy/dt`.

    Build it with [`dynsys.systems.from_function`][].
    """

    fn: Callable
    dim: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    default_y0: tuple[float, ...] = eqx.field(static=True)
    name: str = eqx.field(static=True)

    def __check_init__(self):
        _check_function_system(self)

    def rhs(self, t, y):
        return self.fn(t, y)


class FunctionMap(AbstractMap):
    """A map whose step is a user function `fn(y) -> y_next`.

    Build it with [`dynsys.systems.from_function`][] and `discrete=True`.
    """

    fn: Callable
    dim: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    default_y0: tuple[float, ...] = eqx.field(static=True)
    name: str = eqx.field(static=True)

    def __check_init__(self):
        _check_function_system(self)

    def step(self, y):
        return self.fn(y)


def from_function(
    fn: Callable,
    *,
    dim: int,
    y0: Sequence[float] | None = None,
    dt: float | None = None,
    discrete: bool = False,
    name: str = "custom",
) -> FunctionFlow | FunctionMap:
    """Wrap a plain function as a system usable everywhere in dynsys.

    **Arguments:**

    - `fn`: `fn(t, y) -> dy/dt` for a flow, or `fn(y) -> y_next` for a map (`discrete=True`);
      `y` has shape `(dim,)`. Must be traceable by JAX.
    - `dim`: state dimension.
    - `y0`: default initial condition (length `dim`); defaults to ones.
    - `dt`: default sampling step; defaults to 0.01 for flows and 1 for maps.
    - `discrete`: whether `fn` is a map rather than a vector field.
    - `name`: a name used in dataset metadata.

    **Returns:** a [`FunctionFlow`][] or [`FunctionMap`][].

    ```python
    import jax.numpy as jnp
    osc = from_function(lambda t, y: jnp.stack([y[1], -y[0]]), dim=2, y0=(1.0, 0.0))
    ```
    """
    if not callable(fn):
        raise TypeError(f"`fn` must be callable, got {type(fn).__name__}.")
    dim = check_int(dim, "dim", minimum=1)
    if y0 is None:
        y0 = (1.0,) * dim
    else:
        as_array(y0, "y0")  # checks the type; the values are kept in float64 below
        y0 = np.asarray(y0, dtype=np.float64)
        check_ndim(y0, "y0", 1, f"a sequence of dim={dim} numbers")
        if y0.shape[0] != dim:
            raise ValueError(f"`y0` must have length dim={dim}, got length {y0.shape[0]}.")
        check_finite(y0, "y0")
        y0 = tuple(float(v) for v in y0)
    dt = (1.0 if discrete else 0.01) if dt is None else check_positive(dt, "dt")
    if not isinstance(discrete, bool):
        raise TypeError(f"`discrete` must be a bool, got {discrete!r}.")
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string, got {type(name).__name__}.")
    cls = FunctionMap if discrete else FunctionFlow
    return cls(fn=fn, dim=dim, dt=float(dt), default_y0=y0, name=name)
