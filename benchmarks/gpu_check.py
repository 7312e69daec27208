"""Device smoke check: is JAX on the GPU, do the tests that matter pass there, how fast is it.

Run on a GPU machine after `pip install -e ".[test,gpu]"` (JAX's CUDA 12 build):

1. **backend**: `jax.default_backend()` must be `"gpu"`; otherwise the script says what it
   found and goes on as a dry run on that backend (`--require-gpu` makes it fail instead).
2. **tests**: the test-suite subset that exercises the device (`tests/training` and
   `tests/test_conformance.py`; `--quick`: two training-core files) with pytest in a
   subprocess, timed.
3. **timings** (float32, compilation excluded). A training rate is `extra_steps /
   (wall_long − wall_short)` of two runs of different length, as in
   `training_steps_per_call.py`, each the best of two, after a warm-up run that fills
   JAX's persistent compilation cache (a temporary folder): every `fit` call traces its
   step anew, and the timed calls then load the compiled program instead of compiling it,
   so that compilation time and its noise stay out of the difference. A single compiled
   call is timed best of 5:

   - `dsr.fit` of the AL-RNN with the Lorenz-63 settings (`dsr.settings("lorenz63")`),
     steps/s;
   - `nde.fit` of a `NeuralODE` (MLP 2→64→64→2, Tsit5 with PID control, batch 32 series
     of 50 points), steps/s (read from time stamps inside one call: tracing diffrax's
     solve dominates a short call and is not cached);
   - a `koopman.DMD` fit (rank 10) of 4000 snapshots of a 256-dimensional signal, s per fit;
   - a `pde.KuramotoSivashinsky` ETDRK4 rollout (1-D, N = 256, L = 60, dt = 0.1) of 1000
     steps, steps/s.

The results print as a table; `--out FILE.json` saves them with the backend, the devices and
the versions. `--quick` (smaller runs, a CPU dry run in under 3 minutes) checks the script
itself; the numbers worth quoting come from a full run on the GPU, compared only with
numbers from the same machine.

    python benchmarks/gpu_check.py --out gpu_check.json
    python benchmarks/gpu_check.py --quick              # dry run, any machine
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

# The parent and the pytest child share the GPU: neither may take 75 % of its memory at start.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTS = ["tests/training", "tests/test_conformance.py"]
QUICK_TESTS = ["tests/training/test_training_step.py", "tests/training/test_training_sharding.py"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small runs: a dry run in < 3 min")
    p.add_argument("--out", default=None, help="JSON file for the results")
    p.add_argument("--skip-tests", action="store_true", help="timings only")
    p.add_argument("--require-gpu", action="store_true", help="exit 1 without a GPU backend")
    p.add_argument("--test-timeout", type=float, default=1800.0, help="seconds for pytest")
    return p.parse_args(argv)


def backend_report() -> dict:
    """What JAX runs on here."""
    devices = jax.devices()
    return {
        "backend": jax.default_backend(),
        "devices": [str(d) for d in devices],
        "device_kind": devices[0].device_kind,
        "jax": jax.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
    }


def run_tests(paths: list[str], timeout: float) -> dict:
    """The test subset in a pytest subprocess (the suite's own flags), timed."""
    cmd = [sys.executable, "-m", "pytest", *paths, "-x", "-q", "-p", "no:cacheprovider"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        rc, tail = proc.returncode, (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    except subprocess.TimeoutExpired:
        rc, tail = 124, [f"pytest ran past {timeout:.0f} s"]
    return {
        "command": " ".join(cmd[1:]),
        "returncode": rc,
        "seconds": time.perf_counter() - t0,
        "summary": " / ".join(tail),
    }


def _wall(run, n: int) -> float:
    t0 = time.perf_counter()
    run(n)
    return time.perf_counter() - t0


def rate(run, short: int, long: int, repeats: int = 2) -> float:
    """Steps per second of `run(n)` from two lengths (set-up and cache loads cancel)."""
    run(short)  # compiles once; later calls load the program from the persistent cache
    t_short = min(_wall(run, short) for _ in range(repeats))
    t_long = min(_wall(run, long) for _ in range(repeats))
    return (long - short) / max(t_long - t_short, 1e-9)


def best_time(fn, *args, repeats: int = 5) -> float:
    """Best wall time of a compiled call (after one compiling call)."""
    jax.block_until_ready(fn(*args))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def time_alrnn(quick: bool) -> dict:
    from dynsys import ALRNN, data, dsr

    s = dsr.settings("lorenz63")
    bench = data.benchmark("lorenz63", n_steps=5_000 if quick else 100_000)
    model = ALRNN(s.latent_dim, s.pwl_units, 3, key=jax.random.key(0))

    def run(n):
        res = dsr.fit(model, bench.train, key=jax.random.key(1), settings=s, n_steps=n,
                      progress=False)  # fmt: skip
        jax.block_until_ready(res.model)

    short, long = (20, 120) if quick else (200, 2200)
    return {
        "what": f"dsr.fit AL-RNN Lorenz-63 (M={s.latent_dim}, P={s.pwl_units}, "
        f"batch {s.batch_size}, window {s.sequence_length + 1})",
        "value": rate(run, short, long),
        "unit": "steps/s",
    }


def time_neural_ode(quick: bool) -> dict:
    """Steps/s of `nde.fit` from host time stamps every `every` steps, after the first.

    Tracing diffrax's solve dominates a short `fit` call and is not cached, so the rate is
    read inside one call: an evaluation that only takes the time ends each block of
    `every` steps (the first block, with the compilation, is left out).
    """
    import jax.numpy as jnp
    import optax

    from dynsys import nde

    ts = jnp.linspace(0.0, 5.0, 50)
    y0 = jax.random.uniform(jax.random.key(0), (64, 2), minval=-0.6, maxval=1.0)
    ys = jax.vmap(lambda y: jnp.stack([y[0] * jnp.cos(ts), y[1] * jnp.sin(ts)], -1))(y0)
    model = nde.NeuralODE(2, key=jax.random.key(1), width=64, depth=2)
    every, blocks = (5, 6) if quick else (50, 11)
    stamps = []

    def clock(m):
        stamps.append(time.perf_counter())
        return {}

    nde.fit(model, ys, ts=ts, key=jax.random.key(2), steps=every * blocks, lengths=(1.0,),
            batch_size=32, optimizer=optax.adabelief(3e-3), progress=False, eval_fn=clock,
            eval_every=every)  # fmt: skip
    return {
        "what": "nde.fit NeuralODE (2→64→64→2, Tsit5 + PID, batch 32 × 50 points)",
        "value": every * (len(stamps) - 1) / (stamps[-1] - stamps[0]),
        "unit": "steps/s",
    }


def time_dmd(quick: bool) -> dict:
    import jax.numpy as jnp

    from dynsys import koopman

    n_time, dim = (1000, 64) if quick else (4000, 256)
    t = jnp.arange(n_time, dtype=jnp.float32) * 0.01
    freqs = jnp.linspace(0.5, 5.0, 5, dtype=jnp.float32)
    space = jax.random.normal(jax.random.key(0), (10, dim), dtype=jnp.float32)
    waves = jnp.concatenate([jnp.cos(t[:, None] * freqs), jnp.sin(t[:, None] * freqs)], -1)
    ys = waves @ space + 1e-3 * jax.random.normal(jax.random.key(1), (n_time, dim))
    fit = jax.jit(lambda y: koopman.DMD(rank=10).fit(y, dt=0.01).eigenvalues)
    return {
        "what": f"koopman.DMD(rank=10).fit of {n_time} snapshots × {dim}",
        "value": best_time(fit, ys),
        "unit": "s/fit",
    }


def time_etdrk4(quick: bool) -> dict:
    import jax.numpy as jnp

    from dynsys import pde

    n_steps = 200 if quick else 1000
    stepper = pde.KuramotoSivashinsky(1, 60.0, 256, 0.1)
    u0 = pde.truncated_fourier_series(jax.random.key(0), 1, 256, cutoff=3, dtype=jnp.float32)
    roll = jax.jit(lambda u: pde.rollout(stepper, u, n_steps))
    return {
        "what": f"pde.rollout KS ETDRK4 1-D N=256, {n_steps} steps",
        "value": n_steps / best_time(roll, u0),
        "unit": "steps/s",
    }


def main(argv=None) -> int:
    a = parse_args(argv)
    report = {"backend": backend_report(), "quick": a.quick}
    b = report["backend"]
    print(f"jax {b['jax']} on {b['backend']}: {', '.join(b['devices'])} ({b['device_kind']})")
    on_gpu = b["backend"] == "gpu"
    if not on_gpu:
        print(f"no GPU: default backend is {b['backend']!r}; a dry run on it follows.")
        if a.require_gpu:
            return 1
    failed = False
    if not a.skip_tests:
        tests = run_tests(QUICK_TESTS if a.quick else TESTS, a.test_timeout)
        report["tests"] = tests
        failed = tests["returncode"] != 0
        print(f"tests: rc {tests['returncode']} in {tests['seconds']:.1f} s: {tests['summary']}")
    cache = tempfile.TemporaryDirectory(prefix="gpu_check_cache_")
    jax.config.update("jax_compilation_cache_dir", cache.name)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    timings = []
    for name, fn in (("alrnn", time_alrnn), ("neural_ode", time_neural_ode),
                     ("dmd", time_dmd), ("etdrk4", time_etdrk4)):  # fmt: skip
        t0 = time.perf_counter()
        row = {"name": name, **fn(a.quick)}
        row["wall"] = time.perf_counter() - t0
        timings.append(row)
        print(f"  {name}: {row['value']:.4g} {row['unit']} ({row['wall']:.1f} s)", flush=True)
    report["timings"] = timings
    cache.cleanup()
    print(f"\n| check ({b['backend']}, {b['device_kind']}) | value | unit |")
    print("|---|---|---|")
    for row in timings:
        print(f"| {row['what']} | {row['value']:.4g} | {row['unit']} |")
    if a.out:
        pathlib.Path(a.out).write_text(json.dumps(report, indent=2))
        print(f"saved {a.out}")
    return 1 if failed or (a.require_gpu and not on_gpu) else 0


if __name__ == "__main__":
    sys.exit(main())
