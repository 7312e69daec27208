# %% [markdown]
# # Latent SDE and neural SDE for noisy, irregularly observed dynamics
#
# Stochastic dynamics seen through noisy, incomplete measurements: a particle in a double
# well, `dx = (x − x³) dt + σ dW` with σ = 0.5, hops at random between the wells at ±1.
# We observe each path at 40 times with 5 % observation noise and 20 % of the
# observations missing.
#
# - [`dynsys.nde.LatentSDE`][] (Li et al., AISTATS 2020): a prior SDE in latent space,
#   an approximate posterior SDE driven by a backward GRU over the observations, trained by
#   the ELBO whose KL term is the KL between the posterior and prior **path measures**,
#   `E ∫ ½ |(f_post − f_prior) / g|² dt`, integrated along the sampled path.
# - [`dynsys.nde.NeuralSDE`][] fitted by the Euler–Maruyama transition likelihood on the
#   densely sampled, noise-free paths, as a check of the learnt drift and diffusion.
#
# Source: `examples/latent_sde.py` (jupytext percent format). `DYNSYS_SMALL=1` runs a
# tiny version; figures and `metrics.json` go to `$DYNSYS_OUT`
# (default `outputs/examples/latent_sde/`).

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
from dynsys import nde

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/examples/latent_sde"))
OUT.mkdir(parents=True, exist_ok=True)

N_PATHS = 16 if SMALL else 256
N_OBS = 40
T_END = 8.0
SIGMA = 0.5
STEPS = 4 if SMALL else 1500


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=120)
    plt.show()
    plt.close(fig)


print(f"dynsys {dynsys.__version__}, jax {jax.__version__}, small={SMALL}, outputs in {OUT}/")

# %% [markdown]
# ## 1. Data
#
# Paths are simulated with Euler–Maruyama at step 0.002 from x0 ~ N(0, 0.5²) and sampled
# every 0.2 time units. The latent SDE sees the noisy copy with a mask marking the 20 %
# missing entries (NaN there: the mask, not the NaN, tells the model what is missing).

# %%
rng = np.random.default_rng(0)
fine_dt, stride = 0.002, 100
n_fine = int(round(T_END / fine_dt))
x = 0.5 * rng.normal(size=N_PATHS)
fine = [x.copy()]
for _ in range(n_fine):
    x = x + (x - x**3) * fine_dt + SIGMA * np.sqrt(fine_dt) * rng.normal(size=N_PATHS)
    fine.append(x.copy())
fine = np.stack(fine, axis=1)[..., None]  # (paths, time, 1)
clean = fine[:, ::stride][:, :N_OBS]
ts = np.arange(N_OBS) * fine_dt * stride
noisy = clean + 0.05 * rng.normal(size=clean.shape)
mask = rng.uniform(size=clean.shape[:2]) > 0.2
mask[:, 0] = True
observed = np.where(mask[..., None], noisy, np.nan)
print(
    f"{N_PATHS} paths, {N_OBS} times on [0, {ts[-1]:.1f}], {100 * (1 - mask.mean()):.0f}% missing"
)

# %% [markdown]
# ## 2. Latent SDE
#
# Latent dimension 4, Euler–Maruyama at dt = 0.05 against a virtual Brownian tree, one
# posterior sample per series and step. The correction network of the posterior drift
# starts at zero, so training starts with posterior = prior and KL_path = 0.

# %%
model = nde.LatentSDE(1, dt0=0.05, key=jax.random.key(0), latent_dim=4, hidden_size=16,
                      context_size=8, width=32 if not SMALL else 8, depth=2)  # fmt: skip
result = nde.fit(model, observed, ts=ts, mask=mask, key=jax.random.key(1), steps=STEPS,
                 batch_size=32 if not SMALL else 8, optimizer=optax.adam(3e-3),
                 progress=not SMALL)  # fmt: skip
model = result.model
h = result.history
print(f"compilations: {result.traces}; final loss {h['loss'][-1]:.3f}, "
      f"KL_z0 {h['kl_z0'][-1]:.3f}, KL_path {h['kl_path'][-1]:.3f}")  # fmt: skip

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].plot(h["step"], h["nll"], label="NLL / obs")
axes[0].plot(h["step"], h["loss"], label="−ELBO / obs")
axes[0].legend()
axes[0].set_xlabel("step")
axes[1].plot(h["step"], h["kl_path"], label="KL path")
axes[1].plot(h["step"], h["kl_z0"], label="KL z0")
axes[1].legend()
axes[1].set_xlabel("step")
show(fig, "training")

