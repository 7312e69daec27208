"""`dynsys.dsr.reconstruct`: derived settings, bad input, learning, selection, save/load."""

import json
import math
import os
import pathlib
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import dynsys
from dynsys import data, dsr, training
from dynsys.dsr import Reconstruction, reconstruct
from dynsys.dsr import _reconstruct as rec_module
from dynsys.dsr._reconstruction import diagnose

KEY = jax.random.key(0)


def oscillation(n=2000, dt=0.05):
    """A two-column limit cycle in "user units" (offset and scaled), sampled at `dt`."""
    t = np.arange(n) * dt
    x = np.stack([np.cos(t), np.sin(t) + 0.3 * np.cos(2 * t)], axis=1)
    return x * np.array([5.0, 2.0]) + np.array([2.0, -7.0])


class Table:
    """A duck-typed stand-in for a pandas DataFrame: `.to_numpy()` and `.columns`."""

    def __init__(self, values, columns):
        self._values = np.asarray(values)
        self.columns = list(columns)

    def to_numpy(self):
        return self._values


# Learns the limit cycle in a few seconds: 600 steps at a raised learning rate.
TRAIN = {"n_steps": 600, "n_seeds": 2, "latent_dim": 6, "sequence_length": 60, "start_lr": 5e-3}


@pytest.fixture(scope="module")
def fitted():
    x = oscillation()
    rec = reconstruct(
        Table(x, ["a", "b"]), dt=0.05, key=KEY, lyapunov_steps=500, verbose=False, **TRAIN
    )
    return x, rec


def _prepare(x, dt=0.01, **kwargs):
    options = {"model": "alrnn", "key": KEY, "budget_minutes": 10.0, "n_seeds": 4,
               "validation_fraction": 0.2, "n_steps": None, "lyapunov_steps": 0}  # fmt: skip
    overrides = {k: kwargs.pop(k) for k in list(kwargs) if k not in options}
    options.update(kwargs)
    return rec_module.prepare(x, dt=dt, overrides=overrides, **options)


@pytest.fixture(scope="module")
def lorenz():
    return np.asarray(data.benchmark("lorenz63", n_steps=5000, seed=0).train.states[0])


# ---- settings derived from the data ----------------------------------------------------------


def test_settings_derived_from_lorenz63(lorenz):
    plan = _prepare(lorenz * 7.0 + 3.0, dt=0.01)
    lag = data.autocorrelation_time(plan.train)
    assert 15 <= lag <= 25  # the e-folding time of Lorenz-63 at dt = 0.01 (reference tau: 16)
    s = plan.settings
    assert s.tau == lag
    assert s.sequence_length == 12 * lag
    assert (s.latent_dim, s.pwl_units) == (20, 10)  # dsr.settings("lorenz63")
    assert plan.validation.shape == (1, 1000, 3)
    assert plan.train.n_times == 4000
    # z-scored with the training part's statistics
    np.testing.assert_allclose(np.asarray(plan.train.states[0].mean(0)), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.asarray(plan.train.states[0].std(0)), 1.0, atol=1e-10)
    text = "\n".join(plan.lines)
    for name in ("tau", "sequence_length", "latent_dim", "pwl_units", "floor", "validation"):
        assert name in text


def test_settings_start_from_the_table_and_take_overrides(lorenz, monkeypatch):
    # A default added to dsr.settings(...) flows through to what reconstruct trains with.
    table = dsr.settings("lorenz63", "alrnn").replace(noise_std=0.123, batch_size=7)
    monkeypatch.setattr(rec_module, "settings", lambda dataset, model: table)
    plan = _prepare(lorenz, tau=5, latent_dim=9, pwl_units=3, end_lr=2e-5)
    s = plan.settings
    assert (s.noise_std, s.batch_size) == (0.123, 7)
    assert (s.tau, s.latent_dim, s.pwl_units, s.end_lr) == (5, 9, 3, 2e-5)
    assert s.sequence_length == 60  # 12 tau, tau given
    assert "override" in "\n".join(plan.lines)


def test_short_data_clip_the_windows():
    x = oscillation(n=400)
    plan = _prepare(x, dt=0.05)
    n_train = plan.train.n_times
    assert n_train == 320
    assert plan.settings.sequence_length == (n_train - 1) // 2
    assert plan.settings.tau <= plan.settings.sequence_length


