"""Noise floors of D_stsp and D_H: the values that trajectories of the true system itself get.

A perfect model cannot score below these numbers with finite samples, so they are the
scale against which a model's D_stsp and D_H are read (docs/metrics.md). Two independent
trajectories of each system (random initial conditions, transient discarded, float64
Dopri8 at rtol = atol = 1e-10 through `dynsys.simulate`) are z-scored with the statistics
of the first one and compared; independent pairs are repeated over several seeds and
reported as mean ± std. Controls: the same points in shuffled time order (geometry kept,
temporal structure destroyed) and i.i.d. N(0, I) noise.

Run by hand (about a minute on a laptop CPU):

    python benchmarks/metric_floors.py            # the table in docs/metrics.md
    python benchmarks/metric_floors.py --quick    # small sizes, a smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import dynsys  # noqa: E402
from dynsys.metrics import power_spectrum_distance, state_space_divergence  # noqa: E402


def trajectory(system, n_steps: int, n_transient: int, seed: int, spread: float) -> np.ndarray:
    """`n_steps` samples at the system's Δt from a random initial condition, transient cut."""
    y0 = system.initial_state() + spread * jax.random.normal(
        jax.random.PRNGKey(seed), (system.dim,), jnp.float64
    )
    ts = jnp.arange(float(n_transient + n_steps)) * system.dt
    return np.asarray(dynsys.simulate(system, y0, ts))[n_transient:]


def metrics(reference: np.ndarray, other: np.ndarray, *, spectrum: bool = True) -> tuple:
    d_stsp = float(state_space_divergence(reference, other, method="bins"))
    d_gmm = float(state_space_divergence(reference, other, method="gmm"))
    n = min(len(reference), len(other))
    d_h = float(power_spectrum_distance(reference[:n], other[:n])) if spectrum else np.nan
    return d_stsp, d_gmm, d_h


def fmt(values) -> str:
    values = np.asarray(values, dtype=float)
    if np.all(np.isnan(values)):
        return "–"
    if values.size == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer steps, 2 seeds")
    parser.add_argument("--seeds", type=int, default=3, help="independent pairs per row")
    args = parser.parse_args()
    n_long = 10_000 if args.quick else 100_000
    n_short = n_long // 10
    seeds = range(2 if args.quick else args.seeds)
    lorenz, rossler = dynsys.systems.Lorenz63(), dynsys.systems.Rossler()
    start = time.perf_counter()

    rows: dict[str, list[tuple]] = {}
    for seed in seeds:
        a = trajectory(lorenz, n_long, 5_000, 2 * seed, 5.0)
        b = trajectory(lorenz, n_long, 5_000, 2 * seed + 1, 5.0)
        mean, std = a.mean(0), a.std(0)
        a, b = (a - mean) / std, (b - mean) / std
        half = n_long // 2
        rows.setdefault(f"L63 {n_long} vs independent {n_long}", []).append(metrics(a, b))
        rows.setdefault(
            f"L63 {n_long} vs independent {n_short} (D_H: first {n_short} of each)", []
        ).append(metrics(a, b[:n_short]))
        rows.setdefault(f"L63 first {half} vs second {half} (same run)", []).append(
            metrics(a[:half], a[half:])
        )
        rng = np.random.default_rng(seed)
        rows.setdefault("L63 vs the same points in shuffled time order", []).append(
            metrics(a, a[rng.permutation(n_long)])
        )
        rows.setdefault("L63 vs i.i.d. N(0, I)", []).append(metrics(a, rng.normal(size=a.shape)))
        r1 = trajectory(rossler, n_long, 1_000, 2 * seed, 1.0)
        r2 = trajectory(rossler, n_long, 1_000, 2 * seed + 1, 1.0)
        mean, std = r1.mean(0), r1.std(0)
        r1, r2 = (r1 - mean) / std, (r2 - mean) / std
        rows.setdefault(f"Rössler {n_long} vs independent {n_long}", []).append(metrics(r1, r2))
        rows.setdefault(f"Rössler first {half} vs second {half} (same run)", []).append(
            metrics(r1[:half], r1[half:])
        )
    elapsed = time.perf_counter() - start

    # speed of the metrics themselves on 100k points in 3-D (30^3 cells), after compilation
    rng = np.random.default_rng(0)
    x, y = jnp.asarray(rng.normal(size=(100_000, 3))), jnp.asarray(rng.normal(size=(100_000, 3)))
    timings = {}
    for name, fn in [
        ("D_stsp bins", lambda: state_space_divergence(x, y, method="bins")),
        ("D_stsp gmm", lambda: state_space_divergence(x, y, method="gmm")),
        ("D_H", lambda: power_spectrum_distance(x, y)),
    ]:
        fn().block_until_ready()
        t0 = time.perf_counter()
        for _ in range(5):
            fn().block_until_ready()
        timings[name] = (time.perf_counter() - t0) / 5

    print(f"command: python {' '.join(sys.argv)}")
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; python {platform.python_version()}, jax {jax.__version__} "
        f"({jax.default_backend()}), float64"
    )
    print(
        f"seeds per row: {len(seeds)} (mean ± std over independent pairs); "
        f"Lorenz-63 Δt = {lorenz.dt}, 5000-step transient; Rössler Δt = {rossler.dt}, "
        f"1000-step transient; D_stsp: 30 bins, α = 1e-5; gmm: σ² = 1, 1000 samples, "
        f"10 000 centres; D_H: σ = 20 bins"
    )
    print()
    print(
        "| pair (both from the true system unless a control) | D_stsp (bins) | D_stsp (gmm) | D_H |"
    )
    print("|---|---|---|---|")
    for name, values in rows.items():
        v = np.asarray(values)
        print(f"| {name} | {fmt(v[:, 0])} | {fmt(v[:, 1])} | {fmt(v[:, 2])} |")
    print()
    print(f"total time {elapsed:.1f} s (simulation included)")
    print(
        "metric time on 100 000 × 3 points after compilation: "
        + ", ".join(f"{k} {1e3 * v:.1f} ms" for k, v in timings.items())
    )


if __name__ == "__main__":
    main()
