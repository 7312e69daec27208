"""The dysts database of chaotic flows as dynsys systems, traced by JAX from dysts' own code."""

from __future__ import annotations

import builtins
import difflib
import functools
import inspect
import json
import types
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._abstract import AbstractFlow, LyapunovReference, _ParamConverter, param

# dysts samples a trajectory at `pts_per_period` = 100 points per dominant period by default
# (`DynSys.make_trajectory`); its metadata `dt` is the integrator's first step, about
# period / 5000, far finer than a sampling step.
_POINTS_PER_PERIOD = 100

_GILPIN = (
    'W. Gilpin, "Chaos as an interpretable benchmark for forecasting and data-driven '
    'modelling", NeurIPS Datasets and Benchmarks (2021), arXiv:2110.05266'
)

# Flows of dysts 0.96 whose right-hand side JAX cannot trace; tests/systems/
# test_dysts_bridge.py checks that each one still fails and that every other flow traces.
_UNTRACEABLE: dict[str, str] = {
    "Lorenz96": (
        "its `rhs` assigns into the elements of a NumPy array in place (`Xdot[0] = ...`); "
        "JAX arrays are immutable. The built-in dynsys.systems.Lorenz96(n=..., forcing=...) "
        "equals it"
    ),
}

_DELAY_REASON = (
    "a delay differential equation: its state is a function on [t - tau, t], not a vector, "
    "and dysts integrates it with its own method of steps"
)
_MAP_REASON = "a discrete-time map, not a flow (dysts.maps)"


def _import_dysts() -> types.ModuleType:
    """Import dysts (an optional dependency) and return its `systems` module."""
    try:
        with warnings.catch_warnings():
            # Without numba, dysts warns at import that it runs its equations uncompiled;
            # the bridge never calls the compiled versions, so the warning says nothing here.
            warnings.filterwarnings("ignore", message="Numba not installed", category=UserWarning)
            import dysts.flows
            import dysts.systems
    except ImportError as err:
        raise ImportError(
            "The dysts bridge needs the optional dependency dysts: "
            "pip install 'dynsys[dysts]' (or pip install dysts)."
        ) from err
    return dysts.systems


@functools.cache
def _catalogue() -> tuple[dict[str, Any], dict[str, str]]:
    """`({flow name: its dysts class}, {excluded name: reason})` over all of dysts."""
    dsys = _import_dysts()
    flows = {
        n: getattr(dsys.dfl, n)
        for n in dsys.get_attractor_list("continuous_no_delay")
        if n not in _UNTRACEABLE
    }
    excluded = {n: _DELAY_REASON for n in dsys.get_attractor_list("delay")}
    # A map named like a flow (dysts has a Duffing flow and a Duffing map): the name is the flow's.
    excluded |= {n: _MAP_REASON for n in dsys.get_attractor_list("discrete") if n not in flows}
    excluded |= {n: r for n, r in _UNTRACEABLE.items() if hasattr(dsys.dfl, n)}
    return flows, excluded


@functools.cache
def _metadata() -> dict[str, dict[str, Any]]:
    """dysts' published metadata of its continuous systems, by name (read once)."""
    dsys = _import_dysts()
    with open(dsys.DATAPATH_CONTINUOUS, encoding="utf-8") as f:
        return json.load(f)


def dysts_names() -> list[str]:
    """Names of the dysts flows that [`from_dysts`][dynsys.systems.from_dysts] builds, sorted.

    Every continuous-time system of dysts without delay whose right-hand side JAX can
    trace. The others are listed, with the reason, by
    [`dysts_excluded`][dynsys.systems.dysts_excluded]. Needs the optional dependency dysts
    (`pip install 'dynsys[dysts]'`).

    **Returns:** a sorted list of dysts class names, e.g. `["Aizawa", ..., "Lorenz", ...]`.

    ```python
    from dynsys import systems
    "Lorenz" in systems.dysts_names()   # True
    ```
    """
    return sorted(_catalogue()[0])


