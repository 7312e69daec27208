"""The container format: `dynsys.save` / `dynsys.load`, round trips and clear failures."""

import hashlib
import io
import json
import os
import pathlib
import sys

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import pytest

import dynsys
from dynsys import _serialization
from dynsys._serialization import (
    FORMAT_VERSION,
    MAGIC,
    describe,
    read_header,
    register_loadable,
    template_from,
)
from dynsys.dsr import ALRNN, PLRNN, AffineObservation, DendriticPLRNN, ShallowPLRNN
from dynsys.koopman import DMD
from dynsys.latent import CoupledOscillatorPotential, LangevinFlow, QuadraticPotential
from dynsys.nde import NeuralODE


def _perturbed(obj):
    """`obj` with every float array leaf moved away from any initialisation (a "trained" one)."""

    def move(x):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.inexact):
            return jnp.asarray(np.asarray(x) * 1.37 + 0.0123)  # numpy: nothing to compile
        return x

    return jtu.tree_map(move, obj)


def _dmd_result():
    t = jnp.arange(12.0) * 0.1
    ys = jnp.stack([jnp.cos(2.0 * t), jnp.sin(2.0 * t), jnp.exp(-t)], -1)
    return DMD(rank=3).fit(jnp.stack([ys, 0.5 * ys]), dt=0.1, t0=0.3)


MODELS = {
    "alrnn": lambda k: ALRNN(4, 2, 2, key=k),
    "alrnn-affine-inputs": lambda k: ALRNN(4, 1, 3, key=k, n_inputs=2, observation="affine"),
    "plrnn-empty-L": lambda k: PLRNN(2, 2, key=k),  # L has shape (0, 2)
    "shallow": lambda k: ShallowPLRNN(3, 5, 2, key=k),
    "shallow-clipped-inputs": lambda k: ShallowPLRNN(3, 5, 2, key=k, clipped=True, n_inputs=1),
    "dendritic-clipped": lambda k: DendriticPLRNN(4, 2, 2, key=k, clipped=True),
    "dendritic-affine-bias-inputs": lambda k: DendriticPLRNN(
        3, 2, 4, key=k, n_inputs=1, observation=AffineObservation(3, 4, use_bias=True, key=k)
    ),
    "neural-ode": lambda k: NeuralODE(2, key=k, augment_dim=1, width=4, depth=1, dt0=0.1),
    "neural-ode-fixed-step": lambda k: NeuralODE(
        2,
        key=k,
        width=3,
        depth=2,
        solver=diffrax.Heun(),
        stepsize_controller=diffrax.ConstantStepSize(),
        adjoint=diffrax.DirectAdjoint(),
        dt0=0.05,
        max_steps=64,
    ),
    "dmd-result": lambda k: _dmd_result(),
    # One LangevinFlow (its first construction compiles much): nested MLP potential,
    # backward encoder; the other potentials on their own.
    "langevin-flow": lambda k: LangevinFlow(
        3,
        4,
        2,
        latent_dim=2,
        hidden_dim=3,
        potential="mlp",
        model_size=4,
        n_heads=2,
        ff_size=3,
        decoder_inputs=("z", "v", "hb"),
        bidirectional=True,
        causal=True,
        key=k,
    ),
    "oscillator-potential": lambda k: CoupledOscillatorPotential(6, 2, 3, key=k),
    "quadratic-potential": lambda k: QuadraticPotential(2.5),  # no leaves at all
}


def _assert_identical(a, b):
    assert type(a) is type(b)
    assert jtu.tree_structure(a) == jtu.tree_structure(b)
    for x, y in zip(jtu.tree_leaves(a), jtu.tree_leaves(b)):
        if isinstance(x, jax.Array | np.ndarray):
            assert isinstance(y, jax.Array | np.ndarray)
            assert x.dtype == y.dtype and x.shape == y.shape
            assert np.asarray(x).tobytes() == np.asarray(y).tobytes()  # bit for bit
        else:
            assert type(x) is type(y) and (x is y or x == y)


