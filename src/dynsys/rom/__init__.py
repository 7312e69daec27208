"""Reduced-order models of time-dependent PDEs: Φ-ROM and its DINo baseline.

Auto-decoder latent models (no encoder): an implicit-neural-representation decoder
D(x, α) ([`MLPDecoder`][], [`HyperDecoder`][]) and a latent vector field ψ(α; μ)
([`LatentDynamics`][], integrated with diffrax by [`integrate_latent`][]).

- [`PhiROM`][] trained by [`fit_phirom`][]: ψ is fitted to the solver's time derivative of
  the decoded field, pulled back through the decoder Jacobian by least squares on a random
  fraction of points ([`latent_velocity_target`][]); the solver is any `dynsys.pde`
  stepper (built-in, exponax, your own). Hosseini Dashtbayaz et al., NeurIPS 2025.
- [`DINo`][] trained by [`fit_dino`][]: the same model, ψ fitted to the latent
  trajectories of the data (Yin et al., ICLR 2023).
- Inference: [`AbstractLatentROM.invert`][] (latent of a new initial condition),
  `forecast`, `decode` at any coordinates, and [`forecast_fields`][] for a batch;
  [`evaluate`][dynsys.rom.evaluate] scores the forecasts of test fields ([`FieldScores`][]).
"""

from ._decoders import AbstractDecoder as AbstractDecoder
from ._decoders import HyperDecoder as HyperDecoder
from ._decoders import MLPDecoder as MLPDecoder
from ._dynamics import LatentDynamics as LatentDynamics
from ._dynamics import integrate_latent as integrate_latent
from ._evaluate import FieldScores as FieldScores
from ._evaluate import evaluate as evaluate
from ._fit import ROMFitResult as ROMFitResult
from ._fit import fit_dino as fit_dino
from ._fit import fit_phirom as fit_phirom
from ._fit import forecast_fields as forecast_fields
from ._latent_target import latent_velocity_target as latent_velocity_target
from ._latent_target import lstsq_qr as lstsq_qr
from ._model import AbstractLatentROM as AbstractLatentROM
from ._model import DINo as DINo
from ._model import PhiROM as PhiROM

__all__ = [
    "AbstractDecoder",
    "HyperDecoder",
    "MLPDecoder",
    "LatentDynamics",
    "integrate_latent",
    "FieldScores",
    "evaluate",
    "ROMFitResult",
    "fit_dino",
    "fit_phirom",
    "forecast_fields",
    "latent_velocity_target",
    "lstsq_qr",
    "AbstractLatentROM",
    "DINo",
    "PhiROM",
]
