"""Checkpoints: model, optimiser and training state on disk, restored bit for bit.

A checkpoint is a folder holding one `eqx.tree_serialise_leaves` file per pytree
(`model.eqx`, `opt_state.eqx`, `train_state.eqx`, ...), the run's arrays (key, history) in
`arrays.npz`, and `meta.json` with the step and metadata. It is written to a temporary folder
first and then swapped in, so an interrupted save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import numpy as np

from .._validation import check_int

FORMAT = "dynsys.training.checkpoint/1"
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
      continuation is bit for bit the uninterrupted run, given the same arguments.

    ```python
    checkpoint = training.Checkpointing(tmp_dir, every=500, resume=True)
    ```
    """

    directory: pathlib.Path = eqx.field(static=True, converter=pathlib.Path)
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


def write_checkpoint(
    path: str | os.PathLike,
    trees: Mapping[str, Any],
    *,
    step: int,
    key: Any = None,
    arrays: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> pathlib.Path:
    """Write pytrees (`trees[name]` to `name.eqx`, None skipped), arrays and JSON metadata."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    old = path.with_name(f"{path.name}.old-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    saved = []
    for name, tree in trees.items():
        if tree is not None:
            eqx.tree_serialise_leaves(tmp / f"{name}.eqx", tree)
            saved.append(name)
    key_arrays, key_info = _key_arrays(key)
    all_arrays = {**key_arrays, **{k: np.asarray(v) for k, v in (arrays or {}).items()}}
    names = sorted(all_arrays)
    np.savez(tmp / "arrays.npz", **{f"a{i}": all_arrays[n] for i, n in enumerate(names)})
    meta = {
        "format": FORMAT,
        "step": int(step),
        "trees": saved,
        "arrays": names,
        **key_info,
        "metadata": dict(metadata or {}),
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    if path.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old)
    else:
        os.replace(tmp, path)
    return path


def read_meta(path: str | os.PathLike) -> tuple[dict, dict]:
    """Return `(meta, arrays)` of the checkpoint folder `path`."""
    path = pathlib.Path(path)
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"`path`: no checkpoint at {str(path)!r} (missing meta.json).")
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"`path`: {str(path)!r} holds checkpoint format {meta.get('format')!r}, "
            f"expected {FORMAT!r}."
        )
    with np.load(path / "arrays.npz") as npz:
        arrays = {name: npz[f"a{i}"] for i, name in enumerate(meta["arrays"])}
    return meta, arrays


def has_tree(path: str | os.PathLike, name: str) -> bool:
    """True when the checkpoint at `path` holds the pytree `name`."""
    return (pathlib.Path(path) / f"{name}.eqx").is_file()


def read_tree(path: str | os.PathLike, name: str, like: Any, argument: str = "like") -> Any:
    """Deserialise the pytree `name` of the checkpoint at `path` into the structure of `like`.

    Errors name `argument`, the user's argument that supplied the template.
    """
    file = pathlib.Path(path) / f"{name}.eqx"
    if not file.is_file():
        raise ValueError(f"`{argument}`: the checkpoint at {str(path)!r} holds no {name!r}.")
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
    at load time). The step, the key and the histories go beside them.

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
    step = check_int(step, "step", minimum=0)
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
    metadata.
    """
    if not (isinstance(like, tuple) and len(like) == 3):
        raise TypeError(
            "`like` must be a tuple (model, opt_state, train_state) of templates (None to skip "
            f"a part), got {type(like).__name__}."
        )
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
