"""The `python -m dynsys systems` job: ground truth, metric floors and Lyapunov spectra."""

from __future__ import annotations

import pathlib

import jax

from . import data, metrics, systems
from ._cli import write_json
from .plot import plot_attractors


def run_systems(out: str | pathlib.Path = "outputs/systems", *, small: bool = False) -> dict:
    """Simulate Lorenz-63 and Rössler, print metric floors and Lyapunov spectra, save a figure.

    **Returns:** the results dict written to `out/systems.json` (strict JSON: a NaN is null,
    with `<name>_reason` beside it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_steps = 2000 if small else 100_000
    results, trajs = {}, {}
    with jax.enable_x64(True):
        for name in ("lorenz63", "rossler"):
            system = systems.get(name)
            a = data.benchmark(name, n_steps=n_steps, seed=0, noise=0.0, dtype="float64")
            x, y = a.train.states[0], a.test.states[0]
            spectrum = metrics.lyapunov_spectrum(
                system, n_steps=2000 if small else 100_000, transient=1000
            )
            results[name] = {
                "d_stsp_floor": float(metrics.state_space_divergence(x, y)),
                "d_h_floor": float(metrics.power_spectrum_distance(x, y)),
                "lyapunov": [float(v) for v in spectrum.exponents],
                "lyapunov_reference": list(system.reference.exponents),
                "kaplan_yorke": float(metrics.kaplan_yorke_dimension(spectrum)),
            }
            trajs[name] = x
            r = results[name]
            print(
                f"{name}: D_stsp floor {r['d_stsp_floor']:.3f}, D_H floor {r['d_h_floor']:.3f}, "
                f"Lyapunov {[round(v, 4) for v in r['lyapunov']]} "
                f"(literature {r['lyapunov_reference']}), D_KY {r['kaplan_yorke']:.3f}",
                flush=True,
            )
    fig = plot_attractors(trajs, title="Lorenz-63 and Rössler (z-scored)")
    fig.savefig(out / "attractors.png", dpi=120)
    plt.close(fig)
    write_json(out / "systems.json", results)
    print(f"outputs in {out}/")
    return results
