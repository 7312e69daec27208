"""The `python -m dynsys` command line: one sub-command per job."""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import pathlib
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import __version__
from ._data_file import InputError

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
# Integer flags and their least value (the benchmark's --n-steps is checked by its job,
# against the training windows).
_INT_FLAGS = {
    "seed": ("--seed", 0),
    "seeds": ("--seeds", 1),
    "epochs": ("--epochs", 1),
    "steps": ("--steps", 1),
    "pwl_units": ("-P/--pwl-units", 0),
    "latent_dim": ("-M/--latent-dim", 1),
}
_FLOAT_FLAGS = {"dt": "--dt", "budget_minutes": "--budget-minutes"}  # finite and > 0
_DEBUG_HELP = "show the Python traceback of an error (default: a one-line message)"
# Why a score written to metrics.json is null; the key `<name>_reason` carries it beside.
_NULL_REASONS = {
    "d_stsp": "the model's free run diverged or left the range of the data, so the "
    "state-space divergence is undefined",
    "d_h": "the free run diverged, or a column of the data or of the free run is constant "
    "(e.g. a run that collapsed to a fixed point), so the power spectra cannot be compared",
    "pe": "the model's free predictions diverged",
    "pe20": "the model's free predictions diverged",
    "lambda_max": "not computed: the free run diverged, or the model has no Jacobian",
    "train_d_stsp_per_seed": "no checkpoint of these seeds was scored, or their free runs diverged",
}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dynsys",
        description="dynsys jobs. Each shows its progress and writes its outputs to --out.",
    )
    parser.add_argument("--version", action="version", version=f"dynsys {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
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
    for job in (rec, demo, sysjob):
        # SUPPRESS: `--debug` after the job name must not reset one given before it
        job.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help=_DEBUG_HELP)  # fmt: skip
        job.set_defaults(parser=job)  # its errors carry the job's name
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job named on the command line; returns the exit status.

    A mistake in the input (a flag value, the data file, the output folder) is reported
    before anything is trained, as one line `... <job>: error: <what>` on stderr with exit
    status 2 (`SystemExit`); a failure while the job runs as one line with status 1. The
    global `--debug` flag prints the Python traceback above the line.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    job: argparse.ArgumentParser = args.parser
    try:
        _check_flags(args)
        if args.job == "reconstruct":
            _reconstruct(args)
        elif args.job == "demo":
            from ._reconstruct_job import run_reconstruction

            run_reconstruction(
                "lorenz63", out=args.out, epochs=args.epochs, n_seeds=args.seeds,
                small=args.small,
            )  # fmt: skip
        elif args.job == "systems":
            from ._systems_job import run_systems

            run_systems(out=args.out, small=args.small)
    except InputError as err:
        if args.debug:
            traceback.print_exc()
        job.exit(2, f"{job.prog}: error: {_one_line(err)}\n")
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        print(f"{job.prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            traceback.print_exc()
        print(f"{job.prog}: {_failure(err)}", file=sys.stderr)
        return 1
    return 0


def _failure(err: Exception) -> str:
    """One line for an error raised while a job ran (not a mistake in the input)."""
    from .training import NonFiniteError

    if isinstance(err, NonFiniteError):  # the step and the remedies
        return f"training diverged: {_one_line(err)}"
    return (
        f"error: {type(err).__name__}: {_one_line(err)} (a failure inside dynsys, not in the "
        "input; rerun with --debug for the traceback)"
    )


def _check_flags(args: argparse.Namespace) -> None:
    """Raise `InputError` for a flag value out of range or an unusable --out folder."""
    for name, (flag, least) in _INT_FLAGS.items():
        value = getattr(args, name, None)
        if value is not None and value < least:
            raise InputError(f"{flag} must be >= {least}, got {value}.")
    for name, flag in _FLOAT_FLAGS.items():
        value = getattr(args, name, None)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InputError(f"{flag} must be a finite number > 0, got {value!r}.")
    pwl, latent = getattr(args, "pwl_units", None), getattr(args, "latent_dim", None)
    if pwl is not None and latent is not None and pwl > latent:
        raise InputError(f"-P/--pwl-units {pwl} exceeds -M/--latent-dim {latent} (P <= M).")
    _check_out(args.out)


def _check_out(out: str) -> None:
    """Raise `InputError` unless the folder `out` exists or can be made."""
    path = pathlib.Path(out)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {out!r} is a file, not a folder.")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise InputError(f"--out {out!r} cannot be made: {str(existing)!r} is a file.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"--out {out!r}: no permission to write in {str(existing)!r}.")


