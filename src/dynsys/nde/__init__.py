"""Neural differential equations on diffrax: neural/latent ODEs and SDEs, fitting, evaluation.

Models (`eqx.Module`s, solver, step-size controller and adjoint selectable):

- [`NeuralODE`][dynsys.nde.NeuralODE]: `dy/dt = f_θ(t, y)`, in data space or augmented.
- [`LatentODE`][dynsys.nde.LatentODE]: variational latent ODE for irregular, partially
  observed series, a time grid per sample.
- [`NeuralSDE`][dynsys.nde.NeuralSDE]: `dy = f_θ dt + diag(g_θ) dW`, many paths at once.
- [`LatentSDE`][dynsys.nde.LatentSDE]: latent SDE with the posterior–prior path KL.
- Building blocks: [`ScaledTanhMLP`][dynsys.nde.ScaledTanhMLP],
  [`DiagonalDiffusion`][dynsys.nde.DiagonalDiffusion], [`BackwardGRU`][dynsys.nde.BackwardGRU].

Every model is an [`AbstractNDE`][dynsys.nde.AbstractNDE] that builds its own training
objective ([`TrajectoryMatching`][dynsys.nde.TrajectoryMatching],
[`MultipleShooting`][dynsys.nde.MultipleShooting], [`LatentODEELBO`][dynsys.nde.LatentODEELBO],
[`TransitionNLL`][dynsys.nde.TransitionNLL], [`LatentSDEELBO`][dynsys.nde.LatentSDEELBO]);
a new model is a subclass.

Training: [`fit`][dynsys.nde.fit] on [`dynsys.training.fit`][] (length curriculum,
multiple shooting, fixed batch shapes, checkpoints per phase,
[`SolverError`][dynsys.nde.SolverError] naming the failing trajectory and time).
Evaluation: [`evaluate`][dynsys.nde.evaluate] with the shared D_stsp, D_H, PE and λ_max.
"""

from ._abstract import AbstractNDE as AbstractNDE
from ._abstract import FitPhase as FitPhase
from ._encoder import BackwardGRU as BackwardGRU
from ._evaluate import NDEEvaluation as NDEEvaluation
from ._evaluate import evaluate as evaluate
from ._fit import NDEFitResult as NDEFitResult
from ._fit import fit as fit
from ._latent_ode import LatentODE as LatentODE
from ._latent_sde import LatentSDE as LatentSDE
from ._neural_ode import NeuralODE as NeuralODE
from ._neural_sde import DiagonalDiffusion as DiagonalDiffusion
from ._neural_sde import NeuralSDE as NeuralSDE
from ._objectives import LatentODEELBO as LatentODEELBO
from ._objectives import LatentSDEELBO as LatentSDEELBO
from ._objectives import MultipleShooting as MultipleShooting
from ._objectives import TrajectoryMatching as TrajectoryMatching
from ._objectives import TransitionNLL as TransitionNLL
from ._solver_error import SolverError as SolverError
from ._vector_field import ScaledTanhMLP as ScaledTanhMLP

__all__ = [
    "AbstractNDE",
    "FitPhase",
    "BackwardGRU",
    "NDEEvaluation",
    "evaluate",
    "NDEFitResult",
    "SolverError",
    "fit",
    "TrajectoryMatching",
    "MultipleShooting",
    "LatentODEELBO",
    "TransitionNLL",
    "LatentSDEELBO",
    "LatentODE",
    "LatentSDE",
    "NeuralODE",
    "DiagonalDiffusion",
    "NeuralSDE",
    "ScaledTanhMLP",
]