def _split(path):
    """(header, payload) of a container file."""
    data = pathlib.Path(path).read_bytes()
    n = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 8], "little")
    start = len(MAGIC) + 8
    return json.loads(data[start : start + n]), data[start + n :]


def _rewrite(path, header, payload):
    raw = json.dumps(header).encode()
    pathlib.Path(path).write_bytes(MAGIC + len(raw).to_bytes(8, "little") + raw + payload)


@pytest.fixture(scope="module")
def alrnn_file(tmp_path_factory):
    model = _perturbed(ALRNN(4, 2, 3, key=jax.random.key(3), observation="affine"))
    path = dynsys.save(tmp_path_factory.mktemp("saved") / "alrnn.eqx", model)
    return model, path


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_is_bit_exact(name, tmp_path):
    obj = _perturbed(MODELS[name](jax.random.key(7)))
    path = dynsys.save(tmp_path / "obj.eqx", obj)
    loaded = dynsys.load(path)
    _assert_identical(loaded, obj)
    header = read_header(path)
    assert header["format_version"] == FORMAT_VERSION
    assert header["class"].startswith("dynsys.") and header["class"].endswith(type(obj).__name__)
    leaves = [x for x in jtu.tree_leaves(obj) if isinstance(x, jax.Array)]
    has_floats = any(jnp.issubdtype(x.dtype, jnp.floating) for x in leaves)
    assert header["dtype"] == ("float64" if has_floats else None)


def test_loaded_model_computes_the_same(alrnn_file):
    model, path = alrnn_file
    loaded = dynsys.load(path)
    x0 = jnp.array([0.3, -0.2, 0.1])
    np.testing.assert_array_equal(np.asarray(loaded.generate(x0, 20)), model.generate(x0, 20))


def test_header_names_the_public_class_and_hyperparameters(alrnn_file):
    _, path = alrnn_file
    header = read_header(path)
    assert header["class"] == "dynsys.dsr.ALRNN"
    hp = header["hyperparameters"]
    assert (hp["latent_dim"], hp["pwl_units"], hp["obs_dim"], hp["n_inputs"]) == (4, 2, 3, 0)
    assert hp["observation"]["class"] == "dynsys.dsr.AffineObservation"
    assert header["dynsys_version"] == dynsys.__version__
    assert len(header["payload_sha256"]) == 64


def test_path_is_kept_as_given(tmp_path):
    path = dynsys.save(tmp_path / "sub" / "model.bin", PLRNN(2, 2, key=jax.random.key(0)))
    assert path == tmp_path / "sub" / "model.bin" and path.is_file()
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["model.bin"]
    assert isinstance(dynsys.load(str(path)), PLRNN)


_CHILD = """
import sys, numpy as np, jax, dynsys
assert not jax.config.read("jax_enable_x64") and "dynsys.nde" not in sys.modules
loaded = [dynsys.load(p) for p in sys.argv[1:-1]]
assert "dynsys.nde" in sys.modules  # imported on the file's class name, to register it
leaves = [np.asarray(x) for x in jax.tree.leaves(loaded) if isinstance(x, jax.Array)]
np.savez(sys.argv[-1], *leaves)
"""


def test_a_process_without_x64_loads_float64_files_as_float32(
    alrnn_file, tmp_path, run_without_x64
):
    # A fresh process (x64 off, warnings as errors): the real situation of a user, and the
    # family `dynsys.nde` is not imported until a file names it.
    objs = [
        alrnn_file[0],
        _perturbed(MODELS["neural-ode"](jax.random.key(2))),
        _dmd_result(),
    ]
    paths = [str(dynsys.save(tmp_path / f"{i}.eqx", obj)) for i, obj in enumerate(objs)]
    got = run_without_x64(_CHILD, *paths)
    expected = [np.asarray(x) for x in jtu.tree_leaves(objs) if isinstance(x, jax.Array)]
    assert len(got) == len(expected)
    canonical = {np.dtype("float64"): np.float32, np.dtype("complex128"): np.complex64}
    assert {x.dtype for x in expected} == set(canonical)  # the file had float64 and complex128
    for g, e in zip(got, expected):
        assert g.dtype == canonical[e.dtype]
        np.testing.assert_array_equal(g, e.astype(canonical[e.dtype]))


