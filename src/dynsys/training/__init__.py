"""The training core every model family calls: one fitting loop on optax and equinox.

- [`make_step`][dynsys.training.make_step]: the pure step (loss, gradient, optax update);
  jit it, vmap it over an ensemble.
- [`fit`][dynsys.training.fit]: the loop around it (history, progress bar, evaluation,
  best/last selection, checkpoints with bit-for-bit resume, non-finite guard, data-parallel
  sharding, ensembles) returning a [`FitResult`][dynsys.training.FitResult].
- [`save_checkpoint`][dynsys.training.save_checkpoint] /
  [`load_checkpoint`][dynsys.training.load_checkpoint].
- [`exponential_decay_per_epoch`][dynsys.training.exponential_decay_per_epoch]: the
  learning-rate schedule of the reconstruction family.
"""

from ._checkpoint import Checkpoint as Checkpoint
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import save_checkpoint as save_checkpoint
from ._fit import FitResult as FitResult
from ._fit import fit as fit
from ._nonfinite import NonFiniteError as NonFiniteError
from ._schedules import exponential_decay_per_epoch as exponential_decay_per_epoch
from ._step import make_step as make_step

__all__ = [
    "Checkpoint",
    "load_checkpoint",
    "save_checkpoint",
    "FitResult",
    "fit",
    "NonFiniteError",
    "exponential_decay_per_epoch",
    "make_step",
]
