"""Phase-space pictures of one or more trajectories."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validation import as_array, check_finite, check_int


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
    arrays = {}
    for name, traj in trajectories.items():
        what = f"trajectories[{name!r}]"
        x = as_array(traj, what)
        if x.ndim != 2 or x.shape[1] < 2 or x.shape[0] < 2:
            raise ValueError(
                f"`{what}` must be (time, dim) with time >= 2 and dim >= 2, got {x.shape}."
            )
        check_finite(x, what)
        arrays[name] = np.asarray(x)
    max_points = check_int(max_points, "max_points", minimum=1)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"`title` must be a string or None, got {type(title).__name__}.")
    if not (
        isinstance(axis_labels, tuple | list)
        and len(axis_labels) == 3
        and all(isinstance(a, str) for a in axis_labels)
    ):
        raise ValueError(f"`axis_labels` must be three strings, got {axis_labels!r}.")
    n = len(arrays)
    fig = plt.figure(figsize=(4.5 * n, 4.2))
    for i, (name, x) in enumerate(arrays.items()):
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
