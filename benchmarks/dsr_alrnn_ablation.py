"""Ablations of the Lorenz-63 AL-RNN training: forcing, noise, P, invariant-measure terms.

A diagnosis tool for the AL-RNN geometry defect (docs/benchmarks.md, "AL-RNN on Lorenz-63:
diagnosis"). It trains a `jax.vmap` ensemble of seeds with one compiled call per epoch (50
steps in a `lax.scan`; about 800 model-steps/s on one core, as for a 5-seed `dsr.fit`
ensemble), with the reference settings of `dsr.settings("lorenz63")` unless a flag
changes them:

- forcing: sparse teacher forcing every `--tau0` steps (a linear or geometric ramp to
  `--tau1` between the fractions `--ramp` of training), with strength `--alpha` (1: replace,
  the AL-RNN reference; `--tau0 1 --tau1 1 --alpha 0.2`: generalized teacher forcing with a
  constant α); `--full` forces all M units towards `init_state(x)` instead of the first N;
- `--noise` (batch noise), `--data-noise` (noise of the training copy), `--burn` (leading
  steps of each window left out of the loss), `--P`, `--M`, `--T` (sequence length);
- an invariant-measure term on free runs of `--K` steps from `--chains` random training
  points (the second half of each run, every `--every`-th state): the sliced 2-Wasserstein
  distance to as many training points over `--proj` random directions (`--sw WEIGHT`) or
  the Gaussian-kernel MMD² with bandwidths `--bw` (`--mmd WEIGHT`).

Every 25 epochs each member's D_stsp between 20 000 generated steps and the training data is
computed and the best checkpoint kept (the AL-RNN reference's selection). Both the last and
the best model of each seed are then scored with `dsr.evaluate` on the clean test
trajectory; "miss" is the fraction of the true mass in D_stsp cells (30 bins) the generated
run never visits.

    python benchmarks/dsr_alrnn_ablation.py --epochs 300 --seeds 3 --P 10
    python benchmarks/dsr_alrnn_ablation.py --epochs 400 --tau1 200        # tau curriculum
    python benchmarks/dsr_alrnn_ablation.py --epochs 300 --tau0 1 --tau1 1 --alpha 0.2 --noise 0
"""

import argparse
import json
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import dynsys
from dynsys import data, dsr
from dynsys.data import sample_windows
from dynsys.metrics import state_space_divergence