def test_latent_dim_grows_with_many_columns():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(600, 25)), axis=0)
    plan = _prepare(x, dt=1.0)
    assert plan.settings.latent_dim == 25 + 10  # N + P: the read-out units stay linear


# ---- bad input, rejected before anything is trained --------------------------------------------


@pytest.fixture
def no_training(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("training started before the input was checked")

    monkeypatch.setattr(rec_module, "fit", fail)


def _bad_cases():
    x = oscillation(n=600)
    nan = x.copy()
    nan[10, 1] = np.nan
    inf = x.copy()
    inf[5, 0] = np.inf
    const = x.copy()
    const[:, 1] = 3.0
    late_const = x.copy()
    late_const[-200:, 0] = 1.0
    return [
        ("short", dict(data=x[:120]), ValueError, r"`data` is too short: 120 samples"),
        ("constant", dict(data=const), ValueError, r"`data` column\(s\) \['x1'\] are constant"),
        ("constant-tail", dict(data=late_const), ValueError, r"constant over the validation"),
        ("nan", dict(data=nan), ValueError, r"`data` contains 1 NaN .*\['x1'\]"),
        ("inf", dict(data=inf), ValueError, r"`data` contains 1 NaN or infinite"),
        ("dt-zero", dict(dt=0.0), ValueError, r"`dt` must be finite and > 0"),
        ("dt-negative", dict(dt=-0.1), ValueError, r"`dt` must be finite and > 0"),
        ("dt-nan", dict(dt=float("nan")), ValueError, r"`dt` must be finite"),
        ("dt-inf", dict(dt=float("inf")), ValueError, r"`dt` must be finite"),
        # (the test suite's runtime type checks name the parameter first)
        ("dt-str", dict(dt="0.1"), TypeError, r"`dt` must be a number|parameter 'dt'"),
        ("dt-missing", dict(dt=None), ValueError, r"`dt` is required"),
        ("P>M", dict(pwl_units=5, latent_dim=4), ValueError, r"`pwl_units` \(P.*<= latent_dim"),
        ("M<N", dict(latent_dim=1), ValueError, r"`latent_dim` \(M\) must be >= .* N=2"),
        ("budget-zero", dict(budget_minutes=0), ValueError, r"`budget_minutes` must be"),
        ("budget-negative", dict(budget_minutes=-1.0), ValueError, r"`budget_minutes` must"),
        ("ndim-1", dict(data=x[:, 0]), ValueError, r"`data` must be \(time, N\).*1 dimension"),
        ("ndim-4", dict(data=x[None, None]), ValueError, r"`data` must be \(time, N\)"),
        ("model", dict(model="lstm"), ValueError, r"`model` must be one of"),
        ("complex", dict(data=x + 1j), TypeError, r"`data` holds complex numbers"),
        ("strings", dict(data="x.csv"), TypeError, r"`data` must be an array"),
        ("window", dict(sequence_length=500), ValueError, r"too short for the chosen windows"),
        ("unknown", dict(learning_rate=1e-3), TypeError, r"unknown setting\(s\) \['learning_"),
        ("seeds", dict(n_seeds=0), ValueError, r"`n_seeds` must be >= 1"),
        ("key", dict(key=0), TypeError, r"`key` must be a jax.random key|parameter 'key'"),
        ("fraction", dict(validation_fraction=0.9), ValueError, r"`validation_fraction`"),
        ("table-text", dict(data=Table(np.array([["1", "a"], ["2", "b"]], dtype=object),
                                       ["t0", "label"])), TypeError, r"column 'label' is not"),
        ("table-time", dict(data=Table(x, ["Time", "v"])), ValueError, r"time column 'Time'"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [case[1:] for case in _bad_cases()],
    ids=[case[0] for case in _bad_cases()],
)
def test_bad_input_is_rejected_before_training(no_training, kwargs, error, match):
    arguments = {"data": oscillation(n=600), "dt": 0.05, "key": KEY, "verbose": False}
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        reconstruct(**arguments)


def test_trajectories_input_takes_its_dt_and_rejects_inputs(no_training):
    traj = data.Trajectories.from_arrays(oscillation(n=600), dt=0.05)
    plan = rec_module.prepare(
        traj, dt=None, model="alrnn", key=KEY, budget_minutes=1.0, n_seeds=1,
        validation_fraction=0.2, n_steps=10, lyapunov_steps=0, overrides={},
    )  # fmt: skip
    assert plan.dt == 0.05
    with pytest.raises(ValueError, match=r"`dt`=0.1 disagrees"):
        reconstruct(traj, dt=0.1, key=KEY, verbose=False)
    driven = data.Trajectories.from_arrays(oscillation(n=600), dt=0.05, inputs=np.ones((600, 1)))
    with pytest.raises(ValueError, match="`data` has external inputs"):
        reconstruct(driven, key=KEY, verbose=False)


def test_pandas_dataframe_columns():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(oscillation(n=600), columns=["left", "right"])
    plan = _prepare(df, dt=0.05)
    assert plan.columns == ["left", "right"]
    with pytest.raises(ValueError, match="time column 'time'"):
        _prepare(df.assign(time=np.arange(600) * 0.05), dt=0.05)


# ---- training, validation, selection -----------------------------------------------------------


def test_reconstruct_learns_the_cycle(fitted):
    x, rec = fitted
    assert rec.columns == ["a", "b"]
    assert rec.n_steps == 600
    trained = min(r["d_stsp"] for r in rec.seed_scores)
    untrained = min(r["d_stsp"] for r in rec.untrained_scores)
    # the untrained models decay to a fixed point at the ceiling (about 14 for 400 samples
    # in 10 x 10 bins); trained, they oscillate with the data's frequency
    assert trained < untrained - 2.0, (trained, untrained)
    assert rec.scores["d_stsp"] == trained
    assert rec.scores["d_h"] < 0.1
    assert rec.seed_scores[rec.selected_seed]["d_stsp"] == trained
    assert math.isfinite(rec.scores["pe"]) and math.isfinite(rec.scores["lambda_max"])
    assert rec.floor["d_stsp"] < 0.1 and rec.floor["d_h"] < 0.05  # a clean cycle
    assert rec.train_time > 0


def test_generate_is_in_the_users_units(fitted):
    x, rec = fitted
    xs = np.asarray(rec.generate(x[-1], 300))
    assert xs.shape == (300, 2)
    np.testing.assert_allclose(xs[0], x[-1], rtol=1e-10)  # identity read-out of x0
    lo, hi = x.min(0), x.max(0)
    span = hi - lo
    assert np.all(xs >= lo - 0.5 * span) and np.all(xs <= hi + 0.5 * span)
    batch = np.asarray(rec.generate(x[:3], 10))
    assert batch.shape == (3, 10, 2)
    np.testing.assert_allclose(batch[2], np.asarray(rec.generate(x[2], 10)), rtol=1e-12)
    with pytest.raises(ValueError, match="`x0` must have last axis of length N=2"):
        rec.generate(np.zeros(3), 10)
    with pytest.raises(ValueError, match="`n_steps` must be >= 1"):
        rec.generate(x[0], 0)


def test_summary_and_strict_json(fitted):
    _, rec = fitted
    text = rec.summary()
    for word in ("D_stsp", "D_H", "PE(20)", "lambda_max", "floor", "untrained", "Verdict"):
        assert word in text
    record = rec.to_dict()
    json.dumps(record, allow_nan=False)
    assert record["floor"]["d_stsp"] == rec.floor["d_stsp"]
    assert len(record["seed_scores"]) == 2
    assert record["model_description"]["class"] == "dynsys.dsr.ALRNN"


def _with_info(rec, **changes):
    info = rec.info
    for path, value in changes.items():
        *keys, last = path.split("__")
        target = info
        for k in keys:
            target = target[k]
        target[last] = value
    return Reconstruction(
        model=rec.model,
        standardization=rec.standardization,
        dt=rec.dt,
        info_json=json.dumps(info, allow_nan=True),
    )


def test_nan_scores_become_null_in_to_dict(fitted):
    _, rec = fitted
    broken = _with_info(rec, scores__lambda_max=float("nan"), scores__pe=float("inf"))
    record = broken.to_dict()
    assert record["scores"]["lambda_max"] is None and record["scores"]["pe"] is None
    json.dumps(record, allow_nan=False)
    assert "nan" in broken.summary()


def test_diagnostics_say_what_went_wrong(fitted):
    _, rec = fitted
    ok = rec.info
    ok["scores"]["d_stsp"], ok["floor"]["d_stsp"] = 0.5, 0.4
    ok["checks"].update(tail_std=0.9, distinct_states=200, overlap=1.0, ceiling=14.0)
    ok["scores"]["lambda_max"] = 0.3
    assert diagnose(ok) == []

    flat = json.loads(json.dumps(ok))
    flat["checks"]["tail_std"] = 1e-9
    (code, message), = diagnose(flat)  # fmt: skip
    assert code == "fixed_point" and "fixed point" in message and "budget" in message

    cycle = json.loads(json.dumps(ok))
    cycle["scores"]["lambda_max"] = -0.2
    cycle["checks"]["distinct_states"] = 7
    assert [c for c, _ in diagnose(cycle)] == ["cycle"]
    assert "7 distinct states" in diagnose(cycle)[0][1]

    away = json.loads(json.dumps(ok))
    away["scores"]["d_stsp"] = 13.9
    away["checks"]["overlap"] = 0.0
    (code, message), = diagnose(away)  # fmt: skip
    assert code == "no_overlap"
    assert "ceiling" in message and "share no" in message and "left the data's range" in message

    nan = json.loads(json.dumps(ok))
    nan["scores"]["d_stsp"] = float("nan")
    assert [c for c, _ in diagnose(nan)] == ["no_overlap"]

    far = json.loads(json.dumps(ok))
    far["scores"]["d_stsp"] = 3 * 0.4 + 0.3 + 0.01
    assert [c for c, _ in diagnose(far)] == ["far_above_floor"]
    far["scores"]["d_stsp"] = 3 * 0.4 + 0.3 - 0.01
    assert diagnose(far) == []

    diverged = json.loads(json.dumps(ok))
    for row in diverged["seed_scores"]:
        row["diverged"] = True
    assert [c for c, _ in diagnose(diverged)] == ["diverged"]


def test_selection_never_picks_a_diverged_seed():
    rows = [
        {"seed": 0, "d_stsp": 0.1, "d_h": 0.1, "diverged": True},
        {"seed": 1, "d_stsp": float("nan"), "d_h": 0.2, "diverged": False},
        {"seed": 2, "d_stsp": 0.9, "d_h": 0.3, "diverged": False},
        {"seed": 3, "d_stsp": 0.9, "d_h": 0.1, "diverged": False},
    ]
    assert rec_module._select(rows) == 3  # lowest finite D_stsp, the tie by D_H
    rows[3]["d_h"] = float("nan")
    assert rec_module._select(rows) == 2
    assert rec_module._select([rows[0], rows[1]]) == 1  # NaN before diverged


def test_divergence_stops_with_the_step_and_a_hint():
    with pytest.raises(training.NonFiniteError) as info:
        reconstruct(
            oscillation(n=600), dt=0.05, key=KEY, n_steps=20, n_seeds=2, latent_dim=4,
            sequence_length=50, start_lr=1e4, lyapunov_steps=0, verbose=False,
        )  # fmt: skip
    err = info.value
    assert isinstance(err.step, int) and err.step < 20
    assert f"step {err.step}" in str(err)
    assert "one diverging seed stops all" in str(err) and "start_lr=3.3e+03" in str(err)


# ---- save and load ---------------------------------------------------------------------------


def test_save_load_round_trip_x64(fitted, tmp_path):
    x, rec = fitted
    path = rec.save(tmp_path / "rec.eqx")
    back = dynsys.load(path)
    assert isinstance(back, Reconstruction)
    assert back.model.dtype == np.float64
    assert back.info == rec.info and back.dt == rec.dt
    assert back.summary() == rec.summary()
    np.testing.assert_array_equal(
        np.asarray(back.generate(x[5], 200)), np.asarray(rec.generate(x[5], 200))
    )
    np.testing.assert_array_equal(
        np.asarray(back.standardization.std), np.asarray(rec.standardization.std)
    )


def test_save_load_round_trip_without_x64(fitted, tmp_path):
    """In a fresh 32-bit process: the float64 file loads as float32, and float32 round-trips."""
    x, rec = fitted
    rec.save(tmp_path / "rec64.eqx")
    np.save(tmp_path / "x0.npy", x[5])
    np.save(tmp_path / "expected.npy", np.asarray(rec.generate(x[5], 200)))
    script = textwrap.dedent(
        """
        import json, sys, pathlib
        import jax, numpy as np
        assert not jax.config.read("jax_enable_x64")
        import dynsys
        from dynsys.data import Standardization
        from dynsys.dsr import ALRNN, Reconstruction
        here = pathlib.Path(sys.argv[1])
        x0, expected = np.load(here / "x0.npy"), np.load(here / "expected.npy")
        rec = dynsys.load(here / "rec64.eqx")
        assert rec.model.dtype == np.float32, rec.model.dtype
        assert rec.standardization.mean.dtype == np.float32
        np.testing.assert_allclose(np.asarray(rec.generate(x0, 200)), expected, rtol=1e-3,
                                   atol=1e-3 * float(np.abs(expected).max()))
        own = Reconstruction(model=ALRNN(6, 2, 2, key=jax.random.key(3)),
                             standardization=rec.standardization, dt=rec.dt,
                             info_json=rec.info_json)
        back = dynsys.load(own.save(here / "rec32.eqx"))
        assert back.model.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(back.generate(x0, 50)),
                                      np.asarray(own.generate(x0, 50)))
        print("ok", json.dumps(back.to_dict()["scores"], allow_nan=False))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env,
        cwd=pathlib.Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.startswith("ok")


# ---- Lorenz-63, and the budget ------------------------------------------------------------------


@pytest.mark.integration
def test_short_run_beats_untrained_on_lorenz63(lorenz):
    # The derived settings (tau = 19, sequence_length = 228, M = 20, P = 2) and a fixed
    # number of steps, so that the outcome does not depend on the machine's load: the better
    # seed reaches D_stsp ~ 8.5 against ~ 13 untrained (a fixed point); the floor is ~ 0.8
    # (1000 validation samples in 10^3 bins).
    rec = reconstruct(
        lorenz * 8.0 - 1.0, dt=0.01, key=jax.random.key(1), n_steps=2500, n_seeds=2,
        lyapunov_steps=1000, verbose=False,
    )  # fmt: skip
    assert rec.settings["tau"] == data.autocorrelation_time(lorenz[:4000])
    trained = rec.scores["d_stsp"]
    untrained = min(r["d_stsp"] for r in rec.untrained_scores)
    assert trained < untrained - 2.0, (trained, untrained)
    assert rec.scores["d_h"] < 0.2


@pytest.mark.integration
def test_budget_sets_the_steps_and_is_kept(capsys):
    budget = 0.5
    rec = reconstruct(
        oscillation(), dt=0.05, key=KEY, budget_minutes=budget, n_seeds=2, latent_dim=6,
        sequence_length=60, start_lr=5e-3, lyapunov_steps=500, progress=False,
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert f"budget {budget:g} min" in printed and "ms per step timed over 100 steps" in printed
    assert rec.n_steps >= 600  # a limit cycle's small model: several ms per step at most
    assert rec.info["total_time"] < 2 * 60 * budget  # with slack for a busy machine
    trained = rec.scores["d_stsp"]
    untrained = min(r["d_stsp"] for r in rec.untrained_scores)
    assert trained < untrained - 2.0, (trained, untrained)


def test_shplrnn_keeps_gtf_forcing_and_round_trips(lorenz, tmp_path):
    plan = _prepare(lorenz, dt=0.01, model="shplrnn")
    s = plan.settings
    lag = data.autocorrelation_time(plan.train)
    assert (s.tau, s.adaptive_alpha, s.latent_dim, s.hidden_dim) == (1, True, 3, 100)
    assert s.sequence_length == 12 * lag
    rec = reconstruct(
        oscillation(n=600), dt=0.05, model="shplrnn", key=KEY, n_steps=10, n_seeds=1,
        hidden_dim=8, sequence_length=50, lyapunov_steps=0, verbose=False,
    )  # fmt: skip
    assert isinstance(rec.model, dsr.ShallowPLRNN) and rec.model.hidden_dim == 8
    assert "L=8" in rec.summary() and math.isnan(rec.scores["lambda_max"])
    back = dynsys.load(rec.save(tmp_path / "sh.eqx"))
    x0 = oscillation(n=600)[0]
    np.testing.assert_array_equal(
        np.asarray(back.generate(x0, 20)), np.asarray(rec.generate(x0, 20))
    )
