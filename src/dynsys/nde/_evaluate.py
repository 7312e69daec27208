"""Score a trained NeuralODE with the shared reconstruction metrics (D_stsp, D_H, PE, λ_max)."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from .. import systems, training
from .._validation import check_int, check_positive
from ..data import Trajectories, first_trajectory
from ..metrics import (
    AbstractScores,
    lyapunov_spectrum,
    power_spectrum_distance,
    prediction_error,
    state_space_divergence,
)
from ._neural_ode import NeuralODE


class NDEEvaluation(AbstractScores):
    """Scores of a NeuralODE on a test trajectory (plain floats), as in `dynsys.dsr`.

    **Fields:** `d_stsp` (state-space divergence), `d_h` (power-spectrum Hellinger
    distance; both NaN with a warning when the free run fails), `pe` (PE(n), mean squared
    n-step-ahead prediction error from every test point), `lambda_max` (largest Lyapunov
    exponent of the learnt vector field, per unit time; NaN when skipped), `floors` (the
    metrics of an independent true trajectory, when `reference` was given), `generated`
    (the compared free run, `(T, d)`).

    A [`dynsys.metrics.AbstractScores`][]: `ev["d_stsp"]`, `ev.to_dict()` (strict JSON,
    without `generated`), `ev.summary()`.
    """

    not_scores: ClassVar[tuple[str, ...]] = ("generated",)

    d_stsp: float
    d_h: float
    pe: float
    lambda_max: float
    floors: dict
    generated: Any

    def summary(self) -> str:
        """One line per metric, with its floor when known."""
        rows = [("D_stsp", self.d_stsp, self.floors.get("d_stsp")),
                ("D_H", self.d_h, self.floors.get("d_h")), ("PE", self.pe, None),
                ("lambda_max", self.lambda_max, None)]  # fmt: skip
        return "\n".join(
            f"{name:<11}{value:9.4f}" + ("" if floor is None else f"   (floor {floor:.4f})")
            for name, value, floor in rows
        )


def evaluate(
    model: NeuralODE,
    test: Trajectories | Any,
    *,
    dt: float | None = None,
    transient_fraction: float = 0.25,
    pe_steps: int = 20,
    lyapunov_steps: int = 20_000,
    reference: Trajectories | Any | None = None,
    n_bins: int = 30,
    smoothing: float = 20.0,
) -> NDEEvaluation:
    """Evaluate a NeuralODE with the protocol of [`dynsys.dsr.evaluate`][].

    The model is solved from the first test point for `(1 + transient_fraction) · T`
    samples spaced `dt`; after dropping the transient, the T generated samples are compared
    with the test trajectory by D_stsp ([`dynsys.metrics.state_space_divergence`][], `n_bins`
    bins) and D_H ([`dynsys.metrics.power_spectrum_distance`][], Gaussian smoothing
    `smoothing`). PE(n) uses the flow map over `dt` from every test point
    ([`dynsys.metrics.prediction_error`][]). λ_max is computed from the variational equation
    of the learnt vector field ([`dynsys.metrics.lyapunov_spectrum`][] on the model as a
    flow), started from the end of the free run, so it is per unit time like the system's
    (Lorenz-63: 0.906).

    **Arguments:**

    - `model`: a trained [`NeuralODE`][dynsys.nde.NeuralODE].
    - `test`: [`dynsys.data.Trajectories`][] (first trajectory) or `(T, d)`.
    - `dt`: sampling step; default the test data's `dt`.
    - `transient_fraction`, `pe_steps`, `lyapunov_steps` (0 skips λ_max), `reference`,
      `n_bins`, `smoothing`: as for [`dynsys.dsr.evaluate`][].

    **Returns:** an [`NDEEvaluation`][dynsys.nde.NDEEvaluation].
    """
    if not isinstance(model, NeuralODE):
        raise TypeError(f"`model` must be a NeuralODE, got {type(model).__name__}.")
    x = first_trajectory(test, "test")
    if dt is None:
        dt = test.dt if isinstance(test, Trajectories) and test.dt else None
        if dt is None:
            raise ValueError("`dt` is required when `test` has no uniform sampling step.")
    check_positive(dt, "dt")
    check_positive(transient_fraction, "transient_fraction", allow_zero=True)
    pe_steps = check_int(pe_steps, "pe_steps", minimum=1)
    lyapunov_steps = check_int(lyapunov_steps, "lyapunov_steps", minimum=0)
    if x.shape[-1] != model.data_dim:
        raise ValueError(f"`test` has dim {x.shape[-1]}, the model data_dim={model.data_dim}.")
    dtype = training.param_dtype(model)
    x = x.astype(dtype)
    n = x.shape[0]
    n_transient = int(round(transient_fraction * n))
    ts = jnp.arange(n_transient + n, dtype=dtype) * jnp.asarray(dt, dtype)

    @jax.jit
    def free_run(state0):
        sol = model.solve(ts, state0, throw=False, max_steps=64 * (n_transient + n))
        return sol.ys

    states = free_run(model.augment(x[0]))[n_transient:]
    generated = states[:, : model.data_dim]
    finite = bool(jnp.all(jnp.isfinite(generated)))
    nan = float("nan")
    if finite:
        d_stsp = float(state_space_divergence(x, generated, n_bins=n_bins))
        d_h = float(power_spectrum_distance(x, generated, smoothing=smoothing))
    else:
        warnings.warn(
            "The model's free run failed (non-finite or the solver stopped); D_stsp, D_H and "
            "lambda_max are reported as NaN (a failed run).",
            RuntimeWarning,
            stacklevel=2,
        )
        d_stsp = d_h = nan
    step_ts = jnp.asarray([0.0, dt], dtype)

    def flow(state):
        return model.solve(step_ts, state, throw=False).ys[-1]

    def readout(state):
        return state[: model.data_dim]

    pe_result = prediction_error(flow, model.augment, x, n=pe_steps, readout=readout,
                                 batch_size=4096)  # fmt: skip
    pe = float(pe_result.value)
    lam = nan
    if finite and lyapunov_steps > 0:
        field = systems.from_function(
            lambda t, y: model.vector_field(t, y, None), dim=model.state_dim, dt=float(dt)
        )
        spectrum = lyapunov_spectrum(
            field, states[-1], n_steps=lyapunov_steps, transient=1000, dt=float(dt),
            n_exponents=1, renorm_every=10,
        )  # fmt: skip
        lam = float(spectrum.exponents[0])
    floors = {}
    if reference is not None:
        r = first_trajectory(reference, "reference").astype(dtype)[:n]
        floors = {
            "d_stsp": float(state_space_divergence(x, r, n_bins=n_bins)),
            "d_h": float(power_spectrum_distance(x[: r.shape[0]], r, smoothing=smoothing)),
        }
    return NDEEvaluation(d_stsp=d_stsp, d_h=d_h, pe=pe, lambda_max=lam, floors=floors,
                         generated=generated)  # fmt: skip
