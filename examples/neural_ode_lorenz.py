# %% [markdown]
# # A neural ODE for the Lorenz-63 attractor
#
# This notebook fits a neural ODE `dy/dt = f_θ(y)` (Chen et al. 2018) to the Lorenz-63
# benchmark of dynsys and scores it with the same metrics as the reconstruction family
# (D_stsp, D_H, PE(20), λ_max), so that the two can be compared in one table.
#
# - **Model:** [`dynsys.nde.NeuralODE`][]: vector field = learnt scale × tanh(MLP), width 64,
#   depth 2, softplus hidden layers; Tsit5 with a PID controller (rtol 1e-3, atol 1e-6);
#   gradients through the solver (recursive checkpointing).
# - **Training:** [`dynsys.nde.fit`][] on the training core: windows of the training
#   trajectory as a batch of short series, a length curriculum (first 20 % of each window,
#   then all of it), AdaBelief.
#
# Its source is `examples/neural_ode_lorenz.py` (jupytext percent format). With
# `DYNSYS_SMALL=1` everything runs at a tiny size (numbers meaningless). Figures and a
# `metrics.json` go to `$DYNSYS_OUT` (default `outputs/examples/neural_ode_lorenz/`).

# %%
import json
import os
import pathlib
import time

import equinox as eqx
import jax
import matplotlib.pyplot as plt
import numpy as np
import optax

import dynsys
from dynsys import data, nde

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/examples/neural_ode_lorenz"))
OUT.mkdir(parents=True, exist_ok=True)

N_STEPS = 1_500 if SMALL else 100_000  # samples of the train and test trajectories
WINDOW = 40 if SMALL else 30  # samples per training window (0.3 time units at dt = 0.01)
STEPS = (4, 4) if SMALL else (300, 1_200)  # optimiser steps per curriculum phase
WIDTH = 16 if SMALL else 64
LYAPUNOV_STEPS = 500 if SMALL else 20_000


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=120)
    plt.show()
    plt.close(fig)


print(f"dynsys {dynsys.__version__}, jax {jax.__version__}, small={SMALL}, outputs in {OUT}/")

# %% [markdown]
# ## 1. Data
#
# `dynsys.data.benchmark("lorenz63")` simulates two trajectories from independent initial
# conditions (σ = 10, ρ = 28, β = 8/3, Δt = 0.01), z-scores both with the statistics of the
# training one and adds 5 % observation noise to the training copy. A third trajectory,
# standardised the same way, gives the metric floors (what a perfect model would score).
#
# A neural ODE is trained by matching solves from a window's first point, so the training
# trajectory is cut into non-overlapping windows that form a batch of short series.

# %%
bench = data.benchmark("lorenz63", n_steps=N_STEPS, seed=0)
reference = data.benchmark("lorenz63", n_steps=N_STEPS, seed=1).test
train, test = bench.train, bench.test
n_windows = N_STEPS // WINDOW
windows = train.states[0, : n_windows * WINDOW].reshape(n_windows, WINDOW, 3)
ts = train.times[:WINDOW] - train.times[0]
print(f"{n_windows} training windows of {WINDOW} samples ({float(ts[-1]):.2f} time units)")

# %% [markdown]
# ## 2. Model and training
#
# The curriculum trains on the first 20 % of every window for `STEPS[0]` steps and then on
# the full windows (re-initialising the optimiser), the trick of the diffrax neural ODE
# example against getting caught in a local minimum. Each phase compiles its step once.

# %%
model = nde.NeuralODE(3, key=jax.random.key(0), width=WIDTH, depth=2)
start = time.perf_counter()
result = nde.fit(
    model, windows, ts=ts, key=jax.random.key(1), steps=STEPS, lengths=(0.2, 1.0),
    batch_size=32, optimizer=optax.adabelief(3e-3), progress=not SMALL,
)  # fmt: skip
train_seconds = time.perf_counter() - start
model = result.model
print(f"trained {sum(STEPS)} steps in {train_seconds:.1f} s; compilations per phase "
      f"{result.traces}; final loss {result.history['loss'][-1]:.4g}")  # fmt: skip

fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(result.history["step"], result.history["loss"])
for k, length in enumerate(result.lengths):
    first = int(np.argmax(result.history["phase"] == k))
    ax.axvline(first, color="grey", lw=0.5)
    ax.text(first, ax.get_ylim()[1], f" {length} pts", va="top", fontsize=8)
ax.set(xlabel="step", ylabel="MSE", title="training loss (curriculum phases)")
show(fig, "loss")

# %% [markdown]
# ## 3. Evaluation with the shared metrics
#
# [`dynsys.nde.evaluate`][] runs the published protocol of the reconstruction family: a
# free run from the first test point of 1.25 T samples, the first 0.25 T dropped, compared
# with the test trajectory by D_stsp (30 bins per axis) and D_H (σ = 20); PE(20) from every
# test point; λ_max from the variational equation of the learnt vector field (Lorenz-63:
# 0.906 per unit time).

# %%
ev = nde.evaluate(model, test, reference=reference, lyapunov_steps=LYAPUNOV_STEPS)
n_parameters = sum(
    v.size for v in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
)
print(ev.summary())
print(f"parameters: {n_parameters}")

# %%
x = np.asarray(test.states[0])
g = np.asarray(ev.generated)
fig = plt.figure(figsize=(9, 4))
for i, (arr, title) in enumerate([(x, "test data"), (g, "neural ODE free run")]):
    ax = fig.add_subplot(1, 2, i + 1, projection="3d")
    ax.plot(*arr.T, lw=0.3)
    ax.set_title(title)
show(fig, "attractor")

fig, axes = plt.subplots(3, 1, figsize=(8, 5), sharex=True)
n_show = min(1000, len(x))
for i, ax in enumerate(axes):
    ax.plot(x[:n_show, i], lw=0.8, label="test")
    ax.plot(g[:n_show, i], lw=0.8, label="model")
    ax.set_ylabel("xyz"[i])
axes[0].legend(loc="upper right")
axes[-1].set_xlabel("sample")
show(fig, "timeseries")

# %%
metrics = {
    "small": SMALL,
    "d_stsp": ev.d_stsp,
    "d_h": ev.d_h,
    "pe": ev.pe,
    "lambda_max": ev.lambda_max,
    "floors": ev.floors,
    "traces": list(result.traces),
    "lengths": list(result.lengths),
    "train_seconds": train_seconds,
    "n_parameters": int(n_parameters),
}
(OUT / "metrics.json").write_text(json.dumps(metrics, indent=2))
print(json.dumps(metrics, indent=2))
