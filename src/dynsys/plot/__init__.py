"""Figures with matplotlib; never required for computation."""

from ._attractor import plot_attractors as plot_attractors

__all__ = ["plot_attractors"]
