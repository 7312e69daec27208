"""FluidWorld's predictor: integrate a learned reaction–diffusion PDE in latent space."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._serialization import register_loadable
from .._validation import check_int, check_positive
from ..pde._laplacian import PADDINGS, stencil_difference
from ._abstract import AbstractPredictor
from ._rms_norm import rms_norm


def _inverse_softplus(y: float) -> float:
    return math.log(math.expm1(y))


class ReactionDiffusionPredictor(AbstractPredictor):
    """K explicit steps of a learned reaction–diffusion PDE on the latent field.

        u₀ = z_t + W·[z_{t−c+1}; …; z_t]                       (context write, W = 0 at init)
        u ← u + Δt·( Σ_k softplus(D_k) ⊙ d_k²·Lap_{d_k}(u) + R(u) ),   K times,
        z_{t+1} = u_K,

    with per-channel diffusivities D_k for each stencil dilation d_k
    ([`dilated_laplacian`][]; the factor d_k² makes every scale's stencil the raw
    neighbour difference, so one initial D = 0.1 fits all scales as in FluidWorld), a
    pointwise reaction MLP R (channels → hidden → channels, GELU, last layer zero at init),
    a learned time step bounded to [dt_min, dt_max] by a sigmoid (initial 0.1), and
    RMS normalisation over channels ([`rms_norm`][]) after every `norm_every` steps and
    after the last. With `adaptive_tol` the state freezes once the relative L1 change of a
    step, Σ|u_new − u| / Σ|u|, falls below the tolerance (FluidWorld's early stop; here
    the remaining steps are masked, which keeps the predictor differentiable and jit-able
    but saves no compute). Follows the FluidWorld layer (Polly 2026, arXiv 2603.21315)
    without its global/local memories, DeltaNet and Titans additions.

    **Arguments:**

    - `latent_channels`: channels C of the latent field.
    - `context`: latent frames read (>= 1); older frames enter only through W.
    - `hidden`: width of the reaction MLP.
    - `dilations`: stencil dilations d_k (default (1, 2, 4)).
    - `n_steps`: integration steps K per predicted frame.
    - `dt_bounds`: (dt_min, dt_max), 0 < dt_min < 0.1 < dt_max.
    - `norm_every`: RMS-normalise after every so many steps (>= 1).
    - `padding`: `"periodic"` or `"zero"` for the stencils.
    - `adaptive_tol`: tolerance of the early stop, or None (always K steps).
    - `dtype`, `key`.

    **Call:** `predictor(window)` with `window` `(context, C, h, w)` → `(C, h, w)`.

    ```python
    rd = ReactionDiffusionPredictor(16, context=2, key=jax.random.key(0))
    rd(jnp.ones((2, 16, 8, 8))).shape   # (16, 8, 8)
    ```
    """

    diffusion_raw: Float[Array, "scales channels"]
    dt_raw: Float[Array, ""]
    w1: Float[Array, "hidden channels"]
    b1: Float[Array, " hidden"]
    w2: Float[Array, "channels hidden"]
    b2: Float[Array, " channels"]
    write: Float[Array, "channels context_channels"]
    norm_gain: Float[Array, " channels"]
    context: int = eqx.field(static=True)
    latent_channels: int = eqx.field(static=True)
    dilations: tuple[int, ...] = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)
    dt_bounds: tuple[float, float] = eqx.field(static=True)
    norm_every: int = eqx.field(static=True)
    padding: str = eqx.field(static=True)
    adaptive_tol: float | None = eqx.field(static=True)

    def __init__(
        self,
        latent_channels: int,
        *,
        context: int = 2,
        hidden: int = 64,
        dilations: tuple[int, ...] = (1, 2, 4),
        n_steps: int = 4,
        dt_bounds: tuple[float, float] = (0.005, 0.35),
        norm_every: int = 2,
        padding: str = "periodic",
        adaptive_tol: float | None = None,
        dtype=None,
        key: jax.Array,
    ):
        c = check_int(latent_channels, "latent_channels", minimum=1)
        ctx = check_int(context, "context", minimum=1)
        h = check_int(hidden, "hidden", minimum=1)
        dil = tuple(check_int(d, "dilations", minimum=1) for d in dilations)
        if not dil:
            raise ValueError("`dilations` must hold at least one dilation, got ().")
        self.n_steps = check_int(n_steps, "n_steps", minimum=1)
        self.norm_every = check_int(norm_every, "norm_every", minimum=1)
        lo, hi = map(float, dt_bounds)
        if not 0.0 < lo < 0.1 < hi:
            raise ValueError(
                f"`dt_bounds` must satisfy 0 < dt_min < 0.1 < dt_max, got {dt_bounds}."
            )
        if padding not in PADDINGS:
            raise ValueError(f"`padding` must be one of {PADDINGS}, got {padding!r}.")
        if adaptive_tol is not None:
            check_positive(adaptive_tol, "adaptive_tol")
            adaptive_tol = float(adaptive_tol)
        dtype = jnp.result_type(float) if dtype is None else dtype
        self.context, self.latent_channels, self.dilations = ctx, c, dil
        self.dt_bounds, self.padding, self.adaptive_tol = (lo, hi), padding, adaptive_tol
        self.diffusion_raw = jnp.full((len(dil), c), _inverse_softplus(0.1), dtype=dtype)
        frac = (0.1 - lo) / (hi - lo)
        self.dt_raw = jnp.asarray(math.log(frac / (1.0 - frac)), dtype=dtype)
        k1, _ = jax.random.split(key)
        bound = 1.0 / math.sqrt(c)
        self.w1 = jax.random.uniform(k1, (h, c), dtype, -bound, bound)
        self.b1 = jnp.zeros((h,), dtype)
        # Zero last layer and zero context write: the predictor starts as pure diffusion.
        self.w2 = jnp.zeros((c, h), dtype)
        self.b2 = jnp.zeros((c,), dtype)
        self.write = jnp.zeros((c, ctx * c), dtype)
        self.norm_gain = jnp.ones((c,), dtype)

    @property
    def dt(self) -> Float[Array, ""]:
        """The learned time step Δt = dt_min + (dt_max − dt_min)·σ(θ)."""
        lo, hi = self.dt_bounds
        return lo + (hi - lo) * jax.nn.sigmoid(self.dt_raw)

    @property
    def diffusivities(self) -> Float[Array, "scales channels"]:
        """softplus(D_k) per dilation and channel, shape `(len(dilations), channels)`."""
        return jax.nn.softplus(self.diffusion_raw)

    def reaction(self, u: Float[Array, "channels h w"]) -> Float[Array, "channels h w"]:
        """Pointwise reaction R(u) = W₂ GELU(W₁ u + b₁) + b₂ at every pixel."""
        hid = jax.nn.gelu(jnp.einsum("hc,cxy->hxy", self.w1, u) + self.b1[:, None, None])
        return jnp.einsum("ch,hxy->cxy", self.w2, hid) + self.b2[:, None, None]

    def diffusion(self, u: Float[Array, "channels h w"]) -> Float[Array, "channels h w"]:
        """Σ_k softplus(D_k) ⊙ d_k²·Lap_{d_k}(u) (raw stencil differences at each dilation)."""
        out = jnp.zeros_like(u)
        for d, coef in zip(self.dilations, self.diffusivities):
            out = out + coef[:, None, None] * stencil_difference(u, d, self.padding)
        return out

    def step(self, u: Float[Array, "channels h w"]) -> Float[Array, "channels h w"]:
        """One explicit Euler step u + Δt·(diffusion(u) + R(u)), without normalisation."""
        return u + self.dt * (self.diffusion(u) + self.reaction(u))

    def integrate(
        self, u: Float[Array, "channels h w"]
    ) -> tuple[Float[Array, "channels h w"], Array]:
        """K steps with RMS normalisation (and the early stop): `(u_K, steps taken)`."""
        last = self.n_steps - 1
        norm_at = jnp.asarray(
            [(i + 1) % self.norm_every == 0 or i == last for i in range(self.n_steps)]
        )
        tol = self.adaptive_tol

        def body(carry, do_norm):
            u, done, taken = carry
            new = self.step(u)
            new = jnp.where(do_norm, rms_norm(new, self.norm_gain), new)
            if tol is not None:
                change = jnp.sum(jnp.abs(new - u)) / (jnp.sum(jnp.abs(u)) + 1e-12)
                new = jnp.where(done, u, new)
                taken = taken + jnp.where(done, 0, 1)
                done = done | (change < tol)
            else:
                taken = taken + 1
            return (new, done, taken), None

        init = (u, jnp.zeros((), bool), jnp.zeros((), jnp.int32))
        (u, _, taken), _ = jax.lax.scan(body, init, norm_at)
        return u, taken

    def __call__(
        self, window: Float[Array, "context channels h w"]
    ) -> Float[Array, "channels h w"]:
        """The next latent frame: the context write, then `integrate` (K steps)."""
        stacked = window[-self.context :].reshape(-1, *window.shape[2:])
        u0 = window[-1] + jnp.einsum("ck,kxy->cxy", self.write, stacked)
        return self.integrate(u0)[0]


register_loadable(
    ReactionDiffusionPredictor,
    hyperparameters=lambda m: {
        "latent_channels": m.latent_channels,
        "context": m.context,
        "hidden": m.w1.shape[0],
        "dilations": list(m.dilations),
        "n_steps": m.n_steps,
        "dt_bounds": list(m.dt_bounds),
        "norm_every": m.norm_every,
        "padding": m.padding,
        "adaptive_tol": m.adaptive_tol,
        "dtype": m.w1.dtype.name,
    },
    template=lambda hp: ReactionDiffusionPredictor(
        hp["latent_channels"],
        context=hp["context"],
        hidden=hp["hidden"],
        dilations=tuple(hp["dilations"]),
        n_steps=hp["n_steps"],
        dt_bounds=tuple(hp["dt_bounds"]),
        norm_every=hp["norm_every"],
        padding=hp["padding"],
        adaptive_tol=hp["adaptive_tol"],
        dtype=hp["dtype"],
        key=jax.random.key(0),
    ),
)
