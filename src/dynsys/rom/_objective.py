"""The losses of Φ-ROM and DINo as objectives of the training core."""

from __future__ import annotations

from typing import Any, ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ..pde import time_derivative
from ..training import AbstractObjective
from ._latent_target import latent_velocity_target

_REMEDIES = (
    "a lower `learning_rate`, `gradient_clip` (e.g. 1.0), a longer `warmup_steps` (the "
    "dynamics gradient reaches the decoder and the latents only afterwards)"
)


class Trainable(eqx.Module):
    """What the ROM fits train: the model and its latent memory, one latent per snapshot."""

    model: Any
    latents: jax.Array


def _rel_norm(a, b):
    """Mean over the leading axis of ‖a − b‖ / ‖b‖ (norms over the remaining axes)."""
    axes = tuple(range(1, a.ndim))
    num = jnp.sqrt(jnp.sum((a - b) ** 2, axis=axes))
    den = jnp.sqrt(jnp.sum(b**2, axis=axes))
    return jnp.mean(num / den)


def _blocked(tree, warm):
    """Stop gradients through every inexact array of `tree` while `warm` (a traced bool)."""

    def f(x):
        if eqx.is_inexact_array(x):
            return jnp.where(warm, jax.lax.stop_gradient(x), x)
        return x

    return jax.tree_util.tree_map(f, tree)


class PhiROMObjective(AbstractObjective):
    """Φ-ROM's loss λ L_rec + (1 − λ) L_dyn on a batch of snapshots (see `fit_phirom`).

    The batch is `(trajectory, time)` indices of snapshots
    ([`dynsys.data.SnapshotSampler`][]); the trained pytree is a `Trainable` (model and
    latent memory). While `step < warmup_steps` the dynamics gradient reaches ψ only.

    **Fields:** `fields` `(n_traj, time, P, C)`; `coords` `(P, coord_dim)`; `params`
    `(n_traj, param_dim)` or None; `solver` (a `dynsys.pde` stepper); `space` (the spatial
    shape, static); `n_kept` (grid points of the hyper-reduction, ⌊γ·P⌋); `lam` (λ);
    `warmup_steps`.
    """

    fields: jax.Array
    coords: jax.Array
    params: jax.Array | None
    solver: Any
    space: tuple[int, ...] = eqx.field(static=True)
    n_kept: int = eqx.field(static=True)
    lam: float = eqx.field(static=True)
    warmup_steps: int = eqx.field(static=True)

    failure_hint: ClassVar[str] = (
        f"Φ-ROM remedies: {_REMEDIES}, or a larger `gamma` (a better-conditioned "
        "least-squares latent velocity); check that the solver is stable at `model.dt`."
    )

    def _solver_dudt(self, field, mu):
        n_ch = field.shape[-1]
        u = jnp.moveaxis(field, -1, 0).reshape((n_ch, *self.space))
        extra = () if mu is None else ((mu[0] if mu.shape[0] == 1 else mu),)
        du = time_derivative(self.solver, u, *extra)
        return jnp.moveaxis(du.reshape(n_ch, -1), 0, 1)

    def __call__(self, model, batch, state, *, step, key):
        i, t = batch
        rom, latents = model.model, model.latents
        alpha = latents[i, t]
        u = self.fields[i, t]
        mu = None if self.params is None else self.params[i]
        pred = jax.vmap(rom.decoder, (None, 0))(self.coords, alpha)
        rec = _rel_norm(pred, u)
        warm = step < self.warmup_steps
        dec_d = _blocked(rom.decoder, warm)
        alpha_d = _blocked(alpha, warm)
        pred_d = _blocked(pred, warm)
        if mu is None:
            r = jax.vmap(lambda f: self._solver_dudt(f, None))(pred_d)
            psi = jax.vmap(rom.dynamics)(alpha_d)
        else:
            r = jax.vmap(self._solver_dudt)(pred_d, mu)
            psi = jax.vmap(rom.dynamics)(alpha_d, mu)
        keys = jax.random.split(key, alpha.shape[0])
        target = jax.vmap(latent_velocity_target, (None, 0, None, 0, 0, None))(
            dec_d, alpha_d, self.coords, r, keys, self.n_kept
        )
        num = jnp.sqrt(jnp.sum((psi - target) ** 2, axis=-1))
        den = jax.lax.stop_gradient(jnp.sqrt(jnp.sum(target**2, axis=-1)))
        dyn = jnp.mean(num / den)
        loss = self.lam * rec + (1.0 - self.lam) * dyn
        return loss, (state, {"reconstruction": rec, "dynamics": dyn})


