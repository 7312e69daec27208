# %% [markdown]
# # Course 4 — Neural ODEs
#
# A **neural ODE** (Chen et al., NeurIPS 2018) is a differential equation whose vector field
# is a neural network,
#
# $$\dot y = f_\theta(y), \qquad y(t) = \mathrm{ODESolve}(f_\theta, y(t_0), t),$$
#
# trained so that solutions match observed trajectories. The loss is the **trajectory
# matching** error, for series $y^{(b)}(t_k)$ with $b = 1..B$, $k = 0..K$,
#
# $$L(\theta) = \frac{1}{B K d}\sum_{b,k} \big\| \mathrm{ODESolve}(f_\theta, y^{(b)}(t_0), t_k)
# - y^{(b)}(t_k) \big\|^2,$$
#
# and its gradient goes *through the solver*: diffrax differentiates the solver steps
# (with recursive checkpointing to save memory) or solves the adjoint ODE backwards.
# Because solves over long windows of a nonlinear system make a rugged loss, training
# starts on short pieces of the windows and lengthens them (a length curriculum).
#
# Here: the Van der Pol oscillator $\dot x = v$, $\dot v = \mu(1 - x^2)v - x$ (μ = 1), a
# limit cycle; we fit a neural ODE to short trajectories and compare it with the truth:
# the vector field, a long free run, and the limit cycle.
#
# Exercises: an Euler solver by hand; the training loss; the vector-field error. Solutions
# run when `SOLUTIONS` is on (`DYNSYS_SOLUTIONS=1`, or `SOLUTIONS = True` below).
#
# Source: `examples/course/04_neural_odes.py`; `DYNSYS_SMALL=1` runs it in seconds (the fit
# is then poor). Figures and `metrics.json` go to `$DYNSYS_OUT` (default
# `outputs/course/04_neural_odes/`).
#
# **Prerequisites:** course notebook 1 (flows); gradient descent and what automatic
# differentiation does.
#
# **Time:** an hour or less in class. The whole notebook at full size with the solutions on
# ran in 162 s on a 2-core CPU shared with other jobs, 104 s of it training
# (`make course-execute`, 2026-12-08).

# %%
import json
import os
import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import dynsys
from dynsys import nde, systems

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
SOLUTIONS = os.environ.get("DYNSYS_SOLUTIONS", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/course/04_neural_odes"))
OUT.mkdir(parents=True, exist_ok=True)

N_TRAJ = 32 if SMALL else 256
N_SAMPLES = 30  # per training trajectory, every DT
DT = 0.1
WIDTH = 16 if SMALL else 64
# Optimiser steps and series fractions per curriculum phase (each phase compiles once, so the
# small run has a single phase).
STEPS, LENGTHS = ((60,), (1.0,)) if SMALL else ((400, 1200), (0.3, 1.0))
TOL = dict(rtol=1e-6, atol=1e-6)  # ground truth in float32


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=110)
    plt.show()
    plt.close(fig)


print(f"dynsys {dynsys.__version__}, small={SMALL}, solutions={SOLUTIONS}, outputs in {OUT}/")

# %% [markdown]
# ## 1. What an ODE solver does
#
# The simplest solver, explicit Euler, steps $y_{k+1} = y_k + h\, f(t_k, y_k)$; its global
# error is O(h). diffrax's adaptive Runge–Kutta methods (Tsit5, Dopri8) are the same idea
# with higher order and step-size control; all of them are differentiable programs.
#
# **Exercise 4.1.** Complete `euler_solve(f, y0, ts, substeps)`: integrate `f(t, y)` from
# `ts[0]` and return the states at all `ts` (shape `(len(ts), dim)`), taking `substeps`
# Euler steps between consecutive output times.


# %%
def euler_solve(f, y0, ts, substeps=10):
    """Explicit Euler solution of dy/dt = f(t, y) at the times `ts`."""
    # Exercise 4.1: your code here.
    raise NotImplementedError("Exercise 4.1: complete `euler_solve` (or set DYNSYS_SOLUTIONS=1).")


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def euler_solve(f, y0, ts, substeps=10):
        """Explicit Euler solution of dy/dt = f(t, y) at the times `ts`."""
        ys, y = [y0], y0
        for t0, t1 in zip(ts[:-1], ts[1:]):
            h = (t1 - t0) / substeps
            for k in range(substeps):
                y = y + h * f(t0 + k * h, y)
            ys.append(y)
        return jnp.stack(ys)


