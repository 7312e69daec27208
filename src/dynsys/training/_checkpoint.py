"""Checkpoints: model, optimiser and training state on disk, restored bit for bit.

A checkpoint is a folder holding one `eqx.tree_serialise_leaves` file per pytree
(`model.eqx`, `opt_state.eqx`, `train_state.eqx`, ...), the run's arrays (key, history) in
`arrays.npz`, and `meta.json` with the step, metadata, the format version and the SHA-256 of
every other file (and of its own content), checked on load. It is written to a temporary
folder `NAME.tmp-PID` first and then swapped in (the previous one moved to `NAME.old-PID`
meanwhile), so a save killed at any point leaves a complete checkpoint that
`resolve_checkpoint` finds again. A path that holds anything other than a dynsys checkpoint
is never replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shutil
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import numpy as np

from .._validation import check_int, check_key

VERSION = 2
FORMAT = f"dynsys.training.checkpoint/{VERSION}"
_FORMAT_RE = re.compile(r"dynsys\.training\.checkpoint/(\d+)")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_PARTS = ("model", "opt_state", "train_state")


class Checkpoint(eqx.Module):
    """What [`dynsys.training.load_checkpoint`][] returns.

    **Fields:**

    - `model`, `opt_state`, `train_state`: the restored pytrees (None for parts not saved or
      not asked for).
    - `step`: number of updates done when the checkpoint was written.
    - `key`: the run's base PRNG key (None if not saved).
    - `history`: dict of per-step numpy arrays (`"step"`, `"loss"`, metrics), maybe empty.
    - `eval_history`: dict of per-evaluation numpy arrays (`"step"`, eval metrics), maybe empty.
    - `metadata`: the JSON-compatible dict given to `save_checkpoint`.
    """

    model: Any
    opt_state: Any
    train_state: Any
    step: int
    key: Any
    history: dict
    eval_history: dict
    metadata: dict


class Checkpointing(eqx.Module):
    """Checkpoint policy of [`dynsys.training.fit`][]: where and how often to save, and
    whether to resume.

    **Fields:**

    - `directory`: folder for checkpoints: `last` (every `every` steps and at the end) and,
      when the run selects its best evaluation, `best`. Read them with
      [`dynsys.training.load_checkpoint`][].
    - `every`: interval in steps; None: only at the end.
    - `resume`: continue from `directory/last` if it exists (else start afresh). The
      continuation is bit for bit the uninterrupted run, given the same arguments. A save
      that was interrupted is completed (or undone) first; a damaged checkpoint is an error,
      never a silent restart from step 0.

    ```python
    checkpoint = training.Checkpointing(tmp_dir, every=500, resume=True)
    ```
    """

    directory: pathlib.Path = eqx.field(static=True, converter=lambda d: _as_path(d, "directory"))
    every: int | None = eqx.field(static=True, default=None)
    resume: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        if self.every is not None:
            check_int(self.every, "every", minimum=1)
        if not isinstance(self.resume, bool):
            raise TypeError(f"`resume` must be True or False, got {self.resume!r}.")


def _key_arrays(key: Any) -> tuple[dict, dict]:
    if key is None:
        return {}, {"key": None}
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        data = np.asarray(jax.random.key_data(key))
        return {"key": data}, {"key": {"typed": True, "impl": str(jax.random.key_impl(key))}}
    return {"key": np.asarray(key)}, {"key": {"typed": False, "impl": None}}


def _restore_key(arrays: Mapping, info: Any) -> Any:
    if info is None:
        return None
    data = np.asarray(arrays["key"])
    if info["typed"]:
        return jax.random.wrap_key_data(data, impl=info["impl"])
    return jax.numpy.asarray(data)


def _as_path(path: Any, name: str) -> pathlib.Path:
    """`path` as a `pathlib.Path`; a `TypeError` naming `name` for anything else."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"`{name}` must be a path (str or os.PathLike), got {path!r}.")
    return pathlib.Path(path)


# -- integrity: checksums and meta.json ------------------------------------------------------


