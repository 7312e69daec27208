"""Data-parallel training over several processes (`jax.distributed`): who feeds and who writes.

After `jax.distributed.initialize()`, `fit(..., devices="all")` trains on a mesh over the
devices of every process (`jax.devices()`). Each process runs the same loop: its sampler
returns its own rows of the global batch ([`local_batch`][dynsys.training.local_batch]),
the gradients are reduced by JAX's collectives, and the parameters stay replicated, so
every process ends with the same model. Only process 0 shows progress and writes
checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import numpy as np

from ._progress import Progress


def spans_processes(mesh: Any) -> bool:
    """Whether `mesh` holds devices of more than one process (a multi-process run)."""
    if mesh is None:
        return False
    return len({d.process_index for d in mesh.devices.flat}) > 1


def is_primary(mesh: Any) -> bool:
    """Whether this process does the host-side writing for a run on `mesh` (process 0)."""
    return not spans_processes(mesh) or jax.process_index() == 0


def process_major(devices: Sequence[Any]) -> list:
    """Check a device list for a multi-process run and order it process by process.

    The list is either the devices of this process alone (this process trains on its own)
    or the same number of devices of every process; then process p owns the p-th block of
    the mesh, that is rows `[p·B/P, (p+1)·B/P)` of a global batch of B rows. Raises a
    `ValueError` naming `devices` otherwise.
    """
    counts: dict[int, int] = {}
    for d in devices:
        counts[d.process_index] = counts.get(d.process_index, 0) + 1
    me, n_proc = jax.process_index(), jax.process_count()
    if len(counts) == 1:
        (owner,) = counts
        if owner != me:
            raise ValueError(
                f"`devices`: the devices given belong to process {owner}, not to this process "
                f"({me}); pass this process's devices (jax.local_devices()) or devices of every "
                "process (devices='all')."
            )
        return list(devices)
    if sorted(counts) != list(range(n_proc)):
        missing = sorted(set(range(n_proc)) - set(counts))
        raise ValueError(
            f"`devices`: a multi-process run needs devices of every process; processes "
            f"{missing} of {n_proc} have none in the list (use devices='all')."
        )
    if len(set(counts.values())) != 1:
        raise ValueError(
            "`devices`: a multi-process run needs the same number of devices from every "
            f"process, got {dict(sorted(counts.items()))} (process: devices)."
        )
    return sorted(devices, key=lambda d: d.process_index)


def check_multiprocess(mesh: Any, checkpoint: Any) -> None:
    """Refuse what a multi-process run cannot do yet: resuming from a checkpoint."""
    if spans_processes(mesh) and checkpoint is not None and checkpoint.resume:
        raise ValueError(
            "`checkpoint`: resume=True is not supported in a multi-process run (devices of "
            f"{jax.process_count()} processes); process 0 writes the checkpoints, resume from "
            "one process (dynsys.training.load_checkpoint) or start afresh."
        )


def primary_progress(progress: Progress, mesh: Any) -> Progress:
    """The progress policy of this process: switched off except on process 0."""
    if is_primary(mesh):
        return progress
    return Progress(enabled=False, desc=progress.desc)


def rows_of_process(batch: Any, index: int, count: int) -> Any:
    """Rows `[index·B/count, (index+1)·B/count)` of every array leaf with a leading axis."""

    def take(x):
        if not (eqx.is_array(x) or isinstance(x, np.ndarray)) or np.ndim(x) == 0:
            return x
        n = x.shape[0]
        if n % count != 0:
            raise ValueError(
                f"`batch`: to split a global batch over {count} processes its leading (batch) "
                f"axis must be divisible by {count}, got a leaf of shape {tuple(x.shape)}."
            )
        size = n // count
        return x[index * size : (index + 1) * size]

    return jax.tree_util.tree_map(take, batch)


def local_batch(batch: Any) -> Any:
    """This process's rows of a global batch, for a sampler of a multi-process `fit`.

    In a multi-process run (`jax.distributed.initialize()`, then `fit(..., devices="all")`)
    the sampler runs on every process with the same `step` and `key` and must return this
    process's rows of the global batch: process p of P the rows `[p·B/P, (p+1)·B/P)` of B
    (0-d leaves whole, equal on every process). `local_batch` cuts them from the global
    batch, so that a sampler that draws the global batch serves a multi-process run
    unchanged, with the same global batch (and the same result) as one process. With one
    process it returns `batch` as it is.

    **Arguments:** `batch`: a pytree whose array leaves share a leading batch axis of
    length B, divisible by `jax.process_count()`.

    **Returns:** the same pytree with leaves of leading length B/P.

    ```python
    def sampler(step, key):
        idx = jax.random.choice(key, len(xs), (64,))  # the same draw on every process
        return local_batch((xs[idx], ys[idx]))
    ```

    A sampler that reads only its own shard of a large data set (each process drawing
    its B/P rows) is as good: the global batch is the processes' rows in process order.
    """
    count = jax.process_count()
    if count == 1:
        return batch
    return rows_of_process(batch, jax.process_index(), count)
