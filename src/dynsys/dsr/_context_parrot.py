"""Context parroting (Zhang & Gilpin 2025): a nearest-neighbour copying baseline."""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._validation import as_array, check_finite, check_int, check_ndim
from ..data import Trajectories

# Candidates examined per direction and iteration of the nearest-neighbour search.
_BLOCK = 32


class ContextParrot(eqx.Module):
    """Context parroting: continue a series by copying what followed its best match.

    Zhang & Gilpin, "Context parroting: a simple but tough-to-beat baseline for foundation
    models in scientific machine learning" (arXiv 2505.11349, ICLR 2026). The context (the
    training data) is cut into all windows of `D` consecutive observations that have a
    successor. The state is the last `D` observations, flattened oldest first,
    z = [x_{t−D+1}, …, x_t] of size D·N, and one step is

        j = argmin_s ‖c_{s:s+D} − z‖₂  (over the context windows; ties: lowest s),
        z ← [x_{t−D+2}, …, x_t, c_{s=j, +D}],

    i.e. append the successor of the nearest window and drop the oldest observation. Once
    the state is a context window, the nearest window is itself, so the model replays the
    context from there until the end of a stretch, then jumps to the best match again.
    `readout(z)` is the last observation. A deterministic map on the delay state, with
    `step`, `init_state`, `readout`, `generate`, `generate_latent`, `obs_dim` and `dtype`
    like the RNNs, so [`dynsys.dsr.evaluate`][] scores it with the same protocol. It has
    no Jacobian (`differentiable = False`), so `evaluate` reports λ_max as NaN.

    `init_state(x0)` takes the context window whose **last** point is nearest to `x0` and
    replaces that last point by `x0` (the model needs D observations; an observation
    alone gives one). So `generate(x0, n)[0] == x0`.

    Search: exact nearest neighbour (up to rounding), without scanning every window.
    The windows are sorted by their projection on their first principal axis u; since
    |u·(w − z)| ≤ ‖w − z‖, only windows whose projection lies within the best distance
    found so far of u·z can be nearer, and the search widens from u·z outwards in blocks
    until none can. On an attractor this examines a few blocks instead of all windows
    (a 100 000-step free run on a 50 000-point Lorenz-63 context takes seconds on a CPU);
    it degrades gracefully to a full scan for a state far from the data.

    **Arguments:**

    - `context`: the training data, `(T, N)`, `(batch, T, N)` (windows never cross from
      one trajectory to the next) or [`dynsys.data.Trajectories`][] (all trajectories).
      Finite; every trajectory needs T ≥ D + 1 samples.
    - `embedding`: D ≥ 1, the window length in samples (default 3). With the full state
      observed, the last point alone nearly fixes the future; the few extra samples add
      the direction of motion, which separates nearby orbit pieces running in different
      directions and averages observation noise in the match. A scalar observation needs
      D of the order of an embedding dimension (Takens: > 2 × the attractor dimension).
    - `dtype`: float dtype of the stored context (default that of `context`).

    ```python
    import jax.numpy as jnp
    from dynsys import dsr
    t = jnp.arange(2000) * 0.05
    context = jnp.stack([jnp.sin(t), jnp.cos(t)], axis=-1)     # (2000, 2)
    parrot = dsr.ContextParrot(context, embedding=3)
    xs = parrot.generate(context[100], 500)                     # (500, 2), copies the cycle
    ```
    """

    context: Float[Array, "time obs"]
    window_starts: Int[Array, " windows"]
    window_projections: Float[Array, " windows"]
    window_axis: Float[Array, " state"]
    point_starts: Int[Array, " windows"]
    point_projections: Float[Array, " windows"]
    point_axis: Float[Array, " obs"]
    embedding: int = eqx.field(static=True)
    window_tolerance: float = eqx.field(static=True)
    point_tolerance: float = eqx.field(static=True)

    differentiable: ClassVar[bool] = False

    def __init__(self, context: Any, *, embedding: int = 3, dtype: Any = None):
        embedding = check_int(embedding, "embedding", minimum=1)
        series = _context_series(context, dtype)
        lengths = [x.shape[0] for x in series]
        if min(lengths) < embedding + 1:
            raise ValueError(
                f"`context` must have at least embedding + 1 = {embedding + 1} samples per "
                f"trajectory (a window of D={embedding} and its successor), got trajectory "
                f"lengths {lengths}."
            )
        flat = np.concatenate(series, axis=0)
        offsets = np.cumsum([0, *lengths[:-1]])
        starts = np.concatenate(
            [o + np.arange(n - embedding) for o, n in zip(offsets, lengths)]
        ).astype(np.int32)
        windows = flat[starts[:, None] + np.arange(embedding)].reshape(len(starts), -1)
        w_order, w_proj, w_axis, w_tol = _sorted_index(windows)
        p_order, p_proj, p_axis, p_tol = _sorted_index(flat[starts + embedding - 1])
        dt = flat.dtype
        self.context = jnp.asarray(flat)
        self.window_starts = jnp.asarray(starts[w_order])
        self.window_projections = jnp.asarray(w_proj.astype(dt))
        self.window_axis = jnp.asarray(w_axis.astype(dt))
        self.point_starts = jnp.asarray(starts[p_order])
        self.point_projections = jnp.asarray(p_proj.astype(dt))
        self.point_axis = jnp.asarray(p_axis.astype(dt))
        self.embedding = embedding
        self.window_tolerance = w_tol
        self.point_tolerance = p_tol

    # ---- the generator interface ---------------------------------------------------

    @property
    def obs_dim(self) -> int:
        """N, the observation dimension."""
        return self.context.shape[-1]

    @property
    def latent_dim(self) -> int:
        """D·N, the size of the delay state."""
        return self.embedding * self.obs_dim

    @property
    def dtype(self) -> Any:
        """Float dtype of the context (and of every state)."""
        return self.context.dtype

    @property
    def n_windows(self) -> int:
        """How many context windows the search runs over (those with a successor)."""
        return self.window_starts.shape[0]

    def nearest_window(self, z: Float[Array, " state"]) -> Int[Array, ""]:
        """Start index s (into the concatenated context) of the window nearest to `z`."""
        return _nearest(
            z, self._window_vectors, self.window_starts, self.window_projections,
            self.window_axis, self.window_tolerance,
        )  # fmt: skip

    def step(self, z: Float[Array, "*batch state"]) -> Float[Array, "*batch state"]:
        """One parroting step: append the successor of the nearest window, drop the oldest.

        **Arguments:** `z`, delay state(s) `(..., D·N)`, oldest observation first.

        **Returns:** the next delay state(s), same shape.
        """
        return _over_batch(self._step_one, z)

    def readout(self, z: Float[Array, "*batch state"]) -> Float[Array, "*batch obs"]:
        """The last observation of the delay state(s): `(..., D·N) -> (..., N)`."""
        return z[..., self.latent_dim - self.obs_dim :]

    def init_state(self, x: Float[Array, "*batch obs"]) -> Float[Array, "*batch state"]:
        """Delay state(s) ending in observation(s) `x`: `(..., N) -> (..., D·N)`.

        The context window whose last point is nearest to `x`, with that last point
        replaced by `x`.
        """
        return _over_batch(self._init_one, x)

    def generate_latent(self, z0: ArrayLike, n_steps: int) -> Float[Array, "*batch time state"]:
        """Iterate the parroting map from `z0` for `n_steps` states (first row = `z0`).

        **Arguments:**

        - `z0`: delay state `(D·N,)` or a batch `(batch, D·N)`.
        - `n_steps`: number of states returned (≥ 1), `z0` included.

        **Returns:** `(n_steps, D·N)` or `(batch, n_steps, D·N)`.
        """
        z0 = as_array(z0, "z0", dtype=self.dtype)
        _check_state(z0, "z0", self.latent_dim, "latent_dim = embedding · obs_dim")
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        return _rollout(self, z0, n_steps)

    def generate(self, x0: ArrayLike, n_steps: int) -> Float[Array, "*batch time obs"]:
        """Generate a trajectory from an initial observation by parroting the context.

        Starts at `init_state(x0)` and reads out every state, so the first row is `x0`.

        **Arguments:**

        - `x0`: initial observation `(N,)`, or a batch `(batch, N)`.
        - `n_steps`: number of rows returned (≥ 1), the initial one included.

        **Returns:** `(n_steps, N)` or `(batch, n_steps, N)`.

        ```python
        xs = parrot.generate(x0, 10_000)   # (10000, N): stretches of the context
        ```
        """
        x0 = as_array(x0, "x0", dtype=self.dtype)
        _check_state(x0, "x0", self.obs_dim, "obs_dim")
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        return _generate(self, x0, n_steps)

    # ---- single-state kernels --------------------------------------------------------

    def _window_vectors(self, starts):
        offsets = jnp.arange(self.embedding, dtype=starts.dtype)
        return self.context[starts[:, None] + offsets].reshape(starts.shape[0], -1)

    def _point_vectors(self, starts):
        return self.context[starts + (self.embedding - 1)]

    def _step_one(self, z):
        s = self.nearest_window(z)
        successor = self.context[s + self.embedding]
        return jnp.concatenate([z[self.obs_dim :], successor.astype(z.dtype)])

    def _init_one(self, x):
        s = _nearest(
            x, self._point_vectors, self.point_starts, self.point_projections,
            self.point_axis, self.point_tolerance,
        )  # fmt: skip
        offsets = jnp.arange(self.embedding - 1, dtype=s.dtype)
        head = self.context[s + offsets].reshape(-1).astype(x.dtype)
        return jnp.concatenate([head, x])


