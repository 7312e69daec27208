"""Data-parallel training: the batch split over devices, everything else replicated.

The devices may be those of one process or, after `jax.distributed.initialize()`, of
several: then each process feeds its own rows of the batch (see `_distributed.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ._distributed import process_major, spans_processes

BATCH_AXIS = "batch"


def make_mesh(devices: Any) -> Mesh | None:
    """A 1-D mesh named `"batch"` over `devices` (`None`: no mesh, `"all"`: `jax.devices()`).

    With several processes, `"all"` is the devices of every process, ordered process by
    process (see `process_major` for the lists allowed).
    """
    if devices is None:
        return None
    if isinstance(devices, str):
        if devices != "all":
            raise ValueError(
                f"`devices` must be None, 'all' or a list of devices, got {devices!r}."
            )
        devices = jax.devices()
    if not isinstance(devices, Sequence) or len(devices) == 0:
        raise TypeError(
            f"`devices` must be None, 'all' or a non-empty list of jax devices, got {devices!r}."
        )
    for d in devices:
        if not isinstance(d, jax.Device):
            raise TypeError(f"`devices` must hold jax devices (jax.devices()), got {d!r}.")
    if jax.process_count() > 1:
        devices = process_major(devices)
    return Mesh(np.asarray(devices, dtype=object), (BATCH_AXIS,))


def replicate(tree: Any, mesh: Mesh | None) -> Any:
    """Place every array leaf of `tree` on all devices of `mesh` (identity when no mesh)."""
    if mesh is None:
        return tree
    arrays, static = eqx.partition(tree, eqx.is_array)
    arrays = jax.device_put(arrays, NamedSharding(mesh, P()))
    return eqx.combine(arrays, static)


def constrain_replicated(tree: Any, mesh: Mesh | None) -> Any:
    """Inside `jit`: ask for replicated outputs, so the next step sees the same shardings."""
    if mesh is None:
        return tree
    sharding = NamedSharding(mesh, P())
    return jax.tree_util.tree_map(
        lambda x: jax.lax.with_sharding_constraint(x, sharding) if eqx.is_array(x) else x, tree
    )


def shard_batch(batch: Any, mesh: Mesh | None) -> Any:
    """Split the leading axis of every array leaf of `batch` over the devices of `mesh`.

    Raises a `ValueError` naming `batches` if a leading axis is not divisible by the device
    count; 0-d leaves are replicated. On a mesh over several processes `batch` is this
    process's rows, split over its own devices of the mesh.
    """
    if mesh is None:
        return batch
    if spans_processes(mesh):
        return _shard_process_rows(batch, mesh)
    n_dev = mesh.devices.size
    split = NamedSharding(mesh, P(BATCH_AXIS))
    whole = NamedSharding(mesh, P())

    def place(x):
        if not (eqx.is_array(x) or isinstance(x, np.ndarray)):
            return x
        if np.ndim(x) == 0:
            return jax.device_put(x, whole)
        if x.shape[0] % n_dev != 0:
            raise ValueError(
                f"`batches`: to shard a batch over {n_dev} devices its leading (batch) axis must "
                f"be divisible by {n_dev}, got a leaf of shape {tuple(x.shape)}."
            )
        return jax.device_put(x, split)

    return jax.tree_util.tree_map(place, batch)


def _shard_process_rows(batch: Any, mesh: Mesh) -> Any:
    """`shard_batch` of a multi-process run: global arrays from each process's rows."""
    n_local = len(mesh.local_devices)
    split = NamedSharding(mesh, P(BATCH_AXIS))
    whole = NamedSharding(mesh, P())

    def place(x):
        if not (eqx.is_array(x) or isinstance(x, np.ndarray)):
            return x
        if np.ndim(x) == 0:  # the same on every process, like the step's other scalars
            return jax.make_array_from_process_local_data(whole, x)
        if x.shape[0] % n_local != 0:
            raise ValueError(
                f"`batches`: in a multi-process run the sampler returns this process's rows, "
                f"split over its {n_local} devices of the mesh; their leading (batch) axis must "
                f"be divisible by {n_local}, got a leaf of shape {tuple(x.shape)}."
            )
        return jax.make_array_from_process_local_data(split, x)

    return jax.tree_util.tree_map(place, batch)
