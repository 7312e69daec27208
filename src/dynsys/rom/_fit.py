"""Training Φ-ROM (solver-derived latent velocities) and DINo (data-driven latent ODE)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import training
from .._validation import check_in_range, check_int, check_positive
from ..data import SnapshotSampler, Trajectories
from ._model import AbstractLatentROM, DINo, PhiROM
from ._objective import DINoObjective, PhiROMObjective, Trainable


class ROMFitResult(eqx.Module):
    """What [`fit_phirom`][dynsys.rom.fit_phirom] and [`fit_dino`][dynsys.rom.fit_dino] return.

    **Fields:** `model` (the trained [`PhiROM`][dynsys.rom.PhiROM] / [`DINo`][dynsys.rom.DINo]),
    `latents` (the trained latent memory, shape `(n_traj, n_time, d)`), `history` (per-step
    numpy arrays: `"step"`, `"loss"`, `"reconstruction"`, `"dynamics"`), `wall_time` (seconds
    of this call), `steps_per_second`.
    """

    model: Any
    latents: Any
    history: dict
    wall_time: float
    steps_per_second: float


def _flatten_fields(states: jax.Array) -> jax.Array:
    """(n, T, C, *space) -> (n, T, P, C) with the spatial axes flattened in C order."""
    n, t, c = states.shape[:3]
    return jnp.moveaxis(states.reshape(n, t, c, -1), 2, 3)


def _prepare(model, data, coords, params, n_train_steps):
    if not isinstance(model, AbstractLatentROM):
        raise TypeError(f"`model` must be a PhiROM or DINo, got {type(model).__name__}.")
    if not isinstance(data, Trajectories):
        raise TypeError(f"`data` must be a dynsys.data.Trajectories, got {type(data).__name__}.")
    states = data.states
    if states.ndim < 4:
        raise ValueError(
            "`data.states` must hold fields (batch, time, channels, *space), got shape "
            f"{tuple(states.shape)}."
        )
    dtype = states.dtype
    n_traj, n_time, n_ch = states.shape[:3]
    space = tuple(states.shape[3:])
    n_pts = int(np.prod(space))
    coords = jnp.asarray(coords, dtype=dtype)
    if coords.ndim == len(space) + 1 and tuple(coords.shape[:-1]) == space:
        coords = coords.reshape(n_pts, coords.shape[-1])
    if coords.ndim != 2 or coords.shape[0] != n_pts:
        raise ValueError(
            f"`coords` must be (points, coord_dim) with points = {n_pts} or "
            f"(*{space}, coord_dim), got shape {tuple(coords.shape)}."
        )
    if coords.shape[1] != model.decoder.coord_dim:
        raise ValueError(
            f"`coords` has {coords.shape[1]} coordinate(s) per point but the decoder expects "
            f"{model.decoder.coord_dim}."
        )
    if n_ch != model.decoder.num_channels:
        raise ValueError(
            f"the data have {n_ch} channel(s) but the decoder outputs {model.decoder.num_channels}."
        )
    if params is not None:
        params = jnp.asarray(params, dtype=dtype)
        if params.ndim == 1:
            params = params[:, None]
        if params.ndim != 2 or params.shape[0] != n_traj:
            raise ValueError(
                f"`params` must be (n_traj,) or (n_traj, param_dim) with n_traj = {n_traj}, "
                f"got shape {tuple(params.shape)}."
            )
        if params.shape[1] != model.dynamics.param_dim:
            raise ValueError(
                f"`params` has {params.shape[1]} column(s) but the dynamics expect "
                f"param_dim = {model.dynamics.param_dim}."
            )
    elif getattr(model.dynamics, "param_dim", 0):
        raise ValueError("the latent dynamics are parametric: pass `params` (one per trajectory).")
    if n_train_steps is None:
        n_train_steps = n_time
    n_train_steps = check_int(n_train_steps, "n_train_time", minimum=2)
    if n_train_steps > n_time:
        raise ValueError(f"`n_train_time` must be <= {n_time} (snapshots), got {n_train_steps}.")
    fields = _flatten_fields(states[:, :n_train_steps])
    return fields, coords, params, space, n_ch


def _default_optimizer(learning_rate, decay_every, decay_rate):
    """Adam with the reference runs' staircase decay (a schedule given as is)."""
    if callable(learning_rate):
        return optax.adam(learning_rate)
    check_positive(learning_rate, "learning_rate")
    sched = optax.exponential_decay(
        float(learning_rate), transition_steps=decay_every, decay_rate=decay_rate, staircase=True
    )
    return optax.adam(sched)


