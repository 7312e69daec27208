"""The stepper protocol: `__call__(u) -> u_next` on one channel-first, unbatched state."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import check_finite


class AbstractStepper(eqx.Module):
    """Base class of the dynsys time steppers (exponax-compatible protocol).

    A stepper advances one state of a PDE by one time step `dt`:

        u_next = stepper(u)            u, u_next: shape (channels, *space)

    The state is **unbatched and channel-first**, as in exponax: `(C, N)` in 1-D,
    `(C, N, N)` in 2-D. A batch goes through `jax.vmap(stepper)`. A stepper may take
    extra arguments (`stepper(u, aux)`, e.g. PDE parameters or a forcing), and may have a
    `rhs(u)` method returning the continuous-time right-hand side du/dt.

    This class is only a convenience: every dynsys function (`rollout`,
    `time_derivative`, the conformance checks of `dynsys.testing`, Φ-ROM) duck-types, so
    an exponax stepper, or any callable pytree with a `dt` attribute, works as-is.
    Subclasses implement `step(u, *aux)`; `__call__` checks the shape (always) and the
    finiteness (outside `jit`) of the state first.

    **Fields** (abstract, set by subclasses): `dt` (time step), `num_spatial_dims`,
    `num_points` (per spatial axis), `num_channels`, `domain_extent` (length of one
    side of the domain).

    ```python
    import jax, jax.numpy as jnp
    from dynsys.pde import Heat, rollout
    stepper = Heat(1, 2 * jnp.pi, 64, dt=0.01, diffusivity=0.1)
    u0 = jnp.sin(jnp.linspace(0, 2 * jnp.pi, 64, endpoint=False))[None]
    traj = rollout(stepper, u0, 100)          # (101, 1, 64)
    ```
    """

    dt: eqx.AbstractVar[float]
    num_spatial_dims: eqx.AbstractVar[int]
    num_points: eqx.AbstractVar[int]
    num_channels: eqx.AbstractVar[int]
    domain_extent: eqx.AbstractVar[float]

    def step(
        self, u: Float[Array, " channels *space"], *aux: Any
    ) -> Float[Array, " channels *space"]:
        """Advance `u` by one step without input checks (implemented by subclasses)."""
        raise NotImplementedError

    def __call__(self, u: ArrayLike, *aux: Any) -> Float[Array, " channels *space"]:
        """Advance one state by `dt`; `u` has shape `(num_channels, *(num_points,)*D)`."""
        u = check_state(u, self.num_channels, self.num_spatial_dims, self.num_points)
        # One compiled step per stepper type and shape, rather than op-by-op dispatch when
        # called eagerly; inside an outer jit this is inlined.
        return _jit_step(self, u, *aux)

    @property
    def dx(self) -> float:
        """Grid spacing `domain_extent / num_points` (periodic grids)."""
        return self.domain_extent / self.num_points

    @property
    def state_shape(self) -> tuple[int, ...]:
        """Shape of one state: `(num_channels, *(num_points,) * num_spatial_dims)`."""
        return (self.num_channels,) + (self.num_points,) * self.num_spatial_dims


@eqx.filter_jit
def _jit_step(stepper, u, *aux):
    return stepper.step(u, *aux)


def check_state(
    u: Any,
    num_channels: int,
    num_spatial_dims: int,
    num_points: int | tuple[int, ...],
    *,
    name: str = "u",
) -> jax.Array:
    """Check that `u` is one channel-first state `(num_channels, *space)`; return it as array.

    Raises a `ValueError` that suggests `jax.vmap` when `u` has one axis too many (a batch),
    names the expected channel count when the channel axis is wrong, and rejects NaN/inf
    outside `jit`.
    """
    if not isinstance(u, jax.Array) or not jnp.issubdtype(u.dtype, jnp.inexact):
        try:
            u = jnp.asarray(u)
        except TypeError as err:
            raise TypeError(f"`{name}` must be an array, got {type(u).__name__}.") from err
        if not jnp.issubdtype(u.dtype, jnp.floating):
            raise TypeError(f"`{name}` must be a floating array, got dtype {u.dtype}.")
    spatial = (num_points,) * num_spatial_dims if isinstance(num_points, int) else tuple(num_points)
    expected = (num_channels, *spatial)
    if u.ndim == len(expected) + 1 and tuple(u.shape[1:]) == expected:
        raise ValueError(
            f"`{name}` must be one unbatched state of shape {expected}, got shape "
            f"{tuple(u.shape)} (a leading batch axis?); steppers act on one state, use "
            "jax.vmap(stepper) for a batch."
        )
    if u.ndim != len(expected):
        raise ValueError(
            f"`{name}` must have shape (channels, *space) = {expected} "
            f"({num_spatial_dims} spatial dims), got shape {tuple(u.shape)}."
        )
    if u.shape[0] != num_channels:
        raise ValueError(
            f"`{name}` must have {num_channels} channel(s) on axis 0, got shape {tuple(u.shape)}."
        )
    if tuple(u.shape[1:]) != expected[1:]:
        raise ValueError(
            f"`{name}` must have spatial shape {expected[1:]}, got {tuple(u.shape[1:])}."
        )
    check_finite(u, name)
    return u
