"""Checkpoint selection for the AL-RNN: which training-data criterion finds the good models?

The AL-RNN reference keeps the checkpoint with the lowest D_stsp between 20 000 generated
steps and the first 20 000 training points. This script trains a seed ensemble with the
reference settings (`dsr.settings("lorenz63")` unless `--set` overrides), keeps **every**
evaluated checkpoint (every `--every` epochs), and scores each one afterwards:

- on the training data only (the candidates for a selection rule):
  - `d20k`: the reference rule (20 000 generated steps vs the first 20 000 training points);
  - `d100k`: 100 000 generated steps from the first training point vs the whole training
    trajectory (the length of the test protocol);
  - `dh100k`: D_H of that same run against the training data;
  - `d100k_multi`: as `d100k`, but 5 runs of 20 000 steps from evenly spaced training
    points, pooled (a spurious second attractor shows here, where one run may miss it);
- on the test data (never used to choose; for judging the rules): D_stsp and D_H with
  the `dsr.evaluate` protocol (125 000 generated steps from the first test point, the first
  25 000 dropped), and `test_multi`: 5 runs of 25 000 steps from evenly spaced test
  points, the first 5 000 of each dropped, pooled.

It prints, per seed, the test D_stsp of the checkpoint each rule picks, the last and the
oracle (the lowest test D_stsp over all checkpoints, the most any rule could get), and the
Spearman rank correlation of each rule with the test D_stsp over the checkpoints.

    python benchmarks/dsr_selection.py --seeds 5 --out outputs/selection
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
from dsr_benchmark import override
from scipy.stats import spearmanr

from dynsys import data, dsr
from dynsys.dsr import _fit as dsr_fit
from dynsys.metrics import power_spectrum_distance, state_space_divergence

# Starts of the multi-start scores (`d100k_multi`, `test_multi`): runs from evenly spaced
# data points, as many steps in all as the single run; a model with a second, spurious
# attractor (a cycle beside the chaotic one) shows in them, where one run may miss it.
MULTI_STARTS = 5


def free_run(model, x0, n):
    """`n` read-out states of the model's free run from the data point `x0`."""

    def body(z, _):
        z = model.step(z)
        return z, model.readout(z)

    z0 = model.init_state(x0)
    _, xs = jax.lax.scan(body, z0, None, length=n - 1)
    return jnp.concatenate([model.readout(z0)[None], xs])


