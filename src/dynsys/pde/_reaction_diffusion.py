"""Finite-difference reaction–diffusion steppers in 2-D: Gray–Scott and FitzHugh–Nagumo."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._validation import check_int, check_parameter, check_positive
from ._laplacian import laplacian
from ._protocol import AbstractStepper


class AbstractReactionDiffusion(AbstractStepper):
    """Two-species reaction–diffusion on a periodic square, FD in space, RK4 in time.

        ∂_t c = D ⊙ Δ_h c + R(c),     c = (u, v),

    with the second-order 5-point Laplacian Δ_h ([`laplacian_fd`][]; grid x_j = j L/N) and
    classical RK4 taken `num_substeps` times per `dt` (the step of one call is `dt`; each
    substep is dt/num_substeps). Explicit: stable when (dt/num_substeps)·max(D)·8/dx² ≲ 2.7.
    Subclasses provide `diffusivities` and `reaction(c)`; `rhs` returns D ⊙ Δ_h c + R(c).
    Fourth order in time; the spatial error O(dx²) does not depend on dt.
    """

    dt: float = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_points: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    domain_extent: float = eqx.field(static=True)
    num_substeps: int = eqx.field(static=True)

    def _setup(self, domain_extent, num_points, dt, num_substeps):
        check_positive(domain_extent, "domain_extent")
        check_positive(dt, "dt")
        self.domain_extent = float(domain_extent)
        self.num_points = check_int(num_points, "num_points", minimum=3)
        self.dt = float(dt)
        self.num_substeps = check_int(num_substeps, "num_substeps", minimum=1)
        self.num_spatial_dims = 2
        self.num_channels = 2

    def _diffusivities(self) -> tuple[Any, Any]:
        raise NotImplementedError

    def reaction(self, c: Float[Array, " 2 n n"]) -> Float[Array, " 2 n n"]:
        """Pointwise reaction term R(c) (implemented by subclasses)."""
        raise NotImplementedError

    def rhs(self, c: Float[Array, " 2 n n"], *aux: Any) -> Float[Array, " 2 n n"]:
        """du/dt = D ⊙ Δ_h c + R(c)."""
        du, dv = self._diffusivities()
        lap = laplacian(c, self.dx, 1, "periodic")
        diff = jnp.stack([du * lap[0], dv * lap[1]])
        return diff + self.reaction(c)

    def step(self, c: Float[Array, " 2 n n"], *aux: Any) -> Float[Array, " 2 n n"]:
        """`num_substeps` RK4 steps covering `dt` (no input checks)."""
        h = jnp.asarray(self.dt / self.num_substeps, dtype=c.dtype)

        def rk4(_, y):
            k1 = self.rhs(y)
            k2 = self.rhs(y + 0.5 * h * k1)
            k3 = self.rhs(y + 0.5 * h * k2)
            k4 = self.rhs(y + h * k3)
            return y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

        if self.num_substeps <= 8:
            # Unrolled: an eager call then does not re-trace a fresh loop body every time.
            for i in range(self.num_substeps):
                c = rk4(i, c)
            return c
        return jax.lax.fori_loop(0, self.num_substeps, rk4, c)


class GrayScott(AbstractReactionDiffusion):
    """Gray–Scott model (Pearson 1993), 2-D periodic, finite differences + RK4.

        u_t = D_u Δu − u v² + F (1 − u),
        v_t = D_v Δv + u v² − (F + k) v.

    Defaults follow Pearson (Science 261, 189, 1993): L = 2.5, D_u = 2e-5, D_v = 1e-5,
    F = 0.04, k = 0.06 (exponax's `GrayScott` defaults); dt = 1 is stable on a 128² grid.
    Channel 0 is u, channel 1 is v; the homogeneous state is (u, v) = (1, 0). Seed
    patterns with a perturbed square of (½, ¼) (see [`dynsys.pde.gaussian_blobs`][]).

    **Arguments:** `domain_extent` L (default 2.5), `num_points` N (default 128), `dt`
    (default 1.0); keywords `diffusivity_u`, `diffusivity_v`, `feed_rate` F, `kill_rate` k,
    `num_substeps` (RK4 substeps per dt, default 1). Parameters are array fields: one can
    differentiate with respect to them.

    ```python
    gs = GrayScott(2.5, 64, dt=1.0)
    ```
    """

    diffusivity_u: Any
    diffusivity_v: Any
    feed_rate: Any
    kill_rate: Any

    def __init__(
        self,
        domain_extent=2.5,
        num_points=128,
        dt=1.0,
        *,
        diffusivity_u=2e-5,
        diffusivity_v=1e-5,
        feed_rate=0.04,
        kill_rate=0.06,
        num_substeps=1,
    ):
        self._setup(domain_extent, num_points, dt, num_substeps)
        check_parameter(diffusivity_u, "diffusivity_u", positive=True, allow_zero=True)
        check_parameter(diffusivity_v, "diffusivity_v", positive=True, allow_zero=True)
        check_parameter(feed_rate, "feed_rate")
        check_parameter(kill_rate, "kill_rate")
        self.diffusivity_u = diffusivity_u
        self.diffusivity_v = diffusivity_v
        self.feed_rate = feed_rate
        self.kill_rate = kill_rate

    def _diffusivities(self):
        return self.diffusivity_u, self.diffusivity_v

    def reaction(self, c):
        """R(u, v) = (−u v² + F(1 − u), u v² − (F + k) v)."""
        u, v = c[0], c[1]
        uvv = u * v * v
        f, k = self.feed_rate, self.kill_rate
        return jnp.stack([-uvv + f * (1.0 - u), uvv - (f + k) * v])


class FitzHughNagumo(AbstractReactionDiffusion):
    """FitzHugh–Nagumo reaction–diffusion, 2-D periodic, finite differences + RK4.

        u_t = a Δu + u − u³ − v + k,
        τ v_t = b Δv + u − v.

    The activator–inhibitor form that forms Turing patterns for a ≪ b; defaults a = 2.8e-4,
    b = 5e-3, τ = 0.1, k = −0.005 on L = 2 (grid spacing 0.02 at N = 100), dt = 1e-3 for
    stability of the explicit scheme with the v-equation's effective diffusivity b/τ.
    Channel 0 is u (activator), channel 1 is v (inhibitor).

    **Arguments:** `domain_extent` L (default 2.0), `num_points` N (default 100), `dt`
    (default 1e-3); keywords `a`, `b`, `tau`, `k`, `num_substeps`.

    ```python
    fhn = FitzHughNagumo(2.0, 64, dt=1e-3)
    ```
    """

    a: Any
    b: Any
    tau: Any
    k: Any

    def __init__(
        self,
        domain_extent=2.0,
        num_points=100,
        dt=1e-3,
        *,
        a=2.8e-4,
        b=5e-3,
        tau=0.1,
        k=-0.005,
        num_substeps=1,
    ):
        self._setup(domain_extent, num_points, dt, num_substeps)
        check_parameter(a, "a", positive=True, allow_zero=True)
        check_parameter(b, "b", positive=True, allow_zero=True)
        check_parameter(tau, "tau", positive=True)
        check_parameter(k, "k")
        self.a, self.b, self.tau, self.k = a, b, tau, k

    def _diffusivities(self):
        return self.a, self.b / self.tau

    def reaction(self, c):
        """R(u, v) = (u − u³ − v + k, (u − v)/τ)."""
        u, v = c[0], c[1]
        return jnp.stack([u - u**3 - v + self.k, (u - v) / self.tau])
