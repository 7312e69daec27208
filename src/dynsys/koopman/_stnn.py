"""StNN: a structured (Hankel/Toeplitz) network on time-delay windows, and its dense twin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .. import training
from .._serialization import register_loadable
from .._validation import as_array, check_finite, check_int, check_ndim
from ..data import sample_window_indices
from ._data import check_snapshots
from ._structured import HankelLinear, ToeplitzLinear


class AbstractDelayForecaster(eqx.Module):
    """A one-step forecaster x_{t+1} = x_t + f(window) on a delay window `(delays, dim)`.

    Subclasses define `delays`, `dim`, `layers` and `activation`; the window (oldest
    first) is flattened channel by channel, so each channel's delay vector is contiguous
    (the time-shift structure a Hankel operator acts on).
    """

    delays: eqx.AbstractVar[int]
    dim: eqx.AbstractVar[int]
    layers: eqx.AbstractVar[tuple]
    activation: eqx.AbstractVar[Callable]

    def __call__(self, window: Float[Array, "delays dim"]) -> Float[Array, " dim"]:
        """The next state after the window."""
        h = window.T.reshape(-1)
        for layer in self.layers[:-1]:
            h = self.activation(layer(h))
        return window[-1] + self.layers[-1](h)

    def forecast(self, window: Any, n_steps: int) -> Float[Array, "n_steps dim"]:
        """Roll the model forward `n_steps` from a window `(delays, dim)` with `lax.scan`."""
        window = as_array(window, "window")
        if window.shape != (self.delays, self.dim):
            raise ValueError(
                f"`window` must have shape ({self.delays}, {self.dim}), got {window.shape}."
            )
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        return _rollout(self, window, n_steps)

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        leaves = jax.tree_util.tree_leaves(eqx.filter(self, eqx.is_inexact_array))
        return int(sum(x.size for x in leaves))

    @property
    def flops(self) -> int:
        """Floating-point operations of one prediction (linear maps; activations excluded)."""
        return int(sum(_layer_flops(layer) for layer in self.layers))


def _layer_flops(layer) -> int:
    if isinstance(layer, eqx.nn.Linear):
        return 2 * layer.in_features * layer.out_features
    return layer.flops


@eqx.filter_jit
def _rollout(model, window, n_steps: int):
    def step(w, _):
        nxt = model(w)
        return jnp.concatenate([w[1:], nxt[None]], 0), nxt

    return jax.lax.scan(step, window, None, length=n_steps)[1]


class StNN(AbstractDelayForecaster):
    """Structured neural network on time-delay (Hankel) windows (after arXiv 2503.23697).

    The input is the Hankel (delay) embedding of the observed series, a window of the last
    `delays` states; every layer's weight is a structured matrix (Hankel or Toeplitz,
    `in + out − 1` parameters, matrix–vector product by FFT in O(n log n)), with `tanh`
    between layers, and the network predicts the increment to the next state:
    x_{t+1} = x_t + W_L σ(... σ(W_1 z + b_1) ...) + b_L, z = channel-major flattened window.

    The paper's layer-level factorisation was not available to us; this implementation takes
    its stated ingredients (Hankel operator from time-delay measurements, structured
    low-parameter weights, FFT-speed inference). `n_params` and `flops` are reported by the
    model. Train it with [`train_forecaster`][dynsys.koopman.train_forecaster] (the training
    core [`dynsys.training.fit`][]).

    **Arguments:** `dim`, `delays`, `width` (hidden size, default `delays·dim`), `depth`
    (number of hidden layers), `structure` (`"hankel"` or `"toeplitz"`), `key`.

    ```python
    model = StNN(dim=3, delays=16, depth=2, key=jax.random.key(0))
    model.n_params, model.flops
    ```
    """

    delays: int = eqx.field(static=True)
    dim: int = eqx.field(static=True)
    layers: tuple
    activation: Callable = eqx.field(static=True)
    structure: str = eqx.field(static=True)

    def __init__(
        self,
        dim: int,
        delays: int,
        *,
        width: int | None = None,
        depth: int = 2,
        structure: str = "hankel",
        key: Any,
    ):
        self.dim = check_int(dim, "dim", minimum=1)
        self.delays = check_int(delays, "delays", minimum=1)
        depth = check_int(depth, "depth", minimum=0)
        if structure not in ("hankel", "toeplitz"):
            raise ValueError(f"`structure` must be 'hankel' or 'toeplitz', got {structure!r}.")
        n_in = dim * delays
        width = n_in if width is None else check_int(width, "width", minimum=1)
        cls = HankelLinear if structure == "hankel" else ToeplitzLinear
        sizes = [n_in] + [width] * depth + [dim]
        keys = jax.random.split(key, len(sizes) - 1)
        self.layers = tuple(cls(a, b, key=k) for a, b, k in zip(sizes[:-1], sizes[1:], keys))
        self.activation = jnp.tanh
        self.structure = structure


class MLPForecaster(AbstractDelayForecaster):
    """The dense twin of [`StNN`][dynsys.koopman.StNN]: same window, sizes and activation,
    unstructured weight matrices (in·out parameters, 2·in·out flops per layer)."""

    delays: int = eqx.field(static=True)
    dim: int = eqx.field(static=True)
    layers: tuple
    activation: Callable = eqx.field(static=True)

    def __init__(
        self, dim: int, delays: int, *, width: int | None = None, depth: int = 2, key: Any
    ):
        self.dim = check_int(dim, "dim", minimum=1)
        self.delays = check_int(delays, "delays", minimum=1)
        depth = check_int(depth, "depth", minimum=0)
        n_in = dim * delays
        width = n_in if width is None else check_int(width, "width", minimum=1)
        sizes = [n_in] + [width] * depth + [dim]
        keys = jax.random.split(key, len(sizes) - 1)
        self.layers = tuple(
            eqx.nn.Linear(a, b, key=k) for a, b, k in zip(sizes[:-1], sizes[1:], keys)
        )
        self.activation = jnp.tanh


def _forecaster_hyperparameters(model: StNN | MLPForecaster) -> dict:
    # The activation is a function in a static field; the constructors always set tanh.
    if model.activation is not jnp.tanh:
        raise ValueError(
            f"Cannot save this {type(model).__name__}: its activation "
            f"{getattr(model.activation, '__qualname__', model.activation)!r} is not the "
            "constructor's jnp.tanh, and a dynsys file holds arrays and settings, never code."
        )
    hp = {
        "dim": model.dim,
        "delays": model.delays,
        "width": model.layers[0].out_features if len(model.layers) > 1 else None,
        "depth": len(model.layers) - 1,
    }
    if isinstance(model, StNN):
        hp["structure"] = model.structure
    return hp


def _forecaster_template(cls: type, hp: dict) -> StNN | MLPForecaster:
    extra = {"structure": hp["structure"]} if cls is StNN else {}
    return cls(
        hp["dim"], hp["delays"], width=hp["width"], depth=hp["depth"], key=jax.random.key(0),
        **extra,
    )  # fmt: skip


register_loadable(
    StNN,
    hyperparameters=_forecaster_hyperparameters,
    template=lambda hp: _forecaster_template(StNN, hp),
)
register_loadable(
    MLPForecaster,
    hyperparameters=_forecaster_hyperparameters,
    template=lambda hp: _forecaster_template(MLPForecaster, hp),
)


class DelayForecastMSE(training.AbstractObjective):
    """Mean squared error of a `horizon`-step rollout of a delay forecaster (final).

    The batch is `(windows, delays + horizon, dim)`; each window's first `delays` states
    start a rollout of `horizon` steps, compared with the window's last `horizon` states,
    and the loss is the mean over steps, channels and windows. No carried state.
    """

    horizon: int = eqx.field(static=True)

    failure_hint: ClassVar[str] = (
        "Delay-forecaster remedies: a smaller learning rate (e.g. optimizer=optax.adam(1e-4)), "
        "gradient_clip=1.0, a shorter `horizon`, or standardise `ys` first."
    )

    def __call__(self, model, batch, state, *, step, key):
        def one(seq):
            pred = _rollout(model, seq[: model.delays], self.horizon)
            return jnp.mean((pred - seq[model.delays :]) ** 2)

        return jnp.mean(jax.vmap(one)(batch)), (state, {})


def train_forecaster(
    model: AbstractDelayForecaster,
    ys: Any,
    *,
    n_steps: int,
    key: Any,
    optimizer: Any = None,
    batch_size: int = 64,
    horizon: int = 1,
    gradient_clip: float | None = None,
    evaluation: training.Evaluation | None = None,
    checkpoint: training.Checkpointing | None = None,
    on_nonfinite: Any = "raise",
    progress: bool = True,
) -> training.FitResult:
    """Train a delay forecaster with [`dynsys.training.fit`][] on random windows.

    Loss: mean squared error of a `horizon`-step rollout from windows of `delays` states
    (the objective `DelayForecastMSE`). Each step draws `batch_size` windows of `delays +
    horizon` states uniformly, with replacement, over all trajectories and start times
    ([`dynsys.data.sample_window_indices`][]; windows never straddle trajectories).

    **Arguments:**

    - `model`: an [`AbstractDelayForecaster`][dynsys.koopman.AbstractDelayForecaster].
    - `ys`: `(time, dim)` or `(batch, time, dim)`, finite (standardise it first); cast to
      the model's dtype.
    - `n_steps`: number of optimizer steps; `key`: PRNG key of the run.
    - `optimizer`: an optax `GradientTransformation`; None (default): `optax.adam(1e-3)`.
    - `batch_size`: windows per step; `horizon`: rollout steps in the loss.
    - `gradient_clip`: global-norm clipping of the gradients before the optimizer (None,
      the default: off).
    - `evaluation`: a [`dynsys.training.Evaluation`][] (scores during training, best-model
      selection), or None.
    - `checkpoint`: a [`dynsys.training.Checkpointing`][] (folder, interval, resume; a
      resumed run continues bit for bit), or None.
    - `on_nonfinite`: `"raise"`, `"rollback"` or a policy object
      ([`dynsys.training.RaiseOnNonfinite`][], [`dynsys.training.RollbackOnNonfinite`][]).
    - `progress`: show a progress bar.

    **Returns:** the [`dynsys.training.FitResult`][] (`.model` is the trained model,
    `history["loss"]` the loss per step).

    ```python
    model = StNN(dim=2, delays=8, depth=1, key=jax.random.key(0))
    result = train_forecaster(model, ys, n_steps=500, key=jax.random.key(1), horizon=4)
    ```
    """
    if not isinstance(model, AbstractDelayForecaster):
        raise TypeError(f"`model` must be a delay forecaster, got {type(model).__name__}.")
    ys, _ = check_snapshots(ys, "ys")
    check_ndim(ys, "ys", 3)
    if ys.shape[2] != model.dim:
        raise ValueError(f"`ys` must have {model.dim} channels, got shape {tuple(ys.shape)}.")
    horizon = check_int(horizon, "horizon", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    span = model.delays + horizon
    if ys.shape[1] < span:
        raise ValueError(
            f"`ys` has {ys.shape[1]} time steps; windows of delays + horizon = {span} need more."
        )
    check_finite(ys, "ys")
    data = ys.astype(training.param_dtype(model))

    windows = training.JitSampler(
        lambda step, key, data: _delay_windows(key, data, span, batch_size), data=data
    )

    optimizer = optax.adam(1e-3) if optimizer is None else optimizer
    return training.fit(
        model,
        DelayForecastMSE(horizon=horizon),
        windows,
        optimizer=optimizer,
        n_steps=n_steps,
        key=key,
        evaluation=evaluation,
        checkpoint=checkpoint,
        on_nonfinite=on_nonfinite,
        progress=progress,
        gradient_clip=gradient_clip,
    )


@eqx.filter_jit
def _delay_windows(key, data, span: int, batch_size: int):
    """`batch_size` windows `(batch_size, span, dim)` of `data` `(batch, time, dim)`."""
    traj, start = sample_window_indices(
        key, data.shape[0], data.shape[1], window=span, batch_size=batch_size
    )
    return data[traj[:, None], start[:, None] + jnp.arange(span)[None, :]]
