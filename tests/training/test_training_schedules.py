"""Per-epoch exponential decay: the staircase values of the reconstruction protocol."""

import numpy as np
import pytest

from dynsys.training import exponential_decay_per_epoch


def test_staircase_values_reach_end_lr_after_n_epochs():
    start, end, epochs, spe = 1e-3, 1e-6, 3, 4
    schedule = exponential_decay_per_epoch(start, end, epochs, spe)
    gamma = (end / start) ** (1 / epochs)  # = 0.1
    steps = np.arange(20)
    expected = np.maximum(start * gamma ** (steps // spe), end)
    got = np.array([float(schedule(int(t))) for t in steps])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # Epoch e runs at start * gamma**e: constant within an epoch, and end_lr from epoch 3 on.
    np.testing.assert_allclose(got[[0, 3, 4, 7, 8, 11, 12, 19]], [1e-3, 1e-3, 1e-4, 1e-4, 1e-5,
                               1e-5, 1e-6, 1e-6], rtol=1e-6)  # fmt: skip


def test_constant_when_start_equals_end():
    schedule = exponential_decay_per_epoch(2e-3, 2e-3, 10, 5)
    np.testing.assert_allclose([float(schedule(t)) for t in (0, 7, 100)], 2e-3, rtol=1e-7)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((0.0, 1e-5, 10, 5), "start_lr"),
        ((1e-3, -1.0, 10, 5), "end_lr"),
        ((1e-3, 1e-5, 0, 5), "n_epochs"),
        ((1e-3, 1e-5, 10, 0), "steps_per_epoch"),
    ],
)
def test_rejects_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        exponential_decay_per_epoch(*args)
