# %% [markdown]
# # Course 2 — Delay embeddings, DMD, Hankel DMD and HAVOK
#
# Often we measure a single quantity of a system, not its whole state. **Takens' theorem**
# says that, for almost every observable $h$ and a generic delay τ, the delay vector
#
# $$\mathbf{y}(t) = \big(h(t), h(t+\tau), \dots, h(t+(d-1)\tau)\big), \qquad d > 2 D,$$
#
# is a faithful (one-to-one, smooth) image of an attractor of box-counting dimension D.
# Stacking the delay vectors as rows gives the **Hankel matrix** of the series.
#
# **Dynamic mode decomposition** (DMD) fits the best *linear* map between consecutive
# snapshots, $x_{k+1} \approx A x_k$. Its eigenvalues $\mu_k$ give frequencies and growth
# rates, $\omega_k = \log(\mu_k)/\Delta t$. On delay vectors (Hankel DMD) a single scalar
# series resolves several frequencies. **HAVOK** goes one step further for chaos: a linear
# model in the leading delay coordinates, forced by the last one.
#
# Exercises: build a Hankel matrix; write DMD with an SVD; detect lobe switches of Lorenz.
# Solutions are in the collapsed cells after each exercise and run when `SOLUTIONS` is on
# (`DYNSYS_SOLUTIONS=1`, or set `SOLUTIONS = True` below).
#
# Source: `examples/course/02_delay_embeddings_dmd.py`; `DYNSYS_SMALL=1` runs it in seconds.
# Figures and `metrics.json` go to `$DYNSYS_OUT` (default
# `outputs/course/02_delay_embeddings_dmd/`).
#
# **Prerequisites:** course notebook 1 (Lorenz-63, attractors); the singular value
# decomposition.
#
# **Time:** an hour or less in class. The whole notebook at full size with the solutions on
# ran in 28 s on a 2-core CPU shared with other jobs (`make course-execute`, 2026-12-08).

# %%
import json
import os
import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import dynsys
from dynsys import koopman, systems

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
SOLUTIONS = os.environ.get("DYNSYS_SOLUTIONS", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/course/02_delay_embeddings_dmd"))
OUT.mkdir(parents=True, exist_ok=True)

DT = 0.002 if SMALL else 0.001  # HAVOK sampling step
T_END = 40.0 if SMALL else 200.0
DELAYS = 50 if SMALL else 100  # HAVOK window: 0.1 time units
RANK = 15


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=110)
    plt.show()
    plt.close(fig)


print(f"dynsys {dynsys.__version__}, small={SMALL}, solutions={SOLUTIONS}, outputs in {OUT}/")

# %% [markdown]
# ## 1. Delay embedding
#
# We observe only x(t) of Lorenz-63. Row t of the Hankel matrix is
# $[x_t, x_{t+\ell}, \dots, x_{t+(d-1)\ell}]$ (oldest first) for `delays` d and `lag` ℓ (in
# samples); a series of length T gives T − (d − 1)ℓ rows.
#
# **Exercise 2.1.** Complete `hankel(x, delays, lag)` for a 1-D numpy array `x`.


# %%
def hankel(x, delays, lag=1):
    """Delay vectors of a scalar series `x` (T,): shape (T - (delays - 1) * lag, delays)."""
    # Exercise 2.1: your code here.
    raise NotImplementedError("Exercise 2.1: complete `hankel` (or set DYNSYS_SOLUTIONS=1).")


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def hankel(x, delays, lag=1):
        """Delay vectors of a scalar series `x` (T,): shape (T - (delays - 1) * lag, delays)."""
        x = np.asarray(x)
        n_rows = len(x) - (delays - 1) * lag
        return np.stack([x[k * lag : k * lag + n_rows] for k in range(delays)], axis=1)


# %% [markdown]
# Check against `dynsys.koopman.delay_embed`, then look at the attractor in delay
# coordinates (x(t), x(t + 0.1), x(t + 0.2)): two lobes, as in the true state space.

# %%
lorenz = systems.Lorenz63()
ts = jnp.arange(0.0, T_END, DT)
x = np.asarray(dynsys.simulate(lorenz, jnp.array([-8.0, 8.0, 27.0]), ts)[:, 0])
lag = int(round(0.1 / DT))
mine = hankel(x, 3, lag)
lib = np.asarray(koopman.delay_embed(x, 3, lag))
assert mine.shape == lib.shape and np.allclose(mine, lib), "hankel differs from delay_embed"
print(f"series {x.shape} -> delay vectors {mine.shape} (lag {lag} samples = 0.1 time units)")

