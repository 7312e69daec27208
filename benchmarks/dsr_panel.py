"""Reconstruction panel: chaotic flows nobody tuned for, three methods, one protocol.

For every system of `benchmarks/_panel_systems.py` (published flows from the dysts
database that are not dynsys built-ins, 3-D to 10-D, each sampled at 100 points per
dominant period), three trajectories from independent initial conditions are simulated
and z-scored with the training statistics: train, test, and a reference for the floor.
Then, on the same training data:

- (a) `dynsys.dsr.reconstruct` with its defaults (AL-RNN, data-derived settings, a
  wall-clock budget; `fit_reconstruct` below is the one place that calls it);
- (b) `dynsys.dsr.ContextParrot` (Zhang & Gilpin 2025) built on the training trajectory;
- (c) a `dynsys.nde.NeuralODE` with its defaults trained by `dynsys.nde.fit` with its
  defaults on consecutive 30-sample windows of the training trajectory (`fit_node`).

Scoring is the GTF/AL-RNN protocol for all three (`dynsys.dsr.evaluate` for (a) and (b),
`dynsys.nde.evaluate` for (c), which computes the same quantities): a free run of 1.25·T
samples from the first test point, the first 0.25·T dropped, compared with the T test
samples by D_stsp (30 bins; a Gaussian mixture from 6 dimensions on) and D_H (σ = 20);
PE(20) from every test point; λ_max per unit time (the RNN's step map, the neural ODE's
vector field; undefined for the parrot), next to the system's λ₁. The floor is D_stsp
and D_H between the test and the reference trajectory. The reconstruction is scored in
its own standardisation (the training part's statistics, within a few per cent of the
panel's); D_stsp and D_H do not change under that per-dimension affine map, PE(20) is
in its units.

    python benchmarks/dsr_panel.py                            # all systems, 10 min each
    python benchmarks/dsr_panel.py --systems Chen Hopfield --budget-minutes 5 --skip-node
    python benchmarks/dsr_panel.py --small                    # smoke test, about a minute

Prints a markdown table and writes `dsr_panel.json` to `--out` (default: a fresh
temporary directory).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback
from typing import Any

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _panel_systems import DROPPED, PANEL, panel_data  # noqa: E402

from dynsys import data, dsr, nde  # noqa: E402
from dynsys.metrics import power_spectrum_distance, state_space_divergence  # noqa: E402

METHODS = ("reconstruct", "parrot", "node")
NODE_WINDOW = 30  # samples per neural-ODE training window (0.3 dominant periods)
SMALL_SYSTEMS = ("LorenzCoupled",)  # 6-D: D_stsp by the Gaussian mixture


def fit_reconstruct(
    train: data.Trajectories, dt: float, key: jax.Array, budget_minutes: float, **overrides: Any
) -> tuple[Any, data.Standardization]:
    """`dsr.reconstruct` with its defaults: the trained model and its standardisation.

    The one call of the reconstruction API in this script (its signature may still
    change); `overrides` go to `reconstruct` (the small run passes `n_steps`, `n_seeds`).
    """
    rec = dsr.reconstruct(
        train,
        dt=dt,
        key=key,
        budget_minutes=budget_minutes,
        verbose=False,
        progress=False,
        **overrides,
    )
    return rec.model, rec.standardization


def fit_node(train: data.Trajectories, key: jax.Array, *, steps: Any = None) -> Any:
    """A default `nde.NeuralODE` trained by `nde.fit` (defaults) on 30-sample windows.

    The training trajectory is cut into consecutive, non-overlapping windows of
    `NODE_WINDOW` samples (trajectory matching from each window's first point);
    `steps=None` keeps `nde.fit`'s default curriculum.
    """
    x = train.states[0]
    n_windows = x.shape[0] // NODE_WINDOW
    windows = x[: n_windows * NODE_WINDOW].reshape(n_windows, NODE_WINDOW, x.shape[-1])
    ts = train.times[:NODE_WINDOW] - train.times[0]
    k_model, k_fit = jax.random.split(key)
    model = nde.NeuralODE(x.shape[-1], key=k_model)
    kwargs = {} if steps is None else {"steps": steps}
    return nde.fit(model, windows, ts=ts, key=k_fit, progress=False, **kwargs).model


def _scores(ev: Any) -> dict:
    return {"d_stsp": ev.d_stsp, "d_h": ev.d_h, "pe": ev.pe, "lambda_max": ev.lambda_max}


def _failed(err: BaseException) -> dict:
    nan = float("nan")
    text = "".join(traceback.format_exception_only(type(err), err)).strip()
    return {"d_stsp": nan, "d_h": nan, "pe": nan, "lambda_max": nan, "error": text[:500]}


def run_system(name: str, args: argparse.Namespace, sizes: dict) -> dict:
    """Simulate one system, train and score the three methods; a JSON-ready dict."""
    entry = PANEL[name] if name in PANEL else DROPPED[name][0]
    key = jax.random.key(args.seed)
    k_rec, k_node = jax.random.split(key)
    t0 = time.perf_counter()
    train, test, reference = panel_data(entry, sizes["n_steps"], seed=args.seed)
    simulate_s = time.perf_counter() - t0
    dt = entry.sample_dt
    x, r = test.states[0], reference.states[0]
    floor = {
        "d_stsp": float(state_space_divergence(x, r)),
        "d_h": float(power_spectrum_distance(x, r)),
    }
    row = {
        "system": name,
        "dim": entry.dim,
        "sample_dt": dt,
        "dysts_dt": entry.dysts_dt,
        "lambda_true": entry.lyapunov,
        "lambda_dysts": entry.lyapunov_dysts,
        "n_steps": sizes["n_steps"],
        "simulate_s": simulate_s,
        "floor": floor,
        "citation": entry.citation,
        "methods": {},
    }
    lyap = sizes["lyapunov_steps"]

    # (a) dsr.reconstruct
    try:
        t0 = time.perf_counter()
        model, stats = fit_reconstruct(
            train, dt, k_rec, sizes["budget_minutes"], **sizes["reconstruct"]
        )
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ev = dsr.evaluate(
            model, stats.apply(test), reference=stats.apply(reference), dt=dt, lyapunov_steps=lyap
        )
        result = {
            **_scores(ev),
            "train_s": train_s,
            "eval_s": time.perf_counter() - t0,
            "model": type(model).__name__,
        }
    except Exception as err:  # noqa: BLE001 -- one failure must not stop the panel
        result = _failed(err)
    row["methods"]["reconstruct"] = result
    print(f"  {name} reconstruct: {json.dumps(result)}", flush=True)

    # (b) context parroting
    try:
        t0 = time.perf_counter()
        parrot = dsr.ContextParrot(train)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ev = dsr.evaluate(parrot, test, reference=reference, dt=dt)
        result = {
            **_scores(ev),
            "train_s": train_s,
            "eval_s": time.perf_counter() - t0,
            "embedding": parrot.embedding,
        }
    except Exception as err:  # noqa: BLE001
        result = _failed(err)
    row["methods"]["parrot"] = result
    print(f"  {name} parrot: {json.dumps(result)}", flush=True)

    # (c) neural ODE
    if not args.skip_node:
        try:
            t0 = time.perf_counter()
            node = fit_node(train, k_node, steps=sizes["node_steps"])
            train_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            ev = nde.evaluate(node, test, reference=reference, dt=dt, lyapunov_steps=lyap)
            result = {**_scores(ev), "train_s": train_s, "eval_s": time.perf_counter() - t0}
        except Exception as err:  # noqa: BLE001
            result = _failed(err)
        row["methods"]["node"] = result
        print(f"  {name} node: {json.dumps(result)}", flush=True)
    return row


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def table(rows: list[dict]) -> str:
    """The panel as a markdown table: one line per (system, method), the floor first."""
    lines = [
        "| system | N | method | D_stsp | D_H | PE(20) | λ_max (true λ₁) | train | eval |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        fl = row["floor"]
        lines.append(
            f"| {row['system']} | {row['dim']} | floor (true vs true) | "
            f"{_f(fl['d_stsp'])} | {_f(fl['d_h'])} | – | {_f(row['lambda_true'])} "
            f"| – | {row['simulate_s']:.0f} s (simulation) |"
        )
        for method, r in row["methods"].items():
            if "error" in r:
                lines.append(
                    f"| {row['system']} | {row['dim']} | {method} | failed: "
                    f"{r['error'].splitlines()[-1][:80]} | | | | | |"
                )
                continue
            lines.append(
                f"| {row['system']} | {row['dim']} | {method} | {_f(r['d_stsp'])} | "
                f"{_f(r['d_h'])} | {_f(r['pe'], 4)} | {_f(r['lambda_max'])} "
                f"({_f(row['lambda_true'])}) | {r['train_s']:.0f} s | "
                f"{r['eval_s']:.0f} s |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--systems",
        nargs="+",
        default=None,
        choices=sorted([*PANEL, *DROPPED]),
        help="default: the whole panel (with --small: " + ", ".join(SMALL_SYSTEMS) + "); the "
        "systems left out of it (_panel_systems.DROPPED) can be named too",
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=10.0,
        help="dsr.reconstruct's wall-clock budget per system",
    )
    parser.add_argument(
        "--n-steps",
        type=int,
        default=100_000,
        help="samples per trajectory (train, test, reference)",
    )
    parser.add_argument(
        "--small",
        action="store_true",
        help="tiny sizes and one system: a smoke test of about a minute",
    )
    parser.add_argument("--skip-node", action="store_true", help="leave out the neural ODE")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="output folder (default: a fresh temp dir)")
    args = parser.parse_args(argv)
    if args.small:
        sizes = {
            "n_steps": 2000,
            "budget_minutes": 0.5,
            "lyapunov_steps": 200,
            "reconstruct": {"n_steps": 20, "n_seeds": 1, "lyapunov_steps": 200},
            "node_steps": (10, 10),
        }
        systems = args.systems or list(SMALL_SYSTEMS)
    else:
        sizes = {
            "n_steps": args.n_steps,
            "budget_minutes": args.budget_minutes,
            "lyapunov_steps": 20_000,
            "reconstruct": {},
            "node_steps": None,
        }
        systems = args.systems or list(PANEL)
    out = args.out or tempfile.mkdtemp(prefix="dsr_panel_")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "dsr_panel.json")
    print(
        f"systems: {', '.join(systems)}; {sizes['n_steps']} samples per trajectory; "
        f"reconstruct budget {sizes['budget_minutes']} min; output {path}",
        flush=True,
    )
    rows = []
    for name in systems:
        rows.append(run_system(name, args, sizes))
        with open(path, "w") as f:
            json.dump({"machine": _machine(), "sizes": sizes, "rows": rows}, f, indent=1)
    print(table(rows))
    print(f"\n{_machine()}\nresults: {path}")
    return rows


def _machine() -> str:
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs, jax {jax.__version__}, "
        f"backend {jax.default_backend()}, numpy {np.__version__}"
    )


if __name__ == "__main__":
    main()
