"""Data-parallel fit over two (forced) CPU devices equals the single-device fit.

XLA_FLAGS must be set before jax initialises, so the run happens in a subprocess.
"""

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from dynsys.training import fit

SCRIPT = textwrap.dedent(
    """
    import json
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    from dynsys.training import fit

    class Linear(eqx.Module):
        w: jax.Array
        b: jax.Array

        def __call__(self, x):
            return x @ self.w + self.b

    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.normal(size=(64, 3)))
    Y = X @ jnp.array([1.0, -2.0, 0.5]) + 0.1 * jnp.asarray(rng.normal(size=64))

    def batch_fn(step, key):
        idx = jax.random.choice(key, 64, (16,), replace=False)
        return X[idx], Y[idx]

    def loss_fn(model, batch, key):
        x, y = batch
        return jnp.mean((jax.vmap(model)(x) - y) ** 2)

    def run(devices, batches=batch_fn):
        model = Linear(jnp.zeros(3, dtype=jnp.float64), jnp.zeros((), dtype=jnp.float64))
        return fit(model, loss_fn, batches, optimizer=optax.adam(0.05), n_steps=15,
                   key=jax.random.key(2), devices=devices, progress=False)

    single, multi = run(None), run("all")
    try:
        run("all", lambda step, key: (X[:15], Y[:15]))
        error = ""
    except ValueError as err:
        error = str(err)
    print(json.dumps({
        "n_devices": len(jax.devices()),
        "sharded_over": len(multi.model.w.sharding.device_set),
        "single": [*map(float, single.model.w), float(single.model.b)],
        "multi": [*map(float, multi.model.w), float(multi.model.b)],
        "loss_single": [float(v) for v in single.history["loss"]],
        "loss_multi": [float(v) for v in multi.history["loss"]],
        "error": error,
    }))
    """
)


def test_two_device_fit_equals_single_device_fit():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["n_devices"] == 2 and out["sharded_over"] == 2
    np.testing.assert_allclose(out["multi"], out["single"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["loss_multi"], out["loss_single"], rtol=1e-12)
    assert "divisible by 2" in out["error"] and "`batches`" in out["error"]


def test_devices_list_of_one_device_runs_in_process():
    import equinox as eqx
    import jax.numpy as jnp
    import optax

    class Scalar(eqx.Module):
        w: jax.Array

    result = fit(
        Scalar(jnp.zeros(4, dtype=jnp.float64)),
        lambda m, b, k: jnp.sum((m.w - b) ** 2),
        lambda i, k: jnp.ones(4, dtype=jnp.float64),
        optimizer=optax.sgd(0.1), n_steps=5, key=jax.random.key(0),
        devices=jax.devices()[:1], progress=False,
    )  # fmt: skip
    np.testing.assert_allclose(np.asarray(result.model.w), 1.0 - 0.8**5, rtol=1e-13)
    with pytest.raises(TypeError, match="devices"):
        fit(
            Scalar(jnp.zeros(4)), lambda m, b, k: jnp.sum(m.w), lambda i, k: None,
            optimizer=optax.sgd(0.1), n_steps=1, key=jax.random.key(0), devices=[0],
            progress=False,
        )  # fmt: skip
