"""Training throughput: dynsys's teacher-forcing loop vs a straightforward PyTorch version.

Both sides train the same model with the same protocol: the AL-RNN (M=20, P=2, N=3,
identity observation) on the Lorenz-63 benchmark with sparse teacher forcing, i.e. the
AL-RNN reference settings `dynsys.dsr.settings("lorenz63").replace(pwl_units=2)`
(Brenner et al., NeurIPS 2024, and the ALRNN-DSR reference code's
settings/lorenz63.json): τ = 16, windows of T̃ + 1 = 201 points, batch 16 drawn uniformly
with replacement, Gaussian batch noise 0.05, MSE between the read-out **unforced**
predictions z_t[:N] and x_1..x_T, RAdam with the per-epoch exponential learning-rate
decay, float32.

- **dynsys**: `dynsys.dsr.fit` (one compiled step per batch, `jax.lax.scan` over time).
  Each `fit` call compiles its step afresh, so the script times two calls of different
  length, `n_steps = warmup` and `n_steps = warmup + dynsys_steps`, and reports
  `dynsys_steps / (wall_long − wall_short)`: the fixed costs (tracing, compilation, set-up) cancel.
  dynsys gets 10× more timed steps than torch by default, so that its timed stretch is
  long compared with the run-to-run jitter of the compile time.
  The compile-inclusive rate of the long call (`result.fit.steps_per_second`) is printed too.
- **PyTorch**: an `nn.Module` with A (vector), W (M×M), h and L (z₀ = [x₀; L x₀]), written
  as a researcher would from the AL-RNN tutorial: a Python loop over the 200 time steps,
  every τ-th step the first N units replaced by the data (so no gradient flows through them),
  `torch.optim.RAdam` with `ExponentialLR` stepped once per epoch of 50 batches; same
  initialisation scales (A = diag of the normalised positive-definite matrix,
  W ~ N(0, 0.01²), h = 0, L ~ U(±1/√N)). Timed over `torch_steps` steps after `warmup`.
  Before timing, both implementations get the same parameters and batch and must give the
  same loss and gradients (printed).

Both sides run back to back in one process (so they see the same machine load), first with
all cores (`torch.set_num_threads(os.cpu_count())`, XLA's default thread pool), then, with
`--single-thread` (default on), again in a child process pinned to one core
(`sched_setaffinity`, `XLA_FLAGS=--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1`, `torch.set_num_threads(1)`). `OMP_WAIT_POLICY` defaults
to `PASSIVE` here: with torch's default busy-waiting OpenMP threads, 2 torch threads on a
2-core machine shared with another job ran ~40× slower (0.3 vs 12 steps/s).

torch is an optional dependency (the `bench` extra) and is imported only here:

    pip install -e ".[bench]"       # or: pip install torch  (a CPU wheel is enough)
    python benchmarks/gtf_throughput.py          # 3000 dynsys / 300 torch timed steps
    python benchmarks/gtf_throughput.py --dynsys-steps 10000 --torch-steps 1000 --no-single-thread
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def load_data(n_steps: int):
    """Training trajectory of the Lorenz-63 benchmark as a float32 numpy array (time, 3)."""
    import numpy as np

    from dynsys import data

    bench = data.benchmark("lorenz63", n_steps=n_steps)
    return np.asarray(bench.train.states[0], dtype=np.float32)


def time_dynsys(train, warmup: int, steps: int, seed: int) -> dict:
    """Steps/s of `dynsys.dsr.fit` from the difference of a short and a long call."""
    import jax

    from dynsys import dsr

    s = dsr.settings("lorenz63").replace(pwl_units=2)  # the reference P
    model = dsr.ALRNN(s.latent_dim, s.pwl_units, train.shape[-1], key=jax.random.key(seed))

    def run(n):
        t0 = time.perf_counter()
        result = dsr.fit(model, train, key=jax.random.key(seed + 1), settings=s, n_steps=n,
                         progress=False)  # fmt: skip
        jax.block_until_ready(result.last_model)
        return time.perf_counter() - t0, result

    t_short, _ = run(warmup)
    t_long, result = run(warmup + steps)
    return {
        "steps_per_second": steps / (t_long - t_short),
        "with_compile": result.fit.steps_per_second,
        "seconds": t_long - t_short,
        "final_loss": float(result.fit.history["loss"][-1]),
    }


def torch_alrnn(latent_dim: int, pwl_units: int, obs_dim: int, tau: int):
    """The PyTorch AL-RNN with sparse teacher forcing, as written from the AL-RNN tutorial."""
    import torch
    from torch import nn

    M, P, N = latent_dim, pwl_units, obs_dim  # noqa: N806 (paper notation)

    class ALRNN(nn.Module):
        def __init__(self):
            super().__init__()
            r = torch.randn(M, M)
            k = r.T @ r / M + torch.eye(M)
            k = k / torch.linalg.eigvalsh(k)[-1]
            self.A = nn.Parameter(torch.diag(k).clone())
            self.W = nn.Parameter(0.01 * torch.randn(M, M))
            self.h = nn.Parameter(torch.zeros(M))
            self.L = nn.Parameter(torch.empty(M - N, N).uniform_(-(N**-0.5), N**-0.5))

        def step(self, z):
            phi = torch.cat([z[:, : M - P], torch.relu(z[:, M - P :])], dim=1)
            return self.A * z + phi @ self.W.T + self.h

        def forward(self, x):
            # x: (batch, T + 1, N). Returns the unforced predictions read out, (batch, T, N).
            z = torch.cat([x[:, 0], x[:, 0] @ self.L.T], dim=1)
            preds = []
            for t in range(1, x.shape[1]):
                z = self.step(z)
                preds.append(z[:, :N])
                if t % tau == 0:
                    z = torch.cat([x[:, t], z[:, N:]], dim=1)
            return torch.stack(preds, dim=1)

    return ALRNN()


def check_equivalence(train, seed: int) -> dict:
    """Same parameters and batch: loss and gradients of both implementations must agree."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch

    from dynsys import dsr
    from dynsys.data import sample_windows

    s = dsr.settings("lorenz63").replace(pwl_units=2)  # the reference P
    model = dsr.ALRNN(s.latent_dim, s.pwl_units, train.shape[-1], key=jax.random.key(seed))
    windows = sample_windows(jax.random.key(seed + 2), jnp.asarray(train),
                             window=s.sequence_length + 1, batch_size=s.batch_size,
                             noise_std=s.noise_std)  # fmt: skip

    @eqx.filter_value_and_grad
    def jax_loss(m):
        rollout = lambda w: dsr.forced_rollout(m, w, alpha=1.0, tau=s.tau)  # noqa: E731
        return jnp.mean((m.readout(jax.vmap(rollout)(windows)) - windows[:, 1:]) ** 2)

    loss_j, grads_j = jax_loss(model)
    net = torch_alrnn(s.latent_dim, s.pwl_units, train.shape[-1], s.tau)
    with torch.no_grad():
        for name in ("A", "W", "h"):
            getattr(net, name).copy_(torch.from_numpy(np.array(getattr(model, name))))
        net.L.copy_(torch.from_numpy(np.array(model.observation.L)))
    x = torch.from_numpy(np.array(windows))
    loss_t = torch.nn.functional.mse_loss(net(x), x[:, 1:])
    loss_t.backward()
    pairs = [(grads_j.A, net.A), (grads_j.W, net.W), (grads_j.h, net.h),
             (grads_j.observation.L, net.L)]  # fmt: skip
    grad_err = max(
        float(np.max(np.abs(np.asarray(g) - p.grad.numpy())) / np.max(np.abs(np.asarray(g))))
        for g, p in pairs
    )
    return {"loss_dynsys": float(loss_j), "loss_torch": loss_t.item(), "grad_rel_err": grad_err}