def _reconstruct(args: argparse.Namespace) -> None:
    """A benchmark name runs the reference job; anything else is a data file."""
    from .data import benchmark_names

    names = benchmark_names()
    if args.data in names:
        used = [flag for name, flag in _FILE_FLAGS.items() if getattr(args, name) is not None]
        if used:
            raise InputError(f"{', '.join(used)} apply to data files only, not to {args.data!r}.")
        from ._reconstruct_job import run_reconstruction

        run_reconstruction(
            args.data, model=args.model, out=args.out, epochs=args.epochs,
            n_steps=100_000 if args.n_steps is None else args.n_steps, seed=args.seed,
            small=args.small,
        )  # fmt: skip
        return
    path = pathlib.Path(args.data)
    if not path.suffix and not path.exists():
        close = difflib.get_close_matches(args.data.lower(), names, n=3)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else "."
        raise InputError(
            f"{args.data!r} is neither a benchmark name ({', '.join(names)}) nor a file: "
            f"no file {str(path)!r} was found{hint}"
        )
    used = [flag for name, flag in _BENCHMARK_FLAGS.items() if getattr(args, name) is not None]
    if used:
        raise InputError(
            f"{', '.join(used)} apply to the benchmark names only; for a data file use "
            "--budget-minutes or --steps."
        )
    from ._reconstruct_file_job import run_file_reconstruction

    run_file_reconstruction(
        args.data, dt=args.dt, out=args.out, model=args.model, pwl_units=args.pwl_units,
        latent_dim=args.latent_dim, seeds=args.seeds, budget_minutes=args.budget_minutes,
        steps=args.steps, seed=args.seed, array=args.array, time_column=args.time_column,
        columns=args.columns, small=args.small,
    )  # fmt: skip


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def write_json(path: str | os.PathLike, record: Mapping[str, Any], raw: Any = None) -> None:
    """Write `record` to `path` as strict JSON: a NaN or infinite number becomes null.

    Beside each key whose value was not finite goes `<key>_reason`, a sentence saying why
    (for a list, which entries). `raw` is the record before it was made JSON-safe, where
    that was done already (e.g. by a `to_dict()`): its non-finite numbers give the reasons
    for the nulls at the same places in `record`. The text passes
    `json.loads(text, parse_constant=...)` with a `parse_constant` that refuses NaN/Infinity.
    """
    text = json.dumps(_with_reasons(record, record if raw is None else raw), indent=2,
                      allow_nan=False)  # fmt: skip
    pathlib.Path(path).write_text(text + "\n")


def _with_reasons(value: Any, raw: Any) -> Any:
    """`value` as strict-JSON values with `<key>_reason` entries for the non-finite in `raw`."""
    from .metrics import json_safe

    if isinstance(value, Mapping):
        raw_map = raw if isinstance(raw, Mapping) else {}
        out = {}
        for key, item in value.items():
            source = raw_map.get(key, item)
            out[key] = _with_reasons(item, source)
            reason = _null_reason(str(key), source)
            if reason is not None and f"{key}_reason" not in value:
                out[f"{key}_reason"] = reason
        return out
    if isinstance(value, list | tuple):
        same = isinstance(raw, list | tuple) and len(raw) == len(value)
        return [_with_reasons(v, r) for v, r in zip(value, raw if same else value, strict=True)]
    return json_safe(value)


def _null_reason(key: str, value: Any) -> str | None:
    """Why `value` is written as null (it, or some of its entries, not finite), else None."""
    if isinstance(value, bool | str | Mapping) or value is None:
        return None
    if isinstance(value, list | tuple) and not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        return None
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    why = _NULL_REASONS.get(key, "the computation gave no finite number")
    if array.ndim == 0:
        return f"{_spell(float(array))}: {why}."
    where = np.argwhere(bad).tolist() if array.ndim > 1 else np.flatnonzero(bad).tolist()
    kinds = sorted({_spell(float(v)) for v in array[bad]})
    return f"entries {where} were {' / '.join(kinds)}: {why}."


def _spell(x: float) -> str:
    return "NaN" if math.isnan(x) else ("+inf" if x > 0 else "-inf")
