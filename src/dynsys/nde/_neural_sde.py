"""The neural SDE: dy = f_θ(t, y) dt + diag(g_θ(t, y)) dW, Itô, solved with diffrax."""

from __future__ import annotations

import math
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float

from .. import training
from .._serialization import describe, register_loadable, template_from
from .._validation import check_int, check_positive, is_traced
from ._abstract import AbstractNDE, FitPhase
from ._checks import check_state, check_times
from ._neural_ode import _diffrax_name, _diffrax_object
from ._objectives import TransitionNLL
from ._vector_field import ScaledTanhMLP


class DiagonalDiffusion(eqx.Module):
    """Diagonal diffusion `g(t, y) = softplus(MLP([t,] y))`, positive per channel.

    **Arguments:** `dim`, `width`, `depth`, `time_dependent`, `init_scale` (the diffusion
    value at initialisation, set through the final bias), `key`, `dtype`.

    **Returns** (of `__call__(t, y, args=None)`): `(dim,)`, the diagonal of the diffusion.
    """

    mlp: eqx.nn.MLP
    time_dependent: bool = eqx.field(static=True)

    def __init__(
        self,
        dim: int,
        *,
        width: int = 16,
        depth: int = 1,
        time_dependent: bool = False,
        init_scale: float = 0.1,
        key: jax.Array,
        dtype=None,
    ):
        check_positive(init_scale, "init_scale")
        dtype = jnp.result_type(float) if dtype is None else dtype
        self.time_dependent = bool(time_dependent)
        mlp = eqx.nn.MLP(
            dim + int(self.time_dependent), dim, width, depth, activation=jax.nn.softplus,
            key=key, dtype=dtype,
        )  # fmt: skip
        # softplus^{-1}(init_scale) in the final bias; small final weights.
        bias = jnp.full((dim,), math.log(math.expm1(init_scale)), dtype)
        last = mlp.layers[-1]
        mlp = eqx.tree_at(lambda m: (m.layers[-1].bias, m.layers[-1].weight), mlp,
                          (bias, 0.1 * last.weight))  # fmt: skip
        self.mlp = mlp

    def __call__(self, t, y, args=None):
        if self.time_dependent:
            y = jnp.concatenate([jnp.asarray(t, y.dtype).reshape(1), y])
        return jax.nn.softplus(self.mlp(y))


