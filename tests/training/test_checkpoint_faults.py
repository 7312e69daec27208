"""Checkpoints under faults: foreign paths are never replaced, flipped bytes are caught, a
save killed at any stage resumes bit for bit, damaged or newer checkpoints are clear errors."""

import json
import os
import shutil

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dynsys.training import Checkpointing, fit, load_checkpoint, save_checkpoint
from dynsys.training import _checkpoint as ckpt_module
from dynsys.training._checkpoint import resolve_checkpoint, write_checkpoint


class Linear(eqx.Module):
    w: jax.Array
    b: jax.Array

    def __call__(self, x):
        return x @ self.w + self.b


_RNG = np.random.default_rng(0)
X = jnp.asarray(_RNG.normal(size=(32, 2)))
Y = X @ jnp.array([2.0, -1.0]) + 0.5


def _linear():
    return Linear(jnp.zeros(2, dtype=jnp.float64), jnp.zeros((), dtype=jnp.float64))


def _mse(model, batch, key):
    x, y = batch
    return jnp.mean((jax.vmap(model)(x) - y) ** 2)


def _batches(step, key):
    idx = jax.random.choice(key, X.shape[0], (8,))
    return X[idx], Y[idx]


def _fit(directory, *, resume=False, every=5, sampler=_batches):
    return fit(
        _linear(), _mse, sampler, optimizer=optax.sgd(0.05), n_steps=20,
        key=jax.random.key(0), checkpoint=Checkpointing(directory, every=every, resume=resume),
        steps_per_call=1, progress=False,
    )  # fmt: skip


def _saved(path, step=3):
    model = Linear(jnp.array([1.5, -2.0]), jnp.asarray(0.25))
    opt_state = optax.adam(0.1).init(model)
    opt_state = jax.tree.map(lambda x: x + 0.5 if eqx.is_inexact_array(x) else x, opt_state)
    state = jnp.asarray(0.125)
    save_checkpoint(
        path, model, opt_state, state, step=step, key=jax.random.key(7),
        history={"step": np.arange(step), "loss": np.linspace(1.0, 0.0, step)},
    )  # fmt: skip
    return model, opt_state, state


def _rewrite_meta(path, **changes):
    """Change meta.json fields and re-seal it, so that only the changed fields are wrong."""
    meta = json.loads((path / "meta.json").read_text())
    meta.update(changes)
    meta["meta_sha256"] = ckpt_module._meta_digest(meta)
    (path / "meta.json").write_text(json.dumps(meta))


class Kill(BaseException):
    """The process killed at this point: no `except Exception` handler runs."""


class _Killing:
    """A module whose function `name` is killed at its `n`-th call (counting calls that
    `counts(*args)` accepts); every other attribute is the module's own."""

    def __init__(self, module, name, n, counts=lambda *args: True):
        self._module, self._name, self._n, self._counts, self.calls = module, name, n, counts, 0

    def __getattr__(self, attr):
        real = getattr(self._module, attr)
        if attr != self._name:
            return real

        def killed_at_nth(*args, **kwargs):
            if self._counts(*args):
                self.calls += 1
                if self.calls == self._n:
                    raise Kill
            return real(*args, **kwargs)

        return killed_at_nth


def _temporaries(directory):
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


# -- foreign paths are never replaced ------------------------------------------------------


def test_save_refuses_a_file_or_a_foreign_folder_and_leaves_it_untouched(tmp_path):
    model = _linear()
    file = tmp_path / "notes"
    file.write_text("keep me")
    with pytest.raises(ValueError, match=r"notes.* is a file, not a dynsys checkpoint"):
        save_checkpoint(file, model)
    assert file.read_text() == "keep me"
    foreign = tmp_path / "results"
    foreign.mkdir()
    (foreign / "table.csv").write_text("a,b")
    with pytest.raises(ValueError, match=r"results.* not a dynsys checkpoint"):
        save_checkpoint(foreign, model)
    (foreign / "meta.json").write_text(json.dumps({"format": "someone-else/1"}))
    with pytest.raises(ValueError, match=r"results.* not a dynsys checkpoint"):
        save_checkpoint(foreign, model)
    assert sorted(p.name for p in foreign.iterdir()) == ["meta.json", "table.csv"]
    with pytest.raises(ValueError, match=r"notes.* is a file, not a folder"):
        save_checkpoint(file / "ck", model)
    # fit's checkpoints are refused the same way, before anything is written.
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last").write_text("not mine")
    with pytest.raises(ValueError, match=r"last.* is a file"):
        write_checkpoint(tmp_path / "run" / "last", {"model": model}, step=0)
    assert (tmp_path / "run" / "last").read_text() == "not mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "results", "run"]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["last"]
    # An empty folder and an earlier checkpoint are replaced.
    (tmp_path / "empty").mkdir()
    save_checkpoint(tmp_path / "empty", model, step=1)
    save_checkpoint(tmp_path / "empty", model, step=2)
    assert load_checkpoint(tmp_path / "empty", like=(model, None, None)).step == 2


