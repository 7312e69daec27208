import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys import systems
from dynsys.data import Benchmark, Standardization, benchmark, benchmark_names, generate

# One small size for all Lorenz-63 calls, so that they share one compiled solver.
N, TRANSIENT = 400, 100


def _l63(**kwargs):
    return benchmark("lorenz63", n_steps=N, transient=TRANSIENT, **kwargs)


# One instance (one function object), so that every test reuses its compiled solver.
OSCILLATOR = systems.from_function(
    lambda t, y: jnp.stack([y[1], -y[0]]), dim=2, y0=(1.0, 0.0), dt=0.1, name="oscillator"
)


def test_benchmark_is_deterministic_per_seed():
    a, b, c = _l63(seed=0), _l63(seed=0), _l63(seed=1)
    assert isinstance(a, Benchmark) and a.train.states.shape == (1, N, 3)
    for part in ("train", "test"):
        np.testing.assert_array_equal(
            np.asarray(getattr(a, part).states), np.asarray(getattr(b, part).states)
        )
        assert getattr(a, part).metadata == getattr(b, part).metadata
    assert not np.allclose(np.asarray(a.train.states), np.asarray(c.train.states), atol=0.1)
    assert a.train.metadata["seed"] == 0 and c.train.metadata["seed"] == 1


def test_benchmark_lorenz63_protocol_metadata_and_scaling():
    train, test = _l63(seed=0, noise=0.0)
    meta = train.metadata
    assert meta["system"] == "lorenz63" and meta["dt"] == 0.01 and train.dt == 0.01
    np.testing.assert_allclose(
        [meta["parameters"][k] for k in ("sigma", "rho", "beta")], [10.0, 28.0, 8.0 / 3.0]
    )
    assert (meta["split"], test.metadata["split"], test.metadata["noise"]) == ("train", "test", 0)
    assert meta["transient"] == TRANSIENT
    np.testing.assert_allclose(np.asarray(train.times)[[0, -1]], [1.0, 4.99], rtol=1e-12)
    # The clean training copy is exactly z-scored; the test copy uses the same statistics.
    flat = np.asarray(train.states)[0]
    np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(flat.std(axis=0), 1.0, rtol=1e-12)
    assert test.metadata["standardization"] == meta["standardization"]
    assert np.all(np.abs(np.asarray(test.states).mean(axis=1)) < 2.0)


def _lorenz_rhs(x):
    return np.stack(
        [
            10.0 * (x[:, 1] - x[:, 0]),
            x[:, 0] * (28.0 - x[:, 2]) - x[:, 1],
            x[:, 0] * x[:, 1] - 8.0 / 3.0 * x[:, 2],
        ],
        axis=-1,
    )


def test_train_and_test_are_independent_lorenz_trajectories():
    train, test = _l63(seed=0)
    x_tr, x_te = np.asarray(train.states)[0], np.asarray(test.states)[0]
    assert np.linalg.norm(x_tr[0] - x_te[0]) > 0.1
    assert train.metadata["y0"] != test.metadata["y0"]
    assert np.max(np.abs(x_tr - x_te)) > 1.0
    # Undoing the stored standardisation gives a Lorenz-63 orbit in physical units at
    # dt = 0.01: 4th-order central differences match the vector field (error ~ dt^4 x^(5)).
    raw = np.asarray(Standardization.from_metadata(test).invert(test).states)[0]
    h = 0.01
    deriv = (-raw[4:] + 8.0 * raw[3:-1] - 8.0 * raw[1:-3] + raw[:-4]) / (12.0 * h)
    rhs = _lorenz_rhs(raw[2:-2])
    np.testing.assert_allclose(deriv, rhs, atol=5e-3 * np.abs(rhs).max())


def test_noise_level_of_training_copy():
    noisy, clean = _l63(seed=3), _l63(seed=3, noise=0.0)
    assert noisy.train.metadata["noise"] == 0.05
    diff = np.asarray(noisy.train.states) - np.asarray(clean.train.states)
    np.testing.assert_allclose(diff.std(), 0.05, rtol=0.1)
    np.testing.assert_allclose(diff.mean(), 0.0, atol=0.01)
    np.testing.assert_array_equal(np.asarray(noisy.test.states), np.asarray(clean.test.states))
    assert noisy.train.metadata["standardization"] == clean.train.metadata["standardization"]


def test_dtype_argument_and_32_bit_mode():
    ref = _l63(seed=0)
    single = _l63(seed=0, dtype=jnp.float32)
    assert single.train.states.dtype == single.test.times.dtype == jnp.float32
    np.testing.assert_array_equal(
        np.asarray(single.test.states), np.asarray(ref.test.states).astype(np.float32)
    )
    with jax.enable_x64(False):
        x32 = _l63(seed=0)
        assert x32.train.states.dtype == jnp.float32
        with pytest.raises(ValueError, match="dtype"):
            _l63(seed=0, dtype=np.float64)
    np.testing.assert_array_equal(np.asarray(x32.train.states), np.asarray(single.train.states))


