"""Reconstruction benchmark: AL-RNN and clipped shPLRNN on Lorenz-63 and Rössler.

Trains an ensemble of seeds per (system, model) with the reference settings
(`dynsys.dsr.settings`), evaluates each member with the published protocol
(`dynsys.dsr.evaluate`: 1.25·T generated steps from the first test point, first 0.25·T
dropped, T = 100 000), and prints median and spread of D_stsp, D_H, PE(20), λ_max, the
number of subregions and the training time, next to the metric floors measured between the
test trajectory and an independent clean trajectory of the true system standardised alike.

    python benchmarks/dsr_benchmark.py --systems lorenz63 --models alrnn --seeds 5
    python benchmarks/dsr_benchmark.py --epochs 500      # shortened training budget
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import equinox as eqx
import jax
import numpy as np

from dynsys import data, dsr
from dynsys.metrics import power_spectrum_distance, state_space_divergence

TRUE_LAMBDA = {"lorenz63": 0.9056, "rossler": 0.0714}


def floors(name: str, test: data.Trajectories, n_steps: int) -> dict:
    """D_stsp and D_H between the test set and an independent clean true trajectory."""
    other = data.benchmark(name, n_steps=n_steps, seed=12345, noise=0.0).test
    stats = data.Standardization.from_metadata(test)
    raw = data.Standardization.from_metadata(other).invert(other)
    reference = stats.apply(raw)
    x, r = test.states[0], reference.states[0]
    return {
        "d_stsp": float(state_space_divergence(x, r)),
        "d_h": float(power_spectrum_distance(x, r)),
    }


def build(model: str, s: dsr.TrainingSettings, key):
    if model == "alrnn":
        return dsr.ALRNN(s.latent_dim, s.pwl_units, 3, key=key)
    return dsr.ShallowPLRNN(s.latent_dim, s.hidden_dim, 3, key=key, clipped=True)


def override(s: dsr.TrainingSettings, assignments: list[str]) -> dsr.TrainingSettings:
    """`s` with `FIELD=VALUE` assignments applied, each value cast to the field's type."""
    changes = {}
    for item in assignments:
        field, _, value = item.partition("=")
        if not hasattr(s, field) or not value:
            raise SystemExit(f"--set expects FIELD=VALUE, a TrainingSettings field; got {item!r}")
        old = getattr(s, field)
        is_bool = isinstance(old, bool)
        changes[field] = value.lower() in ("1", "true") if is_bool else type(old)(value)
    return s.replace(**changes)


def run(name, model, n_seeds, epochs, noise_std, n_steps, out, hidden_dim=None, select=None,
        assignments=()):  # fmt: skip
    bench = data.benchmark(name, n_steps=n_steps, seed=0)
    s = override(dsr.settings(name, model), list(assignments))
    if epochs is not None:
        s = s.replace(n_epochs=epochs)
    if noise_std is not None:
        s = s.replace(noise_std=noise_std)
    if hidden_dim is not None:
        s = s.replace(hidden_dim=hidden_dim)
    if select is None:  # the references: AL-RNN keeps the best checkpoint, GTF the last
        select = "best" if model == "alrnn" else "last"
    ens = dsr.make_ensemble(lambda k: build(model, s, k), jax.random.key(0), n_seeds)
    t0 = time.perf_counter()
    result = dsr.fit(
        ens, bench.train, key=jax.random.key(1), settings=s, ensemble=n_seeds,
        select=select,
    )  # fmt: skip
    train_time = time.perf_counter() - t0
    rows = []
    for i in range(n_seeds):
        member = dsr.ensemble_member(result.model, i)
        eqx.tree_serialise_leaves(os.path.join(out, f"{name}_{model}_seed{i}.eqx"), member)
        ev = dsr.evaluate(member, bench.test)
        rows.append(
            {
                "d_stsp": ev.d_stsp,
                "d_h": ev.d_h,
                "pe20": ev.pe,
                "lambda_max": ev.lambda_max,
                "subregions": ev.n_subregions,
            }
        )
        if select == "best":  # the same training scored with the GTF rule, for comparison
            last = dsr.ensemble_member(result.last_model, i)
            rows[-1]["d_stsp_last"] = dsr.evaluate(last, bench.test).d_stsp
        print(f"  {name} {model} seed {i}: " + json.dumps(rows[-1]), flush=True)
    return {
        "system": name,
        "model": (model if model == "alrnn" else f"{model} (M={s.latent_dim}, L={s.hidden_dim})")
        + "".join(f", {a}" for a in assignments)
        + ("" if model == "alrnn" else f", α: {s.alpha_method}"),
        "seeds": n_seeds,
        "epochs": s.n_epochs,
        "noise_std": s.noise_std,
        "select": select,
        "overrides": list(assignments),
        "alpha_method": s.alpha_method,
        "steps": s.n_epochs * s.batches_per_epoch,
        "train_time_s": train_time,
        "time_per_model_s": train_time / n_seeds,
        "steps_per_s": result.fit.steps_per_second,
        "floors": floors(name, bench.test, n_steps),
        "runs": rows,
    }


