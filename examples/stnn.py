# %% [markdown]
# # A structured network on Hankel windows (StNN) against a dense network and SINDy
#
# The StNN of Aluvihare, Lingsch, Li & Perera (arXiv 2503.23697) realises the state of a
# dynamical system from time-delay measurements with layers whose weight matrices are
# *structured* (Hankel): an n×n Hankel matrix has 2n−1 free entries and multiplies a
# vector in O(n log n) by FFT. Here we train `koopman.StNN` and its dense twin
# `koopman.MLPForecaster` (same window, widths and activation) with the training core on
# the Lotka–Volterra system, and compare forecasts, parameter counts and inference cost;
# SINDy (sparse regression on a polynomial library) is the classical baseline.
#
# Source: `examples/stnn.py`; notebook `notebooks/stnn.ipynb`. `DYNSYS_SMALL=1` runs a
# few training steps only (the numbers are then meaningless). Figures and `metrics.json`
# go to `$DYNSYS_OUT` (default `outputs/examples/stnn/`). The full comparison with HAVOK
# and DMD, on Lorenz-63 too and over 3 seeds, is `benchmarks/koopman_stnn_compare.py`.

# %%
import json
import os
import pathlib
import time

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import dynsys  # noqa: E402
from dynsys import koopman, systems  # noqa: E402

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/examples/stnn"))
OUT.mkdir(parents=True, exist_ok=True)

DT = 0.05
DELAYS = 16
N_TRAIN_STEPS = 60 if SMALL else 4000
HORIZON = 100  # forecast horizon in samples (5 time units)


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=120)
    plt.show()
    plt.close(fig)


print(f"dynsys {dynsys.__version__}, small={SMALL}, outputs in {OUT}/")

# %% [markdown]
# ## 1. Data
#
# Lotka–Volterra ẋ = αx − βxy, ẏ = δxy − γy (α=2/3, β=4/3, γ=δ=1): 8 training
# trajectories from random initial conditions in [0.5, 1.5]², one test trajectory;
# standardised with the training statistics.

# %%
lv = systems.LotkaVolterra()
ts = DT * jnp.arange(400)
y0s = jax.random.uniform(jax.random.key(0), (9, 2), minval=0.5, maxval=1.5)
raw = np.asarray(dynsys.simulate(lv, y0s, ts))
mean, std = raw[:8].reshape(-1, 2).mean(0), raw[:8].reshape(-1, 2).std(0)
data = (raw - mean) / std
train, test = data[:8], data[8]

# %% [markdown]
# ## 2. Train StNN and the dense twin with `dynsys.training.fit`

# %%
models = {
    "StNN (Hankel)": koopman.StNN(dim=2, delays=DELAYS, depth=2, key=jax.random.key(1)),
    "dense MLP": koopman.MLPForecaster(dim=2, delays=DELAYS, depth=2, key=jax.random.key(1)),
}
trained, losses = {}, {}
for name, model in models.items():
    fit = koopman.train_forecaster(
        model,
        train,
        n_steps=N_TRAIN_STEPS,
        key=jax.random.key(2),
        optimizer=optax.adam(3e-3),
        horizon=4,
        batch_size=64,
    )
    trained[name], losses[name] = fit.model, fit.history["loss"]
    print(
        f"{name}: {model.n_params} parameters, {model.flops} flops/prediction, "
        f"final loss {losses[name][-1]:.2e}"
    )

fig, ax = plt.subplots(figsize=(5, 3.5))
for name, loss in losses.items():
    ax.semilogy(loss, label=name)
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.legend()
show(fig, "loss")

# %% [markdown]
# ## 3. SINDy baseline and forecasts on the test trajectory

# %%
sindy = koopman.SINDy(degree=2, threshold=0.05).fit(jnp.asarray(raw[:8]), dt=DT)
print("SINDy:", sindy.equations())
truth = test[DELAYS : DELAYS + HORIZON]
forecasts = {name: np.asarray(m.forecast(test[:DELAYS], HORIZON)) for name, m in trained.items()}
sim = np.asarray(sindy.simulate(raw[8, DELAYS - 1], HORIZON, DT))[1:]
forecasts["SINDy"] = (sim - mean) / std
errors, timing = {}, {}
for name, f in forecasts.items():
    errors[name] = float(np.linalg.norm(f - truth) / np.linalg.norm(truth))
for name, m in trained.items():
    one = eqx.filter_jit(lambda model, w: model(w))
    one(m, test[:DELAYS]).block_until_ready()
    t0 = time.perf_counter()
    for _ in range(200):
        one(m, test[:DELAYS]).block_until_ready()
    timing[name] = (time.perf_counter() - t0) / 200 * 1e6
for name in forecasts:
    print(
        f"{name:14s} relative error over {HORIZON} steps: {errors[name]:.3f}"
        + (f", {timing[name]:.1f} µs per prediction" if name in timing else "")
    )

fig, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
tt = DT * np.arange(HORIZON)
for k in range(2):
    axes[k].plot(tt, truth[:, k], "k", lw=2, label="truth")
    for name, f in forecasts.items():
        axes[k].plot(tt, f[:, k], "--", label=name)
    axes[k].set_ylabel(["prey", "predator"][k] + " (standardised)")
axes[0].legend(fontsize=8)
axes[1].set_xlabel("forecast time")
show(fig, "forecasts")

# %%
summary = {
    "small": SMALL,
    "horizon_steps": HORIZON,
    "relative_error": errors,
    "n_params": {name: m.n_params for name, m in trained.items()},
    "flops": {name: m.flops for name, m in trained.items()},
    "inference_us": timing,
}
(OUT / "metrics.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
