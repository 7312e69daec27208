"""The training core every model family calls: one fitting loop on optax and equinox."""