fig = plt.figure(figsize=(5, 4))
ax = fig.add_subplot(projection="3d")
n_show = min(len(mine), int(30 / DT))
ax.plot(*mine[:n_show].T, lw=0.3)
ax.set(xlabel="x(t)", ylabel="x(t+0.1)", zlabel="x(t+0.2)", title="delay embedding of x")
show(fig, "delay_attractor")

# %% [markdown]
# ## 2. DMD from an SVD
#
# Snapshots $x_0, \dots, x_m$ (columns), $X = [x_0 \dots x_{m-1}]$, $Y = [x_1 \dots x_m]$.
# With the truncated SVD $X \approx U_r \Sigma_r V_r^*$ the operator restricted to the
# leading POD modes is
#
# $$\tilde A = U_r^* Y V_r \Sigma_r^{-1} \quad (r \times r),$$
#
# whose eigenvalues μ are the DMD eigenvalues; the modes are $\Phi = U_r W$ with
# $\tilde A W = W \Lambda$. Frequencies are $\mathrm{Im}\,\omega / 2\pi$, growth rates
# $\mathrm{Re}\,\omega$, with $\omega = \log \mu / \Delta t$.
#
# Test data: two travelling waves on 64 sensors, frequencies 0.5 and 1.3 cycles per time
# unit, the second one decaying at rate 0.1. Each real oscillation is a conjugate pair of
# eigenvalues, so rank 4 is exact.
#
# **Exercise 2.2.** Complete `dmd_eigenvalues(ys, rank)` for snapshots `ys` of shape
# `(time, dim)` (time-major, as everywhere in dynsys).


# %%
def dmd_eigenvalues(ys, rank):
    """Discrete-time DMD eigenvalues of snapshots `ys` (time, dim), truncated to `rank`."""
    # Exercise 2.2: your code here.
    raise NotImplementedError(
        "Exercise 2.2: complete `dmd_eigenvalues` (or set DYNSYS_SOLUTIONS=1)."
    )


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def dmd_eigenvalues(ys, rank):
        """Discrete-time DMD eigenvalues of snapshots `ys` (time, dim), truncated to `rank`."""
        ys = np.asarray(ys)
        X, Y = ys[:-1].T, ys[1:].T
        u, s, vh = np.linalg.svd(X, full_matrices=False)
        u, s, v = u[:, :rank], s[:rank], vh[:rank].conj().T
        a_tilde = u.conj().T @ Y @ v / s[None, :]
        return np.linalg.eigvals(a_tilde)


# %%
DT_WAVES = 0.05
FREQS, DECAY = (0.5, 1.3), 0.1
t_w = np.arange(400) * DT_WAVES
grid = np.linspace(0.0, 2 * np.pi, 64)
waves = (np.sin(grid[None, :] - 2 * np.pi * FREQS[0] * t_w[:, None])
         + 0.5 * np.exp(-DECAY * t_w[:, None])
         * np.cos(3 * grid[None, :] - 2 * np.pi * FREQS[1] * t_w[:, None]))  # fmt: skip

dmd = koopman.DMD(rank=4).fit(waves, dt=DT_WAVES)
mu_mine = np.sort_complex(dmd_eigenvalues(waves, 4))
mu_lib = np.sort_complex(np.asarray(dmd.eigenvalues))
print("DMD eigenvalues, yours:  ", np.round(mu_mine, 5))
print("DMD eigenvalues, dynsys: ", np.round(mu_lib, 5))
assert np.allclose(mu_mine, mu_lib, atol=1e-8)
dmd_freqs = np.sort(np.asarray(dmd.frequencies)[np.asarray(dmd.frequencies) > 0])
print("frequencies", np.round(dmd_freqs, 4), "growth rates", np.round(dmd.growth_rates, 4))

fig, ax = plt.subplots(figsize=(4, 4))
circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
ax.plot(circle.real, circle.imag, "k", lw=0.5)
ax.plot(mu_lib.real, mu_lib.imag, "o")
ax.set(aspect="equal", xlabel="Re μ", ylabel="Im μ", title="DMD eigenvalues")
show(fig, "dmd_eigenvalues")

# %% [markdown]
# ## 3. Hankel DMD: two frequencies from one sensor
#
# A single sensor gives a 1-D snapshot, so plain DMD can fit one real eigenvalue at most.
# Delay vectors of the sensor's series give enough observables: each sine needs two delay
# coordinates, k sines 2k. `HankelDMD` embeds and then runs DMD on the windows.

