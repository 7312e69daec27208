"""Built-in continuous-time systems (flows) with literature parameters."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._abstract import AbstractFlow, LyapunovReference, param

_SPROTT = "J. C. Sprott, Chaos and Time-Series Analysis (OUP 2003), Table A.1 (Lyapunov exponents)"


class Lorenz63(AbstractFlow):
    """Lorenz (1963) convection model.

    dx/dt = σ(y − x), dy/dt = x(ρ − z) − y, dz/dt = xy − βz; defaults σ=10, ρ=28, β=8/3.
    The divergence is −(σ + 1 + β), so the Lyapunov exponents sum to −13.6667.

    ```python
    sys = Lorenz63()
    sys.rhs(0.0, sys.initial_state())
    ```
    """

    sigma: Float[Array, ""] = param(10.0)
    rho: Float[Array, ""] = param(28.0)
    beta: Float[Array, ""] = param(8.0 / 3.0)
    name: ClassVar[str] = "lorenz63"
    dim: ClassVar[int] = 3
    dt: ClassVar[float] = 0.01
    default_y0: ClassVar[tuple[float, ...]] = (1.0, 1.0, 1.0)
    reference: ClassVar[LyapunovReference] = LyapunovReference(
        (0.9056, 0.0, -14.5723), _SPROTT + "; σ=10, ρ=28, β=8/3"
    )
    citation: ClassVar[str] = "E. N. Lorenz, J. Atmos. Sci. 20, 130 (1963)"

    def rhs(self, t, y):
        x, yy, z = y[0], y[1], y[2]
        return jnp.stack([self.sigma * (yy - x), x * (self.rho - z) - yy, x * yy - self.beta * z])


class Rossler(AbstractFlow):
    """Rössler (1976) attractor.

    dx/dt = −y − z, dy/dt = x + a·y, dz/dt = b + z(x − c); defaults a=b=0.2, c=5.7.
    """

    a: Float[Array, ""] = param(0.2)
    b: Float[Array, ""] = param(0.2)
    c: Float[Array, ""] = param(5.7)
    name: ClassVar[str] = "rossler"
    dim: ClassVar[int] = 3
    dt: ClassVar[float] = 0.08
    default_y0: ClassVar[tuple[float, ...]] = (1.0, 1.0, 0.0)
    reference: ClassVar[LyapunovReference] = LyapunovReference(
        (0.0714, 0.0, -5.3943), _SPROTT + "; a=b=0.2, c=5.7"
    )
    citation: ClassVar[str] = "O. E. Rössler, Phys. Lett. A 57, 397 (1976)"

    def rhs(self, t, y):
        x, yy, z = y[0], y[1], y[2]
        return jnp.stack([-yy - z, x + self.a * yy, self.b + z * (x - self.c)])


class Lorenz96(AbstractFlow):
    """Lorenz (1996) model on a ring of `n` sites with constant forcing `F`.

    dx_i/dt = (x_{i+1} − x_{i−2}) x_{i−1} − x_i + F, indices modulo n; defaults n=20, F=8.
    The default initial condition is F everywhere with x_0 perturbed by +0.01.
    """

    n: int = eqx.field(static=True, default=20)
    forcing: Float[Array, ""] = param(8.0)
    name: ClassVar[str] = "lorenz96"
    dt: ClassVar[float] = 0.05
    citation: ClassVar[str] = (
        "E. N. Lorenz, Predictability: a problem partly solved, ECMWF Seminar (1996)"
    )

    def __check_init__(self):
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 4:
            raise ValueError(f"`n` must be an integer >= 4 (sites on the ring), got {self.n!r}.")

    @property
    def dim(self) -> int:
        return self.n

    @property
    def default_y0(self) -> tuple[float, ...]:
        f = float(self.forcing)
        return (f + 0.01,) + (f,) * (self.n - 1)

    def rhs(self, t, y):
        return (jnp.roll(y, -1) - jnp.roll(y, 2)) * jnp.roll(y, 1) - y + self.forcing


class Duffing(AbstractFlow):
    """Forced Duffing oscillator, chaotic at the default parameters.

    x'' + δx' + αx + βx³ = γ cos(ωt) written as a first-order system in (x, x');
    defaults δ=0.3, α=−1, β=1, γ=0.5, ω=1.2 (double-well, chaotic). Non-autonomous:
    `rhs` depends on t.
    """

    delta: Float[Array, ""] = param(0.3)
    alpha: Float[Array, ""] = param(-1.0)
    beta: Float[Array, ""] = param(1.0)
    gamma: Float[Array, ""] = param(0.5)
    omega: Float[Array, ""] = param(1.2)
    name: ClassVar[str] = "duffing"
    dim: ClassVar[int] = 2
    dt: ClassVar[float] = 0.05
    default_y0: ClassVar[tuple[float, ...]] = (1.0, 0.0)
    citation: ClassVar[str] = (
        "G. Duffing (1918); Guckenheimer & Holmes, Nonlinear Oscillations (1983)"
    )

    def rhs(self, t, y):
        x, v = y[0], y[1]
        acc = (
            -self.delta * v
            - self.alpha * x
            - self.beta * x**3
            + self.gamma * jnp.cos(self.omega * t)
        )
        return jnp.stack([v, acc])


class VanDerPol(AbstractFlow):
    """Van der Pol oscillator: x' = y, y' = μ(1 − x²)y − x; default μ=1 (a limit cycle)."""

    mu: Float[Array, ""] = param(1.0)
    name: ClassVar[str] = "vanderpol"
    dim: ClassVar[int] = 2
    dt: ClassVar[float] = 0.05
    default_y0: ClassVar[tuple[float, ...]] = (2.0, 0.0)
    citation: ClassVar[str] = "B. van der Pol, Phil. Mag. 2, 978 (1926)"

    def rhs(self, t, y):
        x, v = y[0], y[1]
        return jnp.stack([v, self.mu * (1.0 - x**2) * v - x])


class LotkaVolterra(AbstractFlow):
    """Lotka–Volterra predator–prey model.

    x' = αx − βxy (prey), y' = δxy − γy (predator); defaults α=2/3, β=4/3, γ=δ=1.
    Conservative: orbits are closed curves of H = δx − γ ln x + βy − α ln y.
    """

    alpha: Float[Array, ""] = param(2.0 / 3.0)
    beta: Float[Array, ""] = param(4.0 / 3.0)
    gamma: Float[Array, ""] = param(1.0)
    delta: Float[Array, ""] = param(1.0)
    name: ClassVar[str] = "lotka_volterra"
    dim: ClassVar[int] = 2
    dt: ClassVar[float] = 0.05
    default_y0: ClassVar[tuple[float, ...]] = (1.0, 1.0)
    citation: ClassVar[str] = "A. J. Lotka (1925); V. Volterra (1926)"

    def rhs(self, t, y):
        x, p = y[0], y[1]
        return jnp.stack([self.alpha * x - self.beta * x * p, self.delta * x * p - self.gamma * p])

    def invariant(self, y: Float[Array, "... 2"]) -> Float[Array, "..."]:
        """The conserved quantity H(x, y) = δx − γ ln x + βy − α ln y."""
        x, p = y[..., 0], y[..., 1]
        return self.delta * x - self.gamma * jnp.log(x) + self.beta * p - self.alpha * jnp.log(p)


class Thomas(AbstractFlow):
    """Thomas' cyclically symmetric attractor: x' = sin y − bx (and cyclic); default b=0.208186."""

    b: Float[Array, ""] = param(0.208186)
    name: ClassVar[str] = "thomas"
    dim: ClassVar[int] = 3
    dt: ClassVar[float] = 0.1
    default_y0: ClassVar[tuple[float, ...]] = (0.1, 0.0, 0.0)
    citation: ClassVar[str] = "R. Thomas, Int. J. Bifurc. Chaos 9, 1889 (1999)"

    def rhs(self, t, y):
        return jnp.sin(jnp.roll(y, -1)) - self.b * y


class Chua(AbstractFlow):
    """Chua's circuit (dimensionless), double-scroll attractor at the defaults.

    x' = α(y − x − f(x)), y' = x − y + z, z' = −βy with the piecewise-linear diode
    f(x) = m1·x + ½(m0 − m1)(|x + 1| − |x − 1|); defaults α=15.6, β=28, m0=−8/7, m1=−5/7.
    """

    alpha: Float[Array, ""] = param(15.6)
    beta: Float[Array, ""] = param(28.0)
    m0: Float[Array, ""] = param(-8.0 / 7.0)
    m1: Float[Array, ""] = param(-5.0 / 7.0)
    name: ClassVar[str] = "chua"
    dim: ClassVar[int] = 3
    dt: ClassVar[float] = 0.02
    default_y0: ClassVar[tuple[float, ...]] = (0.7, 0.0, 0.0)
    citation: ClassVar[str] = "L. O. Chua, M. Komuro, T. Matsumoto, IEEE TCAS 33, 1072 (1986)"

    def rhs(self, t, y):
        x, yy, z = y[0], y[1], y[2]
        fx = self.m1 * x + 0.5 * (self.m0 - self.m1) * (jnp.abs(x + 1.0) - jnp.abs(x - 1.0))
        return jnp.stack([self.alpha * (yy - x - fx), x - yy + z, -self.beta * yy])
