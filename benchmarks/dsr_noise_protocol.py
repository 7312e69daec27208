"""Single-seed diagnosis of the Lorenz-63 AL-RNN geometry: noise protocol and selection.

Trains one AL-RNN with the reference settings except the fields given on the command line,
scores it with `dynsys.dsr.evaluate` on the clean test trajectory, and prints the ranges of
the generated and true trajectories and the fraction of the true mass that lies in D_stsp
cells the generated trajectory never visits (the part of the attractor the model misses).

    python benchmarks/dsr_noise_protocol.py --epochs 1000 --batch-noise 0.05 --data-noise 0.0 \
        --select best --eval-steps 100000
"""

import argparse
import time

import jax
import numpy as np

import dynsys
from dynsys import data, dsr


def missed_mass(x: np.ndarray, g: np.ndarray, n_bins: int = 30) -> float:
    """Fraction of true points in D_stsp cells (same grid) that no generated point visits."""
    sd = x.std(0)
    lo, hi = x.min(0) - 0.1 * sd, x.max(0) + 0.1 * sd

    def cells(a):
        return np.clip(((a - lo) / (hi - lo) * n_bins).astype(int), 0, n_bins - 1)

    visited = set(map(tuple, cells(g)))
    return float(np.mean([tuple(c) not in visited for c in cells(x)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--batch-noise", type=float, default=0.05)
    parser.add_argument("--data-noise", type=float, default=0.05, help="noise of the train copy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--select", choices=("last", "best"), default="last")
    parser.add_argument("--eval-steps", type=int, default=20_000, help="steps for select=best")
    parser.add_argument("--tau", type=int, default=None, help="forcing interval (default 16)")
    parser.add_argument("--adaptive-alpha", action="store_true", help="GTF with adaptive alpha")
    parser.add_argument("--pwl-units", type=int, default=None, help="P (default 2)")
    parser.add_argument("--latent-dim", type=int, default=None, help="M (default 20)")
    args = parser.parse_args()

    bench = data.benchmark("lorenz63", noise=args.data_noise)
    s = dsr.settings("lorenz63").replace(
        pwl_units=2, n_epochs=args.epochs, noise_std=args.batch_noise
    )  # the reference P
    if args.tau is not None:
        s = s.replace(tau=args.tau)
    if args.adaptive_alpha:
        s = s.replace(adaptive_alpha=True)
    if args.pwl_units is not None:
        s = s.replace(pwl_units=args.pwl_units)
    if args.latent_dim is not None:
        s = s.replace(latent_dim=args.latent_dim)
    model = dynsys.ALRNN(s.latent_dim, s.pwl_units, 3, key=jax.random.key(args.seed))
    t0 = time.perf_counter()
    result = dsr.fit(
        model, bench.train, key=jax.random.key(100 + args.seed), settings=s, progress=False,
        select=args.select, n_eval_steps=args.eval_steps,
    )  # fmt: skip
    print(f"{vars(args)}")
    print(f"train {time.perf_counter() - t0:.0f} s, final loss "
          f"{float(result.fit.history['loss'][-1]):.4f}")  # fmt: skip
    ev = dsr.evaluate(result.model, bench.test, lyapunov_steps=5000)
    g, x = np.asarray(ev.generated), np.asarray(bench.test.states[0])
    print(f"D_stsp {ev.d_stsp:.3f} D_H {ev.d_h:.3f} PE(20) {ev.pe:.4f} "
          f"lambda_max {ev.lambda_max:.3f} subregions {ev.n_subregions}")  # fmt: skip
    print(f"generated min {g.min(0).round(2)} max {g.max(0).round(2)}")
    print(f"true      min {x.min(0).round(2)} max {x.max(0).round(2)}")
    print(f"true mass in cells the generated trajectory never visits: {missed_mass(x, g):.3f}")


if __name__ == "__main__":
    main()