# -- flipped bytes are caught --------------------------------------------------------------


@pytest.mark.parametrize(
    "file", ["model.eqx", "opt_state.eqx", "train_state.eqx", "arrays.npz", "meta.json"]
)
def test_a_flipped_byte_in_any_file_is_detected_naming_it(tmp_path, file):
    path = tmp_path / "ck"
    model, opt_state, state = _saved(path)
    like = (_linear(), optax.adam(0.1).init(_linear()), jnp.asarray(0.0))
    ckpt = load_checkpoint(path, like=like)
    np.testing.assert_array_equal(np.asarray(ckpt.model.w), np.asarray(model.w))
    data = bytearray((path / file).read_bytes())
    # The last byte of an .eqx file is a weight's: without a checksum it loads silently.
    index = data.index(b'"step": 3') + 8 if file == "meta.json" else len(data) - 1
    data[index] ^= 0x04  # meta.json: step 3 -> 7
    (path / file).write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"damaged: `{file}`"):
        load_checkpoint(path, like=like)
    with pytest.raises(ValueError, match=rf"cannot resume: .*damaged: `{file}`"):
        resolve_checkpoint(path, "checkpoint")


def test_a_flipped_byte_in_the_best_model_is_detected(tmp_path):
    model = _linear()
    write_checkpoint(tmp_path / "last", {"model": model, "best_model": model}, step=1)
    data = bytearray((tmp_path / "last" / "best_model.eqx").read_bytes())
    data[-1] ^= 0x01
    (tmp_path / "last" / "best_model.eqx").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="`checkpoint`: cannot resume: .*`best_model.eqx`"):
        _fit(tmp_path, resume=True)


# -- a save killed at any stage resumes bit for bit ----------------------------------------


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _fit(tmp_path_factory.mktemp("straight"))


# (module attribute, function, n-th counted call, which calls count, leftovers, resumed step)
_STAGES = {
    "while writing the temporary folder": (
        "np", "savez", 2, None, ["last", "last.tmp-"], 5,
    ),
    "after the temporary folder is written": (
        "os", "replace", 2, None, ["last", "last.tmp-"], 10,
    ),
    "between the two renames": (
        "os", "replace", 3, None, ["last.old-", "last.tmp-"], 10,
    ),
    "after the second rename": (
        "shutil", "rmtree", 1, lambda p, *a: ".old-" in str(p), ["last", "last.old-"], 10,
    ),
}  # fmt: skip


