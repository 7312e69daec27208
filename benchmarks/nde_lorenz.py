"""Lorenz-63: a dynsys NeuralODE scored with the reconstruction protocol, next to the AL-RNN.

Data: `dynsys.data.benchmark("lorenz63")` (100 000 z-scored steps at Δt = 0.01, 5 %
observation noise on the training copy, clean test trajectory). The NeuralODE (learnt
scale × tanh(MLP 3→64→64→3), Tsit5 + PID 1e-3/1e-6) is trained with `dynsys.nde.fit` on
non-overlapping 30-sample windows of the training trajectory (a length curriculum: 20 % of
each window, then all of it; AdaBelief 3e-3, batch 32, float32) under a modest CPU budget, and
evaluated with `dynsys.nde.evaluate`: free run from the first test point, 25 % transient,
D_stsp (30 bins), D_H (σ = 20) against the 100 000-step test trajectory, PE(20), λ_max of
the learnt vector field (true 0.906). The AL-RNN row is quoted from `docs/benchmarks.md`
(`benchmarks/dsr_benchmark.py`, 5 seeds, median [IQR]); its parameter count is computed
here from the same configuration (M = 20, P = 2, N = 3).

    python benchmarks/nde_lorenz.py [--steps 300 1200] [--window 30] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import equinox as eqx
import jax
import optax

from dynsys import data, dsr, nde

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--steps", type=int, nargs=2, default=(300, 1200))
parser.add_argument("--window", type=int, default=30)
parser.add_argument("--n-steps", type=int, default=100_000, help="benchmark length")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default=None, help="write the results as JSON here")
args = parser.parse_args()

# AL-RNN, Lorenz-63, from docs/benchmarks.md (dsr_benchmark.py --models alrnn --seeds 5
# --epochs 1000, batch noise 0.05): median [IQR] over 5 seeds, and training time per model.
ALRNN_QUOTED = {
    "d_stsp": "2.746 [2.321, 4.486]",
    "d_h": "0.207 [0.192, 0.245]",
    "pe": "0.051 [0.049, 0.058]",
    "lambda_max": "0.883 [0.812, 1.153]",
    "train": "2.7 min per model (1000 epochs × 50 batches, 5-seed ensemble on 2 cores)",
}


def n_params(model):
    leaves = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    return int(sum(x.size for x in leaves))


def main():
    bench = data.benchmark("lorenz63", n_steps=args.n_steps, seed=args.seed)
    reference = data.benchmark("lorenz63", n_steps=args.n_steps, seed=args.seed + 1).test
    w = args.window
    n_win = args.n_steps // w
    windows = bench.train.states[0, : n_win * w].reshape(n_win, w, 3)
    ts = bench.train.times[:w] - bench.train.times[0]
    model = nde.NeuralODE(3, key=jax.random.key(args.seed), width=64, depth=2)
    t0 = time.perf_counter()
    result = nde.fit(model, windows, ts=ts, key=jax.random.key(args.seed + 100),
                     steps=tuple(args.steps), lengths=(0.2, 1.0), batch_size=32,
                     optimizer=optax.adabelief(3e-3), progress=False)  # fmt: skip
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    ev = nde.evaluate(result.model, bench.test, reference=reference, lyapunov_steps=20_000)
    eval_s = time.perf_counter() - t1
    alrnn = dsr.ALRNN(20, 2, 3, key=jax.random.key(0))
    print(f"jax {jax.__version__}; {os.cpu_count()} CPUs shared with other jobs; float32")
    print(f"NeuralODE: {n_win} windows of {w} samples, steps {tuple(args.steps)} (lengths "
          f"{result.lengths}), compilations per phase {result.traces}, final loss "
          f"{result.history['loss'][-1]:.4g}; evaluation took {eval_s:.0f} s")  # fmt: skip
    print()
    print("| model | D_stsp | D_H | PE(20) | λ_max (true 0.906) | parameters | training time |")
    print("|---|---|---|---|---|---|---|")
    print(f"| NeuralODE (dynsys.nde, seed {args.seed}, this run) | {ev.d_stsp:.3f} | "
          f"{ev.d_h:.3f} | {ev.pe:.4f} | {ev.lambda_max:.3f} | {n_params(result.model)} | "
          f"{train_s / 60:.1f} min ({sum(args.steps)} steps) |")  # fmt: skip
    print(f"| AL-RNN M=20 P=2 (quoted from docs/benchmarks.md) | {ALRNN_QUOTED['d_stsp']} | "
          f"{ALRNN_QUOTED['d_h']} | {ALRNN_QUOTED['pe']} | {ALRNN_QUOTED['lambda_max']} | "
          f"{n_params(alrnn)} | {ALRNN_QUOTED['train']} |")  # fmt: skip
    print(f"| floor (independent true trajectory) | {ev.floors['d_stsp']:.3f} | "
          f"{ev.floors['d_h']:.3f} | – | 0.906 | – | – |")  # fmt: skip
    if args.out:
        out = {"d_stsp": ev.d_stsp, "d_h": ev.d_h, "pe": ev.pe, "lambda_max": ev.lambda_max,
               "params": n_params(result.model), "train_seconds": train_s,
               "floors": ev.floors, "traces": list(result.traces)}  # fmt: skip
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
