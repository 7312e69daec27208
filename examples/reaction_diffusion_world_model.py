# %% [markdown]
# # A reaction–diffusion world model on Gray–Scott videos
#
# FluidWorld (Polly 2026, arXiv 2603.21315) replaces the Transformer or ConvLSTM
# predictor of a video world model by the integration of a learned reaction–diffusion
# PDE in latent space. This notebook trains that predictor and three baselines at matched
# parameter counts on Gray–Scott videos, rolls them out autoregressively and compares
# predicted with true frames and the error at horizons 1…10, including the baseline
# FluidWorld leaves out: **persistence** (copy the last frame).
#
# Its source is `examples/reaction_diffusion_world_model.py` (jupytext percent format).
# With `DYNSYS_SMALL=1` everything runs at a tiny size in well under a minute (the test
# suite does this; the numbers are then meaningless). The full run takes a few minutes on
# a CPU. Figures and `metrics.json` go to `$DYNSYS_OUT` (default
# `outputs/examples/reaction_diffusion_world_model/`). The measured comparison over seeds
# and on a control data set is `benchmarks/worldmodels_benchmark.py`.

# %%
import json
import os
import pathlib

import jax
import matplotlib.pyplot as plt
import numpy as np

import dynsys
from dynsys import worldmodels as wm

SMALL = os.environ.get("DYNSYS_SMALL", "") not in ("", "0")
OUT = pathlib.Path(os.environ.get("DYNSYS_OUT", "outputs/examples/reaction_diffusion_world_model"))
OUT.mkdir(parents=True, exist_ok=True)

N_POINTS = 16 if SMALL else 32
N_TRAIN, N_TEST, N_FRAMES = (4, 2, 8) if SMALL else (48, 8, 20)
N_STEPS = 5 if SMALL else 300
HORIZONS = 3 if SMALL else 10
LATENT = 4 if SMALL else 8
CONTEXT = 2


def show(fig, name):
    """Save a figure to OUT and display it."""
    fig.savefig(OUT / f"{name}.png", dpi=110)
    plt.show()
    plt.close(fig)


print(f"dynsys {dynsys.__version__}, jax {jax.__version__}, small={SMALL}, outputs in {OUT}/")

# %% [markdown]
# ## 1. Data: Gray–Scott videos
#
# `wm.gray_scott_video` integrates the Gray–Scott model (Pearson 1993; F = 0.04,
# k = 0.06) with `dynsys.pde.GrayScott` from random Gaussian blobs, discards a burn-in
# and keeps a frame (u, v) every 100 PDE steps: spots grow and divide between frames. The
# arrays are `Trajectories` of shape (videos, time, channels, height, width). Training
# and test videos come from different keys.

# %%
frame_every = 100
train = wm.gray_scott_video(jax.random.key(1), N_TRAIN, N_FRAMES, num_points=N_POINTS,
                            frame_every=frame_every)  # fmt: skip
test = wm.gray_scott_video(jax.random.key(2), N_TEST, N_FRAMES, num_points=N_POINTS,
                           frame_every=frame_every)  # fmt: skip
print(f"train {train.states.shape}, test {test.states.shape}")

fig, axes = plt.subplots(1, 6, figsize=(13, 2.4))
for ax, t in zip(axes, np.linspace(0, N_FRAMES - 1, 6).astype(int)):
    ax.imshow(np.asarray(test.states[0, t, 1]), cmap="magma")
    ax.set(title=f"v, frame {t}", xticks=[], yticks=[])
show(fig, "data")

# %% [markdown]
# ## 2. Models at matched parameter counts
#
# Every learned model shares the convolutional patch encoder and decoder (2×2 patches to
# a latent field of `LATENT` channels); only the predictor differs:
#
# - **reaction–diffusion**: K = 4 explicit steps of
#   $u \leftarrow u + \Delta t\,(\sum_k \mathrm{sp}(D_k) \odot d_k^2 \mathrm{Lap}_{d_k} u + R(u))$
#   (sp = softplus) at dilations 1, 2, 4, with RMS normalisation and a learned Δt in [0.005, 0.35];
# - **ConvGRU** over the two context frames (3×3 kernels);
# - **Transformer** over latent tokens (one token per latent pixel);
# - **persistence**: the last frame, copied pixel by pixel (no encoder).
#
# `wm.matched_predictors` sizes the reaction MLP and the Transformer to the ConvGRU's
# parameter count.

# %%
predictors = wm.matched_predictors(LATENT, context=CONTEXT, key=jax.random.key(0))
channels = train.states.shape[2]
frame_shape = (channels, N_POINTS, N_POINTS)