def time_torch(train, warmup: int, steps: int, seed: int, threads: int) -> dict:
    """Steps/s of the straightforward PyTorch AL-RNN + sparse teacher forcing loop."""
    import torch

    from dynsys import dsr

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    s = dsr.settings("lorenz63").replace(pwl_units=2)  # the reference P
    window, batch_size = s.sequence_length + 1, s.batch_size
    data = torch.from_numpy(train)
    offsets = torch.arange(window)
    model = torch_alrnn(s.latent_dim, s.pwl_units, train.shape[-1], s.tau)
    optimizer = torch.optim.RAdam(model.parameters(), lr=s.start_lr)
    gamma = (s.end_lr / s.start_lr) ** (1.0 / s.n_epochs)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)
    loss_fn = torch.nn.MSELoss()

    def train_step(i):
        starts = torch.randint(0, data.shape[0] - window + 1, (batch_size,))
        x = data[starts[:, None] + offsets]
        x = x + s.noise_std * torch.randn_like(x)
        optimizer.zero_grad()
        loss = loss_fn(model(x), x[:, 1:])
        loss.backward()
        optimizer.step()
        if (i + 1) % s.batches_per_epoch == 0:
            scheduler.step()
        return loss.item()

    for i in range(warmup):
        train_step(i)
    t0 = time.perf_counter()
    for i in range(warmup, warmup + steps):
        loss = train_step(i)
    seconds = time.perf_counter() - t0
    return {"steps_per_second": steps / seconds, "seconds": seconds, "final_loss": loss}


