"""The extension points of the reconstruction family: `AbstractRNN`, `AbstractPLRNN`."""

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from equinox import AbstractVar
from jaxtyping import Array, ArrayLike, Bool, Float

from .._serialization import describe, template_from
from .._validation import as_array, check_finite, check_int, check_ndim
from ._observation import AbstractObservation, count_float_entries


class AbstractRNN(eqx.Module):
    """A recurrent map z_t = F(z_{t−1}, s_t) with an observation model: what teacher forcing needs.

    The extension point of [`dynsys.dsr.fit`][] and [`dynsys.dsr.evaluate`][]: a subclass
    that defines a latent map `step`, a `latent_penalty` and the fields `observation` (an
    [`AbstractObservation`][]) and `C` (input weights `(M, K)`, or `None` for a model
    without inputs; a `ClassVar` will do) trains by teacher forcing and is scored through
    the same code paths as the built-in models. [`AbstractPLRNN`][] adds the piecewise-linear
    analysis interface on top.

    Provided here: `init_state`, `forcing_signal` and `readout` (from the observation
    model), `generate`, `generate_latent`, a `jacobian` by forward-mode autodiff of
    `step` (adaptive α, λ_max), and the properties `latent_dim`, `obs_dim`, `n_inputs`,
    `n_forced`, `dtype` (that of the first floating-point leaf) and `n_parameters`.

    `latent_penalty` is abstract rather than 0 by default: `lambda_latent` > 0 must never
    be silently ignored, so a model states its own penalty (which may be zero).

    A tanh RNN z_t = tanh(W z_{t−1} + h) whose first N units are the data:

    ```python
    from typing import ClassVar
    import jax, jax.numpy as jnp
    from dynsys import dsr

    class TanhRNN(dsr.AbstractRNN):
        W: jax.Array
        h: jax.Array
        observation: dsr.IdentityObservation
        C: ClassVar[None] = None                   # no external inputs

        def __init__(self, latent_dim, obs_dim, *, key):
            k_w, k_obs = jax.random.split(key)
            self.W = jax.random.normal(k_w, (latent_dim, latent_dim)) / latent_dim
            self.h = jnp.zeros(latent_dim)
            self.observation = dsr.IdentityObservation(latent_dim, obs_dim, key=k_obs)

        def step(self, z, s=None):
            return jnp.tanh(z @ self.W.T + self.h)

        def latent_penalty(self):
            return jnp.sum(self.W**2)

    t = jnp.arange(1000) * 0.1
    xs = 0.8 * jnp.stack([jnp.sin(t), jnp.cos(t)], axis=-1)     # (1000, 2), a limit cycle
    s = dsr.TrainingSettings(tau=5, sequence_length=20, n_epochs=30, start_lr=1e-2, end_lr=1e-3)
    model = TanhRNN(6, 2, key=jax.random.key(0))
    result = dsr.fit(model, xs, key=jax.random.key(1), settings=s)
    ```

    Conventions: time-major arrays; `step` broadcasts over leading axes of `z`, while
    `jacobian` acts on one state (use `jax.vmap` for many).
    """

    C: AbstractVar[Float[Array, "latent inputs"] | None]
    observation: AbstractVar[AbstractObservation]

    # Entries stored in the parameter arrays but held fixed (e.g. the zeroed diagonal of a
    # PLRNN's W); subtracted in `n_parameters`.
    _n_fixed_per_unit: ClassVar[int] = 0

    # ---- model-specific -------------------------------------------------------------

    @abc.abstractmethod
    def step(
        self, z: Float[Array, "*batch latent"], s: Float[Array, "*batch inputs"] | None = None
    ) -> Float[Array, "*batch latent"]:
        """One step of the map: z ↦ F(z, s); `s` (external inputs) is None without inputs."""

    @abc.abstractmethod
    def latent_penalty(self) -> Float[Array, ""]:
        """The model's latent regulariser, a scalar that training multiplies by λ_lat.

        Added to the teacher-forcing loss when `lambda_latent` > 0 (see
        [`dynsys.dsr.latent_regularizer`][]). A model without one returns zero.
        """

    # ---- shared ---------------------------------------------------------------------

    def jacobian(self, z: Float[Array, " latent"]) -> Float[Array, "latent latent"]:
        """Jacobian ∂F/∂z of the autonomous map at one state `z`, shape `(M, M)`.

        Forward-mode autodiff of `step` (`jax.jacfwd`); [`AbstractPLRNN`][] replaces it by
        the exact matrix of the linear piece containing `z`.
        """
        return jax.jacfwd(self.step)(z)

    def _input_drive(self, s):
        if s is None:
            return 0.0
        if self.C is None:
            raise ValueError("This model has no inputs (n_inputs=0), but `s` was given.")
        return s @ self.C.T

    @property
    def latent_dim(self) -> int:
        """M, the latent dimension (that of the observation model)."""
        return self.observation.latent_dim

    @property
    def obs_dim(self) -> int:
        """N, the observation dimension."""
        return self.observation.obs_dim

    @property
    def n_inputs(self) -> int:
        """K, the number of external inputs (0 when the model has none)."""
        return 0 if self.C is None else self.C.shape[-1]

    @property
    def dtype(self) -> Any:
        """Float dtype of the parameters (of the first floating-point array leaf)."""
        for leaf in jax.tree_util.tree_leaves(self):
            if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.inexact):
                return leaf.dtype
        return jnp.dtype(jnp.result_type(float))

    @property
    def n_forced(self) -> int:
        """How many leading latent units teacher forcing acts on (from the observation model)."""
        return self.observation.n_forced

    @property
    def n_parameters(self) -> int:
        """Number of trainable scalars, observation model included.

        Counts every floating array leaf, minus entries held fixed by construction (the
        zero diagonal of W in the vanilla and dendritic PLRNN). Works on a shape-only model
        too: `eqx.filter_eval_shape(ALRNN, 20, 2, 3, key=key).n_parameters` allocates
        nothing.
        """
        return count_float_entries(self) - self._n_fixed_per_unit * self.latent_dim

    def readout(self, z: Float[Array, "*batch latent"]) -> Float[Array, "*batch obs"]:
        """Observation predicted from latent state(s): `(..., M) -> (..., N)`."""
        return self.observation.readout(z)

    def init_state(self, x: Float[Array, "*batch obs"]) -> Float[Array, "*batch latent"]:
        """Latent state inferred from observation(s): `(..., N) -> (..., M)`."""
        return self.observation.init_state(x)

    def forcing_signal(self, x: Float[Array, "*batch obs"]) -> Float[Array, "*batch forced"]:
        """Teacher-forcing targets of the first `n_forced` units: `(..., N) -> (..., n_forced)`."""
        return self.observation.forcing_signal(x)

    def generate_latent(
        self,
        z0: ArrayLike,
        n_steps: int,
        *,
        inputs: ArrayLike | None = None,
    ) -> Float[Array, "*batch time latent"]:
        """Iterate the latent map freely from `z0` for `n_steps` states (first row = `z0`).

        **Arguments:**

        - `z0`: initial latent state `(M,)`, or a batch `(batch, M)`.
        - `n_steps`: number of states returned (≥ 1), `z0` included.
        - `inputs`: external inputs aligned with the output rows, `(n_steps, K)` or
          `(batch, n_steps, K)`; row t drives the step into state t, so row 0 is unused.
          `None` means no drive (s = 0).

        **Returns:** `(n_steps, M)` or `(batch, n_steps, M)`.
        """
        z0 = as_array(z0, "z0", dtype=self.dtype)
        _check_state(z0, "z0", self.latent_dim, "latent_dim")
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        inputs = self._check_inputs(inputs, z0, n_steps)
        return _rollout(self, z0, n_steps, inputs)

    def generate(
        self,
        x0: ArrayLike,
        n_steps: int,
        *,
        inputs: ArrayLike | None = None,
    ) -> Float[Array, "*batch time obs"]:
        """Generate a trajectory in observation space from an initial observation.

        The latent state starts at `init_state(x0)` (e.g. [x₀; L x₀] for the identity
        observation), is iterated freely with `lax.scan`, and every state is read out. The
        first row is the readout of the initial state, i.e. `x0` itself for the identity
        observation (and for an affine one with N ≤ M). This matches the reference
        evaluation protocol, where generation starts from the first test point and the
        generated series is aligned with the test series row by row.

        **Arguments:**

        - `x0`: initial observation `(N,)`, or a batch `(batch, N)`.
        - `n_steps`: number of rows returned (≥ 1), the initial one included.
        - `inputs`: as in [`generate_latent`][]: `(n_steps, K)` or `(batch, n_steps, K)`.

        **Returns:** `(n_steps, N)` or `(batch, n_steps, N)`.

        ```python
        import jax, jax.numpy as jnp
        from dynsys.dsr import ALRNN
        model = ALRNN(20, 2, 3, key=jax.random.key(0))
        xs = model.generate(jnp.array([1.0, 0.0, -1.0]), 1000)   # (1000, 3)
        ```
        """
        x0 = as_array(x0, "x0", dtype=self.dtype)
        _check_state(x0, "x0", self.obs_dim, "obs_dim")
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        inputs = self._check_inputs(inputs, x0, n_steps)
        return _generate(self, x0, n_steps, inputs)

    def _check_inputs(self, inputs, start, n_steps):
        if inputs is None:
            return None
        if self.n_inputs == 0:
            raise ValueError("`inputs` was given, but the model has no inputs (n_inputs=0).")
        inputs = as_array(inputs, "inputs", dtype=self.dtype)
        expected = (*start.shape[:-1], n_steps, self.n_inputs)
        if inputs.shape != expected:
            raise ValueError(
                f"`inputs` must have shape {expected} (batch of x0, n_steps, n_inputs), "
                f"got {tuple(inputs.shape)}."
            )
        check_finite(inputs, "inputs")
        return inputs