class DINoObjective(AbstractObjective):
    """DINo's loss λ L_rec + (1 − λ) L_dyn with teacher forcing (see `fit_dino`).

    The reconstruction is taken on the batch of snapshots, the dynamics on every training
    trajectory: ψ is integrated from each first latent (one Bosh3 step per snapshot
    interval), and before each interval the state is replaced by the memory latent with
    probability p(step) = `teacher_forcing` · (1 − min(step / `teacher_forcing_steps`, 1)).

    **Fields:** `fields` `(n_traj, time, P, C)`; `coords` `(P, coord_dim)`; `params`
    `(n_traj, param_dim)` or None; `lam` (λ); `warmup_steps`; `teacher_forcing` (initial
    probability); `teacher_forcing_steps` (steps of its linear decay to 0).
    """

    fields: jax.Array
    coords: jax.Array
    params: jax.Array | None
    lam: float = eqx.field(static=True)
    warmup_steps: int = eqx.field(static=True)
    teacher_forcing: float = eqx.field(static=True)
    teacher_forcing_steps: int = eqx.field(static=True)

    failure_hint: ClassVar[str] = (
        f"DINo remedies: {_REMEDIES}, or stronger teacher forcing (a larger "
        "`teacher_forcing` or `teacher_forcing_steps`)."
    )

    def __call__(self, model, batch, state, *, step, key):
        i, t = batch
        rom, latents = model.model, model.latents
        n_traj, n_time = latents.shape[:2]
        pred = jax.vmap(rom.decoder, (None, 0))(self.coords, latents[i, t])
        rec = _rel_norm(pred, self.fields[i, t])
        warm = step < self.warmup_steps
        mem = _blocked(latents, warm)  # (n_traj, n_time, d)
        frac = jnp.minimum(step.astype(latents.dtype) / self.teacher_forcing_steps, 1.0)
        p = self.teacher_forcing * (1.0 - frac)
        mask = jax.random.bernoulli(key, p, (n_time - 1, n_traj))

        def body(carry, inp):
            k, force = inp
            carry = jnp.where(force[:, None], mem[:, k], carry)
            if self.params is None:
                nxt = jax.vmap(lambda a: _one_interval(rom.dynamics, a, None, rom.dt))(carry)
            else:
                nxt = jax.vmap(lambda a, mu: _one_interval(rom.dynamics, a, mu, rom.dt))(
                    carry, self.params
                )
            return nxt, nxt

        _, traj = jax.lax.scan(body, mem[:, 0], (jnp.arange(n_time - 1), mask))
        target = jnp.moveaxis(mem[:, 1:], 1, 0)
        dyn = jnp.mean(jnp.sum((traj - target) ** 2, axis=-1))
        loss = self.lam * rec + (1.0 - self.lam) * dyn
        return loss, (state, {"reconstruction": rec, "dynamics": dyn})


def _one_interval(dynamics, a, mu, dt):
    """One Bosh3 step of ψ over one snapshot interval."""
    term = diffrax.ODETerm(lambda t, y, args: dynamics(y, args))
    sol = diffrax.diffeqsolve(
        term, diffrax.Bosh3(), t0=0.0, t1=dt, dt0=dt, y0=a, args=mu,
        saveat=diffrax.SaveAt(t1=True), stepsize_controller=diffrax.ConstantStepSize(),
        max_steps=2,
    )  # fmt: skip
    return sol.ys[0]
