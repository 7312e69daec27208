"""Evaluation metrics shared by every model family (definitions in docs/metrics.md).

Images and fields: `ssim` (structural similarity, Wang et al. 2004), `nrmse`,
`relative_l2_error`.

What every family's `evaluate` returns: a subclass of `AbstractScores` (a read-only
mapping of named scores with `.to_dict()` and `.summary()`); `json_safe` makes any mix of
floats and arrays strict JSON.

Neural populations (NLB definitions): `bits_per_spike`, `co_bps`, `fp_bps`, `poisson_nll`,
`rate_r2`, `psth_r2`, `velocity_r2` and `r2_score` (true values first).
"""

from ._field_errors import nrmse as nrmse
from ._field_errors import relative_l2_error as relative_l2_error
from ._lyapunov import LyapunovSpectrum as LyapunovSpectrum
from ._lyapunov import kaplan_yorke_dimension as kaplan_yorke_dimension
from ._lyapunov import lyapunov_spectrum as lyapunov_spectrum
from ._power_spectrum import power_spectrum as power_spectrum
from ._power_spectrum import power_spectrum_distance as power_spectrum_distance
from ._prediction_error import PredictionErrorResult as PredictionErrorResult
from ._prediction_error import prediction_error as prediction_error
from ._scores import AbstractScores as AbstractScores
from ._scores import json_safe as json_safe
from ._spikes import bits_per_spike as bits_per_spike
from ._spikes import co_bps as co_bps
from ._spikes import fp_bps as fp_bps
from ._spikes import poisson_nll as poisson_nll
from ._spikes import psth_r2 as psth_r2
from ._spikes import r2_score as r2_score
from ._spikes import rate_r2 as rate_r2
from ._spikes import velocity_r2 as velocity_r2
from ._ssim import ssim as ssim
from ._state_space_divergence import state_space_divergence as state_space_divergence

__all__ = [
    "nrmse",
    "relative_l2_error",
    "LyapunovSpectrum",
    "kaplan_yorke_dimension",
    "lyapunov_spectrum",
    "power_spectrum",
    "power_spectrum_distance",
    "PredictionErrorResult",
    "prediction_error",
    "bits_per_spike",
    "co_bps",
    "fp_bps",
    "poisson_nll",
    "psth_r2",
    "r2_score",
    "rate_r2",
    "velocity_r2",
    "AbstractScores",
    "json_safe",
    "ssim",
    "state_space_divergence",
]