# %% [markdown]
# ## 2. Data
#
# Trajectories of 30 samples (Δt = 0.1, so 2.9 time units) from random initial states in
# $[-3, 3]^2$: a batch of short series, each to be matched by a solve from its first point.
# The first one also checks your Euler solver against diffrax (8th order, tolerance 1e-6).

# %%
vdp = systems.VanDerPol(mu=1.0)
y0s = jax.random.uniform(jax.random.key(0), (N_TRAJ, 2), minval=-3.0, maxval=3.0)
ts = DT * jnp.arange(N_SAMPLES, dtype=jnp.float32)
data = dynsys.simulate(vdp, y0s, ts, **TOL)  # (N_TRAJ, N_SAMPLES, 2)
print("training data", data.shape)

euler_errors = {}
for substeps in (2, 4, 8):
    y_eul = euler_solve(vdp.rhs, y0s[0], ts, substeps)
    euler_errors[substeps] = float(jnp.max(jnp.abs(y_eul - data[0])))
print("Euler max error for 2, 4, 8 substeps:", {k: round(v, 4) for k, v in euler_errors.items()})
print("halving h roughly halves the error (first order)")
assert euler_errors[8] < euler_errors[2]

# %% [markdown]
# ## 3. The loss
#
# `dynsys.nde.NeuralODE(2, width, depth)` has the vector field
# $f_\theta(y) = s \odot \tanh(\mathrm{MLP}(y))$ with a learnt scale s, solved by Tsit5 with
# an adaptive step. `model(ts, y0)` returns the solution at `ts`, shape `(time, 2)`.
#
# **Exercise 4.2.** Complete `trajectory_loss(model, ts, ys)`: the mean squared error
# between the solves from `ys[:, 0]` and `ys` (use `jax.vmap` over the batch).


# %%
def trajectory_loss(model, ts, ys):
    """Mean squared error of the solves from ys[:, 0] against ys (batch, time, dim)."""
    # Exercise 4.2: your code here.
    raise NotImplementedError(
        "Exercise 4.2: complete `trajectory_loss` (or set DYNSYS_SOLUTIONS=1)."
    )


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def trajectory_loss(model, ts, ys):
        """Mean squared error of the solves from ys[:, 0] against ys (batch, time, dim)."""
        pred = jax.vmap(model, in_axes=(None, 0))(ts, ys[:, 0])
        return float(jnp.mean((pred - ys) ** 2))


# %% [markdown]
# ## 4. Training
#
# `nde.fit` runs the training core: `steps[0]` optimiser steps on the first 30 % of every
# series, then `steps[1]` on all of it (fresh optimiser state per phase), AdaBelief with
# learning rate 3·10⁻³, 32 series per step. (The small run skips the curriculum: one phase
# on the whole series.)

# %%
model0 = nde.NeuralODE(2, key=jax.random.key(1), width=WIDTH, depth=2)
result = nde.fit(
    model0, data, ts=ts, key=jax.random.key(2), steps=STEPS, lengths=LENGTHS,
    batch_size=32, optimizer=optax.adabelief(3e-3), progress=not SMALL,
)  # fmt: skip
model = result.model
loss_before = float(result.history["loss"][0])  # the first step, on the first phase length
loss_after = trajectory_loss(model, ts, data)
print(f"trajectory loss: {loss_before:.4f} before, {loss_after:.4f} after "
      f"{sum(STEPS)} steps ({result.wall_time:.1f} s)")  # fmt: skip

fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(result.history["step"], result.history["loss"])
ax.set(xlabel="step", ylabel="MSE (current phase length)", title="training loss")
show(fig, "loss")

