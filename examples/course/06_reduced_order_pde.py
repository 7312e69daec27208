# %% [markdown]
# # Course 6 — Reduced-order models of PDEs with a differentiable solver (Φ-ROM)
#
# A PDE discretised on N grid points is a dynamical system of dimension N (hundreds to
# millions). A **reduced-order model** (ROM) evolves a small latent state α ∈ ℝᵈ instead,
# with a decoder back to the field:
#
# $$u(x, t) \approx D(x, \alpha(t)), \qquad \dot\alpha = \psi(\alpha; \mu).$$
#
# Φ-ROM (Hosseini Dashtbayaz et al., NeurIPS 2025) is an *auto-decoder*: one latent per
# training snapshot, a neural decoder $D(x, \alpha)$ that can be queried at any x, and a
# latent vector field ψ. What makes it physics-informed is ψ's target: the **solver's**
# time derivative of the decoded field, $\dot u = \mathcal N(D(\cdot, \alpha); \mu)$, pulled
# back to the latent space through the decoder Jacobian $J = \partial D/\partial \alpha$ by
# least squares,
#
# $$\dot\alpha^* = \arg\min_a \|J a - \mathcal N(D(\cdot, \alpha); \mu)\|^2 .$$
#
# This needs a solver we can evaluate (and differentiate) inside training: `dynsys.pde`
# steppers are JAX functions. The DINo baseline has the same model but fits ψ to the latent
# trajectories of the data only.
#
# Here the parametric Burgers problem of Lee & Carlberg: $u_t + (u^2/2)_x = 0.02\,e^{\mu x}$
# on [0, 100], with μ the parameter. Exercises: the upwind right-hand side; the latent
# velocity by least squares; the error metric. Solutions run when `SOLUTIONS` is on
# (`DYNSYS_SOLUTIONS=1`, or `SOLUTIONS = True` below).
#
# Source: `examples/course/06_reduced_order_pde.py`; `DYNSYS_SMALL=1` runs a tiny version
# in seconds (numbers meaningless); `examples/phirom_burgers.py` is the full study. Figures
# and `metrics.json` go to `$DYNSYS_OUT` (default `outputs/course/06_reduced_order_pde/`).
#
# **Prerequisites:** course notebooks 3 (least squares) and 4 (training a neural ODE);
# finite differences for a PDE.
#
# **Time:** an hour or less in class; run it at full size before class. Its full-size run
# time is not known yet: on 2026-12-08 the run with the solutions on was stopped after
# 18 minutes on a 2-core CPU whose cores other jobs held, with 48 s of CPU time used and
# section 1 done. `DYNSYS_SMALL=1` runs it in seconds.

# %%
import json
import os
import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import dynsys
from dynsys import pde, rom
from dynsys.metrics import relative_l2_error

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
SOLUTIONS = os.environ.get("DYNSYS_SOLUTIONS", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/course/06_reduced_order_pde"))
OUT.mkdir(parents=True, exist_ok=True)

N_POINTS = 64 if SMALL else 128
N_TOTAL, N_TRAIN = (16, 8) if SMALL else (120, 60)  # snapshots per trajectory; trained on
N_STEPS = 40 if SMALL else 800
N_MU = 3 if SMALL else 5
N_INVERT = 50 if SMALL else 200


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=110)
    plt.show()
    plt.close(fig)


print(f"dynsys {dynsys.__version__}, small={SMALL}, solutions={SOLUTIONS}, outputs in {OUT}/")

# %% [markdown]
# ## 1. The solver
#
# `pde.ParametricBurgers` discretises the flux with the upwind (Engquist–Osher) scheme and
# steps with forward Euler, Δt = 0.07, the left value held fixed. Where u > 0 (always, in
# this problem) the right-hand side at grid point j ≥ 1 is
#
# $$\dot u_j = -\frac{u_j^2 - u_{j-1}^2}{2\,\Delta x} + s\, e^{\mu x_j}, \qquad \dot u_0 = 0,$$
#
# with s = 0.02. A stepper maps one channel-first state `(1, N)` to the next;
# `solver.rhs(u, mu)` is the right-hand side.
#
# **Exercise 6.1.** Complete `burgers_rhs(u, mu, x, dx)` for a positive state `u` of shape
# `(N,)` on the grid `x` `(N,)`.


