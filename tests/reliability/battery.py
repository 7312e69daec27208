"""A bad-input battery: every public name of dynsys, fed mutated arguments.

The promise checked here (DESIGN.md): bad input is rejected at the public boundary with a
`ValueError`/`TypeError` that names the argument, and no call returns NaN, inf or garbage
without saying so.

**Entries.** One [`Entry`][] per public name: its qualified name, a *valid* call and the
arguments the battery may mutate, each described by an [`Arg`][]:

```python
Entry(
    "dynsys.metrics.power_spectrum",
    func=dynsys.metrics.power_spectrum,
    kwargs={"x": np.random.default_rng(0).normal(size=(64, 2)), "smoothing": 2.0},
    positional=("x",),                       # passed positionally, in this order
    specs=(array("x", ndim=(1, 2, 3), min_len=2), positive("smoothing", allow_zero=True)),
)
```

- `func(*[kwargs[n] for n in positional], **other kwargs)` is the valid call; it must
  return a finite result. Anything that needs setup (a system instance, a trained model, a
  sampler to call after constructing it) goes into `factory`, a zero-argument callable
  returning `(func, kwargs)`; it is called once per entry and its objects are reused. `func`
  may be a small lambda whose parameter names are the library's argument names (e.g.
  `lambda data, window, key: WindowSampler(data, window)(0, key)`).
- `post(result)` materialises a result that is lazy (a generator, an object whose method
  computes the numbers), so that the classifier sees numbers.
- `nan_warning`: a regex. A non-finite result of an otherwise acceptable mutation is
  accepted if (and only if) a warning matching it was emitted: documented NaN outputs.

**Argument kinds** (constructors): [`array`][] (`ndim`, `min_ndim`, `fixed_last_dim`,
`axis`, `min_len`), [`real`][] (finite number, optional `low`/`high`), [`positive`][]
(`allow_zero`), [`integer`][] (`minimum`, `maximum`), [`probability`][], [`key`][] (a PRNG
key), [`choice`][] (strings), [`instance`][] (an object such as a system, a model),
[`function`][] (a callable), [`flag`][] (a bool). Options common to all: `none_ok` (None is
a legitimate value: the None mutation is skipped), `skip` (mutation names not to try; say
why in a comment), `valid` (mutation names that are legitimately valid here: a clean
return is accepted), `aliases` (other names an error message may use for the argument,
e.g. `"data.states"`).

**Mutations** ([`MUTATIONS`][]), per kind:

- arrays: `nan`, `inf`, `wrong_rank` (leading axes up to a rank not allowed), `scalar`
  (0-d), `wrong_last_dim` (one more column), `empty` and `length_1` (along `axis`),
  `int` / `complex` / `bool` / `str` dtypes, `none`, `huge` (one entry 1e30);
- scalars: `nan`, `inf`, `zero`, `negative`, `none`, `str`, `list`, `one` (probabilities
  only), `huge` (1e30; not for integers: a huge count would allocate or loop),
  `below` / `above` (just outside `low`/`high`, `minimum`/`maximum`), `float` (2.5 for an
  integer);
- keys: `none`, `int`, `float_array`; choices: `unknown`, `none`, `int`;
  instances and functions: `none`, `str`, `int`; flags: `none`, `str`.

Each mutation knows whether the mutated value is *invalid* for the declared argument
(NaN for a real, 0 for a positive, length 1 for `min_len=2`, ...) or only *unusual* (int
dtype, huge values, length 1 where allowed, a wrong rank where no rank is declared).

**Outcome classes** ([`classify`][]):

- `clear`: a `ValueError`/`TypeError` whose message names the argument in backticks
  (`` `x` ``, `` `x[0]` ``, `` `x.shape` ``) or in quotes, or names one of its `aliases`;
  for an unusual (not invalid) value, also a documented numerical failure
  (`FloatingPointError`, `RuntimeError`, ...) whose message names the argument, e.g. an
  orbit that diverges from a huge initial state;
- `unclear`: any other exception, or a `ValueError`/`TypeError` not naming the argument;
- `silent`: the call returned although the mutated value is invalid; or returned NaN/inf
  (without the entry's documented `nan_warning`); or returned exactly the valid call's
  result for a `choice` mutation (a fallback to a default);
- `accepted`: an unusual (not invalid) value gave a finite result: fine;
- `broken`: the valid call itself failed or returned non-finite numbers (fix the entry).

Entries that write files take their paths from [`scratch_path`][]`(name)`: a path inside the
`tmp_path` given to `run_battery` (pytest's `tmp_path` in the tests), or inside a fresh
temporary directory when none was given (the benchmark script).

[`run_battery`][]`(entries, sample=None, seed=0, tmp_path=None)` runs every (entry,
argument, mutation) case, or a seeded random `sample` of them, and returns a [`BatteryResult`][]:
`outcomes` (a list of [`Outcome`][]) and `counts` (`{package: {class: n}}`, the package
being the second component of the qualified name, `dynsys` for top-level names).
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import random
import re
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Arg",
    "Entry",
    "Mutation",
    "MUTATIONS",
    "Outcome",
    "BatteryResult",
    "array",
    "real",
    "positive",
    "integer",
    "probability",
    "key",
    "choice",
    "instance",
    "function",
    "flag",
    "cases",
    "classify",
    "run_case",
    "run_battery",
    "format_counts",
    "scratch_path",
    "format_failures",
    "CLASSES",
    "FAILURE_CLASSES",
]

CLASSES = ("clear", "accepted", "unclear", "silent", "broken")
FAILURE_CLASSES = ("unclear", "silent", "broken")

HUGE = 1e30


# --------------------------------------------------------------------------------------
# Argument descriptions


@dataclasses.dataclass(frozen=True)
class Arg:
    """What an argument is, so that the battery knows how to break it.

    Build it with the kind constructors ([`array`][], [`positive`][], ...) rather than
    directly.
    """

    name: str
    kind: str
    ndim: tuple[int, ...] | None = None
    min_ndim: int = 0
    fixed_last_dim: bool = False
    axis: int = 0
    min_len: int = 1
    low: float | None = None
    high: float | None = None
    allow_zero: bool = False
    choices: tuple[str, ...] = ()
    none_ok: bool = False
    skip: tuple[str, ...] = ()
    valid: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


def array(
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int = 0,
    fixed_last_dim: bool = False,
    axis: int = 0,
    min_len: int = 1,
    **common: Any,
) -> Arg:
    """An array argument.

    `ndim`: the ranks allowed (None: any rank, then a wrong rank is only unusual);
    `min_ndim`: the lowest rank allowed when `ndim` is None (a 0-d value is then invalid);
    `fixed_last_dim`: the last axis length is fixed (a state dimension), so one more column
    is invalid; `axis`: the axis that `empty`/`length_1` shorten (e.g. 1 for
    `(batch, time, dim)`); `min_len`: the fewest entries along `axis` that are valid.
    """
    nd = None if ndim is None else ((ndim,) if isinstance(ndim, int) else tuple(ndim))
    return Arg(name, "array", ndim=nd, min_ndim=min_ndim, fixed_last_dim=fixed_last_dim,
               axis=axis, min_len=min_len, **common)  # fmt: skip


def real(name: str, *, low: float | None = None, high: float | None = None, **common) -> Arg:
    """A finite real number, optionally within `[low, high]`."""
    return Arg(name, "real", low=low, high=high, **common)


def positive(name: str, *, allow_zero: bool = False, high: float | None = None, **common) -> Arg:
    """A finite number > 0 (>= 0 with `allow_zero`), optionally at most `high`."""
    return Arg(name, "positive", allow_zero=allow_zero, low=0.0, high=high, **common)


def integer(name: str, *, minimum: int = 0, maximum: int | None = None, **common) -> Arg:
    """A Python/numpy integer >= `minimum` (and <= `maximum`); bools and floats are invalid."""
    return Arg(name, "int", low=minimum, high=maximum, **common)


def probability(name: str, *, open_low: bool = False, open_high: bool = False, **common) -> Arg:
    """A number in [0, 1]; `open_low`/`open_high` make 0/1 themselves invalid."""
    skip_valid = tuple(m for m, is_open in (("zero", open_low), ("one", open_high)) if not is_open)
    return Arg(name, "probability", low=0.0, high=1.0,
               valid=tuple(common.pop("valid", ())) + skip_valid, **common)  # fmt: skip


def key(name: str = "key", **common) -> Arg:
    """A JAX PRNG key (raw uint32 `(2,)` or typed)."""
    return Arg(name, "key", **common)


def choice(name: str, options: Sequence[str], **common) -> Arg:
    """One of the strings `options`."""
    return Arg(name, "choice", choices=tuple(options), **common)


def instance(name: str, **common) -> Arg:
    """An object of a library type (a system, a model, a stepper, a dataset)."""
    return Arg(name, "instance", **common)


def function(name: str, **common) -> Arg:
    """A callable."""
    return Arg(name, "function", **common)


def flag(name: str, **common) -> Arg:
    """A bool."""
    return Arg(name, "flag", **common)


# --------------------------------------------------------------------------------------
# Mutations


class _Skip:
    """Marker: this mutation does not apply to this value."""


SKIP = _Skip()


@dataclasses.dataclass(frozen=True)
class Mutation:
    """One way of breaking an argument: `make(value, arg)` and whether that is invalid."""

    name: str
    make: Callable[[Any, Arg], Any]
    invalid: Callable[[Arg], bool]


def _np(value):
    return np.array(value)


def _like(new, old):
    """Give the mutated numeric array the container type of the valid one."""
    if isinstance(old, jax.Array) and isinstance(new, np.ndarray) and new.dtype.kind in "fciub":
        return jnp.asarray(new)
    return new


def _set_first(value, x):
    a = _np(value)
    if a.size == 0:
        return SKIP
    a = a.astype(np.result_type(a.dtype, np.float64)) if a.dtype.kind in "iub" else a.copy()
    a.flat[0] = x
    return _like(a, value)


def _wrong_rank(value, arg):
    a = _np(value)
    target = a.ndim + 1 if arg.ndim is None else max(arg.ndim) + 1
    while a.ndim < target:
        a = a[None]
    return _like(a, value)


def _scalar(value, arg):
    a = _np(value)
    if a.ndim == 0 or a.size == 0:
        return SKIP
    return _like(a.reshape(-1)[0].copy(), value)


def _wrong_last_dim(value, arg):
    a = _np(value)
    if a.ndim == 0:
        return SKIP
    return _like(np.concatenate([a, a[..., :1]], axis=-1), value)


def _shorten(n):
    def make(value, arg):
        a = _np(value)
        if a.ndim <= arg.axis or a.shape[arg.axis] <= n:
            return SKIP
        return _like(np.take(a, np.arange(n), axis=arg.axis), value)

    return make


def _astype(kind):
    def make(value, arg):
        a = _np(value)
        if kind == "int":
            if a.dtype.kind in "iu":
                return SKIP
            return _like(np.rint(a.real * 4).astype(np.int32), value)
        if kind == "complex":
            return _like(a.astype(np.complex128) + 0.5j, value)
        if kind == "bool":
            return _like(a > np.median(a) if a.size else a.astype(bool), value)
        return a.astype(str)

    return make


def _ndim_invalid(arg):
    return arg.ndim is not None


def _array_invalid_len(n):
    return lambda arg: arg.min_len > n


def _const(x):
    return lambda value, arg: x


def _below(value, arg):
    if arg.kind == "int":
        return int(arg.low) - 1 if arg.low is not None else SKIP
    if arg.kind == "positive":
        return SKIP  # covered by `zero` and `negative`
    if arg.low is None:
        return SKIP
    return float(arg.low) - 0.5 * max(1.0, abs(float(arg.low)))


def _above(value, arg):
    if arg.high is None:
        return SKIP
    if arg.kind == "int":
        return int(arg.high) + 1
    return float(arg.high) + 0.5 * max(1.0, abs(float(arg.high)))


def _scalar_number(x):
    """A scalar mutation to `x`, in the valid value's type when it is an int."""

    def make(value, arg):
        if arg.kind == "int":
            if not math.isfinite(x):
                return x  # nan/inf floats for an int: a wrong type
            return int(x)
        return x

    return make