def _context_series(context: Any, dtype: Any) -> list[np.ndarray]:
    """The context as a list of finite float arrays `(T_i, N)`; a clear error otherwise."""
    if isinstance(context, Trajectories):
        if len(context.states.shape) != 3:
            raise ValueError(
                "`context` must hold ODE/map trajectories (batch, time, dim), got states of "
                f"shape {tuple(context.states.shape)}."
            )
        arr = context.states
    else:
        arr = as_array(context, "context")
        check_ndim(arr, "context", (2, 3), "(time, dim), (batch, time, dim) or Trajectories")
    if dtype is not None:
        arr = jnp.asarray(arr, dtype=dtype)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        raise TypeError(f"`dtype` must be a floating dtype, got {arr.dtype}.")
    if arr.shape[-1] < 1:
        raise ValueError(f"`context` must have at least one dimension, got {tuple(arr.shape)}.")
    check_finite(arr, "context")
    arr = np.asarray(arr)
    return list(arr) if arr.ndim == 3 else [arr]


def _sorted_index(vectors: np.ndarray):
    """Order of `vectors` along their first principal axis, the sorted projections, the
    axis, and the rounding slack of a projection (an absolute tolerance)."""
    v = vectors.astype(np.float64)
    centred = v - v.mean(axis=0)
    _, eigvecs = np.linalg.eigh(centred.T @ centred)
    axis = eigvecs[:, -1]
    proj = v @ axis
    order = np.argsort(proj, kind="stable")
    k = v.shape[1]
    scale = float(np.max(np.abs(v))) if v.size else 1.0
    # |u·w| ≤ √k·max|w|; a dot product in this dtype errs by about k·eps of that. The
    # stored projections (float64, then rounded) and the query's differ by at most twice.
    tol = 4.0 * k * float(np.finfo(vectors.dtype).eps) * float(np.sqrt(k)) * max(scale, 1.0)
    return order, proj[order], axis, tol


