"""Phase-space pictures of one or more trajectories."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def plot_attractors(
    trajectories: Mapping[str, object],
    *,
    title: str | None = None,
    max_points: int = 20_000,
    axis_labels: tuple[str, str, str] = ("x", "y", "z"),
):
    """Draw trajectories side by side in 3-D (first three coordinates), one panel each.

    **Arguments:**

    - `trajectories`: `{panel title: array (time, dim)}` with dim ≥ 3 (dim 2 is drawn in 2-D).
    - `title`: figure title.
    - `max_points`: draw at most this many points per trajectory (evenly thinned).
    - `axis_labels`: names of the three axes.

    **Returns:** the matplotlib `Figure` (not shown; save it or display it yourself).
    """
    import matplotlib.pyplot as plt

    if not isinstance(trajectories, Mapping) or len(trajectories) == 0:
        raise ValueError("`trajectories` must be a non-empty mapping {title: (time, dim) array}.")
    n = len(trajectories)
    fig = plt.figure(figsize=(4.5 * n, 4.2))
    for i, (name, traj) in enumerate(trajectories.items()):
        x = np.asarray(traj)
        if x.ndim != 2 or x.shape[1] < 2:
            raise ValueError(
                f"`trajectories[{name!r}]` must be (time, dim) with dim >= 2, got {x.shape}."
            )
        x = x[:: max(1, x.shape[0] // max_points)]
        if x.shape[1] >= 3:
            ax = fig.add_subplot(1, n, i + 1, projection="3d")
            ax.plot(x[:, 0], x[:, 1], x[:, 2], lw=0.3)
            ax.set_zlabel(axis_labels[2])
        else:
            ax = fig.add_subplot(1, n, i + 1)
            ax.plot(x[:, 0], x[:, 1], lw=0.3)
        ax.set_xlabel(axis_labels[0])
        ax.set_ylabel(axis_labels[1])
        ax.set_title(str(name))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
