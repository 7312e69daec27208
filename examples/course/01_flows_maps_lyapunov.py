# %% [markdown]
# # Course 1 — Flows, maps, attractors and Lyapunov exponents
#
# A **dynamical system** is a rule that moves a state forward in time. Two kinds:
#
# - a **flow** (continuous time), an ordinary differential equation $\dot x = f(x)$;
# - a **map** (discrete time), an iteration $x_{n+1} = F(x_n)$.
#
# A bounded chaotic system settles onto an **attractor**: a set that orbits approach and
# then never leave, with sensitive dependence on initial conditions. The **Lyapunov
# exponents** $\lambda_1 \ge \lambda_2 \ge \dots$ measure the average exponential rates at
# which small perturbations grow or shrink along an orbit; $\lambda_1 > 0$ means chaos, and
# the **Kaplan–Yorke dimension** turns the whole spectrum into a fractal dimension of the
# attractor.
#
# In this notebook: Lorenz-63 written by hand and through `dynsys.systems`; the logistic map,
# its bifurcation diagram and its exponent; the Hénon map; the Lyapunov spectrum of Lorenz-63
# by QR re-orthonormalisation (`dynsys.metrics.lyapunov_spectrum`) and its Kaplan–Yorke
# dimension.
#
# **Exercises.** Each exercise is a small function for you to complete (it raises
# `NotImplementedError` until you do). The cell after it, collapsed, holds the solution; it
# only runs when `SOLUTIONS` is on: set the environment variable `DYNSYS_SOLUTIONS=1`
# before starting Jupyter, or write `SOLUTIONS = True` in the next cell.
#
# Source: `examples/course/01_flows_maps_lyapunov.py`; `DYNSYS_SMALL=1` runs it in seconds.
# Figures and `metrics.json` go to `$DYNSYS_OUT` (default
# `outputs/course/01_flows_maps_lyapunov/`).
#
# **Prerequisites:** Python and NumPy; ordinary differential equations and eigenvalues at
# first-year level. This is the first notebook of the course.
#
# **Time:** an hour or less in class. The whole notebook at full size with the solutions on
# ran in 23 s on a 2-core CPU shared with other jobs (`make course-execute`, 2026-12-08).

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
from dynsys import metrics, systems

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
SOLUTIONS = os.environ.get("DYNSYS_SOLUTIONS", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/course/01_flows_maps_lyapunov"))
OUT.mkdir(parents=True, exist_ok=True)

LYAPUNOV_STEPS = 20_000 if SMALL else 100_000  # Lorenz: N·dt = 200 or 1000 time units
MAP_STEPS = 5_000 if SMALL else 50_000


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=110)
    plt.show()
    plt.close(fig)


print(f"dynsys {dynsys.__version__}, small={SMALL}, solutions={SOLUTIONS}, outputs in {OUT}/")

# %% [markdown]
# ## 1. A flow: Lorenz-63
#
# Lorenz's convection model,
#
# $$\dot x = \sigma (y - x), \qquad \dot y = x(\rho - z) - y, \qquad \dot z = xy - \beta z,$$
#
# with $\sigma = 10$, $\rho = 28$, $\beta = 8/3$. `dynsys.systems.Lorenz63` is built in;
# any function `f(t, y) -> dy/dt` becomes a system with `systems.from_function` and then
# goes through exactly the same code (`dynsys.simulate` integrates with diffrax, 8th-order
# Dormand–Prince at tolerance 1e-10 by default).
#
# **Exercise 1.1.** Write the Lorenz vector field `lorenz_rhs(t, y)` for a state
# `y = (x, y, z)` of shape `(3,)`, returning an array of shape `(3,)` (use `jnp.stack`).


