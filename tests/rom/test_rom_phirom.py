"""Φ-ROM and DINo: latent velocity target, inversion, end-to-end training on tiny Burgers."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dynsys import pde, rom, training
from dynsys.metrics import relative_l2_error


class LinearDecoder(eqx.Module):
    """D(x, α) = Φ(x) α with fixed features: J = Φ, so α̇* is known in closed form."""

    latent_dim: int = 3
    num_channels: int = 1
    coord_dim: int = 1

    def __call__(self, coords, alpha):
        x = coords[:, 0]
        phi = jnp.stack([jnp.ones_like(x), jnp.sin(x), jnp.cos(2 * x)], axis=1)
        return (phi @ alpha)[:, None]


def test_latent_velocity_target_is_exact_for_a_linear_decoder():
    x = jnp.linspace(0, 6, 50)[:, None]
    dec = LinearDecoder()
    v = jnp.asarray([0.3, -1.2, 0.7])
    r = dec(x, v)  # du/dt in the decoder's range
    target = rom.latent_velocity_target(dec, jnp.zeros(3), x, r, jax.random.key(0), 5)
    np.testing.assert_allclose(np.asarray(target), np.asarray(v), rtol=1e-10)
    a = jax.random.normal(jax.random.key(1), (20, 4))
    b = jax.random.normal(jax.random.key(2), (20,))
    np.testing.assert_allclose(np.asarray(rom.lstsq_qr(a, b)),
                               np.linalg.lstsq(np.asarray(a), np.asarray(b), rcond=None)[0],
                               rtol=1e-10)  # fmt: skip


def test_inversion_recovers_a_decodable_field_and_mesh_free_decoding():
    key_d, key_p, key_a = jax.random.split(jax.random.key(0), 3)
    dec = rom.HyperDecoder(1, 3, 1, width=16, depth=2, coord_bounds=(0.0, 1.0), key=key_d)
    model = rom.PhiROM(dec, rom.LatentDynamics(3, key=key_p, width=8, depth=1), dt=0.1)
    x = jnp.linspace(0, 1, 40)[:, None]
    alpha = 0.5 * jax.random.normal(key_a, (3,))
    u = model.decode(alpha, x)
    est = model.invert(u, x, n_iter=300, learning_rate=0.05)
    err = jnp.linalg.norm(model.decode(est, x) - u) / jnp.linalg.norm(u)
    assert float(err) < 1e-2
    assert model.decode(jnp.zeros((2, 5, 3)), jnp.linspace(0, 1, 7)[:, None]).shape == (2, 5, 7, 1)
    assert model.forecast(alpha, 4).shape == (5, 3)
    # forecast_fields starts each inversion at alpha_init: from the true latent, no step
    # can improve on it, so the forecast starts on the observed field.
    fields = jnp.moveaxis(u, 0, 1)[None]  # (batch, channels, points)
    pred = rom.forecast_fields(model, fields, 2, coords=x, alpha_init=alpha, n_iter=1,
                               learning_rate=1e-3)  # fmt: skip
    np.testing.assert_allclose(np.asarray(pred[0, 0]), np.asarray(fields[0]), atol=1e-12)
    with pytest.raises(ValueError, match="alpha_init"):
        rom.forecast_fields(model, fields, 2, coords=x, alpha_init=jnp.zeros(4))
    with pytest.raises(ValueError, match="alpha_init.*NaN"):
        rom.forecast_fields(model, fields, 2, coords=x, alpha_init=jnp.full(3, jnp.nan))
    with pytest.raises(ValueError, match="alpha_init"):
        model.invert(u, x, alpha_init=jnp.zeros((1, 3)))


class ToyBurgersStepper(eqx.Module):
    """A user stepper of the (u, μ) convention: the FD Burgers problem on 64 points."""

    dt: float = 0.07

    def __call__(self, u, mu):
        return pde.ParametricBurgers(num_points=64)(u, mu)


@pytest.fixture(scope="module")
def burgers_data():
    solver = pde.ParametricBurgers(num_points=64)
    mus = jnp.asarray([0.015, 0.03])
    data = pde.pde_trajectories(solver, jnp.ones((2, 1, 64)), 11, aux=mus)
    return solver, mus, data, jnp.asarray(solver.grid)[:, None]


def _model(cls, data, key):
    k1, k2 = jax.random.split(key)
    states = data.states
    # No output shift: the initial reconstruction error is O(1), so its drop is visible.
    dec = rom.MLPDecoder(1, 3, 1, width=16, depth=2, coord_bounds=(0.0, 100.0),
                         output_scale=float(states.mean()), key=k1)  # fmt: skip
    dyn = rom.LatentDynamics(3, 1, width=16, depth=2, param_bounds=(0.015, 0.03), key=k2)
    return cls(dec, dyn, dt=0.07)


def _forecast_errors(trained, data, x, mus, n_train_time=8):
    """Mean relative L2 error of `forecast_fields` over the training window, for the trained
    model and for the untrained one it started from (same initialisation as `_model`)."""
    untrained = _model(type(trained), data, jax.random.key(0))
    u0, truth = data.states[:, 0], data.states[:, :n_train_time]
    errors = []
    for model in (trained, untrained):
        pred = rom.forecast_fields(model, u0, n_train_time - 1, coords=x, params=mus, n_iter=50)
        errors.append(float(jnp.mean(relative_l2_error(truth, pred))))
    return tuple(errors)


@pytest.mark.parametrize("solver_kind", ["builtin", "user"])
def test_phirom_trains_end_to_end(burgers_data, solver_kind):
    solver, mus, data, x = burgers_data
    solver = solver if solver_kind == "builtin" else ToyBurgersStepper()
    res = rom.fit_phirom(_model(rom.PhiROM, data, jax.random.key(0)), data, solver, coords=x,
                         params=mus, n_train_time=8, n_steps=60, batch_size=8, warmup_steps=20,
                         gamma=0.1, key=jax.random.key(1))  # fmt: skip
    h = res.history
    assert res.latents.shape == (2, 8, 3)
    assert h["reconstruction"][-5:].mean() < 0.5 * h["reconstruction"][:5].mean()
    assert np.all(np.isfinite(h["dynamics"]))
    pred = rom.forecast_fields(res.model, data.states[:, 0], 11, coords=x, params=mus, n_iter=50)
    assert pred.shape == data.states.shape
    assert bool(jnp.all(jnp.isfinite(relative_l2_error(data.states, pred))))
    # What was learnt: inverting the initial fields and integrating ψ reproduces the training
    # window far better than the untrained model does (measured: 0.53 -> 0.02).
    trained, untrained = _forecast_errors(res.model, data, x, mus)
    assert trained < 0.25 * untrained, (trained, untrained)


def test_dino_trains_end_to_end(burgers_data):
    solver, mus, data, x = burgers_data
    res = rom.fit_dino(_model(rom.DINo, data, jax.random.key(0)), data, coords=x, params=mus,
                       n_train_time=8, n_steps=60, batch_size=8, warmup_steps=20,
                       key=jax.random.key(1))  # fmt: skip
    h = res.history
    assert isinstance(res.model, rom.DINo)
    assert h["reconstruction"][-5:].mean() < 0.5 * h["reconstruction"][:5].mean()
    trained, untrained = _forecast_errors(res.model, data, x, mus)
    assert trained < 0.25 * untrained, (trained, untrained)


def test_original_dino_latents_ignore_the_dynamics(burgers_data):
    """warmup_steps = n_steps (the original DINo): ψ never shapes the latents or decoder."""
    solver, mus, data, x = burgers_data
    base = _model(rom.DINo, data, jax.random.key(0))
    other_psi = eqx.tree_at(lambda m: m.dynamics, base,
                            _model(rom.DINo, data, jax.random.key(5)).dynamics)  # fmt: skip

    def latents(model, warmup):
        res = rom.fit_dino(model, data, coords=x, params=mus, n_train_time=8, n_steps=30,
                           batch_size=8, warmup_steps=warmup, key=jax.random.key(1))  # fmt: skip
        return np.asarray(res.latents)

    decoupled = latents(base, 30)
    np.testing.assert_array_equal(decoupled, latents(other_psi, 30))
    # With a warm-up of 10 steps the dynamics gradient reaches the latents afterwards.
    assert np.abs(latents(base, 10) - decoupled).max() > 1e-6


def test_bad_inputs(burgers_data):
    solver, mus, data, x = burgers_data
    model = _model(rom.PhiROM, data, jax.random.key(0))
    with pytest.raises(ValueError, match="gamma"):
        rom.fit_phirom(model, data, solver, coords=x, params=mus, gamma=0.02,
                       key=jax.random.key(0))  # fmt: skip
    with pytest.raises(ValueError, match="params"):
        rom.fit_phirom(model, data, solver, coords=x, key=jax.random.key(0))
    with pytest.raises(ValueError, match="coords"):
        rom.fit_phirom(model, data, solver, coords=x[:10], params=mus, key=jax.random.key(0))
    with pytest.raises(TypeError, match="DINo"):
        rom.fit_dino(model, data, coords=x, params=mus, key=jax.random.key(0))
    with pytest.raises(ValueError, match="NaN"):
        model.invert(jnp.full((64, 1), jnp.nan), x)
    with pytest.raises(ValueError, match="latent_dim"):
        rom.PhiROM(model.decoder, rom.LatentDynamics(5, key=jax.random.key(0)), dt=0.1)


def _tiny_fit(fit, data, x, mus, **kwargs):
    """A few steps of `fit` ("phirom" or "dino") on the Burgers fixture, no progress bar."""
    args = dict(coords=x, params=mus, n_train_time=6, batch_size=4, warmup_steps=2,
                progress=False, key=jax.random.key(1))  # fmt: skip
    args.update(kwargs)
    if fit == "phirom":
        solver = pde.ParametricBurgers(num_points=64)
        return rom.fit_phirom(_model(rom.PhiROM, data, jax.random.key(0)), data, solver,
                              gamma=0.1, **args)  # fmt: skip
    return rom.fit_dino(_model(rom.DINo, data, jax.random.key(0)), data,
                        teacher_forcing_steps=4, **args)  # fmt: skip


def test_a_given_optimizer_is_used(burgers_data):
    """optax.sgd(0.0) in place of the default Adam: the model and the latent memory stay put."""
    _, mus, data, x = burgers_data
    res = _tiny_fit("phirom", data, x, mus, n_steps=2, optimizer=optax.sgd(0.0))
    start = _model(rom.PhiROM, data, jax.random.key(0))
    for a, b in zip(jax.tree_util.tree_leaves(start), jax.tree_util.tree_leaves(res.model)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(res.latents), 0.0)
    assert np.all(np.isfinite(res.history["loss"])) and res.history["loss"].shape == (2,)


def test_checkpoint_and_resume_continue_bit_for_bit(burgers_data, tmp_path):
    """Φ-ROM stopped after 3 of 6 steps (past the warm-up, which follows the core's step
    index) and resumed from its checkpoint ends exactly where the uninterrupted run does."""
    _, mus, data, x = burgers_data
    full = _tiny_fit("phirom", data, x, mus, n_steps=6)
    first = _tiny_fit("phirom", data, x, mus, n_steps=3,
                      checkpoint=training.Checkpointing(tmp_path))  # fmt: skip
    assert (tmp_path / "last" / "meta.json").is_file()
    resumed = _tiny_fit("phirom", data, x, mus, n_steps=6,
                        checkpoint=training.Checkpointing(tmp_path, resume=True))  # fmt: skip
    assert first.history["loss"].shape == (3,)
    for key in ("step", "loss", "reconstruction", "dynamics"):
        np.testing.assert_array_equal(resumed.history[key], full.history[key])
    np.testing.assert_array_equal(np.asarray(resumed.latents), np.asarray(full.latents))
    for a, b in zip(
        jax.tree_util.tree_leaves(full.model), jax.tree_util.tree_leaves(resumed.model)
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_diverging_phirom_rolls_back_then_stops_with_step_and_hint(burgers_data):
    _, mus, data, x = burgers_data
    match = r"step \d+ .*after 3 rollback.*Φ-ROM remedies.*gamma"
    with pytest.raises(training.NonFiniteError, match=match) as info:
        _tiny_fit("phirom", data, x, mus, n_steps=8, optimizer=optax.sgd(1e200),
                  on_nonfinite="rollback")  # fmt: skip
    assert info.value.step == 4  # steps 1, 2, 3 were rolled back


def test_diverging_dino_stops_with_step_and_hint(burgers_data):
    _, mus, data, x = burgers_data
    with pytest.raises(training.NonFiniteError, match=r"step \d+ .*DINo remedies.*teacher"):
        _tiny_fit("dino", data, x, mus, n_steps=4, optimizer=optax.sgd(1e200))