@pytest.mark.parametrize("name, dt, dim", [("rossler", 0.08, 3), ("lorenz96", 0.05, 20)])
def test_other_protocols(name, dt, dim):
    train, test = benchmark(name, n_steps=300, transient=50, seed=0)
    assert train.states.shape == test.states.shape == (1, 300, dim)
    assert train.dt == dt and train.metadata["noise"] == 0.0
    np.testing.assert_allclose(np.asarray(train.states)[0].std(axis=0), 1.0, rtol=1e-12)
    assert not np.allclose(np.asarray(train.states), np.asarray(test.states), atol=0.1)
    if name == "lorenz96":
        assert train.metadata["parameters"] == {"n": 20, "forcing": 8.0}
    assert name in benchmark_names()


def test_user_system_through_generate_matches_analytic_solution():
    data = generate(OSCILLATOR, n_trajectories=3, n_steps=30, seed=2)
    assert data.states.shape == (3, 30, 2) and data.dt == 0.1
    assert data.metadata["system"] == "oscillator" and data.metadata["noise"] == 0.0
    y0 = np.asarray(data.metadata["y0"])
    t = np.asarray(data.times)
    c, s = np.cos(t)[None, :], np.sin(t)[None, :]
    exact = np.stack([y0[:, :1] * c + y0[:, 1:] * s, -y0[:, :1] * s + y0[:, 1:] * c], axis=-1)
    np.testing.assert_allclose(np.asarray(data.states), exact, rtol=1e-8, atol=1e-8)
    np.testing.assert_array_equal(np.asarray(data.states)[:, 0], y0)


def test_user_system_through_benchmark():
    train, test = benchmark(OSCILLATOR, n_steps=30, transient=5, seed=0)
    assert train.metadata["system"] == "oscillator" and train.metadata["noise"] == 0.0
    np.testing.assert_allclose(np.asarray(train.states)[0].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(train.times)[0], 0.5, rtol=1e-12)
    noisy = benchmark(OSCILLATOR, n_steps=30, transient=5, seed=0, noise=0.1)
    assert noisy.train.metadata["noise"] == 0.1


def test_generate_relative_noise_and_determinism():
    kwargs = dict(n_trajectories=1, n_steps=N, transient=TRANSIENT)
    clean = generate("lorenz63", seed=0, **kwargs)
    noisy = generate("lorenz63", seed=0, noise=0.1, **kwargs)
    raw = np.asarray(clean.states)[0]
    rel = (np.asarray(noisy.states)[0] - raw).std(axis=0) / raw.std(axis=0)
    np.testing.assert_allclose(rel, 0.1, rtol=0.1)
    np.testing.assert_array_equal(np.asarray(generate("lorenz63", seed=0, **kwargs).states)[0], raw)
    other = np.asarray(generate("lorenz63", seed=1, **kwargs).states)[0]
    assert not np.allclose(raw, other, atol=0.1)


@pytest.mark.parametrize(
    "system, kwargs, err, match",
    [
        ("nonsense", {}, ValueError, "system"),
        (3, {}, TypeError, "system"),
        ("lorenz63", {"n_steps": 1}, ValueError, "n_steps"),
        ("lorenz63", {"n_steps": 10.5}, TypeError, "n_steps"),
        ("lorenz63", {"transient": -1}, ValueError, "transient"),
        ("lorenz63", {"noise": -0.1}, ValueError, "noise"),
        ("lorenz63", {"noise": float("nan")}, ValueError, "noise"),
        ("lorenz63", {"seed": -1}, ValueError, "seed"),
        ("lorenz63", {"seed": 1.5}, TypeError, "seed"),
        ("lorenz63", {"dt": -0.01}, ValueError, "dt"),
        ("lorenz63", {"y0_scale": -1.0}, ValueError, "y0_scale"),
        ("lorenz63", {"dtype": np.int32}, TypeError, "dtype"),
    ],
)
def test_bad_input_raises(system, kwargs, err, match):
    with pytest.raises(err, match=match):
        benchmark(system, **kwargs)
    with pytest.raises(err, match=match):
        generate(system, **{"n_steps": 10, **kwargs})


def test_generate_bad_counts_and_divergence():
    with pytest.raises(ValueError, match="n_trajectories"):
        generate("lorenz63", n_trajectories=0, n_steps=10)
    with pytest.raises(ValueError, match="y0_scale"):
        generate("logistic", n_steps=20, y0_scale=10.0, seed=0)


@pytest.mark.slow
def test_full_size_lorenz63_benchmark_is_fast_and_matches_protocol():
    start = time.perf_counter()
    train, test = benchmark("lorenz63", seed=0)
    elapsed = time.perf_counter() - start
    assert train.states.shape == test.states.shape == (1, 100_000, 3)
    np.testing.assert_allclose(
        np.asarray(train.states)[0].std(axis=0), np.hypot(1.0, 0.05), rtol=2e-3
    )
    np.testing.assert_allclose(np.asarray(test.states)[0].std(axis=0), 1.0, atol=0.05)
    assert elapsed < 60.0, f"generating the benchmark took {elapsed:.1f} s"
