"""Learning-rate schedules used by the model families, as optax schedules."""

from __future__ import annotations

import optax

from .._validation import check_int, check_positive


def exponential_decay_per_epoch(
    start_lr: float, end_lr: float, n_epochs: int, steps_per_epoch: int
) -> optax.Schedule:
    """Per-epoch (staircase) exponential decay of the learning rate from `start_lr` to `end_lr`.

    The protocol of the PLRNN/AL-RNN reconstruction codes (Flux `ExpDecay`, PyTorch
    `ExponentialLR` stepped once per epoch): the rate is multiplied by
    γ = (end_lr / start_lr)^(1 / n_epochs) once every `steps_per_epoch` optimiser steps,

        lr(t) = max(start_lr · γ^⌊t / steps_per_epoch⌋, end_lr)   (t = 0, 1, ... the step count),

    so epoch e (0-based) runs at start_lr · γ^e and the rate reaches `end_lr` after
    `n_epochs` epochs and stays there. (Flux decays one step earlier, at the last step of each
    epoch instead of the first step of the next; the difference is one step per epoch.)

    **Arguments:**

    - `start_lr`: learning rate of the first epoch, > 0.
    - `end_lr`: learning rate reached after `n_epochs` epochs, > 0 (a floor for t beyond).
    - `n_epochs`: number of epochs over which to decay, >= 1.
    - `steps_per_epoch`: optimiser steps (batches) per epoch, >= 1.

    **Returns:**

    An optax schedule `count -> learning rate`, e.g. for `optax.radam(learning_rate=...)`.

    **Example:**

    ```python
    schedule = exponential_decay_per_epoch(1e-3, 1e-6, n_epochs=5000, steps_per_epoch=50)
    optimizer = optax.radam(schedule)
    ```
    """
    check_positive(start_lr, "start_lr")
    check_positive(end_lr, "end_lr")
    n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
    steps_per_epoch = check_int(steps_per_epoch, "steps_per_epoch", minimum=1)
    gamma = (float(end_lr) / float(start_lr)) ** (1.0 / n_epochs)
    return optax.exponential_decay(
        init_value=float(start_lr),
        transition_steps=steps_per_epoch,
        decay_rate=gamma,
        staircase=True,
        end_value=float(end_lr),
    )
