"""The progress bar of a run."""

from __future__ import annotations

import equinox as eqx


class Progress(eqx.Module):
    """Progress policy of [`dynsys.training.fit`][]: a tqdm bar with the loss and steps/s.

    `fit(..., progress=True)` is `Progress()`, `progress=False` is `Progress(enabled=False)`.

    **Fields:**

    - `enabled`: draw the bar.
    - `desc`: its label.
    """

    enabled: bool = eqx.field(static=True, default=True)
    desc: str = eqx.field(static=True, default="fit")

    def __check_init__(self):
        if not isinstance(self.enabled, bool):
            raise TypeError(
                f"`enabled` (fit's `progress`) must be True or False, got {self.enabled!r}."
            )

    def bar(self, total: int, initial: int):
        """A tqdm bar for `total` steps, starting at `initial`."""
        return progress_bar_class()(
            total=total,
            initial=initial,
            disable=not self.enabled,
            unit="step",
            dynamic_ncols=True,
            desc=self.desc,
        )


def as_progress(progress) -> Progress:
    """`True`/`False` or a `Progress` -> a `Progress`."""
    if isinstance(progress, Progress):
        return progress
    return Progress(enabled=progress)


def progress_bar_class():
    """tqdm's notebook bar where ipywidgets can draw it, else the plain text bar.

    `tqdm.auto` in a Jupyter kernel without ipywidgets warns at import ("IProgress not
    found") and falls back to text anyway, so the choice is made here, only when a bar is
    built, and importing dynsys never warns.
    """
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm
