"""Random windows for sequence training, and a fixed-shape mini-batch iterator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._validation import as_array, check_finite, check_int, check_positive, is_traced
from ._random import check_key
from ._trajectories import Trajectories


def sample_window_indices(
    key: jax.Array, n_trajectories: int, n_times: int, *, window: int, batch_size: int
) -> tuple[Int[Array, " batch"], Int[Array, " batch"]]:
    """Draw `batch_size` (trajectory, start) pairs uniformly, with replacement.

    Each pair indexes a window `start : start + window` that lies inside one trajectory;
    every one of the `n_trajectories · (n_times − window + 1)` windows is equally likely
    (the DSR protocol: windows of length T̃ + 1 drawn uniformly with replacement, Brenner
    et al. 2022). Use it to cut aligned windows from several arrays.

    **Arguments:**

    - `key`: a JAX random key.
    - `n_trajectories`, `n_times`: sizes of the data, Python ints.
    - `window`: window length, `1 <= window <= n_times`.
    - `batch_size`: number of windows, `>= 1`.

    **Returns:** `(trajectory_index, start)`, both int arrays of shape `(batch_size,)`.
    """
    key = check_key(key)
    n_trajectories = check_int(n_trajectories, "n_trajectories", minimum=1)
    n_times = check_int(n_times, "n_times", minimum=1)
    window, batch_size = _check_window(window, batch_size, n_times, "`n_times`")
    return _indices(key, n_trajectories, n_times, window, batch_size)


def sample_windows(
    key: jax.Array,
    states: ArrayLike,
    *,
    window: int,
    batch_size: int,
    inputs: ArrayLike | None = None,
    noise_std: float = 0.0,
) -> Any:
    """Cut `batch_size` random windows of length `window` from trajectories (jit-able).

    Windows are drawn uniformly over all trajectories and start times, with replacement
    ([`sample_window_indices`][]). The output shape depends only on `window`,
    `batch_size` and the state shape, so a jitted training step never recompiles. With
    `noise_std > 0`, i.i.d. Gaussian noise N(0, noise_std²) is added to the state windows
    ("batch noise" of the DSR training protocol); the windows themselves do not depend on
    `noise_std` (the key is split once for indices and once for noise).

    Called on concrete arrays it checks them for NaN/inf each time; inside `jax.jit` (or
    through [`WindowSampler`][], which checks once) only shapes are checked.

    **Arguments:**

    - `key`: a JAX random key.
    - `states`: `(time, dim)` or `(batch, time, *state_shape)`.
    - `window`: window length in samples, `1 <= window <= time` (Python int).
    - `batch_size`: number of windows, `>= 1` (Python int).
    - `inputs`: optional `(time, input_dim)` / `(batch, time, input_dim)` cut at the same
      places (no noise is added to them).
    - `noise_std`: standard deviation of the added Gaussian noise, `>= 0`.

    **Returns:** state windows `(batch_size, window, *state_shape)`, or the pair
    `(state windows, input windows (batch_size, window, input_dim))` when `inputs` is given.

    ```python
    batch = sample_windows(jax.random.key(0), traj.states, window=201, batch_size=16)
    ```
    """
    key = check_key(key)
    states, inputs = _check_data(states, inputs)
    window, batch_size = _check_window(window, batch_size, states.shape[1], "`states`")
    _check_noise(noise_std)
    return _sample(key, states, inputs, window, batch_size, *_noise_args(noise_std))


class WindowSampler(eqx.Module):
    """Draws fixed-shape batches of random windows from a dataset: `sampler(key) -> batch`.

    A thin module around [`sample_windows`][] that validates the data once at
    construction, so calling it in a training loop costs only the (jitted) gather.

    **Arguments:**

    - `data`: [`Trajectories`][] (its inputs are sampled too) or a states array
      `(time, dim)` / `(batch, time, *state_shape)`.
    - `window`: window length in samples.
    - `batch_size`: windows per batch.
    - `noise_std`: Gaussian noise added to the state windows (default 0).

    **Returns** (of `__call__(key)`, or `__call__(step, key)`, the sampler convention of
    [`dynsys.training.fit`][]): `(batch_size, window, *state_shape)`, or `(states, inputs)`
    windows when the data has inputs.

    ```python
    sampler = WindowSampler(bench.train, window=201, batch_size=16, noise_std=0.05)
    batch = sampler(jax.random.key(0))      # (16, 201, 3)
    ```
    """

    # a pure JAX function of (step, key): `training.fit` may draw inside its compiled calls
    jittable: ClassVar[bool] = True

    states: Float[Array, "batch time *state"]
    inputs: Float[Array, "batch time input_dim"] | None
    window: int = eqx.field(static=True)
    batch_size: int = eqx.field(static=True)
    noise_std: float = eqx.field(static=True)

    def __init__(
        self,
        data: Trajectories | Any,
        *,
        window: int,
        batch_size: int,
        noise_std: float = 0.0,
    ):
        if isinstance(data, Trajectories):
            states, inputs = data.states, data.inputs
        else:
            states, inputs = _check_data(data, None, "data")
        self.window, self.batch_size = _check_window(window, batch_size, states.shape[1], "`data`")
        _check_noise(noise_std)
        self.states, self.inputs = states, inputs
        self.noise_std = float(noise_std)

    @property
    def n_windows(self) -> int:
        """Number of distinct windows the sampler draws from."""
        return self.states.shape[0] * (self.states.shape[1] - self.window + 1)

    def __call__(self, *args: Any) -> Any:
        """`sampler(key)`, or `sampler(step, key)` as [`dynsys.training.fit`][] calls it (the
        windows do not depend on the step)."""
        if len(args) not in (1, 2):
            raise TypeError(
                f"WindowSampler is called as sampler(key) or sampler(step, key), got {len(args)} "
                "arguments."
            )
        key = check_key(args[-1])
        return _sample(
            key,
            self.states,
            self.inputs,
            self.window,
            self.batch_size,
            *_noise_args(self.noise_std),
        )


class Batch(NamedTuple):
    """One mini-batch of whole trajectories from [`iterate_batches`][].

    - `states`: `(batch_size, time, *state_shape)`.
    - `inputs`: `(batch_size, time, input_dim)` or `None`.
    - `mask`: `(batch_size,)` booleans, False on padding rows (all True for a full batch).
    - `indices`: `(batch_size,)` trajectory indices of the rows (padding repeats real ones).
    """

    states: Float[Array, "batch time *state"]
    inputs: Float[Array, "batch time input_dim"] | None
    mask: Bool[Array, " batch"]
    indices: Int[Array, " batch"]


def iterate_batches(
    data: Trajectories | Any,
    *,
    batch_size: int,
    key: jax.Array | None = None,
    drop_last: bool = True,
) -> Iterator[Batch]:
    """Iterate once over whole trajectories in mini-batches of a fixed shape.

    With `key`, the order is a random permutation (same key, same order); without, the
    stored order. Every batch has exactly `batch_size` rows. The ragged remainder is
    dropped (`drop_last=True`) or filled up by repeating trajectories from the start of
    the order (`drop_last=False`), with `mask` False on those padding rows so that a loss
    can ignore them: `sum(mask · loss_per_row) / sum(mask)`.

    **Arguments:**

    - `data`: [`Trajectories`][] or a states array `(batch, time, *state_shape)`.
    - `batch_size`: rows per batch, `>= 1` (and `<= n_trajectories` with `drop_last`).
    - `key`: optional JAX random key for shuffling.
    - `drop_last`: drop the last incomplete batch instead of padding it.

    **Returns:** an iterator of [`Batch`][] `(states, inputs, mask, indices)`; there are
    `n // batch_size` batches with `drop_last`, else `ceil(n / batch_size)`.

    ```python
    for batch in iterate_batches(traj, batch_size=32, key=jax.random.key(epoch)):
        loss = loss_fn(model, batch.states, batch.mask)
    ```
    """
    if isinstance(data, Trajectories):
        states, inputs = data.states, data.inputs
    else:
        states = as_array(data, "data")
        if states.ndim < 3:
            raise ValueError(
                f"`data` must be (batch, time, *state_shape), got shape {tuple(states.shape)}."
            )
        if any(n == 0 for n in states.shape):
            raise ValueError(f"`data` must not be empty, got shape {tuple(states.shape)}.")
        check_finite(states, "data")
        inputs = None
    n = states.shape[0]
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if not isinstance(drop_last, bool):
        raise TypeError(f"`drop_last` must be True or False, got {drop_last!r}.")
    if drop_last and batch_size > n:
        raise ValueError(
            f"`batch_size`={batch_size} exceeds the {n} trajectories, so drop_last=True would "
            "yield no batch; lower batch_size or pass drop_last=False."
        )
    order = np.arange(n) if key is None else np.asarray(jax.random.permutation(check_key(key), n))
    return _batches(states, inputs, order, batch_size, drop_last)


def _batches(states, inputs, order, batch_size, drop_last):
    n = order.shape[0]
    n_batches = n // batch_size if drop_last else -(-n // batch_size)
    for b in range(n_batches):
        pos = np.arange(b * batch_size, (b + 1) * batch_size)
        valid = pos < n
        idx = order[pos % n]
        jidx = jnp.asarray(idx)
        yield Batch(
            states=states[jidx],
            inputs=None if inputs is None else inputs[jidx],
            mask=jnp.asarray(valid),
            indices=jidx,
        )


def _check_data(states: Any, inputs: Any, name: str = "states"):
    states = as_array(states, name)
    if states.ndim < 2:
        raise ValueError(
            f"`{name}` must be (time, dim) or (batch, time, *state_shape), "
            f"got shape {tuple(states.shape)}."
        )
    single = states.ndim == 2
    if single:
        states = states[None]
    if any(n == 0 for n in states.shape):
        raise ValueError(f"`{name}` must not be empty, got shape {tuple(states.shape)}.")
    check_finite(states, name)
    if inputs is not None:
        inputs = as_array(inputs, "inputs")
        if single:
            if inputs.ndim != 2:
                raise ValueError(
                    f"`inputs` must be (time, input_dim) like the single `{name}`, "
                    f"got shape {tuple(inputs.shape)}."
                )
            inputs = inputs[None]
        if inputs.ndim != 3 or inputs.shape[:2] != states.shape[:2]:
            raise ValueError(
                f"`inputs` must be (batch, time, input_dim) with the (batch, time) of "
                f"`{name}`, {tuple(states.shape[:2])}, got shape {tuple(inputs.shape)}."
            )
        check_finite(inputs, "inputs")
    return states, inputs


def _check_window(window: Any, batch_size: Any, n_times: int, of: str) -> tuple[int, int]:
    window = check_int(window, "window", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if window > n_times:
        raise ValueError(f"`window`={window} is longer than the {n_times} time samples of {of}.")
    return window, batch_size


def _check_noise(noise_std: Any) -> None:
    if isinstance(noise_std, bool) or not (
        isinstance(noise_std, int | float | np.floating) or is_traced(noise_std)
    ):
        raise TypeError(f"`noise_std` must be a number >= 0, got {noise_std!r}.")
    check_positive(noise_std, "noise_std", allow_zero=True)


def _indices(key, n_trajectories, n_times, window, batch_size):
    k_traj, k_start = jax.random.split(key)
    traj = jax.random.randint(k_traj, (batch_size,), 0, n_trajectories)
    start = jax.random.randint(k_start, (batch_size,), 0, n_times - window + 1)
    return traj, start


def _noise_args(noise_std):
    """(noisy, std): `noisy` is static (False only for a concrete zero); `std` is an array
    so that changing its value does not recompile."""
    noisy = is_traced(noise_std) or float(noise_std) != 0.0
    return noisy, jnp.asarray(noise_std)


@eqx.filter_jit
def _sample(key, states, inputs, window, batch_size, noisy, noise_std):
    k_idx, k_noise = jax.random.split(key)
    traj, start = _indices(k_idx, states.shape[0], states.shape[1], window, batch_size)
    rows = traj[:, None]
    cols = start[:, None] + jnp.arange(window)[None, :]
    x = states[rows, cols]
    if noisy:
        noise = jax.random.normal(k_noise, x.shape, dtype=x.dtype)
        x = x + noise_std.astype(x.dtype) * noise
    if inputs is None:
        return x
    return x, inputs[rows, cols]
