import logging

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dynsys
from dynsys.dsr import (
    ALRNN,
    PLRNN,
    AbstractPLRNN,
    AffineObservation,
    DendriticPLRNN,
    IdentityObservation,
    ShallowPLRNN,
)

KEY = jax.random.key(0)
NAMES = [
    "plrnn",
    "plrnn_affine",
    "shplrnn",
    "shplrnn_clipped",
    "alrnn",
    "dendplrnn",
    "dendplrnn_clipped",
]


@pytest.fixture(scope="module")
def models():
    """One small instance of every model form (few distinct shapes: compiles are shared)."""
    return {
        "plrnn": PLRNN(5, 3, key=KEY),
        "plrnn_affine": PLRNN(5, 3, key=KEY, observation="affine"),
        "shplrnn": ShallowPLRNN(4, 7, 3, key=KEY),
        "shplrnn_clipped": ShallowPLRNN(4, 7, 3, key=KEY, clipped=True),
        "alrnn": ALRNN(6, 2, 3, key=KEY),
        "dendplrnn": DendriticPLRNN(4, 3, 2, key=KEY),
        "dendplrnn_clipped": DendriticPLRNN(4, 3, 2, key=KEY, clipped=True),
    }


def _perturb(model, seed):
    """Add noise to every float leaf so that biases etc. are non-zero (NumPy: no compiles)."""
    rng = np.random.default_rng(seed)
    leaves, treedef = jax.tree_util.tree_flatten(eqx.filter(model, eqx.is_inexact_array))
    noisy = [jnp.asarray(np.asarray(x) + 0.5 * rng.standard_normal(x.shape)) for x in leaves]
    return eqx.combine(jax.tree_util.tree_unflatten(treedef, noisy), model)


@eqx.filter_jit
def _reference_values(model, x0, points):
    """Autodiff and analytic Jacobians, the affine pieces, and a hand-iterated trajectory."""
    autodiff = jax.vmap(jax.jacfwd(model.step))(points)
    analytic = jax.vmap(model.jacobian)(points)
    jac, offset = jax.vmap(model.affine_piece)(model.activation_pattern(points))
    piecewise = jnp.einsum("bij,bj->bi", jac, points) + offset
    third = model.readout(model.step(model.step(model.step(model.init_state(x0)))))
    return autodiff, analytic, piecewise, model.step(points), third


def _inputs(model):
    x0 = jnp.linspace(-1.0, 1.0, model.obs_dim)
    points = jnp.asarray(2.0 * np.random.default_rng(2).standard_normal((6, model.latent_dim)))
    return x0, points


