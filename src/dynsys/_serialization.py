"""One container format for everything dynsys saves: `save(path, obj)` and `load(path)`.

A file holds one object (a model, a fitted result, a container of models) as:

1. the magic line `b"DYNSYS-CONTAINER\\n"`;
2. the header length n, 8 bytes, little-endian unsigned;
3. the header, n bytes of UTF-8 JSON: `format_version`, `class` (the public name, e.g.
   `"dynsys.dsr.ALRNN"`), `hyperparameters` (what rebuilds a like-shaped object), `dtype` (of
   the float leaves), `dynsys_version`, the user's `metadata`, `payload_length` and
   `payload_sha256`;
4. the payload: the array leaves as `.npy` records, written by `eqx.tree_serialise_leaves`
   in `jax.tree_util` order.

Loading never unpickles and never runs code named by the file: the class is looked up
among the classes registered with [`register_loadable`][] (a `dynsys.<family>` package named
by the header may be imported so that it registers its classes), a like-shaped object is
built from the hyper-parameters by the registered template, and the leaves are read into it
as plain `.npy` records, each checked against the template before it is read (an object
dtype, i.e. a pickle, is refused).
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import pathlib
import pkgutil
import struct
import sys
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np

FORMAT_VERSION: int = 1
MAGIC = b"DYNSYS-CONTAINER\n"
_LENGTH = struct.Struct("<Q")
_MAX_HEADER_BYTES = 1 << 26  # a header is a few kB; a larger length is a corrupt prefix
# Python scalars are leaves too (e.g. a step-size controller's tolerances).
_SCALARS = (bool, int, float, complex)
_ARRAYS = (jax.Array, jax.ShapeDtypeStruct, np.ndarray, np.generic)


class _Entry(NamedTuple):
    cls: type
    hyperparameters: Callable[[Any], dict]
    template: Callable[[dict], Any]


_BY_NAME: dict[str, _Entry] = {}
_NAME_OF: dict[type, str] = {}


def _class_name(cls: type) -> str:
    """The public name of `cls`: `dynsys.dsr._alrnn.ALRNN` -> `dynsys.dsr.ALRNN`."""
    if "<locals>" in cls.__qualname__:
        raise ValueError(
            f"`cls`: {cls.__qualname__} is defined inside a function; only classes defined at "
            "the top of a module can be registered (load finds them by name)."
        )
    parts = cls.__module__.split(".")
    if parts[0] == "dynsys":
        public = []
        for part in parts:
            if part.startswith("_"):
                break
            public.append(part)
        parts = public
    return ".".join([*parts, cls.__qualname__])


def register_loadable(
    cls: type, *, hyperparameters: Callable[[Any], dict], template: Callable[[dict], Any]
) -> None:
    """Make instances of `cls` savable with [`dynsys.save`][] and loadable with [`dynsys.load`][].

    A family module calls this once, below the class, at import. The file then records
    `hyperparameters(obj)`; loading calls `template(hyperparameters)` for an object of the
    same pytree structure, shapes and static fields, and overwrites its leaves with the
    saved ones. `save` checks that the template rebuilds the saved object's structure, so a
    forgotten constructor argument fails at saving, not at loading.

    **Arguments:**

    - `cls`: the class (exact type; subclasses register on their own).
    - `hyperparameters`: `obj -> dict` of JSON values (str, int, float, bool, None, lists,
      dicts) that rebuild a like-shaped object. A key `"dtype"` holding a dtype name is
      mapped to what JAX holds now before `template` sees it (`"float64"` becomes
      `"float32"` when `jax_enable_x64` is off). Nested parts are stored as
      [`describe`][dynsys._serialization.describe]`(part)`.
    - `template`: `dict -> obj`, building a like-shaped object from those hyper-parameters,
      e.g. with a fixed key `jax.random.key(0)` (the values are overwritten); nested parts
      come from [`template_from`][dynsys._serialization.template_from].

    ```python
    register_loadable(
        ALRNN,
        hyperparameters=lambda m: {"latent_dim": m.latent_dim, "pwl_units": m.pwl_units,
                                   "obs_dim": m.obs_dim, "dtype": m.dtype.name},
        template=lambda hp: ALRNN(hp["latent_dim"], hp["pwl_units"], hp["obs_dim"],
                                  dtype=hp["dtype"], key=jax.random.key(0)),
    )
    ```
    """
    if not isinstance(cls, type):
        raise TypeError(f"`cls` must be a class, got {type(cls).__name__}.")
    for arg, fn in (("hyperparameters", hyperparameters), ("template", template)):
        if not callable(fn):
            raise TypeError(f"`{arg}` must be callable, got {type(fn).__name__}.")
    name = _class_name(cls)
    previous = _BY_NAME.get(name)
    if previous is not None:  # a reloaded module registers its new class object again
        _NAME_OF.pop(previous.cls, None)
    _BY_NAME[name] = _Entry(cls, hyperparameters, template)
    _NAME_OF[cls] = name


def _json_value(value: Any, what: str) -> Any:
    """`value` as it reads back from JSON (tuples become lists), or an error naming `what`."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{what} must be JSON values (str, int, float, bool, None, lists, dicts with str "
            f"keys; no NaN or inf): {err}"
        ) from err


