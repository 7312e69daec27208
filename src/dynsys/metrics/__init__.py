"""Evaluation metrics shared by every model family (definitions in docs/metrics.md)."""

from ._field_errors import nrmse as nrmse
from ._field_errors import relative_l2_error as relative_l2_error
from ._lyapunov import LyapunovSpectrum as LyapunovSpectrum
from ._lyapunov import kaplan_yorke_dimension as kaplan_yorke_dimension
from ._lyapunov import lyapunov_spectrum as lyapunov_spectrum
from ._power_spectrum import power_spectrum as power_spectrum
from ._power_spectrum import power_spectrum_distance as power_spectrum_distance
from ._prediction_error import PredictionErrorResult as PredictionErrorResult
from ._prediction_error import prediction_error as prediction_error
from ._state_space_divergence import state_space_divergence as state_space_divergence
