"""Test configuration: float64 everywhere, strict dtype promotion, warnings as errors.

Every annotation in `dynsys` is checked at runtime (jaxtyping + beartype), so a wrong
shape or dtype in a call or a return fails the test that made it. The hook is installed
before anything imports `dynsys`; `DYNSYS_TYPECHECK=0` switches it off for debugging.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
# Tests compile far more than they run: XLA's CPU backend without LLVM optimisation compiles
# about 3x faster (the latent-model training step: 21 s -> 8 s). Set before jax starts, and
# inherited by the example subprocesses; an XLA_FLAGS that names the level wins.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = f"{flags} --xla_backend_optimization_level=0".strip()

# pytest-xdist workers (`-n N`, N no more than the cores we may use): one core each, set
# before jax starts, so that the workers and the threads XLA starts in each do not compete
# for the same cores. `DYNSYS_PIN_WORKERS=0` switches it off.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_n_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if (_worker.startswith("gw") and _n_workers > 1 and hasattr(os, "sched_setaffinity")
        and os.environ.get("DYNSYS_PIN_WORKERS", "1") != "0"):  # fmt: skip
    _cpus = sorted(os.sched_getaffinity(0))
    if _n_workers <= len(_cpus):
        os.sched_setaffinity(0, {_cpus[int(_worker[2:]) % len(_cpus)]})

if os.environ.get("DYNSYS_TYPECHECK", "1") != "0":
    import jaxtyping

    jaxtyping.install_import_hook("dynsys", "beartype.beartype")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")


import gc  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from typing import NamedTuple  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

EXAMPLES_DIR = pathlib.Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module", autouse=True)
def _free_compiled_programs():
    """Drop JAX's compiled programs after each test module.

    Every compiled XLA:CPU program keeps memory mappings for its code until its cache entry
    goes; a worker that runs hundreds of training tests in one process otherwise climbs
    towards the kernel's `vm.max_map_count` (65 530), where the next compilation segfaults
    (measured: over 30 000 mappings after a quarter of the training tests).
    """
    yield
    gc.collect()
    jax.clear_caches()


class ExampleRun(NamedTuple):
    """What an example script left: its `metrics.json` and its standard output."""

    metrics: dict
    stdout: str


@pytest.fixture
def run_example(tmp_path):
    """Run an example script at small size in a fresh process; an `ExampleRun`.

    `run_example(script, figures, **env)`: `script` is a path or a name in `examples/`;
    the run must succeed, write each of `figures` as a non-trivial PNG and a `metrics.json`
    with `"small": true` into `$DYNSYS_OUT`, and nothing outside it.
    """

    def run(script, figures=(), timeout=600, **env):
        script = pathlib.Path(script)
        if not script.is_absolute():
            script = EXAMPLES_DIR / f"{script}.py"
        out = tmp_path / "out"
        env = {**os.environ, "DYNSYS_SMALL": "1", "MPLBACKEND": "Agg", "DYNSYS_OUT": str(out),
               **env}  # fmt: skip
        proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
        for fig in figures:
            assert (out / f"{fig}.png").stat().st_size > 1000, fig
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["small"] is True
        assert not list(tmp_path.glob("outputs")), "wrote outside DYNSYS_OUT"
        return ExampleRun(metrics, proc.stdout)

    return run


@pytest.fixture
def run_without_x64(tmp_path):
    """Run Python code in a fresh process with x64 off and warnings as errors.

    `run_without_x64(code, *args)`: the code gets `*args` and then the path of an `.npz`
    file in `sys.argv[1:]`, writes its arrays there with `np.savez`, and must succeed;
    returns those arrays in order.
    """

    def run(code, *args):
        out = tmp_path / "child_arrays.npz"
        env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
        proc = subprocess.run(
            [sys.executable, "-W", "error", "-c", code, *map(str, args), str(out)],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        with np.load(out) as npz:
            return [npz[f"arr_{i}"] for i in range(len(npz.files))]

    return run
