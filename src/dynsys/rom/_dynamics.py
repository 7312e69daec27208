"""The latent vector field ψ(α; μ) and its integration with diffrax."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._serialization import register_loadable
from .._validation import check_int
from ._activations import activation_from_name, activation_name
from ._decoders import bounds_of


class LatentDynamics(eqx.Module):
    """Latent vector field dα/dt = ψ(α; μ), an MLP (Φ-ROM `NeuralODE`, "hyper_concat").

        ψ(α; μ) = MLP([α, A μ̃])        (param_dim > 0),    ψ(α) = MLP(α)   (param_dim = 0),

    with μ̃ the parameters mapped affinely from `param_bounds` to [−1, 1] and A a trainable
    linear map to `latent_dim` features (the "hyper_concat" architecture of the Φ-ROM
    Burgers and LBM runs). Autonomous in t.

    **Arguments:** `latent_dim` d, `param_dim` (0 for non-parametric problems); keywords
    `width` (64), `depth` (3), `activation` (default `jax.nn.swish`), `param_bounds`
    (`(lo, hi)`, default (−1, 1)), `key`.

    ```python
    psi = LatentDynamics(4, 1, param_bounds=(0.015, 0.03), key=jax.random.key(0))
    psi(jnp.zeros(4), jnp.asarray([0.02]))    # (4,)
    ```
    """

    mlp: eqx.nn.MLP
    param_map: eqx.nn.Linear | None
    latent_dim: int = eqx.field(static=True)
    param_dim: int = eqx.field(static=True)
    param_center: tuple = eqx.field(static=True)
    param_halfwidth: tuple = eqx.field(static=True)

    def __init__(
        self,
        latent_dim: int,
        param_dim: int = 0,
        *,
        width: int = 64,
        depth: int = 3,
        activation: Callable = jax.nn.swish,
        param_bounds: Any = None,
        key: Any,
    ):
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.param_dim = check_int(param_dim, "param_dim", minimum=0)
        k1, k2 = jax.random.split(key)
        if param_bounds is None:
            lo, hi = -np.ones(self.param_dim), np.ones(self.param_dim)
        else:
            lo, hi = (np.broadcast_to(np.asarray(b, np.float64), (self.param_dim,))
                      for b in param_bounds)  # fmt: skip
            if np.any(hi <= lo):
                raise ValueError(f"`param_bounds` must have hi > lo, got {param_bounds}.")
        self.param_center = tuple(float(v) for v in 0.5 * (lo + hi))
        self.param_halfwidth = tuple(float(v) for v in 0.5 * (hi - lo))
        if self.param_dim:
            self.param_map = eqx.nn.Linear(self.param_dim, self.latent_dim, key=k1)
            n_in = 2 * self.latent_dim
        else:
            self.param_map = None
            n_in = self.latent_dim
        self.mlp = eqx.nn.MLP(n_in, self.latent_dim, width, depth, activation=activation, key=k2)

    def __call__(
        self, alpha: Float[Array, " latent"], params: Any = None
    ) -> Float[Array, " latent"]:
        """ψ(α; μ); `params` of shape `(param_dim,)` (None when `param_dim` = 0)."""
        if self.param_dim == 0:
            return self.mlp(alpha)
        if params is None:
            raise ValueError(f"this latent dynamics needs `params` of shape ({self.param_dim},).")
        p = jnp.reshape(jnp.asarray(params, dtype=alpha.dtype), (self.param_dim,))
        c = jnp.asarray(self.param_center, dtype=alpha.dtype)
        h = jnp.asarray(self.param_halfwidth, dtype=alpha.dtype)
        return self.mlp(jnp.concatenate([alpha, self.param_map((p - c) / h)]))


def integrate_latent(
    dynamics: Callable,
    alpha0: Float[Array, " latent"],
    params: Any,
    n_steps: int,
    dt: float,
    *,
    solver: Any = None,
    substeps: int = 1,
) -> Float[Array, " time latent"]:
    """Integrate dα/dt = ψ(α; μ) with diffrax on the snapshot grid t_k = k·dt, k = 0..n_steps.

    Fixed steps of size dt/substeps with `solver` (default `diffrax.Bosh3()`, Φ-ROM's
    default with a step equal to the snapshot spacing).

    **Arguments:** `dynamics` (ψ), `alpha0` `(d,)`, `params` (or None), `n_steps` >= 0,
    `dt` > 0; keywords `solver`, `substeps`.

    **Returns:** shape `(n_steps + 1, d)`.
    """
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    solver = diffrax.Bosh3() if solver is None else solver
    if n_steps == 0:
        return alpha0[None]
    term = diffrax.ODETerm(lambda t, y, args: dynamics(y, args))
    t1 = n_steps * dt
    ts = jnp.arange(n_steps + 1, dtype=alpha0.dtype) * jnp.asarray(dt, alpha0.dtype)
    sol = diffrax.diffeqsolve(
        term,
        solver,
        t0=0.0,
        t1=t1,
        dt0=dt / substeps,
        y0=alpha0,
        args=params,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.ConstantStepSize(),
        max_steps=n_steps * substeps + 1,
    )
    return sol.ys


def _latent_dynamics_hyperparameters(psi: LatentDynamics) -> dict:
    return {
        "latent_dim": psi.latent_dim,
        "param_dim": psi.param_dim,
        "width": psi.mlp.width_size,
        "depth": psi.mlp.depth,
        "activation": activation_name(psi.mlp.activation, "LatentDynamics"),
        "param_bounds": bounds_of(psi.param_center, psi.param_halfwidth, "LatentDynamics"),
    }


def _latent_dynamics_template(hp: dict) -> LatentDynamics:
    return LatentDynamics(
        hp["latent_dim"],
        hp["param_dim"],
        width=hp["width"],
        depth=hp["depth"],
        activation=activation_from_name(hp["activation"]),
        param_bounds=hp["param_bounds"],
        key=jax.random.key(0),
    )


register_loadable(
    LatentDynamics,
    hyperparameters=_latent_dynamics_hyperparameters,
    template=_latent_dynamics_template,
)