class AbstractPLRNN(AbstractRNN):
    """A piecewise-linear recurrent map z_t = F(z_{t−1}, s_t) with an observation model.

    Every member of the family (PLRNN, shallow PLRNN, AL-RNN, dendritic PLRNN) is affine
    on each of finitely many polyhedral regions of latent space. A region is named by a
    boolean *activation pattern* (`activation_pattern(z)`, `n_region_bits` bits), and on it
    F(z) = J z + c with (J, c) = `affine_piece(pattern)`. The analysis tools of
    `dynsys.dsr` (symbolic codes, fixed points, k-cycles) use only this interface, so a
    user's own subclass gets them for free.

    Subclasses define what an [`AbstractRNN`][] needs (`step`, `latent_penalty`, the
    fields `C` and `observation`), the field `A` (the diagonal, a vector of length M) and
    the methods `activation_pattern`, `affine_piece` and the property `n_region_bits`.
    The Jacobian is exact: J of the linear piece that contains z, not autodiff.

    Conventions: time-major arrays; `step` broadcasts over leading axes of `z`, while
    `jacobian`, `activation_pattern` and `affine_piece` act on one state or pattern (use
    `jax.vmap` for many). The region analysis treats the autonomous map (no inputs).
    """

    A: AbstractVar[Float[Array, " latent"]]

    @property
    @abc.abstractmethod
    def n_region_bits(self) -> int:
        """Number of bits of an activation pattern (the log₂ of the number of patterns)."""

    @abc.abstractmethod
    def activation_pattern(self, z: Float[Array, "*batch latent"]) -> Bool[Array, "*batch bits"]:
        """The boolean pattern naming the linear region that contains `z`."""

    @abc.abstractmethod
    def affine_piece(
        self, pattern: Bool[Array, " bits"]
    ) -> tuple[Float[Array, "latent latent"], Float[Array, " latent"]]:
        """(J, c) such that F(z) = J z + c for every z whose pattern is `pattern`."""

    # Replaces AbstractRNN's autodiff default (the one override in this hierarchy): the
    # analysis tools and adaptive α rely on the Jacobian being exactly that of a region.
    def jacobian(self, z: Float[Array, " latent"]) -> Float[Array, "latent latent"]:
        """Analytic Jacobian ∂F/∂z at one state `z`, shape `(M, M)`: the J of its region.

        On a boundary between regions it is the one-sided Jacobian of the region that
        `activation_pattern(z)` names (ReLU'(0) = 0), as autodiff gives it.
        """
        return self.affine_piece(self.activation_pattern(z))[0]


