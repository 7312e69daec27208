# %% [markdown]
# # Writing your own differentiable solver and plugging it into dynsys
#
# `dynsys.pde` uses the stepper protocol of exponax: a stepper is any callable pytree
# (ideally an `equinox.Module`) with `stepper(u) -> u_next` on **one** unbatched,
# channel-first state `(channels, *space)`, a `dt` attribute and, optionally, `rhs(u)`.
# Batches go through `jax.vmap`. This notebook writes a finite-difference
# advection–diffusion solver, checks it with the conformance suite `dynsys.testing`,
# rolls it out, and trains a Φ-ROM with it as the physics.
#
# Source: `examples/custom_solver.py`; `DYNSYS_SMALL=1` runs it in seconds. Outputs go to
# `$DYNSYS_OUT` (default `outputs/examples/custom_solver/`).

# %%
import json
import os
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from dynsys import pde, rom
from dynsys.testing import check_stepper

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/examples/custom_solver"))
OUT.mkdir(parents=True, exist_ok=True)
N = 32 if SMALL else 64
LENGTH = 2 * np.pi


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=120)
    plt.show()
    plt.close(fig)


# %% [markdown]
# ## 1. The stepper
#
# u_t + c u_x = ν u_xx on a periodic grid, central differences in space and Heun's method
# (RK2) in time. Nothing to subclass: a plain `eqx.Module` with `dt`, `rhs` and `__call__`.


# %%
class AdvectionDiffusion(eqx.Module):
    dt: float
    velocity: float = 1.0
    diffusivity: float = 0.05
    num_points: int = N

    def rhs(self, u):
        dx = LENGTH / self.num_points
        up, um = jnp.roll(u, -1, -1), jnp.roll(u, 1, -1)
        return (-self.velocity * (up - um) / (2 * dx)
                + self.diffusivity * (up - 2 * u + um) / dx**2)  # fmt: skip

    def __call__(self, u):
        k1 = self.rhs(u)
        k2 = self.rhs(u + self.dt * k1)
        return u + 0.5 * self.dt * (k1 + k2)


stepper = AdvectionDiffusion(dt=0.02)
u0 = pde.truncated_fourier_series(jax.random.key(0), 1, N, cutoff=3)

# %% [markdown]
# ## 2. The conformance suite
#
# `check_stepper` checks shape and dtype, `jit`, `vmap`, the reverse-mode gradient against
# finite differences, that `rhs` is consistent with the difference quotient
# (S(u) − u)/dt, and — given a factory `dt -> stepper` — the order of accuracy in time by a
# log-log fit. It raises `StepperConformanceError` listing every failed check.

# %%
report = check_stepper(stepper, u0, make_stepper=lambda dt: AdvectionDiffusion(dt=dt),
                       expected_order=2)  # fmt: skip
for name, entry in report.items():
    print(
        f"{name:16s} ok={entry['ok']}",
        {k: v for k, v in entry.items() if k in ("order", "rel_err", "rel_mismatch")},
    )

# %% [markdown]
# ## 3. Rollouts and datasets
#
# `pde.rollout` runs the stepper on `lax.scan`; `pde.pde_trajectories` vmaps it over initial
# conditions and returns a `dynsys.data.Trajectories` with states (batch, time, C, N).

# %%
keys = jax.random.split(jax.random.key(1), 4 if SMALL else 16)
u0s = jnp.stack([pde.truncated_fourier_series(k, 1, N, cutoff=3) for k in keys])
coarse = pde.RepeatedStepper(stepper, 5)  # snapshots every 0.1 time units
n_time = 12 if SMALL else 40
data = pde.pde_trajectories(coarse, u0s, n_time - 1)
print(data.states.shape, data.dt)

fig, ax = plt.subplots(figsize=(6, 3))
ax.imshow(np.asarray(data.states[0, :, 0]), aspect="auto", origin="lower",
          extent=(0, LENGTH, 0, float(data.times[-1])))  # fmt: skip
ax.set(xlabel="x", ylabel="t", title="advection–diffusion rollout")
show(fig, "rollout")

# %% [markdown]
# ## 4. Φ-ROM with the user's solver
#
# `rom.fit_phirom` takes any stepper: here the coarse stepper. Its time derivative is taken
# as (S(u) − u)/Δt (the coarse wrapper has no `rhs`), i.e. the discrete operator's.

# %%
x = jnp.asarray(pde.make_grid(1, LENGTH, N)[0], data.states.dtype)[:, None]
k1, k2 = jax.random.split(jax.random.key(2))
model = rom.PhiROM(
    rom.MLPDecoder(1, 6, 1, width=32, depth=3, coord_bounds=(0.0, LENGTH), key=k1),
    rom.LatentDynamics(6, width=32, depth=2, key=k2),
    dt=coarse.dt,
)
n_steps = 40 if SMALL else 1500
res = rom.fit_phirom(model, data, coarse, coords=x, n_train_time=n_time // 2,
                     n_steps=n_steps, batch_size=16 if SMALL else 64, warmup_steps=n_steps // 4,
                     gamma=0.25, key=jax.random.key(3))  # fmt: skip
pred = rom.forecast_fields(res.model, data.states[:, 0], n_time - 1, coords=x,
                           n_iter=50 if SMALL else 300)  # fmt: skip
err = np.asarray(jnp.linalg.norm((pred - data.states).reshape(len(u0s), n_time, -1), axis=-1)
                 / jnp.linalg.norm(data.states.reshape(len(u0s), n_time, -1), axis=-1))  # fmt: skip
print(
    f"relative L2 error, in horizon {err[:, : n_time // 2].mean():.3f}, "
    f"beyond {err[:, n_time // 2 :].mean():.3f}"
)

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(np.asarray(data.times), err.mean(0))
ax.axvline(float(data.times[n_time // 2]), color="k", ls=":")
ax.set(xlabel="t", ylabel="relative L2 error", title="Φ-ROM with a user stepper")
show(fig, "phirom_error")
metrics = {"small": SMALL, "conformance": {k: bool(v["ok"]) for k, v in report.items()},
           "order": report["convergence"]["order"],
           "in_horizon": float(err[:, : n_time // 2].mean()),
           "beyond_horizon": float(err[:, n_time // 2 :].mean())}  # fmt: skip
(OUT / "metrics.json").write_text(json.dumps(metrics, indent=1))
