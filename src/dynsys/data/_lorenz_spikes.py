"""LFADS-style synthetic spiking population driven by the Lorenz-63 attractor."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._simulate import simulate
from .._validation import check_int, check_positive
from ..systems import get as get_system
from ._spike_splits import SpikeData, spike_data

_MAX_LORENZ_TIME = 1e4  # Lorenz time units one simulation may span
_MAX_COUNT = 1e7  # expected spikes per bin: Poisson counts must stay far inside int32


def lorenz_spikes(
    *,
    n_conditions: int = 65,
    n_trials: int = 20,
    n_neurons: int = 30,
    n_bins: int = 50,
    bin_size: float = 0.02,
    time_scale: float = 6.0,
    base_rate: float = 5.0,
    n_heldout: int = 6,
    n_forward: int = 10,
    transient: float = 2.0,
    substeps: int = 20,
    train_fraction: float = 0.8,
    seed: int = 0,
) -> SpikeData:
    """Poisson spike counts of a population whose log-rates are linear in a Lorenz-63 state.

    The LFADS demo protocol (Sussillo et al. 2016; `lfads-run-manager`
    `generateDemoDatasets.m`), with the Lorenz system integrated accurately by
    [`dynsys.simulate`][] instead of an Euler step:

    1. Lorenz-63 (σ = 10, ρ = 28, β = 8/3) from `n_conditions` initial states
       ~ N(0, 2² I), run for `transient` time units, then over one trial of
       `n_bins · bin_size` seconds, with `time_scale` Lorenz time units per second (LFADS:
       Euler dt = 0.006 per 1 ms step, i.e. 6 per second), sampled `substeps` times per bin.
    2. Each latent coordinate is centred and divided by its largest absolute value (over
       all conditions and times), so x ∈ [−1, 1]³.
    3. Rates λ_n(t) = r₀ · exp(w_nᵀ x(t)) in Hz with r₀ = `base_rate` and weights
       w_{nk} = s·u, u ~ U(1, 2), s = ±1 at random; the rate of a bin is the mean of the
       sampled rates times `bin_size` (spikes per bin).
    4. Counts ~ Poisson(rate per bin), independently for each of `n_trials` trials per
       condition (trials of one condition share the latent path: the PSTH is defined).

    `n_heldout` random neurons are held out and the last `n_forward` bins are forward-
    prediction bins (NLB layout); trials are split `train_fraction` / rest, stratified by
    condition. Everything is a deterministic function of `seed`.

    **Arguments:**

    - `n_conditions`, `n_trials`: conditions and trials per condition.
    - `n_neurons`: population size; `n_heldout` of them are held out.
    - `n_bins`, `bin_size`: bins per trial and bin width in seconds.
    - `time_scale`: Lorenz time units per second of trial.
    - `base_rate`: rate at x = 0, Hz.
    - `n_forward`: forward-prediction bins at the end of each trial.
    - `transient`: Lorenz time discarded before each trial.
    - `substeps`: latent samples per bin (20 with 20 ms bins: 1 ms resolution).
    - `train_fraction`, `seed`: split and seed.

    **Returns:** [`SpikeData`][] with `rates` (spikes per bin) and `latents` (bin means of
    the normalised Lorenz state, `(trials, n_bins, 3)`).

    ```python
    ds = lorenz_spikes(n_conditions=8, n_trials=4, seed=0)
    ds.spikes.shape, len(ds.heldout)   # (32, 50, 30), 6
    ```
    """
    n_conditions = check_int(n_conditions, "n_conditions", minimum=1)
    n_trials = check_int(n_trials, "n_trials", minimum=1)
    n_neurons = check_int(n_neurons, "n_neurons", minimum=2)
    n_bins = check_int(n_bins, "n_bins", minimum=2)
    substeps = check_int(substeps, "substeps", minimum=1)
    n_heldout = check_int(n_heldout, "n_heldout", minimum=0)
    if n_heldout >= n_neurons:
        raise ValueError(f"`n_heldout` must be < n_neurons={n_neurons}, got {n_heldout}.")
    if n_conditions * n_trials < 2:
        raise ValueError("`n_conditions · n_trials` must be >= 2 to split train and eval.")
    bin_size = check_positive(bin_size, "bin_size")
    time_scale = check_positive(time_scale, "time_scale")
    base_rate = check_positive(base_rate, "base_rate")
    transient = check_positive(transient, "transient", allow_zero=True)
    seed = check_int(seed, "seed", minimum=0)
    span = transient + n_bins * bin_size * time_scale
    if span > _MAX_LORENZ_TIME:
        raise ValueError(
            f"`transient` + `n_bins`·`bin_size`·`time_scale` = {span:.3g} Lorenz time units, "
            f"more than {_MAX_LORENZ_TIME:g} (about a million solver steps); shorten them."
        )
    # The largest rate is base_rate·e^{max Σ|w|} (|x| <= 1, |w| <= 2 per coordinate).
    max_count = base_rate * bin_size * np.exp(6.0)
    if max_count > _MAX_COUNT:
        raise ValueError(
            f"`base_rate`·`bin_size` = {base_rate * bin_size:.3g} spikes per bin gives up to "
            f"{max_count:.3g} expected spikes per bin, more than {_MAX_COUNT:g}; lower them."
        )
    rng = np.random.default_rng(seed)

    lorenz = get_system("lorenz63")
    y0 = rng.normal(0.0, 2.0, size=(n_conditions, 3))
    n_samples = n_bins * substeps
    # Sample points at the centres of `substeps` sub-intervals of each bin.
    trial_t = (np.arange(n_samples) + 0.5) * (bin_size / substeps) * time_scale
    ts = np.concatenate([[0.0], transient + trial_t])
    x64 = jnp.result_type(float) == jnp.float64
    tol = 1e-9 if x64 else 1e-6
    path = simulate(lorenz, jnp.asarray(y0), jnp.asarray(ts), rtol=tol, atol=tol)
    x = np.asarray(path, dtype=np.float64)[:, 1:]  # (conditions, samples, 3)
    x = x - x.mean(axis=(0, 1))
    x = x / np.abs(x).max(axis=(0, 1))

    weights = rng.uniform(1.0, 2.0, size=(3, n_neurons)) * rng.choice([-1.0, 1.0], (3, n_neurons))
    log_rate = np.clip(x @ weights + np.log(base_rate), -20.0, 20.0)
    rate_bin = np.exp(log_rate).reshape(n_conditions, n_bins, substeps, n_neurons).mean(2)
    rate_bin = rate_bin * bin_size
    latent_bin = x.reshape(n_conditions, n_bins, substeps, 3).mean(2)

    conditions = np.repeat(np.arange(n_conditions), n_trials)
    rates = rate_bin[conditions]
    counts = rng.poisson(rates)
    heldout = np.sort(rng.choice(n_neurons, size=n_heldout, replace=False)).tolist()
    return spike_data(
        counts,
        heldout=heldout,
        n_forward=n_forward,
        conditions=conditions,
        train_fraction=train_fraction,
        seed=seed,
        rates=rates,
        latents=latent_bin[conditions],
        bin_size=bin_size,
    )
