"""dynsys NeuralODE against torchdiffeq 0.2.5 on its spiral demo (examples/ode_demo.py).

The demo: y' = y³ A, A = [[−0.1, 2], [−2, −0.1]], y(0) = (2, 0), 1000 points on [0, 25];
model y' = MLP(y³) with MLP 2→50→2 (tanh); each iteration draws 20 windows of 10 points,
solves them from their first points with dopri5 (rtol 1e-7, atol 1e-9), L1 loss, RMSprop
1e-3. torchdiffeq solves the 20 windows as **one** ODE on a (20, 1, 2) state with one step
size, and differentiates by backpropagating through the solver's operations (the demo's
default, no adjoint).

Same work on the dynsys side: a [`dynsys.nde.NeuralODE`][] whose state is the stacked
40-dimensional batch (one solve, shared steps, the same RMS error norm), Dopri5 with a PID
controller at the same tolerances, gradients through the solver (recursive checkpointing),
trained with [`dynsys.training.fit`][] and `optax.rmsprop(1e-3, decay=0.99, eps=1e-8,
eps_in_sqrt=False)` (= torch's RMSprop). Identical initial weights (copied from torch),
identical windows at every iteration, float64 on both sides (at rtol 1e-7 float32 is at
its resolution). Reported: seconds per iteration (median, after warm-up/compilation) and
solver steps per iteration on each side; the ratio is quoted at equal steps.

    .venv/bin/python benchmarks/nde_torchdiffeq.py [--iters 60] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402
import torchdiffeq  # noqa: E402

from dynsys import nde, training  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--iters", type=int, default=60)
parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.set_default_dtype(torch.float64)

DATA_SIZE, BATCH_TIME, BATCH_SIZE = 1000, 10, 20
RTOL, ATOL = 1e-7, 1e-9
TRUE_A = np.array([[-0.1, 2.0], [-2.0, -0.1]])


def true_data():
    t = torch.linspace(0.0, 25.0, DATA_SIZE)
    a = torch.tensor(TRUE_A)

    class Lambda(torch.nn.Module):
        def forward(self, t, y):
            return torch.mm(y**3, a)

    with torch.no_grad():
        y = torchdiffeq.odeint(Lambda(), torch.tensor([[2.0, 0.0]]), t, method="dopri5")
    return t, y  # (1000,), (1000, 1, 2)


class TorchFunc(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(2, 50), torch.nn.Tanh(), torch.nn.Linear(50, 2)
        )
        for m in self.net.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, mean=0, std=0.1)
                torch.nn.init.constant_(m.bias, val=0)
        self.nfe = 0

    def forward(self, t, y):
        self.nfe += 1
        return self.net(y**3)


class StackedSpiralField(eqx.Module):
    """y' = MLP(y³) applied to each of the stacked (batch · 2) coordinates' pairs."""

    l1: eqx.nn.Linear
    l2: eqx.nn.Linear

    def __call__(self, t, y, args=None):
        z = y.reshape(-1, 2) ** 3
        h = jnp.tanh(z @ self.l1.weight.T + self.l1.bias)
        return (h @ self.l2.weight.T + self.l2.bias).reshape(-1)


def main():
    t, true_y = true_data()
    rng = np.random.default_rng(0)
    starts = [rng.choice(DATA_SIZE - BATCH_TIME, BATCH_SIZE, replace=False)
              for _ in range(args.iters)]  # fmt: skip
    batch_t = t[:BATCH_TIME]

    def torch_batch(s):
        y0 = true_y[s]  # (20, 1, 2)
        ys = torch.stack([true_y[s + i] for i in range(BATCH_TIME)], dim=0)  # (10, 20, 1, 2)
        return y0, ys

    torch.manual_seed(0)
    func = TorchFunc()
    lin = [m for m in func.net if isinstance(m, torch.nn.Linear)]
    key = jax.random.key(0)

    def copy(m):
        return eqx.nn.Linear(m.in_features, m.out_features, key=key, dtype=jnp.float64)

    l1 = eqx.tree_at(lambda x: (x.weight, x.bias), copy(lin[0]),
                     (jnp.asarray(lin[0].weight.detach().numpy()),
                      jnp.asarray(lin[0].bias.detach().numpy())))  # fmt: skip
    l2 = eqx.tree_at(lambda x: (x.weight, x.bias), copy(lin[1]),
                     (jnp.asarray(lin[1].weight.detach().numpy()),
                      jnp.asarray(lin[1].bias.detach().numpy())))  # fmt: skip
    dim = 2 * BATCH_SIZE
    model = nde.NeuralODE(
        dim, vector_field=StackedSpiralField(l1, l2), solver=diffrax.Dopri5(),
        stepsize_controller=diffrax.PIDController(rtol=RTOL, atol=ATOL), max_steps=4096,
    )  # fmt: skip

    # -- torchdiffeq ---------------------------------------------------------------------
    optimizer = torch.optim.RMSprop(func.parameters(), lr=1e-3)
    torch_times, torch_steps, torch_losses = [], [], []
    for s in starts:
        y0, ys = torch_batch(s)
        t0 = time.perf_counter()
        func.nfe = 0
        optimizer.zero_grad()
        pred = torchdiffeq.odeint(func, y0, batch_t, rtol=RTOL, atol=ATOL, method="dopri5")
        loss = torch.mean(torch.abs(pred - ys))
        loss.backward()
        optimizer.step()
        torch_times.append(time.perf_counter() - t0)
        # dopri5: 2 evaluations to pick the first step, then 6 per step (FSAL).
        torch_steps.append((func.nfe - 2) / 6)
        torch_losses.append(loss.item())

    # -- dynsys --------------------------------------------------------------------------
    ts_j = jnp.asarray(batch_t.numpy())
    true_np = true_y.numpy()[:, 0]  # (1000, 2)
    batches = [
        (jnp.asarray(true_np[s].reshape(-1)),
         jnp.asarray(np.stack([true_np[s + i] for i in range(BATCH_TIME)]).reshape(BATCH_TIME, -1)))
        for s in starts
    ]  # fmt: skip

    def loss_fn(m, batch, key):
        y0, ys = batch
        return jnp.mean(jnp.abs(m(ts_j, y0, throw=False) - ys))

    stamps = []

    def clock(m):
        stamps.append(time.perf_counter())
        return {}

    t_start = time.perf_counter()
    result = training.fit(
        model, loss_fn, lambda step, key: batches[step],
        optimizer=optax.rmsprop(1e-3, decay=0.99, eps=1e-8, eps_in_sqrt=False),
        n_steps=args.iters, key=jax.random.key(0), progress=False,
        evaluation=training.Evaluation(clock, every=1),
    )  # fmt: skip
    dyn_times = np.diff(np.r_[t_start, stamps])

    # Solver steps per iteration on the dynsys side: re-solve each batch with the weights
    # the model had at that iteration is not available afterwards, so count the steps of
    # the same batches for the initial and the final model (they bracket the run).
    @eqx.filter_jit
    def count_steps(m, y0):
        return m.solve(ts_j, y0).stats["num_steps"]

    steps_init = np.array([int(count_steps(model, b[0])) for b in batches])
    steps_final = np.array([int(count_steps(result.model, b[0])) for b in batches])
    torch_steps = np.asarray(torch_steps)

    warm = 5
    tt = np.median(torch_times[warm:])
    dt = np.median(dyn_times[warm:])
    print(f"torch {torch.__version__}, torchdiffeq {torchdiffeq.__version__} "
          f"({args.threads} thread); jax {jax.__version__}, diffrax {diffrax.__version__}; "
          "float64; CPU shared with other jobs")  # fmt: skip
    print(f"{args.iters} iterations, same windows on both sides, median over iterations "
          f"{warm}..{args.iters - 1}")  # fmt: skip
    print()
    print("| | s/iteration (median) | solver steps / iteration (mean) | first loss | last loss |")
    print("|---|---|---|---|---|")
    print(f"| torchdiffeq dopri5 | {tt:.4f} | {torch_steps.mean():.1f} | {torch_losses[0]:.4f} | "
          f"{torch_losses[-1]:.4f} |")  # fmt: skip
    h = result.history["loss"]
    print(f"| dynsys NeuralODE Dopri5 | {dt:.4f} | {steps_init.mean():.1f} (initial weights), "
          f"{steps_final.mean():.1f} (final) | {h[0]:.4f} | {h[-1]:.4f} |")  # fmt: skip
    ratio = tt / dt
    per_step = (tt / torch_steps.mean()) / (dt / (0.5 * (steps_init.mean() + steps_final.mean())))
    print(f"\nspeed-up of dynsys (s/iteration): {ratio:.2f}x; per solver step: {per_step:.2f}x")
    print(f"target dynsys >= 1.3x faster: {'met' if ratio >= 1.3 else 'MISSED'}")


if __name__ == "__main__":
    main()
