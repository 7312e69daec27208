"""The bad-input battery of `tests/reliability`, in full: counts per package and every failure.

Every public name of dynsys (the entries of `tests/reliability/entries_core.py` and, when it
exists, `entries_models.py`) is called with mutated arguments (NaN, inf, wrong rank, wrong
dtype, None, out-of-range scalars, bad keys, unknown choices, ...), and each outcome is
classified: `clear` (a ValueError/TypeError naming the argument), `accepted` (an unusual
but valid value gave a finite result), `unclear` (another exception, or a message that does
not name the argument), `silent` (an invalid value was accepted, or NaN/inf came back
without the documented warning) or `broken` (the entry's valid call failed). The target is
0 unclear and 0 silent. Runs with float64 and strict dtype promotion, as the tests do.

    python benchmarks/bad_input_battery.py                  # the full battery
    python benchmarks/bad_input_battery.py --sample 200     # a seeded sample
    python benchmarks/bad_input_battery.py --only metrics   # entries whose name contains it
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.battery import format_counts, format_failures, run_battery  # noqa: E402
from tests.reliability.test_bad_input import all_entries  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=None, help="run a seeded sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="entries whose name contains this")
    parser.add_argument("--skip", default=None, help="leave out entries whose name contains this")
    parser.add_argument("--verbose", action="store_true", help="print each entry's name")
    args = parser.parse_args()
    entries = [
        e
        for e in all_entries()
        if args.only in e.name and (args.skip is None or args.skip not in e.name)
    ]
    start = time.perf_counter()
    progress = (lambda name: print("  ", name, flush=True)) if args.verbose else None
    result = run_battery(entries, sample=args.sample, seed=args.seed, progress=progress)
    elapsed = time.perf_counter() - start
    print(f"{len(entries)} entries, {len(result.outcomes)} cases, {elapsed:.0f} s\n")
    print(format_counts(result.counts))
    failures = format_failures(result.outcomes)
    print("\nunclear / silent / broken cases:" if failures else "\nno unclear or silent case")
    if failures:
        print(failures)


if __name__ == "__main__":
    main()
