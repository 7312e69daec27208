"""Per-time-step errors of predicted fields: relative L2 (Φ-ROM) and nRMSE (exponax)."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_array, check_finite, is_traced


def relative_l2_error(
    true: ArrayLike,
    pred: ArrayLike,
) -> Float[Array, "batch time channels"]:
    """Relative L2 error per sample, time step and channel, over space.

        e[b, t, c] = ‖pred[b, t, c] − true[b, t, c]‖₂ / ‖true[b, t, c]‖₂,

    the norms taken over all spatial axes. This is the Φ-ROM evaluation metric
    (`PHIROM/training/metrics.py::normalized_mse`, despite its name the relative L2 norm,
    not squared), which keeps channels separate; average over `t` for the "interpolate"
    (t < T_train) and "extrapolate" (T_train ≤ t < 2·T_train) numbers. A field that is zero
    everywhere in `true` gives inf or NaN, and so does a non-finite prediction (a diverged
    rollout shows up from the step where it diverges); both come with a `RuntimeWarning`
    when not traced. Jit-able.

    **Arguments:**

    - `true`: reference fields, shape `(batch, time, channels, *space)` with ≥ 1 spatial axis.
    - `pred`: predicted fields, same shape.

    **Returns:** shape `(batch, time, channels)`.

    ```python
    import jax.numpy as jnp
    from dynsys.metrics import relative_l2_error
    u = jnp.ones((2, 5, 1, 64))
    relative_l2_error(u, 1.1 * u)  # 0.1 everywhere, shape (2, 5, 1)
    ```
    """
    true, pred = _check_fields(true, pred)
    out = _relative_l2(true, pred)
    _warn_nonfinite(out, pred, "relative_l2_error")
    return out


def nrmse(
    true: ArrayLike,
    pred: ArrayLike,
) -> Float[Array, "batch time"]:
    """Normalised RMSE per sample and time step, summed over channels (exponax's `nRMSE`).

        nRMSE[b, t] = Σ_c √(Σ_x (L/N)^D |pred − true|²) / √(Σ_x (L/N)^D |true|²)
                    = Σ_c ‖pred[b, t, c] − true[b, t, c]‖₂ / ‖true[b, t, c]‖₂,

    i.e. the relative L2 error of each channel, **summed** over channels after the
    normalisation, as `exponax.metrics.nRMSE(u_pred, u_ref)` does for one state; the domain
    factor `(L/N)^D` cancels. For one channel it equals
    [`dynsys.metrics.relative_l2_error`][]. Note the argument order: reference first, as in
    every dynsys metric (exponax takes the prediction first). A zero reference field or a
    non-finite prediction gives inf/NaN with a `RuntimeWarning`, as there. Jit-able.

    **Arguments:**

    - `true`: reference fields, shape `(batch, time, channels, *space)` with ≥ 1 spatial axis.
    - `pred`: predicted fields, same shape.

    **Returns:** shape `(batch, time)`.

    ```python
    import jax.numpy as jnp
    from dynsys.metrics import nrmse
    u = jnp.ones((2, 5, 3, 16, 16))
    nrmse(u, 1.1 * u)  # 0.3 = 3 channels × 0.1, shape (2, 5)
    ```
    """
    true, pred = _check_fields(true, pred)
    out = jnp.sum(_relative_l2(true, pred), axis=-1)
    _warn_nonfinite(out, pred, "nrmse")
    return out


def _check_fields(true, pred):
    true = as_array(true, "true")
    pred = as_array(pred, "pred")
    if true.ndim < 4:
        raise ValueError(
            "`true` must be (batch, time, channels, *space) with at least one spatial axis, "
            f"got shape {tuple(true.shape)}."
        )
    if pred.shape != true.shape:
        raise ValueError(
            f"`pred` must have the same shape as `true` {tuple(true.shape)}, "
            f"got shape {tuple(pred.shape)}."
        )
    # a diverged prediction is a result to report (inf/NaN from that step on), not an error
    check_finite(true, "true")
    dtype = np.promote_types(true.dtype, pred.dtype)
    return true.astype(dtype), pred.astype(dtype)


def warn_nonfinite_prediction(pred, metric: str) -> None:
    """Warn (outside `jit`) that a non-finite prediction makes `metric` NaN/inf there."""
    if is_traced(pred) or bool(jnp.all(jnp.isfinite(pred))):
        return
    warnings.warn(
        f"{metric}: `pred` holds NaN or infinite values (a diverged prediction?); the score "
        "is NaN or infinite where it does.",
        RuntimeWarning,
        stacklevel=3,
    )


def _warn_nonfinite(out, pred, metric: str) -> None:
    if is_traced(out) or bool(jnp.all(jnp.isfinite(out))):
        return
    if not bool(jnp.all(jnp.isfinite(pred))):
        warn_nonfinite_prediction(pred, metric)
        return
    warnings.warn(
        f"{metric} is infinite or NaN: a field of `true` is zero everywhere, so the error "
        "relative to it is undefined.",
        RuntimeWarning,
        stacklevel=3,
    )


@jax.jit
def _relative_l2(true, pred):
    space = tuple(range(3, true.ndim))
    err = jnp.sqrt(jnp.sum((pred - true) ** 2, axis=space))
    ref = jnp.sqrt(jnp.sum(true**2, axis=space))
    return err / ref
