"""The divergence guard of training.fit: a loss that climbs far above its best stops the run."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dynsys import training
from dynsys.training._divergence import DIVERGED, DivergenceMonitor


def _loss(w, batch, key):
    x, y = batch
    return jnp.mean((x @ w - y) ** 2)


def _problem():
    x = jax.random.normal(jax.random.key(0), (64, 2))
    y = x @ jnp.array([1.0, -2.0])
    return training.JitSampler(lambda step, key, data: data, data=(x, y))


# sgd at 1.3 on this quadratic overshoots: the loss grows by about 2.7 per step and stays
# finite for about 90 steps, so only the divergence guard can stop it early.
_TOO_FAST = optax.sgd(1.3)


def _first_diverged(losses, factor=1e3, window=20):
    """The flagged step, computed plainly: running mean over up to `window` steps."""
    best = np.inf
    for s in range(len(losses)):
        mean = np.mean(losses[max(0, s + 1 - window) : s + 1])
        best = min(best, mean)
        if mean > best + (factor - 1) * abs(best):
            return s
    return None


def _fit(steps_per_call, **kwargs):
    return training.fit(jnp.zeros(2), _loss, _problem(), n_steps=60, key=jax.random.key(1),
                        progress=False, steps_per_call=steps_per_call, **kwargs)  # fmt: skip


def test_monitor_flags_the_first_step_whose_running_mean_exceeds_the_factor():
    rng = np.random.default_rng(0)
    losses = 1.0 + 0.3 * rng.standard_normal(200)  # noisy but flat: never flagged
    losses[150:] = 5e3
    m = DivergenceMonitor(1e3, 10)
    j, _ = m.update(0, losses)
    # the running mean over 10 steps passes 1000 x (best ~0.8) once 2 of them are 5e3
    assert j == 151
    assert float(m.best) < 1.0 and m.diverged_mean > 1e3 * float(m.best)
    # fed in chunks, the monitor flags the same step
    m2, offset, found = DivergenceMonitor(1e3, 10), 0, None
    for chunk in np.array_split(losses, 17):
        j2, _ = m2.update(offset, chunk)
        if j2 is not None:
            found = offset + j2
            break
        offset += len(chunk)
    assert found == 151 and float(m2.best) == pytest.approx(float(m.best), rel=1e-12)


def test_monitor_negative_losses_and_ensemble_members():
    # a negative log-likelihood: best -100, flagged once the mean passes -100 + 999 * 100
    nll = np.concatenate([np.linspace(10, -100, 50), np.full(30, 2e5)])
    j, _ = DivergenceMonitor(1e3, 5).update(0, nll)
    assert j is not None and 50 <= j < 53
    # per member: only member 1 diverges, and the flag names its step
    losses = np.ones((100, 3))
    losses[70:, 1] = 1e6
    m = DivergenceMonitor(1e3, 4)
    j, improved = m.update(0, losses)
    assert j == 70 and improved.shape == (3,)
    assert DivergenceMonitor(1e3, 4).update(0, np.ones((100, 3)))[0] is None


@pytest.mark.parametrize("steps_per_call", [1, None])
def test_fit_stops_a_diverging_run_with_the_step_and_the_history(steps_per_call):
    with pytest.raises(training.DivergenceError, match=r"diverged at step \d+") as info:
        _fit(steps_per_call, optimizer=_TOO_FAST)
    err = info.value
    assert isinstance(err, training.NonFiniteError)  # one except clause catches both
    assert f"diverged at step {err.step} " in str(err)
    assert err.step == _first_diverged(err.history) == len(err.history) - 1
    assert err.best_step == 0 and 3 <= err.step <= 12
    assert np.all(np.isfinite(err.history))
    assert err.history[-1] > 1e3 * err.history[0]
    # the model entering the window with the best loss: here the initial one
    np.testing.assert_array_equal(err.last_good_model, np.zeros(2))


def test_fit_rolls_back_a_diverged_run_the_same_way_on_both_paths():
    policy = training.RollbackOnNonfinite(lr_factor=0.3)
    host = _fit(1, optimizer=_TOO_FAST, on_nonfinite=policy)
    loop = _fit(None, optimizer=_TOO_FAST, on_nonfinite=policy)
    assert loop.steps_per_call > 1
    assert len(host.rollbacks) == 1 and host.rollbacks == loop.rollbacks
    flagged, quantity = host.rollbacks[0]
    assert quantity == DIVERGED
    np.testing.assert_array_equal(host.model, loop.model)
    np.testing.assert_allclose(host.model, [1.0, -2.0], atol=1e-4)
    # the undone steps 0..flagged are not in the history; training went on after them
    assert host.history["step"][0] == flagged + 1
    assert len(host.history["step"]) == 60 - flagged - 1


def test_fit_divergence_check_can_be_turned_off_and_is_validated():
    off = training.RaiseOnNonfinite(divergence_factor=None)
    result = training.fit(jnp.zeros(2), _loss, _problem(), n_steps=30, key=jax.random.key(1),
                          optimizer=_TOO_FAST, progress=False, on_nonfinite=off)  # fmt: skip
    assert result.history["loss"][-1] > 1e6  # ran to the end, as asked
    with pytest.raises(ValueError, match="`divergence_factor`"):
        training.RaiseOnNonfinite(divergence_factor=1.0)
    with pytest.raises(TypeError, match="`divergence_factor`"):
        training.RollbackOnNonfinite(divergence_factor="large")
    with pytest.raises(ValueError, match="`divergence_window`"):
        training.RaiseOnNonfinite(divergence_window=0)
