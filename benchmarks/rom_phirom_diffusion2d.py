"""Φ-ROM vs DINo on 2-D diffusion with unseen initial conditions (issue 6, second case).

Protocol (scaled-down version of Φ-ROM's "Diffusion 2D" case, reference notes a.1/a.4:
latent d = 16, hyper decoder width 64, MLP ψ width 64, λ = 0.8, warm-up 400, γ = 0.1):
`pde.Heat(2, 1.0, 32, dt=0.01, diffusivity=0.01)` (periodic, exact in time), initial
conditions of two random Gaussian blobs (`pde.gaussian_blobs`, widths 0.07–0.12 L,
amplitudes 0.5–1). Train on `--n-train` trajectories × the first `--t-train` snapshots;
test on `--n-test` trajectories from unseen initial conditions, each latent found by
inverting the first snapshot (Adam(0.1), `--inversion-iters`), integrated for
2·t_train − 1 steps. Reported: mean per-time relative L2 error over [0, t_train) ("in") and
[t_train, 2·t_train) ("beyond") on the test set, training time. Same decoder, ψ, optimiser,
schedule, batch, λ and warm-up for both methods; only the dynamics target differs (the
solver's Δu through the decoder Jacobian for Φ-ROM; ψ integrated from the memory latents
and matched to the next ones, with teacher forcing, for DINo). `--dino-original` trains
DINo as Yin et al. and the reference's `DINOTrainer`, whose dynamics loss never reaches
the latents (by default it does after the warm-up, as Φ-ROM's); `--methods` trains only
some of the two.

The paper trains 24 000 epochs on 100 trajectories of a 40 × 40 finite-difference
Dirichlet problem; this periodic 32² version with far fewer steps fits a shared 2-core CPU.

Run: .venv/bin/python benchmarks/rom_phirom_diffusion2d.py [--steps N] [--batch B] [--seeds S]
     [--first-seed F] [--methods PhiROM DINo] [--dino-original]
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from dynsys import pde, rom
from dynsys.metrics import relative_l2_error


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=400)
    ap.add_argument("--lam", type=float, default=0.8)
    ap.add_argument("--latent", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0, help="run seeds first-seed, ...")
    ap.add_argument("--n-train", type=int, default=32)
    ap.add_argument("--n-test", type=int, default=8)
    ap.add_argument("--t-train", type=int, default=25)
    ap.add_argument("--inversion-iters", type=int, default=300)
    ap.add_argument("--methods", nargs="+", default=["PhiROM", "DINo"],
                    choices=["PhiROM", "DINo"])  # fmt: skip
    ap.add_argument("--dino-original", action="store_true",
                    help="DINo's dynamics loss trains psi only, never the latents")  # fmt: skip
    ap.add_argument("--out", default="/tmp/rom_phirom_diffusion2d.json")
    args = ap.parse_args()

    n_points, length = 32, 1.0
    solver = pde.Heat(2, length, n_points, dt=0.01, diffusivity=0.01)
    n_total = 2 * args.t_train

    def simulate(key, n):
        keys = jax.random.split(key, n)
        u0 = jax.vmap(
            lambda k: pde.gaussian_blobs(k, 2, length, n_points, num_blobs=2,
                                         width_range=(0.07, 0.12), dtype=jnp.float32)
        )(keys)  # fmt: skip
        return pde.pde_trajectories(solver, u0, n_total - 1)

    train = simulate(jax.random.key(1234), args.n_train)
    test = simulate(jax.random.key(5678), args.n_test)  # initial conditions never trained on
    x = jnp.moveaxis(jnp.asarray(pde.make_grid(2, length, n_points), jnp.float32), 0, -1)
    mean = float(train.states[:, : args.t_train].mean())
    std = float(train.states[:, : args.t_train].std())

    def make(cls, key):
        k1, k2 = jax.random.split(key)
        dec = rom.HyperDecoder(2, args.latent, 1, width=64, coord_bounds=(0.0, length),
                               output_shift=mean, output_scale=std, key=k1)  # fmt: skip
        dyn = rom.LatentDynamics(args.latent, 0, width=64, depth=3, key=k2)
        return cls(dec, dyn, dt=solver.dt)

    def evaluate(model):
        pred = rom.forecast_fields(model, test.states[:, 0], n_total - 1, coords=x,
                                   n_iter=args.inversion_iters)  # fmt: skip
        err = np.asarray(relative_l2_error(test.states, pred))[..., 0]
        err = np.where(np.isfinite(err), err, np.inf)
        return float(err[:, : args.t_train].mean()), float(err[:, args.t_train :].mean())

    common = dict(coords=x, n_train_time=args.t_train, n_steps=args.steps,
                  batch_size=args.batch, warmup_steps=args.warmup, lam=args.lam)  # fmt: skip
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for name in args.methods:
            kinit, kfit = jax.random.split(jax.random.key(seed))
            t0 = time.time()
            if name == "PhiROM":
                res = rom.fit_phirom(make(rom.PhiROM, kinit), train, solver, key=kfit, **common)
            else:
                dino = dict(common, warmup_steps=args.steps) if args.dino_original else common
                res = rom.fit_dino(make(rom.DINo, kinit), train, key=kfit, **dino)
            t_train = time.time() - t0
            err_in, err_beyond = evaluate(res.model)
            row = dict(method=name, seed=seed, train_s=t_train, test_in=err_in,
                       test_beyond=err_beyond)  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)

    print("\nmachine: shared 2-core CPU (other jobs running); times are indicative only")
    print(f"data: Heat 2-D 32², ν = 0.01, Δt = 0.01, {args.n_train} train / {args.n_test} "
          f"unseen-IC test trajectories, t_train = {args.t_train}; training: {args.steps} "
          f"steps, batch {args.batch}, warm-up {args.warmup}, λ = {args.lam}, d = "
          f"{args.latent}, γ = 0.1 (Φ-ROM); {args.seeds} seed(s)"
          + ("; original DINo (ψ only)" if args.dino_original else ""))  # fmt: skip
    keys = ["test_in", "test_beyond", "train_s"]
    print("| method | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    beyond = {}
    for name in args.methods:
        r = [row for row in rows if row["method"] == name]
        cells = []
        for k in keys:
            v = np.array([row[k] for row in r])
            cells.append(f"{v.mean():.4f} ± {v.std():.4f}")
        beyond[name] = np.array([row["test_beyond"] for row in r])
        print(f"| {name} | " + " | ".join(cells) + " |")
    result = {"rows": rows, "args": vars(args)}
    if len(beyond) == 2:
        per_seed = beyond["PhiROM"] / beyond["DINo"]
        result["ratio"] = ratio = beyond["PhiROM"].mean() / beyond["DINo"].mean()
        print(f"\nbeyond-horizon error ratio Φ-ROM / DINo (unseen ICs): {ratio:.3f} "
              f"(per seed {np.round(per_seed, 3).tolist()})")  # fmt: skip
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
