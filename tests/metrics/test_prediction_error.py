import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dynsys
from dynsys.metrics import PredictionErrorResult, prediction_error


def _identity(x):
    return x


@pytest.fixture(scope="module")
def henon_data():
    return dynsys.simulate(dynsys.systems.Henon(), None, jnp.arange(600.0))[100:]


def _rotation(angle):
    c, s = np.cos(angle), np.sin(angle)
    return jnp.asarray([[c, -s], [s, c]])


def test_exact_map_has_zero_error(henon_data):
    result = prediction_error(dynsys.systems.Henon().step, _identity, henon_data, n=20)
    assert isinstance(result, PredictionErrorResult)
    assert result.curve.shape == (20,)
    np.testing.assert_allclose(np.asarray(result.curve), 0.0, atol=1e-20)


def test_perturbed_map_error_is_positive_and_grows(henon_data):
    wrong = dynsys.systems.Henon(a=1.399)
    result = prediction_error(wrong.step, _identity, henon_data, n=15)
    curve = np.asarray(result.curve)
    assert curve[0] > 0
    assert np.all(np.diff(curve) > 0)
    np.testing.assert_allclose(np.asarray(result.value), curve[-1], rtol=0)


def test_rotation_with_wrong_angle_matches_analytic_curve():
    # data x_{t+1} = R(θ) x_t, model R(θ + δ): after k steps the error vector has squared
    # norm 2|x|²(1 − cos kδ), and |x_t| = |x_0|; the MSE divides by dim = 2.
    theta, delta, n = 0.3, 1e-3, 25
    angles = theta * np.arange(200.0) + np.arctan2(0.5, 1.0)
    steps = np.sqrt(1.25) * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    model = _rotation(theta + delta)
    result = prediction_error(lambda z: model @ z, _identity, steps, n=n)
    k = np.arange(1, n + 1)
    expected = 1.25 * (1.0 - np.cos(k * delta))
    np.testing.assert_allclose(np.asarray(result.curve), expected, rtol=1e-6)


def test_matches_a_loop_reference_with_latent_state_and_readout():
    # latent z = (u, v, w) with a readout that mixes entries; checked against plain loops
    rng = np.random.default_rng(0)
    data = rng.normal(size=(40, 2))
    weights = 0.5 * rng.normal(size=(3, 3))
    lift = rng.normal(size=(3, 2))
    out = rng.normal(size=(2, 3))

    def step(z):
        return jnp.tanh(jnp.asarray(weights) @ z)

    def init(x):
        return jnp.asarray(lift) @ x

    def readout(z):
        return jnp.asarray(out) @ z

    n = 4
    expected = np.zeros(n)
    for t in range(40 - n):
        z = lift @ data[t]
        for k in range(1, n + 1):
            z = np.tanh(weights @ z)
            expected[k - 1] += np.sum((out @ z - data[t + k]) ** 2)
    expected /= (40 - n) * 2
    result = prediction_error(step, init, data, n=n, readout=readout)
    np.testing.assert_allclose(np.asarray(result.curve), expected, rtol=1e-12)
    batched = prediction_error(step, init, data, n=n, readout=readout, batch_size=7)
    np.testing.assert_allclose(np.asarray(batched.curve), expected, rtol=1e-12)


def test_default_readout_takes_the_first_entries(henon_data):
    henon = dynsys.systems.Henon()

    def init(x):
        return jnp.concatenate([x, jnp.zeros(3)])

    def step(z):
        return jnp.concatenate([henon.step(z[:2]), z[2:] + 1.0])

    result = prediction_error(step, init, henon_data, n=5)
    np.testing.assert_allclose(np.asarray(result.curve), 0.0, atol=1e-20)


def test_is_jit_able(henon_data):
    wrong = dynsys.systems.Henon(a=1.39)
    jitted = jax.jit(lambda data: prediction_error(wrong.step, _identity, data, n=6).curve)
    np.testing.assert_allclose(
        np.asarray(jitted(henon_data)),
        np.asarray(prediction_error(wrong.step, _identity, henon_data, n=6).curve),
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    "kwargs, name, error",
    [
        (dict(n=0), "`n`", ValueError),
        (dict(n=2.0), "`n`", TypeError),
        (dict(n=600), "`data`", ValueError),
        (dict(data=np.zeros(50)), "`data`", ValueError),
        (dict(data=np.full((50, 2), np.nan)), "`data`", ValueError),
        (dict(step_fn=3), "`step_fn`", TypeError),
        (dict(init_fn=None), "`init_fn`", TypeError),
        (dict(step_fn=lambda z: z[:1]), "`step_fn`", ValueError),
        (dict(readout=lambda z: z[0]), "`readout`", ValueError),
        (dict(init_fn=lambda x: x[:1]), "`init_fn`", ValueError),
        (dict(batch_size=0), "`batch_size`", ValueError),
    ],
)
def test_bad_inputs_name_the_argument(henon_data, kwargs, name, error):
    args = dict(step_fn=dynsys.systems.Henon().step, init_fn=_identity, data=henon_data)
    args.update(kwargs)
    with pytest.raises(error, match=name):
        prediction_error(args.pop("step_fn"), args.pop("init_fn"), args.pop("data"), **args)
