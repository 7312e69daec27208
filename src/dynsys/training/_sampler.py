"""Samplers that `fit` may run inside its compiled multi-step call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._validation import check_key


class JitSampler(eqx.Module):
    """Marks a sampler as a pure JAX function of the step, the key and its data.

    [`dynsys.training.fit`][] then runs several steps per compiled call (a loop over
    steps, the batches drawn inside it, `step` a traced integer), which removes the
    per-step dispatch and host synchronisation; the results are bit for bit those of one
    step per call. `fn` must use only JAX operations (no numpy randomness, no Python
    branches on `step`). Pass the arrays it samples from as `data`: they are then traced
    arguments of the compiled program, not constants baked into it. Called alone, the
    sampler is jitted.

    **Arguments:** `fn`: `fn(step, key) -> batch`, or `fn(step, key, data) -> batch` when
    `data` (any pytree of arrays) is given.

    ```python
    sampler = JitSampler(lambda step, key, xs: xs[jax.random.choice(key, len(xs), (32,))],
                         data=xs)
    ```
    """

    fn: Callable[..., Any] = eqx.field(static=True)
    data: Any = None

    def __check_init__(self):
        if not callable(self.fn):
            raise TypeError(f"`fn` must be callable, got {self.fn!r}.")

    jittable: ClassVar[bool] = True

    def __call__(self, step: Any, key: Any) -> Any:
        """The batch of step `step` drawn with `key`."""
        return _draw(self, jnp.asarray(step, dtype=jnp.int32), check_key(key, "key"))


@eqx.filter_jit
def _draw(sampler: JitSampler, step: Any, key: Any) -> Any:
    if sampler.data is None:
        return sampler.fn(step, key)
    return sampler.fn(step, key, sampler.data)


def is_jittable(sampler: Any) -> bool:
    """Whether `sampler` declares itself a pure JAX function (class variable `jittable`)."""
    return getattr(type(sampler), "jittable", False) is True
