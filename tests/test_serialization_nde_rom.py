"""`dynsys.save` / `dynsys.load` for the models of `dynsys.nde` and `dynsys.rom`."""

import os

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax
import pytest

import dynsys
from dynsys import nde, rom
from dynsys._serialization import read_header

TS = jnp.linspace(0.0, 0.4, 5)
YS = jnp.stack([jnp.sin(3.0 * TS), jnp.cos(2.0 * TS)], -1)  # (5, 2)
MASK = jnp.ones(YS.shape, dtype=bool).at[2, 1].set(False)
COORDS = jnp.linspace(0.1, 0.25, 6)[:, None]
COORDS_2D = jnp.stack([COORDS[:, 0], COORDS[::-1, 0]], -1)


def _decoder(k):
    # (0.1, 0.25): bounds whose centre ∓ half-width do not round back to the same centre.
    return rom.MLPDecoder(1, 3, 2, width=5, depth=2, coord_bounds=(0.1, 0.25), output_shift=0.5,
                          output_scale=2.0, key=k)  # fmt: skip


def _dynamics(k):
    return rom.LatentDynamics(3, 1, width=4, depth=1, param_bounds=(1 / 3, 2 / 3), key=k)


# name: (build from a key, call the model on a fixed input)
MODELS = {
    "backward-gru": (
        lambda k: nde.BackwardGRU(2, 3, key=k),
        lambda m: m(TS, YS, MASK),
    ),
    "scaled-tanh-mlp": (
        lambda k: nde.ScaledTanhMLP(2, 4, width=3, depth=1, time_dependent=True, key=k),
        lambda m: m(0.3, YS[1]),
    ),
    "diagonal-diffusion": (
        lambda k: nde.DiagonalDiffusion(2, width=3, depth=1, time_dependent=True, key=k),
        lambda m: m(0.3, YS[1]),
    ),
    "neural-sde": (
        lambda k: nde.NeuralSDE(2, dt0=0.05, key=k, width=4, depth=1, max_steps=16),
        lambda m: m.transition_nll(TS, YS, MASK),
    ),
    "neural-sde-heun": (
        lambda k: nde.NeuralSDE(
            2,
            dt0=0.1,
            key=k,
            width=3,
            depth=2,
            time_dependent=True,
            solver=diffrax.Heun(),
            max_steps=8,
        ),  # fmt: skip
        lambda m: m(TS, YS[0], key=jax.random.key(4)),
    ),
    "latent-ode": (
        lambda k: nde.LatentODE(
            2,
            key=k,
            latent_dim=2,
            hidden_size=3,
            width=4,
            depth=1,
            solver=diffrax.Euler(),
            stepsize_controller=diffrax.ConstantStepSize(),
            adjoint=diffrax.DirectAdjoint(),
            dt0=0.1,
            max_steps=8,
        ),  # fmt: skip
        lambda m: m(TS, YS, MASK),
    ),
    "latent-ode-defaults": (
        lambda k: nde.LatentODE(2, key=k, latent_dim=2, hidden_size=3, width=3, depth=1),
        None,  # the adaptive solve compiles for long; the structure is what this case checks
    ),
    "latent-sde": (
        lambda k: nde.LatentSDE(
            2,
            dt0=0.1,
            key=k,
            latent_dim=2,
            hidden_size=3,
            context_size=2,
            width=4,
            depth=1,
            max_steps=8,
        ),  # fmt: skip
        lambda m: m.elbo_terms(TS, YS, MASK, key=jax.random.key(4)),
    ),
    "mlp-decoder": (_decoder, lambda m: m(COORDS, jnp.array([0.3, -0.2, 0.1]))),
    "hyper-decoder": (
        lambda k: rom.HyperDecoder(
            2, 3, 1, width=4, depth=2, coord_bounds=((0.0, -1.0), (1.0, 3.0)), key=k
        ),  # fmt: skip
        lambda m: m(COORDS_2D, jnp.array([0.3, -0.2, 0.1])),
    ),
    "latent-dynamics": (_dynamics, lambda m: m(jnp.array([0.3, -0.2, 0.1]), jnp.array([0.5]))),
    "latent-dynamics-no-params": (
        lambda k: rom.LatentDynamics(2, width=3, depth=2, activation=jnp.tanh, key=k),
        lambda m: m(jnp.array([0.3, -0.2])),
    ),
    "phirom": (
        lambda k: rom.PhiROM(_decoder(k), _dynamics(jax.random.fold_in(k, 1)), dt=0.07),
        lambda m: m.predict(jnp.array([0.3, -0.2, 0.1]), 2, COORDS, jnp.array([0.5])),
    ),
    "dino": (
        lambda k: rom.DINo(_decoder(k), _dynamics(jax.random.fold_in(k, 1)), dt=0.05),
        lambda m: m.decode(jnp.array([0.3, -0.2, 0.1]), COORDS),
    ),
}


