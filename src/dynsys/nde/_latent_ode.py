"""The latent ODE: a variational autoencoder with an ODE in latent space (Rubanova 2019)."""

from __future__ import annotations

import math
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float

from .. import training
from .._serialization import register_loadable
from .._validation import check_int, check_positive
from ._abstract import AbstractNDE, FitPhase
from ._checks import check_observations, check_times
from ._encoder import BackwardGRU
from ._neural_ode import default_controller, solver_arguments, solver_hyperparameters
from ._objectives import LatentODEELBO
from ._vector_field import ScaledTanhMLP


def gaussian_kl(mean, log_std, prior_mean=0.0, prior_log_std=0.0):
    """KL(N(mean, e^{2 log_std}) ‖ N(prior_mean, e^{2 prior_log_std})), summed on the last axis."""
    var, prior_var = jnp.exp(2 * log_std), jnp.exp(2 * prior_log_std)
    kl = prior_log_std - log_std + (var + (mean - prior_mean) ** 2) / (2 * prior_var) - 0.5
    return jnp.sum(kl, axis=-1)


def gaussian_nll(pred, ys, mask, log_std):
    """Negative Gaussian log-likelihood of the observed entries, summed."""
    z = jnp.where(mask, (ys - pred) * jnp.exp(-log_std), jnp.zeros((), pred.dtype))
    per = 0.5 * z**2 + log_std + 0.5 * math.log(2 * math.pi)
    return jnp.sum(jnp.where(mask, per, jnp.zeros((), pred.dtype)))


