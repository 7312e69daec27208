"""The extension point for ground-truth dynamical systems."""

import dataclasses
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
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

    def __check_init__(self):
        # Parameters declared with `param` are checked here, where their names are known:
        # a NaN or a string would otherwise surface only deep inside an ODE solve.
        for f in dataclasses.fields(self):
            if isinstance(f.metadata.get("converter"), _ParamConverter):
                _check_param(getattr(self, f.name), f.name)

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
    """A differentiable system parameter field: stored as a JAX array, default `default`.

    The value given at construction must be a finite real number, or an array of them (a
    batch of systems to `jax.vmap` over); anything else raises a `ValueError`/`TypeError`
    naming the parameter. Traced values (a system built inside `jax.jit`, `vmap`, `grad`)
    are not checked.
    """
    _check_param(_ParamConverter(0)(default), "default")
    return eqx.field(default=default, converter=_ParamConverter(0))


class _ParamConverter:
    """Converts a parameter value to a float JAX array; leaves what is not numeric as it is.

    `ndim` is the rank of the default: sequences are converted only for array parameters,
    so that a list given for a scalar parameter is reported rather than broadcast.
    A bad value is left for `AbstractSystem.__check_init__`, which names the parameter.
    """

    def __init__(self, ndim: int):
        self.ndim = ndim

    def __call__(self, x):
        if isinstance(x, jax.core.Tracer):
            return x
        if isinstance(x, list | tuple) and self.ndim > 0:
            try:
                arr = np.asarray(x)
            except ValueError:  # ragged
                return x
            return jnp.asarray(arr, dtype=jnp.result_type(float)) if arr.dtype.kind in "iuf" else x
        if isinstance(x, bool | np.bool_):
            return x
        if isinstance(x, int | float | np.integer | np.floating):
            return jnp.asarray(x, dtype=jnp.result_type(float))
        if isinstance(x, np.ndarray | jax.Array) and x.dtype.kind == "f":
            return x
        if isinstance(x, np.ndarray | jax.Array) and x.dtype.kind in "iu":
            return jnp.asarray(x, dtype=jnp.result_type(float))
        return x


def _check_param(value, name: str) -> None:
    """A parameter must hold finite real numbers (checked unless traced)."""
    if isinstance(value, jax.core.Tracer):
        return
    if not (eqx.is_array(value) and value.dtype.kind == "f"):
        kind = getattr(value, "dtype", None)
        got = type(value).__name__ if kind is None else f"an array of dtype {kind}"
        raise TypeError(f"`{name}` must be a real number (a system parameter), got {got}.")
    arr = np.asarray(value)
    if not np.all(np.isfinite(arr)):
        shown = arr.tolist() if arr.size <= 6 else f"an array with {arr.size} entries"
        raise ValueError(f"`{name}` must be finite (a system parameter), got {shown}.")
