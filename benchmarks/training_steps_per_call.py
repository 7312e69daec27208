"""Steps per compiled call: `dsr.fit` at k = 1 … 50 against a plain per-step jitted JAX loop.

The AL-RNN of the Lorenz-63 reference settings (M = 20, P = 2 by default, N = 3; τ = 16,
windows of 201 points, batch 16, batch noise 0.05, RAdam with the per-epoch decay; float32)
trained on the benchmark's training trajectory:

- **dynsys**: `dsr.fit(..., steps_per_call=k)` for each k: k steps per compiled call
  (`lax.scan` over steps, the batches drawn inside), the same run bit for bit for every k
  (checked here: the final parameters of every k are compared with k = 1).
- **plain loop**: what a user writes by hand around the same objective: one
  `eqx.filter_jit` function per step that draws the batch, takes the loss and gradient of
  `dsr.TeacherForcing` and applies the optax update, called in a Python loop.

Each variant is timed as in `gtf_throughput.py`: two runs of different length, and the rate
is `extra_steps / (wall_long − wall_short)`, so compilation and set-up cancel. All variants
run back to back in one process, in the order given, twice (the better of the two rates is
kept, against load jitter). The extrapolated time of the reference budget (2000 epochs of
50 steps) is printed too.

    python benchmarks/training_steps_per_call.py
    python benchmarks/training_steps_per_call.py --ks 1 32 --steps 2000 --pwl-units 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from dynsys import data, dsr, training
from dynsys.data import sample_windows


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ks", type=int, nargs="+", default=[1, 8, 32, 50])
    p.add_argument("--steps", type=int, default=1000, help="extra steps of the long run")
    p.add_argument("--short", type=int, default=100, help="steps of the short run")
    p.add_argument("--pwl-units", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", default=None, help="JSON file for the results")
    return p.parse_args()


def main():
    a = parse_args()
    settings = dsr.settings("lorenz63").replace(pwl_units=a.pwl_units)
    bench = data.benchmark("lorenz63")
    train = bench.train
    model = dsr.ALRNN(settings.latent_dim, settings.pwl_units, 3, key=jax.random.key(0))
    key = jax.random.key(1)

    def fit_k(k, n):
        t0 = time.perf_counter()
        res = dsr.fit(model, train, key=key, settings=settings, n_steps=n, progress=False,
                      steps_per_call=k)  # fmt: skip
        jax.block_until_ready(res.model)
        return time.perf_counter() - t0, res.model

    def plain(n):
        states = train.states.astype(model.dtype)
        objective = dsr.TeacherForcing(
            tau=settings.tau, alpha=settings.alpha, adaptive=False, alpha_method="constant",
            alpha_update_interval=5, alpha_decay=0.999, lambda_latent=0.0, dtype=model.dtype,
        )  # fmt: skip
        optimizer = optax.radam(
            training.exponential_decay_per_epoch(
                settings.start_lr, settings.end_lr, settings.n_epochs, settings.batches_per_epoch
            )
        )

        @eqx.filter_jit
        def step(m, opt_state, state, i):
            batch_key, loss_key = jax.random.split(jax.random.fold_in(key, i))
            x = sample_windows(
                batch_key,
                states,
                window=settings.sequence_length + 1,
                batch_size=settings.batch_size,
                noise_std=settings.noise_std,
            )

            def loss(p):
                return objective(p, (x, None), state, step=i, key=loss_key)

            (value, (state, _)), grads = eqx.filter_value_and_grad(loss, has_aux=True)(m)
            with jax.numpy_dtype_promotion("standard"):
                updates, opt_state = optimizer.update(grads, opt_state, m)
            return eqx.apply_updates(m, updates), opt_state, state, value

        t0 = time.perf_counter()
        m = model
        with jax.numpy_dtype_promotion("standard"):
            opt_state = optimizer.init(eqx.filter(m, eqx.is_inexact_array))
        state = objective.init_state(m)
        for i in range(n):
            m, opt_state, state, value = step(m, opt_state, state, jnp.asarray(i, jnp.int32))
        jax.block_until_ready(m)
        return time.perf_counter() - t0, m

    variants = [(f"dsr.fit k={k}", lambda n, k=k: fit_k(k, n)) for k in a.ks]
    variants.append(("plain per-step jitted loop", plain))
    rates = {name: 0.0 for name, _ in variants}
    reference = None
    same = {}
    for _ in range(a.repeats):
        for name, run in variants:
            short, _ = run(a.short)
            long, final = run(a.short + a.steps)
            rates[name] = max(rates[name], a.steps / (long - short))
            if name.startswith("dsr.fit"):
                leaves = [
                    np.asarray(x)
                    for x in jax.tree_util.tree_leaves(eqx.filter(final, eqx.is_array))
                ]
                if reference is None:
                    reference = leaves
                same[name] = all(x.tobytes() == y.tobytes() for x, y in zip(reference, leaves))
    budget = settings.n_epochs * settings.batches_per_epoch
    plain_rate = rates["plain per-step jitted loop"]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"jax {jax.__version__}; AL-RNN M={settings.latent_dim}, P={settings.pwl_units}, "
          f"batch {settings.batch_size}, T={settings.sequence_length}")  # fmt: skip
    print(f"{'variant':<30}{'steps/s':>10}{'ms/step':>10}{'vs plain':>10}"
          f"{'2000 epochs':>14}{'same as k=1':>13}")  # fmt: skip
    rows = []
    for name, _ in variants:
        r = rates[name]
        row = {"variant": name, "steps_per_s": r, "ms_per_step": 1e3 / r,
               "vs_plain": r / plain_rate, "budget_min": budget / r / 60,
               "bit_identical_to_k1": same.get(name)}  # fmt: skip
        rows.append(row)
        print(f"{name:<30}{r:>10.1f}{1e3 / r:>10.2f}{r / plain_rate:>9.2f}x"
              f"{budget / r / 60:>11.1f} min{str(same.get(name, '-')):>13}")  # fmt: skip
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"args": vars(a), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