def measure(args, train, threads: int) -> dict:
    dynsys_result = time_dynsys(train, args.warmup, args.dynsys_steps, args.seed)
    torch_result = time_torch(train, args.warmup, args.torch_steps, args.seed, threads)
    return {"threads": threads, "dynsys": dynsys_result, "torch": torch_result}


def single_thread_child(args) -> dict:
    """Re-run this script pinned to one core, with single-threaded XLA and torch."""
    env = dict(os.environ, XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " " + SINGLE_THREAD_XLA))
    cmd = [sys.executable, __file__, "--child", "--dynsys-steps", str(args.dynsys_steps),
           "--torch-steps", str(args.torch_steps), "--warmup", str(args.warmup),
           "--seed", str(args.seed), "--data-steps", str(args.data_steps)]  # fmt: skip
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine_info() -> dict:
    import jax
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dynsys-steps", type=int, default=3000, help="timed dynsys steps")
    parser.add_argument("--torch-steps", type=int, default=300, help="timed torch steps")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps per side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-steps", type=int, default=100_000, help="benchmark length")
    parser.add_argument(
        "--single-thread",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure both sides pinned to one core (child process)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # libgomp reads this when torch is first imported (below, never at module level). Its
    # default, busy-waiting threads, collapses torch to ~0.3 steps/s with 2 threads on a
    # loaded 2-core machine; passive waiting costs nothing on an idle one. Override by
    # setting OMP_WAIT_POLICY yourself.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    if args.child:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        print(json.dumps(measure(args, load_data(args.data_steps), threads=1)))
        return

    load_before = os.getloadavg()
    train = load_data(args.data_steps)
    check = check_equivalence(train, args.seed)
    rows = [measure(args, train, threads=os.cpu_count())]
    if args.single_thread:
        rows.append(single_thread_child(args))
    load_after = os.getloadavg()

    info = machine_info()
    print("## GTF training throughput: dynsys vs PyTorch\n")
    print(
        "AL-RNN M=20, P=2, N=3 on Lorenz-63, sparse teacher forcing τ=16, T̃=200, batch 16, "
        "noise 0.05, RAdam, float32.\n"
    )
    print("| threads | dynsys steps/s | dynsys incl. compile | torch steps/s | dynsys / torch |")
    print("|---|---|---|---|---|")
    for row in rows:
        d, t = row["dynsys"], row["torch"]
        ratio = d["steps_per_second"] / t["steps_per_second"]
        print(
            f"| {row['threads']} | {d['steps_per_second']:.1f} | {d['with_compile']:.1f} "
            f"| {t['steps_per_second']:.1f} | {ratio:.2f}× |"
        )
    print()
    print(
        f"dynsys: {args.dynsys_steps} / (wall(fit, {args.warmup}+{args.dynsys_steps} steps) − "
        f"wall(fit, {args.warmup} steps)); compilation and set-up cancel. torch: "
        f"{args.torch_steps} / wall time of {args.torch_steps} steps after {args.warmup} "
        "untimed steps."
    )
    print("The 1-thread row runs in a child process pinned to one core.\n")
    print(f"- command: `{' '.join([os.path.basename(sys.executable), *sys.argv])}`")
    for name, value in info.items():
        print(f"- {name}: {value}")
    print(f"- OMP_WAIT_POLICY: {os.environ['OMP_WAIT_POLICY']}")
    print(
        f"- load average (1/5/15 min) before: {load_before[0]:.2f} / {load_before[1]:.2f} / "
        f"{load_before[2]:.2f}, after: {load_after[0]:.2f} / {load_after[1]:.2f} / "
        f"{load_after[2]:.2f}"
    )
    final = ", ".join(
        f"{r['threads']} thr: dynsys {r['dynsys']['final_loss']:.4f} after "
        f"{args.warmup + args.dynsys_steps} steps, torch {r['torch']['final_loss']:.4f} after "
        f"{args.warmup + args.torch_steps}"
        for r in rows
    )
    print(
        f"- same model check (equal parameters, one batch): loss dynsys {check['loss_dynsys']:.6f}"
        f", torch {check['loss_torch']:.6f}, max relative gradient difference "
        f"{check['grad_rel_err']:.1e}"
    )
    print(f"- last training loss (both fall from ~1): {final}")


if __name__ == "__main__":
    main()
