"""`dynsys.save` / `dynsys.load` for the models of worldmodels, latent and koopman.

Every trained or fitted model round-trips bit for bit and computes the same outputs after
loading; configurations a file cannot hold (user functions) are refused at saving.
"""


import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import pytest

import dynsys
from dynsys import koopman, latent, worldmodels
from dynsys._serialization import read_header


def _perturbed(obj):
    """`obj` with every inexact array leaf moved away from its initialisation ("trained")."""

    def move(x):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.inexact):
            return jnp.asarray(np.asarray(x) * 1.37 + 0.0123)
        return x

    return jtu.tree_map(move, obj)


def _assert_identical(a, b):
    assert type(a) is type(b)
    assert jtu.tree_structure(a) == jtu.tree_structure(b)
    for x, y in zip(jtu.tree_leaves(a), jtu.tree_leaves(b)):
        if isinstance(x, jax.Array | np.ndarray):
            assert isinstance(y, jax.Array | np.ndarray)
            assert x.dtype == y.dtype and x.shape == y.shape
            assert np.asarray(x).tobytes() == np.asarray(y).tobytes()
        else:
            assert type(x) is type(y) and (x is y or x == y)


_K = jax.random.key(5)
_U = jax.random.normal(jax.random.key(11), (6, 4, 4, 4))  # latent windows
_FRAMES = jax.random.normal(jax.random.key(12), (3, 2, 8, 8))
_T = jnp.arange(60.0) * 0.1
_YS = jnp.stack([jnp.cos(1.3 * _T), jnp.sin(1.3 * _T) + 0.3 * jnp.cos(0.7 * _T)], -1)
_PAIRS = (_YS[:-1], _YS[1:])


def _edmd_dictionary():
    rbf = koopman.RBF(jnp.array([[0.0, 0.5], [1.0, -0.2]]), 0.8, "invquad")
    rff = koopman.RandomFourierFeatures(2, 3, 0.5, key=_K)
    return koopman.Monomials(2, 2) + rbf + rff


