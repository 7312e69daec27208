# %% [markdown]
# # Course 5 — Reconstructing Lorenz-63 with PLRNNs, AL-RNNs and teacher forcing
#
# **Dynamical-systems reconstruction** (DSR) learns from a time series a generative model
# whose *free-running* trajectories have the same long-term behaviour as the data: the same
# attractor geometry, the same power spectrum, the same Lyapunov exponents — not only good
# one-step predictions.
#
# The **piecewise-linear RNN** (PLRNN, Durstewitz 2017) is a map on a latent state
# $z \in \mathbb R^M$,
#
# $$z_t = A z_{t-1} + W \phi(z_{t-1}) + h, \qquad \phi = \mathrm{ReLU}, \qquad
# \hat x_t = z_{t, 1..N},$$
#
# with A diagonal and W off-diagonal. It is *affine* in each of the $2^M$ sign patterns of
# z. The **almost-linear RNN** (AL-RNN, Brenner et al., NeurIPS 2024) applies the ReLU to
# the last P units only, $\Phi^*(z) = (z_1, \dots, z_{M-P}, \max(0, z_{M-P+1}), \dots)$:
# only $2^P$ linear subregions, so a trained model can be read as a **symbolic** system —
# which subregion the orbit is in, and in which order it visits them.
#
# **Sparse teacher forcing.** Free runs of a chaotic model diverge from the data
# exponentially, and so do the gradients of a free-run loss. During training, every τ steps
# the first N latent units are *replaced* by the observed data, and the loss is the MSE of
# the read-out of the unforced predictions. τ is chosen below the predictability time
# ln 2/λ_max (Mikhaeil et al., NeurIPS 2022).
#
# Exercises: one AL-RNN step; a teacher-forced rollout; symbolic codes. Solutions run when
# `SOLUTIONS` is on (`DYNSYS_SOLUTIONS=1`, or `SOLUTIONS = True` below). The full training
# run is short (minutes); `examples/lorenz_alrnn.py` has the reference protocol.
#
# Source: `examples/course/05_dsr_plrnn_alrnn.py`; `DYNSYS_SMALL=1` runs it in seconds (the
# model is then untrained). Figures and `metrics.json` go to `$DYNSYS_OUT` (default
# `outputs/course/05_dsr_plrnn_alrnn/`).
#
# **Prerequisites:** course notebooks 1 (Lyapunov exponents) and 4 (training through a
# model); recurrent networks with ReLU units.
#
# **Time:** an hour or less in class. The whole notebook at full size with the solutions on
# used 37 s of CPU time on a 2-core CPU (`make course-execute`, 2026-12-08; its wall time
# there, 814 s, was set by other jobs holding both cores).

# %%
import json
import os
import pathlib
import warnings

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import dynsys
from dynsys import data, dsr

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
SOLUTIONS = os.environ.get("DYNSYS_SOLUTIONS", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/course/05_dsr_plrnn_alrnn"))
OUT.mkdir(parents=True, exist_ok=True)

N_STEPS = 3_000 if SMALL else 20_000  # samples of the training and of the test trajectory
EPOCHS, BATCHES = (3, 20) if SMALL else (150, 50)
LYAPUNOV_STEPS = 1_000 if SMALL else 10_000


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=110)
    plt.show()
    plt.close(fig)


print(f"dynsys {dynsys.__version__}, small={SMALL}, solutions={SOLUTIONS}, outputs in {OUT}/")

# %% [markdown]
# ## 1. Data and models
#
# `data.benchmark("lorenz63")` simulates a training and a test trajectory (Δt = 0.01) from
# independent initial conditions, z-scores both with the training statistics and adds 5 %
# observation noise to the training copy. We build an AL-RNN with the AL-RNN paper's size
# for Lorenz-63 (M = 20, P = 2: four subregions, the topologically minimal code this course
# reads) and, for comparison, a PLRNN of the same M. (`dsr.settings("lorenz63")` itself
# uses P = 10, which draws the attractor far better but has dozens of subregions.)

# %%
bench = data.benchmark("lorenz63", n_steps=N_STEPS, seed=0)
s = dsr.settings("lorenz63").replace(pwl_units=2, n_epochs=EPOCHS, batches_per_epoch=BATCHES)
if SMALL:
    s = s.replace(sequence_length=50)
model = dynsys.ALRNN(s.latent_dim, s.pwl_units, 3, key=jax.random.key(0))
plrnn = dynsys.PLRNN(s.latent_dim, 3, key=jax.random.key(0))
print(f"AL-RNN: M = {model.latent_dim}, P = {model.pwl_units}, {model.n_parameters} parameters, "
      f"2^P = {2**model.pwl_units} subregions")  # fmt: skip
