"""Φ-ROM vs DINo on the 1-D parametric Burgers problem (Φ-ROM's smallest case).

Protocol (issue 6, reference notes R-a): ParametricBurgers (upwind FD, source 0.02·e^{μx},
256 points on [0, 100], Δt = 0.07), u₀ ≡ 1 (left value held at 1); 8 training μ in
linspace(0.015, 0.03); test on the 7 midpoints (interpolation) and 2 values one spacing
outside the range (extrapolation). Train on snapshots 0..99, evaluate 0..199; mean
per-time relative L2 error over [0, T_train) and [T_train, 2·T_train). Same decoder
(MLP, sin, width 32, depth 4, d = 4), same ψ (hyper-concat, swish, width 64), same
optimiser, schedule, λ (`--lam`, default 0.5, the reference's), warm-up and batch for both
methods; only the dynamics target differs (Φ-ROM's from the solver on a fraction γ of the
points, `--gamma`, default 0.1). `--methods` trains only some of the two.
`--dino-original` trains DINo as Yin et al. (ICLR 2023) and the reference's `DINOTrainer`:
its dynamics loss trains ψ only and never reaches the latents, whereas by default DINo's
latents, like Φ-ROM's, receive the dynamics gradient after the warm-up. Latent inversion
of the IC: Adam(0.01) from zeros, 1000 iterations by default (the reference's Adam(0.1) ×
300 diverges on some seeds of both methods, docs/benchmarks.md); each
`--inversions` spec INIT:LR:ITERS (INIT `zeros`, the reference's, or `memory`, the mean of
the trained initial latents) scores the same trained models once more, with its own ratio.
`--save-dir` keeps the trained models and latents; `--load-dir` scores saved ones again.
`--validation` runs the same protocol at half the horizon on the training data alone
(train on snapshots 0..49 of the 8 training μ, forecast them over 0..99), to choose
hyper-parameters such as λ without looking at the test μ.

Training is much shorter than the paper's (12 000 full-batch epochs): see --steps and
--batch; the defaults fit a shared 2-core CPU in about half an hour for 3 seeds × 2 methods.

Run: .venv/bin/python benchmarks/rom_phirom_burgers.py [--steps N] [--seeds S] [--first-seed F]
     [--lam L] [--gamma G] [--methods PhiROM DINo] [--dino-original] [--validation]
     [--inversions zeros:0.1:300 memory:0.01:1000 ...] [--save-dir DIR | --load-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from dynsys import pde, rom
from dynsys.metrics import relative_l2_error


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=250)
    ap.add_argument(
        "--gamma",
        type=float,
        default=0.1,
        help="Φ-ROM: fraction of grid points for the latent velocity target",
    )
    ap.add_argument("--lam", type=float, default=0.5, help="weight of the reconstruction loss")
    ap.add_argument("--methods", nargs="+", default=["PhiROM", "DINo"],
                    choices=["PhiROM", "DINo"])  # fmt: skip
    ap.add_argument(
        "--dino-original",
        action="store_true",
        help="train DINo as Yin et al. and the reference's DINOTrainer: its dynamics loss "
        "trains psi only, never the latents (warm-up over the whole run)",
    )
    ap.add_argument(
        "--validation",
        action="store_true",
        help="choose hyper-parameters on the training data alone: train on snapshots 0..49 "
        "of the 8 training μ and forecast them over 0..99",
    )
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0, help="run seeds first-seed, ...")
    ap.add_argument("--inversion-iters", type=int, default=1000)
    ap.add_argument(
        "--inversion-lr",
        type=float,
        default=0.01,
        help="Adam step of the latent inversion (the reference's is 0.1 with 300 iterations; "
        "see docs/benchmarks.md)",
    )
    ap.add_argument(
        "--inversions",
        nargs="+",
        default=None,
        help="INIT:LR:ITERS specs (INIT zeros or memory); default zeros:<--inversion-lr>:"
        "<--inversion-iters>",
    )
    ap.add_argument("--save-dir", default=None, help="save trained models and latents here")
    ap.add_argument("--load-dir", default=None, help="score models saved by --save-dir")
    ap.add_argument("--out", default="/tmp/rom_phirom_burgers.json")
    args = ap.parse_args()
    specs = args.inversions or [f"zeros:{args.inversion_lr}:{args.inversion_iters}"]
    inversions = []
    for spec in specs:
        init, lr, iters = spec.split(":")
        if init not in ("zeros", "memory"):
            raise SystemExit(f"--inversions: INIT must be zeros or memory, got {init!r}")
        inversions.append((spec, init, float(lr), int(iters)))

    solver = pde.ParametricBurgers()
    mu_train = np.linspace(0.015, 0.03, 8)
    h = mu_train[1] - mu_train[0]
    if args.validation:
        # The same protocol at half the horizon, on the training data alone.
        n_total, n_train = 100, 50
        test_mus = {"train_mu": mu_train}
    else:
        n_total, n_train = 200, 100
        test_mus = {"interp": 0.5 * (mu_train[1:] + mu_train[:-1]),
                    "extrap": np.array([mu_train[0] - h, mu_train[-1] + h])}  # fmt: skip
    u0 = jnp.ones((1, 1, 256), jnp.float32)

    def simulate(mus):
        mus = jnp.asarray(mus, jnp.float32)
        return pde.pde_trajectories(solver, jnp.repeat(u0, len(mus), 0), n_total - 1, aux=mus)

    train = simulate(mu_train)
    tests = {k: (simulate(mus), mus) for k, mus in test_mus.items()}
    n_test = sum(len(mus) for mus in test_mus.values())
    x = jnp.asarray(solver.grid, jnp.float32)[:, None]
    mean = float(train.states[:, :n_train].mean())
    std = float(train.states[:, :n_train].std())

    def make(cls, key):
        k1, k2 = jax.random.split(key)
        dec = rom.MLPDecoder(1, 4, 1, width=32, depth=4, coord_bounds=(0.0, 100.0),
                             output_shift=mean, output_scale=std, key=k1)  # fmt: skip
        dyn = rom.LatentDynamics(4, 1, width=64, depth=3, param_bounds=(0.015, 0.03), key=k2)
        return cls(dec, dyn, dt=solver.dt)

    def evaluate(model, data, mus, lr, iters, alpha_init):
        pred = rom.forecast_fields(model, data.states[:, 0], n_total - 1, coords=x,
                                   params=jnp.asarray(mus, jnp.float32), n_iter=iters,
                                   learning_rate=lr, alpha_init=alpha_init)  # fmt: skip
        err = np.asarray(relative_l2_error(data.states, pred))[..., 0]
        err = np.where(np.isfinite(err), err, np.inf)
        return float(err[:, :n_train].mean()), float(err[:, n_train:].mean())

    rows = []
    common = dict(
        coords=x,
        params=jnp.asarray(mu_train, jnp.float32),
        n_train_time=n_train,
        n_steps=args.steps,
        batch_size=args.batch,
        warmup_steps=args.warmup,
        lam=args.lam,
    )
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for name in args.methods:
            key = jax.random.key(seed)
            kinit, kfit = jax.random.split(key)
            cls = rom.PhiROM if name == "PhiROM" else rom.DINo
            # The latent memory: (8 trajectories, n_train snapshots, d = 4).
            like = (make(cls, kinit), jnp.zeros((len(mu_train), n_train, 4), jnp.float32))
            t0 = time.time()
            if args.load_dir:
                path = pathlib.Path(args.load_dir) / f"{name}_seed{seed}.eqx"
                model, latents = eqx.tree_deserialise_leaves(path, like)
                t_train = float("nan")
            else:
                if name == "PhiROM":
                    res = rom.fit_phirom(like[0], train, solver, key=kfit, gamma=args.gamma,
                                         **common)  # fmt: skip
                else:
                    dino = dict(common, warmup_steps=args.steps) if args.dino_original else common
                    res = rom.fit_dino(like[0], train, key=kfit, **dino)
                model, latents = res.model, res.latents
                t_train = time.time() - t0
                if args.save_dir:
                    out = pathlib.Path(args.save_dir)
                    out.mkdir(parents=True, exist_ok=True)
                    eqx.tree_serialise_leaves(out / f"{name}_seed{seed}.eqx", (model, latents))
            for spec, init, lr, iters in inversions:
                a0 = jnp.mean(latents[:, 0], axis=0) if init == "memory" else None
                row = dict(method=name, seed=seed, inversion=spec, train_s=t_train,
                           all_in=0.0, all_beyond=0.0)  # fmt: skip
                for k, (data, mus) in tests.items():
                    e_in, e_beyond = evaluate(model, data, mus, lr, iters, a0)
                    row[f"{k}_in"], row[f"{k}_beyond"] = e_in, e_beyond
                    row["all_in"] += e_in * len(mus) / n_test
                    row["all_beyond"] += e_beyond * len(mus) / n_test
                rows.append(row)
                print(json.dumps(row), flush=True)

    print("\nmachine: shared 2-core CPU (other jobs running); times are indicative only")
    print(f"training: {args.steps} steps, batch {args.batch} snapshots, warm-up {args.warmup}, "
          f"Adam 5e-3 ×0.985/100 steps, λ = {args.lam}, γ = {args.gamma} (Φ-ROM); "
          f"{args.seeds} seed(s)"
          + ("; original DINo (ψ only)" if args.dino_original else ""))  # fmt: skip
    keys = [f"{k}_{w}" for k in tests for w in ("in", "beyond")] + ["all_beyond", "train_s"]
    ratios = {}
    for spec, *_ in inversions:
        print(f"\ninversion {spec} (init:Adam step:iterations)")
        print("| method | " + " | ".join(keys) + " |")
        print("|---" * (len(keys) + 1) + "|")
        summary = {}
        for name in args.methods:
            r = [row for row in rows if row["method"] == name and row["inversion"] == spec]
            cells = []
            for k in keys:
                v = np.array([row[k] for row in r])
                summary[(name, k)] = v
                cells.append(f"{v.mean():.4f} ± {v.std():.4f}")
            print(f"| {name} | " + " | ".join(cells) + " |")
        if len(args.methods) < 2:
            continue
        ratio = summary[("PhiROM", "all_beyond")].mean() / summary[("DINo", "all_beyond")].mean()
        per_seed = summary[("PhiROM", "all_beyond")] / summary[("DINo", "all_beyond")]
        ratios[spec] = ratio
        verdict = "met" if ratio <= 0.5 else "MISSED"
        where = "training μ, validation" if args.validation else "all test μ"
        print(
            f"beyond-horizon error ratio Φ-ROM / DINo ({where}): {ratio:.3f} "
            f"(per seed {np.round(per_seed, 3).tolist()})"
            + ("" if args.validation else f"; target <= 0.5: {verdict}")
        )
    with open(args.out, "w") as f:
        json.dump({"rows": rows, "ratios": ratios, "args": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
