"""The published evaluation protocol of a reconstruction.

That of the GTF paper (Hess et al., ICML 2023) and the AL-RNN paper (Brenner et al., NeurIPS
2024) and their reference codes; the user guide: `docs/modules/dsr.md#evaluation`.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np

from .._validation import check_int, check_positive
from ..data import Trajectories, first_trajectory
from ..metrics import (
    AbstractScores,
    lyapunov_spectrum,
    power_spectrum_distance,
    prediction_error,
    state_space_divergence,
)
from ._abstract import AbstractPLRNN


class Evaluation(AbstractScores):
    """Scores of a reconstruction on a test trajectory (all plain Python floats).

    **Fields:** `d_stsp` (state-space divergence, 30 bins or GMM for dim ≥ 6), `d_h`
    (power-spectrum Hellinger distance, σ = 20; both NaN, with a warning, when the free run
    diverges), `pe` (PE(n), MSE of the n-step-ahead free
    prediction), `lambda_max` (largest Lyapunov exponent of the model per unit time, or NaN
    when not computed or undefined: a model with `differentiable = False`),
    `n_subregions` (linear subregions visited by the generated trajectory; −1 for a model
    that is not an [`AbstractPLRNN`][], which has no subregions), `floors` (the same
    metrics between the test data and an independent true trajectory, if one was given,
    else an empty dict), `generated` (the compared generated trajectory, `(T, N)`),
    `latent` (its latent states, `(T, M)`).

    A [`dynsys.metrics.AbstractScores`][]: `ev["d_stsp"]`, `ev.to_dict()` (strict JSON, the
    scores and floors without `generated` and `latent`), `ev.summary()`.
    """

    not_scores: ClassVar[tuple[str, ...]] = ("generated", "latent")

    d_stsp: float
    d_h: float
    pe: float
    lambda_max: float
    n_subregions: int
    floors: dict
    generated: Any
    latent: Any

    def summary(self) -> str:
        """One line per metric, with its floor when known."""
        rows = [
            ("D_stsp", self.d_stsp, self.floors.get("d_stsp")),
            ("D_H", self.d_h, self.floors.get("d_h")),
            ("PE", self.pe, None),
            ("lambda_max", self.lambda_max, None),
        ]
        lines = [
            f"{name:<11}{value:9.4f}" + ("" if floor is None else f"   (floor {floor:.4f})")
            for name, value, floor in rows
        ]
        if self.n_subregions >= 0:
            lines.append(f"subregions {self.n_subregions:5d}")
        return "\n".join(lines)


def evaluate(
    model: Any,
    test: Trajectories | Any,
    *,
    transient_fraction: float = 0.25,
    pe_steps: int = 20,
    dt: float | None = None,
    lyapunov_steps: int = 20_000,
    reference: Trajectories | Any | None = None,
    n_bins: int = 30,
    smoothing: float = 20.0,
) -> Evaluation:
    """Score a trained model on test data with the GTF/AL-RNN protocol.

    Generate 1.25·T steps from the **first test point**, drop the first 0.25·T, and compare
    the remaining T steps with the whole test trajectory (T its length): D_stsp
    ([`dynsys.metrics.state_space_divergence`][]), D_H
    ([`dynsys.metrics.power_spectrum_distance`][]). PE(n) is the n-step free prediction
    error from every test point ([`dynsys.metrics.prediction_error`][]). λ_max is the
    largest Lyapunov exponent of the model's step map ([`dynsys.metrics.lyapunov_spectrum`][],
    per step divided by the data's `dt`, so per unit time, comparable with 0.906 for
    Lorenz-63), started from the generated attractor; NaN for a model whose class sets
    `differentiable = False` (its step has no Jacobian, e.g. [`ContextParrot`][]). The
    subregion count is taken for [`AbstractPLRNN`][]s only (−1 for other models).

    **Arguments:**

    - `model`: a trained [`AbstractRNN`][] (a PLRNN-family model or a user's own), or
      any model with the same generator interface: `init_state(x)`, `step(z)`,
      `readout(z)`, `generate_latent(z0, n)`, `obs_dim` and `dtype` (e.g. the
      [`ContextParrot`][] baseline).
    - `test`: [`dynsys.data.Trajectories`][] (its first trajectory is used) or `(T, N)`.
    - `transient_fraction`: the generated transient, as a fraction of T (0.25).
    - `pe_steps`: the horizon n of PE(n) (20).
    - `dt`: time per sample for λ_max; default the test data's `dt`, else 1. Pass 0 (or
      `lyapunov_steps=0`) to skip λ_max.
    - `lyapunov_steps`: QR steps averaged for λ_max.
    - `reference`: an independent trajectory of the true system (same standardisation);
      when given, the same metrics of `reference` vs `test` are reported as `floors`.
    - `n_bins`, `smoothing`: D_stsp bins and D_H smoothing.

    **Returns:** an [`Evaluation`][].
    """
    x = first_trajectory(test, "test")
    if dt is None:
        dt = test.dt if isinstance(test, Trajectories) and test.dt else 1.0
    check_positive(transient_fraction, "transient_fraction", allow_zero=True)
    pe_steps = check_int(pe_steps, "pe_steps", minimum=1)
    lyapunov_steps = check_int(lyapunov_steps, "lyapunov_steps", minimum=0)
    if x.shape[-1] != model.obs_dim:
        raise ValueError(f"`test` has dim {x.shape[-1]}, the model obs_dim={model.obs_dim}.")
    x = x.astype(model.dtype)
    n = x.shape[0]
    n_transient = int(round(transient_fraction * n))
    z = model.generate_latent(model.init_state(x[0]), n_transient + n)[n_transient:]
    generated = model.readout(z)
    finite = bool(jnp.all(jnp.isfinite(generated)))
    nan = float("nan")
    if finite:
        d_stsp = float(state_space_divergence(x, generated, n_bins=n_bins))
        d_h = float(power_spectrum_distance(x, generated, smoothing=smoothing))
    else:
        first = int(jnp.argmin(jnp.all(jnp.isfinite(generated), axis=-1)))
        warnings.warn(
            f"The model's free run diverged (non-finite from generated step {first} after the "
            "transient); D_stsp, D_H and lambda_max are reported as NaN (a failed run).",
            RuntimeWarning,
            stacklevel=2,
        )
        d_stsp = d_h = nan
    pe = float(prediction_error(model.step, model.init_state, x, n=pe_steps,
                                readout=model.readout, batch_size=4096).value)  # fmt: skip
    lam = nan
    differentiable = getattr(model, "differentiable", True)
    if finite and differentiable and lyapunov_steps > 0 and dt > 0:
        spectrum = lyapunov_spectrum(
            model.step, z[-1], n_steps=lyapunov_steps, transient=1000, dt=dt, n_exponents=1
        )
        lam = float(spectrum.exponents[0])
    n_subregions = -1
    if isinstance(model, AbstractPLRNN):
        n_subregions = int(np.unique(np.asarray(model.activation_pattern(z)), axis=0).shape[0])
    floors = {}
    if reference is not None:
        r = first_trajectory(reference, "reference").astype(model.dtype)[:n]
        floors = {
            "d_stsp": float(state_space_divergence(x, r, n_bins=n_bins)),
            "d_h": float(power_spectrum_distance(x[: r.shape[0]], r, smoothing=smoothing)),
        }
    return Evaluation(
        d_stsp=d_stsp,
        d_h=d_h,
        pe=pe,
        lambda_max=lam,
        n_subregions=n_subregions,
        floors=floors,
        generated=generated,
        latent=z,
    )