def describe(obj: Any) -> dict:
    """The class name and hyper-parameters of a registered object: what rebuilds its shape.

    Containers store `describe(part)` for each part in their own hyper-parameters and build
    the part back with [`template_from`][dynsys._serialization.template_from].

    **Arguments:** `obj`, an instance of a class registered with [`register_loadable`][].

    **Returns:** `{"class": "dynsys.dsr.ALRNN", "hyperparameters": {...}}`, JSON values only.

    ```python
    describe(ALRNN(4, 1, 2, key=jax.random.key(0)))
    # {"class": "dynsys.dsr.ALRNN", "hyperparameters": {"latent_dim": 4, ...}}
    ```
    """
    name = _NAME_OF.get(type(obj))
    if name is None:
        raise TypeError(
            f"`obj` of type {type(obj).__module__}.{type(obj).__qualname__} cannot be saved: "
            "its class is not registered with register_loadable. Registered: "
            f"{sorted(_BY_NAME)}."
        )
    hyperparameters = _BY_NAME[name].hyperparameters(obj)
    if not isinstance(hyperparameters, dict):
        raise TypeError(
            f"The hyperparameters function of {name} must return a dict, "
            f"got {type(hyperparameters).__name__}."
        )
    return {
        "class": name,
        "hyperparameters": _json_value(hyperparameters, f"The hyper-parameters of {name}"),
    }


def _family_module(name: str) -> str | None:
    """The `dynsys.<family>` package that registers `name`, if it names a real one."""
    parts = name.split(".")
    if len(parts) < 3 or parts[0] != "dynsys":
        return None
    here = pathlib.Path(__file__).resolve().parent
    families = {m.name for m in pkgutil.iter_modules([str(here)]) if m.ispkg}
    family = parts[1]
    if family.startswith("_") or family not in families:
        return None
    return f"dynsys.{family}"


def _entry(name: str) -> _Entry:
    entry = _BY_NAME.get(name)
    if entry is None:
        family = _family_module(name)
        if family is not None:
            importlib.import_module(family)
            entry = _BY_NAME.get(name)
    if entry is None:
        raise ValueError(
            f"foreign class {name!r}: not a class this dynsys can rebuild (none of that name "
            "is registered with register_loadable; import the module that registers it "
            f"first). Registered: {sorted(_BY_NAME)}."
        )
    return entry


def _dtype_now(name: Any) -> str:
    """The dtype JAX holds now for the dtype named `name` (float64 -> float32 without x64)."""
    try:
        dtype = np.dtype(name)
    except TypeError as err:
        raise ValueError(f"`dtype` {name!r} is not a dtype name.") from err
    return np.dtype(jax.dtypes.canonicalize_dtype(dtype)).name


def template_from(description: dict) -> Any:
    """Build a like-shaped object from [`describe`][dynsys._serialization.describe]'s output.

    The values of its leaves are those of the registered template (e.g. a fresh
    initialisation with a fixed key); their structure, shapes and static fields are the
    described object's.

    **Arguments:** `description`: `{"class": ..., "hyperparameters": {...}}`.

    **Returns:** an instance of the described class.

    ```python
    like = template_from(describe(model))   # same structure and shapes as `model`
    ```
    """
    if (
        not isinstance(description, dict)
        or not isinstance(description.get("class"), str)
        or not isinstance(description.get("hyperparameters"), dict)
    ):
        raise ValueError(
            "`description` must be a dict {'class': str, 'hyperparameters': dict}, "
            f"got {description!r}."
        )
    name = description["class"]
    entry = _entry(name)
    hyperparameters = dict(description["hyperparameters"])
    if isinstance(hyperparameters.get("dtype"), str):
        hyperparameters["dtype"] = _dtype_now(hyperparameters["dtype"])
    try:
        obj = entry.template(hyperparameters)
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(
            f"The hyper-parameters {hyperparameters} do not build a {name}: {err}"
        ) from err
    if type(obj) is not entry.cls:
        raise TypeError(
            f"The template registered for {name} returned a {type(obj).__qualname__}, "
            f"not a {entry.cls.__qualname__}."
        )
    return obj


