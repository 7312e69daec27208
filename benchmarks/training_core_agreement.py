"""Before/after agreement of the training-core redesign: one short training per family.

Each family trains a small model on fixed seeds through its public `fit`; the script
records the per-step loss history and a checksum of the trained parameters. Run it on the
code before the redesign and after it, then compare:

    PYTHONPATH=OLD/src python benchmarks/training_core_agreement.py --out before.json
    python benchmarks/training_core_agreement.py --out after.json
    python benchmarks/training_core_agreement.py --compare before.json after.json

"identical" means every loss of every step and every parameter bit agree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import time

import equinox as eqx
import jax
import numpy as np

jax.config.update("jax_enable_x64", True)


def _checksum(model) -> str:
    digest = hashlib.sha256()
    for leaf in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array)):
        digest.update(np.ascontiguousarray(np.asarray(leaf)).tobytes())
    return digest.hexdigest()


def _record(history: dict, model) -> dict:
    return {
        "history": {k: np.asarray(v).tolist() for k, v in history.items()},
        "params": _checksum(model),
    }


# -- dsr ---------------------------------------------------------------------------------
def run_dsr() -> dict:
    """AL-RNN, 2-member ensemble, adaptive α, best selection on the training D_stsp."""
    from dynsys import data, dsr

    bench = data.benchmark("lorenz63", n_steps=3000)
    s = dsr.settings("lorenz63").replace(sequence_length=50, batch_size=8, batches_per_epoch=10)
    model = dsr.make_ensemble(lambda k: dsr.ALRNN(8, 3, 3, key=k), jax.random.key(0), 2)
    result = dsr.fit(
        model, bench.train, key=jax.random.key(1), settings=s, n_steps=60, ensemble=2,
        select="best", eval_every=20, n_eval_steps=1000, progress=False,
    )  # fmt: skip
    out = _record(result.fit.history, result.model)
    out["eval"] = np.asarray(result.fit.eval_history["d_stsp"]).tolist()
    return out


# -- nde ---------------------------------------------------------------------------------
def run_nde() -> dict:
    """NeuralODE: a 2-phase curriculum of learned-IC multiple shooting with the default
    optimizer and an eval_fn; a NeuralSDE (damped linear oscillator data)."""
    import diffrax
    import jax.numpy as jnp
    import optax

    from dynsys import nde

    matrix = jnp.array([[-0.1, 1.3], [-1.0, -0.1]])
    ts = jnp.linspace(0.0, 2.0, 21)
    y0 = jax.random.normal(jax.random.key(0), (8, 2))
    ys = jax.vmap(lambda y: jax.vmap(lambda t: jax.scipy.linalg.expm(matrix * t) @ y)(ts))(y0)
    ode = nde.NeuralODE(2, key=jax.random.key(1), width=16, depth=1, solver=diffrax.Euler(),
                        stepsize_controller=diffrax.ConstantStepSize(), dt0=0.05,
                        max_steps=64)  # fmt: skip

    def sum_of_squares(m):
        return {"w": sum(jnp.sum(x**2) for x in jax.tree_util.tree_leaves(
            eqx.filter(m, eqx.is_inexact_array)))}  # fmt: skip

    shooting = nde.fit(
        ode, ys, ts=ts, key=jax.random.key(2), steps=(6, 6), lengths=(0.5, 1.0), batch_size=4,
        shooting=2, shooting_init="learned", continuity_weight=2.0, progress=False,
        eval_fn=sum_of_squares, eval_every=3,
    )  # fmt: skip
    sde = nde.NeuralSDE(2, dt0=0.1, key=jax.random.key(3), width=16, depth=1)
    em = nde.fit(sde, ys, ts=ts, key=jax.random.key(4), steps=8, batch_size=12,
                 optimizer=optax.adam(1e-2), progress=False)  # fmt: skip
    runs = {"shooting": shooting, "neural_sde": em}
    history = {f"{name}/{k}": v for name, r in runs.items() for k, v in r.history.items()}
    out = _record(history, (shooting.model, shooting.initial_conditions, em.model))
    out["eval"] = [np.asarray(p.eval_history["w"]).tolist() for p in shooting.phases]
    out["traces"] = [list(r.traces) for r in runs.values()]
    return out


# -- rom ---------------------------------------------------------------------------------
def run_rom() -> dict:
    """Φ-ROM and DINo on tiny parametric Burgers, past the warm-up (and teacher forcing)."""
    import jax.numpy as jnp

    from dynsys import pde, rom

    solver = pde.ParametricBurgers(num_points=64)
    mus = jnp.asarray([0.015, 0.03])
    data = pde.pde_trajectories(solver, jnp.ones((2, 1, 64)), 11, aux=mus)
    x = jnp.asarray(solver.grid)[:, None]

    def model(cls):
        k1, k2 = jax.random.split(jax.random.key(0))
        dec = rom.MLPDecoder(1, 3, 1, width=16, depth=2, coord_bounds=(0.0, 100.0),
                             output_scale=float(data.states.mean()), key=k1)  # fmt: skip
        dyn = rom.LatentDynamics(3, 1, width=16, depth=2, param_bounds=(0.015, 0.03), key=k2)
        return cls(dec, dyn, dt=0.07)

    common = dict(
        coords=x, params=mus, n_train_time=8, n_steps=30, batch_size=8, warmup_steps=10,
        decay_every=10, key=jax.random.key(1), progress=False,
    )  # fmt: skip
    phi = rom.fit_phirom(model(rom.PhiROM), data, solver, gamma=0.1, **common)
    dino = rom.fit_dino(model(rom.DINo), data, teacher_forcing_steps=20, **common)
    a = _record(phi.history, (phi.model, phi.latents))
    b = _record(dino.history, (dino.model, dino.latents))
    history = {f"phirom:{k}": v for k, v in a["history"].items()}
    history.update({f"dino:{k}": v for k, v in b["history"].items()})
    return {"history": history, "params": a["params"] + b["params"]}


# -- worldmodels -------------------------------------------------------------------------
def run_worldmodels() -> dict:
    """Reaction–diffusion world model on tiny moving blobs: window 2, clipping, weight decay."""
    import jax.numpy as jnp

    from dynsys import worldmodels as wm

    data = wm.moving_blobs_video(jax.random.key(0), 8, 6, num_points=8, num_blobs=2,
                                 width_range=(0.15, 0.2), dtype=jnp.float64)  # fmt: skip
    k1, k2, k3 = jax.random.split(jax.random.key(1), 3)
    model = wm.WorldModel(
        wm.PatchEncoder(1, 4, hidden_channels=8, dtype=jnp.float64, key=k1),
        wm.ReactionDiffusionPredictor(
            4, context=2, hidden=16, n_steps=2, dtype=jnp.float64, key=k2
        ),
        wm.PatchDecoder(4, 1, hidden_channels=8, dtype=jnp.float64, key=k3),
        frame_shape=(1, 8, 8),
    )
    result = wm.fit(model, data, key=jax.random.key(2), n_steps=30, batch_size=8, window=2,
                    learning_rate=1e-2, weight_decay=1e-4, gradient_clip=0.5,
                    progress=False)  # fmt: skip
    return _record(result.history, result.model)


# -- latent ------------------------------------------------------------------------------
def run_latent() -> dict:
    """LangevinFlow, cosine decay, KL ramp, coordinated dropout, eval-trial NLL every 10."""
    from dynsys import data, latent

    ds = data.lorenz_spikes(
        n_conditions=4, n_trials=6, n_neurons=12, n_bins=20, n_heldout=3, n_forward=3,
        substeps=2, time_scale=3.0, base_rate=20.0, seed=0,
    )  # fmt: skip
    model = latent.LangevinFlow(
        len(ds.heldin), ds.n_neurons, ds.n_forward, latent_dim=4, hidden_dim=8, model_size=8,
        ff_size=16, key=jax.random.key(0),
    )  # fmt: skip
    result = latent.fit(
        model, ds, key=jax.random.key(1), n_steps=40, batch_size=8, learning_rate=1e-2,
        final_lr_fraction=0.1, kl_ramp_steps=15, cd_rate=0.3, gradient_clip=1.0,
        eval_every=10, progress=False,
    )  # fmt: skip
    out = _record(result.history, result.model)
    out["eval"] = np.asarray(result.eval_history["eval_nll"]).tolist()
    return out


# -- koopman (StNN) ----------------------------------------------------------------------
def run_koopman() -> dict:
    """StNN (Hankel) and its dense twin on two oscillator trajectories, default optimizer."""
    from dynsys import koopman

    t = np.arange(300) * 0.05
    ys = np.stack([np.stack([np.sin(t + p), np.cos(1.3 * t + p)], -1) for p in (0.0, 1.0)])
    out = {"history": {}, "params": ""}
    for name, cls in (("stnn", koopman.StNN), ("mlp", koopman.MLPForecaster)):
        model = cls(dim=2, delays=6, depth=1, key=jax.random.key(0))
        result = koopman.train_forecaster(
            model, ys, n_steps=50, key=jax.random.key(1), batch_size=16, horizon=3,
            progress=False,
        )  # fmt: skip
        one = _record(result.history, result.model)
        out["history"].update({f"{name}:{k}": v for k, v in one["history"].items()})
        out["params"] += f"{name}:{one['params']} "
    return out


FAMILIES = {
    "dsr": run_dsr,
    "nde": run_nde,
    "rom": run_rom,
    "worldmodels": run_worldmodels,
    "latent": run_latent,
    "koopman": run_koopman,
}


def _compare(before: dict, after: dict) -> None:
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a is None or b is None:
            print(f"{name:12s} missing in {'before' if a is None else 'after'}")
            continue
        if a == b:
            print(f"{name:12s} identical (histories and parameter bits)")
            continue
        worst = 0.0
        for key in a["history"]:
            x = np.asarray(a["history"][key], dtype=float)
            y = np.asarray(b["history"].get(key, np.nan), dtype=float)
            if x.shape == y.shape:
                worst = max(worst, float(np.nanmax(np.abs(x - y), initial=0.0)))
            else:
                worst = float("inf")
        same = a["params"] == b["params"]
        print(f"{name:12s} DIFFERENT: max |Δ history| {worst:.3g}, parameters equal: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="*", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--out", type=pathlib.Path)
    parser.add_argument("--compare", nargs=2, type=pathlib.Path)
    args = parser.parse_args()
    if args.compare:
        _compare(*(json.loads(p.read_text()) for p in args.compare))
        return
    results = {}
    for name in args.families:
        t0 = time.perf_counter()
        results[name] = FAMILIES[name]()
        print(f"{name:12s} done in {time.perf_counter() - t0:.1f} s", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
