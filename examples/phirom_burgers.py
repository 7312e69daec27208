# %% [markdown]
# # Φ-ROM on the parametric 1-D Burgers problem
#
# A reduced-order model that learns the solution manifold of a parametric PDE and
# forecasts beyond its training horizon and for unseen parameters. Φ-ROM (Hosseini
# Dashtbayaz et al., NeurIPS 2025) is an *auto-decoder*: one latent α per training snapshot,
# an implicit-neural-representation decoder D(x, α), and a latent ODE dα/dt = ψ(α; μ).
# What makes it physics-informed is the target for ψ: the **differentiable solver**'s time
# derivative of the decoded field, pulled back to the latent space by least squares through
# the decoder Jacobian on a random 10 % of the grid points. The DINo baseline has the same
# model, but fits ψ to the latent trajectories of the data only.
#
# Source: `examples/phirom_burgers.py` (jupytext percent format). `DYNSYS_SMALL=1` runs a
# tiny version in seconds (numbers meaningless); the full run takes ~10 CPU minutes.
# Figures and `metrics.json` go to `$DYNSYS_OUT` (default `outputs/examples/phirom_burgers/`).

# %%
import json
import os
import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from dynsys import pde, rom
from dynsys.metrics import relative_l2_error

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/examples/phirom_burgers"))
OUT.mkdir(parents=True, exist_ok=True)
N_POINTS = 64 if SMALL else 256
N_TOTAL, N_TRAIN = (16, 8) if SMALL else (200, 100)
N_STEPS = 40 if SMALL else 1500
N_MU = 3 if SMALL else 8


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=120)
    plt.show()
    plt.close(fig)


# %% [markdown]
# ## 1. The solver and the data
#
# `pde.ParametricBurgers` is the benchmark of Lee & Carlberg used by Φ-ROM:
# u_t + (u²/2)_x = 0.02 e^{μx} on [0, 100], upwind finite differences, explicit Euler,
# Δt = 0.07, left value held fixed. It follows the `dynsys.pde` stepper protocol
# `stepper(u, μ) -> u_next` on one state of shape (1, 256); `pde_trajectories` vmaps it.
# We train on the first half of each trajectory and forecast the whole of it.

# %%
solver = pde.ParametricBurgers(num_points=N_POINTS)
mu_train = jnp.linspace(0.015, 0.03, N_MU)
mu_test = 0.5 * (mu_train[1:] + mu_train[:-1])
u0 = jnp.ones((1, 1, N_POINTS))
train = pde.pde_trajectories(solver, jnp.repeat(u0, N_MU, 0), N_TOTAL - 1, aux=mu_train)
test = pde.pde_trajectories(solver, jnp.repeat(u0, len(mu_test), 0), N_TOTAL - 1, aux=mu_test)
x = jnp.asarray(solver.grid, train.states.dtype)[:, None]
print("training data", train.states.shape, "test data", test.states.shape)

fig, ax = plt.subplots(figsize=(6, 3))
for k in range(0, N_TOTAL, max(N_TOTAL // 6, 1)):
    ax.plot(solver.grid, train.states[-1, k, 0], label=f"t={float(train.times[k]):.1f}")
ax.set(xlabel="x", ylabel="u", title=f"μ = {float(mu_train[-1]):.4f}")
ax.legend(fontsize=7)
show(fig, "data")

# %% [markdown]
# ## 2. Two models with the same architecture
#
# Decoder: MLP with sine activations on [x, α] (d = 4, width 32). ψ: "hyper-concat" MLP on
# [α, Aμ] (width 64). Training (`rom.fit_phirom` / `rom.fit_dino`, both through
# `dynsys.training.fit`): λ = 0.5 mixing of reconstruction and dynamics gradients, a warm-up
# in which the dynamics loss trains ψ only, Adam with exponential decay. After the warm-up
# the dynamics gradient reaches the latents of both models, so they differ only in ψ's
# target. The original DINo, Φ-ROM's baseline in the paper, never lets it reach them
# (`warmup_steps=n_steps`); docs/benchmarks.md compares Φ-ROM with both DINos.

# %%
mean, std = float(train.states.mean()), float(train.states.std())


def make(cls, key):
    k1, k2 = jax.random.split(key)
    dec = rom.MLPDecoder(1, 4, 1, width=32, depth=4, coord_bounds=(0.0, 100.0),
                         output_shift=mean, output_scale=std, key=k1)  # fmt: skip
    dyn = rom.LatentDynamics(4, 1, width=64, depth=3, param_bounds=(0.015, 0.03), key=k2)
    return cls(dec, dyn, dt=solver.dt)


common = dict(coords=x, params=mu_train, n_train_time=N_TRAIN, n_steps=N_STEPS,
              batch_size=min(64, N_MU * N_TRAIN), warmup_steps=N_STEPS // 4)  # fmt: skip
phi = rom.fit_phirom(make(rom.PhiROM, jax.random.key(0)), train, solver, gamma=0.1,
                     key=jax.random.key(1), **common)  # fmt: skip
dino = rom.fit_dino(make(rom.DINo, jax.random.key(0)), train, key=jax.random.key(1), **common)
print(f"Φ-ROM: {phi.wall_time:.0f} s, DINo: {dino.wall_time:.0f} s")

fig, ax = plt.subplots(figsize=(6, 3))
for name, res in (("Φ-ROM", phi), ("DINo", dino)):
    ax.semilogy(res.history["reconstruction"], label=f"{name} reconstruction")
    ax.semilogy(res.history["dynamics"], label=f"{name} dynamics", ls="--")
ax.set(xlabel="step")
ax.legend(fontsize=7)
show(fig, "training")

# %% [markdown]
# ## 3. Forecasting unseen parameters beyond the training horizon
#
# For each test μ the initial condition is inverted to a latent (Adam on α), ψ is
# integrated with diffrax for the full horizon and the latents are decoded. The error is
# the per-time relative L2 error of Φ-ROM's evaluation, averaged inside [0, T_train) and
# beyond it.

# %%
metrics = {"small": SMALL}
errors = {}
for name, res in (("phirom", phi), ("dino", dino)):
    pred = rom.forecast_fields(res.model, test.states[:, 0], N_TOTAL - 1, coords=x,
                               params=mu_test, n_iter=50 if SMALL else 300)  # fmt: skip
    err = np.asarray(relative_l2_error(test.states, pred))[..., 0]
    errors[name] = err
    metrics[name] = {"in_horizon": float(err[:, :N_TRAIN].mean()),
                     "beyond_horizon": float(err[:, N_TRAIN:].mean())}  # fmt: skip
    print(name, metrics[name])

fig, ax = plt.subplots(figsize=(6, 3))
t = np.asarray(test.times)
for name, err in errors.items():
    ax.plot(t, err.mean(0), label=name)
ax.axvline(t[N_TRAIN], color="k", ls=":", label="training horizon")
ax.set(xlabel="t", ylabel="relative L2 error")
ax.legend()
show(fig, "forecast_error")

# %% [markdown]
# Mesh-free decoding: the decoder can be queried between grid points, e.g. on a 4× finer grid.

# %%
fine = jnp.linspace(0.0, 100.0, 4 * N_POINTS, dtype=x.dtype)[:, None]
alpha0 = phi.model.invert(test.states[0, 0, 0][:, None], x, n_iter=50 if SMALL else 300)
u_fine = phi.model.decode(phi.model.forecast(alpha0, N_TOTAL - 1, mu_test[0]), fine)
metrics["fine_grid_shape"] = list(u_fine.shape)
(OUT / "metrics.json").write_text(json.dumps(metrics, indent=1))
