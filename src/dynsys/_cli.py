"""The `python -m dynsys` command line: one sub-command per job."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dynsys",
        description="dynsys jobs. Each shows its progress and writes its outputs to --out.",
    )
    sub = parser.add_subparsers(dest="job", required=True, metavar="JOB")

    rec = sub.add_parser(
        "reconstruct",
        help="train a PLRNN-family model on a dataset and evaluate the reconstruction",
        description="Train an AL-RNN (or clipped shPLRNN) by teacher forcing, evaluate it with "
        "the published protocol (D_stsp, D_H, PE(20), lambda_max, subregions) and save "
        "figures, metrics.json and the trained model.",
    )
    rec.add_argument("data", help="'lorenz63', 'rossler', or a .npy/.csv file (time, dim)")
    rec.add_argument("--model", choices=["alrnn", "shplrnn"], default="alrnn")
    rec.add_argument("--epochs", type=int, default=None, help="default: reference setting")
    rec.add_argument("--n-steps", type=int, default=100_000, help="benchmark length")
    rec.add_argument("--dt", type=float, default=None, help="sampling step of a data file")
    rec.add_argument("--seed", type=int, default=0)
    rec.add_argument("--out", default="outputs/reconstruct", help="output folder")
    rec.add_argument("--small", action="store_true", help="tiny sizes, for tests")

    demo = sub.add_parser(
        "demo",
        help="the main job (what `make demo` runs): Lorenz-63 AL-RNN reconstruction",
        description="Reconstruct Lorenz-63 with an AL-RNN in a few minutes (a shortened "
        "training budget; `reconstruct lorenz63` runs the full reference budget).",
    )
    demo.add_argument("--out", default="outputs/demo", help="output folder")
    demo.add_argument("--epochs", type=int, default=1000)
    demo.add_argument("--small", action="store_true", help="tiny sizes, for tests")

    sysjob = sub.add_parser(
        "systems",
        help="simulate Lorenz-63 and Rössler: metric floors, Lyapunov spectra, figure",
    )
    sysjob.add_argument("--out", default="outputs/systems", help="output folder")
    sysjob.add_argument("--small", action="store_true", help="tiny sizes, for tests")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job named on the command line; returns the exit status."""
    args = _build_parser().parse_args(argv)
    if args.job == "reconstruct":
        from ._reconstruct_job import run_reconstruction

        run_reconstruction(
            args.data, model=args.model, out=args.out, epochs=args.epochs,
            n_steps=args.n_steps, dt=args.dt, seed=args.seed, small=args.small,
        )  # fmt: skip
    elif args.job == "demo":
        from ._reconstruct_job import run_reconstruction

        run_reconstruction("lorenz63", out=args.out, epochs=args.epochs, small=args.small)
    elif args.job == "systems":
        from ._systems_job import run_systems

        run_systems(out=args.out, small=args.small)
    return 0
