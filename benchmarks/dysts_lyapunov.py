"""λ₁ of every dysts flow: dynsys' QR estimate next to dysts' published metadata.

For each system of `dynsys.systems.dysts_names()` (dysts' own equations, traced by JAX),
`dynsys.metrics.lyapunov_spectrum` estimates the largest exponent in float64 from dysts'
initial condition: `n_exponents=1`, steps of `system.dt` (100 per dominant period), a
transient of `--transient` steps, then `--n-steps` steps averaged (Tsit5 at rtol = atol =
1e-8 between re-orthonormalisations). dysts publishes two values: `lyapunov_spectrum_estimated[0]`
(`spectrum[0]` below) and `maximum_lyapunov_estimated` (`max_est`), which disagree with
each other by more than 20 % for some systems. The gap is |ours − theirs| over the larger
magnitude of the two; `agrees` says which published value is within `--tolerance` (20 %)
of ours, or closer than 0.01 per dominant period (λ₁ near zero: a relative gap means
nothing there), and a row is flagged (`DIFF`) when neither is.

The averaging is short (50 periods by default): the statistical error of our λ₁ is a few
per cent for a strongly chaotic system and larger for a weakly chaotic one, so a flag is a
place to look, not a verdict.

    python benchmarks/dysts_lyapunov.py                          # every system
    python benchmarks/dysts_lyapunov.py --systems Lorenz Aizawa --n-steps 20000

Needs the `dysts` extra (`pip install -e '.[dysts]'`). Prints a markdown table and writes
`dysts_lyapunov.json` to `--out` (default: a fresh temporary directory).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

from dynsys import metrics, systems  # noqa: E402


def _relative_gap(ours: float, theirs: float) -> float:
    """|ours − theirs| over the larger of the two magnitudes (0 when both are 0)."""
    scale = max(abs(ours), abs(theirs))
    return 0.0 if scale == 0.0 else abs(ours - theirs) / scale


def estimate(name: str, n_steps: int, transient: int) -> dict:
    """Our λ₁ of dysts' `name` and dysts' published values, as one row."""
    system = systems.from_dysts(name)
    spectrum = system.reference.exponents if system.reference is not None else None
    row = {
        "name": name,
        "dim": system.dim,
        "dt": system.dt,
        "period": system.period,
        "spectrum0": None if spectrum is None else float(spectrum[0]),
        "max_est": system.max_lyapunov_estimated,
    }
    start = time.perf_counter()
    try:
        result = metrics.lyapunov_spectrum(
            system, n_steps=n_steps, transient=transient, n_exponents=1
        )
        row["ours"] = float(result.exponents[0])
    except Exception as err:  # one failing system must not stop the table
        row["ours"] = None
        row["error"] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    row["seconds"] = time.perf_counter() - start
    return row


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _gap(ours: float | None, theirs: float | None) -> str:
    return "—" if ours is None or theirs is None else f"{_relative_gap(ours, theirs):.0%}"


def _agreement(row: dict, tolerance: float) -> str:
    """Which of dysts' two values is within `tolerance` of ours, or why there is no answer."""
    ours = row["ours"]
    if ours is None:
        return "failed"
    if not math.isfinite(ours):
        return "non-finite"
    close = [
        label
        for label, theirs in (("spectrum[0]", row["spectrum0"]), ("max_est", row["max_est"]))
        if theirs is not None
        and (_relative_gap(ours, theirs) <= tolerance or abs(ours - theirs) * row["period"] <= 0.01)
    ]
    if close:
        return " and ".join(close)
    return "no reference" if row["spectrum0"] is None and row["max_est"] is None else "DIFF"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="*", help="dysts names (default: all)")
    parser.add_argument("--n-steps", type=int, default=5_000)
    parser.add_argument("--transient", type=int, default=1_000)
    parser.add_argument("--tolerance", type=float, default=0.2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="Numba not installed")
    names = args.systems or systems.dysts_names()
    out = args.out or tempfile.mkdtemp(prefix="dysts_lyapunov_")
    os.makedirs(out, exist_ok=True)

    print(
        f"# dysts λ₁: {len(names)} systems, n_steps={args.n_steps}, transient={args.transient}, "
        f"float64, jax {jax.__version__}, {platform.processor() or platform.machine()}, "
        f"{jax.devices()[0].platform}"
    )
    print("| system | dim | ours λ₁ | dysts spectrum[0] | gap | dysts max_est | gap | agrees | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    total = time.perf_counter()
    for name in names:
        row = estimate(name, args.n_steps, args.transient)
        row["agrees"] = _agreement(row, args.tolerance)
        rows.append(row)

        agrees = row["agrees"] + (f" ({row['error']})" if "error" in row else "")
        print(
            f"| {name} | {row['dim']} | {_fmt(row['ours'])} | {_fmt(row['spectrum0'])} | "
            f"{_gap(row['ours'], row['spectrum0'])} | {_fmt(row['max_est'])} | "
            f"{_gap(row['ours'], row['max_est'])} | "
            f"{agrees} | {row['seconds']:.1f} |",
            flush=True,
        )
    flagged = [r["name"] for r in rows if r["agrees"] in ("DIFF", "failed", "non-finite")]
    n_spectrum = sum("spectrum[0]" in r["agrees"] for r in rows)
    n_max = sum("max_est" in r["agrees"] for r in rows)
    print(
        f"\n{len(rows) - len(flagged)} of {len(rows)} within {args.tolerance:.0%} of one of "
        f"dysts' values ({n_spectrum} of spectrum[0], {n_max} of max_est); "
        f"flagged: {', '.join(flagged) or 'none'}; {time.perf_counter() - total:.0f} s in all"
    )
    with open(os.path.join(out, "dysts_lyapunov.json"), "w", encoding="utf-8") as f:
        json.dump({"args": vars(args), "rows": rows}, f, indent=1)
    print(f"wrote {os.path.join(out, 'dysts_lyapunov.json')}")
    return rows


if __name__ == "__main__":
    main()