# %% [markdown]
# ## 3. Posterior reconstructions and prior samples
#
# Left: posterior paths through a few observed series (missing points not shown). Right:
# 500 paths from the learnt prior SDE, sampled at once, against the data's quantiles.

# %%
tsj = jnp.asarray(ts)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for i, c in zip(range(3), ["C0", "C1", "C2"], strict=False):
    for k in range(5):
        path = model(tsj, jnp.asarray(np.nan_to_num(observed[i])), jnp.asarray(mask[i]),
                     key=jax.random.key(100 + k))  # fmt: skip
        axes[0].plot(ts, np.asarray(path)[:, 0], color=c, lw=0.5, alpha=0.6)
    axes[0].plot(ts[mask[i]], observed[i][mask[i], 0], "o", color=c, ms=3)
axes[0].set(title="posterior samples", xlabel="t")
prior = np.asarray(model.sample(tsj, 500, key=jax.random.key(7)))[..., 0]
for q, ls in [(0.1, ":"), (0.5, "-"), (0.9, ":")]:
    axes[1].plot(ts, np.quantile(clean[..., 0], q, axis=0), "k" + ls, lw=1)
    axes[1].plot(ts, np.quantile(prior, q, axis=0), "C3" + ls, lw=1)
axes[1].set(title="10/50/90 % quantiles: data (black), prior (red)", xlabel="t")
show(fig, "samples")

# %% [markdown]
# ## 4. A neural SDE on the dense paths
#
# With densely sampled, noise-free paths, the Euler–Maruyama transition likelihood gives a
# direct estimate of drift and diffusion; we compare them with the true `x − x³` and σ.

# %%
dense = fine[:, ::10]
dense_ts = np.arange(dense.shape[1]) * fine_dt * 10
sde = nde.NeuralSDE(1, dt0=0.02, key=jax.random.key(3), width=32 if not SMALL else 8, depth=2)
sde_fit = nde.fit(sde, dense, ts=dense_ts, key=jax.random.key(4), steps=STEPS,
                  batch_size=min(64, N_PATHS), optimizer=optax.adam(1e-2),
                  progress=not SMALL)  # fmt: skip
sde = sde_fit.model
grid = jnp.linspace(-1.5, 1.5, 61)
drift = np.asarray(jax.vmap(lambda v: sde.drift(0.0, v[None]))(grid))[:, 0]
diffusion = np.asarray(jax.vmap(lambda v: sde.diffusion(0.0, v[None]))(grid))[:, 0]
g = np.asarray(grid)
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].plot(g, g - g**3, "k", label="true")
axes[0].plot(g, drift, "C3", label="learnt")
axes[0].set(title="drift", xlabel="x")
axes[0].legend()
axes[1].axhline(SIGMA, color="k", label="true")
axes[1].plot(g, diffusion, "C3", label="learnt")
axes[1].set(title="diffusion", xlabel="x")
show(fig, "neural_sde")
inside = np.abs(g) <= 1.2
drift_error = float(np.sqrt(np.mean((drift - (g - g**3))[inside] ** 2)))
diffusion_error = float(np.mean(np.abs(diffusion[inside] - SIGMA)) / SIGMA)
print(f"neural SDE: RMS drift error on |x| <= 1.2: {drift_error:.3f}; "
      f"mean relative diffusion error {diffusion_error:.3f}")  # fmt: skip

# %%
metrics = {
    "small": SMALL,
    "latent_sde": {
        "loss": float(h["loss"][-1]),
        "kl_z0": float(h["kl_z0"][-1]),
        "kl_path": float(h["kl_path"][-1]),
        "traces": list(result.traces),
        "prior_median_end": float(np.median(prior[:, -1])),
    },
    "neural_sde": {"drift_rms_error": drift_error, "diffusion_rel_error": diffusion_error},
}
(OUT / "metrics.json").write_text(json.dumps(metrics, indent=2))
print(json.dumps(metrics, indent=2))