def test_float32_file_loads_as_float32_with_x64(tmp_path):
    with jax.enable_x64(False):
        model = _perturbed(ShallowPLRNN(3, 4, 2, key=jax.random.key(1), clipped=True))
        dynsys.save(tmp_path / "shallow.eqx", model)
    assert jax.config.read("jax_enable_x64")
    assert read_header(tmp_path / "shallow.eqx")["dtype"] == "float32"
    loaded = dynsys.load(tmp_path / "shallow.eqx")
    _assert_identical(loaded, model)
    assert loaded.W1.dtype == jnp.float32 and loaded.observation.L.dtype == jnp.float32


def test_flipped_payload_byte_is_corrupt(alrnn_file, tmp_path):
    data = bytearray(alrnn_file[1].read_bytes())
    data[-5] ^= 0x01
    bad = tmp_path / "bad.eqx"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"bad\.eqx.*corrupt.*checksum"):
        dynsys.load(bad)


@pytest.mark.parametrize("keep", [5, len(MAGIC) + 3, len(MAGIC) + 20, -1])
def test_truncated_file(alrnn_file, tmp_path, keep):
    data = alrnn_file[1].read_bytes()
    cut = tmp_path / "cut.eqx"
    cut.write_bytes(data[:keep])
    with pytest.raises(ValueError, match=r"cut\.eqx.*truncated"):
        dynsys.load(cut)


def test_foreign_files_are_not_dynsys_files(tmp_path):
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.ones(3))
    with pytest.raises(ValueError, match=r"arrays\.npz.*not a dynsys file.*zip"):
        dynsys.load(npz)
    noise = tmp_path / "noise.eqx"
    noise.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(ValueError, match="not a dynsys file"):
        dynsys.load(noise)
    with pytest.raises(ValueError, match="not a dynsys file"):
        read_header(noise)
    # A bare equinox file (no header) is refused too.
    bare = tmp_path / "bare.eqx"
    eqx.tree_serialise_leaves(bare, PLRNN(2, 2, key=jax.random.key(0)))
    with pytest.raises(ValueError, match="not a dynsys file"):
        dynsys.load(bare)


@pytest.mark.parametrize("name", ["dynsys.dsr.NotAModel", "dynsys._cli.main", "os.system"])
def test_unregistered_class_is_foreign(alrnn_file, tmp_path, name):
    header, payload = _split(alrnn_file[1])
    _rewrite(tmp_path / "foreign.eqx", {**header, "class": name}, payload)
    modules = set(sys.modules)
    with pytest.raises(ValueError, match=r"foreign\.eqx.*foreign class"):
        dynsys.load(tmp_path / "foreign.eqx")
    assert set(sys.modules) - modules == set()  # nothing was imported on the file's say


def test_newer_format_asks_for_an_upgrade(alrnn_file, tmp_path):
    header, payload = _split(alrnn_file[1])
    _rewrite(tmp_path / "future.eqx", {**header, "format_version": 99}, payload)
    with pytest.raises(ValueError, match=r"newer dynsys \(format 99 > 1\); upgrade dynsys"):
        dynsys.load(tmp_path / "future.eqx")
    assert read_header(tmp_path / "future.eqx")["format_version"] == 99


def test_unreadable_header(alrnn_file, tmp_path):
    _, payload = _split(alrnn_file[1])
    raw = b"{not json"
    (tmp_path / "h.eqx").write_bytes(MAGIC + len(raw).to_bytes(8, "little") + raw + payload)
    with pytest.raises(ValueError, match=r"h\.eqx.*unreadable header"):
        dynsys.load(tmp_path / "h.eqx")


def test_leaves_that_do_not_fit_the_hyperparameters(alrnn_file, tmp_path):
    header, payload = _split(alrnn_file[1])
    header["hyperparameters"] = {**header["hyperparameters"], "latent_dim": 5}
    header["hyperparameters"]["observation"]["hyperparameters"]["latent_dim"] = 5
    _rewrite(tmp_path / "misfit.eqx", header, payload)
    with pytest.raises(ValueError, match=r"do not fit the dynsys\.dsr\.ALRNN"):
        dynsys.load(tmp_path / "misfit.eqx")


