"""Video world models whose predictor integrates a learned reaction–diffusion PDE.

FluidWorld (Polly 2026, arXiv 2603.21315) replaces the Transformer or ConvLSTM predictor
of a video world model by a reaction–diffusion PDE integrated in latent space. This
module offers that model and the baselines it needs for a measured comparison.

- Model: [`WorldModel`][] = [`PatchEncoder`][] → predictor → [`PatchDecoder`][], with
  one-step (teacher-forced) and autoregressive latent rollouts.
- Predictors ([`AbstractPredictor`][]): [`ReactionDiffusionPredictor`][] (multi-scale
  [`dilated_laplacian`][] diffusion, pointwise reaction, learned bounded Δt,
  [`rms_norm`][], optional early stop), [`ConvGRU`][], [`TransformerPredictor`][] over
  latent tokens ([`positional_encoding`][]) and [`Persistence`][] (copy the last frame);
  [`matched_predictors`][] builds the learned three at equal [`count_parameters`][].
- Training and scores: [`fit`][dynsys.worldmodels.fit] (through `dynsys.training.fit`;
  teacher forcing or truncated BPTT over short windows),
  [`evaluate`][dynsys.worldmodels.evaluate] (one-step MSE, MSE and
  [`dynsys.metrics.ssim`][] per horizon).
- Data (generated on the fly, `dynsys.data.Trajectories` of shape (batch, time, channels,
  height, width)): [`gray_scott_video`][], [`fitzhugh_nagumo_video`][] (spiral waves),
  [`moving_blobs_video`][] (no PDE behind it: the control).
"""

from ._abstract import AbstractPredictor as AbstractPredictor
from ._convgru import ConvGRU as ConvGRU
from ._data import fitzhugh_nagumo_video as fitzhugh_nagumo_video
from ._data import gray_scott_video as gray_scott_video
from ._data import moving_blobs_video as moving_blobs_video
from ._encoders import PatchDecoder as PatchDecoder
from ._encoders import PatchEncoder as PatchEncoder
from ._evaluate import WorldModelScores as WorldModelScores
from ._evaluate import evaluate as evaluate
from ._fit import fit as fit
from ._laplacian import dilated_laplacian as dilated_laplacian
from ._matched import count_parameters as count_parameters
from ._matched import matched_predictors as matched_predictors
from ._persistence import Persistence as Persistence
from ._rd_predictor import ReactionDiffusionPredictor as ReactionDiffusionPredictor
from ._rms_norm import rms_norm as rms_norm
from ._transformer import TransformerPredictor as TransformerPredictor
from ._transformer import positional_encoding as positional_encoding
from ._world_model import WorldModel as WorldModel

__all__ = [
    "AbstractPredictor",
    "ConvGRU",
    "fitzhugh_nagumo_video",
    "gray_scott_video",
    "moving_blobs_video",
    "PatchDecoder",
    "PatchEncoder",
    "evaluate",
    "WorldModelScores",
    "fit",
    "dilated_laplacian",
    "count_parameters",
    "matched_predictors",
    "Persistence",
    "ReactionDiffusionPredictor",
    "rms_norm",
    "TransformerPredictor",
    "positional_encoding",
    "WorldModel",
]