def _nearest(query, vectors_at, starts, projections, axis, tolerance: float):
    """Start index of the vector nearest to `query` (ties: the lowest start index).

    `vectors_at(starts)` gives the vectors of a block of start indices; `starts` and
    `projections` are sorted by the projection on `axis`. Exact up to rounding: a vector
    whose projection is farther than the best distance so far cannot be nearer.
    """
    n = starts.shape[0]
    dtype = query.dtype
    sentinel = jnp.iinfo(starts.dtype).max
    offsets = jnp.arange(_BLOCK, dtype=starts.dtype)
    proj_q = jnp.dot(query, axis.astype(dtype))
    pos = jnp.searchsorted(projections, proj_q).astype(starts.dtype)
    slack = 1.0 + 4.0 * query.shape[0] * float(jnp.finfo(dtype).eps)

    def within(i, gap_sign, best_d):
        p = projections[jnp.clip(i, 0, n - 1)].astype(dtype)
        radius = jnp.sqrt(best_d) * slack + tolerance
        return gap_sign * (p - proj_q) <= radius

    def cond(carry):
        lo, hi, best_d, _ = carry
        up = (hi < n) & within(hi, 1.0, best_d)
        down = (lo > 0) & within(lo - 1, -1.0, best_d)
        return up | down

    def body(carry):
        lo, hi, best_d, best_s = carry
        idx = jnp.concatenate([hi + offsets, lo - 1 - offsets])
        valid = (idx >= 0) & (idx < n)
        s = starts[jnp.clip(idx, 0, n - 1)]
        d = jnp.sum((vectors_at(s).astype(dtype) - query) ** 2, axis=-1)
        d = jnp.where(valid & ~jnp.isnan(d), d, jnp.inf)
        d_min = jnp.min(d)
        s_min = jnp.min(jnp.where(valid & (d == d_min), s, sentinel))
        better = (d_min < best_d) | ((d_min == best_d) & (s_min < best_s))
        return (
            lo - _BLOCK,
            hi + _BLOCK,
            jnp.where(better, d_min, best_d),
            jnp.where(better, s_min, best_s),
        )

    init = (pos, pos, jnp.asarray(jnp.inf, dtype), jnp.asarray(sentinel, starts.dtype))
    _, _, _, best_s = jax.lax.while_loop(cond, body, init)
    # A non-finite query matches nothing: fall back to the first window.
    return jnp.where(best_s == sentinel, 0, best_s)


def _over_batch(fn, x):
    if x.ndim == 1:
        return fn(x)
    flat = x.reshape(-1, x.shape[-1])
    out = jax.vmap(fn)(flat)
    return out.reshape(*x.shape[:-1], out.shape[-1])


def _check_state(x, name, dim, dim_name):
    check_ndim(x, name, (1, 2), "(dim,) or (batch, dim)")
    if x.shape[-1] != dim:
        raise ValueError(
            f"`{name}` must have last axis of length {dim_name}={dim}, got shape {tuple(x.shape)}."
        )
    check_finite(x, name)


@eqx.filter_jit
def _generate(model: ContextParrot, x0, n_steps: int):
    return model.readout(_rollout(model, model.init_state(x0), n_steps))


@eqx.filter_jit
def _rollout(model: ContextParrot, z0, n_steps: int):
    def body(z, _):
        z_next = model.step(z)
        return z_next, z_next

    _, zs = jax.lax.scan(body, z0, None, length=n_steps - 1)
    zs = jnp.concatenate([z0[None], zs], axis=0)
    return jnp.moveaxis(zs, 0, -2)
