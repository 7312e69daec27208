"""Evaluation metrics shared by every model family (definitions in docs/metrics.md)."""