def dysts_excluded() -> dict[str, str]:
    """The dysts systems that [`from_dysts`][dynsys.systems.from_dysts] does not build, and why.

    Delay equations (infinite-dimensional), discrete maps (not flows), and the flows whose
    right-hand side JAX cannot trace (Python control flow on values, in-place assignment
    into arrays). Needs the optional dependency dysts.

    **Returns:** a dict `{dysts name: reason}`.

    ```python
    from dynsys import systems
    systems.dysts_excluded()["MackeyGlass"]   # 'a delay differential equation: ...'
    ```
    """
    return dict(sorted(_catalogue()[1].items()))


class DystsFlow(AbstractFlow):
    """The common base of the systems that [`from_dysts`][dynsys.systems.from_dysts] builds.

    Each dysts flow becomes its own final subclass, named as in dysts (`Lorenz`,
    `Aizawa`, ...), whose fields are dysts' parameters (JAX arrays, differentiable) and
    whose class attributes carry dysts' metadata. The right-hand side is dysts' own Python
    code: its `rhs` method, with `numpy` replaced by `jax.numpy` in the functions' global
    namespace, evaluated on a stand-in for the dysts instance that holds this module's
    parameters. Numba-compiled functions are run through their original Python function
    (`py_func`). The code is evaluated with JAX's standard dtype promotion, as it was written
    for NumPy's implicit integer-to-float promotion.

    Class attributes besides those of every system (`name`, `dim`, `dt`, `default_y0`,
    `reference`, `citation`):

    - `dt`: the sampling step, dysts' default of 100 samples per dominant `period`.
    - `reference`: dysts' `lyapunov_spectrum_estimated` (QR method), or `None` where
      dysts has none.
    - `max_lyapunov_estimated`: dysts' separately estimated largest exponent; it disagrees
      with `reference.exponents[0]` for some systems.
    - `period`: the dominant period (time units), from the power spectrum.
    - `correlation_dimension`, `kaplan_yorke_dimension`: dysts' estimates.
    - `integration_dt`: dysts' metadata `dt`, the first step of its integrator.
    - `nonautonomous`: whether the equations depend on time explicitly (dysts often adds
      the phase of a forcing as a state variable instead).
    - `dysts_metadata`: the whole metadata record of dysts, read-only.

    States are dysts' integration coordinates: dysts' `make_trajectory` maps some of them
    (phases) to bounded ones afterwards (`postprocess=True`); dynsys does not.
    """

    max_lyapunov_estimated: ClassVar[float | None] = None
    period: ClassVar[float | None] = None
    correlation_dimension: ClassVar[float | None] = None
    kaplan_yorke_dimension: ClassVar[float | None] = None
    integration_dt: ClassVar[float | None] = None
    nonautonomous: ClassVar[bool] = False
    dysts_metadata: ClassVar[Mapping[str, Any]] = types.MappingProxyType({})
    _dysts_class: ClassVar[type | None] = None

    def rhs(self, t, y):
        cls = type(self)._dysts_class
        instance = _JaxInstance(cls, dict(self.parameters))
        with jax.numpy_dtype_promotion("standard"):
            out = _jax_function(cls.rhs)(instance, y, t)
            parts = out if isinstance(out, tuple | list) else (out,)
            dtype = jnp.result_type(y, *instance.param_list)
            return jnp.concatenate([jnp.ravel(jnp.asarray(p, dtype=dtype)) for p in parts])


