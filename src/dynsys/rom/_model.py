"""Latent reduced-order models: auto-decoder INR + latent ODE (Φ-ROM and DINo)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike, Float

from .._serialization import describe, register_loadable, template_from
from .._validation import as_array, check_finite, check_int, check_ndim, check_positive
from ._dynamics import integrate_latent


class AbstractLatentROM(eqx.Module):
    """A decoder D(x, α) and a latent vector field ψ(α; μ), with snapshot spacing `dt`.

    Shared by [`PhiROM`][dynsys.rom.PhiROM] and [`DINo`][dynsys.rom.DINo], which differ only
    in how they are trained ([`fit_phirom`][dynsys.rom.fit_phirom] /
    [`fit_dino`][dynsys.rom.fit_dino]). There is no encoder: a new initial condition is
    mapped to the latent space by [`invert`][dynsys.rom.AbstractLatentROM.invert]
    (gradient descent on α), then ψ is integrated ([`forecast`][]) and the latents are
    decoded at any coordinates ([`decode`][], mesh-free).
    """

    decoder: eqx.AbstractVar[Any]
    dynamics: eqx.AbstractVar[Any]
    dt: eqx.AbstractVar[float]

    @property
    def latent_dim(self) -> int:
        """Latent size d."""
        return self.decoder.latent_dim

    def decode(
        self, alpha: Float[ArrayLike, "*batch latent"], coords: Float[ArrayLike, "points coord_dim"]
    ) -> Float[Array, "*batch points channels"]:
        """Decode latents at arbitrary coordinates (mesh-free).

        **Arguments:** `alpha` of shape `(..., d)`; `coords` `(P, coord_dim)`.

        **Returns:** shape `(..., P, C)`.
        """
        alpha = jnp.asarray(alpha)
        coords = jnp.asarray(coords, dtype=alpha.dtype)
        flat = alpha.reshape(-1, alpha.shape[-1])
        out = jax.vmap(lambda a: self.decoder(coords, a))(flat)
        return out.reshape(alpha.shape[:-1] + out.shape[1:])

    def forecast(
        self,
        alpha0: Float[ArrayLike, " latent"],
        n_steps: int,
        params: Any = None,
        *,
        solver: Any = None,
    ) -> Float[Array, " time latent"]:
        """Integrate ψ from `alpha0` on t_k = k·dt, k = 0..n_steps (diffrax, Bosh3 default).

        **Returns:** shape `(n_steps + 1, d)`.
        """
        return integrate_latent(self.dynamics, jnp.asarray(alpha0), params, n_steps, self.dt,
                                solver=solver)  # fmt: skip

    def predict(
        self,
        alpha0: Float[ArrayLike, " latent"],
        n_steps: int,
        coords: Float[ArrayLike, "points coord_dim"],
        params: Any = None,
    ) -> Float[Array, " time points channels"]:
        """Forecast and decode: fields at `coords` for t_k = k·dt, shape `(n_steps+1, P, C)`."""
        return self.decode(self.forecast(alpha0, n_steps, params), coords)

    def invert(
        self,
        values: ArrayLike,
        coords: ArrayLike,
        *,
        n_iter: int = 500,
        learning_rate: float = 0.1,
        alpha_init: Any = None,
    ) -> Float[Array, " latent"]:
        """Latent of an observed field by gradient descent (auto-decoder inversion).

            α* = argmin_α mean ‖D(x_i, α) − u_i‖²,

        Adam(`learning_rate`) from `alpha_init` (shape `(d,)`, zeros by default) for `n_iter`
        iterations, keeping the best iterate (Φ-ROM `find_latent_descent`). The observation
        may be on any points, e.g. a sparse random subset of the grid.

        **Arguments:** `values` `(P, C)` at `coords` `(P, coord_dim)`; keywords `n_iter`,
        `learning_rate`, `alpha_init`.

        **Returns:** shape `(d,)`.
        """
        values = as_array(values, "values")
        check_ndim(values, "values", 2, "(points, channels)")
        check_finite(values, "values")
        coords = jnp.asarray(coords, dtype=values.dtype)
        if coords.ndim != 2 or coords.shape[0] != values.shape[0]:
            raise ValueError(
                f"`coords` must be (points, coord_dim) with points={values.shape[0]}, got "
                f"shape {tuple(coords.shape)}."
            )
        n_iter = check_int(n_iter, "n_iter", minimum=1)
        check_positive(learning_rate, "learning_rate")
        if alpha_init is None:
            alpha0 = jnp.zeros(self.latent_dim, values.dtype)
        else:
            alpha0 = jnp.asarray(alpha_init, values.dtype)
            if alpha0.shape != (self.latent_dim,):
                raise ValueError(
                    f"`alpha_init` must have shape ({self.latent_dim},), got {tuple(alpha0.shape)}."
                )
            check_finite(alpha0, "alpha_init")
        return _invert(self.decoder, values, coords, alpha0, n_iter, float(learning_rate))


@eqx.filter_jit
def _invert(decoder, values, coords, alpha0, n_iter, learning_rate):
    opt = optax.adam(learning_rate)

    def loss(a):
        return jnp.mean((decoder(coords, a) - values) ** 2)

    def body(carry, _):
        a, state, best_a, best_l = carry
        value, g = jax.value_and_grad(loss)(a)
        better = value < best_l
        best_a = jnp.where(better, a, best_a)
        best_l = jnp.where(better, value, best_l)
        with jax.numpy_dtype_promotion("standard"):  # optax's bias correction mixes dtypes
            upd, state = opt.update(g, state, a)
        return (optax.apply_updates(a, upd), state, best_a, best_l), None

    with jax.numpy_dtype_promotion("standard"):
        state0 = opt.init(alpha0)
    init = (alpha0, state0, alpha0, jnp.asarray(jnp.inf, values.dtype))
    (a, _, best_a, best_l), _ = jax.lax.scan(body, init, None, length=n_iter)
    last = loss(a)
    return jnp.where(last < best_l, a, best_a)


class PhiROM(AbstractLatentROM):
    """Φ-ROM: a latent ROM whose latent dynamics are trained on a differentiable solver.

    Hosseini Dashtbayaz, Salehipour, Butscher & Morris, "Φ-ROM: Physics-informed
    reduced-order modeling of time-dependent PDEs via differentiable solvers", NeurIPS 2025.
    The model is an auto-decoder INR D(x, α) ([`MLPDecoder`][dynsys.rom.MLPDecoder] or
    [`HyperDecoder`][dynsys.rom.HyperDecoder]) and a latent vector field ψ(α; μ)
    ([`LatentDynamics`][dynsys.rom.LatentDynamics]); train it with
    [`fit_phirom`][dynsys.rom.fit_phirom], which targets ψ at the solver's time derivative of
    the decoded field pulled back through the decoder Jacobian.

    **Arguments:** `decoder`, `dynamics`, `dt` (snapshot spacing, keyword; the fixed step
    of the latent integration).

    ```python
    key_d, key_p = jax.random.split(jax.random.key(0))
    rom = PhiROM(MLPDecoder(1, 4, coord_bounds=(0, 100), key=key_d),
                 LatentDynamics(4, 1, param_bounds=(0.015, 0.03), key=key_p), dt=0.07)
    ```
    """

    decoder: Any
    dynamics: Any
    dt: float = eqx.field(static=True)

    def __init__(self, decoder: Any, dynamics: Any, *, dt: float):
        _check_parts(decoder, dynamics, dt)
        self.decoder, self.dynamics, self.dt = decoder, dynamics, float(dt)


class DINo(AbstractLatentROM):
    """DINo-style latent ROM: the same auto-decoder and latent ODE, trained on data only.

    Yin et al., "Continuous PDE dynamics forecasting with implicit neural representations",
    ICLR 2023 — the baseline of Φ-ROM. ψ is fitted by integrating latent trajectories and
    matching the auto-decoded latents of the data (with teacher forcing); see
    [`fit_dino`][dynsys.rom.fit_dino]. Same arguments as [`PhiROM`][dynsys.rom.PhiROM].
    """

    decoder: Any
    dynamics: Any
    dt: float = eqx.field(static=True)

    def __init__(self, decoder: Any, dynamics: Any, *, dt: float):
        _check_parts(decoder, dynamics, dt)
        self.decoder, self.dynamics, self.dt = decoder, dynamics, float(dt)


def _check_parts(decoder, dynamics, dt):
    check_positive(dt, "dt")
    for name, part in (("decoder", decoder), ("dynamics", dynamics)):
        if not callable(part):
            raise TypeError(f"`{name}` must be callable, got {type(part).__name__}.")
    if getattr(decoder, "latent_dim", None) != getattr(dynamics, "latent_dim", None):
        raise ValueError(
            f"`decoder.latent_dim` ({getattr(decoder, 'latent_dim', None)}) and "
            f"`dynamics.latent_dim` ({getattr(dynamics, 'latent_dim', None)}) must agree."
        )


def _rom_hyperparameters(rom: AbstractLatentROM) -> dict:
    return {"decoder": describe(rom.decoder), "dynamics": describe(rom.dynamics), "dt": rom.dt}


def _rom_template(cls: type) -> Any:
    """The `register_loadable` template of `cls` (PhiROM or DINo: the same arguments)."""
    return lambda hp: cls(template_from(hp["decoder"]), template_from(hp["dynamics"]), dt=hp["dt"])


register_loadable(PhiROM, hyperparameters=_rom_hyperparameters, template=_rom_template(PhiROM))
register_loadable(DINo, hyperparameters=_rom_hyperparameters, template=_rom_template(DINo))