def _check_state(x, name, dim, dim_name):
    check_ndim(x, name, (1, 2), f"({dim_name},) or (batch, {dim_name})")
    if x.shape[-1] != dim:
        raise ValueError(
            f"`{name}` must have last axis of length {dim_name}={dim}, got shape {tuple(x.shape)}."
        )
    check_finite(x, name)


@eqx.filter_jit
def _generate(model: AbstractRNN, x0, n_steps: int, inputs):
    return model.readout(_rollout(model, model.init_state(x0), n_steps, inputs))


@eqx.filter_jit
def _rollout(model: AbstractRNN, z0, n_steps: int, inputs):
    """States z0, F(z0), ..., F^{n_steps-1}(z0), time on axis -2."""

    def body(z, s):
        z_next = model.step(z, s)
        return z_next, z_next

    xs = None if inputs is None else jnp.moveaxis(inputs, -2, 0)[1:]
    _, zs = jax.lax.scan(body, z0, xs, length=n_steps - 1)
    zs = jnp.concatenate([z0[None], zs], axis=0)
    return jnp.moveaxis(zs, 0, -2)


def common_hyperparameters(model: AbstractPLRNN) -> dict:
    """The constructor arguments every PLRNN shares, for `register_loadable`."""
    return {
        "n_inputs": model.n_inputs,
        "observation": describe(model.observation),
        "dtype": jnp.dtype(model.dtype).name,
    }


def common_arguments(hyperparameters: dict) -> dict:
    """Keyword arguments of a PLRNN constructor from `common_hyperparameters`, fixed key."""
    return {
        "key": jax.random.key(0),
        "n_inputs": hyperparameters["n_inputs"],
        "observation": template_from(hyperparameters["observation"]),
        "dtype": hyperparameters["dtype"],
    }