def _huge(value, arg):
    if arg.kind == "int":
        return SKIP  # a huge count allocates or loops for ever before any check could fail
    return HUGE


def _zero_invalid(arg):
    if arg.kind == "positive":
        return not arg.allow_zero
    if arg.kind == "probability":
        return "zero" not in arg.valid
    return _outside(arg, 0.0)


def _outside(arg, x):
    return (arg.low is not None and x < arg.low) or (arg.high is not None and x > arg.high)


def _huge_invalid(arg):
    return arg.high is not None or arg.kind == "probability"


_ALWAYS = lambda arg: True  # noqa: E731
_NEVER = lambda arg: False  # noqa: E731
_NOT_NONE_OK = lambda arg: not arg.none_ok  # noqa: E731

MUTATIONS: dict[str, tuple[Mutation, ...]] = {
    "array": (
        Mutation("nan", lambda v, a: _set_first(v, np.nan), _ALWAYS),
        Mutation("inf", lambda v, a: _set_first(v, np.inf), _ALWAYS),
        Mutation("wrong_rank", _wrong_rank, _ndim_invalid),
        Mutation(
            "scalar", _scalar, lambda a: (a.ndim is not None and 0 not in a.ndim) or a.min_ndim > 0
        ),
        Mutation("wrong_last_dim", _wrong_last_dim, lambda a: a.fixed_last_dim),
        Mutation("empty", _shorten(0), _array_invalid_len(0)),
        Mutation("length_1", _shorten(1), _array_invalid_len(1)),
        Mutation("int", _astype("int"), _NEVER),
        Mutation("complex", _astype("complex"), _ALWAYS),
        Mutation("bool", _astype("bool"), _ALWAYS),
        Mutation("str", _astype("str"), _ALWAYS),
        Mutation("none", _const(None), _NOT_NONE_OK),
        Mutation("huge", lambda v, a: _set_first(v, HUGE), _NEVER),
    ),
    "scalar": (
        Mutation("nan", _scalar_number(math.nan), _ALWAYS),
        Mutation("inf", _scalar_number(math.inf), _ALWAYS),
        Mutation("zero", _scalar_number(0.0), _zero_invalid),
        Mutation("negative", _scalar_number(-1.0), lambda a: _outside(a, -1.0)),
        Mutation("none", _const(None), _NOT_NONE_OK),
        Mutation("str", _const("1"), _ALWAYS),
        Mutation("list", _const([1.0, 2.0]), _ALWAYS),
        Mutation(
            "one",
            lambda v, a: 1.0 if a.kind == "probability" else SKIP,
            lambda a: "one" not in a.valid,
        ),
        Mutation("huge", _huge, _huge_invalid),
        Mutation("below", _below, _ALWAYS),
        Mutation("above", _above, _ALWAYS),
        Mutation("float", lambda v, a: 2.5 if a.kind == "int" else SKIP, _ALWAYS),
    ),
    "key": (
        Mutation("none", _const(None), _NOT_NONE_OK),
        Mutation("int", _const(0), _ALWAYS),
        Mutation("float_array", _const(np.zeros(2)), _ALWAYS),
    ),
    "choice": (
        Mutation("unknown", _const("no-such-option"), _ALWAYS),
        Mutation("none", _const(None), _NOT_NONE_OK),
        Mutation("int", _const(1), _ALWAYS),
    ),
    "instance": (
        Mutation("none", _const(None), _NOT_NONE_OK),
        Mutation("str", _const("not-an-object"), _ALWAYS),
        Mutation("int", _const(3), _ALWAYS),
    ),
    "function": (
        Mutation("none", _const(None), _NOT_NONE_OK),
        Mutation("str", _const("not-a-function"), _ALWAYS),
        Mutation("int", _const(3), _ALWAYS),
    ),
    "flag": (
        Mutation("none", _const(None), _NOT_NONE_OK),
        Mutation("str", _const("yes"), _ALWAYS),
    ),
}
_SCALAR_KINDS = ("real", "positive", "int", "probability")


