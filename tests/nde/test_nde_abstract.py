"""AbstractNDE: the built-in models build their objectives, and a new model is a subclass."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dynsys import nde, training


class Decay(nde.AbstractNDE):
    """y(t) = y(t0) exp(-rate (t - t0)): the smallest model nde.fit can train."""

    rate: jax.Array
    data_dim: int = eqx.field(static=True)

    def __init__(self, rate):
        self.rate = jnp.asarray(rate)
        self.data_dim = 1

    def objective(self, phase):
        if phase.segments is not None:
            raise ValueError("Decay has no multiple shooting.")
        return DecayMatching()


class DecayMatching(training.AbstractObjective):
    def __call__(self, model, batch, state, *, step, key):
        t = batch.times - batch.times[0]
        pred = batch.states[:, :1] * jnp.exp(-model.rate * t)[None, :, None]
        mse = jnp.mean((pred - batch.states) ** 2)
        return mse, (state, {"mse": mse})


def _decay_data(rate=0.5, n=6, n_times=11):
    ts = jnp.linspace(0.0, 2.0, n_times)
    y0 = 1.0 + jnp.arange(n, dtype=ts.dtype)[:, None] / n
    return ts, (y0 * jnp.exp(-rate * ts)[None, :])[..., None]


def test_a_user_defined_model_trains_through_fit():
    ts, ys = _decay_data()
    result = nde.fit(Decay(1.0), ys, ts=ts, key=jax.random.key(0), steps=(20, 40),
                     lengths=(0.5, 1.0), batch_size=4, optimizer=optax.adam(5e-2),
                     progress=False)  # fmt: skip
    assert isinstance(result.model, Decay)
    assert result.traces == (1, 1) and result.lengths == (6, 11)
    assert set(result.history) == {"step", "loss", "mse", "phase"}
    assert result.history["loss"][-1] < 1e-2 * result.history["loss"][0]
    np.testing.assert_allclose(float(result.model.rate), 0.5, atol=0.05)
    with pytest.raises(ValueError, match="no multiple shooting"):
        nde.fit(Decay(1.0), ys, ts=ts, key=jax.random.key(0), steps=1,
                shooting=2, progress=False)  # fmt: skip


def _leaves(model):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))]


def test_checkpoint_resume_continues_bit_for_bit(tmp_path):
    # Two phases; a run cut after 2 steps of phase 1 and resumed from its per-phase
    # checkpoints ends exactly where the uninterrupted run does. (The model is the quickest
    # to compile; the per-phase checkpoints of nde.fit do not depend on it.)
    ts, ys = _decay_data()
    options = dict(ts=ts, key=jax.random.key(2), lengths=(0.5, 1.0), batch_size=4,
                   optimizer=optax.adam(5e-2), progress=False)  # fmt: skip
    full = nde.fit(Decay(1.0), ys, steps=(3, 5), **options,
                   checkpoint=training.Checkpointing(tmp_path / "full"))  # fmt: skip
    nde.fit(Decay(1.0), ys, steps=(3, 2), **options,
            checkpoint=training.Checkpointing(tmp_path / "cut", every=1))  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == ["phase0", "phase1"]
    resumed = nde.fit(Decay(1.0), ys, steps=(3, 5), **options,
                      checkpoint=training.Checkpointing(tmp_path / "cut", resume=True))  # fmt: skip
    assert resumed.traces == (0, 1)  # phase 0 restored complete, phase 1 continued
    for k in ("step", "loss", "mse", "phase"):
        np.testing.assert_array_equal(resumed.history[k], full.history[k])
    for a, b in zip(_leaves(resumed.model), _leaves(full.model), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(full.model.rate, Decay(1.0).rate)


def test_fit_passes_the_core_policies_on():
    ts, ys = _decay_data()
    evaluated = []
    result = nde.fit(Decay(1.0), ys, ts=ts, key=jax.random.key(0), steps=(4, 4),
                     lengths=(0.5, 1.0), batch_size=4, optimizer=optax.adam(1e-2),
                     progress=training.Progress(enabled=False), eval_every=2,
                     eval_fn=lambda m: evaluated.append(m) or {"rate": m.rate})  # fmt: skip
    assert all(isinstance(m, Decay) for m in evaluated)
    for phase in result.phases:
        np.testing.assert_array_equal(phase.eval_history["step"], [2, 4])
    # Finite updates for two steps, then an infinite learning rate: rolled back twice.
    diverging = optax.sgd(lambda count: jnp.where(count >= 2, jnp.inf, 1e-3))
    with pytest.raises(training.NonFiniteError, match="step 4 .*after 2 rollback"):
        nde.fit(Decay(1.0), ys, ts=ts, key=jax.random.key(0), steps=5, batch_size=4,
                optimizer=diverging, progress=False,
                on_nonfinite=training.RollbackOnNonfinite(max_rollbacks=2))  # fmt: skip


def test_an_incomplete_subclass_cannot_be_built():
    class NoObjective(nde.AbstractNDE):
        data_dim: int = 1

    with pytest.raises(TypeError):
        NoObjective()


def _phase(segments=None):
    ts = jnp.linspace(0.0, 1.0, 5)
    ys = jnp.zeros((3, 5, 2))
    return nde.FitPhase(index=0, ts=ts, ys=ys, mask=jnp.ones(ys.shape, bool),
                        key=jax.random.key(0), segments=segments)  # fmt: skip


MODELS = {
    "NeuralODE": (lambda k: nde.NeuralODE(2, key=k, width=4, depth=1), nde.TrajectoryMatching),
    "LatentODE": (
        lambda k: nde.LatentODE(2, key=k, latent_dim=2, hidden_size=3, width=4),
        nde.LatentODEELBO,
    ),  # fmt: skip
    "NeuralSDE": (lambda k: nde.NeuralSDE(2, dt0=0.1, key=k, width=8), nde.TransitionNLL),
    "LatentSDE": (
        lambda k: nde.LatentSDE(
            2, dt0=0.1, key=k, latent_dim=2, hidden_size=3, context_size=2, width=4
        ),
        nde.LatentSDEELBO,
    ),  # fmt: skip
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_is_an_abstract_nde_with_its_objective(name):
    make, objective_type = MODELS[name]
    model = make(jax.random.key(0))
    assert isinstance(model, nde.AbstractNDE)
    objective = model.objective(_phase())
    assert type(objective) is objective_type
    assert isinstance(objective, training.AbstractObjective)
    assert "Neural DEs" in objective.failure_hint
    segments = np.array([[0, 1, 2], [2, 3, 4]])
    if name == "NeuralODE":
        assert type(model.objective(_phase(segments))) is nde.MultipleShooting
    else:
        with pytest.raises(ValueError, match="NeuralODE models only"):
            model.objective(_phase(segments))