def _check_common(model_cls, model, n_steps, batch_size, lam, warmup_steps, n_snap):
    if not isinstance(model, model_cls):
        raise TypeError(f"`model` must be a {model_cls.__name__}, got {type(model).__name__}.")
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    batch_size = n_snap if batch_size is None else check_int(batch_size, "batch_size", minimum=1)
    if batch_size > n_snap:
        raise ValueError(
            f"`batch_size` must be <= {n_snap} (training snapshots), got {batch_size}."
        )
    check_in_range(lam, "lam", 0.0, 1.0)
    warmup_steps = check_int(warmup_steps, "warmup_steps", minimum=0)
    return n_steps, batch_size, warmup_steps


def _run_fit(model, objective, *, n_steps, batch_size, key, optimizer, gradient_clip, **policies):
    """Train the model and a zero-initialised latent memory through `training.fit`."""
    if gradient_clip is not None:
        check_positive(gradient_clip, "gradient_clip")
    n_traj, n_time = objective.fields.shape[:2]
    trainable = Trainable(model, jnp.zeros((n_traj, n_time, model.latent_dim),
                                           objective.fields.dtype))  # fmt: skip
    sampler = SnapshotSampler(n_traj, n_time, batch_size=batch_size)
    res = training.fit(trainable, objective, sampler, optimizer=optimizer, n_steps=n_steps,
                       key=key, gradient_clip=gradient_clip, **policies)  # fmt: skip
    hist = {k: np.asarray(v) for k, v in res.history.items()}
    return ROMFitResult(
        model=res.model.model, latents=res.model.latents, history=hist,
        wall_time=float(res.wall_time), steps_per_second=float(res.steps_per_second),
    )  # fmt: skip


