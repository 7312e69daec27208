"""StNN vs dense MLP vs SINDy vs HAVOK vs DMD on Lotka–Volterra and Lorenz-63.

    .venv/bin/python benchmarks/koopman_stnn_compare.py [--steps 1500] [--seeds 3]

Protocol (stated here because the StNN paper's exact one was not available to us):

- Lotka–Volterra (α=2/3, β=4/3, γ=δ=1), Δt = 0.05: 8 training trajectories of 400 samples
  and 5 test trajectories, initial conditions U[0.5, 1.5]² (seeded). Lorenz-63 (σ=10,
  ρ=28, β=8/3), Δt = 0.01: one training trajectory of 20 000 samples after a transient,
  5 test windows from an independent trajectory. Data standardised with training stats.
- Every model sees a window of the last 16 samples and forecasts `horizon` steps:
  LV 100 steps (5 time units), Lorenz 50 steps (0.5 time units ≈ 0.45 Lyapunov times).
  Metric: relative L2 error of the forecast, averaged over the test windows; mean ± std
  over 3 seeds (the seed changes the network initialisation, the training batches and the
  LV training initial conditions).
- StNN (`koopman.StNN`, Hankel layers, width 16·dim, 2 hidden layers, tanh) and its
  dense twin (`koopman.MLPForecaster`, same sizes) trained with `koopman.train_forecaster`
  (the training core; Adam 3e-3, batch 64, 4-step rollout loss).
- SINDy: `koopman.SINDy(degree=2)` on the raw training data, integrated with RK4.
- Hankel DMD: `koopman.HankelDMD(rank, delays=16)`, forecast from the window
  (`forecast_from`), rank = 0.9999 energy; DMD: `koopman.DMD(rank=-1)` on the state.
- HAVOK (`koopman.HAVOK(rank, delays=16)` on x for Lorenz, on both channels for LV): the
  linear model driven by the *measured* forcing of the test window (it cannot forecast its
  own forcing), read back through the delay basis.
- Parameters: trainable scalars (networks) or nonzero coefficients (SINDy) or operator
  entries (DMD/HAVOK). Inference: wall time of one jitted one-step prediction (networks).
"""

from __future__ import annotations

import argparse
import os
import time

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import dynsys  # noqa: E402
from dynsys import koopman, systems  # noqa: E402

DELAYS = 16


def make_data(name: str, seed: int):
    if name == "lotka_volterra":
        dt, n, horizon = 0.05, 400, 100
        y0 = jax.random.uniform(jax.random.key(100 + seed), (13, 2), minval=0.5, maxval=1.5)
        raw = np.asarray(dynsys.simulate(systems.LotkaVolterra(), y0, dt * jnp.arange(n)))
        train_raw, test_raw = raw[:8], raw[8:]
        starts = [0] * 5
    else:
        dt, horizon = 0.01, 50
        ts = dt * jnp.arange(21000)
        a = np.asarray(dynsys.simulate(systems.Lorenz63(), jnp.array([1.0, 1.0, 1.0]), ts))
        b = np.asarray(
            dynsys.simulate(systems.Lorenz63(), jnp.array([-5.0, 2.0, 20.0]), dt * jnp.arange(3000))
        )
        train_raw, test_raw = a[None, 1000:], np.stack([b[1000:]] * 5)
        starts = [0, 300, 600, 900, 1200]
    mean = train_raw.reshape(-1, train_raw.shape[-1]).mean(0)
    std = train_raw.reshape(-1, train_raw.shape[-1]).std(0)
    return dict(
        dt=dt,
        horizon=horizon,
        train_raw=train_raw,
        test_raw=test_raw,
        starts=starts,
        mean=mean,
        std=std,
    )


def rel_err(pred, truth):
    return float(np.linalg.norm(pred - truth) / np.linalg.norm(truth))


def evaluate(d, forecast_fn):
    """Mean relative error over the test windows; forecast_fn(window_std, raw_window)."""
    errs = []
    for traj_raw, s in zip(d["test_raw"], d["starts"]):
        std_traj = (traj_raw - d["mean"]) / d["std"]
        window = std_traj[s : s + DELAYS]
        truth = std_traj[s + DELAYS : s + DELAYS + d["horizon"]]
        pred = forecast_fn(window, traj_raw[s : s + DELAYS], std_traj, s)
        errs.append(rel_err(np.asarray(pred), truth))
    return float(np.mean(errs))


def time_one(model, window):
    f = eqx.filter_jit(lambda m, w: m(w))
    f(model, window).block_until_ready()
    t0 = time.perf_counter()
    for _ in range(300):
        f(model, window).block_until_ready()
    return (time.perf_counter() - t0) / 300 * 1e6


