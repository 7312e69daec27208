"""Multi-process data-parallel `fit` on `jax.distributed`, and the helpers behind it.

The integration test starts two CPU processes that talk over JAX's CPU collectives (gloo,
the default of jax 0.10) and checks that they train the same model as one process on the
whole batch. It runs in subprocesses: `jax.distributed.initialize` must come before jax
starts, once per process.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynsys.training import local_batch
from dynsys.training._distributed import (
    check_multiprocess,
    is_primary,
    primary_progress,
    rows_of_process,
    spans_processes,
)
from dynsys.training._progress import Progress
from dynsys.training._sharding import make_mesh

WORKER = textwrap.dedent(
    """
    import json, pathlib, sys, time

    t_start = time.perf_counter()
    import jax

    out, mode = pathlib.Path(sys.argv[1]), sys.argv[2]
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    if mode not in ("single", "split"):
        jax.distributed.initialize(
            coordinator_address=f"127.0.0.1:{sys.argv[3]}", num_processes=2,
            process_id=int(mode), initialization_timeout=60,
        )
    import jaxtyping

    jaxtyping.install_import_hook("dynsys", "beartype.beartype")
    import equinox as eqx
    import jax.numpy as jnp
    import numpy as np
    import optax

    from dynsys.training import Checkpointing, Evaluation, fit, local_batch

    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.normal(size=(256, 3)))
    Y = jnp.sin(X).sum(axis=1, keepdims=True)
    Xv = jnp.asarray(rng.normal(size=(64, 3)))
    Yv = jnp.sin(Xv).sum(axis=1, keepdims=True)

    def sampler(step, key):
        idx = jax.random.choice(key, 256, (32,), replace=False)
        return local_batch((X[idx], Y[idx]))

    def loss_fn(model, batch, key):
        x, y = batch
        return jnp.mean((jax.vmap(model)(x) - y) ** 2)

    def val(model):
        return {"val": jnp.mean((jax.vmap(model)(Xv) - Yv) ** 2)}

    model = eqx.nn.MLP(3, 1, 16, 2, key=jax.random.key(1), dtype=jnp.float64)
    tag = mode if mode in ("single", "split") else f"p{mode}"
    kwargs = dict(optimizer=optax.adam(1e-2), n_steps=40, key=jax.random.key(2))
    t_fit = time.perf_counter()
    result = fit(
        model, loss_fn, sampler, **kwargs,
        evaluation=Evaluation(val, every=10, select="best"),
        checkpoint=Checkpointing(out / f"ckpt_{tag}", every=20),
        devices=None if mode == "single" else "all", progress=tag.startswith("p"),
    )
    t_fit = time.perf_counter() - t_fit
    leaves = jax.tree_util.tree_leaves(eqx.filter(result.model, eqx.is_array))
    np.save(out / f"{tag}_params.npy", np.concatenate([np.ravel(np.asarray(x)) for x in leaves]))
    np.save(out / f"{tag}_loss.npy", result.history["loss"])
    np.save(out / f"{tag}_val.npy", result.eval_history["val"])
    info = {"best_step": result.best_step, "fit_wall": result.wall_time, "fit_call": t_fit,
            "errors": {}}
    if tag.startswith("p"):
        info["n_devices"] = len(jax.devices())
        info["sharded_over"] = len(leaves[0].sharding.device_set)
        others = [d for d in jax.devices() if d.process_index != jax.process_index()]
        for name, extra in {
            "resume": dict(checkpoint=Checkpointing(out / f"ckpt_{tag}", resume=True),
                           devices="all"),
            "devices": dict(devices=others),
        }.items():
            try:
                fit(model, loss_fn, sampler, **kwargs, progress=False, **extra)
            except ValueError as err:
                info["errors"][name] = str(err)
    info["total_wall"] = time.perf_counter() - t_start
    (out / f"{tag}.json").write_text(json.dumps(info))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_all(commands, cwd, timeout, env=None):
    """Run `commands` at once; kill them all on a timeout or a failure, so nothing hangs."""
    procs = [
        subprocess.Popen(
            c, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for c in commands
    ]
    deadline = time.monotonic() + timeout
    outputs = []
    try:
        for p in procs:
            try:
                outputs.append(p.communicate(timeout=max(deadline - time.monotonic(), 1)))
            except subprocess.TimeoutExpired:
                pytest.fail(f"a worker ran past {timeout} s (a hang in a collective?)")
            if p.returncode != 0:
                pytest.fail(f"a worker failed (rc {p.returncode}):\n{p.stderr.read()[-3000:]}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs)]


@pytest.mark.integration
def test_two_processes_train_the_model_of_one_process(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    run = [sys.executable, str(script), str(tmp_path)]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}  # CPU processes, on a GPU machine too

    t0 = time.perf_counter()
    _run_all([run + ["single"]], tmp_path, timeout=240, env=env)
    t_single = time.perf_counter() - t0
    # One process on two devices: the same split of the batch as two processes of one each.
    flags = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    _run_all([run + ["split"]], tmp_path, timeout=240, env={**env, "XLA_FLAGS": flags})
    port = str(_free_port())
    t0 = time.perf_counter()
    (_, _, err0), (_, _, err1) = _run_all(
        [run + ["0", port], run + ["1", port]], tmp_path, timeout=300, env=env
    )
    t_multi = time.perf_counter() - t0

    single = json.loads((tmp_path / "single.json").read_text())
    p0 = json.loads((tmp_path / "p0.json").read_text())
    p1 = json.loads((tmp_path / "p1.json").read_text())
    split = json.loads((tmp_path / "split.json").read_text())
    print(
        f"\nwall (s): one process {t_single:.1f} (fit {single['fit_call']:.2f}; on two devices "
        f"{split['fit_call']:.2f}), "
        f"two processes {t_multi:.1f} (fit {p0['fit_call']:.2f} / {p1['fit_call']:.2f})"
    )
    assert p0["n_devices"] == p1["n_devices"] == 2
    assert p0["sharded_over"] == p1["sharded_over"] == 2
    # Every process holds the same replicated model, bit for bit.
    for name in ("params", "loss", "val"):
        np.testing.assert_array_equal(
            np.load(tmp_path / f"p0_{name}.npy"), np.load(tmp_path / f"p1_{name}.npy")
        )
    assert p0["best_step"] == p1["best_step"] == single["best_step"]
    # One process on two devices reduces the same two halves in the same order: bit for bit.
    for name in ("params", "loss", "val"):
        np.testing.assert_array_equal(
            np.load(tmp_path / f"p0_{name}.npy"), np.load(tmp_path / f"split_{name}.npy")
        )
    # Against one process on one device: the loss of a batch is summed in two halves and
    # all-reduced, a different rounding order, so equal to float64 rounding, not in bits
    # (measured: 2.6e-14 relative at most).
    single_params = np.load(tmp_path / "single_params.npy")
    np.testing.assert_allclose(
        np.load(tmp_path / "p0_params.npy"), single_params, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        np.load(tmp_path / "p0_loss.npy"), np.load(tmp_path / "single_loss.npy"), rtol=1e-12
    )
    # Process 0 alone writes checkpoints and draws the progress bar.
    assert (tmp_path / "ckpt_p0" / "last" / "meta.json").is_file()
    assert not (tmp_path / "ckpt_p1").exists()
    assert "40/40" in err0 and "40/40" not in err1
    # What a multi-process run refuses, on every process alike (no hang).
    for info in (p0, p1):
        assert "`checkpoint`" in info["errors"]["resume"]
        assert "multi-process" in info["errors"]["resume"]
        assert "`devices`" in info["errors"]["devices"]


def test_rows_of_process_cut_the_global_batch_in_process_order():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    parts = [rows_of_process((x, y, 3.0), p, 3) for p in range(3)]
    np.testing.assert_array_equal(np.concatenate([q[0] for q in parts]), x)
    np.testing.assert_array_equal(parts[1][1], [2, 3])
    assert parts[2][2] == 3.0
    with pytest.raises(ValueError, match=r"`batch`.*divisible by 4"):
        rows_of_process((x,), 0, 4)


def test_single_process_runs_are_left_alone():
    batch = {"x": jnp.ones((5, 2))}
    assert local_batch(batch) is batch
    mesh = make_mesh([jax.devices()[0]])
    assert not spans_processes(mesh) and not spans_processes(None)
    assert is_primary(mesh) and is_primary(None)
    progress = Progress(desc="train")
    assert primary_progress(progress, mesh) is progress

    class Resume:
        resume = True

    check_multiprocess(mesh, Resume())  # resuming is refused only across processes