def pooled_free_runs(model, data, n_starts, n, drop=0):
    """`n_starts` free runs of `n` steps from evenly spaced points of `data`, the first
    `drop` steps of each left out, pooled into one `(n_starts * (n - drop), N)` array."""
    starts = data[:: data.shape[0] // n_starts][:n_starts]
    runs = jax.vmap(lambda x0: free_run(model, x0, n)[drop:])(starts)
    return runs.reshape(-1, data.shape[-1])


def scores(model, train, test):
    """Training-data criteria and test scores of one model (see the module docstring)."""
    n = train.shape[0]
    gen20 = free_run(model, train[0], 20_000)
    gen_train = free_run(model, train[0], n)
    gen_multi = pooled_free_runs(model, train, MULTI_STARTS, n // MULTI_STARTS)
    n_test = test.shape[0]
    gen_test = free_run(model, test[0], n_test + n_test // 4)[n_test // 4 :]
    m = n_test // MULTI_STARTS
    gen_test_multi = pooled_free_runs(model, test, MULTI_STARTS, m + m // 4, drop=m // 4)
    finite = lambda v: jnp.where(jnp.isfinite(v), v, jnp.inf)  # noqa: E731
    return {
        "d20k": finite(state_space_divergence(train[:20_000], gen20)),
        "d100k": finite(state_space_divergence(train, gen_train)),
        "dh100k": finite(power_spectrum_distance(train, gen_train)),
        "d100k_multi": finite(state_space_divergence(train, gen_multi)),
        "test_d_stsp": finite(state_space_divergence(test, gen_test)),
        "test_d_h": finite(power_spectrum_distance(test, gen_test)),
        "test_multi": finite(state_space_divergence(test, gen_test_multi)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default="lorenz63")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None, help="default: the settings'")
    parser.add_argument("--every", type=int, default=25, help="epochs between checkpoints")
    parser.add_argument("--set", nargs="+", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--out", default="outputs/selection")
    parser.add_argument(
        "--key", type=int, default=0,
        help="seeds of the ensemble: initialised from key(KEY), trained with key(KEY + 1)",
    )  # fmt: skip
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    bench = data.benchmark(args.system, seed=0)
    train = jnp.asarray(bench.train.states[0])
    test = jnp.asarray(bench.test.states[0])
    s = override(dsr.settings(args.system), args.set)
    if args.epochs is not None:
        s = s.replace(n_epochs=args.epochs)
    n_obs = train.shape[-1]
    ens = dsr.make_ensemble(
        lambda k: dsr.ALRNN(s.latent_dim, s.pwl_units, n_obs, key=k),
        jax.random.key(args.key),
        args.seeds,
    )

    # Keep every checkpoint the reference rule looks at: wrap the selection metric that
    # dsr.fit evaluates between compiled calls (a diagnostic only; dsr.fit is unchanged).
    checkpoints = []
    reference_rule = dsr_fit._training_divergence

    def recording_rule(states, n_eval, ensemble):
        fn = reference_rule(states, n_eval, ensemble)

        def record(model):
            checkpoints.append(jax.tree.map(np.asarray, eqx.filter(model, eqx.is_array)))
            return fn(model)

        return record

    dsr_fit._training_divergence = recording_rule
    t0 = time.perf_counter()
    result = dsr.fit(
        ens, bench.train, key=jax.random.key(args.key + 1), settings=s, ensemble=args.seeds,
        select="best", eval_every=args.every * s.batches_per_epoch, n_eval_steps=20_000,
    )  # fmt: skip
    train_time = time.perf_counter() - t0
    dsr_fit._training_divergence = reference_rule
    _, static = eqx.partition(result.last_model, eqx.is_array)

    score_all = eqx.filter_jit(eqx.filter_vmap(scores, in_axes=(eqx.if_array(0), None, None)))
    t1 = time.perf_counter()
    names = ("d20k", "d100k", "dh100k", "d100k_multi", "test_d_stsp", "test_d_h", "test_multi")
    table = {k: [] for k in names}
    for params in checkpoints:
        model = eqx.combine(jax.tree.map(jnp.asarray, params), static)
        out = score_all(model, train, test)
        for k in table:
            table[k].append(np.asarray(out[k]))
    score_time = time.perf_counter() - t1
    table = {k: np.stack(v) for k, v in table.items()}  # (checkpoints, seeds)
    test_d = table["test_d_stsp"]
    rules = {
        "reference (d20k)": table["d20k"],
        "d100k": table["d100k"],
        "d100k + dh100k": table["d100k"] + table["dh100k"],
        "d100k_multi": table["d100k_multi"],
        "last": None,
        "oracle (test)": test_d,
    }
    report = {"settings": repr(s), "epochs": s.n_epochs, "every": args.every, "key": args.key,
              "train_time_s": train_time, "score_time_s": score_time,
              "n_checkpoints": len(checkpoints),
              "scores": {k: v.tolist() for k, v in table.items()},
              "picked": {}, "spearman": {}}  # fmt: skip
    print(f"{len(checkpoints)} checkpoints × {args.seeds} seeds; training {train_time:.0f} s, "
          f"scoring {score_time:.0f} s")  # fmt: skip
    for name, crit in rules.items():
        idx = (
            np.full(args.seeds, len(checkpoints) - 1)
            if crit is None
            else np.argmin(np.where(np.isfinite(crit), crit, np.inf), axis=0)
        )
        picked = test_d[idx, np.arange(args.seeds)]
        picked_h = table["test_d_h"][idx, np.arange(args.seeds)]
        picked_m = table["test_multi"][idx, np.arange(args.seeds)]
        report["picked"][name] = {"test_d_stsp": picked.tolist(), "test_d_h": picked_h.tolist(),
                                  "test_multi": picked_m.tolist(),
                                  "epoch": ((idx + 1) * args.every).tolist()}  # fmt: skip
        print(f"{name:18s} test D_stsp median {np.median(picked):.3f}  per seed "
              + ", ".join(f"{v:.3f}" for v in picked)
              + f"  | D_H median {np.median(picked_h):.3f}"
              + f"  | multi-start test D_stsp median {np.median(picked_m):.3f}")  # fmt: skip
    for name in ("d20k", "d100k", "dh100k", "d100k_multi"):
        rhos = []
        for i in range(args.seeds):
            ok = np.isfinite(table[name][:, i]) & np.isfinite(test_d[:, i])
            rho = spearmanr(table[name][ok, i], test_d[ok, i])[0] if ok.sum() > 2 else np.nan
            rhos.append(float(rho))
        report["spearman"][name] = rhos
        print(f"Spearman({name}, test D_stsp) per seed: " + ", ".join(f"{r:.2f}" for r in rhos))
    report["machine"] = f"{platform.platform()}, {os.cpu_count()} CPUs, jax {jax.__version__}"
    with open(os.path.join(args.out, "dsr_selection.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