# %%
def lorenz_rhs(t, y, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    """dy/dt of Lorenz-63 at state `y` (shape (3,))."""
    # Exercise 1.1: your code here.
    raise NotImplementedError("Exercise 1.1: complete `lorenz_rhs` (or set DYNSYS_SOLUTIONS=1).")


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def lorenz_rhs(t, y, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
        """dy/dt of Lorenz-63 at state `y` (shape (3,))."""
        x, yy, z = y[0], y[1], y[2]
        return jnp.stack([sigma * (yy - x), x * (rho - z) - yy, x * yy - beta * z])


# %% [markdown]
# Check: your system and the built-in one give the same trajectory, and two orbits that
# start 10⁻⁸ apart separate exponentially until the separation reaches the size of the
# attractor; the slope of log‖δ(t)‖ is λ₁ ≈ 0.906 (the dashed line).

# %%
mine = systems.from_function(lorenz_rhs, dim=3, y0=(1.0, 1.0, 1.0))
lorenz = systems.Lorenz63()
ts = jnp.arange(0.0, 30.0, lorenz.dt)
y0 = jnp.array([-8.0, 8.0, 27.0])
ys = dynsys.simulate(lorenz, y0, ts)
ys_mine = dynsys.simulate(mine, y0, ts[:200])
agreement = float(jnp.max(jnp.abs(ys_mine - ys[:200])))
print(f"max |your Lorenz − built-in| over 2 time units: {agreement:.2e}")
assert agreement < 1e-6, "lorenz_rhs does not match systems.Lorenz63"

ys_near = dynsys.simulate(lorenz, y0 + jnp.array([1e-8, 0.0, 0.0]), ts)
separation = np.linalg.norm(np.asarray(ys_near - ys), axis=1)
fig = plt.figure(figsize=(11, 4))
ax = fig.add_subplot(1, 2, 1, projection="3d")
ax.plot(*np.asarray(ys).T, lw=0.4)
ax.set(title="Lorenz-63 attractor", xlabel="x", ylabel="y", zlabel="z")
ax = fig.add_subplot(1, 2, 2)
ax.semilogy(ts, separation, lw=0.8, label="‖δ(t)‖")
ax.semilogy(ts, 1e-8 * np.exp(0.906 * np.asarray(ts)), "k--", lw=0.8, label="1e-8·exp(0.906 t)")
ax.set(xlabel="t", ylim=(1e-9, 1e3), title="sensitive dependence")
ax.legend()
show(fig, "lorenz")

# %% [markdown]
# ## 2. A map: the logistic map
#
# $x_{n+1} = r x_n (1 - x_n)$ on $[0, 1]$. For a one-dimensional map the Lyapunov exponent
# is the orbit average of the log-stretching,
#
# $$\lambda = \lim_{N\to\infty} \frac1N \sum_{n=0}^{N-1} \log |F'(x_n)|,
# \qquad F'(x) = r(1 - 2x).$$
#
# At $r = 4$ the map is conjugate to the tent map and $\lambda = \ln 2$ exactly.
#
# **Exercise 1.2.** Complete `logistic_lyapunov(r, n_steps, transient)`: iterate from
# x₀ = 0.1234, drop `transient` iterations, then average log|r(1 − 2x)| over `n_steps`
# iterations. Make it work for an **array** of r values at once (numpy broadcasting), and
# return the final states too (they draw the bifurcation diagram).


# %%
def logistic_lyapunov(r, n_steps, transient=500):
    """Lyapunov exponent of the logistic map for each r; returns (lambda, last 100 states)."""
    # Exercise 1.2: your code here.
    raise NotImplementedError(
        "Exercise 1.2: complete `logistic_lyapunov` (or set DYNSYS_SOLUTIONS=1)."
    )


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def logistic_lyapunov(r, n_steps, transient=500):
        """Lyapunov exponent of the logistic map for each r; returns (lambda, last 100 states)."""
        r = np.asarray(r, dtype=float)
        x = np.full_like(r, 0.1234)
        for _ in range(transient):
            x = r * x * (1 - x)
        total, last = np.zeros_like(r), []
        for n in range(n_steps):
            total += np.log(np.abs(r * (1 - 2 * x)))
            x = r * x * (1 - x)
            if n >= n_steps - 100:
                last.append(x)
        return total / n_steps, np.stack(last)


# %% [markdown]
# Check against ln 2 and against the library, which carries a tangent vector along the orbit
# with the map's Jacobian (from `jax.linearize`) — the same code that later measures λ of a
# trained RNN. Then the bifurcation diagram: where the orbit is periodic λ < 0, where it is
# chaotic λ > 0.

# %%
lam_r4, _ = logistic_lyapunov(np.array([4.0]), MAP_STEPS)
lib_r4 = float(metrics.lyapunov_spectrum(systems.Logistic(r=4.0), n_steps=MAP_STEPS).exponents[0])
print(f"logistic map, r = 4: yours {lam_r4[0]:.4f}, library {lib_r4:.4f}, ln 2 = {np.log(2):.4f}")
assert abs(lam_r4[0] - np.log(2)) < 0.03

rs = np.linspace(2.8, 4.0, 300 if SMALL else 1200)
lam_r, orbit = logistic_lyapunov(rs, 1_000 if SMALL else 5_000)
fig, (ax_b, ax_l) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
ax_b.plot(np.broadcast_to(rs, orbit.shape).ravel(), orbit.ravel(), ",k", alpha=0.3)
ax_b.set(ylabel="x (last 100 iterates)", title="logistic map: bifurcation diagram")
ax_l.plot(rs, lam_r, lw=0.7)
ax_l.axhline(0, color="r", lw=0.6)
ax_l.set(xlabel="r", ylabel="λ", ylim=(-2, 1))
show(fig, "logistic")

# %% [markdown]
# ## 3. A two-dimensional map: Hénon
#
# $x' = 1 - a x^2 + y$, $y' = b x$ with $a = 1.4$, $b = 0.3$. The Jacobian determinant is
# $-b$ everywhere, so areas shrink by $|b|$ per step and the two exponents must sum to
# $\ln b = -1.204$. With more than one exponent a single tangent vector is not enough:
# `lyapunov_spectrum` carries an orthonormal basis Q, maps it with the Jacobian, and
# re-orthonormalises it by a QR decomposition every step; the exponents are the averages of
# $\log |R_{ii}|$ (Benettin et al. 1980).

# %%
henon = systems.Henon()
henon_spec = metrics.lyapunov_spectrum(henon, n_steps=MAP_STEPS)
henon_exp = np.asarray(henon_spec.exponents)
print(f"Hénon exponents {np.round(henon_exp, 4)} (literature {henon.reference.exponents}); "
      f"sum {henon_exp.sum():.4f} vs ln b = {np.log(0.3):.4f}")  # fmt: skip
orbit_h = np.asarray(dynsys.simulate(henon, None, jnp.arange(20_000.0)))[100:]
fig, ax = plt.subplots(figsize=(5, 4))
ax.plot(orbit_h[:, 0], orbit_h[:, 1], ",k")
ax.set(xlabel="x", ylabel="y", title="Hénon attractor")
show(fig, "henon")

# %% [markdown]
# ## 4. The Lyapunov spectrum of Lorenz-63
#
# For a flow the tangent basis follows the variational equation $\dot Q = J(x) Q$, solved
# with the state; every `renorm_every` sampling steps Q is re-orthonormalised. Three
# exponents: one positive (stretching), one zero (the direction along the flow), one
# strongly negative. Their sum is the (constant) divergence $-(\sigma + 1 + \beta) = -13.667$.
# The estimate converges slowly (error ∝ 1/√T): plot the running estimate.

# %%
spec = metrics.lyapunov_spectrum(lorenz, n_steps=LYAPUNOV_STEPS, transient=1_000, renorm_every=5)
lorenz_exp = np.asarray(spec.exponents)
print(f"Lorenz-63 exponents {np.round(lorenz_exp, 3)} (literature {lorenz.reference.exponents}); "
      f"sum {lorenz_exp.sum():.3f}")  # fmt: skip
fig, ax = plt.subplots(figsize=(6, 3.2))
t_hist = np.asarray(spec.history_steps) * lorenz.dt
ax.plot(t_hist, np.asarray(spec.history)[:, 0], label="λ₁ running estimate")
ax.axhline(0.9056, color="k", ls="--", lw=0.8, label="literature 0.9056")
ax.set(xlabel="averaging time", ylabel="λ₁", ylim=(0.6, 1.2))
ax.legend()
show(fig, "lyapunov_convergence")

# %% [markdown]
# ## 5. Kaplan–Yorke dimension
#
# With the exponents sorted, let $j$ be the largest index with $\sum_{i\le j} \lambda_i \ge 0$.
# Then
#
# $$D_{KY} = j + \frac{\sum_{i=1}^{j} \lambda_i}{|\lambda_{j+1}|}.$$
#
# (If already λ₁ < 0 the dimension is 0; if every partial sum is ≥ 0 it is the number of
# exponents.) For Lorenz-63 j = 2 and $D_{KY} \approx 2 + 0.906/14.57 \approx 2.06$: the
# attractor is a little more than a surface.
#
# **Exercise 1.3.** Complete `kaplan_yorke(exponents)`.


# %%
def kaplan_yorke(exponents):
    """Kaplan–Yorke dimension of a Lyapunov spectrum (any order)."""
    # Exercise 1.3: your code here.
    raise NotImplementedError("Exercise 1.3: complete `kaplan_yorke` (or set DYNSYS_SOLUTIONS=1).")


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def kaplan_yorke(exponents):
        """Kaplan–Yorke dimension of a Lyapunov spectrum (any order)."""
        lam = np.sort(np.asarray(exponents, dtype=float))[::-1]
        partial = np.cumsum(lam)
        if partial[0] < 0:
            return 0.0
        j = int(np.max(np.nonzero(partial >= 0)[0]))  # 0-based: j + 1 exponents
        if j == len(lam) - 1:
            return float(len(lam))
        return float(j + 1 + partial[j] / abs(lam[j + 1]))


# %%
ky_lorenz = kaplan_yorke(lorenz_exp)
ky_henon = kaplan_yorke(henon_exp)
print(f"D_KY Lorenz-63: yours {ky_lorenz:.4f}, library "
      f"{float(metrics.kaplan_yorke_dimension(spec)):.4f}")  # fmt: skip
print(f"D_KY Hénon:     yours {ky_henon:.4f}, library "
      f"{float(metrics.kaplan_yorke_dimension(henon_spec)):.4f}")  # fmt: skip
assert abs(ky_lorenz - float(metrics.kaplan_yorke_dimension(spec))) < 1e-9

# %% [markdown]
# ## Summary
#
# - A flow integrates $\dot x = f(x)$, a map iterates $F$; both are `dynsys.systems`, and
#   `simulate` and `lyapunov_spectrum` accept either, built-in or your own.
# - λ₁ > 0: nearby orbits separate like $e^{\lambda_1 t}$; Lorenz-63 has λ ≈ (0.906, 0, −14.57)
#   and $D_{KY} \approx 2.06$; the Hénon map λ ≈ (0.42, −1.62) and $D_{KY} \approx 1.26$.
# - Later notebooks compare the exponents of trained models with these numbers.

# %%
summary = {
    "small": SMALL,
    "solutions": SOLUTIONS,
    "lorenz_agreement": agreement,
    "logistic_lambda_r4": float(lam_r4[0]),
    "logistic_lambda_r4_library": lib_r4,
    "henon_exponents": [float(v) for v in henon_exp],
    "lorenz_exponents": [float(v) for v in lorenz_exp],
    "kaplan_yorke_lorenz": ky_lorenz,
    "kaplan_yorke_henon": ky_henon,
}
(OUT / "metrics.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