def _sha256(file: pathlib.Path) -> str:
    with open(file, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _meta_digest(meta: Mapping) -> str:
    """SHA-256 of meta.json's content (without this digest), independent of its layout."""
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    canonical = json.dumps(json.loads(json.dumps(body)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _where(path: pathlib.Path) -> str:
    return f"the checkpoint at {str(path)!r}"


def _format_version(meta: Any) -> int | None:
    """The format version of a parsed meta.json, or None if it is not a dynsys checkpoint's."""
    fmt = meta.get("format") if isinstance(meta, dict) else None
    match = _FORMAT_RE.fullmatch(fmt) if isinstance(fmt, str) else None
    return None if match is None else int(match.group(1))


def _load_meta(path: pathlib.Path) -> dict:
    """Parse and validate `path/meta.json` (FileNotFoundError if absent, else ValueError)."""
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"`path`: no checkpoint at {str(path)!r} (missing meta.json).")
    where = f"`path`: {_where(path)}"
    try:
        meta = json.loads(meta_file.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{where} is damaged: `meta.json` is not valid JSON ({err}).") from err
    version = _format_version(meta)
    if version is None or version < 1:
        found = meta.get("format") if isinstance(meta, dict) else meta
        raise ValueError(
            f"{where} is not a dynsys training checkpoint: `meta.json` names format "
            f"{found!r}, expected {FORMAT!r}."
        )
    if version > VERSION:
        raise ValueError(
            f"{where} was written by a newer dynsys (format {meta['format']!r}; this dynsys "
            f"reads up to {FORMAT!r}); upgrade dynsys to load it."
        )
    _check_meta(meta, version, f"{where} is damaged: `meta.json`")
    return meta


def _check_meta(meta: dict, version: int, where: str) -> None:
    """Raise a ValueError naming the first malformed field of a parsed meta.json."""
    try:
        check_int(meta.get("step"), "step", minimum=0)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {err}") from None

    def names(field: str, test) -> list:
        value = meta.get(field)
        if not (isinstance(value, list) and all(isinstance(v, str) and test(v) for v in value)):
            raise ValueError(f"{where}: `{field}` must be a list of names, got {value!r}.")
        return value

    trees = names("trees", str.isidentifier)
    names("arrays", lambda v: True)
    key = meta.get("key", ...)
    if key is not None and not (
        isinstance(key, dict)
        and isinstance(key.get("typed"), bool)
        and isinstance(key.get("impl"), str | None)
    ):
        raise ValueError(f"{where}: `key` must be null or {{typed, impl}}, got {key!r}.")
    if not isinstance(meta.get("metadata"), dict):
        raise ValueError(f"{where}: `metadata` must be a dict, got {meta.get('metadata')!r}.")
    if version < 2:
        return  # format 1 had no checksums
    sums = meta.get("checksums")
    expected = {f"{t}.eqx" for t in trees} | {"arrays.npz"}
    if not (
        isinstance(sums, dict)
        and set(sums) == expected
        and all(isinstance(v, str) and _SHA256_RE.fullmatch(v) for v in sums.values())
    ):
        raise ValueError(
            f"{where}: `checksums` must map each of {sorted(expected)} to a SHA-256, got {sums!r}."
        )
    if meta.get("meta_sha256") != _meta_digest(meta):
        raise ValueError(f"{where}: its content differs from its SHA-256 (`meta_sha256`).")


def _check_file(path: pathlib.Path, meta: dict, file_name: str) -> pathlib.Path:
    """Return `path/file_name` after checking that it exists and matches its checksum."""
    file = path / file_name
    if not file.is_file():
        raise ValueError(f"`path`: {_where(path)} is incomplete: `{file_name}` is missing.")
    expected = meta.get("checksums", {}).get(file_name)
    if expected is not None and _sha256(file) != expected:
        raise ValueError(
            f"`path`: {_where(path)} is damaged: `{file_name}` differs from its SHA-256 in "
            "meta.json."
        )
    return file


def verify_checkpoint(path: str | os.PathLike) -> dict:
    """Check the whole checkpoint folder `path` (meta.json and every file's SHA-256).

    **Returns:** its parsed meta.json. Raises `FileNotFoundError` without meta.json, else a
    `ValueError` naming the damaged or missing file.
    """
    path = pathlib.Path(path)
    meta = _load_meta(path)
    for name in [*(f"{t}.eqx" for t in meta["trees"]), "arrays.npz"]:
        _check_file(path, meta, name)
    return meta


# -- writing ---------------------------------------------------------------------------------


def _is_checkpoint_folder(path: pathlib.Path) -> bool:
    """True for a folder whose meta.json names a dynsys checkpoint format (maybe damaged)."""
    try:
        meta = json.loads((path / "meta.json").read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return _format_version(meta) is not None


def check_checkpoint_target(path: pathlib.Path, argument: str = "path") -> None:
    """Refuse to write where something other than a dynsys checkpoint (or nothing) is;
    errors name `argument`, the user's argument that supplied `path`."""
    for parent in (path.parent, *path.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"`{argument}`: cannot write a checkpoint to {str(path)!r}: {str(parent)!r} is "
                    "a file, not a folder."
                )
            break
    if not (path.exists() or path.is_symlink()):
        return
    if path.is_symlink() or not path.is_dir():
        what = "a symbolic link" if path.is_symlink() else "a file"
        raise ValueError(
            f"`{argument}`: {str(path)!r} is {what}, not a dynsys checkpoint folder; refusing to "
            "replace it (choose another path or remove it)."
        )
    if any(path.iterdir()) and not _is_checkpoint_folder(path):
        raise ValueError(
            f"`{argument}`: {str(path)!r} is a folder that is not a dynsys checkpoint (no valid "
            "meta.json); refusing to replace it (choose another path or remove it)."
        )


def _temporaries(path: pathlib.Path) -> list[pathlib.Path]:
    """The `NAME.tmp-PID` / `NAME.old-PID` folders a save of `path` leaves when killed."""
    pattern = re.compile(rf"{re.escape(path.name)}\.(tmp|old)-\d+")
    if not path.parent.is_dir():
        return []
    return sorted(
        p
        for p in path.parent.iterdir()
        if pattern.fullmatch(p.name) and p.is_dir() and not p.is_symlink()
    )


def _unnamed(err: Exception) -> str:
    return str(err).removeprefix("`path`: ")


def _remove(folder: pathlib.Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)


def write_checkpoint(
    path: str | os.PathLike,
    trees: Mapping[str, Any],
    *,
    step: int,
    key: Any = None,
    arrays: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> pathlib.Path:
    """Write pytrees (`trees[name]` to `name.eqx`, None skipped), arrays and JSON metadata.

    Refuses (ValueError, before writing anything) when `path` is a file, a link, or a
    non-empty folder that is not a dynsys checkpoint. Leftovers of killed saves of `path`
    are removed once the new checkpoint is in place.
    """
    path = pathlib.Path(path)
    check_checkpoint_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    old = path.with_name(f"{path.name}.old-{os.getpid()}")
    _remove(tmp)
    tmp.mkdir()
    try:
        saved = []
        for name, tree in trees.items():
            if tree is not None:
                eqx.tree_serialise_leaves(tmp / f"{name}.eqx", tree)
                saved.append(name)
        key_arrays, key_info = _key_arrays(key)
        all_arrays = {**key_arrays, **{k: np.asarray(v) for k, v in (arrays or {}).items()}}
        names = sorted(all_arrays)
        np.savez(tmp / "arrays.npz", **{f"a{i}": all_arrays[n] for i, n in enumerate(names)})
        files = [*(f"{name}.eqx" for name in saved), "arrays.npz"]
        meta = {
            "format": FORMAT,
            "step": int(step),
            "trees": saved,
            "arrays": names,
            **key_info,
            "metadata": dict(metadata or {}),
            "checksums": {f: _sha256(tmp / f) for f in files},
        }
        meta["meta_sha256"] = _meta_digest(meta)
        # meta.json last: a temporary folder without it is an unfinished save.
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        _remove(old)
        os.replace(path, old)
        try:
            os.replace(tmp, path)
        except Exception:
            os.replace(old, path)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(old)
    else:
        try:
            os.replace(tmp, path)
        except Exception:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    for stale in _temporaries(path):
        shutil.rmtree(stale)
    return path


def resolve_checkpoint(path: str | os.PathLike, argument: str = "path") -> pathlib.Path | None:
    """Find the checkpoint at `path` again after a save that was killed, and tidy up.

    A save of `path` writes `path.tmp-PID`, renames `path` to `path.old-PID`, renames the
    temporary folder to `path` and removes the old one; a kill can stop it anywhere. This
    takes the newest complete and verified one of them (a complete temporary folder, else
    `path`, else the old one), puts it at `path`, and removes the leftovers.

    **Arguments:**

    - `path`: the checkpoint folder, e.g. `directory / "last"`.
    - `argument`: the name errors give to the user's argument that supplied `path`.

    **Returns:**

    `path`, or None when there is no checkpoint at all (nothing there, an empty folder, or
    only the unfinished temporary folder of a first save, which is removed).

    **Raises:**

    `ValueError` naming the file when `path` is damaged or incomplete (e.g. meta.json
    missing, a checksum mismatch, a negative step), is no dynsys checkpoint, or was written
    by a newer dynsys; or when only damaged leftovers of a save remain.

    ```python
    last = resolve_checkpoint(run_dir / "last")
    if last is not None:
        ckpt = load_checkpoint(last, like=(model, opt_state, None))
    ```
    """
    path = pathlib.Path(path)
    temporaries = _temporaries(path)
    present = path.exists() or path.is_symlink()
    if present and path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
        present = False  # an empty folder holds no checkpoint
    if not present and not temporaries:
        return None
    candidates = []  # (rank, step, folder): newest save first
    if present:
        if path.is_symlink() or not path.is_dir():
            raise ValueError(f"`{argument}`: {str(path)!r} is not a checkpoint folder.")
        try:
            meta = verify_checkpoint(path)
        except FileNotFoundError as err:
            raise ValueError(
                f"`{argument}`: cannot resume: {_where(path)} is incomplete: `meta.json` "
                f"is missing. Repair or remove {str(path)!r} to start afresh."
            ) from err
        except ValueError as err:
            raise ValueError(
                f"`{argument}`: cannot resume: {_unnamed(err)} Repair or remove {str(path)!r} "
                "to start afresh."
            ) from err
        candidates.append((1, meta["step"], path))
    damaged = []
    for folder in temporaries:
        try:
            meta = verify_checkpoint(folder)
        except FileNotFoundError:
            continue  # no meta.json: a save that never finished
        except ValueError as err:
            damaged.append(_unnamed(err))
            continue
        rank = 2 if ".tmp-" in folder.name else 0
        candidates.append((rank, meta["step"], folder))
    if not candidates:
        if damaged or any(".old-" in f.name for f in temporaries):
            raise ValueError(
                f"`{argument}`: no complete checkpoint at {str(path)!r}, only the damaged "
                f"leftovers of an interrupted save: {' '.join(damaged)} Repair or remove "
                f"{[str(f) for f in temporaries]} to start afresh."
            )
        for folder in temporaries:
            shutil.rmtree(folder)
        return None
    _, _, chosen = max(candidates, key=lambda c: (c[0], c[1]))
    if chosen != path:
        if present:
            old = path.with_name(f"{path.name}.old-{os.getpid()}")
            _remove(old)
            os.replace(path, old)
        os.replace(chosen, path)
    for stale in _temporaries(path):
        shutil.rmtree(stale)
    return path


# -- reading ---------------------------------------------------------------------------------


def read_meta(path: str | os.PathLike) -> tuple[dict, dict]:
    """Return `(meta, arrays)` of the checkpoint folder `path` (meta.json and arrays.npz
    checked)."""
    path = pathlib.Path(path)
    meta = _load_meta(path)
    with np.load(_check_file(path, meta, "arrays.npz")) as npz:
        arrays = {name: npz[f"a{i}"] for i, name in enumerate(meta["arrays"])}
    return meta, arrays


def has_tree(path: str | os.PathLike, name: str) -> bool:
    """True when the checkpoint at `path` holds the pytree `name`."""
    return name in _load_meta(pathlib.Path(path))["trees"]


def read_tree(path: str | os.PathLike, name: str, like: Any, argument: str = "like") -> Any:
    """Deserialise the pytree `name` of the checkpoint at `path` into the structure of `like`.

    The file is checked against its SHA-256 first. Errors name `argument`, the user's
    argument that supplied the template.
    """
    path = pathlib.Path(path)
    meta = _load_meta(path)
    if name not in meta["trees"]:
        raise ValueError(f"`{argument}`: the checkpoint at {str(path)!r} holds no {name!r}.")
    file = _check_file(path, meta, f"{name}.eqx")
    try:
        return eqx.tree_deserialise_leaves(file, like)
    except Exception as err:
        raise ValueError(
            f"`{argument}`: the saved {name!r} at {str(path)!r} does not match the structure, "
            f"shapes or dtypes of the template given ({err})."
        ) from err


def _split_history(arrays: Mapping, prefix: str) -> dict:
    return {k[len(prefix) :]: np.asarray(v) for k, v in arrays.items() if k.startswith(prefix)}


def history_arrays(history: Mapping | None, eval_history: Mapping | None) -> dict:
    """Arrays to store for the two history dicts, with name prefixes."""
    out = {}
    for prefix, hist in (("history:", history), ("eval:", eval_history)):
        for k, v in (hist or {}).items():
            out[prefix + str(k)] = np.asarray(v)
    return out


def save_checkpoint(
    path: str | os.PathLike,
    model: Any,
    opt_state: Any = None,
    train_state: Any = None,
    step: int = 0,
    key: Any = None,
    history: Mapping[str, Any] | None = None,
    *,
    eval_history: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> pathlib.Path:
    """Save a training state to the folder `path` (created or replaced atomically).

    Pytrees are written with `eqx.tree_serialise_leaves` (array leaves exactly, bit for bit;
    non-array leaves such as activation functions are not stored and come from the template
    at load time). The step, the key and the histories go beside them, and meta.json records
    the SHA-256 of every file, checked on load. `path` may be new, an empty folder or an
    earlier checkpoint; anything else (a file, a foreign folder) is refused with a
    `ValueError` before anything is written.

    **Arguments:**

    - `path`: the checkpoint folder.
    - `model`: the model (any pytree).
    - `opt_state`: optax state, or None.
    - `train_state`: carried training state, or None.
    - `step`: number of updates done.
    - `key`: the run's PRNG key (raw `uint32[2]` or typed), or None.
    - `history`: dict of per-step arrays, e.g. `FitResult.history`.
    - `eval_history`: dict of per-evaluation arrays.
    - `metadata`: JSON-compatible dict stored in `meta.json`.

    **Returns:**

    The checkpoint folder as a `pathlib.Path`.

    **Example:**

    ```python
    save_checkpoint("ckpt/last", model, opt_state, None, step=100, key=key)
    ckpt = load_checkpoint("ckpt/last", like=(model, opt_state, None))
    ```
    """
    path = _as_path(path, "path")
    step = check_int(step, "step", minimum=0)
    if not jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array)):
        raise TypeError(f"`model` must be a pytree with array leaves (a model), got {model!r}.")
    if key is not None:
        check_key(key, "key")
    if metadata is not None:
        try:
            json.dumps(dict(metadata))
        except (TypeError, ValueError) as err:
            raise TypeError(f"`metadata` must be a JSON-compatible dict ({err}).") from err
    return write_checkpoint(
        path,
        {"model": model, "opt_state": opt_state, "train_state": train_state},
        step=step,
        key=key,
        arrays=history_arrays(history, eval_history),
        metadata=metadata,
    )


def load_checkpoint(path: str | os.PathLike, like: Any) -> Checkpoint:
    """Load a checkpoint written by `save_checkpoint` (or by `fit`).

    **Arguments:**

    - `path`: the checkpoint folder (e.g. `checkpoint_dir / "last"`).
    - `like`: templates `(model, opt_state, train_state)` with the same structure, shapes and
      dtypes as the saved pytrees (e.g. a freshly initialised model and
      `optimizer.init(...)`); an entry None skips that part.

    **Returns:**

    A [`dynsys.training.Checkpoint`][] with the restored pytrees, step, key, histories and
    metadata. A file that differs from its SHA-256 (a flipped byte), a malformed meta.json
    or a checkpoint written by a newer dynsys raises a `ValueError` naming it.
    """
    if not (isinstance(like, tuple) and len(like) == 3):
        raise TypeError(
            "`like` must be a tuple (model, opt_state, train_state) of templates (None to skip "
            f"a part), got {type(like).__name__}."
        )
    path = _as_path(path, "path")
    meta, arrays = read_meta(path)
    restored = {}
    for name, template in zip(_PARTS, like):
        restored[name] = None if template is None else read_tree(path, name, template)
    return Checkpoint(
        model=restored["model"],
        opt_state=restored["opt_state"],
        train_state=restored["train_state"],
        step=int(meta["step"]),
        key=_restore_key(arrays, meta["key"]),
        history=_split_history(arrays, "history:"),
        eval_history=_split_history(arrays, "eval:"),
        metadata=meta["metadata"],
    )