def mutations_for(arg: Arg) -> tuple[Mutation, ...]:
    """The mutations that apply to `arg` (before its `skip` list)."""
    group = "scalar" if arg.kind in _SCALAR_KINDS else arg.kind
    return tuple(m for m in MUTATIONS[group] if m.name not in arg.skip)


# --------------------------------------------------------------------------------------
# Entries and outcomes


@dataclasses.dataclass(frozen=True)
class Entry:
    """One public name and a valid call of it; see the module docstring."""

    name: str
    func: Callable[..., Any] | None = None
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    specs: tuple[Arg, ...] = ()
    positional: tuple[str, ...] = ()
    factory: Callable[[], tuple[Callable[..., Any], Mapping[str, Any]]] | None = None
    post: Callable[[Any], Any] | None = None
    nan_warning: str | None = None

    @property
    def package(self) -> str:
        """`metrics` for `dynsys.metrics.ssim`; `dynsys` for top-level names."""
        parts = self.name.split(".")
        return parts[1] if len(parts) > 2 else parts[0]

    def setup(self) -> tuple[Callable[..., Any], dict[str, Any]]:
        """The callable and the valid keyword arguments."""
        if self.factory is not None:
            func, kwargs = self.factory()
            return func, dict(kwargs)
        assert self.func is not None, f"{self.name}: give `func` or `factory`"
        return self.func, dict(self.kwargs)

    def call(self, func, kwargs: Mapping[str, Any]):
        """Call `func` with `kwargs`, the `positional` names passed positionally."""
        args = [kwargs[n] for n in self.positional]
        rest = {k: v for k, v in kwargs.items() if k not in self.positional}
        result = func(*args, **rest)
        return self.post(result) if self.post is not None else result


