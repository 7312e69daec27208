"""The `python -m dynsys` command line: one sub-command per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__

# Flags of `reconstruct` that only a data file uses, and those only the benchmarks use.
_FILE_FLAGS = {
    "pwl_units": "-P/--pwl-units",
    "latent_dim": "-M/--latent-dim",
    "seeds": "--seeds",
    "budget_minutes": "--budget-minutes",
    "steps": "--steps",
    "array": "--array",
    "time_column": "--time-column",
    "columns": "--columns",
    "dt": "--dt",
}
_BENCHMARK_FLAGS = {"epochs": "--epochs", "n_steps": "--n-steps"}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dynsys",
        description="dynsys jobs. Each shows its progress and writes its outputs to --out.",
    )
    parser.add_argument("--version", action="version", version=f"dynsys {__version__}")
    sub = parser.add_subparsers(dest="job", required=True, metavar="JOB")

    rec = sub.add_parser(
        "reconstruct",
        help="train a PLRNN-family model on a dataset and evaluate the reconstruction",
        description="Train an AL-RNN (or clipped shPLRNN) by teacher forcing, evaluate it with "
        "the published protocol (D_stsp, D_H, PE(20), lambda_max, subregions) and save "
        "figures, metrics.json and the trained model. A benchmark name runs the reference "
        "settings; a data file (.npy, .npz or .csv, rows = time steps) runs "
        "dynsys.dsr.reconstruct: settings derived from the data, a budget in minutes, "
        "an ensemble of seeds validated on the last 20 % of the data, and "
        "reconstruction.eqx (dynsys.load) with metrics.json and figures in --out.",
    )
    rec.add_argument(
        "data", help="'lorenz63', 'rossler', or a data file .npy/.npz/.csv (time, columns)"
    )
    rec.add_argument("--model", choices=["alrnn", "shplrnn"], default="alrnn")
    rec.add_argument(
        "--dt", type=float, default=None, help="time between samples (default: the time column)"
    )
    rec.add_argument("--seed", type=int, default=0)
    rec.add_argument("--out", default="outputs/reconstruct", help="output folder")
    rec.add_argument("--small", action="store_true", help="tiny sizes, for tests")
    rec.set_defaults(parser=rec)  # its errors carry the sub-command's usage line
    bench = rec.add_argument_group("benchmark names only")
    bench.add_argument("--epochs", type=int, default=None, help="default: reference setting")
    bench.add_argument("--n-steps", type=int, default=None, help="benchmark length (100000)")
    files = rec.add_argument_group("data files only")
    files.add_argument("--budget-minutes", type=float, default=None,
                       help="wall-clock budget of the whole run (default 10)")  # fmt: skip
    files.add_argument("-P", "--pwl-units", type=int, default=None, help="AL-RNN ReLU units")
    files.add_argument("-M", "--latent-dim", type=int, default=None, help="latent units")
    files.add_argument("--seeds", type=int, default=None, help="models trained at once (4)")
    files.add_argument("--steps", type=int, default=None,
                       help="train exactly this many steps (instead of the budget)")  # fmt: skip
    files.add_argument("--array", default=None, help="the array's name in an .npz file")
    files.add_argument(
        "--time-column", default=None, help="by name or index (default: a t/time/timestamp column)"
    )
    files.add_argument("--columns", default=None,
                       help="comma-separated columns to model (names or indices)")  # fmt: skip

    demo = sub.add_parser(
        "demo",
        help="the main job (what `make demo` runs): Lorenz-63 AL-RNN reconstruction",
        description="Reconstruct Lorenz-63 with the AL-RNN of dsr.settings('lorenz63') "
        "(M = 20, P = 10, the reference budget of 2000 epochs; about 4 minutes on a laptop "
        "CPU). With --seeds K, K models train at once as a vmap ensemble and the one with "
        "the lowest training D_stsp is evaluated on the test set.",
    )
    demo.add_argument("--out", default="outputs/demo", help="output folder")
    demo.add_argument("--epochs", type=int, default=None, help="default: reference (2000)")
    demo.add_argument("--seeds", type=int, default=1, help="models trained at once (1)")
    demo.add_argument("--small", action="store_true", help="tiny sizes, for tests")

    sysjob = sub.add_parser(
        "systems",
        help="simulate Lorenz-63 and Rössler: metric floors, Lyapunov spectra, figure",
    )
    sysjob.add_argument("--out", default="outputs/systems", help="output folder")
    sysjob.add_argument("--small", action="store_true", help="tiny sizes, for tests")
    return parser


def _reconstruct(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """A benchmark name runs the reference job; anything else is a data file."""
    from .data import benchmark_names

    if args.data in benchmark_names():
        used = [flag for name, flag in _FILE_FLAGS.items() if getattr(args, name) is not None]
        if used:
            parser.error(f"{', '.join(used)} apply to data files only, not to {args.data!r}.")
        from ._reconstruct_job import run_reconstruction

        run_reconstruction(
            args.data, model=args.model, out=args.out, epochs=args.epochs,
            n_steps=100_000 if args.n_steps is None else args.n_steps, seed=args.seed,
            small=args.small,
        )  # fmt: skip
        return 0
    used = [flag for name, flag in _BENCHMARK_FLAGS.items() if getattr(args, name) is not None]
    if used:
        parser.error(
            f"{', '.join(used)} apply to the benchmark names only; for a data file use "
            "--budget-minutes or --steps."
        )
    from ._data_file import InputError
    from ._reconstruct_file_job import run_file_reconstruction
    from .training import NonFiniteError

    try:
        run_file_reconstruction(
            args.data, dt=args.dt, out=args.out, model=args.model, pwl_units=args.pwl_units,
            latent_dim=args.latent_dim, seeds=args.seeds, budget_minutes=args.budget_minutes,
            steps=args.steps, seed=args.seed, array=args.array, time_column=args.time_column,
            columns=args.columns, small=args.small,
        )  # fmt: skip
    except InputError as err:
        parser.error(str(err))
    except NonFiniteError as err:  # the step and the remedies, without a traceback
        print(f"{parser.prog}: training diverged: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job named on the command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.job == "reconstruct":
        return _reconstruct(args, args.parser)
    elif args.job == "demo":
        if args.seeds < 1:
            parser.error(f"demo: --seeds must be >= 1, got {args.seeds}.")
        from ._reconstruct_job import run_reconstruction

        run_reconstruction(
            "lorenz63", out=args.out, epochs=args.epochs, n_seeds=args.seeds, small=args.small
        )
    elif args.job == "systems":
        from ._systems_job import run_systems

        run_systems(out=args.out, small=args.small)
    return 0