# ---- leaves --------------------------------------------------------------------------


def _is_array(x: Any) -> bool:
    return isinstance(x, _ARRAYS)


def _write_leaf(f: Any, x: Any) -> None:
    """The `filter_spec` of `eqx.tree_serialise_leaves`: arrays and scalars, never pickled."""
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        raise TypeError(
            "A PRNG key leaf cannot be saved; store `jax.random.key_data(key)` instead."
        )
    if isinstance(x, jax.ShapeDtypeStruct):
        raise TypeError("A shape-only leaf (jax.ShapeDtypeStruct) has no values to save.")
    if isinstance(x, _ARRAYS + _SCALARS):
        np.lib.format.write_array(f, np.asarray(x), allow_pickle=False)


def _kind(x: Any) -> str:
    return np.dtype(type(x)).kind if isinstance(x, _SCALARS) else np.dtype(x.dtype).kind


class _Mismatch(Exception):
    """The payload does not fit the template (raised inside the leaf reader)."""


def _read_npy(f: io.BytesIO, shape: tuple, kind: str, where: str) -> np.ndarray:
    """One `.npy` record, checked against the expected shape and dtype kind before reading.

    Parsed here rather than by `np.load`: the header is checked before any allocation, and
    an object dtype (whose data would be a pickle) is refused outright.
    """
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            stored_shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            stored_shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, EOFError, OSError) as err:
        raise _Mismatch(f"the leaf at {where} cannot be read: {err}") from err
    if dtype.hasobject:
        raise _Mismatch(
            f"the leaf at {where} holds Python objects (a pickle); dynsys never unpickles"
        )
    if tuple(stored_shape) != shape or dtype.kind != kind:
        raise _Mismatch(
            f"the leaf at {where} is {dtype}{list(stored_shape)} on disk, but the "
            f"hyper-parameters describe a {kind!r}-kind{list(shape)} leaf"
        )
    n_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    data = f.read(n_bytes)
    if len(data) < n_bytes:
        raise _Mismatch(f"the payload ends inside the leaf at {where}")
    order = "F" if fortran else "C"
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy(order="K")


def _read_leaf(f: io.BytesIO, like: Any, where: str) -> Any:
    if isinstance(like, _SCALARS):
        return type(like)(_read_npy(f, (), _kind(like), where).item())
    if not _is_array(like):
        return like  # functions and other non-array leaves come from the template
    arr = _read_npy(f, tuple(like.shape), _kind(like), where)
    if isinstance(like, np.ndarray):
        return arr
    if isinstance(like, np.generic):
        return arr[()]
    # A deliberate cast to what JAX holds now (float64 -> float32 when x64 is off), rather
    # than leaving it to `jnp.asarray`.
    return jnp.asarray(arr.astype(jax.dtypes.canonicalize_dtype(arr.dtype), copy=False))


def _read_leaves(payload: bytes, like: Any) -> Any:
    # Same order as `eqx.tree_serialise_leaves` (depth-first, left to right). Not
    # `eqx.tree_deserialise_leaves`: its check that each dtype equals the template's would
    # refuse a float32 file under x64, whose templates default to float64.
    paths_and_leaves, treedef = jtu.tree_flatten_with_path(like)
    f = io.BytesIO(payload)
    leaves = [
        _read_leaf(f, leaf, jtu.keystr(path) or "the root") for path, leaf in paths_and_leaves
    ]
    if f.tell() != len(payload):
        raise _Mismatch(f"{len(payload) - f.tell()} bytes are left over after the last leaf")
    return jtu.tree_unflatten(treedef, leaves)


