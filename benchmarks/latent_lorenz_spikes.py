"""LangevinFlow vs its ablations and baselines on LFADS-style Lorenz spikes (NLB metrics).

Run: .venv/bin/python benchmarks/latent_lorenz_spikes.py [--steps N] [--seeds 0 1 2]
     [--variants full no_bypass mlp h_only smoothing_bypass smoothing_h_only gru smoothing]

Data: `dynsys.data.lorenz_spikes()` at its defaults (65 conditions × 20 trials, 30
neurons, 6 held out, 50 × 20 ms bins of which the last 10 are forward bins, seed 0), the
same for every run. Each model variant is trained with `dynsys.latent.fit` for `--steps`
steps (default 200: a CPU budget; batch 64, AdamW lr 3e-3 as in `latent.fit` and the example
(with 1e-2 the rate R² stayed at 0.65–0.67 after 1000 and 3000 steps), coordinated dropout 0.3,
KL ramp over the first quarter)
from three model seeds; scores are on the 260 eval trials:
rate R² (observed bins, true rates first), co-bps (held-out neurons), fp-bps (forward
bins), PSTH R², training wall time. Variants:

- full: LangevinFlow, oscillator potential, decoder reads [z, v, h] (reference design);
- no_bypass: decoder reads [z, v] only (the encoder state h is removed);
- mlp: full, with the MLP potential (nonlinear force);
- h_only: decoder reads h only (no Langevin latents at all: the bypass alone);
- smoothing_bypass: full, and the decoder also reads a backward GRU's states hb (each
  bin's bypass sees the later observed bins too: smoothing instead of filtering);
- smoothing_h_only: decoder reads h and hb only (the smoothing bypass without Langevin
  latents);
- gru: GRU sequential auto-encoder (LFADS-like, no controller);
- smoothing: Gaussian-smoothed held-in spikes + Poisson GLM (no training loop).

The seed spread (mean ± std over seeds) is printed so that differences can be judged
against training noise. No reference implementation runs side by side (the paper's code is
PyTorch-Lightning on NLB files); the true rates give the ceiling of each metric.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax
import numpy as np

from dynsys import data, latent


def model_size(width):
    """The LangevinFlow widths used here (default width 64)."""
    return dict(latent_dim=width, hidden_dim=width, model_size=width, n_heads=2,
                ff_size=2 * width)  # fmt: skip


VARIANTS = {
    "full": dict(decoder_inputs=("z", "v", "h")),
    "no_bypass": dict(decoder_inputs=("z", "v")),
    "mlp": dict(decoder_inputs=("z", "v", "h"), potential="mlp"),
    "h_only": dict(decoder_inputs=("h",)),
    "smoothing_bypass": dict(decoder_inputs=("z", "v", "h", "hb")),
    "smoothing_h_only": dict(decoder_inputs=("h", "hb")),
}


def build(name, ds, seed, width=64, dt=0.1, friction=1.0, temperature=1.0, bidirectional=False,
          dropout=0.0):  # fmt: skip
    key = jax.random.key(seed)
    dims = (len(ds.heldin), ds.n_neurons, ds.n_forward)
    if name == "gru":
        return latent.GRUAutoencoder(*dims, encoder_dim=64, generator_dim=64, factor_dim=16,
                                     key=key)  # fmt: skip
    return latent.LangevinFlow(*dims, dt=dt, friction=friction, temperature=temperature, key=key,
                               bidirectional=bidirectional, dropout=dropout, **model_size(width),
                               **VARIANTS[name])  # fmt: skip


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument(
        "--final-lr-fraction",
        type=float,
        default=1.0,
        help="cosine decay to this fraction of --lr (1: constant)",
    )
    parser.add_argument("--size", type=int, default=64, help="latent/hidden/model width")
    parser.add_argument("--kl-weight", type=float, default=1.0, help="final β of the KL ramp")
    parser.add_argument("--weight-decay", type=float, default=2e-5, help="AdamW weight decay")
    parser.add_argument("--dt", type=float, default=0.1, help="Langevin step h per bin")
    parser.add_argument("--friction", type=float, default=1.0, help="Langevin friction γ")
    parser.add_argument("--temperature", type=float, default=1.0, help="Langevin temperature T")
    parser.add_argument(
        "--bidirectional",
        action="store_true",
        help="LangevinFlow variants infer (z0, v0) from a bidirectional GRU (LFADS-style)",
    )
    parser.add_argument("--cd-rate", type=float, default=0.3, help="coordinated-dropout rate")
    parser.add_argument(
        "--dropout", type=float, default=0.0, help="LangevinFlow decoder dropout (training only)"
    )
    parser.add_argument(
        "--posterior-samples",
        type=int,
        default=0,
        help="also score rates averaged over this many posterior samples (0: only the "
        "deterministic posterior-mean rates)",
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=20,
        help="trials per condition of the generated data (20: LFADS's Lorenz set; more trials "
        "test whether the scores are limited by the data)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[*VARIANTS, "gru", "smoothing"],
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    ds = data.lorenz_spikes(n_trials=args.trials, seed=0)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
          f"(shared with other jobs: absolute times are noisy), jax {jax.__version__}, "
          f"backend {jax.default_backend()}")  # fmt: skip
    print(f"data: {ds.spikes.shape}, heldout {len(ds.heldout)}, forward {ds.n_forward}, "
          f"train {ds.train.shape[0]} / eval {ds.eval.shape[0]} trials; steps {args.steps}, "
          f"batch {args.batch}, lr {args.lr}, seeds {args.seeds}; Langevin dt {args.dt}, "
          f"friction {args.friction}, temperature {args.temperature}, weight decay "
          f"{args.weight_decay}, bidirectional posterior {args.bidirectional}, dropout "
          f"{args.dropout}")  # fmt: skip
    ceiling = latent.evaluate(ds.rates[ds.eval], ds).to_dict()
    print("true rates (ceiling):", {k: round(v, 4) for k, v in ceiling.items()})
    results = {}
    for name in args.variants:
        for seed in args.seeds:
            t0 = time.perf_counter()
            if name == "smoothing":
                model = latent.fit_smoothing_baseline(ds)
            else:
                model = build(name, ds, seed, args.size, args.dt, args.friction, args.temperature,
                              args.bidirectional, args.dropout)  # fmt: skip
                fit = latent.fit(model, ds, key=jax.random.key(100 + seed),
                                 n_steps=args.steps, batch_size=args.batch,
                                 learning_rate=args.lr,
                                 final_lr_fraction=args.final_lr_fraction,
                                 kl_weight=args.kl_weight, cd_rate=args.cd_rate,
                                 weight_decay=args.weight_decay,
                                 progress=False)  # fmt: skip
                model = fit.model
            wall = time.perf_counter() - t0
            scores = {**latent.evaluate(model, ds).to_dict(), "train_s": wall}
            results.setdefault(name, []).append(scores)
            line = ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
            print(f"{name:10s} seed {seed}: {line}", flush=True)
            if args.posterior_samples and name != "smoothing":
                rates = latent.infer_rates(model, ds, ds.eval, n_samples=args.posterior_samples,
                                           key=jax.random.key(200 + seed))  # fmt: skip
                sampled = {**latent.evaluate(rates, ds).to_dict(), "train_s": wall}
                results.setdefault(f"{name} (sampled)", []).append(sampled)
                line = ", ".join(f"{k} {v:.4f}" for k, v in sampled.items())
                print(f"{name:10s} seed {seed}, {args.posterior_samples} posterior samples: "
                      f"{line}", flush=True)  # fmt: skip
            if name == "smoothing":
                break  # deterministic: one run

    cols = ["rate_r2", "co_bps", "fp_bps", "psth_r2", "rate_r2_fwd", "train_s"]
    print("\n| variant | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for name, runs in results.items():
        cells = []
        for c in cols:
            v = np.array([r[c] for r in runs])
            cells.append(f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if v.size > 1 else f"{v[0]:.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| true rates | " + " | ".join(
        f"{ceiling[c]:.3f}" if c in ceiling else "–" for c in cols) + " |")  # fmt: skip
    for name in ("full", "smoothing_bypass"):
        if name in results:
            r2 = np.mean([r["rate_r2"] for r in results[name]])
            print(f"target rate R² >= 0.9, {name}: {r2:.3f} -> {'met' if r2 >= 0.9 else 'MISSED'}")
    if "full (sampled)" in results:
        r2 = np.mean([r["rate_r2"] for r in results["full (sampled)"]])
        print(f"target with posterior-sample averaging: {r2:.3f} -> "
              f"{'met' if r2 >= 0.9 else 'MISSED'}")  # fmt: skip
    pairs = [("full", o) for o in ("no_bypass", "h_only", "mlp", "gru", "smoothing_bypass")]
    pairs.append(("smoothing_bypass", "smoothing_h_only"))
    for first, other in pairs:
        if first in results and other in results:
            a = np.array([r["rate_r2"] for r in results[first]])
            b = np.array([r["rate_r2"] for r in results[other]])
            spread = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size) if a.size > 1 else 0
            print(f"rate R² {first} − {other}: {a.mean() - b.mean():+.3f} (seed s.e. {spread:.3f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ceiling": ceiling, "results": results, "args": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
