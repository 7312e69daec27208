"""nde.fit: curriculum, multiple shooting, fixed batch shapes, solver failures, bad data."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg

from dynsys import nde, training

A = np.array([[-0.1, 1.3], [-1.0, -0.1]])


class Linear(eqx.Module):
    matrix: jax.Array

    def __call__(self, t, y, args=None):
        return self.matrix @ y


def _linear_data(n=6, n_times=21, t1=2.0, seed=0):
    ts = np.linspace(0.0, t1, n_times)
    y0 = np.random.default_rng(seed).normal(size=(n, 2))
    ys = np.stack([[scipy.linalg.expm(A * t) @ y for t in ts] for y in y0])
    return jnp.asarray(ts), jnp.asarray(ys)


def _cheap(model_matrix=A, solver=None, **kw):
    # Fixed-step RK: exact enough for these checks and quick to compile (Euler, quicker
    # still, where the checks do not need the true flow).
    return nde.NeuralODE(
        2, vector_field=Linear(jnp.asarray(model_matrix)), solver=solver or diffrax.Tsit5(),
        stepsize_controller=diffrax.ConstantStepSize(), dt0=0.02, max_steps=256, **kw,
    )  # fmt: skip


def test_curriculum_with_shooting_one_compilation_per_phase():
    # Two curriculum phases of multiple shooting (data initial conditions) with a wrong
    # model: lengths, one trace per phase, the loss decomposition, and learning.
    ts, ys = _linear_data()
    model = _cheap(A * 1.3, solver=diffrax.Euler())
    result = nde.fit(model, ys, ts=ts, key=jax.random.key(0), steps=(4, 3), lengths=(0.3, 1.0),
                     batch_size=4, shooting=2, continuity_weight=2.0,
                     optimizer=optax.adam(1e-2), progress=False)  # fmt: skip
    assert result.lengths == (7, 21)
    assert result.traces == (1, 1)
    h = result.history
    np.testing.assert_array_equal(h["phase"], [0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(h["step"], np.arange(7))
    assert len(result.phases) == 2 and result.initial_conditions is None
    assert np.all(h["continuity"] > 1e-4)  # a wrong model leaves gaps between segments
    np.testing.assert_allclose(h["loss"], h["mse"] + 2.0 * h["continuity"], rtol=1e-12)
    err0 = np.abs(np.asarray(model.vector_field.matrix) - A).sum()
    err1 = np.abs(np.asarray(result.model.vector_field.matrix) - A).sum()
    assert err1 < err0


def test_multiple_shooting_true_model_has_zero_loss():
    # With the true vector field, every segment reproduces the data and the gaps vanish:
    # a wrong segment indexing or continuity term would show up as a non-zero loss.
    ts, ys = _linear_data()
    result = nde.fit(_cheap(), ys, ts=ts, key=jax.random.key(1), steps=1, batch_size=4,
                     shooting=4, shooting_init="learned", optimizer=optax.sgd(0.0),
                     progress=False)  # fmt: skip
    assert result.history["loss"][0] < 1e-12
    assert result.history["continuity"][0] < 1e-12
    assert result.initial_conditions.shape == (6, 4, 2)
    np.testing.assert_allclose(np.asarray(result.initial_conditions), ys[:, ::5][:, :4])


def test_solver_failure_names_trajectory_time_and_remedy():
    # Per-sample grids: series 3 spans 5 time units, the others 1; with 0.1 fixed steps and
    # max_steps=20 only series 3 fails, after t = 2.0.
    ts = np.tile(np.linspace(0.0, 1.0, 11), (5, 1))
    ts[3] = np.linspace(0.0, 5.0, 11)
    ys = np.ones((5, 11, 2))
    model = nde.NeuralODE(2, vector_field=Linear(jnp.asarray(A)), solver=diffrax.Euler(),
                          stepsize_controller=diffrax.ConstantStepSize(), dt0=0.1,
                          max_steps=20)  # fmt: skip
    with pytest.raises(nde.SolverError) as info:
        nde.fit(model, ys, ts=ts, key=jax.random.key(0), steps=2, batch_size=5, progress=False)
    err = info.value
    assert isinstance(err, training.NonFiniteError)
    assert err.trajectory == 3 and err.step == 0 and err.phase == 0
    assert err.time_interval == (2.0, 2.5)
    msg = str(err)
    assert "trajectory 3" in msg and "maximum number of solver steps" in msg
    assert "max_steps" in msg and "Kvaerno5" in msg


def test_mask_handles_missing_values_and_nan_requires_a_mask():
    ts, ys = _linear_data(n=4)
    mask = np.ones(ys.shape[:2], dtype=bool)
    mask[1, 5:9] = False
    mask[2, 12] = False
    nan_ys = np.asarray(ys).copy()
    nan_ys[~mask] = np.nan
    with pytest.raises(ValueError, match="not masked out.*mask="):
        nde.fit(_cheap(), nan_ys, ts=ts, key=jax.random.key(0), steps=1, progress=False)
    model = _cheap(A * 1.2, solver=diffrax.Euler())
    result = nde.fit(model, nan_ys, mask=mask, ts=ts, key=jax.random.key(0), steps=1,
                     batch_size=4, optimizer=optax.sgd(0.0), progress=False)  # fmt: skip
    # The batch is the 4 series in some order: the loss is the MSE over observed entries.
    pred = np.asarray(jax.vmap(model, in_axes=(None, 0))(ts, ys[:, 0]))
    expected = np.mean((pred - np.asarray(ys))[mask] ** 2)
    np.testing.assert_allclose(result.history["loss"][0], expected, rtol=1e-10)


def test_bad_fit_inputs():
    ts, ys = _linear_data(n=3)
    model = _cheap()
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="disagree in length"):
        nde.fit(model, ys, ts=ts[:-1], key=key, steps=1, progress=False)
    with pytest.raises(ValueError, match="strictly increasing"):
        nde.fit(model, ys, ts=ts.at[4].set(ts[3]), key=key, steps=1, progress=False)
    bad_rows = jnp.tile(ts, (3, 1)).at[2, 7].set(0.0)
    with pytest.raises(ValueError, match=r"ts\[2, 7\]"):
        nde.fit(model, ys, ts=bad_rows, key=key, steps=1, progress=False)
    with pytest.raises(ValueError, match="last axis of length 2"):
        nde.fit(model, ys[..., :1], ts=ts, key=key, steps=1, progress=False)
    with pytest.raises(ValueError, match="`ts` is required"):
        nde.fit(model, ys, key=key, steps=1, progress=False)
    with pytest.raises(TypeError, match="NeuralODE, LatentODE"):
        nde.fit(object(), ys, ts=ts, key=key, steps=1, progress=False)
    with pytest.raises(ValueError, match="`lengths`"):
        nde.fit(model, ys, ts=ts, key=key, steps=(1, 1), lengths=(0.5,), progress=False)
    with pytest.raises(ValueError, match="shooting"):
        nde.fit(model, ys, ts=ts, key=key, steps=1, shooting=30, progress=False)
    with pytest.raises(TypeError, match="boolean"):
        nde.fit(model, ys, ts=ts, mask=np.ones(ys.shape[:2]), key=key, steps=1, progress=False)
    first_missing = np.ones(ys.shape[:2], dtype=bool)
    first_missing[0, 0] = False
    with pytest.raises(ValueError, match="first time point"):
        nde.fit(model, ys, ts=ts, mask=first_missing, key=key, steps=1, progress=False)


def _quick():
    # The quickest NeuralODE to compile (Euler, direct adjoint, 20 steps per solve), for the
    # checks of fit's plumbing, which do not need an accurate flow.
    return nde.NeuralODE(
        2, vector_field=Linear(jnp.asarray(A)), solver=diffrax.Euler(),
        stepsize_controller=diffrax.ConstantStepSize(), adjoint=diffrax.DirectAdjoint(),
        dt0=0.1, max_steps=32,
    )  # fmt: skip


# Finite updates for two steps, then an infinite learning rate.
DIVERGING = optax.sgd(lambda count: jnp.where(count >= 2, jnp.inf, 1e-3))


def _leaves(model):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))]


def test_given_optimizer_is_used():
    # A zero learning rate leaves every parameter exactly where it was (the default
    # optimizer, adabelief, would move them).
    ts, ys = _linear_data(n=4)
    model = _quick()
    result = nde.fit(model, ys, ts=ts, key=jax.random.key(0), steps=2, batch_size=2,
                     optimizer=optax.sgd(0.0), progress=False)  # fmt: skip
    assert result.history["loss"][0] > 0
    for a, b in zip(_leaves(result.model), _leaves(model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_diverging_run_names_the_step_and_the_nde_hint():
    ts, ys = _linear_data(n=4)
    with pytest.raises(training.NonFiniteError) as info:
        nde.fit(_quick(), ys, ts=ts, key=jax.random.key(0), steps=5, batch_size=2,
                optimizer=DIVERGING, progress=False)  # fmt: skip
    err = info.value
    # The last good model solves fine, so this is no solver failure.
    assert not isinstance(err, nde.SolverError)
    assert err.step == 2 and err.quantity.startswith("parameters")
    assert "step 2" in str(err) and "Neural DEs:" in str(err) and "`lengths`" in str(err)


def test_fit_options_are_checked():
    ts, ys = _linear_data(n=3)
    model = _cheap()
    key = jax.random.key(0)
    with pytest.raises(TypeError, match="Checkpointing"):
        nde.fit(model, ys, ts=ts, key=key, steps=1, checkpoint="runs", progress=False)
    with pytest.raises(ValueError, match="`eval_every` was given without `eval_fn`"):
        nde.fit(model, ys, ts=ts, key=key, steps=1, eval_every=2, progress=False)
    with pytest.raises(ValueError, match="on_nonfinite"):
        nde.fit(model, ys, ts=ts, key=key, steps=1, on_nonfinite="ignore", progress=False)
    with pytest.raises(ValueError, match="shared time grid"):
        nde.fit(model, ys, ts=jnp.tile(ts, (3, 1)), key=key, steps=1, shooting=2,
                progress=False)  # fmt: skip