def _check_rebuilds(obj: Any, description: dict) -> None:
    """Raise unless the registered template rebuilds `obj`'s structure from its description."""
    name = description["class"]
    like = template_from(description)
    obj_leaves, obj_def = jtu.tree_flatten_with_path(obj)
    like_leaves, like_def = jtu.tree_flatten(like)
    problem = None
    try:
        same_structure = obj_def == like_def
    except Exception:  # static fields that cannot be compared (e.g. arrays)
        same_structure = False
    if not same_structure:
        problem = "its pytree structure or static fields differ"
    else:
        for (path, a), b in zip(obj_leaves, like_leaves):
            if _is_array(a) or isinstance(a, _SCALARS):
                if type(a) is not type(b) and not (
                    isinstance(a, jax.Array) and isinstance(b, jax.Array)
                ):
                    problem = f"the leaf at {jtu.keystr(path)} is a {type(b).__name__}"
                elif getattr(a, "shape", ()) != getattr(b, "shape", ()) or _kind(a) != _kind(b):
                    problem = f"the leaf at {jtu.keystr(path)} has another shape or kind"
            elif a is not b:  # not saved, so it must come back from the template as it is
                problem = f"the leaf at {jtu.keystr(path)} is {b!r}, not {a!r}"
            if problem:
                break
    if problem:
        raise ValueError(
            f"Cannot save this {name}: the object rebuilt from its hyper-parameters "
            f"{description['hyperparameters']} does not match it ({problem}); the registered "
            "`hyperparameters` miss something the constructor needs."
        )


# ---- files ---------------------------------------------------------------------------


def _as_path(path: Any) -> pathlib.Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}.")
    return pathlib.Path(path)


def _float_dtype(obj: Any) -> Any:
    names = sorted(
        {
            np.dtype(leaf.dtype).name
            for leaf in jtu.tree_leaves(obj)
            if _is_array(leaf) and np.dtype(leaf.dtype).kind == "f"
        }
    )
    return names[0] if len(names) == 1 else (names or None)


def _write_atomically(path: pathlib.Path, data: bytes) -> None:
    """Write to a new file beside `path`, then rename it over `path` (all or nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save(path: str | os.PathLike, obj: Any, *, metadata: dict | None = None) -> pathlib.Path:
    """Save a model or result to one file, loadable with [`dynsys.load`][] (no pickle).

    The file holds a JSON header (format version, class, hyper-parameters, dtype, dynsys
    version, `metadata`, checksum) and the leaves, bit for bit. It is written to a temporary
    file in the same folder and then renamed over `path`, so a failed save leaves an
    existing file untouched. Missing parent folders are created.

    **Arguments:**

    - `path`: the file to write (suffix `.eqx` recommended; none is added). An existing
      file is replaced; a folder is refused.
    - `obj`: an instance of a registered class: every trained model of every family (the
      `dynsys.dsr` RNNs and `Reconstruction`, the `dynsys.nde` models, Φ-ROM and DINo, the
      latent and world models, StNN) and koopman's fitted results.
    - `metadata`: a JSON dict stored in the header (e.g. the training data's name).

    **Returns:** the path written, as a `pathlib.Path`.

    ```python
    import jax, dynsys
    model = dynsys.ALRNN(20, 2, 3, key=jax.random.key(0))
    dynsys.save("alrnn.eqx", model, metadata={"data": "lorenz63"})
    same = dynsys.load("alrnn.eqx")
    ```
    """
    path = _as_path(path)
    if path.is_dir():
        raise ValueError(f"`path` {str(path)!r} is a folder; give the path of a file.")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise TypeError(f"`metadata` must be a dict or None, got {type(metadata).__name__}.")
    metadata = _json_value(metadata, "`metadata`")
    description = describe(obj)
    _check_rebuilds(obj, description)
    buffer = io.BytesIO()
    try:
        eqx.tree_serialise_leaves(buffer, obj, filter_spec=_write_leaf)
    except RuntimeError as err:  # equinox's TreePathError names the leaf; the cause says why
        raise TypeError(f"Cannot save this {description['class']}: {err}: {err.__cause__}") from err
    payload = buffer.getvalue()
    header = {
        "format_version": FORMAT_VERSION,
        "class": description["class"],
        "hyperparameters": description["hyperparameters"],
        "dtype": _float_dtype(obj),
        "dynsys_version": getattr(sys.modules.get("dynsys"), "__version__", None),
        "metadata": metadata,
        "payload_length": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    header_bytes = json.dumps(header, allow_nan=False).encode("utf-8")
    _write_atomically(path, MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes + payload)
    return path


def _not_dynsys(where: str, start: bytes) -> ValueError:
    hints = {
        b"PK\x03\x04": " (it is a zip archive, e.g. an .npz file)",
        b"\x93NUMPY": " (it is a .npy array)",
        b"\x80": " (it looks like a pickle; dynsys never unpickles)",
    }
    hint = next((h for magic, h in hints.items() if start.startswith(magic)), "")
    return ValueError(
        f"{where} is not a dynsys file{hint}: it does not start with {MAGIC!r}. "
        "Files written by dynsys.save do."
    )


def _read_header(f: Any, where: str) -> dict:
    start = f.read(len(MAGIC))
    if start != MAGIC:
        if start and MAGIC.startswith(start):
            raise ValueError(f"{where} is truncated: it ends inside the dynsys magic line.")
        raise _not_dynsys(where, start)
    length_bytes = f.read(_LENGTH.size)
    if len(length_bytes) < _LENGTH.size:
        raise ValueError(f"{where} is truncated: it ends before the header length.")
    (length,) = _LENGTH.unpack(length_bytes)
    if length > _MAX_HEADER_BYTES:
        raise ValueError(f"{where} is corrupt: its header length {length} is not sensible.")
    header_bytes = f.read(length)
    if len(header_bytes) < length:
        raise ValueError(
            f"{where} is truncated: it ends inside the header ({len(header_bytes)} of "
            f"{length} bytes)."
        )
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{where}: unreadable header (not UTF-8 JSON): {err}") from err
    if not isinstance(header, dict):
        raise ValueError(f"{where}: unreadable header (a JSON {type(header).__name__}, no dict).")
    return header


def _open(path: pathlib.Path):
    if path.is_dir():
        raise ValueError(f"`path` {str(path)!r} is a folder, not a dynsys file.")
    if not path.exists():
        raise FileNotFoundError(f"`path`: no file at {str(path)!r}.")
    return open(path, "rb")


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a file written by [`dynsys.save`][], without reading the leaves.

    The format version is not checked, so that a tool can report which dynsys wrote a file
    it cannot load.

    **Arguments:** `path`: the file.

    **Returns:** the header dict (`format_version`, `class`, `hyperparameters`, `dtype`,
    `dynsys_version`, `metadata`, `payload_length`, `payload_sha256`).

    ```python
    read_header("alrnn.eqx")["metadata"]     # {"data": "lorenz63"}
    ```
    """
    path = _as_path(path)
    with _open(path) as f:
        return _read_header(f, repr(str(path)))


def _check_header(header: dict, where: str) -> None:
    version = header.get("format_version")
    if type(version) is not int or version < 1:
        raise ValueError(f"{where}: unreadable header (format_version {version!r}).")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{where} was saved by a newer dynsys (format {version} > {FORMAT_VERSION}); "
            "upgrade dynsys to load it."
        )
    expected = {
        "class": str,
        "hyperparameters": dict,
        "metadata": dict,
        "payload_length": int,
        "payload_sha256": str,
    }
    wrong = [k for k, kind in expected.items() if not isinstance(header.get(k), kind)]
    if wrong:
        raise ValueError(f"{where}: unreadable header (missing or malformed {wrong}).")