class _JaxInstance:
    """Stands in for a dysts system instance in its `rhs`: our parameters, translated methods."""

    def __init__(self, cls: type, params: dict[str, Any]):
        self._cls = cls
        self.params = params
        # dysts passes the parameters to `_rhs` in the order of their sorted names.
        self.param_list = [params[k] for k in sorted(params)]

    def __getattr__(self, attr: str):
        params = self.__dict__["params"]
        if attr in params:
            return params[attr]
        value = inspect.getattr_static(self._cls, attr)  # AttributeError if absent
        if isinstance(value, staticmethod):
            return _jax_function(value.__func__)
        if isinstance(value, types.FunctionType):
            return types.MethodType(_jax_function(value), self)
        if hasattr(value, "py_func"):
            return _jax_function(value)
        return value


def _elementwise_max(*args, **kwargs):
    """Builtin `max` of two numbers as `jnp.maximum` (traceable); anything else unchanged."""
    if len(args) == 2 and not kwargs:
        return jnp.maximum(*args)
    return builtins.max(*args, **kwargs)


def _elementwise_min(*args, **kwargs):
    """Builtin `min` of two numbers as `jnp.minimum` (traceable); anything else unchanged."""
    if len(args) == 2 and not kwargs:
        return jnp.minimum(*args)
    return builtins.min(*args, **kwargs)


@functools.cache
def _jax_function(fn: Callable) -> types.FunctionType:
    """`fn` (a plain or numba-compiled function over NumPy) rebuilt to call `jax.numpy`."""
    fn = getattr(fn, "py_func", fn)
    if not isinstance(fn, types.FunctionType):
        raise TypeError(f"cannot translate {fn!r}: not a Python function")
    namespace = {k: (jnp if v is np else v) for k, v in fn.__globals__.items()}
    namespace |= {"max": _elementwise_max, "min": _elementwise_min}
    new = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


def _nested_tuple(value: Any) -> Any:
    """An array (as from `ndarray.tolist()`) as nested tuples of floats: an immutable default."""
    return tuple(_nested_tuple(v) for v in value) if isinstance(value, list) else float(value)


@functools.cache
def _system_class(name: str) -> type[DystsFlow]:
    """The dynsys class of the dysts flow `name` (built once, so that jit caches hold)."""
    dysts_class = getattr(_import_dysts().dfl, name)
    meta = _metadata()[name]
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for key, value in sorted(meta["parameters"].items()):
        if hasattr(DystsFlow, key):
            raise RuntimeError(f"dysts parameter {name}.{key} shadows a DystsFlow attribute.")
        value = np.asarray(value, dtype=np.float64)
        annotations[key] = jax.Array
        if value.ndim == 0:
            namespace[key] = param(float(value))
        else:
            # An array default must be immutable; the converter makes it a JAX array.
            namespace[key] = eqx.field(
                default=_nested_tuple(value.tolist()), converter=_ParamConverter(value.ndim)
            )
    spectrum = meta.get("lyapunov_spectrum_estimated")
    reference = None
    if spectrum:
        reference = LyapunovReference(
            tuple(float(v) for v in spectrum),
            "dysts 0.96 metadata `lyapunov_spectrum_estimated` (QR method, Wolf et al. 1985 / "
            "Eckmann et al. 1986, on one finite trajectory); " + _GILPIN,
        )
    period = meta.get("period")
    classvars = {
        "name": meta.get("name", name),
        "dim": int(meta["embedding_dimension"]),
        "dt": float(period) / _POINTS_PER_PERIOD,
        "default_y0": tuple(float(v) for v in meta["initial_conditions"]),
        "reference": reference,
        "citation": str(meta.get("citation") or _GILPIN),
        "max_lyapunov_estimated": meta.get("maximum_lyapunov_estimated"),
        "period": period,
        "correlation_dimension": meta.get("correlation_dimension"),
        "kaplan_yorke_dimension": meta.get("kaplan_yorke_dimension"),
        "integration_dt": meta.get("dt"),
        "nonautonomous": bool(meta.get("nonautonomous", False)),
        "dysts_metadata": types.MappingProxyType(meta),
        "_dysts_class": dysts_class,
    }
    for key, value in classvars.items():
        annotations[key] = ClassVar[type(value)]
    namespace |= classvars
    namespace["__annotations__"] = annotations
    namespace["__module__"] = __name__
    namespace["__doc__"] = (
        f"dysts' {name}: {meta.get('description') or 'a chaotic flow'} "
        f"(built by `dynsys.systems.from_dysts({name!r})`)."
    )
    return type(name, (DystsFlow,), namespace)


