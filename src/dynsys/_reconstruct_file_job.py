"""`python -m dynsys reconstruct FILE`: `dynsys.dsr.reconstruct` on a user's data file."""

from __future__ import annotations

import pathlib
import time
import warnings
from typing import Any

import jax
import numpy as np

from ._cli import write_json
from ._data_file import InputError, dt_from_times, read_data_file
from .dsr import _reconstruct

SMALL = {"n_seeds": 2, "n_steps": 100, "lyapunov_steps": 200, "sequence_length": 50}
MAX_SPECTRA = 6  # power-spectrum panels drawn (one per column)


def run_file_reconstruction(
    path: str | pathlib.Path,
    *,
    dt: float | None = None,
    out: str | pathlib.Path = "outputs/reconstruct",
    model: str = "alrnn",
    pwl_units: int | None = None,
    latent_dim: int | None = None,
    seeds: int | None = None,
    budget_minutes: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    array: str | None = None,
    time_column: str | None = None,
    columns: str | None = None,
    small: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Reconstruct the dynamics in a data file; write the model, metrics.json and figures.

    Reads the file ([`dynsys._data_file.read_data_file`][]: `.npy`, `.npz` or `.csv`
    with an optional header and time column), takes `dt` from the time column when it is
    not given, checks the data against the flags (raising
    [`InputError`][dynsys._data_file.InputError], a `ValueError` with a one-line message,
    before anything is trained), then runs [`dynsys.dsr.reconstruct`][] and writes
    `out/reconstruction.eqx` (read it with `dynsys.load`), a strict-JSON
    `out/metrics.json` (NaN as null, with a `<name>_reason` beside it) and the figures
    `attractor.png` and `power_spectra.png` (validation tail against the model's free run).

    **Arguments:** the command-line flags, whose ranges `python -m dynsys` has checked
    (the data-independent ones: `dynsys._cli`); `small` trains 2 seeds for 100 steps
    (tests).

    **Returns:** the dict written to `metrics.json`.
    """
    t_start = time.perf_counter()
    data = read_data_file(path, array=array, time_column=time_column, columns=columns)
    if data.times is not None:
        dt_times = dt_from_times(data.times, data.time_column)
        if dt is None:
            dt = dt_times
        elif abs(dt - dt_times) > 1e-3 * dt_times:
            raise InputError(
                f"--dt {dt:g} disagrees with the step {dt_times:g} of the time column "
                f"{data.time_column!r}; drop --dt or fix it."
            )
    if dt is None:
        raise InputError(
            "no --dt given and no time column found (a header column named t, time or "
            "timestamp, or --time-column NAME_OR_INDEX); pass --dt, the time between samples."
        )
    overrides: dict[str, Any] = {}
    if pwl_units is not None:
        overrides["pwl_units"] = pwl_units
    if latent_dim is not None:
        overrides["latent_dim"] = latent_dim
    options = {"n_seeds": seeds, "n_steps": steps, "lyapunov_steps": None}
    if small:
        n_cols = data.states.shape[-1]
        options = {k: SMALL[k] if options.get(k) is None else options[k] for k in options}
        overrides.setdefault("sequence_length", SMALL["sequence_length"])
        if latent_dim is None:
            overrides["latent_dim"] = n_cols + (pwl_units or 2) + 2
    kwargs = {k: v for k, v in options.items() if v is not None}
    try:
        plan = _reconstruct.prepare(
            data.states, dt=dt, model=model, key=jax.random.key(seed),
            budget_minutes=10.0 if budget_minutes is None else budget_minutes,
            n_seeds=kwargs.get("n_seeds", 4), validation_fraction=0.2,
            n_steps=kwargs.get("n_steps"), lyapunov_steps=kwargs.get("lyapunov_steps", 5000),
            overrides=overrides, columns=data.columns,
        )  # fmt: skip
    except (ValueError, TypeError) as err:
        raise InputError(_one_line(err).replace("`data`", "the data")) from None

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"reconstruct {path} ({', '.join(plan.columns)}; dt = {dt:g}) -> {out}/", flush=True)
    rec = _reconstruct.run(plan, t_start=t_start, verbose=True, progress=progress)
    rec.save(out / "reconstruction.eqx")

    metrics = {
        "source": str(path),
        "time_column": data.time_column,
        **rec.to_dict(),
    }
    # the record before `to_dict` made it JSON-safe: its NaNs give the nulls' reasons
    raw = {"source": str(path), "time_column": data.time_column, **rec.info}
    write_json(out / "metrics.json", metrics, raw)
    _figures(rec, data.states, out)
    print(f"outputs in {out}/: reconstruction.eqx, metrics.json, attractor.png, power_spectra.png")
    return metrics


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _figures(rec, states: np.ndarray, out: pathlib.Path) -> None:
    """The validation tail of the first trajectory against the model's free run from its start."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .dsr import plot_attractor, plot_power_spectra

    x = states if states.ndim == 3 else states[None]
    n_val = rec.validation["n_samples"]
    true = x[0, -n_val:]
    n_transient = int(round(0.25 * n_val))
    generated = np.asarray(rec.generate(true[0], n_transient + n_val))[n_transient:]
    finite = np.all(np.isfinite(generated), axis=1)
    if not np.all(finite):  # a diverged run: draw what it was before it left
        generated = generated[: max(2, int(np.argmin(finite)))]
        generated = np.where(np.isfinite(generated), generated, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a collapsed run has no D_H
        n_cols = true.shape[1]
        if n_cols == 1:  # a delay embedding (x_t, x_{t+tau}) stands in for the state space
            lag = max(1, min(rec.settings["tau"], generated.shape[0] // 2))
            true2 = np.stack([true[:-lag, 0], true[lag:, 0]], axis=1)
            gen2 = np.stack([generated[:-lag, 0], generated[lag:, 0]], axis=1)
            fig = plot_attractor(true2, gen2, dims=(0, 1), title=f"delay embedding, lag {lag}")
        else:
            dims = (0, 1, 2) if n_cols >= 3 else (0, 1)
            fig = plot_attractor(true, generated, dims=dims, labels=("data", "model"))
        fig.savefig(out / "attractor.png", dpi=120)
        plt.close(fig)
        k = min(n_cols, MAX_SPECTRA)
        if generated.shape[0] < true.shape[0]:
            print("the free run diverged: power_spectra.png shows the data alone")
            generated = true
        fig = plot_power_spectra(true[:, :k], generated[:, :k], dt=rec.dt)
        fig.savefig(out / "power_spectra.png", dpi=120)
        plt.close(fig)
