"""Dynamical-systems reconstruction with piecewise-linear RNNs: models and their analysis.

Models (all [`AbstractPLRNN`][]s with `step`, `jacobian`, `generate`, ...): the vanilla
[`PLRNN`][], the [`ShallowPLRNN`][] (and its clipped form), the almost-linear [`ALRNN`][]
and the [`DendriticPLRNN`][]; observation models [`IdentityObservation`][] and
[`AffineObservation`][]. A user's own recurrent model subclasses [`AbstractRNN`][] (a
`step`, a `latent_penalty` and an observation model) and is trained and scored by the same
[`fit`][] and [`evaluate`][] as the built-ins. Analysis: symbolic codes and subregion
statistics, fixed points per subregion, k-cycles (exhaustive or SCYFI), and figures.
Baseline: the [`ContextParrot`][] (nearest-neighbour copying of the training data), scored
by the same [`evaluate`][]. [`reconstruct`][] takes a user's own time series to a
validated [`Reconstruction`][] in one call. Training: [`fit`][] runs the [`TeacherForcing`][]
objective through [`dynsys.training.fit`][].
"""

from ._abstract import AbstractPLRNN as AbstractPLRNN
from ._abstract import AbstractRNN as AbstractRNN
from ._alrnn import ALRNN as ALRNN
from ._context_parrot import ContextParrot as ContextParrot
from ._dendritic_plrnn import DendriticPLRNN as DendriticPLRNN
from ._evaluate import Evaluation as Evaluation
from ._evaluate import evaluate as evaluate
from ._fit import ReconstructionResult as ReconstructionResult
from ._fit import ensemble_member as ensemble_member
from ._fit import fit as fit
from ._fit import make_ensemble as make_ensemble
from ._fixed_points import FixedPoints as FixedPoints
from ._fixed_points import fixed_points as fixed_points
from ._objective import TeacherForcing as TeacherForcing
from ._observation import AbstractObservation as AbstractObservation
from ._observation import AffineObservation as AffineObservation
from ._observation import IdentityObservation as IdentityObservation
from ._plots import plot_attractor as plot_attractor
from ._plots import plot_power_spectra as plot_power_spectra
from ._plots import plot_subregions as plot_subregions
from ._plots import plot_transition_graph as plot_transition_graph
from ._plrnn import PLRNN as PLRNN
from ._reconstruct import reconstruct as reconstruct
from ._reconstruction import Reconstruction as Reconstruction
from ._regularization import latent_regularizer as latent_regularizer
from ._scyfi import Cycles as Cycles
from ._scyfi import find_cycles as find_cycles
from ._settings import TrainingSettings as TrainingSettings
from ._settings import settings as settings
from ._shallow_plrnn import ShallowPLRNN as ShallowPLRNN
from ._symbolic import SubregionCounts as SubregionCounts
from ._symbolic import Transitions as Transitions
from ._symbolic import codes_to_patterns as codes_to_patterns
from ._symbolic import coverage_curve as coverage_curve
from ._symbolic import n_subregions_used as n_subregions_used
from ._symbolic import patterns_to_codes as patterns_to_codes
from ._symbolic import subregion_counts as subregion_counts
from ._symbolic import symbolic_code as symbolic_code
from ._symbolic import transition_matrix as transition_matrix
from ._teacher_forcing import forced_rollout as forced_rollout
from ._teacher_forcing import jacobian_norm_estimate as jacobian_norm_estimate

__all__ = [
    "AbstractPLRNN",
    "AbstractRNN",
    "ALRNN",
    "ContextParrot",
    "DendriticPLRNN",
    "Evaluation",
    "evaluate",
    "ReconstructionResult",
    "ensemble_member",
    "fit",
    "TeacherForcing",
    "make_ensemble",
    "FixedPoints",
    "fixed_points",
    "AbstractObservation",
    "AffineObservation",
    "IdentityObservation",
    "plot_attractor",
    "plot_power_spectra",
    "plot_subregions",
    "plot_transition_graph",
    "PLRNN",
    "reconstruct",
    "Reconstruction",
    "latent_regularizer",
    "Cycles",
    "find_cycles",
    "TrainingSettings",
    "settings",
    "ShallowPLRNN",
    "SubregionCounts",
    "Transitions",
    "codes_to_patterns",
    "coverage_curve",
    "n_subregions_used",
    "patterns_to_codes",
    "subregion_counts",
    "symbolic_code",
    "transition_matrix",
    "forced_rollout",
    "jacobian_norm_estimate",
]
