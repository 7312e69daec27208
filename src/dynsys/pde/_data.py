"""PDE trajectories as `dynsys.data.Trajectories` (fields as (batch, time, channels, *space))."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import as_array, check_finite, check_int
from ..data import Trajectories
from ._rollout import _check_stepper, _checked_u0, rollout


def pde_trajectories(
    stepper: Any,
    u0s: Any,
    n_steps: int,
    *,
    aux: Any = None,
    metadata: Mapping[str, Any] | None = None,
) -> Trajectories:
    """Simulate a batch of initial states and return them as a `Trajectories` dataset.

    Each initial state is rolled out with [`dynsys.pde.rollout`][] (vmapped over the
    batch; `aux`, if given, has one entry per initial state, e.g. a PDE parameter μ per
    trajectory). Times are `k · stepper.dt`, k = 0..n_steps.

    **Arguments:**

    - `stepper`: any stepper of the protocol.
    - `u0s`: initial states, shape `(batch, channels, *space)`.
    - `n_steps`: steps per trajectory, >= 1.
    - `aux`: optional per-trajectory extra argument (leading axis `batch`), passed as
      `stepper(u, aux[b])`; also stored in the metadata as `"params"` when it is an array.
    - `metadata`: extra metadata (merged with `dt`, `n_steps`, grid attributes).

    **Returns:** a `Trajectories` with states `(batch, n_steps + 1, channels, *space)`.

    ```python
    u0s = jnp.ones((4, 1, 256))
    data = pde_trajectories(ParametricBurgers(), u0s, 200, aux=jnp.linspace(0.015, 0.03, 4))
    ```
    """
    _check_stepper(stepper)
    u0s = as_array(u0s, "u0s")
    if u0s.ndim < 3 or u0s.shape[0] == 0:
        raise ValueError(
            "`u0s` must be a non-empty batch of states (batch, channels, *space), got shape "
            f"{tuple(u0s.shape)}."
        )
    check_finite(u0s, "u0s")
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    if aux is None:
        _checked_u0(stepper, u0s[0], (), name="u0s[0]")
        states = jax.vmap(lambda u: rollout(stepper, u, n_steps))(u0s)
    else:
        lens = {jnp.shape(x)[0] if jnp.ndim(x) else None for x in jax.tree_util.tree_leaves(aux)}
        if lens != {u0s.shape[0]}:
            raise ValueError(
                f"`aux` needs one entry per initial state ({u0s.shape[0]}) on its leading "
                f"axis, got leading lengths {sorted(map(str, lens))}."
            )
        first = jax.tree_util.tree_map(lambda x: x[0], aux)
        _checked_u0(stepper, u0s[0], (first,), name="u0s[0]")
        states = jax.vmap(lambda u, a: rollout(stepper, u, n_steps, aux=a))(u0s, aux)
    dt = float(stepper.dt)
    times = jnp.arange(n_steps + 1, dtype=states.dtype) * jnp.asarray(dt, states.dtype)
    meta: dict[str, Any] = {"dt": dt, "n_steps": n_steps, "stepper": type(stepper).__name__}
    for name in ("num_spatial_dims", "num_points", "num_channels", "domain_extent"):
        value = getattr(stepper, name, None)
        if isinstance(value, (int, float)):
            meta[name] = value
    if aux is not None and isinstance(aux, (jax.Array, np.ndarray)):
        meta["params"] = np.asarray(aux).tolist()
    meta.update(dict(metadata or {}))
    return Trajectories(times, states, metadata=meta)