# name: (build, apply): `apply(model)` is an output that must not change on loading.
CASES = {
    # ---- worldmodels
    "patch-encoder": (
        lambda: worldmodels.PatchEncoder(2, 4, hidden_channels=3, key=_K),
        lambda m: m(_FRAMES[0]),
    ),
    "patch-encoder-unnormalised": (
        lambda: worldmodels.PatchEncoder(2, 4, patch_size=4, normalise=False, key=_K),
        lambda m: m(_FRAMES[0]),
    ),
    "patch-decoder": (
        lambda: worldmodels.PatchDecoder(4, 2, hidden_channels=3, key=_K),
        lambda m: m(_U[0]),
    ),
    "convgru": (
        lambda: worldmodels.ConvGRU(4, context=3, hidden_channels=2, kernel_size=1, key=_K),
        lambda m: m(_U[:3]),
    ),
    "rd-predictor": (
        lambda: worldmodels.ReactionDiffusionPredictor(
            4,
            context=2,
            hidden=5,
            dilations=(1, 2),
            n_steps=3,
            dt_bounds=(0.01, 0.2),
            norm_every=1,
            padding="zero",
            adaptive_tol=1e-3,
            key=_K,
        ),  # fmt: skip
        lambda m: m(_U[:2]),
    ),
    "transformer-predictor": (
        lambda: worldmodels.TransformerPredictor(
            4, context=2, size=8, n_heads=2, ff_size=6, n_blocks=2, key=_K
        ),
        lambda m: m(_U[:2]),
    ),
    "persistence": (
        lambda: worldmodels.Persistence(context=2, latent_channels=4),
        lambda m: m(_U[:2]),
    ),
    "world-model": (
        lambda: worldmodels.WorldModel(
            worldmodels.PatchEncoder(2, 4, hidden_channels=3, key=_K),
            worldmodels.ReactionDiffusionPredictor(4, hidden=3, n_steps=2, key=_K),
            worldmodels.PatchDecoder(4, 2, hidden_channels=3, key=_K),
            frame_shape=(2, 8, 8),
        ),
        lambda m: m.rollout(_FRAMES[:2], 2),
    ),
    "world-model-pixels": (
        lambda: worldmodels.WorldModel(
            None, worldmodels.Persistence(), None, frame_shape=(2, 8, 8)
        ),
        lambda m: m.rollout(_FRAMES, 2),
    ),
    # ---- latent
    "gru-autoencoder": (
        lambda: latent.GRUAutoencoder(
            3, 4, 2, encoder_dim=3, generator_dim=2, factor_dim=2, key=_K
        ),
        lambda m: m(_YS[:5, :1] @ jnp.ones((1, 3)))[0],
    ),
    "transformer-decoder": (
        lambda: latent.TransformerDecoder(
            3, 2, model_size=4, n_heads=2, ff_size=3, causal=True, dropout=0.1, key=_K
        ),
        lambda m: m(_YS[:5, :1] @ jnp.ones((1, 3))),
    ),
    "smoothing-baseline": (
        lambda: latent.SmoothingBaseline(
            weights=jnp.arange(16.0).reshape(4, 4) / 10,
            sd=1.5,
            n_input=3,
            n_output=4,
            n_forward=2,
        ),  # fmt: skip
        lambda m: m(_YS[:5, :1] @ jnp.ones((1, 3)))[0],
    ),
    # ---- koopman: trained networks
    "stnn-toeplitz": (
        lambda: koopman.StNN(2, 4, width=5, depth=2, structure="toeplitz", key=_K),
        lambda m: m.forecast(_YS[:4], 3),
    ),
    "stnn-no-hidden-layer": (
        lambda: koopman.StNN(2, 3, depth=0, key=_K),
        lambda m: m.forecast(_YS[:3], 3),
    ),
    "mlp-forecaster": (
        lambda: koopman.MLPForecaster(2, 4, width=5, depth=1, key=_K),
        lambda m: m.forecast(_YS[:4], 3),
    ),
    # ---- koopman: fitted results (not perturbed: their fields are consistent as fitted)
    "hankel-dmd-result": (
        lambda: koopman.HankelDMD(rank=3, delays=4, lag=2).fit(_YS, dt=0.1, t0=0.5),
        lambda m: m.forecast(3),
    ),
    "havok-result": (
        lambda: koopman.HAVOK(rank=4, delays=8).fit(_YS[:, 1], dt=0.1),
        lambda m: m.reconstruct(),
    ),
    "edmd-result": (
        lambda: koopman.EDMD(_edmd_dictionary()).fit_pairs(*_PAIRS, dt=0.1),
        lambda m: m.predict(_YS[0], 3),
    ),
    "kernel-edmd-result": (
        lambda: koopman.KernelEDMD(
            koopman.Kernel("polynomial", gamma=0.5, degree=3, coef0=2.0), rank=4
        ).fit_pairs(*_PAIRS),
        lambda m: m.predict(_YS[0], 3),
    ),
    "resdmd-result": (
        lambda: koopman.ResDMD(koopman.Identity()).fit(_YS[None], dt=0.1),
        lambda m: m.pseudospectrum(jnp.array([0.5 + 0.1j, 1.0 + 0.0j])),
    ),
    "sindy-result": (
        lambda: koopman.SINDy(degree=2, threshold=0.05).fit(_YS, dt=0.1),
        lambda m: m.simulate(_YS[0], 3, 0.1),
    ),
    "monomials-no-constant": (
        lambda: koopman.Monomials(3, 2, include_constant=False),
        lambda m: m(jnp.array([1.0, 2.0, -0.5])),
    ),
    "kernel-gaussian": (
        lambda: koopman.Kernel("gaussian", gamma=2.0),
        lambda m: m.gram(_YS[:3], _YS[3:5]),
    ),
}
_FITTED = {name for name in CASES if name.endswith("-result")}


def _build(name):
    obj = CASES[name][0]()
    return obj if name in _FITTED else _perturbed(obj)


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_is_bit_exact_and_computes_the_same(name, tmp_path):
    obj = _build(name)
    path = dynsys.save(tmp_path / f"{name}.eqx", obj)
    loaded = dynsys.load(path)
    _assert_identical(loaded, obj)
    header = read_header(path)
    assert header["class"].split(".")[1] in ("worldmodels", "latent", "koopman")
    assert header["class"].endswith("." + type(obj).__name__)
    apply = CASES[name][1]
    np.testing.assert_array_equal(np.asarray(apply(loaded)), np.asarray(apply(obj)))


