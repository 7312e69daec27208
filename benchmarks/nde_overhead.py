"""Overhead of `dynsys.nde.fit` against a hand-written diffrax + equinox + optax loop.

Settings of the diffrax neural ODE example (docs/examples/neural_ode.ipynb): data from
x' = y/(1+y), y' = −x/(1+x), y0 ~ U[−0.6, 1]², 256 series on linspace(0, 10, 100); vector
field learnt scale × tanh(MLP 2→64→64→2, softplus); Tsit5, PID rtol 1e-3 / atol 1e-6,
`dt0 = ts[1] − ts[0]`, recursive checkpoint adjoint; batch 32; AdaBelief 3e-3; length
curriculum 10 % then 100 %, fresh optimiser state per phase. Both sides start from the
same weights and run in the same process, alternating phase by phase. Per-step times are
taken at the host after each step has finished (`block_until_ready` on the hand-written
side; the training core synchronises on the loss every step, timed through `eval_fn`).
Compilations are counted as traces of the loss per phase.

    python benchmarks/nde_overhead.py [--steps 100] [--float64]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--steps", type=int, default=100, help="steps per curriculum phase")
parser.add_argument("--float64", action="store_true")
parser.add_argument("--repeats", type=int, default=2, help="A/B repetitions")
args = parser.parse_args()
if args.float64:
    jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from dynsys import nde  # noqa: E402

LENGTHS = (0.1, 1.0)


def make_data(key, n=256):
    ts = jnp.linspace(0.0, 10.0, 100)
    y0 = jax.random.uniform(key, (n, 2), minval=-0.6, maxval=1.0)

    def rhs(t, y, args):
        return jnp.stack([y[1] / (1 + y[1]), -y[0] / (1 + y[0])])

    def solve(y):
        sol = diffrax.diffeqsolve(diffrax.ODETerm(rhs), diffrax.Tsit5(), ts[0], ts[-1], 0.1, y,
                                  saveat=diffrax.SaveAt(ts=ts))  # fmt: skip
        return sol.ys

    return ts, jax.vmap(solve)(y0)


def hand_written(model, ts, ys, steps, key):
    """The diffrax example's loop: a filter_jit'd step, numpy-free batch draw on device."""

    def forward(vf, ti, y0):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(vf), diffrax.Tsit5(), t0=ti[0], t1=ti[-1], dt0=ti[1] - ti[0], y0=y0,
            stepsize_controller=diffrax.PIDController(rtol=1e-3, atol=1e-6),
            saveat=diffrax.SaveAt(ts=ti),
        )  # fmt: skip
        return sol.ys

    def run_phase(vf, ti, yi, phase):
        optim = optax.adabelief(3e-3)
        opt_state = optim.init(eqx.filter(vf, eqx.is_inexact_array))
        count = [0]

        @eqx.filter_value_and_grad
        def loss(vf, yb):
            count[0] += 1
            pred = jax.vmap(forward, in_axes=(None, None, 0))(vf, ti, yb[:, 0])
            return jnp.mean((yb - pred) ** 2)

        @eqx.filter_jit
        def step(vf, opt_state, k):
            # The same draw as the training core's batch key: identical batches on both sides.
            batch_key = jax.random.split(k)[0]
            idx = jax.random.choice(batch_key, yi.shape[0], (32,), replace=False)
            value, grads = loss(vf, yi[idx])
            params = eqx.filter(vf, eqx.is_inexact_array)
            updates, opt_state = optim.update(grads, opt_state, params)
            return eqx.apply_updates(vf, updates), opt_state, value

        phase_times = []
        for i in range(steps):
            t0 = time.perf_counter()
            k = jax.random.fold_in(jax.random.fold_in(key, phase), i)
            vf, opt_state, value = step(vf, opt_state, k)
            jax.block_until_ready(value)
            phase_times.append(time.perf_counter() - t0)
        return vf, np.asarray(phase_times), count[0], float(value)

    times, traces = [], []
    vf = model.vector_field
    for phase, frac in enumerate(LENGTHS):
        length = int(np.ceil(frac * ys.shape[1]))
        vf, phase_times, n_traces, value = run_phase(vf, ts[:length], ys[:, :length], phase)
        times.append(phase_times)
        traces.append(n_traces)
    return times, traces, value


def with_dynsys(model, ts, ys, steps, key):
    stamps = []

    def clock(m):
        stamps.append(time.perf_counter())
        return {}

    t0 = time.perf_counter()
    result = nde.fit(model, ys, ts=ts, key=key, steps=(steps, steps), lengths=LENGTHS,
                     batch_size=32, optimizer=optax.adabelief(3e-3), progress=False,
                     eval_fn=clock, eval_every=1)  # fmt: skip
    stamps = np.asarray(stamps)
    # Each phase: a compile-including first step, then one stamp per finished step.
    first = stamps[0] - t0
    phase1 = np.diff(stamps[:steps])
    phase2 = np.diff(stamps[steps:])
    return (
        [np.r_[first, phase1], np.r_[np.nan, phase2]],
        result.traces,
        float(result.history["loss"][-1]),
    )


def main():
    key = jax.random.key(5678)
    k_data, k_model, k_train = jax.random.split(key, 3)
    ts, ys = make_data(k_data)
    model = nde.NeuralODE(2, key=k_model, width=64, depth=2)
    bits = 64 if args.float64 else 32
    print(f"jax {jax.__version__}, diffrax {diffrax.__version__}, equinox {eqx.__version__}, "
          f"optax {optax.__version__}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs (shared with other jobs); float{bits}")  # fmt: skip
    print(f"{args.steps} steps per phase, lengths {LENGTHS}, batch 32, {args.repeats} A/B repeats")
    # Alternate the two sides (A B A B) so that load changes on the shared machine hit both.
    hw_all, ds_all = [[], []], [[], []]
    for _ in range(args.repeats):
        hw_times, hw_traces, hw_loss = hand_written(model, ts, ys, args.steps, k_train)
        ds_times, ds_traces, ds_loss = with_dynsys(model, ts, ys, args.steps, k_train)
        for phase in range(2):
            hw_all[phase].append(hw_times[phase][1:])
            ds_all[phase].append(ds_times[phase][1:])
    rows = []
    for phase in range(2):
        hw = np.median(np.concatenate(hw_all[phase]))
        ds = np.nanmedian(np.concatenate(ds_all[phase]))
        rows.append((phase, hw, ds, ds / hw))
    print()
    print("| phase | points | hand-written median step | dynsys median step | ratio | "
          "compilations (hand / dynsys) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for phase, hw, ds, ratio in rows:
        n_pts = int(np.ceil(LENGTHS[phase] * 100))
        print(f"| {phase} | {n_pts} | {1e3 * hw:.2f} ms | {1e3 * ds:.2f} ms | {ratio:.3f} | "
              f"{hw_traces[phase]} / {ds_traces[phase]} |")  # fmt: skip
    print(f"\nfinal loss: hand-written {hw_loss:.6g}, dynsys {ds_loss:.6g} (identical batches; "
          "equal up to float32 rounding)")  # fmt: skip
    worst = max(r[3] for r in rows)
    ok_ratio = "met" if worst <= 1.1 else "MISSED"
    ok_traces = "met" if all(t == 1 for t in ds_traces) else "MISSED"
    print(f"target ratio <= 1.1: {ok_ratio} (worst {worst:.3f}); one compilation per phase: "
          f"{ok_traces} {ds_traces}")  # fmt: skip


if __name__ == "__main__":
    main()
