"""Built-in discrete-time systems (maps) with literature parameters."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from ._abstract import AbstractMap, LyapunovReference, param


class Henon(AbstractMap):
    """Hénon (1976) map: x' = 1 − a x² + y, y' = b x; defaults a=1.4, b=0.3.

    The Jacobian determinant is −b, so the exponents sum to ln b = −1.20397 per iteration.
    """

    a: Float[Array, ""] = param(1.4)
    b: Float[Array, ""] = param(0.3)
    name: ClassVar[str] = "henon"
    dim: ClassVar[int] = 2
    dt: ClassVar[float] = 1.0
    default_y0: ClassVar[tuple[float, ...]] = (0.1, 0.1)
    reference: ClassVar[LyapunovReference] = LyapunovReference(
        (0.41922, -1.62319),
        "J. C. Sprott, Chaos and Time-Series Analysis (OUP 2003), Table A.1; a=1.4, b=0.3",
    )
    citation: ClassVar[str] = "M. Hénon, Commun. Math. Phys. 50, 69 (1976)"

    def step(self, y):
        x, yy = y[0], y[1]
        return jnp.stack([1.0 - self.a * x**2 + yy, self.b * x])


class Logistic(AbstractMap):
    """Logistic map x' = r x (1 − x); default r=4, where λ = ln 2 exactly."""

    r: Float[Array, ""] = param(4.0)
    name: ClassVar[str] = "logistic"
    dim: ClassVar[int] = 1
    dt: ClassVar[float] = 1.0
    default_y0: ClassVar[tuple[float, ...]] = (0.1234,)
    reference: ClassVar[LyapunovReference] = LyapunovReference(
        (0.6931471805599453,), "exact: ln 2 at r=4 (conjugacy to the tent map)"
    )
    citation: ClassVar[str] = "R. M. May, Nature 261, 459 (1976)"

    def step(self, y):
        return self.r * y * (1.0 - y)