def world_model(predictor, seed=0):
    k1, k2 = jax.random.split(jax.random.key(100 + seed))
    enc = wm.PatchEncoder(channels, LATENT, key=k1)
    dec = wm.PatchDecoder(LATENT, channels, key=k2)
    return wm.WorldModel(enc, predictor, dec, frame_shape=frame_shape)


models = {name: world_model(p) for name, p in predictors.items()}
counts = {name: wm.count_parameters(p) for name, p in predictors.items()}
codec = wm.count_parameters(models["convgru"]) - counts["convgru"]
print("predictor parameters:", counts, f"(+ {codec} in the shared encoder/decoder)")

# %% [markdown]
# ## 3. Training
#
# `wm.fit` draws clips of context + window frames and minimises the pixel MSE of the
# predicted frames plus the reconstruction MSE of the auto-encoder, through
# `dynsys.training.fit` (AdamW, cosine decay, gradient clipping, non-finite guard).
# `window=2` backpropagates through two autoregressive steps (truncated BPTT).

# %%
results, times, losses = {}, {}, {}
for name, model in models.items():
    res = wm.fit(model, train, key=jax.random.key(7), n_steps=N_STEPS, window=2,
                 learning_rate=3e-3, progress=False)  # fmt: skip
    results[name], times[name], losses[name] = res.model, res.wall_time, res.history["loss"]
    print(f"{name:20s} final loss {losses[name][-1]:.2e}  ({res.wall_time:.0f} s)")

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, loss in losses.items():
    ax.plot(loss, label=name)
ax.set(xlabel="step", ylabel="training loss", yscale="log")
ax.legend()
show(fig, "loss")

# %% [markdown]
# ## 4. Error against horizon
#
# From every start of every test video each model reads two frames and rolls out
# `HORIZONS` frames autoregressively in latent space. Pixel MSE and SSIM (Gaussian window,
# per-channel data range) at each horizon, averaged over videos and starts.

# %%
persistence = wm.WorldModel(None, wm.Persistence(), None, frame_shape=frame_shape)
scores = {name: wm.evaluate(m, test, horizons=HORIZONS) for name, m in results.items()}
scores["persistence"] = wm.evaluate(persistence, test, horizons=HORIZONS)

h = np.arange(1, HORIZONS + 1)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for name, s in scores.items():
    axes[0].plot(h, s["rollout_mse"], "o-", label=name)
    axes[1].plot(h, s["rollout_ssim"], "o-", label=name)
axes[0].set(xlabel="horizon", ylabel="MSE", yscale="log", title="rollout MSE")
axes[1].set(xlabel="horizon", ylabel="SSIM", title="rollout SSIM")
axes[0].legend()
show(fig, "horizon")
for name, s in scores.items():
    mse, ss = s["rollout_mse"], s["rollout_ssim"]
    print(f"{name:20s} one-step MSE {s['one_step_mse']:.2e}  MSE h=1 {mse[0]:.2e}  "
          f"h={HORIZONS} {mse[-1]:.2e}  SSIM h=1 {ss[0]:.3f}")  # fmt: skip

# %% [markdown]
# ## 5. Predicted against true frames
#
# One test video: the v channel of the truth and of each model's rollout.

# %%
video = test.states[0]
rows = {"truth": np.asarray(video[CONTEXT : CONTEXT + HORIZONS, 1])}
for name, m in {**results, "persistence": persistence}.items():
    rows[name] = np.asarray(m.rollout(video[:CONTEXT], HORIZONS)[:, 1])
shown = np.unique(np.linspace(0, HORIZONS - 1, min(HORIZONS, 5)).astype(int))
fig, axes = plt.subplots(len(rows), len(shown), figsize=(2.2 * len(shown), 2.1 * len(rows)),
                         squeeze=False)  # fmt: skip
vmax = float(rows["truth"].max())
for i, (name, frames) in enumerate(rows.items()):
    for j, t in enumerate(shown):
        axes[i, j].imshow(frames[t], cmap="magma", vmin=0, vmax=vmax)
        axes[i, j].set(xticks=[], yticks=[])
        if i == 0:
            axes[i, j].set_title(f"h = {t + 1}")
    axes[i, 0].set_ylabel(name, fontsize=8)
show(fig, "frames")

# %%
summary = {
    "small": SMALL,
    "parameters": counts,
    "train_seconds": times,
    "scores": {name: {"one_step_mse": s["one_step_mse"],
                      "rollout_mse": s["rollout_mse"].tolist(),
                      "rollout_ssim": s["rollout_ssim"].tolist()} for name, s in scores.items()},
}  # fmt: skip
(OUT / "metrics.json").write_text(json.dumps(summary, indent=2))
print(f"wrote {OUT / 'metrics.json'}")