@pytest.mark.parametrize("stage", list(_STAGES))
def test_a_save_killed_at_any_stage_resumes_bit_for_bit(
    tmp_path, monkeypatch, uninterrupted, stage
):
    attr, name, n, counts, leftovers, resumed_step = _STAGES[stage]
    killing = _Killing(getattr(ckpt_module, attr), name, n, counts or (lambda *a: True))
    with monkeypatch.context() as patch:
        patch.setattr(ckpt_module, attr, killing)
        with pytest.raises(Kill):  # killed in the save at step 10
            _fit(tmp_path / "run")
    found = [f.split("-")[0] + "-" if "-" in f else f for f in os.listdir(tmp_path / "run")]
    assert sorted(found) == leftovers
    # The checkpoint that resolving picks (checked on a copy; fit resolves the original).
    shutil.copytree(tmp_path / "run", tmp_path / "copy")
    last = resolve_checkpoint(tmp_path / "copy" / "last")
    assert last is not None and json.loads((last / "meta.json").read_text())["step"] == resumed_step
    assert os.listdir(tmp_path / "copy") == ["last"]

    drawn = []  # the steps the resumed run computes

    def recording(step, key):
        drawn.append(int(step))
        return _batches(step, key)

    resumed = _fit(tmp_path / "run", resume=True, sampler=recording)
    assert drawn == list(range(resumed_step, 20)) and resumed.steps == 20
    assert os.listdir(tmp_path / "run") == ["last"]
    for a, b in zip(jax.tree.leaves(uninterrupted.model), jax.tree.leaves(resumed.model)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(resumed.history["loss"], uninterrupted.history["loss"])


# -- damaged, incomplete, stale or newer checkpoints --------------------------------------


def test_missing_meta_and_malformed_fields_are_clear_errors(tmp_path):
    path = tmp_path / "last"
    _saved(path)
    like = (_linear(), optax.adam(0.1).init(_linear()), jnp.asarray(0.0))
    meta_text = (path / "meta.json").read_text()
    (path / "meta.json").unlink()
    with pytest.raises(ValueError, match=r"cannot resume: .*incomplete: `meta\.json` is missing"):
        _fit(tmp_path, resume=True)  # not a silent restart from step 0
    (path / "meta.json").write_text(meta_text[:-20])
    with pytest.raises(ValueError, match="`meta.json` is not valid JSON"):
        load_checkpoint(path, like=like)
    not_int = "`step` must be an integer"
    for step, error in [(-1, "`step` must be >= 0, got -1"), ("3", not_int), (2.5, not_int),
                        (True, not_int)]:  # fmt: skip
        (path / "meta.json").write_text(meta_text)
        _rewrite_meta(path, step=step)
        with pytest.raises(ValueError, match=rf"damaged: `meta.json`: {error}"):
            load_checkpoint(path, like=like)
        with pytest.raises(ValueError, match=error):
            resolve_checkpoint(path)
    for field, value in [("trees", ["../model"]), ("metadata", []), ("checksums", {})]:
        (path / "meta.json").write_text(meta_text)
        _rewrite_meta(path, **{field: value})
        with pytest.raises(ValueError, match=rf"`meta.json`: `{field}` must"):
            load_checkpoint(path, like=like)
    (path / "meta.json").write_text(meta_text)
    (path / "opt_state.eqx").unlink()
    with pytest.raises(ValueError, match="incomplete: `opt_state.eqx` is missing"):
        resolve_checkpoint(path)


def test_newer_formats_are_refused_and_format_1_still_loads(tmp_path):
    path = tmp_path / "ck"
    model, opt_state, state = _saved(path)
    like = (_linear(), optax.adam(0.1).init(_linear()), jnp.asarray(0.0))
    meta = json.loads((path / "meta.json").read_text())
    assert meta["format"] == ckpt_module.FORMAT == "dynsys.training.checkpoint/2"
    _rewrite_meta(path, format="dynsys.training.checkpoint/3")
    with pytest.raises(ValueError, match="written by a newer dynsys"):
        load_checkpoint(path, like=like)
    with pytest.raises(ValueError, match="written by a newer dynsys"):
        resolve_checkpoint(path)
    # Format 1: no checksums.
    old = {k: v for k, v in meta.items() if k not in ("checksums", "meta_sha256")}
    (path / "meta.json").write_text(json.dumps({**old, "format": "dynsys.training.checkpoint/1"}))
    ckpt = load_checkpoint(path, like=like)
    assert ckpt.step == 3 and resolve_checkpoint(path) == path
    for a, b in zip(
        jax.tree.leaves((model, opt_state, state)),
        jax.tree.leaves((ckpt.model, ckpt.opt_state, ckpt.train_state)),
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_stale_temporaries_are_cleaned_and_unrelated_files_kept(tmp_path, monkeypatch):
    path = tmp_path / "last"
    _saved(path, step=4)

    # A save that fails (here: the disk is full) leaves the previous checkpoint and no
    # temporary folder behind.
    def full_disk(*args, **kwargs):
        raise OSError("No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(ckpt_module.np, "savez", full_disk)
        with pytest.raises(OSError, match="No space"):
            _saved(path, step=6)
    assert os.listdir(tmp_path) == ["last"]
    # Leftovers of killed processes: an unfinished temporary folder and an old checkpoint.
    (tmp_path / "last.tmp-99999").mkdir()
    shutil.copy(path / "model.eqx", tmp_path / "last.tmp-99999")
    shutil.copytree(path, tmp_path / "last.old-99998")
    (tmp_path / "last.tmp-notes").mkdir()  # not a name a save uses
    (tmp_path / "last.old-1").write_text("a file, not a folder")
    assert resolve_checkpoint(path) == path
    assert sorted(os.listdir(tmp_path)) == ["last", "last.old-1", "last.tmp-notes"]
    assert json.loads((path / "meta.json").read_text())["step"] == 4
    # A successful save removes them too.
    shutil.copytree(path, tmp_path / "last.old-99998")
    _saved(path, step=5)
    assert sorted(os.listdir(tmp_path)) == ["last", "last.old-1", "last.tmp-notes"]


def test_only_leftovers_of_a_save(tmp_path):
    path = tmp_path / "last"
    assert resolve_checkpoint(path) is None  # nothing at all
    # The first save never finished: no checkpoint ever existed; the leftover is removed.
    (tmp_path / "last.tmp-99999").mkdir()
    (tmp_path / "last.tmp-99999" / "model.eqx").write_bytes(b"partial")
    assert resolve_checkpoint(path) is None and os.listdir(tmp_path) == []
    # Only a damaged old checkpoint: an error, nothing removed.
    _saved(tmp_path / "last.old-99998")
    (tmp_path / "last.old-99998" / "arrays.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"only the damaged leftovers.*`arrays.npz`"):
        resolve_checkpoint(path, "checkpoint")
    assert os.listdir(tmp_path) == ["last.old-99998"]


def test_fit_refuses_a_foreign_checkpoint_target_before_training(tmp_path):
    (tmp_path / "last").write_text("my notes")
    calls = []

    def sampler(step, key):
        calls.append(step)
        return jnp.ones(2)

    with pytest.raises(ValueError, match="`checkpoint`.*is a file"):
        fit(jnp.zeros(2), lambda w, b, k: jnp.sum((w - b) ** 2), sampler, n_steps=3,
            optimizer=optax.sgd(0.1), key=jax.random.key(0), progress=False,
            checkpoint=Checkpointing(tmp_path, every=1))  # fmt: skip
    assert calls == [] and (tmp_path / "last").read_text() == "my notes"