def test_header_records_the_hyperparameters(tmp_path):
    model = _build("world-model")
    hp = read_header(dynsys.save(tmp_path / "wm.eqx", model))["hyperparameters"]
    assert hp["frame_shape"] == [2, 8, 8]
    assert hp["predictor"]["class"] == "dynsys.worldmodels.ReactionDiffusionPredictor"
    assert hp["predictor"]["hyperparameters"]["dilations"] == [1, 2, 4]
    assert hp["encoder"]["hyperparameters"]["dtype"] == "float64"
    stnn = read_header(dynsys.save(tmp_path / "s.eqx", _build("stnn-toeplitz")))
    assert stnn["hyperparameters"] == {
        "dim": 2, "delays": 4, "width": 5, "depth": 2, "structure": "toeplitz"
    }  # fmt: skip


def test_a_float32_result_loads_as_float32_with_x64(tmp_path):
    with jax.enable_x64(False):
        res = koopman.EDMD(koopman.Monomials(2, 2)).fit_pairs(
            *(x.astype(jnp.float32) for x in _PAIRS)
        )
        dynsys.save(tmp_path / "edmd.eqx", res)
    loaded = dynsys.load(tmp_path / "edmd.eqx")
    _assert_identical(loaded, res)
    assert loaded.koopman_matrix.dtype == jnp.float32
    assert loaded.eigenvalues.dtype == jnp.complex64


_CHILD = """
import sys, numpy as np, jax, dynsys
assert not jax.config.read("jax_enable_x64")
assert not any(m in sys.modules for m in ("dynsys.worldmodels", "dynsys.latent", "dynsys.koopman"))
loaded = [dynsys.load(p) for p in sys.argv[1:-1]]
leaves = [np.asarray(x) for x in jax.tree.leaves(loaded) if isinstance(x, jax.Array)]
np.savez(sys.argv[-1], *leaves)
"""


def test_a_process_without_x64_loads_float64_files_as_float32(tmp_path, run_without_x64):
    # The families are imported on the class names in the files, with warnings as errors.
    names = ["world-model", "gru-autoencoder", "stnn-toeplitz", "edmd-result", "havok-result"]
    objs = [_build(name) for name in names]
    paths = [str(dynsys.save(tmp_path / f"{name}.eqx", o)) for name, o in zip(names, objs)]
    got = run_without_x64(_CHILD, *paths)
    expected = [np.asarray(x) for x in jtu.tree_leaves(objs) if isinstance(x, jax.Array)]
    assert len(got) == len(expected)
    canonical = {np.dtype("float64"): np.float32, np.dtype("complex128"): np.complex64}
    assert {x.dtype for x in expected} == set(canonical)
    for g, e in zip(got, expected):
        assert g.dtype == canonical[e.dtype]
        np.testing.assert_array_equal(g, e.astype(canonical[e.dtype]))


# ---- what a file cannot hold is refused at saving, naming it


def test_a_function_dictionary_is_refused(tmp_path):
    fn_dict = koopman.FunctionDictionary(lambda s: s**2)
    res = koopman.EDMD(koopman.Identity() + fn_dict).fit_pairs(*_PAIRS)
    with pytest.raises(ValueError, match="Cannot save a FunctionDictionary.*never code"):
        dynsys.save(tmp_path / "edmd.eqx", res)
    assert not (tmp_path / "edmd.eqx").exists()


def test_a_kernel_function_is_refused(tmp_path):
    res = koopman.KernelEDMD(koopman.Kernel(lambda a, b: jnp.dot(a, b)), rank=2).fit_pairs(*_PAIRS)
    with pytest.raises(ValueError, match="Kernel whose `kind` is a Python function"):
        dynsys.save(tmp_path / "kedmd.eqx", res)


def test_a_changed_activation_is_refused(tmp_path):
    model = koopman.StNN(2, 3, depth=1, key=_K)
    object.__setattr__(model, "activation", jax.nn.relu)  # what no constructor makes
    with pytest.raises(ValueError, match="StNN: its activation 'relu' is not"):
        dynsys.save(tmp_path / "stnn.eqx", model)


class _Doubling(worldmodels.AbstractPredictor):
    context: int = eqx.field(static=True, default=1)
    latent_channels: None = eqx.field(static=True, default=None)

    def __call__(self, window):
        return 2.0 * window[-1]


def test_an_unregistered_predictor_is_refused(tmp_path):
    model = worldmodels.WorldModel(None, _Doubling(), None, frame_shape=(2, 8, 8))
    with pytest.raises(TypeError, match="_Doubling cannot be saved: its class is not registered"):
        dynsys.save(tmp_path / "wm.eqx", model)
