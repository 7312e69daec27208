"""The diagnosis of a failed differential-equation solve during training: `SolverError`."""

from __future__ import annotations

from typing import Any

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from .. import training


class SolverError(training.NonFiniteError):
    """A differential-equation solve failed during [`dynsys.nde.fit`][].

    Raised instead of the training core's generic non-finite error when the cause is a
    failed solve (`max_steps` reached, step size collapsed, non-finite state). A subclass of
    [`dynsys.training.NonFiniteError`][], with extra attributes:

    - `phase`: 0-based curriculum phase; `trajectory`: index of the first failing
      trajectory in the training data; `segment`: shooting segment (or None);
    - `time_interval`: `(t_last_ok, t_first_bad)`, the saved times around the failure;
    - `reason`: diffrax's message.
    """

    def __init__(self, message, *, step, quantity, last_good_model, phase, trajectory,
                 segment, time_interval, reason):  # fmt: skip
        super().__init__(message, step=step, quantity=quantity, last_good_model=last_good_model)
        self.phase = phase
        self.trajectory = trajectory
        self.segment = segment
        self.time_interval = time_interval
        self.reason = reason


def solve_outcomes(one: Any, *args: Any, in_axes: tuple) -> tuple[Any, Any, Any]:
    """Run `one(*arg_slices) -> (ys (S, time, state), ok (S,), code (S,))` over the series.

    `one` solves the S segments (S = 1 without shooting) of one series; the result is
    `(ys (n, S, time, state), ok (n, S), code (n, S))`, compiled once for the diagnosis.
    """
    return jax.jit(jax.vmap(one, in_axes=in_axes))(*args)


def diffrax_outcome(sol: diffrax.Solution) -> tuple[Any, Any, Any]:
    """`(ys, successful, result code)` of one diffrax solve."""
    return sol.ys, sol.result == diffrax.RESULTS.successful, sol.result._value


def solver_error(
    error: training.NonFiniteError,
    *,
    phase: int,
    outcomes: tuple[Any, Any, Any],
    grids: Any,
    segmented: bool,
    max_steps: int,
) -> Exception:
    """A [`SolverError`][dynsys.nde.SolverError] for the first failing solve, else `error`.

    **Arguments:**

    - `error`: the training core's error (its step, quantity and last good model are kept).
    - `phase`: 0-based curriculum phase.
    - `outcomes`: `(ys (n, S, time, state), ok (n, S), code (n, S))` of the re-solve of
      every training series (S shooting segments, 1 without) with the last good model.
    - `grids`: the saved times `(n, S, time)`.
    - `segmented`: whether the segments are shooting segments (named in the message).
    - `max_steps`: the model's solver step budget (quoted in the message).
    """
    out, ok, codes = (np.asarray(x) for x in outcomes)
    ok = ok & np.all(np.isfinite(out), axis=(2, 3))
    if np.all(ok):
        return error
    n = out.shape[0]
    b, s = (int(v) for v in np.argwhere(~ok)[0])
    finite = np.all(np.isfinite(out[b, s]), axis=-1)
    k = int(np.argmin(finite)) if not np.all(finite) else len(finite) - 1
    grids = np.asarray(grids)
    t_bad = float(grids[b, s, k])
    t_ok = float(grids[b, s, k - 1]) if k > 0 else float(grids[b, s, 0])
    reason = _code_message(int(codes[b, s]))
    n_bad = int((~ok).sum())
    where = f"trajectory {b}" + (f", shooting segment {s}" if segmented else "")
    message = (
        f"The differential-equation solve failed at training step {error.step} (phase "
        f"{phase}): {where} (of {n} series; {n_bad} solve(s) fail) between t={t_ok:.6g} and "
        f"t={t_bad:.6g}: {reason} What to change: raise `max_steps` of the model (now "
        f"{max_steps}); for stiff dynamics use an implicit solver, e.g. "
        "solver=diffrax.Kvaerno5() with a PIDController; lower the learning rate or clip "
        "gradients (optimizer=optax.chain(optax.clip_by_global_norm(1.0), ...)); start the "
        "curriculum on shorter prefixes (`lengths`) or use multiple shooting (`shooting`); "
        "train in float64 if the step size collapsed."
    )
    diagnosed = SolverError(
        message, step=error.step, quantity=error.quantity,
        last_good_model=error.last_good_model, phase=phase, trajectory=b,
        segment=s if segmented else None, time_interval=(t_ok, t_bad), reason=reason,
    )  # fmt: skip
    diagnosed.__cause__ = error
    return diagnosed


def series_grids(ts: Any, n: int) -> Any:
    """The saved times `(n, 1, time)` of one solve per series, from `(time,)` or `(n, time)`."""
    return jnp.broadcast_to(ts if ts.ndim == 2 else ts[None], (n, ts.shape[-1]))[:, None, :]


def _code_message(code: int) -> str:
    messages = getattr(diffrax.RESULTS, "_index_to_message", None)
    if code == 0:
        return "the solution became non-finite (NaN/inf) although the solver reported success."
    if messages is not None and 0 <= code < len(messages):
        return str(messages[code])
    return f"diffrax result code {code}."
