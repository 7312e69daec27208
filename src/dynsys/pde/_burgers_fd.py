"""The 1-D parametric Burgers problem of Φ-ROM (upwind finite differences, explicit Euler)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import check_int, check_parameter, check_positive, check_real
from ._protocol import AbstractStepper


class ParametricBurgers(AbstractStepper):
    """Inviscid Burgers with an exponential source, 1-D, upwind FD + explicit Euler (Φ-ROM).

        u_t + (½ u²)_x = s · e^{μ x},    x ∈ [0, L],   u(0, t) = u(0, 0),

    the parametric benchmark of Lee & Carlberg (2020) used by Φ-ROM (`PHIROM/pde/burgers.py`):
    L = 100 on 256 points `x_j = j L/(N−1)` (dx = 0.392), dt = 0.07, s = 0.02, μ ∈
    [0.015, 0.03]. Space: first-order Engquist–Osher flux
    F_{j+½} = ½ max(u_j, 0)² + ½ min(u_{j+1}, 0)² (the upwind flux ½u_j² when u > 0), the
    left value held fixed, an outflow (zero-gradient) right end. Time: forward Euler, so
    (stepper(u) − u)/dt equals `rhs(u)` exactly. Stable for max|u|·dt/dx ≤ 1.

    The parameter μ is a field (`mu`); a call `stepper(u, mu)` overrides it, which is the
    `(u, aux)` convention [`dynsys.pde.rollout`][] and Φ-ROM use for parametric solvers.

    **Arguments:** keywords `mu` (default 0.02), `source_scale` s (0.02), `domain_extent` L
    (100.0), `num_points` N (256), `dt` (0.07).

    ```python
    s = ParametricBurgers(mu=0.02)
    u0 = jnp.ones((1, 256))
    traj = rollout(s, u0, 200)                 # (201, 1, 256)
    traj = rollout(s, u0, 200, aux=jnp.asarray(0.025))   # another μ, same stepper
    ```
    """

    mu: Any
    source_scale: float = eqx.field(static=True)
    domain_extent: float = eqx.field(static=True)
    num_points: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)

    def __init__(
        self,
        *,
        mu: Any = 0.02,
        source_scale: float = 0.02,
        domain_extent: float = 100.0,
        num_points: int = 256,
        dt: float = 0.07,
    ):
        check_positive(domain_extent, "domain_extent")
        check_positive(dt, "dt")
        self.mu = check_parameter(mu, "mu")
        self.source_scale = check_real(source_scale, "source_scale")
        self.domain_extent = float(domain_extent)
        self.num_points = check_int(num_points, "num_points", minimum=3)
        self.dt = float(dt)
        self.num_spatial_dims = 1
        self.num_channels = 1

    @property
    def dx(self) -> float:
        """Grid spacing L/(N − 1) (the grid includes both ends)."""
        return self.domain_extent / (self.num_points - 1)

    @property
    def grid(self) -> np.ndarray:
        """Grid points, shape `(N,)`: `linspace(0, L, N)`."""
        return np.linspace(0.0, self.domain_extent, self.num_points)

    def rhs(self, u: Float[Array, " 1 n"], mu: Any = None) -> Float[Array, " 1 n"]:
        """du/dt = −(F_{j+½} − F_{j−½})/dx + s e^{μ x_j}, zero at the fixed left point."""
        mu = self.mu if mu is None else mu
        if jnp.ndim(mu) != 0:
            raise ValueError(
                f"`mu` (the `aux` argument) must be a scalar, got shape {jnp.shape(mu)}."
            )
        mu = jnp.asarray(mu, dtype=u.dtype)
        x = jnp.asarray(self.grid, dtype=u.dtype)
        w = u[0]
        up = jnp.maximum(w, 0.0)
        um = jnp.minimum(w, 0.0)
        # interface fluxes F_{j+1/2} for j = 0..N-2; outflow: F_{N-1/2} = flux from u_{N-1}
        f_int = 0.5 * up[:-1] ** 2 + 0.5 * um[1:] ** 2
        f_right = 0.5 * w[-1:] ** 2
        f_plus = jnp.concatenate([f_int, f_right])
        f_minus = jnp.concatenate([f_int[:1], f_int])
        du = -(f_plus - f_minus) / jnp.asarray(self.dx, dtype=u.dtype)
        du = du + self.source_scale * jnp.exp(mu * x)
        du = du.at[0].set(0.0)
        return du[None]

    def step(self, u: Float[Array, " 1 n"], *aux: Any) -> Float[Array, " 1 n"]:
        """One forward-Euler step (no input checks)."""
        return u + jnp.asarray(self.dt, dtype=u.dtype) * self.rhs(u, *aux)
