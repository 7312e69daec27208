"""Random mini-batches of snapshots (trajectory, time) drawn without replacement."""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax
from jaxtyping import Array, Int

from .._validation import check_int
from ._random import check_key


class SnapshotSampler(eqx.Module):
    """Draws mini-batches of distinct snapshots: `sampler(key) -> (trajectory, time)`.

    A snapshot is one time sample of one trajectory; the data hold `n_trajectories ·
    n_times` of them. Each call picks `batch_size` distinct snapshots uniformly (`flat =
    jax.random.choice(key, n_trajectories · n_times, (batch_size,), replace=False)`, so
    every subset of that size is equally likely) and returns their indices `(flat //
    n_times, flat % n_times)`, with which to cut aligned arrays, e.g. the fields and a
    per-snapshot latent memory of an auto-decoder ([`dynsys.rom.fit_phirom`][]). Unlike
    [`sample_window_indices`][] a batch never holds one snapshot twice. The draw is jitted
    and its output shape depends only on `batch_size`, so a jitted training step never
    recompiles. It also takes the sampler convention of [`dynsys.training.fit`][],
    `sampler(step, key)` (the batch does not depend on the step).

    **Arguments:**

    - `n_trajectories`, `n_times`: sizes of the data (Python ints, >= 1), e.g.
      `data.states.shape[:2]` of a [`Trajectories`][].
    - `batch_size`: snapshots per batch, `1 <= batch_size <= n_trajectories · n_times`.

    **Returns** (of `__call__(key)` or `__call__(step, key)`): `(trajectory, time)`, int
    arrays of shape `(batch_size,)`.

    ```python
    sampler = SnapshotSampler(*traj.states.shape[:2], batch_size=64)
    i, t = sampler(jax.random.key(0))
    snapshots = traj.states[i, t]            # (64, *state_shape)
    ```
    """

    # a pure JAX function of (step, key): `training.fit` may draw inside its compiled calls
    jittable: ClassVar[bool] = True

    n_trajectories: int = eqx.field(static=True)
    n_times: int = eqx.field(static=True)
    batch_size: int = eqx.field(static=True)

    def __init__(self, n_trajectories: int, n_times: int, *, batch_size: int):
        self.n_trajectories = check_int(n_trajectories, "n_trajectories", minimum=1)
        self.n_times = check_int(n_times, "n_times", minimum=1)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        if self.batch_size > self.n_snapshots:
            raise ValueError(
                f"`batch_size`={self.batch_size} exceeds the {self.n_snapshots} snapshots "
                f"(`n_trajectories`={self.n_trajectories} x `n_times`={self.n_times}); batches are "
                "drawn without replacement."
            )

    @property
    def n_snapshots(self) -> int:
        """Number of snapshots the sampler draws from."""
        return self.n_trajectories * self.n_times

    def __call__(self, *args: Any) -> tuple[Int[Array, " batch"], Int[Array, " batch"]]:
        """`sampler(key)`, or `sampler(step, key)` as [`dynsys.training.fit`][] calls it."""
        if len(args) not in (1, 2):
            raise TypeError(
                "SnapshotSampler is called as sampler(key) or sampler(step, key), got "
                f"{len(args)} arguments."
            )
        return _sample(check_key(args[-1]), self.n_snapshots, self.n_times, self.batch_size)


@eqx.filter_jit
def _sample(key, n_snapshots, n_times, batch_size):
    flat = jax.random.choice(key, n_snapshots, (batch_size,), replace=False)
    return flat // n_times, flat % n_times
