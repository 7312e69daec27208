"""The stepper protocol: `__call__(u) -> u_next` on one channel-first, unbatched state."""

from __future__ import annotations

import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import check_finite, check_int, is_traced


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
        check_aux(aux)
        # One compiled step per stepper type and shape, rather than op-by-op dispatch when
        # called eagerly; inside an outer jit this is inlined.
        out = _jit_step(self, u, *aux)
        warn_if_diverged(out, type(self).__name__)
        return out

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


def _check_grid(num_channels: Any, num_spatial_dims: Any, num_points: Any) -> None:
    check_int(num_channels, "num_channels", minimum=1)
    d = check_int(num_spatial_dims, "num_spatial_dims", minimum=1)
    if isinstance(num_points, tuple):
        if len(num_points) != d:
            raise ValueError(
                f"`num_points` must be one int or {d} ints (one per spatial axis), got "
                f"{num_points!r}."
            )
        for n in num_points:
            check_int(n, "num_points", minimum=1)
    else:
        check_int(num_points, "num_points", minimum=1)


def warn_if_diverged(out: Any, who: str) -> None:
    """Warn (outside `jit`) when one step turned a finite state into NaN or inf."""
    if is_traced(out) or bool(jnp.all(jnp.isfinite(out))):
        return
    warnings.warn(
        f"{who}: one step turned a finite state into NaN or inf: the step is unstable (`dt` "
        "beyond the stability limit?) or a coefficient or `aux` argument is out of range.",
        RuntimeWarning,
        stacklevel=3,
    )


def check_aux(aux: tuple, name: str = "aux") -> None:
    """Reject NaN/inf (and strings) in the leaves of a stepper's extra arguments.

    Values are checked only when concrete (not traced).
    """
    for leaf in jax.tree_util.tree_leaves(aux):
        if isinstance(leaf, str | bytes):
            raise TypeError(f"`{name}` must hold numbers or arrays, got the string {leaf!r}.")
        if isinstance(leaf, bool | np.bool_) or is_traced(leaf):
            continue
        if isinstance(leaf, int | float | np.number) or (
            hasattr(leaf, "dtype") and np.dtype(leaf.dtype).kind in "fc"
        ):
            check_finite(leaf, name)


def checked_state(u: Any, name: str, stepper: Any = None) -> jax.Array:
    """`u` as one floating, finite state `(channels, *space)` (finiteness unless traced).

    When `stepper` declares its grid (`num_channels`, `num_spatial_dims`, `num_points` as
    integers, as every dynsys stepper does) the shape is checked against it with
    [`check_state`][]; otherwise only the rank (>= 2). Errors name `name`.
    """
    if u is None or isinstance(u, str | bytes):
        raise TypeError(f"`{name}` must be a floating array (channels, *space), got {u!r}.")
    if not isinstance(u, jax.Array):
        try:
            u = jnp.asarray(u)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"`{name}` must be a floating array (channels, *space), got {type(u).__name__}."
            ) from err
    if not jnp.issubdtype(u.dtype, jnp.floating):
        raise TypeError(f"`{name}` must be a floating array, got dtype {u.dtype}.")
    grid = [getattr(stepper, a, None) for a in ("num_channels", "num_spatial_dims", "num_points")]
    if all(isinstance(g, int) and not isinstance(g, bool) for g in grid):
        return check_state(u, *grid, name=name)
    if u.ndim < 2 or u.size == 0:
        raise ValueError(
            f"`{name}` must be one non-empty state (channels, *space) with at least one "
            f"spatial axis, got shape {tuple(u.shape)}."
        )
    check_finite(u, name)
    return u


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
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string, got {type(name).__name__}.")
    _check_grid(num_channels, num_spatial_dims, num_points)
    if u is None or isinstance(u, str | bytes):
        raise TypeError(f"`{name}` must be an array, got {u!r}.")
    if not isinstance(u, jax.Array):
        try:
            u = jnp.asarray(u)
        except (TypeError, ValueError) as err:
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