def _perturbed(obj):
    """`obj` with every float array leaf moved away from its initialisation."""

    def move(x):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.inexact):
            return jnp.asarray(np.asarray(x) * 1.37 + 0.0123)
        return x

    return jtu.tree_map(move, obj)


def _assert_identical(a, b):
    assert type(a) is type(b)
    assert jtu.tree_structure(a) == jtu.tree_structure(b)  # static fields included
    for x, y in zip(jtu.tree_leaves(a), jtu.tree_leaves(b)):
        if isinstance(x, jax.Array | np.ndarray):
            assert isinstance(y, jax.Array | np.ndarray)
            assert x.dtype == y.dtype and x.shape == y.shape
            assert np.asarray(x).tobytes() == np.asarray(y).tobytes()  # bit for bit
        else:
            assert type(x) is type(y) and (x is y or x == y)


def _assert_same_output(a, b):
    for x, y in zip(jtu.tree_leaves(a), jtu.tree_leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_is_bit_exact_and_computes_the_same(name, tmp_path):
    build, call = MODELS[name]
    model = _perturbed(build(jax.random.key(7)))
    path = dynsys.save(tmp_path / "model.eqx", model)
    loaded = dynsys.load(path)
    _assert_identical(loaded, model)
    header = read_header(path)
    assert (
        header["class"] == f"dynsys.{type(model).__module__.split('.')[1]}.{type(model).__name__}"
    )
    assert header["dtype"] == "float64"
    if call is not None:
        expected = call(model)
        assert all(bool(jnp.all(jnp.isfinite(x))) for x in jtu.tree_leaves(expected))
        _assert_same_output(call(loaded), expected)


def test_header_names_the_choices_that_are_functions_or_solvers(tmp_path):
    ode = MODELS["latent-ode"][0](jax.random.key(0))
    hp = read_header(dynsys.save(tmp_path / "ode.eqx", ode))["hyperparameters"]
    assert (hp["solver"], hp["adjoint"]) == ("Euler", "DirectAdjoint")
    assert hp["stepsize_controller"] == {"class": "ConstantStepSize"}
    phirom = MODELS["phirom"][0](jax.random.key(0))
    hp = read_header(dynsys.save(tmp_path / "rom.eqx", phirom))["hyperparameters"]
    assert hp["decoder"]["class"] == "dynsys.rom.MLPDecoder"
    assert hp["decoder"]["hyperparameters"]["activation"] == "sin"
    assert hp["dynamics"]["hyperparameters"]["activation"] == "swish"
    assert hp["dt"] == 0.07


def test_a_model_trained_for_a_few_steps_round_trips(tmp_path):
    ts = np.arange(12) * 0.05
    ys = np.stack([np.sin(ts + s) for s in (0.0, 0.5, 1.0)])[..., None]  # (3, 12, 1)
    model = nde.NeuralSDE(1, dt0=0.05, key=jax.random.key(0), width=4, depth=1, max_steps=16)
    result = nde.fit(model, ys, ts=ts, key=jax.random.key(1), steps=3, batch_size=3,
                     optimizer=optax.adam(1e-2), progress=False)  # fmt: skip
    trained = result.model
    moved = jtu.tree_leaves(eqx.filter(trained, eqx.is_array))
    assert any(
        not np.array_equal(np.asarray(a), np.asarray(b))
        for a, b in zip(moved, jtu.tree_leaves(eqx.filter(model, eqx.is_array)))
    )
    loaded = dynsys.load(dynsys.save(tmp_path / "trained.eqx", trained, metadata={"steps": 3}))
    _assert_identical(loaded, trained)
    ts, ys = jnp.asarray(ts), jnp.asarray(ys[0])
    _assert_same_output(loaded.transition_nll(ts, ys), trained.transition_nll(ts, ys))


class _MySolver(diffrax.Euler):
    pass


class _MyDecoder(eqx.Module):
    latent_dim: int = 3

    def __call__(self, coords, alpha):
        return coords * alpha[0]


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda k: nde.NeuralSDE(1, dt0=0.1, key=k, width=2, solver=_MySolver()),
         "NeuralSDE whose solver.*only diffrax's own classes"),
        (lambda k: nde.LatentODE(1, key=k, latent_dim=1, hidden_size=2, width=2,
                                 solver=_MySolver()),
         "LatentODE whose solver.*only diffrax's own classes"),
        (lambda k: eqx.tree_at(lambda m: m.vector_field,
                               nde.LatentODE(1, key=k, latent_dim=1, hidden_size=2, width=2),
                               lambda t, y, args: -y),
         "LatentODE whose vector_field"),
        (lambda k: rom.MLPDecoder(1, 2, width=2, depth=1, activation=lambda x: x**2, key=k),
         r"MLPDecoder whose activation.*only these activations.*'sin'"),
        (lambda k: rom.LatentDynamics(2, width=2, depth=1, activation=jax.nn.relu6, key=k),
         "LatentDynamics whose activation"),
        (lambda k: rom.DINo(_MyDecoder(), _dynamics(k), dt=0.1), "_MyDecoder cannot be saved"),
    ],
)  # fmt: skip
def test_what_cannot_be_saved_is_named_at_save_time(build, match, tmp_path):
    with pytest.raises((ValueError, TypeError), match=match):
        dynsys.save(tmp_path / "model.eqx", build(jax.random.key(0)))
    assert os.listdir(tmp_path) == []


