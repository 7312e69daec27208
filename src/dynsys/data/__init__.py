"""Shared trajectory datasets: container, standardisation, splits, samplers, benchmarks.

- [`Trajectories`][]: times `(time,)`, states `(batch, time, *state_shape)`, optional
  inputs `(batch, time, input_dim)` and JSON metadata; `.npz` save/load; long-format
  pandas DataFrames and xarray Datasets in and out (`from_dataframe`, `to_dataframe`, ...);
  [`batched_states`][] checks an array or `Trajectories` into `(batch, time, dim)`,
  [`first_trajectory`][] takes its first trajectory `(time, dim)`.
- [`Standardization`][] / [`standardize`][]: per-channel z-scoring that can be inverted.
- [`split_time`][], [`split_trajectories`][]: train/test splits.
- [`sample_windows`][], [`WindowSampler`][], [`sample_window_indices`][]: random windows
  for sequence training; [`iterate_batches`][]: fixed-shape mini-batches of whole
  trajectories. The samplers of the training core, called as `sampler(step, key)` by
  [`dynsys.training.fit`][]: [`WindowSampler`][] (windows), [`SeriesSampler`][] (whole
  series with their time grids and masks, a [`SeriesBatch`][]), [`SnapshotSampler`][]
  (distinct (trajectory, time) snapshots) and [`TrialSampler`][] (distinct trials).
- [`SpikeData`][] / [`spike_data`][] / [`split_trials`][]: binned spike counts with
  held-out neurons, forward bins and a condition-stratified trial split;
  [`lorenz_spikes`][]: LFADS-style Lorenz-driven Poisson population with true rates.
- [`benchmark`][] (DSR protocol: Lorenz-63, Rössler, Lorenz-96 or any system) and
  [`generate`][]: data sets simulated deterministically from a seed.
- [`autocorrelation_time`][]: a series' time scale in samples (mean autocorrelation < 1/e).
"""

from ._benchmarks import Benchmark as Benchmark
from ._benchmarks import benchmark as benchmark
from ._benchmarks import benchmark_names as benchmark_names
from ._benchmarks import generate as generate
from ._lorenz_spikes import lorenz_spikes as lorenz_spikes
from ._samplers import Batch as Batch
from ._samplers import WindowSampler as WindowSampler
from ._samplers import iterate_batches as iterate_batches
from ._samplers import sample_window_indices as sample_window_indices
from ._samplers import sample_windows as sample_windows
from ._series_sampler import SeriesBatch as SeriesBatch
from ._series_sampler import SeriesSampler as SeriesSampler
from ._snapshot_sampler import SnapshotSampler as SnapshotSampler
from ._spike_splits import SpikeData as SpikeData
from ._spike_splits import spike_data as spike_data
from ._spike_splits import split_trials as split_trials
from ._split import split_time as split_time
from ._split import split_trajectories as split_trajectories
from ._standardize import Standardization as Standardization
from ._standardize import standardize as standardize
from ._time_scales import autocorrelation_time as autocorrelation_time
from ._trajectories import Trajectories as Trajectories
from ._trajectories import batched_states as batched_states
from ._trajectories import first_trajectory as first_trajectory
from ._trial_sampler import TrialSampler as TrialSampler

__all__ = [
    "Benchmark",
    "benchmark",
    "benchmark_names",
    "generate",
    "lorenz_spikes",
    "Batch",
    "WindowSampler",
    "iterate_batches",
    "sample_window_indices",
    "sample_windows",
    "SeriesBatch",
    "SeriesSampler",
    "SnapshotSampler",
    "SpikeData",
    "spike_data",
    "split_trials",
    "split_time",
    "split_trajectories",
    "Standardization",
    "standardize",
    "autocorrelation_time",
    "TrialSampler",
    "Trajectories",
    "batched_states",
    "first_trajectory",
]