# %%
sensor = waves[:, 10]
hdmd = koopman.HankelDMD(rank=4, delays=10).fit(sensor, dt=DT_WAVES)
hankel_freqs = np.sort(np.asarray(hdmd.frequencies)[np.asarray(hdmd.frequencies) > 0])
print("Hankel DMD on one sensor: frequencies", np.round(hankel_freqs, 4), "(true", FREQS, ")")
recon = np.asarray(hdmd.reconstruct())[:, 0]
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.plot(t_w, sensor, label="sensor 10")
ax.plot(t_w[: len(recon)], recon, "--", label="Hankel DMD reconstruction")
ax.set(xlabel="t")
ax.legend()
show(fig, "hankel_dmd")

# %% [markdown]
# ## 4. HAVOK: chaos as a linear system with intermittent forcing
#
# Brunton et al. (2017): with $H = U \Sigma V^\top$ the SVD of the Hankel matrix of x(t),
# the first r − 1 columns of V (the delay coordinates $v$) obey, to a good approximation,
#
# $$\dot v = A v + B\, v_r,$$
#
# a linear system driven by the last coordinate $v_r$. The forcing is small most of the time
# and bursts when the orbit is about to switch lobes.
#
# **Exercise 2.3.** Complete `lobe_switches(x)`: the indices i where the sign of x changes
# between samples i and i + 1.


# %%
def lobe_switches(x):
    """Indices i with sign(x[i]) != sign(x[i + 1])."""
    # Exercise 2.3: your code here.
    raise NotImplementedError("Exercise 2.3: complete `lobe_switches` (or set DYNSYS_SOLUTIONS=1).")


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def lobe_switches(x):
        """Indices i with sign(x[i]) != sign(x[i + 1])."""
        return np.nonzero(np.diff(np.sign(np.asarray(x))) != 0)[0]


# %%
havok = koopman.HAVOK(rank=RANK, delays=DELAYS).fit(x, dt=DT)
u = np.asarray(havok.forcing[:, 0])
active = np.asarray(havok.active_forcing(float(havok.forcing_threshold(0.05))))
switches = lobe_switches(x)
switches = switches[switches < len(u)]
near = np.zeros(len(u), bool)
for sw in switches:
    near[sw : sw + int(0.5 / DT)] = True
enrichment = float(active[near].mean() / max(active[~near].mean(), 1e-12))
print(
    f"{len(switches)} lobe switches; forcing active {active[near].mean():.1%} of the time "
    f"within 0.5 after a switch, {active[~near].mean():.1%} elsewhere (x{enrichment:.1f})"
)

n_show = min(len(u), int(25 / DT))
tt = np.arange(n_show) * DT
fig, axes = plt.subplots(3, 1, figsize=(9, 6), sharex=True)
s_val = np.asarray(havok.singular_values)
axes[0].plot(tt, x[:n_show], lw=0.8)
for sw in switches[switches < n_show]:
    axes[0].axvline(sw * DT, color="0.7", lw=0.5)
axes[0].set_ylabel("x")
axes[1].plot(tt, u[:n_show], "k", lw=0.7)
axes[1].plot(tt[active[:n_show]], u[:n_show][active[:n_show]], ".r", ms=2)
axes[1].set_ylabel("forcing $v_r$")
v_rec = np.asarray(havok.reconstruct_coordinates())
axes[2].plot(tt, np.asarray(havok.linear_coordinates)[:n_show, 0], label="data $v_1$")
axes[2].plot(tt, v_rec[:n_show, 0], "--", label="forced linear model")
axes[2].set(xlabel="t", ylabel="$v_1$")
axes[2].legend(loc="upper right")
show(fig, "havok")
print("leading singular values / σ₁:", " ".join(f"{v:.1e}" for v in s_val[:RANK] / s_val[0]))

# %% [markdown]
# ## Summary
#
# - A delay embedding of one observable reconstructs the attractor (Takens).
# - DMD is linear regression between snapshots in a truncated SVD basis; its eigenvalues
#   give frequencies and growth rates. Hankel DMD gets several frequencies from one sensor.
# - HAVOK: a linear delay model plus an intermittent forcing term that flags lobe switches.
#   Notebook 3 asks when such linear (Koopman) spectra can be trusted.

# %%
summary = {
    "small": SMALL,
    "solutions": SOLUTIONS,
    "dmd_frequencies": [float(f) for f in dmd_freqs],
    "dmd_growth_rates": sorted(float(g) for g in np.asarray(dmd.growth_rates)),
    "hankel_dmd_frequencies": [float(f) for f in hankel_freqs],
    "n_switches": int(len(switches)),
    "forcing_enrichment_near_switches": enrichment,
}
(OUT / "metrics.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