def run(name: str, seed: int, steps: int):
    d = make_data(name, seed)
    dim = d["train_raw"].shape[-1]
    train = (d["train_raw"] - d["mean"]) / d["std"]
    rows = {}
    for label, cls in (("StNN", koopman.StNN), ("dense MLP", koopman.MLPForecaster)):
        model = cls(dim, DELAYS, depth=2, key=jax.random.key(seed))
        t0 = time.perf_counter()
        fit = koopman.train_forecaster(
            model,
            train,
            n_steps=steps,
            key=jax.random.key(seed + 7),
            optimizer=optax.adam(3e-3),
            horizon=4,
            batch_size=64,
        )
        train_t = time.perf_counter() - t0
        m = fit.model
        err = evaluate(d, lambda w, raw, full, s, m=m: m.forecast(w, d["horizon"]))
        rows[label] = dict(
            err=err,
            params=m.n_params,
            flops=m.flops,
            us=time_one(m, jnp.asarray(train[0, :DELAYS])),
            train_s=train_t,
        )
    thr = 0.05 if name == "lotka_volterra" else 0.1
    sindy = koopman.SINDy(degree=2, threshold=thr).fit(jnp.asarray(d["train_raw"]), dt=d["dt"])

    def sindy_fc(w, raw, full, s):
        sim = np.asarray(sindy.simulate(raw[-1], d["horizon"], d["dt"]))[1:]
        return (sim - d["mean"]) / d["std"]

    rows["SINDy"] = dict(
        err=evaluate(d, sindy_fc), params=int(np.sum(np.asarray(sindy.coefficients) != 0))
    )
    hdmd = koopman.HankelDMD(rank=0.9999, delays=DELAYS).fit(jnp.asarray(train), dt=d["dt"])
    rows["Hankel DMD"] = dict(
        err=evaluate(d, lambda w, raw, full, s: hdmd.forecast_from(w, d["horizon"])),
        params=int(hdmd.dmd.rank**2 + hdmd.dmd.modes.size),
        rank=hdmd.dmd.rank,
    )
    dmd = koopman.DMD(rank=-1).fit(jnp.asarray(train), dt=d["dt"])
    rows["DMD"] = dict(
        err=evaluate(d, lambda w, raw, full, s: dmd.forecast_from(w[-1], d["horizon"])),
        params=int(dmd.rank**2),
    )
    series = train[0] if name != "lotka_volterra" else train[0]
    hav = koopman.HAVOK(rank=min(11, DELAYS * dim - 1), delays=DELAYS).fit(series, dt=d["dt"])
    k = hav.rank

    def havok_fc(w, raw, full, s):
        # Delay coordinates of the test windows: v = window · U / σ (measured, incl. forcing).
        wins = koopman.delay_embed(full[s : s + DELAYS + d["horizon"]], DELAYS)
        v = np.asarray(wins @ hav.basis) / np.asarray(hav.singular_values[:k])[None]
        lin = hav.simulate(jnp.asarray(v[:, -1:]), jnp.asarray(v[0, :-1]))
        h = (lin * hav.singular_values[: k - 1][None]) @ hav.basis[:, : k - 1].T
        return np.asarray(h)[1:, -dim:]

    rows["HAVOK (measured forcing)"] = dict(err=evaluate(d, havok_fc), params=int((k - 1) * k))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print(
        f"jax {jax.__version__}, {os.cpu_count()} CPU cores (shared machine), "
        f"{args.steps} training steps, {args.seeds} seeds\n"
    )
    for name in ("lotka_volterra", "lorenz63"):
        results = [run(name, seed, args.steps) for seed in range(args.seeds)]
        d = make_data(name, 0)
        print(
            f"### {name}: forecast horizon {d['horizon']} steps "
            f"({d['horizon'] * d['dt']:g} time units), window {DELAYS}\n"
        )
        print(
            "| model | rel. forecast error (mean ± std) | parameters | flops / prediction | "
            "µs / prediction | training (s) |"
        )
        print("|---|---|---|---|---|---|")
        for label in results[0]:
            e = np.array([r[label]["err"] for r in results])
            r0 = results[0][label]
            fl = r0.get("flops", "")
            us = np.mean([r[label]["us"] for r in results]) if "us" in r0 else None
            tr = np.mean([r[label]["train_s"] for r in results]) if "train_s" in r0 else None
            print(
                f"| {label} | {e.mean():.3f} ± {e.std():.3f} | {r0['params']} | {fl} | "
                f"{'' if us is None else f'{us:.0f}'} | {'' if tr is None else f'{tr:.0f}'} |"
            )
        print()


if __name__ == "__main__":
    main()
