"""Delay embedding, Hankel DMD and HAVOK (Lorenz-63 forcing at lobe switches)."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import signal
from scipy.integrate import solve_ivp

from dynsys.koopman import HAVOK, HankelDMD, delay_embed, delay_unembed


@pytest.fixture(scope="module")
def lorenz_x():
    def rhs(t, s):
        x, y, z = s
        return [10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z]

    dt = 0.002
    t = np.arange(0, 80, dt)
    sol = solve_ivp(rhs, (0, 80), [-8, 8, 27], t_eval=t, rtol=1e-10, atol=1e-10, method="DOP853")
    return sol.y[0], dt


def test_delay_embedding_round_trip():
    ys = np.arange(24.0).reshape(12, 2)
    h = delay_embed(ys, 4, lag=2)
    assert h.shape == (12 - 6, 8)
    np.testing.assert_array_equal(np.asarray(h[1]), np.concatenate([ys[1], ys[3], ys[5], ys[7]]))
    np.testing.assert_array_equal(np.asarray(delay_unembed(h, 4, 2, 2)), ys)
    with pytest.raises(ValueError, match="spans 13 samples"):
        delay_embed(ys, 7, lag=2)


def test_hankel_dmd_resolves_frequencies_of_a_scalar_series():
    dt = 0.05
    t = np.arange(300) * dt
    ys = (np.sin(2.0 * t) + 0.5 * np.cos(3.5 * t) * np.exp(-0.05 * t))[:, None]
    res = HankelDMD(rank=4, delays=12).fit(ys, dt=dt)
    np.testing.assert_allclose(
        np.sort(np.abs(np.asarray(res.continuous_eigenvalues).imag)),
        [2.0, 2.0, 3.5, 3.5],
        atol=1e-8,
    )
    np.testing.assert_allclose(np.asarray(res.reconstruct()), ys, atol=1e-8)
    t_next = np.arange(300, 340) * dt
    true = (np.sin(2.0 * t_next) + 0.5 * np.cos(3.5 * t_next) * np.exp(-0.05 * t_next))[:, None]
    np.testing.assert_allclose(np.asarray(res.forecast(40)), true, atol=1e-7)
    np.testing.assert_allclose(np.asarray(res.forecast_from(ys[-12:], 40)), true, atol=1e-7)
    with pytest.raises(ValueError, match="delays"):
        HankelDMD(rank=2, delays=300).fit(ys, dt=dt)


def test_havok_simulation_matches_scipy_lsim(lorenz_x):
    x, dt = lorenz_x
    res = HAVOK(rank=15, delays=50).fit(x[:20000], dt=dt)
    assert res.a.shape == (14, 14) and res.b.shape == (14, 1)
    n = 3000
    sys = signal.StateSpace(np.asarray(res.a), np.asarray(res.b), np.eye(14), np.zeros((14, 1)))
    t = np.arange(n) * dt
    _, _, ref = signal.lsim(
        sys, U=np.asarray(res.forcing[:n]), T=t, X0=np.asarray(res.linear_coordinates[0])
    )
    ours = np.asarray(res.simulate(res.forcing[:n]))
    np.testing.assert_allclose(ours, ref, atol=1e-9 * np.max(np.abs(ref)))


def test_havok_forcing_is_large_exactly_at_lobe_switches(lorenz_x):
    x, dt = lorenz_x
    res = HAVOK(rank=15, delays=50).fit(x, dt=dt)
    u = np.abs(np.asarray(res.forcing[:, 0]))
    thr = float(res.forcing_threshold(0.05))
    active = np.asarray(res.active_forcing(thr))
    switches = np.where(np.diff(np.sign(x)) != 0)[0]
    switches = switches[switches < len(u)]
    # HAVOK's forcing bursts as the trajectory nears the saddle: in the approach to a lobe
    # switch and just after it. Mark window indices from 0.4 time units before to 0.2 after
    # each crossing of x = 0. These windows must stay a minority of the time for the claims
    # below to mean something; how large a minority depends on how often this integration
    # switches lobes, which moves with the integrator's version (the orbit only shadows the
    # true one after t ≈ 20: 0.30 of the time with older SciPy, 0.37 with SciPy 1.17).
    near = np.zeros(len(u), bool)
    for s in switches:
        near[max(s - int(0.4 / dt), 0) : s + int(0.2 / dt)] = True
    assert near.mean() < 0.4
    # The strongest bursts (three times the 95 % threshold) all lie there, nearly all samples
    # above twice the threshold do, and the forcing is active there far more often.
    assert np.sum(u > 3 * thr) >= 5 and np.all(near[u > 3 * thr])
    assert near[u > 2 * thr].mean() > 0.95
    assert active[near].mean() > 3 * active[~near].mean()
    assert len(switches) > 20


def test_havok_reconstructs_lorenz_and_validates_input(lorenz_x):
    x, dt = lorenz_x
    res = HAVOK(rank=11, delays=50).fit(x[:30000], dt=dt)
    rec = np.asarray(res.reconstruct())[:, 0]
    err = np.linalg.norm(rec[:5000] - x[:5000]) / np.linalg.norm(x[:5000])
    assert err < 0.2
    with pytest.raises(ValueError, match="delays"):
        HAVOK(rank=5, delays=200).fit(x[:150], dt=dt)
    with pytest.raises(ValueError, match="rank >= num_chaos"):
        HAVOK(rank=1, delays=10).fit(x[:1000], dt=dt)
    bad = x[:1000].copy()
    bad[10] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        HAVOK(rank=5, delays=10).fit(bad, dt=dt)
    with pytest.raises(ValueError, match="forcing"):
        res.simulate(jnp.zeros((10, 2)))
