"""Koopman and Hankel operators: DMD, Hankel-DMD, HAVOK, EDMD, verified spectra, StNN, SINDy.

Linear operator models fitted to snapshot data, time-major like the rest of dynsys
(`(time, dim)` or `(batch, time, dim)`, trajectories fitted jointly without seams):

- [`DMD`][] (exact/projected, PyDMD's rank rules, TLS and forward-backward debiasing) and
  [`HankelDMD`][] on delay windows; [`HAVOK`][] (linear delay model forced by its last
  coordinate, intermittent-forcing detection, `lax.scan` simulation).
- [`EDMD`][] with dictionaries ([`Monomials`][], [`RBF`][], [`RandomFourierFeatures`][],
  [`FunctionDictionary`][], [`Identity`][], concatenation with `+`), [`KernelEDMD`][].
- [`ResDMD`][]: residuals of every EDMD eigenpair in QR form, filtering of spurious
  eigenvalues and pseudospectra on a grid of z; [`plot_pseudospectrum`][].
- [`StNN`][]: a structured network of [`HankelLinear`][]/[`ToeplitzLinear`][] layers on
  delay windows (FFT mat-vecs), its dense twin [`MLPForecaster`][], trained with
  [`train_forecaster`][] (the training core) and scored by [`evaluate`][dynsys.koopman.evaluate]
  ([`ForecastScores`][]); [`SINDy`][] (STLSQ) as the classical baseline.

General (nonsymmetric) eigendecompositions use LAPACK on CPU; on GPU/TPU the small matrix
goes to the host through `jax.pure_callback` (see [`eig`][dynsys.koopman.eig]).
"""

from ._dictionaries import RBF as RBF
from ._dictionaries import AbstractDictionary as AbstractDictionary
from ._dictionaries import Concat as Concat
from ._dictionaries import FunctionDictionary as FunctionDictionary
from ._dictionaries import Identity as Identity
from ._dictionaries import Monomials as Monomials
from ._dictionaries import RandomFourierFeatures as RandomFourierFeatures
from ._dmd import DMD as DMD
from ._dmd import DMDResult as DMDResult
from ._edmd import EDMD as EDMD
from ._edmd import EDMDResult as EDMDResult
from ._eig import eig as eig
from ._evaluate import ForecastScores as ForecastScores
from ._evaluate import evaluate as evaluate
from ._finite_difference import finite_difference as finite_difference
from ._hankel import delay_embed as delay_embed
from ._hankel import delay_unembed as delay_unembed
from ._hankel_dmd import HankelDMD as HankelDMD
from ._hankel_dmd import HankelDMDResult as HankelDMDResult
from ._havok import HAVOK as HAVOK
from ._havok import HAVOKResult as HAVOKResult
from ._kernel_edmd import Kernel as Kernel
from ._kernel_edmd import KernelEDMD as KernelEDMD
from ._kernel_edmd import KernelEDMDResult as KernelEDMDResult
from ._rank import select_rank as select_rank
from ._resdmd import ResDMD as ResDMD
from ._resdmd import ResDMDResult as ResDMDResult
from ._resdmd import plot_pseudospectrum as plot_pseudospectrum
from ._sindy import SINDy as SINDy
from ._sindy import SINDyResult as SINDyResult
from ._stnn import AbstractDelayForecaster as AbstractDelayForecaster
from ._stnn import MLPForecaster as MLPForecaster
from ._stnn import StNN as StNN
from ._stnn import train_forecaster as train_forecaster
from ._structured import HankelLinear as HankelLinear
from ._structured import ToeplitzLinear as ToeplitzLinear

__all__ = [
    "ForecastScores",
    "evaluate",
    "RBF",
    "AbstractDictionary",
    "Concat",
    "FunctionDictionary",
    "Identity",
    "Monomials",
    "RandomFourierFeatures",
    "DMD",
    "DMDResult",
    "EDMD",
    "EDMDResult",
    "eig",
    "finite_difference",
    "delay_embed",
    "delay_unembed",
    "HankelDMD",
    "HankelDMDResult",
    "HAVOK",
    "HAVOKResult",
    "Kernel",
    "KernelEDMD",
    "KernelEDMDResult",
    "select_rank",
    "ResDMD",
    "ResDMDResult",
    "plot_pseudospectrum",
    "SINDy",
    "SINDyResult",
    "AbstractDelayForecaster",
    "MLPForecaster",
    "StNN",
    "train_forecaster",
    "HankelLinear",
    "ToeplitzLinear",
]