class NeuralSDE(AbstractNDE):
    """Neural SDE `dy = f_θ(t, y) dt + diag(g_θ(t, y)) dW_t` (Itô), solved with diffrax.

    Drift `f_θ` is a [`ScaledTanhMLP`][dynsys.nde.ScaledTanhMLP], diffusion a positive
    diagonal [`DiagonalDiffusion`][dynsys.nde.DiagonalDiffusion]; any `eqx.Module`s with the
    same signatures can be passed. Paths are solved with the Euler–Maruyama scheme (`Euler`,
    strong order 0.5; Itô) at the fixed step `dt0` against a `VirtualBrownianTree`
    (tolerance `dt0 / 2`), so that a path is a deterministic function of its key and can be
    differentiated with the default recursive-checkpoint adjoint. For a model fitted to
    data see [`dynsys.nde.fit`][], which maximises the Euler–Maruyama transition
    likelihood of the observed increments.

    **Arguments:**

    - `data_dim`: state dimension d.
    - `dt0`: fixed integration step (required; e.g. the data's sampling step or a fraction).
    - `key`: PRNG key for the default networks.
    - `width`, `depth`: drift MLP (64, 2); the diffusion MLP uses `width // 4` (≥ 8), depth 1.
    - `time_dependent`: feed t to both networks.
    - `drift`, `diffusion`: custom modules `f(t, y, args) -> (d,)`, `g(t, y, args) -> (d,)`.
    - `solver`: diffrax SDE solver (default `Euler()`, Itô).
    - `max_steps`: solver step budget (default: enough for `[ts[0], ts[-1]]` at `dt0` is the
      caller's job; 16384).
    - `dtype`.

    **Returns** (of `__call__(ts, y0, *, key)`): one path at `ts`, `(time, d)`.

    ```python
    sde = NeuralSDE(1, dt0=0.01, key=jax.random.key(0))
    paths = sde.sample(jnp.linspace(0, 5, 101), jnp.zeros(1), 256, key=jax.random.key(1))
    paths.shape   # (256, 101, 1)
    ```
    """

    drift: Any
    diffusion: Any
    solver: Any
    data_dim: int = eqx.field(static=True)
    dt0: float = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)

    def __init__(
        self,
        data_dim: int,
        *,
        dt0: float,
        key: jax.Array | None = None,
        width: int = 64,
        depth: int = 2,
        time_dependent: bool = False,
        drift: Any = None,
        diffusion: Any = None,
        solver: Any = None,
        max_steps: int = 16384,
        dtype: Any = None,
    ):
        self.data_dim = check_int(data_dim, "data_dim", minimum=1)
        check_positive(dt0, "dt0")
        self.dt0 = float(dt0)
        if (drift is None or diffusion is None) and key is None:
            raise TypeError("`key` is required to initialise the default drift/diffusion.")
        k1, k2 = jax.random.split(key) if key is not None else (None, None)
        self.drift = (
            ScaledTanhMLP(
                self.data_dim,
                width=width,
                depth=depth,
                time_dependent=time_dependent,
                key=k1,
                dtype=dtype,
            )  # fmt: skip
            if drift is None
            else drift
        )
        self.diffusion = (
            DiagonalDiffusion(
                self.data_dim,
                width=max(8, width // 4),
                depth=1,
                time_dependent=time_dependent,
                key=k2,
                dtype=dtype,
            )  # fmt: skip
            if diffusion is None
            else diffusion
        )
        self.solver = diffrax.Euler() if solver is None else solver
        self.max_steps = check_int(max_steps, "max_steps", minimum=1)

    def _diffusion_matrix(self, t, y, args):
        return jnp.diag(self.diffusion(t, y, args))

    def solve(
        self, ts: Float[Array, " time"], y0: Float[Array, " d"], *, key: jax.Array,
        throw: bool = True,
    ) -> diffrax.Solution:  # fmt: skip
        """One path from `y0` at `ts[0]`, saved at `ts`; the diffrax `Solution`."""
        brownian = diffrax.VirtualBrownianTree(
            ts[0], ts[-1], tol=self.dt0 / 2, shape=(self.data_dim,), key=key
        )
        terms = diffrax.MultiTerm(
            diffrax.ODETerm(self.drift), diffrax.ControlTerm(self._diffusion_matrix, brownian)
        )
        return diffrax.diffeqsolve(
            terms,
            self.solver,
            t0=ts[0],
            t1=ts[-1],
            dt0=self.dt0,
            y0=y0,
            saveat=diffrax.SaveAt(ts=ts),
            max_steps=self.max_steps,
            throw=throw,
        )

    def __call__(self, ts: ArrayLike, y0: ArrayLike, *, key: jax.Array) -> Float[Array, "time d"]:
        ts = check_times(ts, "ts")
        y0 = check_state(y0, "y0", self.data_dim)
        if ts.ndim != 1 or y0.ndim != 1:
            raise ValueError(
                f"`ts` must be (time,) and `y0` ({self.data_dim},); got {tuple(ts.shape)} and "
                f"{tuple(y0.shape)} (use `sample` for many paths)."
            )
        return self.solve(ts, y0, key=key).ys

    def sample(
        self, ts: ArrayLike, y0: ArrayLike, n: int, *, key: jax.Array
    ) -> Float[Array, "n time d"]:
        """`n` independent paths at once (vmapped), `(n, time, d)`.

        `y0` is one state `(d,)` shared by all paths or one per path `(n, d)`.
        """
        n = check_int(n, "n", minimum=1)
        ts = check_times(ts, "ts")
        y0 = check_state(y0, "y0", self.data_dim)
        if y0.ndim == 1:
            y0 = jnp.broadcast_to(y0, (n, self.data_dim))
        if y0.shape != (n, self.data_dim):
            raise ValueError(
                f"`y0` must be ({self.data_dim},) or ({n}, {self.data_dim}), got {tuple(y0.shape)}."
            )
        keys = jax.random.split(key, n)
        return jax.vmap(lambda y, k: self.solve(ts, y, key=k).ys)(y0, keys)

    def objective(self, phase: FitPhase) -> training.AbstractObjective:
        """The Euler–Maruyama transition NLL, [`TransitionNLL`][dynsys.nde.TransitionNLL]."""
        if phase.segments is not None:
            raise ValueError("`shooting` (multiple shooting) applies to NeuralODE models only.")
        return TransitionNLL(phase)

    def transition_nll(
        self,
        ts: Float[Array, " time"],
        ys: Float[Array, "time d"],
        mask: Bool[Array, "time d"] | None = None,
    ) -> Float[Array, ""]:
        """Negative Euler–Maruyama transition log-likelihood of one observed path.

        `−Σ_k log N(y_{k+1}; y_k + f(t_k, y_k) Δ_k, diag(g(t_k, y_k)²) Δ_k)` over the pairs
        whose two entries are observed (Δ_k = t_{k+1} − t_k). The pseudo-likelihood is
        consistent as the sampling step goes to zero (e.g. Sørensen 2004); with coarse
        sampling prefer a latent SDE.
        """
        if mask is None:
            mask = jnp.ones(ys.shape, dtype=bool)
        if not is_traced(ys) and ys.shape[-1] != self.data_dim:
            raise ValueError(
                f"`ys` must have last axis {self.data_dim}, got shape {tuple(ys.shape)}."
            )
        t0, y0, y1 = ts[:-1], ys[:-1], ys[1:]
        dt = (ts[1:] - ts[:-1])[:, None]
        f = jax.vmap(self.drift)(t0, y0, None)
        g = jax.vmap(self.diffusion)(t0, y0, None)
        var = g**2 * dt
        pair = mask[:-1] & mask[1:]
        per = 0.5 * ((y1 - y0 - f * dt) ** 2 / var + jnp.log(2 * math.pi * var))
        return jnp.sum(jnp.where(pair, per, jnp.zeros((), per.dtype)))


register_loadable(
    DiagonalDiffusion,
    hyperparameters=lambda g: {
        "dim": g.mlp.out_size,
        "width": g.mlp.width_size,
        "depth": g.mlp.depth,
        "time_dependent": g.time_dependent,
        "dtype": g.mlp.layers[-1].bias.dtype.name,
    },
    template=lambda hp: DiagonalDiffusion(
        hp["dim"],
        width=hp["width"],
        depth=hp["depth"],
        time_dependent=hp["time_dependent"],
        key=jax.random.key(0),
        dtype=hp["dtype"],
    ),
)


def _neural_sde_hyperparameters(model: NeuralSDE) -> dict:
    return {
        "data_dim": model.data_dim,
        "dt0": model.dt0,
        "drift": describe(model.drift),
        "diffusion": describe(model.diffusion),
        "solver": _diffrax_name(model.solver, diffrax.AbstractSolver, "solver", "NeuralSDE"),
        "max_steps": model.max_steps,
    }


def _neural_sde_template(hp: dict) -> NeuralSDE:
    return NeuralSDE(
        hp["data_dim"],
        dt0=hp["dt0"],
        drift=template_from(hp["drift"]),
        diffusion=template_from(hp["diffusion"]),
        solver=_diffrax_object(hp["solver"], diffrax.AbstractSolver, "solver"),
        max_steps=hp["max_steps"],
    )


register_loadable(
    NeuralSDE, hyperparameters=_neural_sde_hyperparameters, template=_neural_sde_template
)
