"""Conformance checks for user and built-in steppers of the `dynsys.pde` protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import (
    as_array,
    check_finite,
    check_int,
    check_ndim,
    check_positive,
)
from ..pde._protocol import checked_state


class StepperConformanceError(AssertionError, ValueError):
    """Raised by [`dynsys.testing.check_stepper`][] when a check fails; lists every failure.

    An `AssertionError` (a failed check, as in a test) and a `ValueError` (the `stepper`
    given does not conform); each failure line names the arguments it concerns.
    """


_MAX_STEPS = 10_000_000  # the most steps one convergence run may take
# The arguments each check concerns, named in its failure line.
_BLAME = {
    "shape_dtype": "`stepper`, `u`",
    "dt": "`stepper`",
    "jit": "`stepper`",
    "vmap": "`stepper`",
    "grad": "`stepper`",
    "time_derivative": "`stepper`, `rhs_rtol`",
    "convergence": "`make_stepper`, `expected_order`, `order_tolerance`",
}


def convergence_order(
    make_stepper: Callable[[float], Any],
    u0: Any,
    t_final: float,
    dts: Sequence[float],
    *,
    reference: Any = None,
    reference_refinement: int = 8,
    aux: tuple = (),
) -> tuple[float, np.ndarray]:
    """Empirical order of accuracy in time: the log-log slope of error versus dt.

    Each `dt` in `dts` gives a stepper `make_stepper(dt)` that is applied
    round(t_final/dt) times from `u0`; the error is the relative L2 distance of the final
    state to `reference` (default: the same stepper with dt = min(dts)/`reference_refinement`).
    The order p is the least-squares slope of log(error) against log(dt), error ≈ C dt^p.

    **Arguments:**

    - `make_stepper`: `dt -> stepper`.
    - `u0`: initial state `(channels, *space)`.
    - `t_final`: time to integrate to; every `t_final/dt` must be an integer.
    - `dts`: at least two time steps.
    - `reference`: exact final state, if known (keyword).
    - `reference_refinement`: refinement of the numerical reference (keyword).
    - `aux`: extra stepper arguments (keyword).

    **Returns:** `(order, errors)` with `errors` of shape `(len(dts),)`.

    ```python
    p, errs = convergence_order(lambda dt: Burgers(1, 2*jnp.pi, 64, dt), u0, 1.0,
                                [0.2, 0.1, 0.05])
    ```
    """
    if not callable(make_stepper):
        raise TypeError(f"`make_stepper` must be callable (dt -> stepper), got {make_stepper!r}.")
    if not isinstance(aux, tuple):
        raise TypeError(f"`aux` must be a tuple of extra arguments, got {type(aux).__name__}.")
    dts_arr = as_array(dts, "dts")
    check_ndim(dts_arr, "dts", 1, "a 1-D sequence of time steps")
    if dts_arr.shape[0] < 2:
        raise ValueError(f"`dts` needs at least two time steps, got {dts_arr.shape[0]}.")
    check_finite(dts_arr, "dts")
    if not np.all(np.asarray(dts_arr) > 0):
        raise ValueError(f"`dts` must be > 0, got {np.asarray(dts_arr).tolist()}.")
    # the values themselves in float64: a float32 round trip breaks `t_final`/dt multiples
    dts = [float(d) for d in np.asarray(dts, dtype=np.float64).reshape(-1)]
    t_final = check_positive(t_final, "t_final")
    refinement = check_int(reference_refinement, "reference_refinement", minimum=2)
    n_max = round(t_final / (min(dts) / (refinement if reference is None else 1)))
    if n_max > _MAX_STEPS:
        raise ValueError(
            f"`t_final`={t_final} takes {n_max} steps of the smallest dt (`dts`, "
            f"`reference_refinement`), more than {_MAX_STEPS}."
        )
    first = make_stepper(dts[0])
    if not callable(first):
        raise TypeError(
            f"`make_stepper` must return a stepper (a callable), got {type(first).__name__}."
        )
    u0 = checked_state(u0, "u0", first)

    def final(dt):
        n = round(t_final / dt)
        if abs(n * dt - t_final) > 1e-9 * max(1.0, t_final):
            raise ValueError(f"`t_final`={t_final} is not a multiple of dt={dt} (`dts`).")
        s = make_stepper(dt)
        return jax.jit(lambda u: jax.lax.fori_loop(0, n, lambda _, v: s(v, *aux), u))(u0)

    if reference is None:
        reference = final(min(dts) / refinement)
    else:
        reference = checked_state(reference, "reference")
        if reference.shape != u0.shape:
            raise ValueError(
                f"`reference` must have the shape of `u0` {tuple(u0.shape)}, got "
                f"{tuple(reference.shape)}."
            )
    errors = np.array(
        [
            float(jnp.linalg.norm((final(dt) - reference).ravel()) / jnp.linalg.norm(reference))
            for dt in dts
        ]
    )
    if np.any(errors <= 0) or not np.all(np.isfinite(errors)):
        raise ValueError(
            f"the errors at `dts` {dts} must be finite and positive to fit an order, got "
            f"{errors}: the steppers of `make_stepper` diverge, or are exact (`reference`)."
        )
    slope = float(np.polyfit(np.log(dts), np.log(errors), 1)[0])
    return slope, errors


def _tols(dtype):
    if dtype == jnp.float64:
        return 1e-9, 1e-5
    return 1e-4, 5e-2


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def check_stepper(
    stepper: Any,
    u: Any,
    *,
    aux: tuple = (),
    make_stepper: Callable[[float], Any] | None = None,
    expected_order: float | int | None = None,
    order_tolerance: float = 0.3,
    t_final: float | None = None,
    rhs_rtol: float = 0.5,
    raise_on_failure: bool = True,
) -> dict[str, Any]:
    """Check that a stepper follows the `dynsys.pde` protocol and is differentiable.

    Run it on your own stepper before plugging it into `rollout`, Φ-ROM or a world model.
    The checks, on the state `u` (a typical, smooth, non-trivial state):

    - `shape_dtype`: `stepper(u)` has the shape and dtype of `u`, and is finite;
    - `dt`: the stepper has a positive `dt`;
    - `jit`: `jax.jit(stepper)(u)` equals `stepper(u)`;
    - `vmap`: `jax.vmap(stepper)` on a batch of two states equals two calls;
    - `grad`: reverse-mode gradient of ⟨w, S(S(u))⟩ (two steps, through `rollout`) against
      a central finite difference along a random direction;
    - `time_derivative`: if the stepper has `rhs`, the difference quotient
      (S(u) − u)/dt agrees with `rhs(u)` to relative error `rhs_rtol` (they differ by O(dt));
      with `make_stepper`, the mismatch must also shrink when dt is halved;
    - `convergence` (with `make_stepper` and `expected_order`): the empirical order by
      [`dynsys.testing.convergence_order`][] over dt, dt/2, dt/4 up to `t_final`
      (default 4·dt) is at least `expected_order − order_tolerance`.

    Tolerances depend on the dtype (tight in float64, loose in float32).

    **Arguments:**

    - `stepper`: the stepper to check.
    - `u`: one state `(channels, *space)`.
    - `aux`: extra stepper arguments, a tuple (keyword).
    - `make_stepper`: `dt -> stepper` with all else equal (keyword, optional).
    - `expected_order`: order of accuracy in time (keyword, optional).
    - `order_tolerance`, `t_final`, `rhs_rtol`: see above (keywords).
    - `raise_on_failure`: raise [`StepperConformanceError`][] listing every failed check
      (default); else only return the report.

    **Returns:** a dict `check -> {"ok": bool, ...measured values}`.

    ```python
    from dynsys.testing import check_stepper
    report = check_stepper(my_stepper, u0, make_stepper=lambda dt: MyStepper(dt=dt),
                           expected_order=2)
    ```
    """
    if not callable(stepper):
        raise TypeError(f"`stepper` must be callable, got {type(stepper).__name__}.")
    if not isinstance(aux, tuple):
        raise TypeError(f"`aux` must be a tuple of extra arguments, got {type(aux).__name__}.")
    u = checked_state(u, "u", stepper)
    if make_stepper is not None and not callable(make_stepper):
        raise TypeError(f"`make_stepper` must be callable (dt -> stepper), got {make_stepper!r}.")
    if expected_order is not None:
        check_positive(expected_order, "expected_order")
    check_positive(order_tolerance, "order_tolerance", allow_zero=True)
    if t_final is not None:
        check_positive(t_final, "t_final")
    check_positive(rhs_rtol, "rhs_rtol")
    if not isinstance(raise_on_failure, bool):
        raise TypeError(f"`raise_on_failure` must be True or False, got {raise_on_failure!r}.")
    atol_eq, rtol_grad = _tols(u.dtype)
    report: dict[str, Any] = {}
    scale = float(jnp.max(jnp.abs(u))) or 1.0

    # shape / dtype / finiteness
    try:
        out = stepper(u, *aux)
        ok = (
            hasattr(out, "shape")
            and out.shape == u.shape
            and out.dtype == u.dtype
            and bool(jnp.all(jnp.isfinite(out)))
        )
        report["shape_dtype"] = {
            "ok": ok,
            "in": (tuple(u.shape), str(u.dtype)),
            "out": (tuple(getattr(out, "shape", ())), str(getattr(out, "dtype", "?"))),
        }
    except Exception as err:  # noqa: BLE001 — report, do not crash the whole check
        report["shape_dtype"] = {"ok": False, "error": repr(err)}
        out = None

    dt = getattr(stepper, "dt", None)
    report["dt"] = {"ok": dt is not None and float(dt) > 0, "dt": dt}

    if out is not None and report["shape_dtype"]["ok"]:
        out_jit = jax.jit(lambda v: stepper(v, *aux))(u)
        err = float(jnp.max(jnp.abs(out_jit - out)))
        report["jit"] = {"ok": err <= atol_eq * 1e3 * max(scale, 1.0), "max_abs_diff": err}

        key = jax.random.key(0)
        k1, k2, k3 = jax.random.split(key, 3)
        u2 = u + 0.01 * scale * jax.random.normal(k1, u.shape, u.dtype)
        batch = jnp.stack([u, u2])
        out_vmap = jax.vmap(lambda v: stepper(v, *aux))(batch)
        ref = jnp.stack([out, stepper(u2, *aux)])
        err = float(jnp.max(jnp.abs(out_vmap - ref)))
        report["vmap"] = {"ok": err <= atol_eq * 1e3 * max(scale, 1.0), "max_abs_diff": err}

        w = jax.random.normal(k2, u.shape, u.dtype)
        v = jax.random.normal(k3, u.shape, u.dtype) * scale

        def f(x):
            return jnp.sum(w * stepper(stepper(x, *aux), *aux))

        g = jax.grad(f)(u)
        ad = float(jnp.sum(g * v))
        eps = float(np.finfo(np.dtype(u.dtype)).eps) ** (1 / 3) * 0.1
        fd = float((f(u + eps * v) - f(u - eps * v)) / (2 * eps))
        rel = abs(ad - fd) / max(abs(fd), 1e-12)
        report["grad"] = {"ok": bool(np.isfinite(ad)) and rel <= rtol_grad, "ad": ad,
                          "fd": fd, "rel_err": rel}  # fmt: skip

        if callable(getattr(stepper, "rhs", None)) and dt is not None:
            rhs = stepper.rhs(u, *aux)
            dq = (out - u) / jnp.asarray(dt, u.dtype)
            mismatch = _rel(dq, rhs)
            entry = {"ok": mismatch <= rhs_rtol, "rel_mismatch": mismatch}
            if make_stepper is not None:
                s_half = make_stepper(float(dt) / 2)
                dq_half = (s_half(u, *aux) - u) / jnp.asarray(float(dt) / 2, u.dtype)
                mismatch_half = _rel(dq_half, rhs)
                entry["rel_mismatch_half_dt"] = mismatch_half
                tiny = 1e3 * float(np.finfo(np.dtype(u.dtype)).eps)
                entry["ok"] = entry["ok"] and (mismatch_half < mismatch or mismatch_half <= tiny)
            report["time_derivative"] = entry

        if make_stepper is not None and expected_order is not None and dt is not None:
            dt0 = float(dt)
            t_end = 4 * dt0 if t_final is None else float(t_final)
            dts = [dt0, dt0 / 2, dt0 / 4]
            order, errors = convergence_order(make_stepper, u, t_end, dts, aux=aux)
            report["convergence"] = {
                "ok": order >= expected_order - order_tolerance,
                "order": order, "expected": expected_order, "errors": errors.tolist(),
            }  # fmt: skip

    failed = [name for name, entry in report.items() if not entry["ok"]]
    if failed and raise_on_failure:
        lines = [f"  {name} ({_BLAME[name]}): {report[name]}" for name in failed]
        raise StepperConformanceError("stepper failed conformance checks:\n" + "\n".join(lines))
    return report
