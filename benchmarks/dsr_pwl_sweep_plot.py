"""D_stsp and D_H of the AL-RNN on Lorenz-63 against its number P of piecewise-linear units.

The figure of the P sweep in `docs/benchmarks.md` (as in the AL-RNN paper's Fig. 3),
drawn from the JSON files that `benchmarks/dsr_benchmark.py` wrote for each P
(`--set pwl_units=P`, 5 seeds). The measured files are kept in
`benchmarks/results/alrnn_pwl_sweep/`, named `P{P}_{epochs}ep.json`; files with anything
else in their name (other M, other forcing) are variants and are not drawn.

    python benchmarks/dsr_pwl_sweep_plot.py --out docs/figures/alrnn_pwl_sweep.png

Prints the medians it plots.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results" / "alrnn_pwl_sweep"
NAME = re.compile(r"^P(\d+)_(\d+)ep\.json$")
TARGETS = {"d_stsp": 0.35, "d_h": 0.12}
LABELS = {"d_stsp": "D_stsp (30 bins; ceiling 16.36 = fixed point)", "d_h": "D_H"}


def load(folder: pathlib.Path) -> dict[int, dict[int, dict]]:
    """{epochs: {P: result}} from the files named P{P}_{epochs}ep.json."""
    runs: dict[int, dict[int, dict]] = {}
    for path in sorted(folder.glob("*.json")):
        match = NAME.match(path.name)
        if match is None:
            continue
        p, epochs = int(match.group(1)), int(match.group(2))
        result = json.loads(path.read_text())[0]
        if result["epochs"] != epochs:
            raise SystemExit(f"{path.name}: the file says {result['epochs']} epochs")
        runs.setdefault(epochs, {})[p] = result
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--out", type=pathlib.Path, required=True, help="figure file")
    args = parser.parse_args()
    runs = load(args.results)
    if not runs:
        raise SystemExit(f"no P*_*ep.json files in {args.results}")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    styles = {2000: ("tab:blue", "o", "2000 epochs (reference budget)"),
              500: ("0.55", "s", "500 epochs")}  # fmt: skip
    floor = None
    for epochs in sorted(runs, reverse=True):
        color, marker, label = styles.get(epochs, ("tab:green", "^", f"{epochs} epochs"))
        ps = sorted(runs[epochs])
        for ax, key in zip(axes, ("d_stsp", "d_h"), strict=True):
            # an undefined score (NaN) counts as the worst in the median, as in
            # dsr_benchmark's table, and is not drawn
            values = [np.array([r[key] for r in runs[epochs][p]["runs"]], dtype=float) for p in ps]
            medians = [float(np.median(np.where(np.isnan(v), np.inf, v))) for v in values]
            for p, v in zip(ps, values, strict=True):
                ax.scatter(np.full(v.size, p), v, s=12, color=color, marker=marker, alpha=0.5)
            ax.plot(ps, medians, color=color, marker=marker, label=f"median, {label}")
            print(f"{epochs} epochs, {key}: " + ", ".join(
                f"P={p}: {m:.3f}" for p, m in zip(ps, medians, strict=True)))  # fmt: skip
        floor = runs[epochs][ps[0]]["floors"]
    for ax, key in zip(axes, ("d_stsp", "d_h"), strict=True):
        ax.axhline(TARGETS[key], color="tab:red", ls="--", lw=1, label=f"target {TARGETS[key]}")
        if floor is not None:
            ax.axhline(floor[key], color="k", ls=":", lw=1, label="floor (true vs true)")
        ax.set(xlabel="P (piecewise-linear units of M = 20)", ylabel=LABELS[key])
        ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle("AL-RNN on Lorenz-63: 5 seeds per P, best checkpoint", fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
