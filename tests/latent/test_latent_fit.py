"""`latent.fit` on the training core: a given optimizer, checkpoint and resume, divergence."""

import equinox as eqx
import jax
import numpy as np
import optax
import pytest

from dynsys import data, latent, training


@pytest.fixture(scope="module")
def tiny():
    ds = data.lorenz_spikes(n_conditions=4, n_trials=3, n_neurons=6, n_bins=8, n_heldout=2,
                            n_forward=2, substeps=1, seed=0)  # fmt: skip
    model = latent.GRUAutoencoder(len(ds.heldin), ds.n_neurons, ds.n_forward, encoder_dim=4,
                                  generator_dim=4, factor_dim=2, key=jax.random.key(0))  # fmt: skip
    return ds, model


def _leaves(model):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))]


def test_a_given_optimizer_is_used(tiny):
    ds, model = tiny
    # Zero steps of plain SGD: the parameters stay the same bit for bit (AdamW would move
    # them), while the loss and its KL ramp are still recorded.
    result = latent.fit(model, ds, key=jax.random.key(1), n_steps=2, batch_size=4,
                        optimizer=optax.sgd(0.0), kl_ramp_steps=2, eval_every=1,
                        progress=False)  # fmt: skip
    for a, b in zip(_leaves(model), _leaves(result.model), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(result.history["beta"], [0.0, 0.5], rtol=0, atol=0)
    nll = result.eval_history["eval_nll"]
    assert nll.shape == (2,) and nll[0] == nll[1] and np.isfinite(nll[0])
    with pytest.raises(ValueError, match="learning_rate"):
        latent.fit(model, ds, key=jax.random.key(1), batch_size=4, optimizer=optax.sgd(0.1),
                   learning_rate=1e-2)  # fmt: skip


def test_checkpoint_and_resume_continue_bit_for_bit(tiny, tmp_path):
    ds, model = tiny
    # A constant learning rate and a fixed KL ramp, so that the stopped run (n_steps=2) is
    # the first half of the full one.
    kw = dict(key=jax.random.key(1), batch_size=4, kl_ramp_steps=3, progress=False)
    full = latent.fit(model, ds, n_steps=4, **kw)
    latent.fit(model, ds, n_steps=2, checkpoint=training.Checkpointing(tmp_path), **kw)
    resumed = latent.fit(model, ds, n_steps=4, **kw,
                         checkpoint=training.Checkpointing(tmp_path, resume=True))  # fmt: skip
    assert resumed.steps == 4
    for name in ("step", "loss", "nll", "kl", "beta"):
        np.testing.assert_array_equal(resumed.history[name], full.history[name])
    for a, b in zip(_leaves(full.model), _leaves(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_diverging_run_names_the_step_and_the_latent_hint(tiny):
    ds, model = tiny
    # Step 0 moves the parameters by 1e30 times the gradient; the loss of step 1 overflows.
    with pytest.raises(training.NonFiniteError, match="Latent-model remedies") as info:
        latent.fit(model, ds, key=jax.random.key(1), n_steps=4, batch_size=4,
                   optimizer=optax.sgd(1e30), gradient_clip=None, progress=False)  # fmt: skip
    assert info.value.step == 1
    assert "step 1" in str(info.value) and "loss" in info.value.quantity
    assert info.value.last_good_model is not None