def table(results: list[dict]) -> str:
    def med(rows, key):
        # An undefined score (NaN: an orbit outside the data range, a constant trajectory)
        # counts as the worst, never drops out of the median.
        v = np.array([r[key] for r in rows], dtype=float)
        n_nan = int(np.isnan(v).sum())
        q = np.percentile(np.where(np.isnan(v), np.inf, v), [25, 50, 75], method="nearest")
        note = f" ({n_nan} undefined, counted as worst)" if n_nan else ""
        return f"{q[1]:.3f} [{q[0]:.3f}, {q[2]:.3f}]{note}"

    lines = [
        "| system | model | seeds | epochs | selection | D_stsp median [IQR] | D_H | PE(20) "
        "| λ_max (true) | subregions | floor D_stsp / D_H | train time per model |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows = r["runs"]
        subs = [x["subregions"] for x in rows]
        last = f" (last checkpoint: {med(rows, 'd_stsp_last')})" if "d_stsp_last" in rows[0] else ""
        lines.append(
            f"| {r['system']} | {r['model']} | {r['seeds']} | {r['epochs']} | {r['select']} | "
            f"{med(rows, 'd_stsp')}{last} | {med(rows, 'd_h')} | {med(rows, 'pe20')} | "
            f"{med(rows, 'lambda_max')} ({TRUE_LAMBDA[r['system']]}) | "
            f"{int(np.median(subs))} (max {max(subs)}) | "
            f"{r['floors']['d_stsp']:.3f} / {r['floors']['d_h']:.3f} | "
            f"{r['time_per_model_s'] / 60:.1f} min |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="+", default=["lorenz63", "rossler"])
    parser.add_argument("--models", nargs="+", default=["alrnn", "shplrnn"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None, help="default: reference epochs")
    parser.add_argument("--noise-std", type=float, default=None, help="default: reference")
    parser.add_argument(
        "--hidden-dim", type=int, default=None, help="shPLRNN L (default: the settings')"
    )
    parser.add_argument(
        "--select",
        choices=["last", "best"],
        default=None,
        help="checkpoint selection (default: reference, best for alrnn, last for shplrnn)",
    )
    parser.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="FIELD=VALUE",
        help="override dsr.TrainingSettings fields, e.g. sequence_length=300 "
        "alpha_method=arithmetic_mean",
    )
    parser.add_argument("--n-steps", type=int, default=100_000, help="length of train/test")
    parser.add_argument("--out", default="outputs/benchmarks")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = []
    for name in args.systems:
        for model in args.models:
            results.append(
                run(
                    name,
                    model,
                    args.seeds,
                    args.epochs,
                    args.noise_std,
                    args.n_steps,
                    args.out,
                    args.hidden_dim,
                    args.select,
                    args.set,
                )
            )
            with open(os.path.join(args.out, "dsr_benchmark.json"), "w") as f:
                json.dump(results, f, indent=1)
            print(table(results), flush=True)
    print(f"\nmachine: {platform.platform()}, {os.cpu_count()} CPUs, jax {jax.__version__}, "
          f"backend {jax.default_backend()}")  # fmt: skip


if __name__ == "__main__":
    main()