def from_dysts(name: str, **parameters) -> DystsFlow:
    """A dysts flow as a dynsys system, its right-hand side traced by JAX from dysts' code.

    The system works everywhere a built-in does: `jax.jit`, `jax.vmap` and `jax.grad`
    (with respect to the state and to the parameters) through `rhs`, and
    [`dynsys.simulate`][], the datasets ([`dynsys.data.generate`][]) and
    [`lyapunov_spectrum`][dynsys.metrics.lyapunov_spectrum]. The equations are not copied:
    dysts' own `rhs` is evaluated with `jax.numpy` in place of `numpy` (see
    [`DystsFlow`][dynsys.systems.DystsFlow]). It carries dysts' parameters (fields), initial
    condition, sampling step (`dt`, 100 samples per dominant period), Lyapunov exponents,
    correlation dimension and period. Needs the optional dependency dysts
    (`pip install 'dynsys[dysts]'`).

    **Arguments:**

    - `name`: a dysts class name from [`dysts_names()`][dynsys.systems.dysts_names]
      (case-insensitive), e.g. `"Lorenz"`, `"Aizawa"`.
    - `parameters`: keyword overrides of dysts' parameters (scalars, or arrays of the shape
      dysts uses).

    **Returns:** an instance of the [`DystsFlow`][dynsys.systems.DystsFlow] subclass named
    `name`, state dimension `dim`.

    Raises `ValueError` for an unknown name (listing the close matches), for a system in
    [`dysts_excluded()`][dynsys.systems.dysts_excluded] (with the reason), for an unknown
    parameter, and when JAX fails to trace the right-hand side (naming the failing
    operation); `ImportError` when dysts is not installed.

    ```python
    import jax.numpy as jnp
    import dynsys
    from dynsys import systems
    lorenz = systems.from_dysts("Lorenz")
    lorenz.parameters                     # {'beta': 2.667, 'rho': 28.0, 'sigma': 10.0}
    lorenz.reference.exponents            # dysts' estimated spectrum
    ys = dynsys.simulate(lorenz, None, jnp.arange(0, 10, lorenz.dt))
    ```
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string (a dysts class name), got {type(name).__name__}.")
    flows, excluded = _catalogue()
    key = {n.lower(): n for n in (*flows, *excluded)}.get(name.lower())
    if key is None:
        close = difflib.get_close_matches(name, [*flows, *excluded], n=5, cutoff=0.6)
        hint = f"close matches: {close}" if close else "see dynsys.systems.dysts_names()"
        raise ValueError(f"Unknown dysts system `name`={name!r}; {hint}.")
    if key in excluded:
        raise ValueError(f"dysts system {key!r} is not available in dynsys: {excluded[key]}.")
    cls = _system_class(key)
    known = sorted(cls().parameters)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ValueError(
            f"Unknown parameters {unknown} for dysts system {key!r}; expected {known}."
        )
    system = cls(**parameters)
    _check_traceable(system)
    return system


def _check_traceable(system: DystsFlow) -> None:
    """Trace `rhs` once at the default state; a failure names the operation that failed."""
    y0 = system.initial_state()
    try:
        out = jax.eval_shape(system.rhs, jnp.zeros((), y0.dtype), y0)
    except Exception as err:
        raise ValueError(
            f"dysts system {system.name!r} cannot be traced by JAX: "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        ) from err
    if out.shape != (system.dim,):
        raise ValueError(
            f"dysts system {system.name!r}: its right-hand side returns shape {out.shape}, "
            f"expected ({system.dim},)."
        )
