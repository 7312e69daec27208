"""The plug point of the neural-DE family: a model that builds its own training objective."""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .. import training


class FitPhase(eqx.Module):
    """One phase of the length curriculum of [`dynsys.nde.fit`][], as a model sees it.

    [`dynsys.nde.fit`][] passes it to
    [`AbstractNDE.objective`][dynsys.nde.AbstractNDE.objective] at the start of every phase.
    The training batches of the phase are [`dynsys.data.SeriesBatch`][]es drawn from `ts`,
    `ys` and `mask` (`batch.times`, `batch.states`, `batch.mask`, `batch.indices`).

    **Fields:**

    - `index`: 0-based phase.
    - `ts`: times `(time,)` shared or `(batch, time)` per series: the first `time` points
      that this phase trains on.
    - `ys`: observations `(batch, time, d)` in the model's parameter dtype, 0 where masked.
    - `mask`: booleans `(batch, time, d)`, True = observed.
    - `key`: the PRNG key of the fit (for draws outside the training steps, e.g. a
      diagnosis).
    - `kl_weight`: weight of the KL terms of a latent model (1: the ELBO).
    - `segments`: multiple shooting, `(S, m + 1)` time indices of S segments that share
      their end points, or None (no shooting).
    - `shooting_init`: `"data"` (segments start at the data) or `"learned"` (at free
      initial conditions trained with the model).
    - `continuity_weight`: weight of the continuity penalty between shooting segments.
    """

    index: int = eqx.field(static=True)
    ts: Float[Array, " time"] | Float[Array, "batch time"]
    ys: Float[Array, "batch time d"]
    mask: Bool[Array, "batch time d"]
    key: Any
    kl_weight: float = eqx.field(static=True, default=1.0)
    segments: Int[np.ndarray, "segment point"] | None = None
    shooting_init: str = eqx.field(static=True, default="data")
    continuity_weight: float = eqx.field(static=True, default=1.0)


class AbstractNDE(eqx.Module):
    """A neural differential equation that [`dynsys.nde.fit`][] can train.

    The family's extension point: [`NeuralODE`][dynsys.nde.NeuralODE],
    [`LatentODE`][dynsys.nde.LatentODE], [`NeuralSDE`][dynsys.nde.NeuralSDE] and
    [`LatentSDE`][dynsys.nde.LatentSDE] are its final subclasses. A new model subclasses it
    with a `data_dim` (the observed dimension d) and an `objective` method returning its
    loss as a [`dynsys.training.AbstractObjective`][]; `nde.fit` then trains it with the
    length curriculum, fixed-shape batches, evaluation and checkpoints, like the built-in
    models.

    ```python
    class Decay(nde.AbstractNDE):          # y(t) = y(t0) exp(-rate (t - t0))
        rate: jax.Array
        data_dim: int = eqx.field(static=True)

        def __init__(self, rate):
            self.rate, self.data_dim = jnp.asarray(rate), 1

        def objective(self, phase):
            return DecayMatching()         # a training.AbstractObjective

    class DecayMatching(training.AbstractObjective):
        def __call__(self, model, batch, state, *, step, key):   # batch: a SeriesBatch
            t = batch.times - batch.times[0]
            pred = batch.states[:, :1] * jnp.exp(-model.rate * t)[None, :, None]
            mse = jnp.mean((pred - batch.states) ** 2)
            return mse, (state, {"mse": mse})

    result = nde.fit(Decay(1.0), ys, ts=ts, key=jax.random.key(0), steps=100)
    ```
    """

    data_dim: eqx.AbstractVar[int]

    @abc.abstractmethod
    def objective(self, phase: FitPhase) -> training.AbstractObjective:
        """The training objective of one curriculum phase.

        **Arguments:**

        - `phase`: a [`FitPhase`][dynsys.nde.FitPhase]: the phase's data, its index, the
          fit's key and the options of [`dynsys.nde.fit`][] (`kl_weight`, multiple
          shooting). Raise a `ValueError` for an option the model does not support (e.g.
          `phase.segments` for a model without multiple shooting).

        **Returns:** a [`dynsys.training.AbstractObjective`][] called by the training core
        as `objective(model, batch, state, step=step, key=key) -> (loss, (state,
        metrics))` on [`dynsys.data.SeriesBatch`][]es of `batch_size` series. Its
        `failure_hint` is appended to the error of a diverging run, and its
        `explain_failure` may replace that error by a more specific one (the built-in
        objectives raise a [`dynsys.nde.SolverError`][] for a failed solve).
        """