print(f"PLRNN:  M = {plrnn.latent_dim}, {plrnn.n_parameters} parameters, "
      f"2^M = {2**plrnn.latent_dim} subregions")  # fmt: skip

# %% [markdown]
# **Exercise 5.1.** Complete `alrnn_step(A, W, h, z, P)`: one step
# $z' = A \odot z + W \Phi^*(z) + h$ of the AL-RNN (A and h vectors, W an M × M matrix,
# ReLU on the last P units only).


# %%
def alrnn_step(A, W, h, z, P):
    """One AL-RNN step z -> A * z + W @ phi*(z) + h."""
    # Exercise 5.1: your code here.
    raise NotImplementedError("Exercise 5.1: complete `alrnn_step` (or set DYNSYS_SOLUTIONS=1).")


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def alrnn_step(A, W, h, z, P):
        """One AL-RNN step z -> A * z + W @ phi*(z) + h."""
        M = z.shape[-1]
        phi = jnp.concatenate([z[: M - P], jax.nn.relu(z[M - P :])])
        return A * z + W @ phi + h


# %%
z_test = jax.random.normal(jax.random.key(3), (model.latent_dim,))
z_mine = alrnn_step(model.A, model.W, model.h, z_test, model.pwl_units)
step_error = float(jnp.max(jnp.abs(z_mine - model.step(z_test))))
print(f"max |your step − model.step| = {step_error:.1e}")
assert step_error < 1e-5

# %% [markdown]
# ## 2. Teacher forcing
#
# Along a training window $x_0, \dots, x_T$: start from $z_0$ = `model.init_state(x_0)`
# (the data in the first N units), and for t = 1..T predict $z_t = F(\tilde z_{t-1})$; keep
# $z_t$ as the prediction, and continue from $\tilde z_t = z_t$, except every τ steps
# (t % τ == 0) where the first N units of $\tilde z_t$ are replaced by $x_t$.
#
# **Exercise 5.2.** Complete `sparse_tf_rollout(model, window, tau)`, returning the
# predictions $z_1..z_T$ (shape `(T, M)`), with a plain Python loop over `model.step`.


# %%
def sparse_tf_rollout(model, window, tau):
    """Unforced predictions z_1..z_T of a sparsely teacher-forced rollout along `window`."""
    # Exercise 5.2: your code here.
    raise NotImplementedError(
        "Exercise 5.2: complete `sparse_tf_rollout` (or set DYNSYS_SOLUTIONS=1)."
    )


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def sparse_tf_rollout(model, window, tau):
        """Unforced predictions z_1..z_T of a sparsely teacher-forced rollout along `window`."""
        n = window.shape[-1]
        z, preds = model.init_state(window[0]), []
        for t in range(1, window.shape[0]):
            z = model.step(z)
            preds.append(z)
            if t % tau == 0:
                z = z.at[:n].set(window[t])
        return jnp.stack(preds)


# %%
window = jnp.asarray(bench.train.states[0, :65], dtype=model.A.dtype)
tf_mine = sparse_tf_rollout(model, window, s.tau)
tf_lib = dsr.forced_rollout(model, window, alpha=1.0, tau=s.tau)
tf_error = float(jnp.max(jnp.abs(tf_mine - tf_lib)))
print(f"max |your rollout − dsr.forced_rollout| = {tf_error:.1e}")
assert tf_error < 1e-4

# %% [markdown]
# ## 3. Training
#
# `dsr.fit` draws 16 windows of T̃ + 1 points per step, adds batch noise, runs the forced
# rollout and minimises the MSE with RAdam (learning rate decaying per epoch from 10⁻³ to
# 10⁻⁵). Here a short run; the reference run is 2000 epochs of 50 batches.

