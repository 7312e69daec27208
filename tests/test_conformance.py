"""One conformance suite over every model family, in the manner of optax's `_common_test.py`.

Each family supplies a tiny problem (`Case`): its model, its public `fit` called with a
passed-in optax optimiser, its public `evaluate(model, test)`, and the headline score that
training must improve. Every family must then behave the same way:

- `fit` lowers the loss, and the trained model scores better than the untrained one;
- `evaluate` returns a `dynsys.metrics.AbstractScores` whose scores are finite and strict JSON;
- `dynsys.save` / `dynsys.load` round-trip the trained model bit for bit;
- the same key gives the same trained model, bit for bit;
- data with a NaN raise a `ValueError` naming the data argument, before any training.

One test per family (not one per property), so that each family's fits run once per
test on one worker; the whole module costs about a minute of CPU.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax
import pytest

import dynsys
from dynsys import data, dsr, koopman, latent, nde, pde, rom, training
from dynsys import worldmodels as wm
from dynsys.metrics import AbstractScores

KEY = jax.random.key(7)


@dataclasses.dataclass(frozen=True)
class Case:
    """A family's tiny problem, seen through its public API.

    `fit(model, key, train) -> (trained model, per-step losses)`; `evaluate(model) ->
    scores`; `headline`: the score training must lower (`lower=True`) or raise, by at least
    the factor `margin` (trained ≤ margin · untrained, or ≥ untrained + margin when
    raising); `bad_data()` builds `train` with a NaN (negative counts for spikes), and
    building it or fitting on it must raise a `ValueError` matching `bad_match`.
    """

    model: Any
    train: Any
    bad_data: Callable[[], Any]
    fit: Callable[[Any, Any, Any], tuple[Any, np.ndarray]]
    evaluate: Callable[[Any], AbstractScores]
    headline: str
    lower: bool
    margin: float
    bad_match: str


def _with_nan(x):
    x = np.array(x)
    x.reshape(-1)[x.size // 3] = np.nan
    return x


def _cycle(n=800, dt=0.05):
    t = np.arange(n) * dt
    return np.stack([np.cos(t), np.sin(t) + 0.3 * np.cos(2 * t)], axis=1)


def _dsr_case():
    x = _cycle()
    train = data.Trajectories.from_arrays(x[:600], dt=0.05)
    test = data.Trajectories.from_arrays(x[600:], dt=0.05)
    settings = dsr.TrainingSettings(latent_dim=6, pwl_units=2, tau=10, sequence_length=40,
                                    batch_size=8, batches_per_epoch=10, n_epochs=40)  # fmt: skip

    def fit(model, key, train, optimizer=None):
        lr = optax.exponential_decay(5e-3, 400, 0.05)
        res = dsr.fit(model, train, key=key, settings=settings, n_steps=400,
                      optimizer=optimizer or optax.adam(lr), progress=False)  # fmt: skip
        return res.model, np.asarray(res.fit.history["loss"])

    return Case(
        model=dsr.ALRNN(6, 2, 2, key=jax.random.key(0)),
        train=train,
        bad_data=lambda: _with_nan(x[:600]),
        fit=fit,
        evaluate=lambda m: dsr.evaluate(m, test, lyapunov_steps=500, n_bins=8),
        headline="pe",
        lower=True,
        margin=0.5,
        bad_match="data",
    )


def _nde_case():
    x = _cycle(400, 0.1)
    ts = jnp.arange(20.0) * 0.1
    windows = np.stack([x[i : i + 20] for i in range(0, 300, 10)])
    test = data.Trajectories.from_arrays(x[300:], dt=0.1)

    def fit(model, key, train, optimizer=None):
        res = nde.fit(model, train, ts=ts, key=key, steps=80, batch_size=8,
                      optimizer=optimizer or optax.adam(1e-2), progress=False)  # fmt: skip
        return res.model, np.asarray(res.history["loss"])

    return Case(
        model=nde.NeuralODE(2, width=16, depth=1, key=jax.random.key(0)),
        train=windows,
        bad_data=lambda: _with_nan(windows),
        fit=fit,
        evaluate=lambda m: nde.evaluate(m, test, lyapunov_steps=50, n_bins=8),
        headline="pe",
        lower=True,
        margin=0.5,
        bad_match="NaN",
    )


def _rom_case():
    solver = pde.ParametricBurgers(num_points=64)
    mus = jnp.asarray([0.015, 0.03])
    fields = pde.pde_trajectories(solver, jnp.ones((2, 1, 64)), 9, aux=mus)
    x = jnp.asarray(solver.grid)[:, None]
    k1, k2 = jax.random.split(jax.random.key(0))
    decoder = rom.MLPDecoder(1, 3, 1, width=16, depth=2, coord_bounds=(0.0, 100.0),
                             output_scale=float(fields.states.mean()), key=k1)  # fmt: skip
    dynamics = rom.LatentDynamics(3, 1, width=16, depth=2, param_bounds=(0.015, 0.03), key=k2)

    def fit(model, key, train, optimizer=None):
        res = rom.fit_phirom(model, train, solver, coords=x, params=mus, n_steps=60,
                             batch_size=8, warmup_steps=20,
                             optimizer=optimizer or optax.adam(5e-3),
                             key=key, progress=False)  # fmt: skip
        return res.model, np.asarray(res.history["loss"])

    return Case(
        model=rom.PhiROM(decoder, dynamics, dt=0.07),
        train=fields,
        bad_data=lambda: data.Trajectories.from_arrays(_with_nan(fields.states), dt=fields.dt),
        fit=fit,
        evaluate=lambda m: rom.evaluate(m, fields, coords=x, params=mus, n_iter=50),
        headline="relative_l2",
        lower=True,
        margin=0.5,
        bad_match="data",
    )


def _latent_case():
    ds = data.lorenz_spikes(n_conditions=8, n_trials=6, n_neurons=16, n_bins=24, n_heldout=4,
                            n_forward=4, substeps=2, time_scale=3.0, base_rate=20.0,
                            seed=0)  # fmt: skip
    model = latent.LangevinFlow(len(ds.heldin), ds.n_neurons, ds.n_forward, latent_dim=8,
                                hidden_dim=16, model_size=16, ff_size=32, dt=0.2,
                                key=jax.random.key(0))  # fmt: skip

    def fit(model, key, train, optimizer=None):
        res = latent.fit(model, train, key=key, n_steps=60, batch_size=16,
                         optimizer=optimizer or optax.adam(1e-2), progress=False)  # fmt: skip
        return res.model, np.asarray(res.history["loss"])

    return Case(
        model=model,
        train=ds,
        bad_data=lambda: dataclasses.replace(ds, spikes=-ds.spikes),
        fit=fit,
        evaluate=lambda m: latent.evaluate(m, ds),
        headline="rate_r2",
        lower=False,
        margin=0.2,
        bad_match="spikes",
    )


def _worldmodels_case():
    f64 = jnp.float64
    videos = wm.moving_blobs_video(jax.random.key(0), 8, 6, num_points=8, num_blobs=2,
                                   width_range=(0.15, 0.2), dtype=f64)  # fmt: skip
    k1, k2, k3 = jax.random.split(jax.random.key(1), 3)
    model = wm.WorldModel(
        wm.PatchEncoder(1, 4, hidden_channels=8, dtype=f64, key=k1),
        wm.ReactionDiffusionPredictor(4, context=2, hidden=16, n_steps=2, dtype=f64, key=k2),
        wm.PatchDecoder(4, 1, hidden_channels=8, dtype=f64, key=k3),
        frame_shape=(1, 8, 8),
    )

    def fit(model, key, train, optimizer=None):
        res = wm.fit(model, train, key=key, n_steps=25, batch_size=8,
                     optimizer=optimizer or optax.adam(1e-2), progress=False)  # fmt: skip
        return res.model, np.asarray(res.history["loss"])

    return Case(
        model=model,
        train=videos,
        bad_data=lambda: data.Trajectories.from_arrays(_with_nan(videos.states), dt=videos.dt),
        fit=fit,
        evaluate=lambda m: wm.evaluate(m, videos, horizons=2),
        headline="one_step_mse",
        lower=True,
        margin=0.5,
        bad_match="data",
    )


def _koopman_case():
    x = _cycle(600, 0.1)

    def fit(model, key, train, optimizer=None):
        res = koopman.train_forecaster(model, train, n_steps=300, key=key, batch_size=32,
                                       optimizer=optimizer or optax.adam(1e-2),
                                       progress=False)  # fmt: skip
        return res.model, np.asarray(res.history["loss"])

    return Case(
        model=koopman.StNN(2, 8, width=8, depth=1, key=jax.random.key(0)),
        train=jnp.asarray(x[:450]),
        bad_data=lambda: _with_nan(x[:450]),
        fit=fit,
        evaluate=lambda m: koopman.evaluate(m, x[450:], horizon=20),
        headline="relative_error",
        lower=True,
        margin=0.5,
        bad_match="ys",
    )


CASES = {
    "dsr": _dsr_case,
    "nde": _nde_case,
    "rom": _rom_case,
    "latent": _latent_case,
    "worldmodels": _worldmodels_case,
    "koopman": _koopman_case,
}


def _leaves_identical(a, b) -> bool:
    la, lb = jtu.tree_leaves(a), jtu.tree_leaves(b)
    if len(la) != len(lb) or jtu.tree_structure(a) != jtu.tree_structure(b):
        return False
    for x, y in zip(la, lb):
        if isinstance(x, jax.Array | np.ndarray):
            if np.asarray(x).tobytes() != np.asarray(y).tobytes():
                return False
        elif not (x is y or x == y):
            return False
    return True


def _check_scores(scores, family):
    assert isinstance(scores, AbstractScores), (family, type(scores))
    as_dict = scores.to_dict()
    json.dumps(as_dict, allow_nan=False)  # strict JSON
    assert set(as_dict) == set(scores) and len(as_dict) > 0
    assert "\n" in scores.summary() or len(as_dict) == 1
    return as_dict


@pytest.mark.parametrize("family", sorted(CASES))
def test_family_conforms(family, tmp_path):
    case = CASES[family]()

    # bad input: a NaN in the data is refused before any training, naming the argument
    with pytest.raises(ValueError, match=case.bad_match):
        case.fit(case.model, KEY, case.bad_data())

    # fit lowers the loss, and the trained model beats the untrained one on the headline
    trained, losses = case.fit(case.model, KEY, case.train)
    assert np.all(np.isfinite(losses)), family
    k = max(1, len(losses) // 5)
    assert losses[-k:].mean() < losses[:k].mean(), (family, losses[:k], losses[-k:])
    with warnings.catch_warnings():  # an untrained free run may leave the data (NaN D_stsp)
        warnings.simplefilter("ignore", RuntimeWarning)
        before = _check_scores(case.evaluate(case.model), family)
    after = _check_scores(case.evaluate(trained), family)
    for name, value in after.items():  # every score is finite after training
        assert value is not None, (family, name, after)
    b, a = before[case.headline], after[case.headline]
    assert b is not None and math.isfinite(b), (family, before)
    if case.lower:
        assert a <= case.margin * b, (family, case.headline, b, a)
    else:
        assert a >= b + case.margin, (family, case.headline, b, a)

    # the same key gives the same model, bit for bit
    again, losses_again = case.fit(case.model, KEY, case.train)
    assert _leaves_identical(trained, again), family
    np.testing.assert_array_equal(losses, losses_again)

    # save / load round-trip: the same type and structure, identical leaves
    loaded = dynsys.load(dynsys.save(tmp_path / f"{family}.eqx", trained))
    assert type(loaded) is type(trained)
    assert _leaves_identical(trained, loaded), family


@pytest.mark.integration
@pytest.mark.parametrize("family", sorted(CASES))
def test_family_stops_a_diverging_run(family):
    # Adam at a learning rate of 1000: the run must stop with the step and the last good
    # model (a NonFiniteError, or its subclasses DivergenceError and nde's SolverError),
    # never return a model whose loss has run away.
    case = CASES[family]()
    with pytest.raises(training.NonFiniteError) as info:
        case.fit(case.model, KEY, case.train, optimizer=optax.adam(1e3))
    err = info.value
    assert f"step {err.step}" in str(err), (family, str(err))
    assert err.last_good_model is not None, family
