"""Hand-built AL-RNNs with analytic fixed points and cycles, shared by the dsr tests."""

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

from dynsys.dsr import ALRNN


def hand_alrnn() -> ALRNN:
    """M=2, P=1 (unit 2 is ReLU), N=1:

        z1' = 0.5 z1 + relu(z2)
        z2' = 0.4 z2 − 2.4 relu(z2) + 1      (slope 0.4 for z2 ≤ 0, −2 for z2 > 0)

    By hand: region 0 (z2 ≤ 0) gives z* = (0, 5/3), virtual (z2 > 0), eigenvalues
    {0.5, 0.4}; region 1 gives z* = (2/3, 1/3), real, eigenvalues {0.5, −2} (unstable).
    The only 2-cycle: (28/27, −5/9) [region 0] -> (14/27, 7/9) [region 1] -> back, with
    Floquet matrix J1 J0 = [[0.25, 0.4], [0, −0.8]] (stable). z2 alone is a 1-D PL map
    whose two 3-region necklaces (001, 011) are both virtual, so there are no 3-cycles.
    """
    model = ALRNN(2, 1, 1, key=jax.random.key(0))
    params = (
        jnp.array([0.5, 0.4]),
        jnp.array([[0.0, 1.0], [0.0, -2.4]]),
        jnp.array([0.0, 1.0]),
    )
    return eqx.tree_at(lambda m: (m.A, m.W, m.h), model, params)


LOZI_A, LOZI_B = 1.7, 0.5


def lozi_alrnn() -> ALRNN:
    """The Lozi map x' = 1 − a|x| + y, y' = b x (a=1.7, b=0.5) as an AL-RNN, M=3, P=1.

    State (y, u, x) with u a linear copy of the ReLU unit x (|x| = 2 relu(x) − x):
    y' = b u, u' = x' = a·(own) + y − 2a relu(x) + 1. Since (u − x)' = a (u − x), every
    cycle has u = x, so the cycles are exactly those of the Lozi map; the fixed points are
    x* = 1/(1 + a − b) (x > 0) and 1/(1 − a − b) (x < 0), both real, with y* = b x*.
    """
    a, b = LOZI_A, LOZI_B
    model = ALRNN(3, 1, 1, key=jax.random.key(0))
    params = (
        jnp.array([0.0, a, a]),
        jnp.array([[0.0, b, 0.0], [1.0, 0.0, -2 * a], [1.0, 0.0, -2 * a]]),
        jnp.array([0.0, 1.0, 1.0]),
    )
    return eqx.tree_at(lambda m: (m.A, m.W, m.h), model, params)


@pytest.fixture
def hand_model() -> ALRNN:
    return hand_alrnn()


@pytest.fixture
def lozi_model() -> ALRNN:
    return lozi_alrnn()