# %% [markdown]
# ## 5. Comparing with the truth
#
# The learnt model is a vector field, so compare vector fields: the relative error
#
# $$e = \frac{\big(\sum_g \|f_\theta(y_g) - f(y_g)\|^2\big)^{1/2}}
# {\big(\sum_g \|f(y_g)\|^2\big)^{1/2}}$$
#
# over a grid of states $y_g$ in the training region. `model.vector_field(t, y)` evaluates
# $f_\theta$ at one state.
#
# **Exercise 4.3.** Complete `field_error(model, true_rhs, grid)` for `grid` of shape
# `(G, 2)`.


# %%
def field_error(model, true_rhs, grid):
    """Relative L2 error of the learnt vector field against `true_rhs(t, y)` on `grid`."""
    # Exercise 4.3: your code here.
    raise NotImplementedError("Exercise 4.3: complete `field_error` (or set DYNSYS_SOLUTIONS=1).")


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def field_error(model, true_rhs, grid):
        """Relative L2 error of the learnt vector field against `true_rhs(t, y)` on `grid`."""
        learnt = jax.vmap(lambda y: model.vector_field(0.0, y))(grid)
        true = jax.vmap(lambda y: true_rhs(0.0, y))(grid)
        return float(jnp.linalg.norm(learnt - true) / jnp.linalg.norm(true))


# %%
g = jnp.linspace(-3.0, 3.0, 21)
gx, gy = jnp.meshgrid(g, g)
grid = jnp.stack([gx.ravel(), gy.ravel()], axis=1)
err_before = field_error(model0, vdp.rhs, grid)
err_after = field_error(model, vdp.rhs, grid)
print(
    f"relative vector-field error on [-3, 3]²: {err_before:.3f} untrained, {err_after:.3f} trained"
)

# A free run far beyond the 2.9 time units of the training windows.
ts_long = jnp.arange(0.0, 20.0, DT, dtype=jnp.float32)
y_start = jnp.array([0.5, 0.0])
true_long = np.asarray(dynsys.simulate(vdp, y_start, ts_long, **TOL))
pred_long = np.asarray(model(ts_long, y_start))
amplitude_true = float(np.abs(true_long[len(ts_long) // 2 :, 0]).max())
amplitude_model = float(np.abs(pred_long[len(ts_long) // 2 :, 0]).max())
print(f"limit-cycle amplitude max|x|: true {amplitude_true:.3f}, neural ODE {amplitude_model:.3f}")

learnt = np.asarray(jax.vmap(lambda y: model.vector_field(0.0, y))(grid)).reshape(21, 21, 2)
true_f = np.asarray(jax.vmap(lambda y: vdp.rhs(0.0, y))(grid)).reshape(21, 21, 2)
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for ax, field, title in ((axes[0], true_f, "true field"), (axes[1], learnt, "neural ODE field")):
    ax.streamplot(np.asarray(g), np.asarray(g), field[..., 0], field[..., 1], density=0.8)
    ax.plot(true_long[:, 0], true_long[:, 1], "r", lw=0.8)
    ax.set(title=title, xlabel="x", ylabel="v")
axes[2].plot(ts_long, true_long[:, 0], label="truth")
axes[2].plot(ts_long, pred_long[:, 0], "--", label="neural ODE")
axes[2].axvspan(0, float(ts[-1]), color="0.9", label="training window length")
axes[2].set(xlabel="t", ylabel="x", title="free run from (0.5, 0)")
axes[2].legend(loc="lower left", fontsize=8)
show(fig, "comparison")

# %% [markdown]
# ## Summary
#
# - A neural ODE is an ODE solver applied to a neural vector field; training differentiates
#   through the solves (`nde.fit`, with a length curriculum).
# - Judge it as a dynamical system: the vector field, long free runs, invariant sets (here
#   the limit cycle), not only the training loss. The same model on chaotic Lorenz-63 data
#   is `examples/neural_ode_lorenz.py`, scored with the shared metrics.

# %%
summary = {
    "small": SMALL,
    "solutions": SOLUTIONS,
    "euler_errors": {str(k): v for k, v in euler_errors.items()},
    "loss_before": loss_before,
    "loss_after": loss_after,
    "field_error_before": err_before,
    "field_error_after": err_after,
    "amplitude_true": amplitude_true,
    "amplitude_model": amplitude_model,
    "traces": list(result.traces),
}
(OUT / "metrics.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