_CHILD = """
import sys, numpy as np, jax, jax.numpy as jnp, dynsys
assert not jax.config.read("jax_enable_x64")
assert "dynsys.nde" not in sys.modules and "dynsys.rom" not in sys.modules
loaded = [dynsys.load(p) for p in sys.argv[1:-1]]
assert "dynsys.nde" in sys.modules and "dynsys.rom" in sys.modules  # imported on the class name
gru, dino = loaded
ts = jnp.linspace(0.0, 0.4, 5)
ys = jnp.stack([jnp.sin(3.0 * ts), jnp.cos(2.0 * ts)], -1)
mask = jnp.ones(ys.shape, bool).at[2, 1].set(False)
out = [gru(ts, ys, mask), dino.decode(jnp.array([0.3, -0.2, 0.1]),
       jnp.linspace(0.1, 0.25, 6)[:, None])]
leaves = [np.asarray(x) for x in jax.tree.leaves(loaded) if isinstance(x, jax.Array)]
np.savez(sys.argv[-1], *leaves, *[np.asarray(o) for o in out])
"""


def test_a_process_without_x64_loads_float64_files_as_float32(tmp_path, run_without_x64):
    objs = [_perturbed(MODELS[name][0](jax.random.key(2))) for name in ("backward-gru", "dino")]
    paths = [str(dynsys.save(tmp_path / f"{i}.eqx", obj)) for i, obj in enumerate(objs)]
    got = run_without_x64(_CHILD, *paths)
    expected = [np.asarray(x) for x in jtu.tree_leaves(objs) if isinstance(x, jax.Array)]
    outputs = [MODELS["backward-gru"][1](objs[0]), MODELS["dino"][1](objs[1])]
    assert len(got) == len(expected) + len(outputs)
    for g, e in zip(got, expected):
        assert e.dtype == np.float64 and g.dtype == np.float32
        np.testing.assert_array_equal(g, e.astype(np.float32))
    for g, e in zip(got[len(expected) :], outputs):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, np.asarray(e), rtol=1e-4, atol=1e-5)  # float32 compute