def fit_phirom(
    model: PhiROM,
    data: Trajectories,
    solver: Any,
    *,
    coords: Any,
    params: Any = None,
    n_train_time: int | None = None,
    n_steps: int = 2000,
    batch_size: int | None = None,
    gamma: float = 0.1,
    lam: float = 0.5,
    warmup_steps: int = 200,
    learning_rate: Any = 5e-3,
    decay_every: int = 100,
    decay_rate: float = 0.985,
    optimizer: Any = None,
    gradient_clip: float | None = None,
    checkpoint: training.Checkpointing | None = None,
    on_nonfinite: Any = "raise",
    progress: bool | training.Progress = True,
    key: Any,
) -> ROMFitResult:
    """Train a [`PhiROM`][dynsys.rom.PhiROM]: auto-decoder + latent ODE on solver physics.

    One trainable latent α_{n,t} per training snapshot (the latent memory, initialised at
    zero) is optimised jointly with the decoder D and the latent vector field ψ. For a
    mini-batch of snapshots b (Hosseini Dashtbayaz et al., NeurIPS 2025,
    `PHIROM/training/train.py`):

    1. reconstruction L_rec = mean_b ‖D(X, α_b) − u_b‖ / ‖u_b‖;
    2. the decoded field û_b = D(X, α_b) on the solver grid gives r_b = du/dt by
       [`dynsys.pde.time_derivative`][] (`solver.rhs` if present, else (S(û) − û)/Δt);
    3. a random fraction γ of the grid points (independent per sample) and the decoder
       Jacobian J = ∂D/∂α there (forward mode) give α̇*_b = argmin ‖J a − r_b‖ (QR);
    4. dynamics loss L_dyn = mean_b ‖ψ(α_b; μ) − α̇*_b‖ / stopgrad(‖α̇*_b‖);
    5. loss λ L_rec + (1 − λ) L_dyn, so the gradient is λ g_rec + (1 − λ) g_dyn; during the
       first `warmup_steps` the dynamics gradient reaches ψ only (decoder and latents
       blocked). Afterwards, errors backpropagate through the solver into the decoder
       and the latents.

    Trains through [`dynsys.training.fit`][] (by default Adam, learning rate ×`decay_rate`
    every `decay_every` steps, as in the reference runs), with mini-batches of distinct
    snapshots from [`dynsys.data.SnapshotSampler`][]; its non-finite guard stops a
    diverging run with the step number and Φ-ROM's remedies.

    **Arguments:**

    - `model`: the initial [`PhiROM`][dynsys.rom.PhiROM].
    - `data`: training fields, `Trajectories` with states `(n_traj, time, C, *space)` on
      the solver's grid and snapshot spacing `model.dt`.
    - `solver`: any stepper of the `dynsys.pde` protocol (built-in, exponax, user-defined)
      acting on `(C, *space)`; with `params` it is called as `solver(u, μ)` (μ of shape
      `(param_dim,)`, squeezed to a scalar when param_dim = 1).
    - `coords`: coordinates of the grid points, `(P, coord_dim)` or `(*space, coord_dim)`,
      C-order flattening of the spatial axes.
    - `params`: PDE parameters per trajectory, `(n_traj,)` or `(n_traj, param_dim)`.
    - `n_train_time`: use the first `n_train_time` snapshots of each trajectory (default all).
    - `n_steps`: optimiser steps; `batch_size`: snapshots per step (default all).
    - `gamma`: hyper-reduction fraction γ ∈ (0, 1]; ⌊γ·P⌋·C must be >= d.
    - `lam`: λ ∈ [0, 1]; `warmup_steps`: steps with the dynamics gradient blocked.
    - `learning_rate`: float or optax schedule; `decay_every`, `decay_rate`: the default
      optimizer's staircase decay (all three ignored when `optimizer` is given).
    - `optimizer`: an optax `GradientTransformation` for the model and the latent memory;
      None: the default Adam above.
    - `gradient_clip`: clip gradients to this global norm before the optimizer (None: off).
    - `checkpoint`: a [`dynsys.training.Checkpointing`][] (model, latent memory and
      optimiser state; `resume=True` continues bit for bit with the same arguments), or None.
    - `on_nonfinite`: `"raise"` (default), `"rollback"` or a policy object of
      [`dynsys.training.fit`][].
    - `progress`: show a progress bar (or a [`dynsys.training.Progress`][]).
    - `key`: PRNG key (snapshot batches, hyper-reduction points).

    **Returns:** a [`ROMFitResult`][dynsys.rom.ROMFitResult].

    ```python
    res = fit_phirom(rom, data, ParametricBurgers(), coords=x[:, None], params=mus,
                     n_steps=3000, batch_size=200, key=jax.random.key(0))
    ```
    """
    fields, coords, params, space, n_ch = _prepare(model, data, coords, params, n_train_time)
    n_traj, n_time, n_pts = fields.shape[:3]
    n_steps, batch_size, warmup_steps = _check_common(
        PhiROM, model, n_steps, batch_size, lam, warmup_steps, n_traj * n_time
    )
    check_positive(gamma, "gamma")
    check_in_range(gamma, "gamma", 0.0, 1.0)
    m = int(np.floor(gamma * n_pts))
    d = model.latent_dim
    if m * n_ch < d:
        raise ValueError(
            f"`gamma`={gamma} keeps {m} of {n_pts} grid points ({m * n_ch} equations) but the "
            f"least-squares latent velocity needs at least latent_dim = {d}; increase gamma."
        )
    if not callable(solver):
        raise TypeError(f"`solver` must be a stepper (callable), got {type(solver).__name__}.")
    objective = PhiROMObjective(
        fields, coords, params, solver, space=space, n_kept=m, lam=float(lam),
        warmup_steps=warmup_steps,
    )  # fmt: skip
    if optimizer is None:
        optimizer = _default_optimizer(learning_rate, decay_every, decay_rate)
    return _run_fit(
        model, objective, n_steps=n_steps, batch_size=batch_size, key=key, optimizer=optimizer,
        gradient_clip=gradient_clip, checkpoint=checkpoint, on_nonfinite=on_nonfinite,
        progress=progress,
    )  # fmt: skip


