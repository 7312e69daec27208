"""Restarts for the AL-RNN: train K seeds, keep the one the training data prefer.

Reads the per-checkpoint scores that `dsr_selection.py` writes (one JSON file per seed
ensemble; files of the same settings with different `--key` hold independent seeds),
pools their seeds in file order, and splits them into consecutive groups of `--restarts`
seeds. Each group is one "model" of the restart procedure that `make demo --seeds K` and
`dsr.reconstruct` use:

1. every seed keeps its checkpoint with the lowest `d100k` (D_stsp of a free run as long
   as the training series against the training series, scored every `every` epochs);
2. the group keeps the seed whose kept checkpoint has the lowest `d100k`.

Only training-data scores choose; the test scores of the chosen checkpoint are reported.
With `--restarts 1` every seed is its own model (the single-run numbers).

    cd benchmarks/results/dsr_selection
    python ../../dsr_restarts.py p10.json p10k10.json p10k20.json --restarts 3
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def pooled(paths):
    """Per seed: the d100k-chosen checkpoint's training score, test D_stsp and test D_H."""
    train, test_d, test_h = [], [], []
    settings = None
    for path in paths:
        with open(path) as f:
            report = json.load(f)
        if settings is None:
            settings = report["settings"]
        elif report["settings"] != settings:
            raise SystemExit(f"{path}: other settings than {paths[0]}; pool only like with like")
        scores = {k: np.asarray(v, dtype=float) for k, v in report["scores"].items()}
        crit = np.where(np.isfinite(scores["d100k"]), scores["d100k"], np.inf)
        idx = np.argmin(crit, axis=0)  # chosen checkpoint per seed
        seeds = np.arange(crit.shape[1])
        train.append(crit[idx, seeds])
        test_d.append(scores["test_d_stsp"][idx, seeds])
        test_h.append(scores["test_d_h"][idx, seeds])
    return settings, np.concatenate(train), np.concatenate(test_d), np.concatenate(test_h)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="dsr_selection.py JSON outputs")
    parser.add_argument("--restarts", type=int, default=3, help="seeds per model (K)")
    args = parser.parse_args()
    if args.restarts < 1:
        parser.error(f"--restarts must be a positive integer, got {args.restarts}")
    settings, train, test_d, test_h = pooled(args.files)
    k = args.restarts
    n_models = train.size // k
    if n_models == 0:
        parser.error(f"{train.size} seeds in the files, fewer than --restarts {k}")
    print(settings)
    print(f"{train.size} seeds pooled; {n_models} models of {k} restart(s) each "
          f"({train.size - n_models * k} seed(s) left over)")  # fmt: skip
    print(f"{'model':<7}{'seeds':<12}{'train d100k per seed':<30}{'chosen':>7}"
          f"{'test D_stsp':>12}{'test D_H':>10}")  # fmt: skip
    chosen_d, chosen_h = [], []
    for m in range(n_models):
        group = np.arange(m * k, (m + 1) * k)
        best = group[np.argmin(train[group])]
        chosen_d.append(test_d[best])
        chosen_h.append(test_h[best])
        train_text = ", ".join(f"{v:.3f}" for v in train[group])
        print(f"{m:<7}{f'{group[0]}-{group[-1]}':<12}{train_text:<30}{best:>7}"
              f"{test_d[best]:12.3f}{test_h[best]:10.3f}")  # fmt: skip
    chosen_d, chosen_h = np.array(chosen_d), np.array(chosen_h)
    q = lambda v: f"{np.median(v):.3f} [{np.quantile(v, 0.25):.3f}, {np.quantile(v, 0.75):.3f}]"  # noqa: E731
    print(f"median [IQR] over the {n_models} models: D_stsp {q(chosen_d)}, D_H {q(chosen_h)}")
    rho = _spearman(train, test_d)
    print(f"Spearman(train d100k, test D_stsp) across all {train.size} seeds' chosen "
          f"checkpoints: {rho:.2f}")  # fmt: skip


def _spearman(a, b):
    """Spearman rank correlation of two finite-or-inf vectors (ties broken by order)."""
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


if __name__ == "__main__":
    main()
