"""Random mini-batches of whole trials, drawn without replacement."""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._validation import check_int
from ._random import check_key


class TrialSampler(eqx.Module):
    """Draws mini-batches of whole trials without replacement: `sampler(key) -> batch`.

    Each call picks `batch_size` distinct trials uniformly (`jax.random.choice(key,
    n_trials, (batch_size,), replace=False)`: every subset of that size is equally likely,
    so a batch never holds one trial twice) and cuts the same rows from every array of
    `data`. The data are checked once at construction and the draw and gather are jitted,
    so a call in a training loop costs only the gather, and the output shapes depend only on
    `batch_size` (a jitted training step never recompiles). It also takes the sampler
    convention of [`dynsys.training.fit`][], `sampler(step, key)` (the batch does not depend
    on the step).

    **Arguments:**

    - `data`: an array `(trials, ...)`, or a pytree of arrays sharing that leading trial
      axis, e.g. the tuple `(counts, mask)`; any dtype (NaN/inf are not checked, since
      masked entries may hold anything).
    - `batch_size`: trials per batch, `1 <= batch_size <= trials`.

    **Returns** (of `__call__(key)` or `__call__(step, key)`): `data`'s structure with every
    leaf `(batch_size, ...)`.

    ```python
    sampler = TrialSampler((counts, mask), batch_size=16)   # counts (100, 50, 30)
    batch_counts, batch_mask = sampler(jax.random.key(0))   # (16, 50, 30), (16, 50)
    ```
    """

    # a pure JAX function of (step, key): `training.fit` may draw inside its compiled calls
    jittable: ClassVar[bool] = True

    data: Any
    batch_size: int = eqx.field(static=True)

    def __init__(self, data: Any, *, batch_size: int):
        self.data = _check_data(data)
        n_trials = _n_trials(self.data)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        if self.batch_size > n_trials:
            raise ValueError(
                f"`batch_size`={self.batch_size} exceeds the {n_trials} trials of `data` "
                "(batches are drawn without replacement)."
            )

    @property
    def n_trials(self) -> int:
        """Number of trials the sampler draws from."""
        return _n_trials(self.data)

    def __call__(self, *args: Any) -> Any:
        """`sampler(key)`, or `sampler(step, key)` as [`dynsys.training.fit`][] calls it."""
        if len(args) not in (1, 2):
            raise TypeError(
                f"TrialSampler is called as sampler(key) or sampler(step, key), got {len(args)} "
                "arguments."
            )
        return _sample(check_key(args[-1]), self.data, self.batch_size)


def _check_data(data: Any) -> Any:
    leaves, treedef = jax.tree_util.tree_flatten(data)
    if not leaves:
        raise ValueError("`data` must hold at least one array, got an empty pytree.")
    arrays = []
    for leaf in leaves:
        if isinstance(leaf, (str, bytes)):
            raise TypeError(f"`data` must hold arrays, got {type(leaf).__name__}.")
        try:
            arr = jnp.asarray(leaf)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`data` must hold arrays, got {type(leaf).__name__}.") from err
        if arr.ndim < 1:
            raise ValueError("Every array of `data` needs a leading trial axis, got a scalar.")
        arrays.append(arr)
    shapes = [tuple(a.shape) for a in arrays]
    if any(s[0] != shapes[0][0] for s in shapes):
        raise ValueError(f"The arrays of `data` must share the leading trial axis, got {shapes}.")
    if shapes[0][0] == 0:
        raise ValueError("`data` holds no trials (leading axis of length 0).")
    return jax.tree_util.tree_unflatten(treedef, arrays)


def _n_trials(data: Any) -> int:
    return jax.tree_util.tree_leaves(data)[0].shape[0]


@eqx.filter_jit
def _sample(key, data, batch_size):
    idx = jax.random.choice(key, _n_trials(data), (batch_size,), replace=False)
    return jax.tree_util.tree_map(lambda x: x[idx], data)
