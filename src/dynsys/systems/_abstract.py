"""The extension point for ground-truth dynamical systems."""

import dataclasses
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from equinox import AbstractVar
from jaxtyping import Array, Float


@dataclasses.dataclass(frozen=True)
class LyapunovReference:
    """Literature Lyapunov spectrum of a system at its default parameters.

    **Arguments:**

    - `exponents`: the exponents, largest first, per unit time (flows) or per iteration (maps).
    - `source`: where the numbers come from and how they were computed.
    """

    exponents: tuple[float, ...]
    source: str


class AbstractSystem(eqx.Module):
    """A ground-truth dynamical system: parameters as fields plus metadata.

    Concrete systems are either flows (subclass [`AbstractFlow`][] and define
    `rhs(t, y)`) or maps (subclass [`AbstractMap`][] and define `step(y)`). Every
    function of dynsys (`simulate`, datasets, `lyapunov_spectrum`) accepts any subclass,
    built-in or user-defined, through the same code path.

    Subclasses provide (as class attributes, fields or properties):

    - `name`: registry name, e.g. `"lorenz63"`.
    - `dim`: state dimension.
    - `dt`: default sampling step (time units per sample; 1 for maps).
    - `default_y0`: a default initial condition, shape `(dim,)`.
    - `reference`: optional [`LyapunovReference`][] with literature exponents.
    - `citation`: where the system comes from.
    """

    name: AbstractVar[str]
    dim: AbstractVar[int]
    dt: AbstractVar[float]
    default_y0: AbstractVar[tuple[float, ...]]
    is_map: ClassVar[bool] = False
    reference: ClassVar[LyapunovReference | None] = None
    citation: ClassVar[str] = ""

    @property
    def parameters(self) -> dict[str, Array]:
        """The system's numeric parameters as a `{name: array}` dict (differentiable leaves)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if eqx.is_array(getattr(self, f.name))
        }

    def initial_state(self) -> Float[Array, " dim"]:
        """The default initial condition as an array of shape `(dim,)`."""
        return jnp.asarray(self.default_y0, dtype=jnp.result_type(float))


class AbstractFlow(AbstractSystem):
    """A continuous-time system dy/dt = rhs(t, y)."""

    is_map: ClassVar[bool] = False

    def rhs(self, t: Float[Array, ""], y: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """Vector field at time `t` and state `y` (shape `(dim,)`), returns shape `(dim,)`."""
        raise NotImplementedError

    def __check_init__(self):
        if type(self).rhs is AbstractFlow.rhs:
            raise TypeError(f"{type(self).__name__} must define `rhs(self, t, y)`.")


class AbstractMap(AbstractSystem):
    """A discrete-time system y_{n+1} = step(y_n); sampling step `dt` = 1 by default."""

    is_map: ClassVar[bool] = True

    def step(self, y: Float[Array, " dim"]) -> Float[Array, " dim"]:
        """One iteration of the map, shape `(dim,)` to `(dim,)`."""
        raise NotImplementedError

    def __check_init__(self):
        if type(self).step is AbstractMap.step:
            raise TypeError(f"{type(self).__name__} must define `step(self, y)`.")


def param(default: float):
    """A differentiable system parameter field: stored as a JAX array, default `default`."""
    return eqx.field(default=default, converter=_to_float_array)


def _to_float_array(x):
    if isinstance(x, jax.core.Tracer) or eqx.is_array(x):
        return x
    return jnp.asarray(x, dtype=jnp.result_type(float))
