"""Reaction–diffusion world model vs ConvGRU, Transformer and persistence (measured).

Run: .venv/bin/python benchmarks/worldmodels_benchmark.py [--seeds 0 1 2] [--steps 200]
     [--window 2] [--datasets gray_scott moving_blobs]
     [--figure docs/figures/worldmodels_horizon.png]

FluidWorld (Polly 2026, arXiv 2603.21315) claims coherent multi-step rollouts of a
reaction–diffusion (RD) predictor at matched parameter count but measures no rollout
metric for its baselines and has no persistence baseline. This script measures them.

Data (generated on the fly, fixed for every seed; 32×32 frames, 20 frames per video,
32 training and 8 test videos from separate keys):

- gray_scott: `dynsys.worldmodels.gray_scott_video` (Pearson F = 0.04, k = 0.06; a frame
  every 100 PDE steps after 500 burn-in steps), channels (u, v);
- moving_blobs: `dynsys.worldmodels.moving_blobs_video` (3 Gaussian blobs at constant
  velocity, 0.5–1.5 px/frame; no PDE behind it: the control).

Models: one shared convolutional patch encoder/decoder (2×2 patches, 8 latent channels)
around four predictors reading 2 context frames: reaction_diffusion (K = 4 steps,
dilations 1, 2, 4), convgru (3×3 kernels), transformer (one block over the 16×16 latent
tokens), sized by `matched_predictors` to the ConvGRU's parameter count (printed), and
persistence (pixel copy of the last frame, no encoder, no training). Each learned model is
trained with `dynsys.worldmodels.fit` for `--steps` steps (batch 16, AdamW 3e-3 with cosine
decay, truncated BPTT through `--window` autoregressive steps) from each seed (the seed
sets initialisation and batch order). Scores on the test videos
(`dynsys.worldmodels.evaluate`): one-step (teacher-forced) MSE, autoregressive MSE and
SSIM at horizons 1…10 from every admissible start, training wall time. Every number is the
mean over seeds ± the 95 % half-width t_{0.975, n−1}·s/√n (persistence has no spread).

Budget: the default run (3 seeds × 4 predictors × 2 data sets, 200 steps) takes about
20 minutes on a 2-core CPU shared with other work (most of it is the RD predictor's
training, whose pointwise reaction network is applied K times per latent pixel).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from dynsys import worldmodels as wm  # noqa: E402

LEARNED = ("reaction_diffusion", "convgru", "transformer")
PREDICTORS = LEARNED + ("persistence",)
LATENT, CONTEXT, SIZE, FRAMES, HORIZONS = 8, 2, 32, 20, 10


def make_data(name):
    if name == "gray_scott":
        gen = lambda k, n: wm.gray_scott_video(k, n, FRAMES, num_points=SIZE, frame_every=100)  # noqa: E731
    elif name == "moving_blobs":
        gen = lambda k, n: wm.moving_blobs_video(k, n, FRAMES, num_points=SIZE)  # noqa: E731
    else:
        raise ValueError(f"unknown data set {name!r}")
    return gen(jax.random.key(1001), 32), gen(jax.random.key(2002), 8)


def build(name, channels, seed):
    frame_shape = (channels, SIZE, SIZE)
    if name == "persistence":
        return wm.WorldModel(None, wm.Persistence(), None, frame_shape=frame_shape)
    k_pred, k_enc, k_dec = jax.random.split(jax.random.key(seed), 3)
    pred = wm.matched_predictors(LATENT, context=CONTEXT, key=k_pred)[name]
    enc = wm.PatchEncoder(channels, LATENT, key=k_enc)
    dec = wm.PatchDecoder(LATENT, channels, key=k_dec)
    return wm.WorldModel(enc, pred, dec, frame_shape=frame_shape)


def ci(values):
    """Mean and 95 % t half-width over the first axis."""
    v = np.asarray(values, dtype=float)
    mean = v.mean(axis=0)
    if v.shape[0] < 2:
        return mean, np.zeros_like(mean)
    half = stats.t.ppf(0.975, v.shape[0] - 1) * v.std(axis=0, ddof=1) / np.sqrt(v.shape[0])
    return mean, half


def fmt(mean, half, spec=".2e"):
    return f"{mean:{spec}} ± {half:{spec}}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--window", type=int, default=2)
    parser.add_argument("--datasets", nargs="+", default=["gray_scott", "moving_blobs"])
    parser.add_argument("--figure", default="docs/figures/worldmodels_horizon.png")
    args = parser.parse_args()

    t_start = time.perf_counter()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()}, "
          f"jax {jax.__version__} on {jax.devices()[0].platform}")  # fmt: skip
    print(f"seeds {args.seeds}, {args.steps} steps, window {args.window}, batch 16, "
          f"latent {LATENT}×{SIZE // 2}×{SIZE // 2}, context {CONTEXT}")  # fmt: skip
    results = {}
    for ds in args.datasets:
        train, test = make_data(ds)
        channels = train.states.shape[2]
        print(f"\n=== {ds}: train {tuple(train.states.shape)}, test {tuple(test.states.shape)}")
        res = {p: {"one": [], "mse": [], "ssim": [], "time": [], "rec": []} for p in PREDICTORS}
        params = {}
        for seed in args.seeds:
            for name in PREDICTORS:
                model = build(name, channels, seed)
                params[name] = wm.count_parameters(model.predictor)
                params[name + "_total"] = wm.count_parameters(model)
                seconds = 0.0
                if name != "persistence":
                    fitted = wm.fit(model, train, key=jax.random.key(10_000 + seed),
                                    n_steps=args.steps, window=args.window, learning_rate=3e-3,
                                    progress=False)  # fmt: skip
                    model, seconds = fitted.model, fitted.wall_time
                s = wm.evaluate(model, test, horizons=HORIZONS)
                for key, value in (("one", s["one_step_mse"]), ("mse", s["rollout_mse"]),
                                   ("ssim", s["rollout_ssim"]), ("time", seconds),
                                   ("rec", s["reconstruction_mse"])):  # fmt: skip
                    res[name][key].append(value)
                print(f"  seed {seed} {name:18s} one-step {s['one_step_mse']:.3e}  "
                      f"MSE h1 {s['rollout_mse'][0]:.3e} h10 {s['rollout_mse'][-1]:.3e}  "
                      f"SSIM h1 {s['rollout_ssim'][0]:.3f}  train {seconds:.1f} s",
                      flush=True)  # fmt: skip
        results[ds] = res
        print(f"\n--- {ds}: parameters (predictor / whole model incl. shared codec)")
        for name in PREDICTORS:
            print(f"  {name:18s} {params[name]:6d} / {params[name + '_total']:6d}")
        ref = params["convgru"]
        spread = max(abs(params[n] - ref) / ref for n in LEARNED)
        print(f"  largest deviation from the ConvGRU count: {100 * spread:.2f} %")
        print(f"\n--- {ds}: one-step MSE, reconstruction MSE, training time (mean ± 95 % CI)")
        for name in PREDICTORS:
            one, rec, sec = ci(res[name]["one"]), ci(res[name]["rec"]), ci(res[name]["time"])
            print(f"  {name:18s} one-step {fmt(*one)}  recon {fmt(*rec)}  "
                  f"train {fmt(*sec, '.1f')} s")  # fmt: skip
        for metric, label, spec in (("mse", "MSE", ".2e"), ("ssim", "SSIM", ".3f")):
            print(f"\n--- {ds}: rollout {label} at horizons 1..{HORIZONS} (mean ± 95 % CI)")
            for name in PREDICTORS:
                m, h = ci(res[name][metric])
                cells = "  ".join(fmt(a, b, spec) for a, b in zip(m, h))
                print(f"  {name:18s} {cells}")
        pers = np.mean(res["persistence"]["mse"], axis=0)
        print(f"\n--- {ds}: horizon-1 MSE ratio to persistence (< 1: beats it), per seed")
        for name in LEARNED:
            ratios = [float(m[0] / pers[0]) for m in res[name]["mse"]]
            verdict = "beats" if max(ratios) < 1 else "does NOT beat"
            last = [int(np.argmax(np.asarray(m) >= pers)) + 1 if np.any(np.asarray(m) >= pers)
                    else None for m in res[name]["mse"]]  # fmt: skip
            print(f"  {name:18s} ratios {np.round(ratios, 3).tolist()}  -> {verdict} "
                  f"persistence at h=1 in every seed; first horizon with MSE >= "
                  f"persistence: {last}")  # fmt: skip

    fig, axes = plt.subplots(len(results), 2, figsize=(11, 3.6 * len(results)), squeeze=False)
    h = np.arange(1, HORIZONS + 1)
    for row, (ds, res) in enumerate(results.items()):
        for col, (metric, label) in enumerate((("mse", "MSE"), ("ssim", "SSIM"))):
            ax = axes[row, col]
            for name in PREDICTORS:
                m, half = ci(res[name][metric])
                ax.plot(h, m, "o-", ms=3, label=name)
                ax.fill_between(h, m - half, m + half, alpha=0.25)
            ax.set(xlabel="horizon (frames)", ylabel=label, title=f"{ds}: rollout {label}")
            if metric == "mse":
                ax.set_yscale("log")
        axes[row, 0].legend(fontsize=8)
    fig.suptitle(f"{len(args.seeds)} seeds, mean ± 95 % CI, matched predictor parameters")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.figure)), exist_ok=True)
    fig.savefig(args.figure, dpi=110)
    print(f"\nfigure: {args.figure}")
    print(f"total wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