def fit_dino(
    model: DINo,
    data: Trajectories,
    *,
    coords: Any,
    params: Any = None,
    n_train_time: int | None = None,
    n_steps: int = 2000,
    batch_size: int | None = None,
    lam: float = 0.5,
    warmup_steps: int = 200,
    teacher_forcing: float = 0.99,
    teacher_forcing_steps: int | None = None,
    learning_rate: Any = 5e-3,
    decay_every: int = 100,
    decay_rate: float = 0.985,
    optimizer: Any = None,
    gradient_clip: float | None = None,
    checkpoint: training.Checkpointing | None = None,
    on_nonfinite: Any = "raise",
    progress: bool | training.Progress = True,
    key: Any,
) -> ROMFitResult:
    """Train a [`DINo`][dynsys.rom.DINo]: the same auto-decoder and latent ODE, data only.

    The control of Φ-ROM (Yin et al., ICLR 2023; Φ-ROM's `DINOTrainer`): the reconstruction
    loss is that of [`fit_phirom`][dynsys.rom.fit_phirom]; the dynamics loss integrates ψ
    from each trajectory's first latent over the training window, one Bosh3 step per
    snapshot interval, and matches the latent memory (squared error, as DINo; the latents
    start at zero, so a relative norm would be undefined):

        L_dyn = mean_{n,t} ‖α̂_{n,t} − α_{n,t}‖²

    with teacher forcing: before each interval the integrated state is replaced by the
    memory latent with probability p(step), decaying linearly from `teacher_forcing` to 0
    over `teacher_forcing_steps` (default: half of `n_steps`). λ mixing, warm-up (dynamics
    gradient to ψ only), optimiser and schedule exactly as in `fit_phirom`, so that the
    comparison changes only the dynamics target. Trains through `dynsys.training.fit`.

    After the warm-up the dynamics gradient also reaches the latent memory, as it does in
    Φ-ROM. The original DINo (and the reference's `DINOTrainer`, Φ-ROM's baseline) never
    lets it: its latents learn from the reconstruction only and ψ fits them. Set
    `warmup_steps=n_steps` for that variant; with the latents decoupled, λ only rescales
    each part's gradient, which Adam undoes.

    **Arguments:** as `fit_phirom` without `solver`/`gamma` (`optimizer`, `gradient_clip`,
    `checkpoint`, `on_nonfinite`, `progress` included); `teacher_forcing` (initial
    probability in [0, 1]) and `teacher_forcing_steps`.

    **Returns:** a [`ROMFitResult`][dynsys.rom.ROMFitResult].

    ```python
    res = fit_dino(dino, data, coords=x[:, None], params=mus, n_steps=3000,
                   batch_size=200, key=jax.random.key(0))
    ```
    """
    fields, coords, params, _, _ = _prepare(model, data, coords, params, n_train_time)
    n_traj, n_time = fields.shape[:2]
    n_steps, batch_size, warmup_steps = _check_common(
        DINo, model, n_steps, batch_size, lam, warmup_steps, n_traj * n_time
    )
    check_in_range(teacher_forcing, "teacher_forcing", 0.0, 1.0)
    tf_steps = max(n_steps // 2, 1) if teacher_forcing_steps is None else check_int(
        teacher_forcing_steps, "teacher_forcing_steps", minimum=1)  # fmt: skip
    objective = DINoObjective(
        fields, coords, params, lam=float(lam), warmup_steps=warmup_steps,
        teacher_forcing=float(teacher_forcing), teacher_forcing_steps=tf_steps,
    )  # fmt: skip
    if optimizer is None:
        optimizer = _default_optimizer(learning_rate, decay_every, decay_rate)
    return _run_fit(
        model, objective, n_steps=n_steps, batch_size=batch_size, key=key, optimizer=optimizer,
        gradient_clip=gradient_clip, checkpoint=checkpoint, on_nonfinite=on_nonfinite,
        progress=progress,
    )  # fmt: skip


