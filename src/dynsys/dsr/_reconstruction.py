"""What `dynsys.dsr.reconstruct` returns: the selected model, its scores and a verdict."""

from __future__ import annotations

import json
import math
import os
import pathlib
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._serialization import describe, register_loadable, save, template_from
from .._validation import as_array, check_finite, check_int, check_ndim
from ..data import Standardization
from ..metrics import json_safe
from ._abstract import AbstractPLRNN

# A result is "far above the floor" beyond this many floors plus this offset (D_stsp).
FAR_FACTOR, FAR_OFFSET = 3.0, 0.3
# A free run whose last half varies by less than this (in data standard deviations, every
# column) has collapsed to a fixed point.
FLAT_STD = 0.05
# A free run with less than this share of its samples in histogram cells the data visit
# "never overlaps" the data: D_stsp is then at (or near) its ceiling.
MIN_OVERLAP = 0.1


class Reconstruction(eqx.Module):
    """A model reconstructed from a user's data by [`dynsys.dsr.reconstruct`][].

    Holds the selected model (trained on z-scored data), the [`dynsys.data.Standardization`][]
    that maps the user's units to the model's, the sampling step `dt`, and a record of the
    run: the settings, the validation scores, the data's own noise floor, the scores of
    every seed (trained and untrained) and the training time. Save it with
    [`Reconstruction.save`][] and read it back with [`dynsys.load`][].

    **Fields:**

    - `model`: the selected [`AbstractPLRNN`][] (inputs and outputs z-scored).
    - `standardization`: the z-scoring of the training part, `(N,)` mean and std.
    - `dt`: time per sample, in the user's time unit.
    - `info_json`: the run record as JSON text; read it through the properties below.

    **Properties** (plain Python values; NaN marks a score that could not be computed):
    `columns`, `model_name`, `settings` (a dict of [`TrainingSettings`][] fields),
    `n_steps`, `scores` (`d_stsp`, `d_h`, `pe`, `lambda_max` on the validation tail),
    `floor` (`d_stsp`, `d_h` between the two halves of the training part), `seed_scores`
    and `untrained_scores` (one dict per seed), `selected_seed`, `train_time` (seconds),
    `validation` (the validation split), `diagnostics` (what went wrong, and what to try).

    ```python
    rec = dynsys.dsr.reconstruct(x, dt=0.01, key=jax.random.key(0), budget_minutes=5)
    print(rec.summary())
    xs = rec.generate(x[-1], 2000)        # (2000, N), in the units of x
    rec.save("reconstruction.eqx")
    same = dynsys.load("reconstruction.eqx")
    ```
    """

    model: AbstractPLRNN
    standardization: Standardization
    dt: float = eqx.field(static=True)
    info_json: str = eqx.field(static=True)

    def __check_init__(self):
        n_stats = self.standardization.mean.shape[0]
        if n_stats != self.model.obs_dim:
            raise ValueError(
                f"`standardization` has {n_stats} channels, but the model reads out "
                f"obs_dim={self.model.obs_dim}."
            )

    # ---- the run record -------------------------------------------------------------

    @property
    def info(self) -> dict[str, Any]:
        """The whole run record as a fresh dict."""
        return json.loads(self.info_json)

    @property
    def columns(self) -> list[str]:
        """The names of the data's columns (`x0`, `x1`, ... for an array)."""
        return self.info["columns"]

    @property
    def model_name(self) -> str:
        """The model family: `"alrnn"` or `"shplrnn"`."""
        return self.info["model"]

    @property
    def settings(self) -> dict[str, Any]:
        """The training settings used, a dict of [`TrainingSettings`][] fields."""
        return self.info["settings"]

    @property
    def n_steps(self) -> int:
        """The number of training steps done."""
        return self.info["n_steps"]

    @property
    def scores(self) -> dict[str, float]:
        """Validation scores of the selected model: `d_stsp`, `d_h`, `pe`, `lambda_max`."""
        return self.info["scores"]

    @property
    def floor(self) -> dict[str, float]:
        """The data's own floor: `d_stsp`, `d_h` between the two halves of the training part."""
        return self.info["floor"]

    @property
    def seed_scores(self) -> list[dict[str, Any]]:
        """Per seed: `seed`, validation `d_stsp` and `d_h`, `diverged`."""
        return self.info["seed_scores"]

    @property
    def untrained_scores(self) -> list[dict[str, Any]]:
        """The same scores of every seed before training (the baseline to beat)."""
        return self.info["untrained_scores"]

    @property
    def selected_seed(self) -> int:
        """The index of the selected seed (lowest validation D_stsp; never a diverged one)."""
        return self.info["selected_seed"]

    @property
    def train_time(self) -> float:
        """Seconds spent training the ensemble (compilation included)."""
        return self.info["train_time"]

    @property
    def validation(self) -> dict[str, Any]:
        """The validation split: `n_samples` per trajectory, `fraction`, `n_trajectories`."""
        return self.info["validation"]

    @property
    def diagnostics(self) -> list[str]:
        """What went wrong, each with what to try; empty when nothing did."""
        return [message for _, message in diagnose(self.info)]

    # ---- use ------------------------------------------------------------------------

    def generate(self, x0: Any, n_steps: int) -> Any:
        """Run the model freely from an initial observation, in the user's units.

        **Arguments:**

        - `x0`: the initial state `(N,)` (or a batch `(batch, N)`) in the data's units.
        - `n_steps`: rows returned (≥ 1), `x0` (as read out) included; step `dt` apart.

        **Returns:** `(n_steps, N)` (or `(batch, n_steps, N)`), in the data's units.

        ```python
        xs = rec.generate(x[-1], 1000)
        ```
        """
        x0 = as_array(x0, "x0", dtype=self.model.dtype)
        check_ndim(x0, "x0", (1, 2), f"(N,) or (batch, N) with N={self.model.obs_dim}")
        if x0.shape[-1] != self.model.obs_dim:
            raise ValueError(
                f"`x0` must have last axis of length N={self.model.obs_dim} (the data's "
                f"columns {self.columns}), got shape {tuple(x0.shape)}."
            )
        check_finite(x0, "x0")
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        z = self.model.generate(self.standardization.apply(x0), n_steps)
        return self.standardization.invert(z)

    def save(self, path: str | os.PathLike) -> pathlib.Path:
        """Write everything to one file (the dynsys container); read it with `dynsys.load`.

        **Arguments:** `path`: the file to write (suffix `.eqx` recommended).

        **Returns:** the path written.
        """
        return save(path, self)

    # ---- report ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The run record as strict JSON values (NaN and inf become None).

        `json.dumps(rec.to_dict(), allow_nan=False)` always works. The standardisation
        statistics and the model's description are included; the weights are not.
        """
        info = self.info
        info["dt"] = self.dt
        info["standardization"] = {
            "mean": np.asarray(self.standardization.mean, dtype=float).tolist(),
            "std": np.asarray(self.standardization.std, dtype=float).tolist(),
        }
        info["model_description"] = describe(self.model)
        info["diagnostics"] = [{"code": c, "message": m} for c, m in diagnose(info)]
        return json_safe(info)

    def summary(self) -> str:
        """A readable report: the scores against the floor, and any problem in plain words."""
        info = self.info
        s, f = info["scores"], info["floor"]
        st = info["settings"]
        size = (
            f"M={st['latent_dim']}, P={st['pwl_units']}"
            if info["model"] == "alrnn"
            else f"M={st['latent_dim']}, L={st['hidden_dim']}"
        )
        val = info["validation"]
        lines = [
            f"Reconstruction of {len(info['columns'])} column(s) "
            f"({', '.join(info['columns'][:8])}{', ...' if len(info['columns']) > 8 else ''}),"
            f" dt = {self.dt:g}: {info['model']} ({size}), seed {info['selected_seed']} of "
            f"{len(info['seed_scores'])}",
            f"validation: the last {val['n_samples']} samples of each of "
            f"{val['n_trajectories']} trajectory(ies); floor: the data's own halves compared",
            f"  {'':<12}{'model':>10}{'floor':>10}{'untrained':>11}",
        ]
        untrained = _best(info["untrained_scores"])
        rows = [
            ("D_stsp", s["d_stsp"], f["d_stsp"], untrained.get("d_stsp")),
            ("D_H", s["d_h"], f["d_h"], untrained.get("d_h")),
            (f"PE({info['pe_steps']})", s["pe"], None, None),
            ("lambda_max", s["lambda_max"], None, None),
        ]
        for name, value, floor, base in rows:
            lines.append(f"  {name:<12}{_fmt(value):>10}{_fmt(floor):>10}{_fmt(base):>11}")
        seeds = ", ".join(
            _fmt(r["d_stsp"]) + (" (diverged)" if r["diverged"] else "")
            + (" <- selected" if r["seed"] == info["selected_seed"] else "")
            for r in info["seed_scores"]
        )  # fmt: skip
        lines.append(f"D_stsp per seed: {seeds}")
        lines.append(
            f"training: {info['n_steps']} steps in {info['train_time']:.1f} s "
            f"(tau={st['tau']}, sequence_length={st['sequence_length']})"
        )
        problems = diagnose(info)
        if not problems:
            lines.append(
                f"Verdict: no problem found (D_stsp within {FAR_FACTOR:g} x floor + "
                f"{FAR_OFFSET:g}; the free run neither diverged nor collapsed)."
            )
        else:
            lines.append("Verdict: problems found.")
            lines += [f"- {message}" for _, message in problems]
        return "\n".join(lines)


def diagnose(info: dict[str, Any]) -> list[tuple[str, str]]:
    """`(code, message)` for each problem of a run record: divergence, collapse, no overlap."""
    s, f, c = info["scores"], info["floor"], info["checks"]
    d, floor = s["d_stsp"], f["d_stsp"]
    lam = s["lambda_max"]
    problems = []
    if all(r["diverged"] for r in info["seed_scores"]):
        problems.append((
            "diverged",
            "Every seed's free run diverged (NaN or inf): the models are unstable. Try a "
            "smaller start_lr, a smaller tau (stronger teacher forcing), or a longer budget.",
        ))  # fmt: skip
        return problems
    if c["tail_std"] is not None and c["tail_std"] < FLAT_STD:
        problems.append((
            "fixed_point",
            f"The free run collapsed to a fixed point: over its last {c['n_tail']} steps "
            f"every column varies by less than {FLAT_STD:g} data standard deviations "
            f"(at most {c['tail_std']:.2g}). An AL-RNN with few pwl_units tends to turn "
            "weakly unstable foci into stable ones (docs/benchmarks.md, 'AL-RNN on "
            "Lorenz-63: diagnosis'): try more pwl_units, model='shplrnn', more seeds or a "
            "longer budget.",
        ))  # fmt: skip
    elif (
        _le(lam, 0.0)
        and c["distinct_states"] is not None
        and (c["distinct_states"] <= c["n_tail"] // 4)
    ):
        problems.append((
            "cycle",
            f"The free run settled on a cycle: lambda_max = {_fmt(lam)} <= 0 and only "
            f"{c['distinct_states']} distinct states in its last {c['n_tail']} steps. If the "
            "data are not periodic, try a longer budget, more seeds, or more pwl_units.",
        ))  # fmt: skip
    ceiling, overlap = c["ceiling"], c["overlap"]
    if _is_nan(d) or (overlap is not None and overlap < MIN_OVERLAP):
        share = "" if overlap is None else f" (only {100 * overlap:.0f} % of its samples)"
        problems.append((
            "no_overlap",
            f"The generated run never overlaps the data{share}: D_stsp = {_fmt(d)} is at or "
            f"near its ceiling ({_fmt(ceiling)}), the value when the two histograms share no "
            "mass: the run left the data's range, or it sits where the data never go. Try a "
            "longer budget, more seeds, or a smaller tau.",
        ))  # fmt: skip
    elif not _is_nan(floor) and d > FAR_FACTOR * floor + FAR_OFFSET:
        regular = ""
        if _le(lam, 0.0):
            regular = " lambda_max <= 0: the model's motion is regular, not chaotic."
        problems.append((
            "far_above_floor",
            f"D_stsp = {_fmt(d)} is far above the data's own floor {_fmt(floor)} (more than "
            f"{FAR_FACTOR:g} x floor + {FAR_OFFSET:g}): the reconstruction misses much of the "
            f"data's geometry.{regular} Try model='shplrnn' (D_stsp 0.29 on Lorenz-63 with "
            "generalized teacher forcing), other pwl_units (on Lorenz-63 P = 10 did best of "
            "2..16), more seeds (n_seeds) or a longer budget.",
        ))  # fmt: skip
    return problems


def _is_nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _le(x: Any, bound: float) -> bool:
    return not _is_nan(x) and x <= bound


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return f"{x:.4g}"


def _best(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The row with the lowest finite D_stsp (an empty dict when none is finite)."""
    finite = [r for r in rows if not _is_nan(r["d_stsp"])]
    return min(finite, key=lambda r: r["d_stsp"]) if finite else {}


def _hyperparameters(rec: Reconstruction) -> dict:
    return {
        "model": describe(rec.model),
        "n_channels": int(rec.standardization.mean.shape[0]),
        "dtype": jnp.dtype(rec.standardization.mean.dtype).name,
        "dt": rec.dt,
        "info": rec.info_json,
    }


def _template(hp: dict) -> Reconstruction:
    n = hp["n_channels"]
    stats = Standardization(
        mean=jnp.zeros(n, dtype=hp["dtype"]), std=jnp.ones(n, dtype=hp["dtype"])
    )
    return Reconstruction(
        model=template_from(hp["model"]), standardization=stats, dt=hp["dt"], info_json=hp["info"]
    )


register_loadable(Reconstruction, hyperparameters=_hyperparameters, template=_template)