class Outcome(NamedTuple):
    """The result of one case: which entry, argument and mutation, its class and message."""

    entry: str
    argument: str
    mutation: str
    cls: str
    message: str

    @property
    def package(self) -> str:
        parts = self.entry.split(".")
        return parts[1] if len(parts) > 2 else parts[0]


class BatteryResult(NamedTuple):
    """`outcomes` (one [`Outcome`][] per case) and `counts` (`{package: {class: n}}`)."""

    outcomes: list[Outcome]
    counts: dict[str, dict[str, int]]

    def failures(self) -> list[Outcome]:
        """The unclear, silent and broken outcomes."""
        return [o for o in self.outcomes if o.cls in FAILURE_CLASSES]


def _leaves(result):
    try:
        return jax.tree_util.tree_leaves(result)
    except Exception:  # noqa: BLE001 - an object jax cannot flatten: judge it whole
        return [result]


def _numeric_leaves(result):
    out = []
    for leaf in _leaves(result):
        if isinstance(leaf, bool):
            continue
        if isinstance(leaf, (int, float, complex, np.number)):
            out.append(np.asarray(leaf))
        elif isinstance(leaf, (np.ndarray, jax.Array)):
            if isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
                continue
            arr = np.asarray(leaf)
            if arr.dtype.kind in "fciu":
                out.append(arr)
    return out


