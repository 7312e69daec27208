"""Benchmark datasets generated from a seed (the DSR protocol), and generic trajectory sets."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import systems as _systems
from .._simulate import simulate
from .._validation import check_int, check_positive, is_traced
from ._random import key_from_seed
from ._trajectories import Trajectories, _check_float_dtype

# Defaults of the reference DSR data sets (those published with the GTF and AL-RNN reference
# codes): observation noise of the training copy, in z-scored units. The sampling steps are
# the systems' own `dt` (Lorenz-63 0.01, Rössler 0.08, Lorenz-96 0.05).
_BENCHMARK_NOISE = {"lorenz63": 0.05, "rossler": 0.0, "lorenz96": 0.0}
_SYSTEM_META_FIELDS = {"name", "dim", "dt", "default_y0", "fn"}


class Benchmark(NamedTuple):
    """A benchmark data set: a (possibly noisy) training and a clean test [`Trajectories`][]."""

    train: Trajectories
    test: Trajectories


def benchmark_names() -> list[str]:
    """Names of the benchmark protocols with literature settings: lorenz63, lorenz96, rossler."""
    return sorted(_BENCHMARK_NOISE)


def benchmark(
    system: str | _systems.AbstractSystem,
    *,
    n_steps: int = 100_000,
    seed: int = 0,
    noise: float | None = None,
    transient: int = 1000,
    dt: float | None = None,
    y0_scale: float = 1.0,
    dtype: Any = None,
) -> Benchmark:
    """Generate a train/test benchmark the way the DSR reference data were made.

    Protocol (Brenner et al. 2022, Hess et al. 2023, Brenner et al. 2024; the data sets
    published with their reference codes, GTF-shPLRNN and ALRNN-DSR):

    1. Two initial conditions `y0 = default_y0 + y0_scale · N(0, I)`, one for training
       and one for testing, drawn independently from `seed`.
    2. Each is integrated with [`dynsys.simulate`][] (Dopri8, rtol = atol = 1e-10, in
       float64 whatever the JAX mode) for `transient + n_steps` samples at step `dt`;
       the first `transient` samples are discarded.
    3. Both are z-scored per dimension with the mean and std (ddof 0) of the **clean
       training** trajectory; the statistics go into the metadata.
    4. The training copy gets i.i.d. Gaussian observation noise of std `noise` (in
       z-scored units, i.e. a fraction of each dimension's std); the test copy is clean.

    Built-in protocols: `"lorenz63"` (σ=10, ρ=28, β=8/3, Δt = 0.01, noise 0.05 as in the
    GTF `lorenz63_on0.05_train.npy`), `"rossler"` (a=b=0.2, c=5.7, Δt = 0.08, noise 0: the
    AL-RNN reference data are clean and noise is added per batch in training) and
    `"lorenz96"` (n = 20, F = 8, Δt = 0.05, noise 0). Any other registry name or any
    [`dynsys.systems.AbstractSystem`][] instance (e.g. from `systems.from_function`) goes
    through the same steps with its own `dt` and noise 0 by default.

    Times are the integration times after the transient, `dt · (transient + arange(n_steps))`.
    Generating the default 100 000 Lorenz-63 steps (two trajectories) takes a few seconds
    on a CPU.

    **Arguments:**

    - `system`: a protocol or registry name, or a system instance.
    - `n_steps`: samples per trajectory after the transient (`>= 2`); shorten for quick use.
    - `seed`: non-negative integer seed; same seed, same data.
    - `noise`: observation noise std of the training copy (z-scored units); `None` uses
      the protocol default.
    - `transient`: samples discarded before recording (`>= 0`).
    - `dt`: sampling step; default the system's `dt`.
    - `y0_scale`: std of the random perturbation of `default_y0` (`>= 0`).
    - `dtype`: floating dtype of the returned arrays; default the current JAX default
      float (float32, or float64 with `jax_enable_x64`).

    **Returns:** [`Benchmark`][]`(train, test)`, each a [`Trajectories`][] of shape
    `(1, n_steps, dim)`.

    ```python
    train, test = dynsys.data.benchmark("lorenz63", n_steps=10_000, seed=0)
    train.metadata["noise"], test.metadata["standardization"]["mean"]
    ```
    """
    system, name = _resolve_system(system)
    n_steps = check_int(n_steps, "n_steps", minimum=2)
    transient = check_int(transient, "transient", minimum=0)
    if noise is None:
        noise = _BENCHMARK_NOISE.get(name, 0.0) if isinstance(system, str) else 0.0
    _check_scalar(noise, "noise")
    _check_scalar(y0_scale, "y0_scale")
    dtype = _check_float_dtype(jnp.result_type(float) if dtype is None else dtype, "dtype")
    key = key_from_seed(seed)
    with jax.enable_x64(True):
        system = _systems.get(system) if isinstance(system, str) else system
        dt = _resolve_dt(system, dt)
        k_train, k_test, k_noise = jax.random.split(key, 3)
        y0 = np.stack([_random_y0(system, k, y0_scale) for k in (k_train, k_test)])
        # Two single-trajectory solves share one compiled solver, which compiles about
        # twice as fast as the vmapped one and runs about as fast for two trajectories.
        runs = [_integrate(system, y0[i : i + 1], n_steps, transient, dt) for i in range(2)]
        times, ys = runs[0][0], np.concatenate([r[1] for r in runs])
        mean, std = ys[0].mean(axis=0), ys[0].std(axis=0)
        std = np.where(std > 0, std, 1.0)
        z = (ys - mean) / std
        train_z = z[0] + float(noise) * np.asarray(
            jax.random.normal(k_noise, z[0].shape, dtype=jnp.float64)
        )
        params = _parameters(system)
    common = {
        "system": name,
        "parameters": params,
        "dt": dt,
        "seed": int(seed),
        "transient": transient,
        "y0_scale": float(y0_scale),
        "benchmark": name,
        "standardization": {"mean": mean.tolist(), "std": std.tolist(), "n_space": 0},
    }
    train = Trajectories(
        times.astype(dtype),
        train_z[None].astype(dtype),
        None,
        {**common, "split": "train", "noise": float(noise), "y0": y0[0].tolist()},
    )
    test = Trajectories(
        times.astype(dtype),
        z[1][None].astype(dtype),
        None,
        {**common, "split": "test", "noise": 0.0, "y0": y0[1].tolist()},
    )
    return Benchmark(train, test)


def generate(
    system: str | _systems.AbstractSystem,
    *,
    n_trajectories: int = 1,
    n_steps: int,
    dt: float | None = None,
    transient: int = 0,
    seed: int = 0,
    noise: float = 0.0,
    y0_scale: float = 1.0,
    dtype: Any = None,
) -> Trajectories:
    """Simulate trajectories of any system from random initial conditions.

    Initial conditions are `default_y0 + y0_scale · N(0, I)`, one per trajectory, drawn
    from `seed`; each is integrated with [`dynsys.simulate`][] in float64 (Dopri8,
    rtol = atol = 1e-10), the first `transient` samples are discarded, and optional
    Gaussian observation noise of std `noise × (per-dimension std of the clean data)` is
    added. The data are **not** standardised (use [`standardize`][]).

    **Arguments:**

    - `system`: a registry name or a [`dynsys.systems.AbstractSystem`][] instance.
    - `n_trajectories`: number of trajectories (`>= 1`).
    - `n_steps`: samples per trajectory after the transient (`>= 2`).
    - `dt`: sampling step; default the system's `dt`.
    - `transient`: samples discarded at the start (`>= 0`, default 0).
    - `seed`: non-negative integer seed.
    - `noise`: relative observation noise (fraction of each dimension's std), `>= 0`.
    - `y0_scale`: std of the random perturbation of `default_y0` (`>= 0`).
    - `dtype`: floating dtype of the arrays; default the current JAX default float.

    **Returns:** [`Trajectories`][] of shape `(n_trajectories, n_steps, dim)` with times
    `dt · (transient + arange(n_steps))` and metadata (system, parameters, dt, noise, seed,
    transient, y0_scale, y0).

    ```python
    data = dynsys.data.generate("vanderpol", n_trajectories=8, n_steps=200, seed=1)
    ```
    """
    system, name = _resolve_system(system)
    n_trajectories = check_int(n_trajectories, "n_trajectories", minimum=1)
    n_steps = check_int(n_steps, "n_steps", minimum=2)
    transient = check_int(transient, "transient", minimum=0)
    _check_scalar(noise, "noise")
    _check_scalar(y0_scale, "y0_scale")
    dtype = _check_float_dtype(jnp.result_type(float) if dtype is None else dtype, "dtype")
    key = key_from_seed(seed)
    with jax.enable_x64(True):
        system = _systems.get(system) if isinstance(system, str) else system
        dt = _resolve_dt(system, dt)
        k_y0, k_noise = jax.random.split(key)
        keys = jax.random.split(k_y0, n_trajectories)
        y0 = np.stack([_random_y0(system, k, y0_scale) for k in keys])
        times, ys = _integrate(system, y0, n_steps, transient, dt)
        if noise > 0:
            scale = float(noise) * ys.reshape(-1, ys.shape[-1]).std(axis=0)
            ys = ys + scale * np.asarray(jax.random.normal(k_noise, ys.shape, dtype=jnp.float64))
        params = _parameters(system)
    meta = {
        "system": name,
        "parameters": params,
        "dt": dt,
        "noise": float(noise),
        "seed": int(seed),
        "transient": transient,
        "y0_scale": float(y0_scale),
        "y0": y0.tolist(),
    }
    return Trajectories(times.astype(dtype), ys.astype(dtype), None, meta)


def _resolve_system(system: Any) -> tuple[Any, str]:
    """Check `system`; return it (a name stays a name, built later under x64) and its name."""
    if isinstance(system, str):
        key = system.lower().replace("-", "_")
        if key not in _systems.names():
            raise ValueError(
                f"Unknown `system`={system!r}; expected a system instance or one of "
                f"{_systems.names()} (benchmark protocols: {benchmark_names()})."
            )
        return key, key
    if not isinstance(system, _systems.AbstractSystem):
        raise TypeError(
            "`system` must be a name or a dynsys.systems.AbstractSystem (e.g. from "
            f"dynsys.systems.from_function), got {type(system).__name__}."
        )
    return system, str(system.name)


def _resolve_dt(system, dt) -> float:
    if dt is None:
        dt = system.dt
    if is_traced(dt) or isinstance(dt, bool):
        raise TypeError(f"`dt` must be a positive number, got {dt!r}.")
    check_positive(dt, "dt")
    return float(dt)


def _check_scalar(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"`{name}` must be a number >= 0, got {value!r}.")
    check_positive(value, name, allow_zero=True)


def _random_y0(system, key, y0_scale) -> np.ndarray:
    base = np.asarray(system.initial_state(), dtype=np.float64)
    if base.shape != (system.dim,):
        raise ValueError(f"`system.default_y0` must have shape ({system.dim},), got {base.shape}.")
    kick = np.asarray(jax.random.normal(key, base.shape, dtype=jnp.float64))
    return base + float(y0_scale) * kick


def _integrate(system, y0: np.ndarray, n_steps: int, transient: int, dt: float):
    """States (batch, n_steps, dim) in float64 after `transient` samples, and their times."""
    times = dt * np.arange(transient + n_steps, dtype=np.float64)
    start = jnp.asarray(y0[0]) if y0.shape[0] == 1 else jnp.asarray(y0)
    try:
        with warnings.catch_warnings():
            # a diverging map warns in simulate; it is reported as an error below
            warnings.filterwarnings("ignore", "simulate: the map's orbit", RuntimeWarning)
            ys = np.asarray(simulate(system, start, jnp.asarray(times)))
    except RuntimeError as err:
        raise RuntimeError(
            f"Simulating {system.name!r} over {times[-1]:.3g} time units (`transient` + "
            f"`n_steps` samples of `dt`={dt:g}) failed: {err}"
        ) from err
    ys = (ys[None] if y0.shape[0] == 1 else ys).astype(np.float64)
    ys, times = ys[:, transient:], times[transient:]
    if not np.all(np.isfinite(ys)):
        raise ValueError(
            f"The trajectories of {system.name!r} diverged (NaN/inf) from initial conditions "
            "default_y0 + y0_scale·N(0, I); lower `y0_scale` or check the system."
        )
    return times, ys


def _parameters(system) -> dict[str, Any]:
    """Numeric fields of `system` as floats / lists (arrays) and ints (static sizes)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(system):
        if f.name in _SYSTEM_META_FIELDS:
            continue
        value = getattr(system, f.name)
        if eqx.is_array(value):
            arr = np.asarray(value, dtype=np.float64)
            out[f.name] = float(arr) if arr.ndim == 0 else arr.tolist()
        elif isinstance(value, int | float | np.number) and not isinstance(value, bool):
            out[f.name] = value.item() if isinstance(value, np.number) else value
    return out