def load(path: str | os.PathLike) -> Any:
    """Load what [`dynsys.save`][] wrote: the same object, leaves bit for bit.

    Nothing in the file is executed or unpickled: the class is one registered with dynsys
    (its `dynsys.<family>` package is imported if needed), rebuilt from the saved
    hyper-parameters, and the leaves are read as plain `.npy` arrays. Leaves keep their
    saved dtype, except that with `jax_enable_x64` off float64 leaves load as float32 (and
    int64 as int32), by a deliberate cast.

    **Arguments:** `path`: a file written by `dynsys.save`.

    **Returns:** the saved object.

    Raises `ValueError` naming the file when it is not a dynsys file, truncated, corrupt
    (checksum mismatch), of a class dynsys does not know ("foreign"), or written by a newer
    dynsys; `FileNotFoundError` when there is no file.

    ```python
    import dynsys
    model = dynsys.load("alrnn.eqx")
    xs = model.generate(x0, 1000)
    ```
    """
    path = _as_path(path)
    where = repr(str(path))
    with _open(path) as f:
        header = _read_header(f, where)
        _check_header(header, where)
        payload = f.read()
    expected = header["payload_length"]
    if len(payload) < expected:
        raise ValueError(
            f"{where} is truncated: {len(payload)} of {expected} payload bytes are present."
        )
    if len(payload) > expected or hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
        raise ValueError(f"{where} is corrupt: the payload does not match its sha256 checksum.")
    try:
        like = template_from(
            {"class": header["class"], "hyperparameters": header["hyperparameters"]}
        )
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {err}") from err
    try:
        return _read_leaves(payload, like)
    except _Mismatch as err:
        raise ValueError(
            f"{where}: the saved leaves do not fit the {header['class']} described by its "
            f"hyper-parameters: {err}."
        ) from err
