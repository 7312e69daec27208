"""Sequential latent-variable models of neural population spiking.

- [`LangevinFlow`][]: GRU encoder → posterior of (z₀, v₀), underdamped Langevin latent
  dynamics integrated by [`baoab_step`][] / [`langevin_rollout`][] on a potential
  ([`CoupledOscillatorPotential`][], [`MLPPotential`][], [`QuadraticPotential`][] or any
  [`AbstractPotential`][]), one-layer [`TransformerDecoder`][] to Poisson log-rates.
- Baselines: [`GRUAutoencoder`][] (LFADS-like, no controller) and the NLB smoothing
  baseline [`SmoothingBaseline`][] / [`fit_smoothing_baseline`][] ([`gaussian_smooth`][]).
- Training and scores: [`fit`][] (ELBO with coordinated dropout, through
  `dynsys.training.fit`), [`infer_rates`][], [`evaluate`][] (co-bps, fp-bps, rate and PSTH
  R²), [`coordinated_dropout`][], [`inverted_dropout`][] (decoder dropout). Data:
  `dynsys.data.lorenz_spikes`, `dynsys.data.spike_data`.
"""

from ._abstract import AbstractSpikeModel as AbstractSpikeModel
from ._baoab import baoab_step as baoab_step
from ._baoab import langevin_rollout as langevin_rollout
from ._dropout import coordinated_dropout as coordinated_dropout
from ._dropout import inverted_dropout as inverted_dropout
from ._fit import SpikeScores as SpikeScores
from ._fit import evaluate as evaluate
from ._fit import fit as fit
from ._fit import infer_rates as infer_rates
from ._gru_autoencoder import GRUAutoencoder as GRUAutoencoder
from ._langevin_flow import LangevinFlow as LangevinFlow
from ._langevin_flow import LatentPath as LatentPath
from ._langevin_flow import final_gru_state as final_gru_state
from ._langevin_flow import gaussian_kl as gaussian_kl
from ._potentials import AbstractPotential as AbstractPotential
from ._potentials import CoupledOscillatorPotential as CoupledOscillatorPotential
from ._potentials import MLPPotential as MLPPotential
from ._potentials import QuadraticPotential as QuadraticPotential
from ._smoothing import SmoothingBaseline as SmoothingBaseline
from ._smoothing import fit_smoothing_baseline as fit_smoothing_baseline
from ._smoothing import gaussian_smooth as gaussian_smooth
from ._transformer import TransformerDecoder as TransformerDecoder

__all__ = [
    "AbstractSpikeModel",
    "baoab_step",
    "langevin_rollout",
    "coordinated_dropout",
    "inverted_dropout",
    "evaluate",
    "SpikeScores",
    "fit",
    "infer_rates",
    "GRUAutoencoder",
    "LangevinFlow",
    "LatentPath",
    "final_gru_state",
    "gaussian_kl",
    "AbstractPotential",
    "CoupledOscillatorPotential",
    "MLPPotential",
    "QuadraticPotential",
    "SmoothingBaseline",
    "fit_smoothing_baseline",
    "gaussian_smooth",
    "TransformerDecoder",
]
