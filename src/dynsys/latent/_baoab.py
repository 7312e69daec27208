"""The BAOAB splitting integrator of underdamped Langevin dynamics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_array, check_int, check_positive
from ._potentials import AbstractPotential


def baoab_step(
    potential: AbstractPotential,
    z: Float[Array, " dim"],
    v: Float[Array, " dim"],
    *,
    dt: float,
    friction: float,
    temperature: float = 1.0,
    key: jax.Array | None = None,
) -> tuple[Float[Array, " dim"], Float[Array, " dim"]]:
    """One BAOAB step of dz = v dt, dv = (−∇U(z) − γ v) dt + √(2γT) dW (unit mass).

    Leimkuhler & Matthews (2013): half kick (B), half drift (A), exact Ornstein–Uhlenbeck
    update of v (O), half drift, half kick,

        v ← v + (h/2) F(z);  z ← z + (h/2) v;
        v ← c v + √(T (1 − c²)) ξ,  c = e^{−γh},  ξ ~ N(0, I);
        z ← z + (h/2) v;  v ← v + (h/2) F(z).

    With γ = 0 (or no noise, c = 1) it is velocity Verlet: symplectic, second order, with
    a bounded O(h²) energy error. For a harmonic potential its configurational
    distribution is the exact Boltzmann one, N(0, T/k), at any stable step size.
    One force evaluation per step when the last force is reused (here it is recomputed:
    the function is stateless).

    **Arguments:**

    - `potential`: the [`AbstractPotential`][] U.
    - `z`, `v`: position and velocity `(dim,)`.
    - `dt`: step size h > 0 (time units of the latent dynamics).
    - `friction`: γ >= 0.
    - `temperature`: T >= 0.
    - `key`: PRNG key of the noise; None (or T = 0) drops the noise.

    **Returns:** `(z, v)` after one step.

    ```python
    z, v = baoab_step(QuadraticPotential(), jnp.ones(2), jnp.zeros(2), dt=0.1, friction=0.0)
    ```
    """
    noise = None
    if key is not None:
        noise = jax.random.normal(key, jnp.shape(v), dtype=jnp.result_type(v))
    return _step(potential, z, v, noise, dt, friction, temperature)


def _step(potential, z, v, noise, dt, friction, temperature):
    """One BAOAB step with the standard normal draw `noise` given (None: no noise)."""
    half = 0.5 * dt
    v = v + half * potential.force(z)
    z = z + half * v
    c = jnp.exp(-friction * dt)
    v = c * v
    if noise is not None:
        v = v + jnp.sqrt(temperature * (1.0 - c**2)) * noise
    z = z + half * v
    v = v + half * potential.force(z)
    return z, v


def langevin_rollout(
    potential: AbstractPotential,
    z0: ArrayLike,
    v0: ArrayLike,
    n_steps: int,
    *,
    dt: float,
    friction: float,
    temperature: float = 1.0,
    key: jax.Array | None = None,
) -> tuple[Float[Array, "time dim"], Float[Array, "time dim"]]:
    """Integrate underdamped Langevin dynamics for `n_steps` BAOAB steps (`lax.scan`).

    See [`baoab_step`][] for the scheme and the arguments; `key` None or `temperature` 0
    gives the deterministic (damped Hamiltonian) flow.

    **Returns:** `(zs, vs)`, each `(time, dim)` with `time = n_steps + 1`, starting with
    `(z0, v0)`.

    ```python
    zs, vs = langevin_rollout(QuadraticPotential(), jnp.ones(2), jnp.zeros(2), 100,
                              dt=0.05, friction=1.0, key=jax.random.key(0))
    ```
    """
    if not isinstance(potential, AbstractPotential):
        raise TypeError(
            f"`potential` must be an AbstractPotential, got {type(potential).__name__}."
        )
    z0, v0 = as_array(z0, "z0"), as_array(v0, "v0")
    if z0.ndim != 1 or v0.shape != z0.shape:
        raise ValueError(f"`z0` and `v0` must be 1-D of one shape, got {z0.shape} and {v0.shape}.")
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    check_positive(dt, "dt")
    check_positive(friction, "friction", allow_zero=True)
    check_positive(temperature, "temperature", allow_zero=True)
    return _rollout(potential, z0, v0, n_steps, dt, friction, temperature, key)


def _rollout(potential, z0, v0, n_steps, dt, friction, temperature, key):
    """`langevin_rollout` without the checks (for use inside models)."""
    noisy = key is not None and temperature > 0
    # One draw for the whole path: cheaper to compile than a key split per step.
    xs = jax.random.normal(key, (n_steps,) + z0.shape, dtype=z0.dtype) if noisy else None

    def body(carry, xi):
        z, v = _step(potential, *carry, xi, dt, friction, temperature)
        return (z, v), (z, v)

    _, (zs, vs) = jax.lax.scan(body, (z0, v0), xs, length=n_steps)
    return jnp.concatenate([z0[None], zs]), jnp.concatenate([v0[None], vs])
