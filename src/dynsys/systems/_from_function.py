"""Wrap a user's plain function as a dynsys system."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx

from ._abstract import AbstractFlow, AbstractMap


class FunctionFlow(AbstractFlow):
    """A flow whose vector field is a user function `fn(t, y) -> dy/dt`.

    Build it with [`dynsys.systems.from_function`][].
    """

    fn: Callable
    dim: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    default_y0: tuple[float, ...] = eqx.field(static=True)
    name: str = eqx.field(static=True)

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
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"`dim` must be a positive integer, got {dim!r}.")
    if y0 is None:
        y0 = (1.0,) * dim
    y0 = tuple(float(v) for v in y0)
    if len(y0) != dim:
        raise ValueError(f"`y0` must have length dim={dim}, got length {len(y0)}.")
    if dt is None:
        dt = 1.0 if discrete else 0.01
    if not dt > 0:
        raise ValueError(f"`dt` must be > 0, got {dt!r}.")
    cls = FunctionMap if discrete else FunctionFlow
    return cls(fn=fn, dim=dim, dt=float(dt), default_y0=y0, name=name)