def _nonfinite(result) -> bool:
    return any(a.dtype.kind in "fc" and not np.all(np.isfinite(a)) for a in _numeric_leaves(result))


def _same(a, b) -> bool:
    la, lb = _numeric_leaves(a), _numeric_leaves(b)
    if len(la) != len(lb) or not la:
        return False
    return all(x.shape == y.shape and np.array_equal(x, y, equal_nan=True) for x, y in zip(la, lb))


# A valid but extreme value (1e30, an integer dtype) may make a computation fail: a
# documented numerical failure that names the argument is a clear outcome for those.
_NUMERICAL = (ArithmeticError, RuntimeError)


def names_argument(message: str, arg: Arg) -> bool:
    """True when `message` names `arg` (or an alias) in backticks or quotes."""
    for name in (arg.name, *arg.aliases):
        pat = rf"[`'\"]{re.escape(name)}(?![\w])"
        if re.search(pat, message):
            return True
    return False


def classify(
    entry: Entry,
    arg: Arg,
    mutation: Mutation,
    *,
    error: BaseException | None,
    result: Any = None,
    valid_result: Any = None,
    warned: Sequence[str] = (),
) -> tuple[str, str]:
    """The class (`clear`/`unclear`/`silent`/`accepted`) and a message for one case."""
    invalid = mutation.invalid(arg) and mutation.name not in arg.valid
    if error is not None:
        msg = f"{type(error).__name__}: {error}".strip()
        kinds = (ValueError, TypeError) if invalid else (ValueError, TypeError, *_NUMERICAL)
        if isinstance(error, kinds) and names_argument(str(error), arg):
            return "clear", msg
        return "unclear", msg
    if invalid:
        return "silent", "returned although the value is invalid for this argument"
    if _nonfinite(result):
        if entry.nan_warning is not None and any(re.search(entry.nan_warning, w) for w in warned):
            return "accepted", "non-finite result with its documented warning"
        return "silent", "returned NaN or inf"
    if arg.kind == "choice" and _same(result, valid_result):
        return "silent", "returned the valid call's result: the change was ignored"
    return "accepted", ""


def cases(entries: Sequence[Entry]) -> list[tuple[Entry, Arg, Mutation]]:
    """Every (entry, argument, mutation) triple of `entries`, in a stable order."""
    out = []
    for entry in entries:
        for arg in entry.specs:
            for mutation in mutations_for(arg):
                out.append((entry, arg, mutation))
    return out


