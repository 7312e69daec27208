"""Training throughput of a `jax.vmap` ensemble of clipped shPLRNNs (adaptive GTF, Lorenz-63).

Measures optimiser steps per second of `dsr.fit(..., ensemble=E)` with the Lorenz-63
shPLRNN reference settings (M=3, τ=1, α adaptive, T=200, batch 16) at L=50, the width of
the recorded runs (`--hidden-dim 100` for the current settings), compilation
excluded: two runs of different length, difference of wall times. Run it against another
checkout to compare versions side by side on the same machine:

    .venv/bin/python benchmarks/dsr_ensemble_throughput.py --members 5
    PYTHONPATH=/path/to/other/checkout/src .venv/bin/python benchmarks/dsr_ensemble_throughput.py
"""

from __future__ import annotations

import argparse
import os
import time

import jax

import dynsys
from dynsys import data, dsr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=5, help="ensemble size E")
    ap.add_argument("--epochs", type=int, default=8, help="epochs of the long run (short: 2)")
    ap.add_argument("--hidden-dim", type=int, default=50, help="L (settings: 100)")
    args = ap.parse_args()
    bench = data.benchmark("lorenz63", n_steps=100_000, seed=0)
    s = dsr.settings("lorenz63", "shplrnn").replace(hidden_dim=args.hidden_dim)

    def wall(n_epochs):
        ens = dsr.make_ensemble(
            lambda k: dsr.ShallowPLRNN(s.latent_dim, s.hidden_dim, 3, key=k, clipped=True),
            jax.random.key(0), args.members,
        )  # fmt: skip
        t0 = time.perf_counter()
        settings = s.replace(n_epochs=n_epochs)
        res = dsr.fit(ens, bench.train, key=jax.random.key(1), settings=settings,
                      ensemble=args.members, select="last", progress=False)  # fmt: skip
        jax.block_until_ready(res.model)
        return time.perf_counter() - t0

    short, long = wall(2), wall(args.epochs)
    rate = (args.epochs - 2) * s.batches_per_epoch / (long - short)
    print(f"dynsys from {os.path.dirname(dynsys.__file__)}; jax {jax.__version__}, "
          f"{os.cpu_count()} cores visible")  # fmt: skip
    print(f"ensemble of {args.members} clipped shPLRNNs: {rate:.1f} steps/s "
          f"({rate / s.batches_per_epoch:.2f} epochs/s); 2 epochs {short:.1f} s, "
          f"{args.epochs} epochs {long:.1f} s; a 2000-epoch run ≈ "
          f"{2000 * s.batches_per_epoch / rate / 60:.1f} min, "
          f"{2000 * s.batches_per_epoch / rate / 60 / args.members:.1f} min per model")  # fmt: skip


if __name__ == "__main__":
    main()