def test_a_pickled_leaf_is_never_unpickled(alrnn_file, tmp_path):
    header, _ = _split(alrnn_file[1])
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    payload = buffer.getvalue()
    header.update(payload_length=len(payload), payload_sha256=hashlib.sha256(payload).hexdigest())
    _rewrite(tmp_path / "pickled.eqx", header, payload)
    with pytest.raises(ValueError, match="Python objects.*never unpickles"):
        dynsys.load(tmp_path / "pickled.eqx")


def test_describe_and_template_from_nest():
    model = ShallowPLRNN(3, 4, 5, key=jax.random.key(0), n_inputs=2, observation="affine")
    description = describe(model)
    assert description["class"] == "dynsys.dsr.ShallowPLRNN"
    assert description["hyperparameters"]["observation"] == describe(model.observation)
    assert json.loads(json.dumps(description)) == description
    like = template_from(description)
    assert jtu.tree_structure(like) == jtu.tree_structure(model)
    shapes = [(x.shape, x.dtype) for x in jtu.tree_leaves(model)]
    assert [(x.shape, x.dtype) for x in jtu.tree_leaves(like)] == shapes
    with pytest.raises(ValueError, match="foreign class"):
        template_from({"class": "dynsys.dsr.Nope", "hyperparameters": {}})
    with pytest.raises(TypeError, match="not registered"):
        describe(jnp.ones(3))


def test_metadata_round_trip(tmp_path):
    metadata = {"data": "lorenz63", "steps": 300, "loss": 0.25, "tags": ("a", "b"), "x": None}
    path = dynsys.save(tmp_path / "m.eqx", PLRNN(2, 2, key=jax.random.key(0)), metadata=metadata)
    assert read_header(path)["metadata"] == {**metadata, "tags": ["a", "b"]}
    with pytest.raises(TypeError, match="`metadata`"):
        dynsys.save(tmp_path / "n.eqx", PLRNN(2, 2, key=jax.random.key(0)), metadata={"a": np.nan})
    assert not (tmp_path / "n.eqx").exists()


def test_save_refuses_a_folder_and_leaves_it_intact(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    with pytest.raises(ValueError, match=r"folder.*is a folder"):
        dynsys.save(folder, PLRNN(2, 2, key=jax.random.key(0)))
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    assert (folder / "keep.txt").read_text() == "keep"


def test_failed_save_keeps_the_existing_file(tmp_path, monkeypatch):
    target = tmp_path / "model.eqx"
    target.write_bytes(b"precious")
    with pytest.raises(TypeError, match="not registered"):
        dynsys.save(target, {"not": "a model"})

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(_serialization.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        dynsys.save(target, PLRNN(2, 2, key=jax.random.key(0)))
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["model.eqx"]  # no temporary file left


class Forgetful(eqx.Module):
    """A test class whose registered hyper-parameters miss its static `flag`."""

    w: jax.Array
    flag: bool = eqx.field(static=True)


register_loadable(
    Forgetful,
    hyperparameters=lambda m: {"size": m.w.shape[0]},
    template=lambda hp: Forgetful(jnp.zeros(hp["size"]), False),
)


def test_save_checks_that_the_hyperparameters_rebuild_the_object(tmp_path):
    good = Forgetful(jnp.arange(3.0), False)
    _assert_identical(dynsys.load(dynsys.save(tmp_path / "good.eqx", good)), good)
    with pytest.raises(ValueError, match="does not match it"):
        dynsys.save(tmp_path / "bad.eqx", Forgetful(jnp.arange(3.0), True))
    assert not (tmp_path / "bad.eqx").exists()


def test_neural_ode_with_a_custom_solver_is_refused(tmp_path):
    class MySolver(diffrax.Euler):
        pass

    ode = NeuralODE(2, key=jax.random.key(0), width=2, depth=1, solver=MySolver())
    with pytest.raises(ValueError, match="only diffrax's own classes"):
        dynsys.save(tmp_path / "ode.eqx", ode)
    assert os.listdir(tmp_path) == []