def _call_capturing(entry, func, kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = entry.call(func, kwargs)
            error = None
        except Exception as err:  # noqa: BLE001 - every exception is an outcome here
            result, error = None, err
    return result, error, [str(w.message) for w in caught]


def run_case(entry: Entry, arg: Arg, mutation: Mutation, setup, valid_result) -> Outcome | None:
    """Run one mutated call; None if the mutation does not apply to this value."""
    func, kwargs = setup
    if arg.name not in kwargs:
        raise KeyError(f"{entry.name}: argument {arg.name!r} is not in the valid call's kwargs")
    new = mutation.make(kwargs[arg.name], arg)
    if new is SKIP:
        return None
    mutated = {**kwargs, arg.name: new}
    result, error, warned = _call_capturing(entry, func, mutated)
    cls, msg = classify(entry, arg, mutation, error=error, result=result,
                        valid_result=valid_result, warned=warned)  # fmt: skip
    return Outcome(entry.name, arg.name, mutation.name, cls, msg[:500])


_SCRATCH: list[pathlib.Path] = []


def scratch_path(name: str) -> pathlib.Path:
    """A path `name` inside the battery's scratch directory (see the module docstring)."""
    if not _SCRATCH:
        _SCRATCH.append(pathlib.Path(tempfile.mkdtemp(prefix="dynsys-battery-")))
    path = _SCRATCH[-1] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def run_battery(
    entries: Sequence[Entry],
    sample: int | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    tmp_path: str | os.PathLike | None = None,
    max_entries: int | None = None,
) -> BatteryResult:
    """Run the battery over `entries`: every case, or a seeded random `sample` of them.

    Each entry's valid call runs first (once); if it fails or returns non-finite numbers the
    entry's cases are not run and one `broken` outcome is recorded instead. `progress` is
    called with each entry's name before its first case; files go under `tmp_path`.
    `max_entries` first draws that many entries (seeded), then `sample` cases among them:
    the cost of a sample is mostly one compilation per entry.
    """
    if max_entries is not None and max_entries < len(entries):
        picked = set(random.Random(seed).sample(range(len(entries)), max_entries))
        entries = [e for i, e in enumerate(entries) if i in picked]
    if tmp_path is not None:
        _SCRATCH.append(pathlib.Path(tmp_path))
    try:
        return _run_battery(entries, sample, seed, progress)
    finally:
        if tmp_path is not None:
            _SCRATCH.pop()


def _run_battery(entries, sample, seed, progress) -> BatteryResult:
    todo = cases(entries)
    if sample is not None and sample < len(todo):
        todo = random.Random(seed).sample(todo, sample)
        order = {id(e): i for i, e in enumerate(entries)}
        todo.sort(key=lambda c: order[id(c[0])])
    outcomes: list[Outcome] = []
    setups: dict[int, Any] = {}
    for entry, arg, mutation in todo:
        if id(entry) not in setups:
            if progress is not None:
                progress(entry.name)
            try:
                setup = entry.setup()
                result, error, _ = _call_capturing(entry, *setup)
            except Exception as err:  # noqa: BLE001
                setup, result, error = None, None, err
            if error is not None or _nonfinite(result):
                why = f"{type(error).__name__}: {error}" if error else "non-finite result"
                outcomes.append(Outcome(entry.name, "", "valid call", "broken", why[:500]))
                setups[id(entry)] = None
            else:
                setups[id(entry)] = (setup, result)
        if setups[id(entry)] is None:
            continue
        setup, valid_result = setups[id(entry)]
        outcome = run_case(entry, arg, mutation, setup, valid_result)
        if outcome is not None:
            outcomes.append(outcome)
    counts: dict[str, Counter] = {}
    for o in outcomes:
        counts.setdefault(o.package, Counter())[o.cls] += 1
    return BatteryResult(outcomes, {p: dict(c) for p, c in sorted(counts.items())})


def format_counts(counts: Mapping[str, Mapping[str, int]]) -> str:
    """A plain-text table: one row per package, one column per class, and a total row."""
    head = f"{'package':<14}" + "".join(f"{c:>10}" for c in CLASSES)
    rows = [head, "-" * len(head)]
    total: Counter = Counter()
    for pkg, c in counts.items():
        rows.append(f"{pkg:<14}" + "".join(f"{c.get(k, 0):>10}" for k in CLASSES))
        total.update(c)
    rows.append("-" * len(head))
    rows.append(f"{'total':<14}" + "".join(f"{total.get(k, 0):>10}" for k in CLASSES))
    return "\n".join(rows)


def format_failures(outcomes: Sequence[Outcome]) -> str:
    """One line per unclear/silent/broken outcome."""
    lines = [
        f"{o.cls:<8} {o.entry}({o.argument}) <- {o.mutation}: {o.message.splitlines()[0][:200]}"
        if o.message
        else f"{o.cls:<8} {o.entry}({o.argument}) <- {o.mutation}"
        for o in outcomes
        if o.cls in FAILURE_CLASSES
    ]
    return "\n".join(lines)