class LatentODE(AbstractNDE):
    """Latent ODE (Rubanova, Chen & Duvenaud, NeurIPS 2019) for irregular, partial series.

    Generative model: `z0 ~ N(0, I)`, `dz/dt = f_θ(z)` (a
    [`ScaledTanhMLP`][dynsys.nde.ScaledTanhMLP]), `y(t) ~ N(W z(t) + b, σ²)` with a
    linear decoder and a learnt observation std σ. Inference: a GRU run **backwards** over
    `[y ⊙ mask, mask, t]` ([`BackwardGRU`][dynsys.nde.BackwardGRU]) gives the mean and
    log-std of `q(z0 | y)`. Trained by the ELBO
    `E_q[log p(y | z0)] − KL(q(z0) ‖ N(0, I))` (reparameterised, one sample).

    Every sample may have its own time grid: `ts` is `(time,)` or, batched with `jax.vmap`,
    one row per sample; the solve runs over each sample's own `[t_0, t_{T−1}]`. Times are
    data, not compile-time constants, so a new batch of grids with the same shape does not
    recompile. Missing observations are given by `mask` (True = observed).

    **Arguments:**

    - `data_dim`: observed dimension d.
    - `latent_dim`: latent ODE dimension (16).
    - `hidden_size`: GRU width (16).
    - `width`, `depth`: latent vector-field MLP (16, 2).
    - `obs_std`: initial observation std σ (0.1; learnt).
    - `solver`, `stepsize_controller`, `adjoint`, `dt0`, `max_steps`: as for
      [`NeuralODE`][dynsys.nde.NeuralODE] (Tsit5, PID 1e-3/1e-6, recursive checkpointing).
    - `key`, `dtype`.

    **Returns** (of `__call__(ts, ys, mask=None, *, key=None)`): the reconstruction
    `(time, d)` at `ts` from the posterior mean (or a posterior sample with `key`).

    ```python
    model = LatentODE(2, key=jax.random.key(0))
    recon = model(ts, ys)                       # ts (20,), ys (20, 2)
    nll, kl = model.elbo_terms(ts, ys, mask, key=jax.random.key(1))
    ```
    """

    encoder: BackwardGRU
    to_latent: eqx.nn.Linear
    vector_field: Any
    decoder: eqx.nn.Linear
    log_obs_std: Float[Array, ""]
    solver: Any
    stepsize_controller: Any
    adjoint: Any
    data_dim: int = eqx.field(static=True)
    latent_dim: int = eqx.field(static=True)
    dt0: float | None = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)

    def __init__(
        self,
        data_dim: int,
        *,
        key: jax.Array,
        latent_dim: int = 16,
        hidden_size: int = 16,
        width: int = 16,
        depth: int = 2,
        obs_std: float = 0.1,
        solver: Any = None,
        stepsize_controller: Any = None,
        adjoint: Any = None,
        dt0: float | None = None,
        max_steps: int = 4096,
        dtype: Any = None,
    ):
        self.data_dim = check_int(data_dim, "data_dim", minimum=1)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        hidden_size = check_int(hidden_size, "hidden_size", minimum=1)
        check_positive(obs_std, "obs_std")
        dtype = jnp.result_type(float) if dtype is None else dtype
        k1, k2, k3, k4 = jax.random.split(key, 4)
        self.encoder = BackwardGRU(self.data_dim, hidden_size, key=k1, dtype=dtype)
        self.to_latent = eqx.nn.Linear(hidden_size, 2 * self.latent_dim, key=k2, dtype=dtype)
        self.vector_field = ScaledTanhMLP(
            self.latent_dim, width=width, depth=depth, key=k3, dtype=dtype
        )
        self.decoder = eqx.nn.Linear(self.latent_dim, self.data_dim, key=k4, dtype=dtype)
        self.log_obs_std = jnp.asarray(math.log(obs_std), dtype=dtype)
        self.solver = diffrax.Tsit5() if solver is None else solver
        self.stepsize_controller = (
            default_controller() if stepsize_controller is None else stepsize_controller
        )
        self.adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
        self.dt0 = None if dt0 is None else float(dt0)
        self.max_steps = check_int(max_steps, "max_steps", minimum=1)

    def encode(
        self, ts: Float[Array, " time"], ys: Float[Array, "time d"], mask: Bool[Array, "time d"]
    ) -> tuple[Float[Array, " latent"], Float[Array, " latent"]]:
        """Mean and log-std of `q(z0 | y)`, each `(latent_dim,)`."""
        h0 = self.encoder(ts, ys, mask)[0]
        out = self.to_latent(h0)
        return out[: self.latent_dim], out[self.latent_dim :]

    def solve(
        self, ts: Float[Array, " time"], z0: Float[Array, " latent"], *, throw: bool = True
    ) -> diffrax.Solution:
        """Solve the latent ODE from `z0` at `ts[0]`, saving at `ts`; the diffrax `Solution`."""
        dt0 = self.dt0 if self.dt0 is not None else ts[1] - ts[0]
        return diffrax.diffeqsolve(
            diffrax.ODETerm(self.vector_field),
            self.solver,
            t0=ts[0],
            t1=ts[-1],
            dt0=dt0,
            y0=z0,
            stepsize_controller=self.stepsize_controller,
            adjoint=self.adjoint,
            saveat=diffrax.SaveAt(ts=ts),
            max_steps=self.max_steps,
            throw=throw,
        )

    def decode(
        self, ts: Float[Array, " time"], z0: Float[Array, " latent"], *, throw: bool = True
    ) -> Float[Array, "time d"]:
        """Data-space trajectory `(time, d)` of the latent solve from `z0`."""
        zs = self.solve(ts, z0, throw=throw).ys
        return jax.vmap(self.decoder)(zs)

    def elbo_terms(
        self,
        ts: Float[Array, " time"],
        ys: Float[Array, "time d"],
        mask: Bool[Array, "time d"],
        *,
        key: jax.Array,
        throw: bool = True,
    ) -> tuple[Float[Array, ""], Float[Array, ""]]:
        """`(nll, kl)` of one series: Gaussian NLL of the observed entries (one posterior
        sample) and KL(q(z0) ‖ N(0, I)); the negative ELBO is their sum."""
        mean, log_std = self.encode(ts, ys, mask)
        eps = jax.random.normal(key, mean.shape, mean.dtype)
        z0 = mean + jnp.exp(log_std) * eps
        pred = self.decode(ts, z0, throw=throw)
        nll = gaussian_nll(pred, ys, mask, self.log_obs_std)
        return nll, gaussian_kl(mean, log_std)

    def __call__(
        self,
        ts: ArrayLike,
        ys: ArrayLike,
        mask: ArrayLike | None = None,
        *,
        key: jax.Array | None = None,
    ) -> Float[Array, "time d"]:
        ts = check_times(ts, "ts")
        if ts.ndim != 1:
            raise ValueError(
                f"`ts` must be 1-D for one series (vmap for a batch), got {tuple(ts.shape)}."
            )
        ts, ys, mask = check_observations(ts, ys, mask, self.data_dim)
        ys, mask = ys[0], mask[0]
        mean, log_std = self.encode(ts, ys, mask)
        z0 = (
            mean
            if key is None
            else mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)
        )
        return self.decode(ts, z0)

    def objective(self, phase: FitPhase) -> training.AbstractObjective:
        """The negative ELBO, [`LatentODEELBO`][dynsys.nde.LatentODEELBO]."""
        if phase.segments is not None:
            raise ValueError("`shooting` (multiple shooting) applies to NeuralODE models only.")
        return LatentODEELBO(phase)

    def sample(self, ts: ArrayLike, n: int, *, key: jax.Array) -> Any:
        """`n` series from the prior, `(n, time, d)` (observation noise not added)."""
        n = check_int(n, "n", minimum=1)
        ts = check_times(ts, "ts")
        z0 = jax.random.normal(key, (n, self.latent_dim), self.log_obs_std.dtype)
        return jax.vmap(self.decode, in_axes=(None, 0))(ts, z0)


def _latent_ode_hyperparameters(model: LatentODE) -> dict:
    if type(model.vector_field) is not ScaledTanhMLP:
        raise ValueError(
            "Cannot save a LatentODE whose vector_field is a "
            f"{type(model.vector_field).__qualname__}: its constructor builds a ScaledTanhMLP."
        )
    return {
        "data_dim": model.data_dim,
        "latent_dim": model.latent_dim,
        "hidden_size": model.encoder.hidden_size,
        "width": model.vector_field.mlp.width_size,
        "depth": model.vector_field.mlp.depth,
        **solver_hyperparameters(model),
        "dt0": model.dt0,
        "max_steps": model.max_steps,
        "dtype": model.log_obs_std.dtype.name,
    }


def _latent_ode_template(hp: dict) -> LatentODE:
    return LatentODE(
        hp["data_dim"],
        key=jax.random.key(0),
        latent_dim=hp["latent_dim"],
        hidden_size=hp["hidden_size"],
        width=hp["width"],
        depth=hp["depth"],
        **solver_arguments(hp),
        dt0=hp["dt0"],
        max_steps=hp["max_steps"],
        dtype=hp["dtype"],
    )


register_loadable(
    LatentODE, hyperparameters=_latent_ode_hyperparameters, template=_latent_ode_template
)
