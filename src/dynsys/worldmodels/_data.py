"""Video-like datasets generated on the fly: Gray–Scott, FitzHugh–Nagumo waves, moving blobs."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import pde
from .._validation import check_int, check_positive
from ..data import Trajectories


def _common(n_videos, n_frames, num_points, frame_every, burn_in):
    n = check_int(n_videos, "n_videos", minimum=1)
    t = check_int(n_frames, "n_frames", minimum=2)
    size = check_int(num_points, "num_points", minimum=8)
    every = check_int(frame_every, "frame_every", minimum=1)
    burn = check_int(burn_in, "burn_in", minimum=0)
    return n, t, size, every, burn


def _simulate(stepper, u0s, n_frames, every, burn, metadata):
    u0s = jax.vmap(lambda u: pde.repeat(stepper, u, burn))(u0s) if burn else u0s
    coarse = pde.RepeatedStepper(stepper, every)
    data = pde.pde_trajectories(coarse, u0s, n_frames - 1, metadata=metadata)
    return data


def gray_scott_video(
    key: Any,
    n_videos: int,
    n_frames: int,
    *,
    num_points: int = 32,
    frame_every: int = 40,
    burn_in: int = 500,
    num_blobs: int = 3,
    dtype: Any = None,
) -> Trajectories:
    """Gray–Scott videos from random initial blobs, frames (u, v) every `frame_every` steps.

    [`dynsys.pde.GrayScott`][] (Pearson 1993: D_u = 2e-5, D_v = 1e-5, F = 0.04, k = 0.06,
    dt = 1) on a periodic square with Pearson's grid spacing 2.5/128, i.e. side
    L = 2.5·N/128, seeded with u = 1 − ½b, v = ¼b for random Gaussian blobs b
    ([`dynsys.pde.gaussian_blobs`][], clipped to [0, 1]); `burn_in` steps are discarded so
    that the spots have formed. Between frames the spots grow and divide.

    **Arguments:** `key`; `n_videos`; `n_frames` (>= 2); keywords `num_points` N (32 or 64),
    `frame_every` (PDE steps between frames), `burn_in` (PDE steps before the first frame),
    `num_blobs`, `dtype`.

    **Returns:** a `Trajectories` with states `(n_videos, n_frames, 2, N, N)`.

    ```python
    data = gray_scott_video(jax.random.key(0), 8, 20)   # states (8, 20, 2, 32, 32)
    ```
    """
    n, t, size, every, burn = _common(n_videos, n_frames, num_points, frame_every, burn_in)
    nb = check_int(num_blobs, "num_blobs", minimum=1)
    length = 2.5 * size / 128
    dtype = jnp.result_type(float) if dtype is None else dtype
    stepper = pde.GrayScott(length, size, dt=1.0)

    def initial(k):
        b = pde.gaussian_blobs(k, 2, length, size, num_blobs=nb, dtype=dtype)[0]
        b = jnp.clip(b, 0.0, 1.0)
        return jnp.stack([1.0 - 0.5 * b, 0.25 * b])

    u0s = jax.vmap(initial)(jax.random.split(key, n))
    meta = {"dataset": "gray_scott", "frame_every": every, "burn_in": burn, "num_blobs": nb}
    return _simulate(stepper, u0s, t, every, burn, meta)


def fitzhugh_nagumo_video(
    key: Any,
    n_videos: int,
    n_frames: int,
    *,
    num_points: int = 32,
    frame_every: int = 10,
    burn_in: int = 200,
    dtype: Any = None,
) -> Trajectories:
    """Re-entrant (spiral) excitation waves of FitzHugh–Nagumo, from a broken wave front.

    [`dynsys.pde.FitzHughNagumo`][] u_t = a Δu + u − u³ − v + k, τ v_t = b Δv + u − v in
    an excitable regime (a = 1, b = 0, τ = 20, k = −0.3; rest state u = v ≈ −0.669) on a
    periodic square of side N (dx = 1), dt = 0.1. Each video starts from the classic
    spiral seed: a half-length excited stripe (u = 1.5) with a refractory stripe
    (v = 0.3) behind it, at a random position, orientation and mirror image; the free end
    of the broken front curls into a rotating wave. `burn_in` steps are discarded.

    **Arguments:** `key`; `n_videos`; `n_frames` (>= 2); keywords `num_points` N,
    `frame_every` (steps of 0.1 between frames), `burn_in`, `dtype`.

    **Returns:** a `Trajectories` with states `(n_videos, n_frames, 2, N, N)` (u, v).

    ```python
    data = fitzhugh_nagumo_video(jax.random.key(0), 4, 30)   # (4, 30, 2, 32, 32)
    ```
    """
    n, t, size, every, burn = _common(n_videos, n_frames, num_points, frame_every, burn_in)
    dtype = jnp.result_type(float) if dtype is None else dtype
    stepper = pde.FitzHughNagumo(float(size), size, dt=0.1, a=1.0, b=0.0, tau=20.0, k=-0.3)
    rest = -0.669
    x = np.arange(size)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    s = size / 32
    excited = (xx > 10 * s) & (xx < 18 * s) & (yy < size // 2)
    refractory = (xx >= 4 * s) & (xx <= 10 * s) & (yy < size // 2)
    seed = np.stack([np.where(excited, 1.5, rest), np.where(refractory, 0.3, rest)])
    seed = jnp.asarray(seed, dtype=dtype)

    def initial(k):
        k1, k2, k3 = jax.random.split(k, 3)
        shift = jax.random.randint(k1, (2,), 0, size)
        c = jnp.roll(seed, (shift[0], shift[1]), axis=(1, 2))
        c = jnp.where(jax.random.bernoulli(k2), jnp.swapaxes(c, 1, 2), c)
        return jnp.where(jax.random.bernoulli(k3), c[:, ::-1], c)

    u0s = jax.vmap(initial)(jax.random.split(key, n))
    meta = {"dataset": "fitzhugh_nagumo", "frame_every": every, "burn_in": burn}
    return _simulate(stepper, u0s, t, every, burn, meta)


def moving_blobs_video(
    key: Any,
    n_videos: int,
    n_frames: int,
    *,
    num_points: int = 32,
    num_blobs: int = 3,
    speed_range: tuple[float, float] = (0.5, 1.5),
    width_range: tuple[float, float] = (0.05, 0.1),
    dtype: Any = None,
) -> Trajectories:
    """Gaussian blobs moving at constant velocities on a periodic square (no PDE behind it).

        x_t(p) = Σ_i A_i g_i(p − c_i − t v_i),

    with random centres, widths (relative to N), amplitudes in [0.5, 1] and velocities
    of random direction and speed (pixels per frame) in `speed_range`. Each blob is drawn
    once by [`dynsys.pde.gaussian_blobs`][] and translated by a Fourier phase shift
    (exact for a periodic band-limited image; sub-pixel motion). Pure advection with
    constant velocity: the control on which the isotropic reaction–diffusion bias has no
    advantage (the velocity is visible only across at least two frames).

    **Arguments:** `key`; `n_videos`; `n_frames` (>= 2); keywords `num_points` N,
    `num_blobs`, `speed_range`, `width_range`, `dtype`.

    **Returns:** a `Trajectories` with states `(n_videos, n_frames, 1, N, N)`.

    ```python
    data = moving_blobs_video(jax.random.key(0), 8, 20)   # states (8, 20, 1, 32, 32)
    ```
    """
    n = check_int(n_videos, "n_videos", minimum=1)
    t = check_int(n_frames, "n_frames", minimum=2)
    size = check_int(num_points, "num_points", minimum=8)
    nb = check_int(num_blobs, "num_blobs", minimum=1)
    lo, hi = map(float, speed_range)
    check_positive(lo, "speed_range", allow_zero=True)
    if hi < lo:
        raise ValueError(f"`speed_range` must be (low, high) with low <= high, got {speed_range}.")
    dtype = jnp.result_type(float) if dtype is None else dtype
    wr = tuple(map(float, width_range))
    freq = jnp.asarray(np.fft.fftfreq(size), dtype=dtype)  # cycles per pixel
    times = jnp.arange(t, dtype=dtype)

    def video(k):
        kb, ka, ks = jax.random.split(k, 3)
        blobs = pde.gaussian_blobs(kb, 2, float(size), size, num_blobs=1, width_range=wr,
                                   num_channels=nb, dtype=dtype)  # fmt: skip
        angle = jax.random.uniform(ka, (nb,), dtype, 0.0, 2.0 * np.pi)
        speed = jax.random.uniform(ks, (nb,), dtype, lo, hi)
        vel = speed[:, None] * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
        spec = jnp.fft.fft2(blobs)  # (nb, N, N)
        shift = times[:, None, None] * vel[None]  # (T, nb, 2) pixels
        phase = freq[None, None, :, None] * shift[..., 0, None, None]
        phase = phase + freq[None, None, None, :] * shift[..., 1, None, None]
        frames = jnp.fft.ifft2(spec[None] * jnp.exp(-2j * np.pi * phase.astype(spec.dtype))).real
        return jnp.sum(frames, axis=1, keepdims=True).astype(dtype)  # (T, 1, N, N)

    states = jax.vmap(video)(jax.random.split(key, n))
    meta = {"dataset": "moving_blobs", "num_blobs": nb, "speed_range": [lo, hi]}
    return Trajectories(times, states, metadata=meta)
