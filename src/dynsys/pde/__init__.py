"""Differentiable PDE time steppers with an exponax-compatible plug-in protocol.

A stepper is any callable pytree `stepper(u) -> u_next` acting on one unbatched,
channel-first state `(channels, *space)`, with a `dt` attribute and optionally `rhs(u)`;
batches go through `jax.vmap`. exponax steppers satisfy it as they are.

- Protocol and tools: [`AbstractStepper`][], [`check_state`][], [`rollout`][],
  [`repeat`][], [`time_derivative`][] (the hook of Φ-ROM), [`pde_trajectories`][]
  (→ `dynsys.data.Trajectories`).
- Wrappers: [`RepeatedStepper`][] (substeps), [`ForcedStepper`][] (forcing `(u, f)`),
  [`BoundStepper`][] (fix parameters), [`RHSStepper`][] (a finite-difference right-hand
  side integrated with diffrax).
- Pseudo-spectral ETDRK4 on periodic domains, 1-D/2-D/3-D: [`Heat`][], [`Burgers`][],
  [`KuramotoSivashinsky`][], [`KortewegDeVries`][]; coefficients by
  [`etdrk4_coefficients`][] (Kassam–Trefethen contour integral).
- Finite-difference reaction–diffusion in 2-D: [`GrayScott`][], [`FitzHughNagumo`][];
  their Laplacian [`laplacian_fd`][] (any dimension, optional dilation, periodic or zero
  padding), also the stencil of `dynsys.worldmodels`' multi-scale diffusion.
- Φ-ROM's 1-D parametric Burgers problem: [`ParametricBurgers`][].
- Initial conditions and grids: [`make_grid`][], [`truncated_fourier_series`][],
  [`gaussian_blobs`][], [`wavenumbers`][].

Design decisions and limits: spectral steppers are single-channel, periodic, uniform
grids; their parameters are compile-time constants (coefficients are precomputed in
float64 numpy), whereas the reaction–diffusion and Burgers-FD parameters are pytree
leaves one can differentiate. `time_derivative` without `rhs` is the derivative of the
discrete operator, with an O(dt) bias.
"""

from ._burgers_fd import ParametricBurgers as ParametricBurgers
from ._data import pde_trajectories as pde_trajectories
from ._initial_conditions import gaussian_blobs as gaussian_blobs
from ._initial_conditions import make_grid as make_grid
from ._initial_conditions import truncated_fourier_series as truncated_fourier_series
from ._laplacian import laplacian_fd as laplacian_fd
from ._protocol import AbstractStepper as AbstractStepper
from ._protocol import check_state as check_state
from ._reaction_diffusion import AbstractReactionDiffusion as AbstractReactionDiffusion
from ._reaction_diffusion import FitzHughNagumo as FitzHughNagumo
from ._reaction_diffusion import GrayScott as GrayScott
from ._rollout import repeat as repeat
from ._rollout import rollout as rollout
from ._rollout import time_derivative as time_derivative
from ._spectral import AbstractSpectralStepper as AbstractSpectralStepper
from ._spectral import Burgers as Burgers
from ._spectral import Heat as Heat
from ._spectral import KortewegDeVries as KortewegDeVries
from ._spectral import KuramotoSivashinsky as KuramotoSivashinsky
from ._spectral import etdrk4_coefficients as etdrk4_coefficients
from ._spectral import wavenumbers as wavenumbers
from ._wrappers import BoundStepper as BoundStepper
from ._wrappers import ForcedStepper as ForcedStepper
from ._wrappers import RepeatedStepper as RepeatedStepper
from ._wrappers import RHSStepper as RHSStepper

__all__ = [
    "ParametricBurgers",
    "pde_trajectories",
    "gaussian_blobs",
    "make_grid",
    "truncated_fourier_series",
    "laplacian_fd",
    "AbstractStepper",
    "check_state",
    "AbstractReactionDiffusion",
    "FitzHughNagumo",
    "GrayScott",
    "repeat",
    "rollout",
    "time_derivative",
    "AbstractSpectralStepper",
    "Burgers",
    "Heat",
    "KortewegDeVries",
    "KuramotoSivashinsky",
    "etdrk4_coefficients",
    "wavenumbers",
    "BoundStepper",
    "ForcedStepper",
    "RepeatedStepper",
    "RHSStepper",
]