@pytest.mark.parametrize("name", NAMES)
def test_analytic_jacobian_matches_autodiff(models, name):
    model = _perturb(models[name], 1)
    autodiff, analytic, piecewise, step, _ = _reference_values(model, *_inputs(model))
    np.testing.assert_allclose(np.asarray(analytic), np.asarray(autodiff), rtol=0, atol=1e-13)
    # the affine piece of each point's region reproduces the map there
    np.testing.assert_allclose(np.asarray(piecewise), np.asarray(step), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_common_interface(models, name):
    model = _perturb(models[name], 1)  # same structure as above: the helper is compiled once
    assert isinstance(model, AbstractPLRNN)
    x0, points = _inputs(model)
    xs = model.generate(x0, 7)
    assert xs.shape == (7, model.obs_dim) and xs.dtype == jnp.float64
    # the first row is the readout of the inferred initial state, i.e. x0 itself (N <= M)
    np.testing.assert_allclose(np.asarray(xs[0]), np.asarray(x0), rtol=0, atol=1e-12)
    third = _reference_values(model, x0, points)[-1]
    np.testing.assert_allclose(np.asarray(xs[3]), np.asarray(third), rtol=1e-13, atol=1e-13)


def test_generate_latent_and_single_step(models):
    model = models["alrnn"]
    x0 = jnp.linspace(-1.0, 1.0, 3)
    zs = model.generate_latent(model.init_state(x0), 7)
    assert zs.shape == (7, 6)
    np.testing.assert_allclose(np.asarray(model.readout(zs)), np.asarray(model.generate(x0, 7)))
    np.testing.assert_allclose(np.asarray(zs[3]), np.asarray(model.step(zs[2])), rtol=1e-14)
    assert model.generate(x0, 1).shape == (1, 3)
    # a batch of initial conditions gives the batch of single runs
    xb = model.generate(jnp.stack([x0, -x0]), 7)
    assert xb.shape == (2, 7, 3)
    np.testing.assert_allclose(
        np.asarray(xb[1]), np.asarray(model.generate(-x0, 7)), rtol=1e-14, atol=1e-14
    )


def test_parameter_counts_match_reference():
    def count(cls, *args, **kwargs):  # shapes only: nothing is allocated or compiled
        return eqx.filter_eval_shape(cls, *args, key=KEY, **kwargs).n_parameters

    # AL-RNN (ALRNN-DSR struct fields): M=20, N=3 (identity): M² + 2M + (M−N)N = 440 + 51
    assert count(ALRNN, 20, 2, 3) == 491
    # shPLRNN (GTF-shPLRNN struct fields): 2ML + 2M + L; M=3, L=50 -> 356, L=100 -> 706 (M=N:
    # no L matrix)
    assert count(ShallowPLRNN, 3, 50, 3) == 356
    assert count(ShallowPLRNN, 3, 100, 3, clipped=True) == 706
    assert count(ShallowPLRNN, 3, 50, 3, n_inputs=2) == 356 + 6  # + MK
    # PLRNN: A, off-diagonal W, h = M² + M; the affine readout B adds N·M
    assert count(PLRNN, 5, 3, observation="affine") == 30 + 15
    # dendPLRNN: M² + M + B + MB + (M−N)N
    assert count(DendriticPLRNN, 4, 3, 2) == 20 + 3 + 12 + 4


def test_parameter_count_of_a_real_model(models):
    assert models["alrnn"].n_parameters == 36 + 12 + 9
    assert models["shplrnn_clipped"].n_parameters == 2 * 4 * 7 + 8 + 7 + 3


def test_initialisations(models):
    # normalized positive definite: diag(A) + W_off is K / λmax(K), symmetric, eig in (0, 1]
    plrnn = models["plrnn"]
    full = np.asarray(jnp.diag(plrnn.A) + plrnn.W)
    np.testing.assert_array_equal(full, full.T)
    eig = np.linalg.eigvalsh(full)
    np.testing.assert_allclose(eig[-1], 1.0, rtol=1e-12)
    assert eig[0] > 0
    np.testing.assert_array_equal(np.diag(np.asarray(plrnn.W)), 0.0)
    np.testing.assert_array_equal(np.asarray(plrnn.h), 0.0)
    # AL-RNN: same A rule; W ~ N(0, 0.01²), full; L ~ U(±1/√N)
    al = ALRNN(20, 2, 3, key=KEY)
    assert np.all((np.asarray(al.A) > 0) & (np.asarray(al.A) <= 1))
    np.testing.assert_allclose(np.std(np.asarray(al.W)), 0.01, rtol=0.15)
    assert np.all(np.diag(np.asarray(al.W)) != 0)
    assert al.observation.L.shape == (17, 3)
    assert np.abs(np.asarray(al.observation.L)).max() <= 3**-0.5
    # shPLRNN: W1 ~ U(±1/√L), W2 ~ U(±1/√M), h1 = 0, h2 = 0 unless clipped (then U(±1/√L))
    sh, shc = models["shplrnn"], models["shplrnn_clipped"]
    assert np.abs(np.asarray(sh.W1)).max() <= 7**-0.5
    assert 0.5 * 4**-0.5 < np.abs(np.asarray(sh.W2)).max() <= 4**-0.5
    np.testing.assert_array_equal(np.asarray(sh.h2), 0.0)
    np.testing.assert_array_equal(np.asarray(sh.h1), 0.0)
    h2 = np.abs(np.asarray(shc.h2))
    assert h2.max() <= 7**-0.5 and h2.min() > 0


def test_same_key_same_model_and_dtype_option(models):
    assert eqx.tree_equal(ALRNN(6, 2, 3, key=KEY), models["alrnn"])
    assert not eqx.tree_equal(ALRNN(6, 2, 3, key=jax.random.key(1)), models["alrnn"])
    m32 = ShallowPLRNN(4, 7, 3, key=KEY, clipped=True, dtype=jnp.float32)
    assert m32.dtype == jnp.float32 and m32.W1.dtype == jnp.float32
    assert m32.observation.L.dtype == jnp.float32
    # a float64 x0 is cast at the boundary (strict promotion would reject the mix)
    assert m32.generate(np.ones(3), 7).dtype == jnp.float32


def test_plrnn_diagonal_of_w_is_inert_and_gets_zero_gradient(models):
    model = models["plrnn"]
    with_diag = eqx.tree_at(lambda m: m.W, model, model.W + 7.0 * jnp.eye(5))
    z = jnp.array([0.3, -1.0, 2.0, 0.5, 1.5])
    np.testing.assert_array_equal(np.asarray(with_diag.step(z)), np.asarray(model.step(z)))

    def loss(m):
        return jnp.sum(m.generate(jnp.array([1.0, -0.5, 0.2]), 7) ** 2)

    grads = eqx.filter_grad(loss)(model)
    np.testing.assert_array_equal(np.diag(np.asarray(grads.W)), 0.0)
    assert np.count_nonzero(np.asarray(grads.W)) > 0


def test_alrnn_equation_by_hand(models):
    a = jnp.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    w = jnp.arange(36.0).reshape(6, 6) / 10
    h = jnp.linspace(0.1, 0.6, 6)
    model = eqx.tree_at(lambda m: (m.A, m.W, m.h), models["alrnn"], (a, w, h))
    z = jnp.array([-1.0, -2.0, 0.5, 1.0, -3.0, 4.0])
    phi = np.array([-1.0, -2.0, 0.5, 1.0, 0.0, 4.0])  # identity on M−P=4 units, ReLU on P=2
    expected = np.asarray(a) * np.asarray(z) + np.asarray(w) @ phi + np.asarray(h)
    np.testing.assert_allclose(np.asarray(model.step(z)), expected, rtol=1e-14)
    slopes = np.array([1, 1, 1, 1, 0, 1])
    np.testing.assert_array_equal(
        np.asarray(model.jacobian(z)), np.diag(np.asarray(a)) + np.asarray(w) * slopes
    )


def test_clipped_shallow_plrnn_orbits_stay_bounded(models):
    model = models["shplrnn_clipped"]
    # huge weights: the clipped hidden units still stay within [min(0, h2), max(0, h2)]
    model = eqx.tree_at(lambda m: (m.W1, m.W2), model, (50.0 * model.W1, 50.0 * model.W2))
    w1, h2, h1 = (np.asarray(x) for x in (model.W1, model.h2, model.h1))
    a_max = float(np.max(np.abs(np.asarray(model.A))))
    assert a_max < 1
    bound = (np.abs(w1) @ np.abs(h2) + np.abs(h1)).max() / (1 - a_max)
    zs = model.generate_latent(jnp.zeros(4), 2000)
    assert 0.1 * bound < float(jnp.max(jnp.abs(zs))) <= bound * (1 + 1e-12)
    upper = float(model.jacobian_norm_upper_bound())
    np.testing.assert_allclose(
        upper, a_max + np.linalg.norm(w1, 2) * np.linalg.norm(np.asarray(model.W2), 2), rtol=1e-12
    )
    norms = jax.vmap(lambda z: jnp.linalg.norm(model.jacobian(z), 2))(zs[::20])
    assert float(norms.max()) <= upper


def test_external_inputs():
    model = ALRNN(4, 1, 2, key=KEY, n_inputs=2)
    assert model.C.shape == (4, 2) and model.n_inputs == 2
    assert np.abs(np.asarray(model.C)).max() <= 1.0  # Glorot: √(6 / (4 + 2))
    s = jnp.array([[9.0, 9.0], [1.0, -1.0], [0.5, 2.0]])
    x0 = jnp.array([0.2, -0.3])
    z0 = model.init_state(x0)
    zs = model.generate_latent(z0, 3, inputs=s)
    z1 = model.step(z0, s[1])  # row 0 of the inputs is not used
    np.testing.assert_allclose(np.asarray(zs[1]), np.asarray(z1), rtol=1e-14)
    np.testing.assert_allclose(
        np.asarray(z1 - model.step(z0)), np.asarray(model.C @ s[1]), rtol=1e-12
    )
    assert model.generate(x0, 3).shape == (3, 2)  # no inputs: s = 0
    with pytest.raises(ValueError, match="inputs"):
        model.generate(x0, 3, inputs=jnp.zeros((4, 2)))


def test_validation_at_the_boundary(models):
    with pytest.raises(ValueError, match="pwl_units"):
        ALRNN(4, 5, 2, key=KEY)
    with pytest.raises(ValueError, match="obs_dim"):
        ALRNN(4, 1, 5, key=KEY)
    with pytest.raises(TypeError, match="latent_dim"):
        PLRNN(4.5, 2, key=KEY)
    with pytest.raises(ValueError, match="observation"):
        PLRNN(4, 2, key=KEY, observation="linear")
    with pytest.raises(ValueError, match="observation"):
        PLRNN(4, 2, key=KEY, observation=IdentityObservation(5, 2, key=KEY))
    model = models["alrnn"]
    with pytest.raises(ValueError, match="x0"):
        model.generate(jnp.ones(2), 5)
    with pytest.raises(ValueError, match="x0"):
        model.generate(jnp.ones((2, 2, 3)), 5)
    with pytest.raises(ValueError, match="x0"):
        model.generate(jnp.array([1.0, jnp.nan, 0.0]), 5)
    with pytest.raises(ValueError, match="n_steps"):
        model.generate(jnp.ones(3), 0)
    with pytest.raises(TypeError, match="n_steps"):
        model.generate(jnp.ones(3), 5.0)
    with pytest.raises(ValueError, match="z0"):
        model.generate_latent(jnp.ones(3), 5)
    with pytest.raises(ValueError, match="inputs"):
        model.generate(jnp.ones(3), 3, inputs=jnp.zeros((3, 1)))
    # affine observations allow N > M
    wide = PLRNN(3, 8, key=KEY, observation=AffineObservation(3, 8, key=KEY))
    assert wide.generate(jnp.ones(8), 4).shape == (4, 8)


def test_top_level_reexports():
    assert dynsys.ALRNN is ALRNN and dynsys.PLRNN is PLRNN
    assert dynsys.ShallowPLRNN is ShallowPLRNN


def test_generate_compiles_once(models):
    model = models["alrnn"]
    model.generate(jnp.ones(3), 7)
    other = eqx.tree_at(lambda m: m.h, model, model.h + 1.0)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("jax")
    logger.addHandler(handler)
    try:
        with jax.log_compiles():
            other.generate(-jnp.ones(3), 7)  # new values, same shapes
            model.generate(jnp.ones(3), 8)  # a new length is a new trace
    finally:
        logger.removeHandler(handler)
    compiled = [r for r in records if r.getMessage().startswith("Compiling jit(_generate)")]
    assert len(compiled) == 1