# %%
def burgers_rhs(u, mu, x, dx, s=0.02):
    """Upwind right-hand side of u_t + (u²/2)_x = s exp(mu x) for u > 0, left value fixed."""
    # Exercise 6.1: your code here.
    raise NotImplementedError("Exercise 6.1: complete `burgers_rhs` (or set DYNSYS_SOLUTIONS=1).")


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def burgers_rhs(u, mu, x, dx, s=0.02):
        """Upwind right-hand side of u_t + (u²/2)_x = s exp(mu x) for u > 0, left value fixed."""
        flux = 0.5 * u**2
        du = -(flux - jnp.concatenate([flux[:1], flux[:-1]])) / dx + s * jnp.exp(mu * x)
        return du.at[0].set(0.0)


# %% [markdown]
# Data: trajectories from u₀ ≡ 1 for a few training values of μ and for the midpoints
# between them (test). Models see the first `N_TRAIN` snapshots and forecast all of them.

# %%
solver = pde.ParametricBurgers(num_points=N_POINTS)
mu_train = jnp.linspace(0.015, 0.03, N_MU)
mu_test = 0.5 * (mu_train[1:] + mu_train[:-1])
u0 = jnp.ones((1, 1, N_POINTS))
train = pde.pde_trajectories(solver, jnp.repeat(u0, N_MU, 0), N_TOTAL - 1, aux=mu_train)
test = pde.pde_trajectories(solver, jnp.repeat(u0, len(mu_test), 0), N_TOTAL - 1, aux=mu_test)
x = jnp.asarray(solver.grid, train.states.dtype)
print("training data", train.states.shape, "(trajectory, time, channel, x)")