def forecast_fields(
    model: AbstractLatentROM,
    initial_fields: Any,
    n_steps: int,
    *,
    coords: Any,
    params: Any = None,
    n_iter: int = 500,
    learning_rate: float = 0.1,
    alpha_init: Any = None,
    output_coords: Any = None,
) -> jax.Array:
    """Forecast fields from initial conditions: invert each IC, integrate ψ, decode.

    **Arguments:**

    - `model`: a trained [`PhiROM`][dynsys.rom.PhiROM] or [`DINo`][dynsys.rom.DINo].
    - `initial_fields`: initial states `(batch, C, *space)` observed at `coords`.
    - `n_steps`: snapshots to forecast after the initial one.
    - `coords`: coordinates of the observed points, `(P, coord_dim)` or `(*space, coord_dim)`.
    - `params`: PDE parameters `(batch,)` or `(batch, param_dim)` (parametric models).
    - `n_iter`, `learning_rate`: latent inversion (Adam), see
      [`AbstractLatentROM.invert`][dynsys.rom.AbstractLatentROM.invert].
    - `alpha_init`: where each inversion starts, `(d,)` for all or `(batch, d)` (default
      zeros, the reference's). E.g. the mean of the trained initial latents,
      `result.latents[:, 0].mean(0)`, starts it on the latent manifold that ψ was trained on.
    - `output_coords`: where to decode (default: `coords`, reshaped to `(C, *space)`);
      arbitrary points give `(batch, time, P_out, C)` (mesh-free decoding).

    **Returns:** `(batch, n_steps + 1, C, *space)` on the input grid, or
    `(batch, n_steps + 1, P_out, C)` with `output_coords`.
    """
    if not isinstance(model, AbstractLatentROM):
        raise TypeError(f"`model` must be a PhiROM or DINo, got {type(model).__name__}.")
    u0 = jnp.asarray(initial_fields)
    if u0.ndim < 3:
        raise ValueError(
            f"`initial_fields` must be (batch, channels, *space), got shape {tuple(u0.shape)}."
        )
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    b, c = u0.shape[:2]
    space = tuple(u0.shape[2:])
    values = jnp.moveaxis(u0.reshape(b, c, -1), 1, 2)
    coords = jnp.asarray(coords, dtype=u0.dtype).reshape(values.shape[1], -1)
    d = model.latent_dim
    if alpha_init is None:
        inits = [None] * b
    else:
        inits = jnp.asarray(alpha_init, dtype=u0.dtype)
        if inits.shape not in ((d,), (b, d)):
            raise ValueError(
                f"`alpha_init` must have shape ({d},) or ({b}, {d}), got {tuple(inits.shape)}."
            )
        inits = jnp.broadcast_to(inits, (b, d))  # each row is checked by `model.invert`
    alphas = jnp.stack([model.invert(v, coords, n_iter=n_iter, learning_rate=learning_rate,
                                     alpha_init=a0) for v, a0 in zip(values, inits)])  # fmt: skip
    if params is None:
        lat = jax.vmap(lambda a: model.forecast(a, n_steps))(alphas)
    else:
        mus = jnp.asarray(params, dtype=u0.dtype).reshape(b, -1)
        lat = jax.vmap(lambda a, mu: model.forecast(a, n_steps, mu))(alphas, mus)
    if output_coords is not None:
        return model.decode(lat, jnp.asarray(output_coords, dtype=u0.dtype))
    out = model.decode(lat, coords)  # (b, T, P, C)
    return jnp.moveaxis(out, -1, 2).reshape(b, n_steps + 1, c, *space)
