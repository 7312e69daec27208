"""The training core every model family calls: one fitting loop of strategy objects.

A family builds an **objective** (the loss of one batch) and a **sampler** (`sampler(step,
key) -> batch`) and hands them to [`fit`][dynsys.training.fit], as `diffrax.diffeqsolve`
takes a solver and a step-size controller. Everything else is a small policy object, the
same for every family:

- [`AbstractObjective`][dynsys.training.AbstractObjective] /
  [`LossFunction`][dynsys.training.LossFunction]: the loss, its carried state, its
  failure hint.
- [`Evaluation`][dynsys.training.Evaluation]: scores during training and best-model
  selection.
- [`Checkpointing`][dynsys.training.Checkpointing]: checkpoints with bit-for-bit resume
  ([`save_checkpoint`][dynsys.training.save_checkpoint] /
  [`load_checkpoint`][dynsys.training.load_checkpoint]).
- [`RaiseOnNonfinite`][dynsys.training.RaiseOnNonfinite] /
  [`RollbackOnNonfinite`][dynsys.training.RollbackOnNonfinite]: the non-finite guard.
- [`Progress`][dynsys.training.Progress]: the progress bar.
- [`JitSampler`][dynsys.training.JitSampler]: marks a sampler as a pure JAX function, so
  that `fit` runs several steps per compiled call (bit for bit the same run).

[`fit`][dynsys.training.fit] returns a [`FitResult`][dynsys.training.FitResult];
[`make_step`][dynsys.training.make_step] is the pure step (jit it, vmap it over an
ensemble); [`exponential_decay_per_epoch`][dynsys.training.exponential_decay_per_epoch] is
the learning-rate schedule of the reconstruction family;
[`param_dtype`][dynsys.training.param_dtype] the dtype a model trains in;
[`local_batch`][dynsys.training.local_batch] a process's rows of a global batch in a
multi-process run (`jax.distributed`).
"""

from ._checkpoint import Checkpoint as Checkpoint
from ._checkpoint import Checkpointing as Checkpointing
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import save_checkpoint as save_checkpoint
from ._distributed import local_batch as local_batch
from ._divergence import DivergenceError as DivergenceError
from ._dtype import param_dtype as param_dtype
from ._evaluation import Evaluation as Evaluation
from ._fit import FitResult as FitResult
from ._fit import fit as fit
from ._nonfinite import NonFiniteError as NonFiniteError
from ._nonfinite import RaiseOnNonfinite as RaiseOnNonfinite
from ._nonfinite import RollbackOnNonfinite as RollbackOnNonfinite
from ._objective import AbstractObjective as AbstractObjective
from ._objective import LossFunction as LossFunction
from ._progress import Progress as Progress
from ._sampler import JitSampler as JitSampler
from ._schedules import exponential_decay_per_epoch as exponential_decay_per_epoch
from ._step import make_step as make_step

__all__ = [
    "AbstractObjective",
    "LossFunction",
    "Evaluation",
    "Checkpointing",
    "RaiseOnNonfinite",
    "RollbackOnNonfinite",
    "Progress",
    "JitSampler",
    "Checkpoint",
    "load_checkpoint",
    "save_checkpoint",
    "FitResult",
    "fit",
    "NonFiniteError",
    "DivergenceError",
    "exponential_decay_per_epoch",
    "make_step",
    "param_dtype",
    "local_batch",
]
