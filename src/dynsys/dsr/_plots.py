"""Figures for dynamical-systems reconstruction with PL RNNs (matplotlib; return the Figure).

Every function builds a new figure through `matplotlib.pyplot` (works with the Agg
backend, i.e. without a display) and returns it; close it with `plt.close(fig)` when done.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._abstract import AbstractPLRNN
from ._symbolic import Transitions, symbolic_code


def _trajectory(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2:
        raise ValueError(
            f"`{name}` must be a 2-D (time, dim) array with time >= 2, got {arr.shape}."
        )
    return arr


def _check_dims(dims: Sequence[int], n: int, name: str) -> tuple[int, ...]:
    dims = tuple(int(d) for d in dims)
    if len(dims) not in (2, 3) or any(not 0 <= d < n for d in dims):
        raise ValueError(
            f"`{name}` must list 2 or 3 distinct dimension indices in [0, {n}), got {dims}."
        )
    return dims


def _line(ax, data, dims, **kwargs):
    ax.plot(*(data[:, d] for d in dims), **kwargs)
    ax.set_xlabel(f"$x_{{{dims[0] + 1}}}$")
    ax.set_ylabel(f"$x_{{{dims[1] + 1}}}$")
    if len(dims) == 3:
        ax.set_zlabel(f"$x_{{{dims[2] + 1}}}$")


def plot_attractor(
    true: Any,
    generated: Any,
    *,
    dims: Sequence[int] = (0, 1, 2),
    labels: tuple[str, str] = ("true", "generated"),
    title: str | None = None,
):
    """True and generated attractors side by side, in 3-D (or 2-D for two `dims`).

    **Arguments:**

    - `true`, `generated`: trajectories `(time, dim)` (lengths may differ).
    - `dims`: the 2 or 3 dimensions to draw.
    - `labels`: panel titles.
    - `title`: optional figure title.

    **Returns:** a `matplotlib.figure.Figure` with two axes.

    ```python
    fig = plot_attractor(x_test, model.generate(x_test[0], len(x_test)))
    ```
    """
    import matplotlib.pyplot as plt

    true = _trajectory(true, "true")
    generated = _trajectory(generated, "generated")
    dims = _check_dims(dims, min(true.shape[1], generated.shape[1]), "dims")
    projection = "3d" if len(dims) == 3 else None
    fig = plt.figure(figsize=(10, 4.5))
    for i, (data, label, color) in enumerate(
        [(true, labels[0], "tab:blue"), (generated, labels[1], "tab:red")]
    ):
        ax = fig.add_subplot(1, 2, i + 1, projection=projection)
        _line(ax, data, dims, lw=0.4, color=color)
        ax.set_title(label)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_power_spectra(
    true: Any,
    generated: Any,
    *,
    smoothing: float = 20.0,
    dt: float = 1.0,
    max_frequency: float | None = None,
):
    """Smoothed power spectra of true and generated series, one panel per dimension.

    Spectra from [`dynsys.metrics.power_spectrum`][] (z-scored, |rfft|², Gaussian
    smoothing of `smoothing` bins, unit sum), drawn on a log scale against frequency
    k / (T·dt). When both series have the same shape, the title reports D_H
    ([`dynsys.metrics.power_spectrum_distance`][]).

    **Arguments:**

    - `true`, `generated`: trajectories `(time, dim)` with the same `dim`.
    - `smoothing`: Gaussian smoothing in frequency bins.
    - `dt`: sampling step, for the frequency axis.
    - `max_frequency`: optional upper limit of the frequency axis.

    **Returns:** a `matplotlib.figure.Figure` with `dim` axes.
    """
    import matplotlib.pyplot as plt

    from ..metrics import power_spectrum, power_spectrum_distance

    true = _trajectory(true, "true")
    generated = _trajectory(generated, "generated")
    if true.shape[1] != generated.shape[1]:
        raise ValueError(
            f"`true` and `generated` must have the same dim, got {true.shape[1]} and "
            f"{generated.shape[1]}."
        )
    n_dim = true.shape[1]
    fig, axes = plt.subplots(1, n_dim, figsize=(3.6 * n_dim, 3.2), squeeze=False)
    for data, label, color in [(true, "true", "tab:blue"), (generated, "generated", "tab:red")]:
        spectra = np.asarray(power_spectrum(data, smoothing=smoothing))
        freqs = np.arange(spectra.shape[0]) / (data.shape[0] * dt)
        for d, ax in enumerate(axes[0]):
            ax.semilogy(freqs, spectra[:, d], color=color, lw=1.0, label=label)
    for d, ax in enumerate(axes[0]):
        ax.set_xlabel("frequency")
        ax.set_ylabel("normalised power")
        ax.set_title(f"$x_{{{d + 1}}}$")
        if max_frequency is not None:
            ax.set_xlim(0, max_frequency)
    axes[0, 0].legend()
    if true.shape == generated.shape:
        d_h = float(power_spectrum_distance(true, generated, smoothing=smoothing))
        fig.suptitle(f"$D_H$ = {d_h:.3f}")
    fig.tight_layout()
    return fig


def plot_subregions(
    model: AbstractPLRNN,
    z_traj: Any,
    *,
    dims: Sequence[int] = (0, 1, 2),
    max_regions: int = 10,
):
    """A latent trajectory coloured by the linear subregion of each point.

    The `max_regions − 1` most visited subregions get their own colour; the rest share
    grey. Codes as in [`symbolic_code`][].

    **Arguments:**

    - `model`: the PL RNN that produced the trajectory.
    - `z_traj`: latent trajectory `(T, M)`, e.g. `model.generate_latent(z0, T)`.
    - `dims`: the 2 or 3 latent units to draw (the read-out units by default).
    - `max_regions`: the most colours in the legend.

    **Returns:** a `matplotlib.figure.Figure`.
    """
    import matplotlib.pyplot as plt

    z = _trajectory(z_traj, "z_traj")
    dims = _check_dims(dims, z.shape[1], "dims")
    codes = symbolic_code(model, z)
    regions, counts = np.unique(codes, return_counts=True)
    ranked = regions[np.argsort(-counts, kind="stable")]
    shown = ranked[: max(1, max_regions - 1)] if ranked.size > max_regions else ranked
    fig = plt.figure(figsize=(6, 5))
    ax = fig.add_subplot(1, 1, 1, projection="3d" if len(dims) == 3 else None)
    ax.plot(*(z[:, d] for d in dims), color="0.8", lw=0.3)
    cmap = plt.get_cmap("tab10" if shown.size <= 10 else "tab20")
    for i, code in enumerate(shown):
        sel = codes == code
        ax.scatter(*(z[sel, d] for d in dims), s=3, color=cmap(i % cmap.N), label=f"{code}")
    rest = ~np.isin(codes, shown)
    if np.any(rest):
        ax.scatter(*(z[rest, d] for d in dims), s=3, color="0.5", label="other")
    ax.set_xlabel(f"$z_{{{dims[0] + 1}}}$")
    ax.set_ylabel(f"$z_{{{dims[1] + 1}}}$")
    if len(dims) == 3:
        ax.set_zlabel(f"$z_{{{dims[2] + 1}}}$")
    ax.set_title(f"{regions.size} subregions visited")
    ax.legend(title="subregion", markerscale=3, fontsize="small")
    fig.tight_layout()
    return fig


def plot_transition_graph(
    transitions: Transitions | Any,
    *,
    regions: Sequence[Any] | None = None,
    min_probability: float = 0.01,
    show_self_loops: bool = False,
):
    """Subregion transition graph: nodes on a circle, arrows with width ∝ probability.

    Node area is proportional to the number of visits when counts are available. Regions
    never visited are left out.

    **Arguments:**

    - `transitions`: a [`Transitions`][] from [`transition_matrix`][], or a square
      probability matrix.
    - `regions`: node labels (default: the row index, i.e. the code).
    - `min_probability`: arrows below this probability are not drawn.
    - `show_self_loops`: mark self-transition probabilities next to the nodes.

    **Returns:** a `matplotlib.figure.Figure`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    if isinstance(transitions, Transitions):
        probs = np.asarray(transitions.probabilities, dtype=np.float64)
        visits = np.asarray(transitions.counts).sum(axis=1) + np.asarray(transitions.counts).sum(
            axis=0
        )
    else:
        probs = np.asarray(transitions, dtype=np.float64)
        visits = None
    if probs.ndim != 2 or probs.shape[0] != probs.shape[1]:
        raise ValueError(f"`transitions` must be a square matrix, got shape {probs.shape}.")
    n = probs.shape[0]
    labels = list(range(n)) if regions is None else list(regions)
    if len(labels) != n:
        raise ValueError(f"`regions` must have {n} labels, got {len(labels)}.")
    used = np.flatnonzero((probs.sum(axis=1) > 0) | (probs.sum(axis=0) > 0))
    if visits is not None:
        used = np.union1d(used, np.flatnonzero(visits > 0))
    angles = 2 * np.pi * np.arange(used.size) / max(used.size, 1)
    pos = {int(i): (np.cos(a), np.sin(a)) for i, a in zip(used, angles)}

    fig, ax = plt.subplots(figsize=(6, 6))
    if visits is not None and visits[used].max() > 0:
        sizes = 300 + 1500 * visits[used] / visits[used].max()
    else:
        sizes = np.full(used.size, 600.0)
    xy = np.array([pos[int(i)] for i in used]).reshape(-1, 2)
    ax.scatter(xy[:, 0], xy[:, 1], s=sizes, color="tab:blue", alpha=0.6, zorder=2)
    for i in used:
        x, y = pos[int(i)]
        ax.annotate(str(labels[i]), (x, y), ha="center", va="center", zorder=3)
        if show_self_loops and probs[i, i] >= min_probability:
            ax.annotate(f"{probs[i, i]:.2f}", (1.18 * x, 1.18 * y), ha="center", va="center",
                        fontsize="small", color="tab:red")  # fmt: skip
    for i in used:
        for j in used:
            if i == j or probs[i, j] < min_probability:
                continue
            arrow = FancyArrowPatch(
                pos[int(i)],
                pos[int(j)],
                arrowstyle="-|>",
                mutation_scale=12,
                lw=0.5 + 6.0 * probs[i, j],
                color="tab:red",
                alpha=0.7,
                connectionstyle="arc3,rad=0.15",
                shrinkA=14,
                shrinkB=14,
                zorder=1,
            )
            ax.add_patch(arrow)
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.set_xlabel("subregion transition graph (arrow width ∝ probability)")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{used.size} subregions")
    return fig
