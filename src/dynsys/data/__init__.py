"""Shared trajectory datasets: container, standardisation, splits, samplers, benchmarks."""