u_check = train.states[-1, N_TOTAL // 2, 0]
rhs_mine = burgers_rhs(u_check, mu_train[-1], x, solver.dx)
rhs_error = float(jnp.max(jnp.abs(rhs_mine - solver.rhs(u_check[None], mu_train[-1])[0])))
print(f"max |your rhs − solver.rhs| = {rhs_error:.1e}")
assert rhs_error < 1e-5

fig, ax = plt.subplots(figsize=(6, 3))
for k in range(0, N_TOTAL, max(N_TOTAL // 6, 1)):
    ax.plot(solver.grid, train.states[-1, k, 0], label=f"t = {float(train.times[k]):.1f}")
ax.set(xlabel="x", ylabel="u", title=f"Burgers, μ = {float(mu_train[-1]):.4f}")
ax.legend(fontsize=7)
show(fig, "data")

# %% [markdown]
# ## 2. Training Φ-ROM and DINo
#
# Decoder: an MLP with sine activations on [x, α] (d = 4); ψ an MLP on [α, μ]. Both
# models have the same architecture and the same reconstruction loss; they differ in the
# target of ψ. `rom.fit_phirom` uses the solver (on a random 10 % of the points, γ = 0.1);
# `rom.fit_dino` the latent trajectories (full size only: the small run trains Φ-ROM alone).

# %%
mean, std = float(train.states.mean()), float(train.states.std())
coords = x[:, None]


def make(cls, key):
    k1, k2 = jax.random.split(key)
    dec = rom.MLPDecoder(1, 4, 1, width=32, depth=4, coord_bounds=(0.0, 100.0),
                         output_shift=mean, output_scale=std, key=k1)  # fmt: skip
    dyn = rom.LatentDynamics(4, 1, width=64, depth=3, param_bounds=(0.015, 0.03), key=k2)
    return cls(dec, dyn, dt=solver.dt)


common = dict(coords=coords, params=mu_train, n_train_time=N_TRAIN, n_steps=N_STEPS,
              batch_size=min(64, N_MU * N_TRAIN), warmup_steps=N_STEPS // 4)  # fmt: skip
phi = rom.fit_phirom(make(rom.PhiROM, jax.random.key(0)), train, solver, gamma=0.1,
                     key=jax.random.key(1), **common)  # fmt: skip
fits = {"phirom": phi}
if not SMALL:  # the baseline would double the compile time of the small (test) run
    fits["dino"] = rom.fit_dino(make(rom.DINo, jax.random.key(0)), train,
                                key=jax.random.key(1), **common)  # fmt: skip
recon = np.asarray(phi.history["reconstruction"])
print(
    f"Φ-ROM reconstruction loss {recon[0]:.3g} -> {recon[-1]:.3g}; training "
    + ", ".join(f"{name} {res.wall_time:.0f} s" for name, res in fits.items())
)

fig, ax = plt.subplots(figsize=(6, 3))
for name, res in fits.items():
    ax.semilogy(res.history["reconstruction"], label=f"{name} reconstruction")
    ax.semilogy(res.history["dynamics"], ls="--", label=f"{name} dynamics")
ax.set(xlabel="step")
ax.legend(fontsize=7)
show(fig, "training")

# %% [markdown]
# ## 3. The latent velocity, by hand
#
# For one latent α and the solver's $\dot u$ of the decoded field at all points, the
# Φ-ROM target is the least-squares solution of $J a \approx \dot u$, with the Jacobian
# $J = \partial D(x, \alpha)/\partial\alpha$ of shape (points, d) (`jax.jacfwd`). The library
# computes it on a random subset of points by QR (`rom.latent_velocity_target`).
#
# **Exercise 6.2.** Complete `latent_velocity(decoder, alpha, coords, dudt)` with all
# points: `decoder(coords, alpha)` has shape `(P, 1)`, `dudt` too.


# %%
def latent_velocity(decoder, alpha, coords, dudt):
    """argmin_a || J a - dudt ||, J = d decoder(coords, alpha) / d alpha."""
    # Exercise 6.2: your code here.
    raise NotImplementedError(
        "Exercise 6.2: complete `latent_velocity` (or set DYNSYS_SOLUTIONS=1)."
    )


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def latent_velocity(decoder, alpha, coords, dudt):
        """argmin_a || J a - dudt ||, J = d decoder(coords, alpha) / d alpha."""
        jac = jax.jacfwd(lambda a: decoder(coords, a).ravel())(alpha)
        return jnp.linalg.lstsq(jac, dudt.ravel())[0]


# %%
model = phi.model
u_first = test.states[0, 0, 0]
alpha0 = model.invert(u_first[:, None], coords, n_iter=N_INVERT)
u_dec = model.decoder(coords, alpha0)  # (P, 1)
dudt = solver.rhs(u_dec.T, mu_test[0]).T  # the solver on the decoded field
adot_mine = latent_velocity(model.decoder, alpha0, coords, dudt)
adot_lib = rom.latent_velocity_target(model.decoder, alpha0, coords, dudt, jax.random.key(0),
                                      N_POINTS)  # fmt: skip
velocity_error = float(jnp.max(jnp.abs(adot_mine - adot_lib)) / jnp.max(jnp.abs(adot_lib)))
print(f"latent velocity: yours {np.round(adot_mine, 4)}, library {np.round(adot_lib, 4)}")
assert velocity_error < 1e-3

# %% [markdown]
# ## 4. Forecasting unseen parameters beyond the training horizon
#
# For each test μ the first snapshot is inverted to a latent (gradient descent on α), ψ is
# integrated for the whole horizon and decoded. The per-snapshot relative L2 error is
# $e(t) = \|u_{pred}(t) - u(t)\| / \|u(t)\|$ over space.
#
# **Exercise 6.3.** Complete `relative_error(true, pred)` for fields `(batch, time, 1, N)`:
# the error per batch element and time, shape `(batch, time)`.


# %%
def relative_error(true, pred):
    """Relative L2 error over space: shape (batch, time)."""
    # Exercise 6.3: your code here.
    raise NotImplementedError(
        "Exercise 6.3: complete `relative_error` (or set DYNSYS_SOLUTIONS=1)."
    )


# %% tags=["solution"] jupyter={"source_hidden": true}
if SOLUTIONS:

    def relative_error(true, pred):
        """Relative L2 error over space: shape (batch, time)."""
        diff = jnp.linalg.norm(pred - true, axis=(-2, -1))
        return diff / jnp.linalg.norm(true, axis=(-2, -1))


# %%
errors, metrics = {}, {}
for name, res in fits.items():
    pred = rom.forecast_fields(res.model, test.states[:, 0], N_TOTAL - 1, coords=coords,
                               params=mu_test, n_iter=N_INVERT)  # fmt: skip
    err = np.asarray(relative_error(test.states, pred))
    assert np.allclose(err, np.asarray(relative_l2_error(test.states, pred))[..., 0], rtol=1e-4)
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
# ## Summary
#
# - A ROM evolves a few latent coordinates; an implicit decoder D(x, α) maps them back to
#   the field at any x.
# - Φ-ROM trains ψ on the solver's derivative pulled back through the decoder Jacobian (a
#   small least-squares problem per snapshot), which needs a differentiable solver in the
#   loop; DINo only sees latent trajectories. At full size (`examples/phirom_burgers.py`)
#   Φ-ROM forecasts beyond the training horizon with a markedly lower error.

# %%
summary = {
    "small": SMALL,
    "solutions": SOLUTIONS,
    "rhs_error": rhs_error,
    "velocity_error": velocity_error,
    "reconstruction_first": float(recon[0]),
    "reconstruction_last": float(recon[-1]),
    **metrics,
}
(OUT / "metrics.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