BATCHES_PER_EPOCH = 50


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=500)
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--tau0", type=int, default=16)
    p.add_argument("--tau1", type=int, default=16)
    p.add_argument("--ramp", type=float, nargs=2, default=(0.2, 0.6))
    p.add_argument("--geometric", action="store_true", help="geometric tau ramp")
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--full", action="store_true", help="force all units towards init_state")
    p.add_argument("--P", type=int, default=2)
    p.add_argument("--M", type=int, default=20)
    p.add_argument("--T", type=int, default=200)
    p.add_argument("--noise", type=float, default=0.05, help="batch noise")
    p.add_argument("--data-noise", type=float, default=0.05, help="noise of the train copy")
    p.add_argument("--burn", type=int, default=0)
    p.add_argument("--lr0", type=float, default=1e-3)
    p.add_argument("--sw", type=float, default=0.0, help="sliced-Wasserstein weight")
    p.add_argument("--proj", type=int, default=32)
    p.add_argument("--mmd", type=float, default=0.0, help="MMD weight")
    p.add_argument("--bw", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    p.add_argument("--K", type=int, default=200)
    p.add_argument("--chains", type=int, default=32)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--out", default=None, help="JSON file for the results")
    return p.parse_args()


def main():
    a = parse_args()
    bench = data.benchmark("lorenz63", noise=a.data_noise)
    X = bench.train.states.astype(jnp.float32)
    n_steps = a.epochs * BATCHES_PER_EPOCH
    decay = (1e-5 / a.lr0) ** (1 / a.epochs)
    opt = optax.radam(optax.exponential_decay(a.lr0, BATCHES_PER_EPOCH, decay))

    def tau_at(step):
        r = jnp.clip((step / n_steps - a.ramp[0]) / (a.ramp[1] - a.ramp[0]), 0.0, 1.0)
        t = a.tau0 * (a.tau1 / a.tau0) ** r if a.geometric else a.tau0 + (a.tau1 - a.tau0) * r
        return jnp.round(t).astype(jnp.int32)

    def rollout(m, w, tau):
        signal = jax.vmap(m.init_state)(w) if a.full else m.forcing_signal(w)
        zhat = jax.lax.stop_gradient(signal)
        nf = zhat.shape[-1]
        forced = (jnp.arange(1, w.shape[0]) % tau) == 0

        def body(zt, xs):
            target, force = xs
            z = m.step(zt)
            head = jnp.where(force, (1 - a.alpha) * z[:nf] + a.alpha * target, z[:nf])
            return jnp.concatenate([head, z[nf:]]), z

        _, zs = jax.lax.scan(body, m.init_state(w[0]), (zhat[1:], forced))
        return zs

    def free_points(m, x0s):
        def run(x0):
            def body(z, _):
                z = m.step(z)
                return z, z

            _, zs = jax.lax.scan(body, m.init_state(x0), None, length=a.K)
            return m.readout(zs[a.K // 2 :: a.every])

        return jax.vmap(run)(x0s).reshape(-1, 3)

    def mmd2(x, y):
        xy = jnp.concatenate([x, y])
        d2 = jnp.sum((xy[:, None] - xy[None]) ** 2, -1)
        k = sum(jnp.exp(-d2 / (2 * h * h)) for h in a.bw)
        n = x.shape[0]
        return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()

    def loss_fn(m, windows, tau, key):
        zs = jax.vmap(lambda w: rollout(m, w, tau))(windows)
        loss = jnp.mean((m.readout(zs[:, a.burn :]) - windows[:, 1 + a.burn :]) ** 2)
        if a.sw > 0:
            k1, k2, k3 = jax.random.split(key, 3)
            gen = free_points(m, X[0, jax.random.randint(k1, (a.chains,), 0, X.shape[1])])
            ref = X[0, jax.random.randint(k2, (gen.shape[0],), 0, X.shape[1])]
            d = jax.random.normal(k3, (3, a.proj))
            d = d / jnp.linalg.norm(d, axis=0)
            pg, pr = jnp.sort(gen @ d, axis=0), jnp.sort(ref @ d, axis=0)
            loss = loss + a.sw * jnp.mean((pg - pr) ** 2)
        if a.mmd > 0:
            k1, k2 = jax.random.split(key)
            gen = free_points(m, X[0, jax.random.randint(k1, (a.chains,), 0, X.shape[1])])
            ref = X[0, jax.random.randint(k2, (gen.shape[0],), 0, X.shape[1])]
            loss = loss + a.mmd * mmd2(gen, ref)
        return loss

    models = eqx.filter_vmap(lambda k: dynsys.ALRNN(a.M, a.P, 3, key=k))(
        jax.random.split(jax.random.key(0), a.seeds)
    )
    params, static = eqx.partition(models, eqx.is_array)
    opt_state = jax.vmap(opt.init)(params)

    def one_step(params, opt_state, key, step):
        tau = tau_at(step)

        def single(p, o, k):
            k, km = jax.random.split(k)
            w = sample_windows(k, X, window=a.T + 1, batch_size=16, noise_std=a.noise)
            loss, g = jax.value_and_grad(lambda p: loss_fn(eqx.combine(p, static), w, tau, km))(p)
            u, o = opt.update(g, o, p)
            return optax.apply_updates(p, u), o, loss

        return jax.vmap(single)(params, opt_state, jax.random.split(key, a.seeds))

    @jax.jit
    def epoch(params, opt_state, key, step0):
        def body(c, i):
            p, o, loss = one_step(*c, jax.random.fold_in(key, i), step0 + i)
            return (p, o), loss

        (params, opt_state), ls = jax.lax.scan(
            body, (params, opt_state), jnp.arange(BATCHES_PER_EPOCH)
        )
        return params, opt_state, ls.mean(0)

    reference = X[0, :20000]

    @jax.jit
    def score(params):
        def one(p):
            m = eqx.combine(p, static)

            def body(z, _):
                z = m.step(z)
                return z, z

            _, zs = jax.lax.scan(body, m.init_state(reference[0]), None, length=20000)
            v = state_space_divergence(reference, m.readout(zs))
            return jnp.where(jnp.isfinite(v), v, jnp.inf)

        return jax.vmap(one)(params)

    best, best_score = params, jnp.full(a.seeds, jnp.inf)
    t0 = time.time()
    key = jax.random.key(1)
    for e in range(a.epochs):
        params, opt_state, ls = epoch(params, opt_state, jax.random.fold_in(key, e), e * 50)
        if (e + 1) % 25 == 0:
            sc = score(params)
            better = sc < best_score

            def pick(b, p, better=better):
                return jnp.where(better.reshape((-1,) + (1,) * (p.ndim - 1)), p, b)

            best = jax.tree.map(pick, best, params)
            best_score = jnp.minimum(best_score, sc)
        if e % 100 == 0 or e == a.epochs - 1:
            loss = np.asarray(ls).round(4)
            print(e, int(tau_at(e * 50)), loss, f"{time.time() - t0:.0f}s", flush=True)
    train_time = time.time() - t0
    print("best training D_stsp", np.asarray(best_score).round(3))

    x = np.asarray(bench.test.states[0])
    sd = x.std(0)
    lo, hi = x.min(0) - 0.1 * sd, x.max(0) + 0.1 * sd

    def cells(q):
        return np.clip(((q - lo) / (hi - lo) * 30).astype(int), 0, 29)

    res = []
    for which, tree in (("last", params), ("best", best)):
        for i in range(a.seeds):
            m = eqx.combine(jax.tree.map(lambda v, i=i: v[i], tree), static)
            ev = dsr.evaluate(m, bench.test, lyapunov_steps=5000)
            g = np.asarray(ev.generated)
            visited = set(map(tuple, cells(g)))
            miss = float(np.mean([tuple(c) not in visited for c in cells(x)]))
            fps = dsr.fixed_points(m).real() if a.P <= 12 else None
            radii = [] if fps is None else np.asarray(fps.spectral_radius).round(5).tolist()
            readouts = [] if fps is None else np.asarray(m.readout(fps.points)).round(2).tolist()
            r = dict(which=which, seed=i, d_stsp=ev.d_stsp, d_h=ev.d_h, pe=ev.pe,
                     lmax=ev.lambda_max, nsub=ev.n_subregions, miss=miss,
                     gmin=g.min(0).round(2).tolist(), gmax=g.max(0).round(2).tolist(),
                fixed_point_radius=radii, fixed_point_x=readouts)  # fmt: skip
            print(r, flush=True)
            res.append(r)
    print("ARGS", vars(a))
    for which in ("last", "best"):
        rows = [r for r in res if r["which"] == which]
        print(
            f"MEDIAN {which} d_stsp {np.median([r['d_stsp'] for r in rows]):.3f} "
            f"d_h {np.median([r['d_h'] for r in rows]):.3f} train {train_time:.0f}s"
        )
    if a.out:
        with open(a.out, "w") as f:
            json.dump(dict(args=vars(a), res=res, train_time=train_time), f)


if __name__ == "__main__":
    main()
