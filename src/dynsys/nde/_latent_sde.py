"""The latent SDE (Li et al. 2020): posterior and prior SDEs, ELBO with the path-space KL."""

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
from ._latent_ode import gaussian_kl, gaussian_nll
from ._neural_sde import DiagonalDiffusion
from ._objectives import LatentSDEELBO
from ._vector_field import ScaledTanhMLP


class LatentSDE(AbstractNDE):
    """Latent SDE trained by the ELBO with the KL between posterior and prior path measures.

    Li, Wong, Chen & Duvenaud, *Scalable gradients for stochastic differential equations*,
    AISTATS 2020 (§5, torchsde's `logqp`). In latent space z ∈ R^m:

    - prior: `z0 ~ N(μ_p, diag σ_p²)`, `dz = h_θ(t, z) dt + diag(g_θ(t, z)) dW`;
    - posterior: `z0 ~ q(z0 | y)`, `dz = f_φ(t, z, c_t) dt + diag(g_θ(t, z)) dW`, with the
      **same** diffusion and `f_φ = h_θ + Δ_φ(t, z, c_t)`; `c_t` is the context of a GRU run
      backwards over the observations ([`BackwardGRU`][dynsys.nde.BackwardGRU]), read at
      the first observation after t;
    - observations: `y(t) ~ N(W z(t) + b, σ_y²)`.

    By Girsanov, `KL(q ‖ p)` over paths on `[t_0, t_1]` is `E_q ∫ ½ |u(t, z)|² dt` with
    `u = (f_φ − h_θ) / g_θ = Δ_φ / g_θ`; it is integrated alongside z as an extra state
    (the same Brownian path, Euler–Maruyama at fixed `dt0`), so one posterior sample gives
    an unbiased estimate. The ELBO is
    `E_q[Σ log p(y | z)] − KL(q(z0) ‖ p(z0)) − KL_path`. The correction Δ has a zero final
    layer at initialisation, so the posterior starts equal to the prior (KL_path = 0).

    **Arguments:**

    - `data_dim`: observed dimension d.
    - `dt0`: fixed solver step.
    - `key`: PRNG key.
    - `latent_dim` (4), `hidden_size` (GRU, 16), `context_size` (8), `width` (32),
      `depth` (2): sizes.
    - `obs_std`: initial observation std (0.1; learnt). `diffusion_scale`: initial
      diffusion (0.1).
    - `max_steps`: solver step budget (16384). `dtype`.

    **Returns** (of `__call__(ts, ys, mask=None, *, key)`): one posterior path decoded to
    data space, `(time, d)`.

    ```python
    model = LatentSDE(1, dt0=0.05, key=jax.random.key(0))
    nll, kl_z0, kl_path = model.elbo_terms(ts, ys, mask, key=jax.random.key(1))
    paths = model.sample(ts, 100, key=jax.random.key(2))    # (100, time, 1), from the prior
    ```
    """

    encoder: BackwardGRU
    to_context: eqx.nn.Linear
    to_z0: eqx.nn.Linear
    prior_drift: Any
    correction: eqx.nn.MLP
    diffusion: Any
    decoder: eqx.nn.Linear
    prior_z0_mean: Float[Array, " latent"]
    prior_z0_log_std: Float[Array, " latent"]
    log_obs_std: Float[Array, ""]
    data_dim: int = eqx.field(static=True)
    latent_dim: int = eqx.field(static=True)
    context_size: int = eqx.field(static=True)
    dt0: float = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)

    def __init__(
        self,
        data_dim: int,
        *,
        dt0: float,
        key: jax.Array,
        latent_dim: int = 4,
        hidden_size: int = 16,
        context_size: int = 8,
        width: int = 32,
        depth: int = 2,
        obs_std: float = 0.1,
        diffusion_scale: float = 0.1,
        max_steps: int = 16384,
        dtype: Any = None,
    ):
        self.data_dim = check_int(data_dim, "data_dim", minimum=1)
        self.latent_dim = m = check_int(latent_dim, "latent_dim", minimum=1)
        self.context_size = check_int(context_size, "context_size", minimum=1)
        hidden_size = check_int(hidden_size, "hidden_size", minimum=1)
        check_positive(dt0, "dt0")
        check_positive(obs_std, "obs_std")
        self.dt0 = float(dt0)
        self.max_steps = check_int(max_steps, "max_steps", minimum=1)
        dtype = jnp.result_type(float) if dtype is None else dtype
        keys = jax.random.split(key, 7)
        self.encoder = BackwardGRU(self.data_dim, hidden_size, key=keys[0], dtype=dtype)
        self.to_context = eqx.nn.Linear(hidden_size, self.context_size, key=keys[1], dtype=dtype)
        self.to_z0 = eqx.nn.Linear(hidden_size, 2 * m, key=keys[2], dtype=dtype)
        self.prior_drift = ScaledTanhMLP(
            m, width=width, depth=depth, time_dependent=True, key=keys[3], dtype=dtype
        )
        corr = eqx.nn.MLP(m + 1 + self.context_size, m, width, depth,
                          activation=jax.nn.softplus, key=keys[4], dtype=dtype)  # fmt: skip
        last = corr.layers[-1]
        self.correction = eqx.tree_at(
            lambda c: (c.layers[-1].weight, c.layers[-1].bias),
            corr,
            (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)),
        )
        self.diffusion = DiagonalDiffusion(
            m, width=max(8, width // 2), depth=1, time_dependent=True,
            init_scale=diffusion_scale, key=keys[5], dtype=dtype,
        )  # fmt: skip
        self.decoder = eqx.nn.Linear(m, self.data_dim, key=keys[6], dtype=dtype)
        self.prior_z0_mean = jnp.zeros((m,), dtype)
        self.prior_z0_log_std = jnp.zeros((m,), dtype)
        self.log_obs_std = jnp.asarray(math.log(obs_std), dtype)

    # -- pieces ------------------------------------------------------------------------------
    def encode(
        self, ts: Float[Array, " time"], ys: Float[Array, "time d"], mask: Bool[Array, "time d"]
    ) -> tuple[Float[Array, "time c"], Float[Array, " m"], Float[Array, " m"]]:
        """Context `(time, context_size)` and the mean and log-std of `q(z0 | y)`."""
        hs = self.encoder(ts, ys, mask)
        ctx = jax.vmap(self.to_context)(hs)
        out = self.to_z0(hs[0])
        return ctx, out[: self.latent_dim], out[self.latent_dim :]

    def _posterior_terms(self, ts, ctx, key):
        brownian = diffrax.VirtualBrownianTree(
            ts[0], ts[-1], tol=self.dt0 / 2, shape=(self.latent_dim,), key=key
        )
        return diffrax.MultiTerm(
            diffrax.ODETerm(_PosteriorDrift(self, ts, ctx)),
            diffrax.ControlTerm(_AugmentedDiffusion(self), brownian),
        )

    def _prior_terms(self, ts, key):
        brownian = diffrax.VirtualBrownianTree(
            ts[0], ts[-1], tol=self.dt0 / 2, shape=(self.latent_dim,), key=key
        )
        return diffrax.MultiTerm(
            diffrax.ODETerm(_PriorDrift(self)), diffrax.ControlTerm(_PriorDiffusion(self), brownian)
        )

    def _solve(self, terms, ts, y0, throw):
        return diffrax.diffeqsolve(
            terms, diffrax.Euler(), t0=ts[0], t1=ts[-1], dt0=self.dt0, y0=y0,
            saveat=diffrax.SaveAt(ts=ts), max_steps=self.max_steps, throw=throw,
        )  # fmt: skip

    def posterior_path(
        self,
        ts: Float[Array, " time"],
        ys: Float[Array, "time d"],
        mask: Bool[Array, "time d"],
        *,
        key: jax.Array,
        throw: bool = True,
    ) -> tuple[Float[Array, "time m"], Float[Array, " time"], Float[Array, " m"], Any]:
        """One posterior sample: latent path `(time, m)`, accumulated path KL `(time,)`,
        and the `q(z0)` mean and log-std."""
        k0, kw = jax.random.split(key)
        ctx, mean, log_std = self.encode(ts, ys, mask)
        z0 = mean + jnp.exp(log_std) * jax.random.normal(k0, mean.shape, mean.dtype)
        state0 = jnp.concatenate([z0, jnp.zeros((1,), z0.dtype)])
        sol = self._solve(self._posterior_terms(ts, ctx, kw), ts, state0, throw)
        return sol.ys[:, : self.latent_dim], sol.ys[:, -1], mean, log_std

    def elbo_terms(
        self,
        ts: Float[Array, " time"],
        ys: Float[Array, "time d"],
        mask: Bool[Array, "time d"],
        *,
        key: jax.Array,
        throw: bool = True,
    ) -> tuple[Float[Array, ""], Float[Array, ""], Float[Array, ""]]:
        """`(nll, kl_z0, kl_path)` of one series (one posterior sample); −ELBO is their sum.

        `kl_z0 = KL(q(z0 | y) ‖ p(z0))` (closed form); `kl_path = ∫ ½ |Δ/g|² dt` along the
        sampled posterior path over `[ts[0], ts[-1]]` (≥ 0, = 0 when posterior = prior).
        """
        zs, logqp, mean, log_std = self.posterior_path(ts, ys, mask, key=key, throw=throw)
        pred = jax.vmap(self.decoder)(zs)
        nll = gaussian_nll(pred, ys, mask, self.log_obs_std)
        kl_z0 = gaussian_kl(mean, log_std, self.prior_z0_mean, self.prior_z0_log_std)
        return nll, kl_z0, logqp[-1]

    def __call__(
        self,
        ts: ArrayLike,
        ys: ArrayLike,
        mask: ArrayLike | None = None,
        *,
        key: jax.Array,
    ) -> Float[Array, "time d"]:
        ts = check_times(ts, "ts")
        if ts.ndim != 1:
            raise ValueError(f"`ts` must be 1-D for one series, got {tuple(ts.shape)}.")
        ts, ys, mask = check_observations(ts, ys, mask, self.data_dim)
        zs, _, _, _ = self.posterior_path(ts, ys[0], mask[0], key=key)
        return jax.vmap(self.decoder)(zs)

    def objective(self, phase: FitPhase) -> training.AbstractObjective:
        """The negative ELBO with the path KL, [`LatentSDEELBO`][dynsys.nde.LatentSDEELBO]."""
        if phase.segments is not None:
            raise ValueError("`shooting` (multiple shooting) applies to NeuralODE models only.")
        return LatentSDEELBO(phase)

    def sample(self, ts: ArrayLike, n: int, *, key: jax.Array) -> Any:
        """`n` paths from the prior at once, decoded to data space, `(n, time, d)`."""
        n = check_int(n, "n", minimum=1)
        ts = check_times(ts, "ts")
        if ts.ndim != 1:
            raise ValueError(f"`ts` must be 1-D (time,), got {tuple(ts.shape)}.")

        def one(k):
            k0, kw = jax.random.split(k)
            eps = jax.random.normal(k0, (self.latent_dim,), self.prior_z0_mean.dtype)
            z0 = self.prior_z0_mean + jnp.exp(self.prior_z0_log_std) * eps
            zs = self._solve(self._prior_terms(ts, kw), ts, z0, True).ys
            return jax.vmap(self.decoder)(zs)

        return jax.vmap(one)(jax.random.split(key, n))


# The terms are modules (pytrees), not closures, so that diffrax's compiled solve is reused
# across calls instead of being retraced for every new function object.
class _PosteriorDrift(eqx.Module):
    """Drift of the augmented posterior state [z, ∫ ½|u|² dt]."""

    model: LatentSDE
    ts: Any
    ctx: Any

    def __call__(self, t, state, args):
        m = self.model
        z = state[: m.latent_dim]
        # Context at the first observation strictly after t (clipped): the backward GRU
        # state there summarises the observations still to come.
        i = jnp.clip(jnp.searchsorted(self.ts, t, side="right"), 0, self.ts.shape[0] - 1)
        tt = jnp.asarray(t, z.dtype).reshape(1)
        delta = m.correction(jnp.concatenate([z, tt, self.ctx[i]]))
        u = delta / m.diffusion(t, z)
        return jnp.concatenate([m.prior_drift(t, z) + delta, 0.5 * jnp.sum(u**2, keepdims=True)])


class _AugmentedDiffusion(eqx.Module):
    model: LatentSDE

    def __call__(self, t, state, args):
        m = self.model
        g = m.diffusion(t, state[: m.latent_dim])
        return jnp.concatenate([jnp.diag(g), jnp.zeros((1, m.latent_dim), g.dtype)], axis=0)


class _PriorDrift(eqx.Module):
    model: LatentSDE

    def __call__(self, t, z, args):
        return self.model.prior_drift(t, z)


class _PriorDiffusion(eqx.Module):
    model: LatentSDE

    def __call__(self, t, z, args):
        return jnp.diag(self.model.diffusion(t, z))


def _latent_sde_hyperparameters(model: LatentSDE) -> dict:
    for name, cls in (("prior_drift", ScaledTanhMLP), ("diffusion", DiagonalDiffusion)):
        part = getattr(model, name)
        if type(part) is not cls:
            raise ValueError(
                f"Cannot save a LatentSDE whose {name} is a {type(part).__qualname__}: its "
                f"constructor builds a {cls.__name__}."
            )
    return {
        "data_dim": model.data_dim,
        "dt0": model.dt0,
        "latent_dim": model.latent_dim,
        "hidden_size": model.encoder.hidden_size,
        "context_size": model.context_size,
        "width": model.correction.width_size,
        "depth": model.correction.depth,
        "max_steps": model.max_steps,
        "dtype": model.log_obs_std.dtype.name,
    }


def _latent_sde_template(hp: dict) -> LatentSDE:
    return LatentSDE(
        hp["data_dim"],
        dt0=hp["dt0"],
        key=jax.random.key(0),
        latent_dim=hp["latent_dim"],
        hidden_size=hp["hidden_size"],
        context_size=hp["context_size"],
        width=hp["width"],
        depth=hp["depth"],
        max_steps=hp["max_steps"],
        dtype=hp["dtype"],
    )


register_loadable(
    LatentSDE, hyperparameters=_latent_sde_hyperparameters, template=_latent_sde_template
)