# %%
res = dsr.fit(model, bench.train, key=jax.random.key(1), settings=s, progress=not SMALL)
trained = res.model
loss = np.asarray(res.fit.history["loss"])
k = max(len(loss) // 10, 1)
loss_first, loss_last = float(loss[:k].mean()), float(loss[-k:].mean())
print(
    f"{res.fit.steps} steps in {res.fit.wall_time:.1f} s; loss {loss_first:.4f} -> {loss_last:.4f}"
)

fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(res.fit.history["step"], loss, lw=0.5)
ax.set(xlabel="step", ylabel="teacher-forced MSE", title="training loss")
show(fig, "loss")

# %% [markdown]
# ## 4. Evaluation
#
# `dsr.evaluate` generates 1.25 T steps from the first test point, drops the first quarter,
# and compares with the test trajectory: **D_stsp** (KL divergence of the state-space
# occupation on 30 bins per axis), **D_H** (Hellinger distance of smoothed power spectra),
# **PE(20)** (20-step prediction error) and **λ_max** of the trained map per unit time
# (Lorenz-63: 0.906).

# %%
with warnings.catch_warnings():
    if SMALL:  # the barely trained small-size model may decay to a point: D_H is then NaN
        warnings.simplefilter("ignore", RuntimeWarning)
    ev = dsr.evaluate(trained, bench.test, lyapunov_steps=LYAPUNOV_STEPS)
print(ev.summary())
x_test = np.asarray(bench.test.states[0])
show(dsr.plot_attractor(x_test, np.asarray(ev.generated), title="test data and AL-RNN"),
     "attractor")  # fmt: skip

# %% [markdown]
# ## 5. Reading the symbolic code
#
# The subregion of a latent state is named by the signs of its P ReLU units; read as a
# binary number, bit i is unit M − P + i (0-based): with P = 2 the codes are 0..3. The code
# sequence of a generated trajectory says how long the orbit stays in each affine piece and
# in which order it moves between them (a transition graph). In a good Lorenz
# reconstruction the two wings live in different subregions.
#
# **Exercise 5.3.** Complete `codes_from_latents(z, P)` for latent states `z` `(T, M)`:
# integer codes, shape `(T,)`.


# %%
def codes_from_latents(z, P):
    """Subregion code of each AL-RNN latent state: bit i set when unit M - P + i is > 0."""
    # Exercise 5.3: your code here.
    raise NotImplementedError(
        "Exercise 5.3: complete `codes_from_latents` (or set DYNSYS_SOLUTIONS=1)."
    )


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def codes_from_latents(z, P):
        """Subregion code of each AL-RNN latent state: bit i set when unit M - P + i is > 0."""
        on = np.asarray(z)[:, -P:] > 0
        return (on * (2 ** np.arange(P))[None, :]).sum(axis=1)


# %%
codes = dsr.symbolic_code(trained, ev.latent)
assert np.array_equal(codes_from_latents(ev.latent, trained.pwl_units), codes)
visits = dsr.subregion_counts(codes)
transitions = dsr.transition_matrix(codes, 2**trained.pwl_units)
print("code  share of time  P(stay)")
for code, count in zip(visits.regions, visits.counts):
    print(f"{code:4d}  {count / codes.size:13.3f}  {transitions.probabilities[code, code]:7.3f}")

fps = dsr.fixed_points(trained)
print(f"fixed points: {len(fps.codes)} candidates, {int(np.sum(np.asarray(fps.is_real)))} real "
      f"(inside their own subregion), {int(np.sum(np.asarray(fps.is_stable)))} stable")  # fmt: skip

fig, (ax_x, ax_c) = plt.subplots(2, 1, figsize=(9, 4), sharex=True)
n_show = min(2000, codes.size)
ax_x.plot(np.asarray(ev.generated)[:n_show, 0], lw=0.8)
ax_x.set(ylabel="$x_1$ (generated)")
ax_c.step(np.arange(n_show), codes[:n_show], where="post", lw=0.8)
ax_c.set(xlabel="step", ylabel="code", yticks=range(2**trained.pwl_units))
show(fig, "symbolic_code")
show(dsr.plot_transition_graph(transitions, show_self_loops=True), "transition_graph")

# %% [markdown]
# ## Summary
#
# - PLRNN and AL-RNN are piecewise-affine maps; the AL-RNN needs only $2^P$ pieces, which
#   makes a trained model readable: symbolic codes, transition graphs, fixed points per
#   subregion (real when inside their own subregion, virtual otherwise).
# - Sparse teacher forcing replaces the observed units every τ steps during training; it
#   keeps the gradients of a chaotic system bounded.
# - A reconstruction is judged on its free runs: D_stsp, D_H, λ_max.

# %%
summary = {
    "small": SMALL,
    "solutions": SOLUTIONS,
    "step_error": step_error,
    "tf_error": tf_error,
    "loss_first": loss_first,
    "loss_last": loss_last,
    "d_stsp": ev.d_stsp,
    "d_h": ev.d_h,
    "lambda_max": ev.lambda_max,
    "n_subregions": ev.n_subregions,
    "subregion_visits": {int(r): int(n) for r, n in zip(visits.regions, visits.counts)},
    "fixed_points_real": int(np.sum(np.asarray(fps.is_real))),
}
(OUT / "metrics.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
