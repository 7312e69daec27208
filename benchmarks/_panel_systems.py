"""Chaotic flows for the reconstruction panel that no dynsys setting was tuned on.

Every entry is a published system that is **not** a dynsys built-in (those are Lorenz-63,
Rössler, Lorenz-96, Duffing, Van der Pol, Lotka–Volterra, Thomas and Chua), with the
parameters, initial condition, integration step, dominant period, largest Lyapunov
exponent and citation of the `dysts` database (W. Gilpin, "Chaos as an interpretable
benchmark for forecasting and data-driven modelling", NeurIPS Datasets & Benchmarks 2021;
`dysts/data/chaotic_attractors.json`). The right-hand sides are typed here from the
published equations (cross-checked against `dysts/flows.py`) as JAX functions wrapped by
[`dynsys.systems.from_function`][].

Time scale: dysts' `dt` is its *integration* step (about period / 5000). The panel samples
each system at its own time scale the way dysts resamples its trajectories, 100 points per
dominant period (`sample_dt = period / 100`; Lorenz-63 would get 0.015, against the 0.01 of
the DSR literature).

`lyapunov` is λ₁ per unit time measured here (float64, `dynsys.metrics.lyapunov_spectrum`
on the flow, Tsit5 at rtol = atol = 1e-8, 50 000 intervals of `sample_dt` after a
transient, from the end of a 20 000-sample run; statistical error a few per cent; rerun
with `python benchmarks/_panel_systems.py`). `lyapunov_dysts` is dysts'
`maximum_lyapunov_estimated`, which for several systems disagrees with the first entry of
dysts' own `lyapunov_spectrum_estimated` (LuChen 0.33 vs 0.67, Hopfield 0.57 vs 0.08,
HindmarshRose 0.65 vs 0.26); the measured value agrees with at least one of the two for
every kept system (within 25 %: Chen, LuChen, Halvorsen, Aizawa, RabinovichFabrikant,
Dadras, SprottB, Rucklidge, Arneodo, HyperLorenz, LorenzStenflo, LorenzCoupled; 20 %
below dysts' spectrum for HindmarshRose; Hopfield matches the spectrum, 0.070 vs 0.077),
so the panel takes the measured value as the truth.

Kept: 14 systems, 10 in 3-D, 2 in 4-D (HyperLorenz, LorenzStenflo), 2 in 6-D
(LorenzCoupled, Hopfield). Checked and left out (`DROPPED`, with the reasons):
MacArthur (10-D; dysts' λ₁ is 10 times the measured one while its other exponents
agree), Nosé–Hoover (conservative on average: no attractor) and Hyper-Rössler (dysts'
exponents disagree with the measured ones; spiky data). Delay equations
(MackeyGlass, ...) are not ODE flows and were not considered.

    python benchmarks/_panel_systems.py             # the check table (a few minutes)
    python benchmarks/_panel_systems.py --small     # a quick look
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dynsys import data, systems
from dynsys.metrics import lyapunov_spectrum

PTS_PER_PERIOD = 100  # dysts' `make_trajectory(resample=True, pts_per_period=100)`


# ---- right-hand sides, from the published equations -------------------------------------


def chen(y, a, b, c):
    """Chen (1999): ẋ = a(y − x), ẏ = (c − a)x − xz + cy, ż = xy − bz."""
    x, v, z = y
    return jnp.stack([a * (v - x), (c - a) * x - x * z + c * v, x * v - b * z])


def lu_chen(y, a, b, c):
    """Lü & Chen (2002): ẋ = a(y − x), ẏ = −xz + cy, ż = xy − bz."""
    x, v, z = y
    return jnp.stack([a * (v - x), c * v - x * z, x * v - b * z])


def halvorsen(y, a, b):
    """Halvorsen (Sprott 2010): ẋ = −ax − b(y + z) − y², and cyclically in (x, y, z)."""
    x, v, z = y
    return jnp.stack(
        [
            -a * x - b * (v + z) - v**2,
            -a * v - b * (z + x) - z**2,
            -a * z - b * (x + v) - x**2,
        ]
    )


def aizawa(y, a, b, c, d, e, f):
    """Aizawa & Uezu (1982): ẋ = (z − b)x − dy, ẏ = dx + (z − b)y,
    ż = c + az − z³/3 − (x² + y²)(1 + ez) + f z x³."""
    x, v, z = y
    r2 = x**2 + v**2
    return jnp.stack(
        [
            (z - b) * x - d * v,
            d * x + (z - b) * v,
            c + a * z - z**3 / 3 - r2 * (1 + e * z) + f * z * x**3,
        ]
    )


def rabinovich_fabrikant(y, a, g):
    """Rabinovich & Fabrikant (1979): ẋ = y(z − 1 + x²) + γx, ẏ = x(3z + 1 − x²) + γy,
    ż = −2z(α + xy); α = `a`, γ = `g`."""
    x, v, z = y
    return jnp.stack(
        [v * (z - 1 + x**2) + g * x, x * (3 * z + 1 - x**2) + g * v, -2 * z * (a + x * v)]
    )


def dadras(y, c, e, o, p, r):
    """Dadras & Momeni (2009): ẋ = y − px + oyz, ẏ = ry − xz + z, ż = cxy − ez."""
    x, v, z = y
    return jnp.stack([v - p * x + o * v * z, r * v - x * z + z, c * x * v - e * z])


def hindmarsh_rose(y, a, b, c, d, s, tx, tz):
    """Hindmarsh–Rose neuron in the scaled form of Marhl & Perc (2005):
    τ_x ẋ = −τ_x x + y − ax³ + bx² + z, ẏ = −ax³ − (d − b)x² + z, τ_z ż = −sx − z + c."""
    x, v, z = y
    return jnp.stack(
        [
            -x + (v - a * x**3 + b * x**2 + z) / tx,
            -a * x**3 - (d - b) * x**2 + z,
            (-s * x - z + c) / tz,
        ]
    )


def sprott_b(y):
    """Sprott case B (1994): ẋ = yz, ẏ = x − y, ż = 1 − xy."""
    x, v, z = y
    return jnp.stack([v * z, x - v, 1 - x * v])


def rucklidge(y, a, b):
    """Rucklidge (1992), double convection: ẋ = −ax + by − yz, ẏ = x, ż = −z + y²."""
    x, v, z = y
    return jnp.stack([-a * x + b * v - v * z, x, v**2 - z])


def arneodo(y, a, b, c, d):
    """Arneodo, Coullet & Tresser (1980): ẋ = y, ẏ = z, ż = −ax − by − cz + dx³."""
    x, v, z = y
    return jnp.stack([v, z, -a * x - b * v - c * z + d * x**3])


def hyper_rossler(y, a, b, c, d):
    """Rössler (1979) hyperchaos: ẋ = −y − z, ẏ = x + ay + w, ż = b + xz, ẇ = −cz + dw."""
    x, v, z, w = y
    return jnp.stack([-v - z, x + a * v + w, b + x * z, d * w - c * z])


def nose_hoover(y, a):
    """Nosé–Hoover thermostatted oscillator (Sprott case A): ẋ = y, ẏ = −x + yz, ż = a − y²."""
    x, v, z = y
    return jnp.stack([v, v * z - x, a - v**2])


def hyper_lorenz(y, a, b, c, d):
    """Hyperchaotic Lorenz: ẋ = a(y − x) + w, ẏ = cx − y − xz, ż = xy − bz, ẇ = dw − xz."""
    x, v, z, w = y
    return jnp.stack([a * (v - x) + w, c * x - v - x * z, x * v - b * z, d * w - x * z])


def lorenz_stenflo(y, a, b, c, d):
    """Lorenz–Stenflo (1996), acoustic-gravity waves: ẋ = a(y − x) + dw,
    ẏ = cx − xz − y, ż = xy − bz, ẇ = −x − aw."""
    x, v, z, w = y
    return jnp.stack([a * (v - x) + d * w, c * x - x * z - v, x * v - b * z, -x - a * w])


def lorenz_coupled(y, beta, eps, rho1, rho2, sigma):
    """Two Lorenz-63 cells, the first (ρ₁) driving the second (ρ₂) through ε(x₁ − x₂)
    (dysts also lists a `rho` = 28 that its equations do not use; left out here)."""
    x1, v1, z1, x2, v2, z2 = y
    return jnp.stack(
        [
            sigma * (v1 - x1),
            rho1 * x1 - x1 * z1 - v1,
            x1 * v1 - beta * z1,
            sigma * (v2 - x2) + eps * (x1 - x2),
            rho2 * x2 - x2 * z2 - v2,
            x2 * v2 - beta * z2,
        ]
    )


def hopfield(y, beta, eps, k, tau):
    """Lewis & Glass (1992) neural network: ẋ = −x/τ + (1 + tanh(ε K x))/2 − β."""
    k = jnp.asarray(k, dtype=y.dtype)
    return -y / tau + 0.5 * (1 + jnp.tanh(eps * (k @ y))) - beta


def mac_arthur(y, c, d, k, m, r, s):
    """Huisman & Weissing (1999) plankton competition, 5 species n on 5 resources R:
    ṅ_i = n_i(μ_i − m), Ṙ_j = D(S_j − R_j) − Σ_i C_ji μ_i n_i,
    μ_i = min_j r R_j / (K_ji + R_j) (Liebig's law of the minimum); D = `d`."""
    n, res = y[:5], y[5:]
    k = jnp.asarray(k, dtype=y.dtype)
    c = jnp.asarray(c, dtype=y.dtype)
    s = jnp.asarray(s, dtype=y.dtype)
    mu = jnp.min(r * res[:, None] / (k + res[:, None]), axis=0)
    return jnp.concatenate([n * (mu - m), d * (s - res) - c @ (mu * n)])


# ---- the table ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PanelSystem:
    """One system of the panel: equations, dysts metadata and the measured λ₁.

    `system` is the [`dynsys.systems.FunctionFlow`][] (its `dt` is `sample_dt`, its
    `default_y0` dysts' initial condition); `dysts_dt` is dysts' integration step,
    `period` its dominant period, `lyapunov_dysts` its published λ_max per unit time,
    `lyapunov` the λ₁ measured here (module docstring).
    """

    name: str
    rhs: Callable
    parameters: dict
    initial_condition: tuple
    dysts_dt: float
    period: float
    lyapunov_dysts: float
    lyapunov: float
    citation: str

    @property
    def dim(self) -> int:
        """State dimension."""
        return len(self.initial_condition)

    @property
    def sample_dt(self) -> float:
        """The panel's sampling step, period / 100."""
        return self.period / PTS_PER_PERIOD

    @property
    def system(self) -> Any:
        """The flow, built with `dynsys.systems.from_function`."""
        rhs, params = self.rhs, self.parameters
        return systems.from_function(
            lambda t, y: rhs(y, **params),
            dim=self.dim,
            y0=self.initial_condition,
            dt=self.sample_dt,
            name=self.name.lower(),
        )


def _entry(name, rhs, parameters, ic, dysts_dt, period, lyapunov_dysts, lyapunov, citation):
    return PanelSystem(
        name, rhs, parameters, tuple(ic), dysts_dt, period, lyapunov_dysts, lyapunov, citation
    )


# Numbers from dysts/data/chaotic_attractors.json (dt, period and λ_max rounded to 4
# significant digits); `lyapunov` measured by `main()` below.
PANEL: dict[str, PanelSystem] = {
    e.name: e
    for e in [
        _entry("Chen", chen, {"a": 35.0, "b": 3.0, "c": 28.0},
               (3.2689697, 5.2990458, 19.435349), 1.174e-4, 0.58689, 2.006, 2.056,
               "Chen (1997). Proc. First Int. Conf. Control of Oscillations and Chaos."),
        _entry("LuChen", lu_chen, {"a": 36.0, "b": 3.0, "c": 18.0},
               (10.956479, 9.8813092, 22.676714), 4.678e-4, 2.3385, 0.3267, 0.300,
               "Lu, Chen. Int J Bifurcat Chaos. 2002: 659-661."),
        _entry("Halvorsen", halvorsen, {"a": 1.4, "b": 4.0},
               (-8.6807408, -2.4741399, 0.070775762), 2.978e-4, 1.4889, 0.6964, 0.640,
               "Sprott, Julien C (2010). Elegant chaos: algebraically simple chaotic flows. "
               "World Scientific, 2010."),
        _entry("Aizawa", aizawa, {"a": 0.95, "b": 0.7, "c": 0.6, "d": 3.5, "e": 0.25, "f": 0.1},
               (-0.78450179, -0.62887672, -0.17620268), 5.168e-4, 2.5837, 0.1349, 0.098,
               "Aizawa, Yoji, and Tatsuya Uezu (1982). Topological Aspects in Chaos and in "
               "2 k-Period Doubling Cascade. Progress of Theoretical Physics 67.3 (1982): "
               "982-985. See also Langford (1984). Numerical studies of torus bifurcations. "
               "Numerical Methods for Bifurcation Problems. Birkhauser, Basel, 1984. 285-295."),
        _entry("RabinovichFabrikant", rabinovich_fabrikant, {"a": 1.1, "g": 0.87},
               (-1.8207276, 0.83440917, 0.2078248), 4.672e-4, 2.3356, 0.2541, 0.194,
               "Rabinovich, Mikhail I.; Fabrikant, A. L. (1979). Stochastic Self-Modulation of "
               "Waves in Nonequilibrium Media. Sov. Phys. JETP."),
        _entry("Dadras", dadras, {"c": 2.0, "e": 9.0, "o": 2.7, "p": 3.0, "r": 1.7},
               (1.0284085, -3.5348655, -0.72081646), 6.578e-4, 3.2886, 0.4059, 0.386,
               "S Dadras, HR Momeni (2009). A novel three-dimensional autonomous chaotic system "
               "generating two, three and four-scroll attractors. Physics Letters A."),
        _entry("HindmarshRose", hindmarsh_rose,
               {"a": 0.49, "b": 1.0, "c": 0.0322, "d": 1.0, "s": 1.0, "tx": 0.03, "tz": 0.8},
               (0.031111835, -0.021557059, 0.041475046), 3.505e-4, 1.752, 0.6535, 0.213,
               "Marhl, Perc. Chaos, Solitons, Fractals 2005."),
        _entry("SprottB", sprott_b, {}, (1.6878282, 1.4848132, -0.53706628),
               2.210e-3, 11.050142857142857, 0.2067, 0.211,
               "Sprott (1994). Some simple chaotic flows. Physical Review E (1994)."),
        _entry("Rucklidge", rucklidge, {"a": 2.0, "b": 6.7},
               (1.9257158, 3.1923835, 5.7829655), 1.215e-3, 6.0721, 0.1936, 0.194,
               "Rucklidge, A.M. (1992). Chaos in models of double convection. Journal of Fluid "
               "Mechanics."),
        _entry("Arneodo", arneodo, {"a": -5.5, "b": 4.5, "c": 1.0, "d": -1.0},
               (-2.7515698, 0.19079818, 3.4703629), 6.329e-4, 3.1641, 0.2374, 0.201,
               "Arneodo, A., Coullet, P. & Tresser, C. Occurence of strange attractors in "
               "three-dimensional Volterra equations. Physics Letters A 79, 259--263 (1980)"),
        _entry("HyperLorenz", hyper_lorenz, {"a": 10.0, "b": 2.667, "c": 28.0, "d": 1.1},
               (-9.186073735061425, -0.6744570634419695, 16.440536886214517,
                -145.0243848950473), 2.556e-4, 1.277546730110058, 0.3289, 0.256,
               "Jürgen Meier (2003). Presentation of Attractors with Cinema."),
        _entry("LorenzStenflo", lorenz_stenflo, {"a": 2.0, "b": 0.7, "c": 26.0, "d": 1.5},
               (4.233438598886809, 9.08970605484108, 21.86662535600487, -1.4080695182833802),
               7.777e-4, 3.8877142857142855, 0.3808, 0.381,
               "Letellier & Rossler (2007). Hyperchaos. Scholarpedia 2.8 (2007): 1936."),
        _entry("LorenzCoupled", lorenz_coupled,
               {"beta": 2.667, "eps": 2.85, "rho1": 35.0, "rho2": 1.15, "sigma": 10.0},
               (7.0921483, 10.117408, 25.708428, 2.1689893, 0.96121877, 0.89550187),
               3.242e-4, 1.6207, 1.028, 1.049,
               "Lorenz, Edward N. Deterministic nonperiodic flow. Journal of the atmospheric "
               "sciences 20.2 (1963): 130-141."),
        _entry("Hopfield", hopfield,
               {"beta": 0.5, "eps": 10.0, "tau": 2.5,
                "k": ((0, -1, 0, 0, -1, -1), (0, 0, 0, -1, -1, -1), (-1, -1, 0, 0, -1, 0),
                      (-1, -1, -1, 0, 0, 0), (-1, -1, 0, -1, 0, 0), (0, -1, -1, -1, 0, 0))},
               (-0.67127393, -0.2420173, -0.055676628, 0.34697948, 0.45273118, 0.78389688),
               2.173e-3, 10.865, 0.5684, 0.070,
               "Lewis & Glass, Neur Comp (1992)"),
    ]
}  # fmt: skip

# Checked and left out (module docstring): entry and reason.
DROPPED: dict[str, tuple[PanelSystem, str]] = {
    "MacArthur": (
        _entry("MacArthur", mac_arthur,
               {"c": ((0.04, 0.04, 0.07, 0.04, 0.04), (0.08, 0.08, 0.08, 0.10, 0.08),
                      (0.10, 0.10, 0.10, 0.10, 0.14), (0.05, 0.03, 0.03, 0.03, 0.03),
                      (0.07, 0.09, 0.07, 0.07, 0.07)),
                "d": 0.25,
                "k": ((0.39, 0.34, 0.30, 0.24, 0.23), (0.22, 0.39, 0.34, 0.30, 0.27),
                      (0.27, 0.22, 0.39, 0.34, 0.30), (0.30, 0.24, 0.22, 0.39, 0.34),
                      (0.34, 0.30, 0.22, 0.20, 0.39)),
                "m": 0.25, "r": 1.0, "s": (6.0, 10.0, 14.0, 4.0, 9.0)},
               (9.4323333, 18.838654, 34.37572, 15.08545, 42.228427, 0.17030505, 0.10144427,
                0.3148045, 0.21253581, 0.22598604), 8.683e-3, 43.406, 0.2495, 0.021,
               "MacArthur, R. 1969. Species packing, and what competition minimizes. PNAS "
               "64:1369. Parameter values taken from a model of phytoplankton in Huisman & "
               "Weissing. Nature 1999."),
        "dysts' λ₁ (0.25; 0.19 in its spectrum) is 10 times the 0.021 measured here, whose "
        "λ₂ ≈ 0 and λ₃ = −0.044 agree with dysts' spectrum (0.005, −0.043): the published "
        "λ₁ looks broken",
    ),
    "NoseHoover": (
        _entry("NoseHoover", nose_hoover, {"a": 1.5}, (-1.9758582, 0.24647527, 0.79024299),
               1.174e-3, 5.8673, 0.01046, 0.005,
               "Nose, S (1985). A unified formulation of the constant temperature "
               "molecular-dynamics methods. Journal of Chemical Physics (1984). Hoover, "
               "William G. Canonical dynamics: Equilibrium phase-space distributions. Phys. "
               "Rev. A. Hoover, William G., Anthony JC Ladd, and Bill Moran (1982). "
               "High-strain-rate plastic flow studied via nonequilibrium molecular dynamics. "
               "Physical Review Letters."),
        "conservative on average (a mixed phase space of chaos and invariant tori, λ₁ "
        "0.005 measured): no attractor, the test trajectory's character depends on its "
        "initial condition",
    ),
    "HyperRossler": (
        _entry("HyperRossler", hyper_rossler, {"a": 0.25, "b": 3.0, "c": 0.5, "d": 0.05},
               (-93.667697, 15.5078, 0.032086964, 43.792796), 2.232e-4, 1.1157476694793766,
               0.1719, 0.108, "Rossler, O. E. (1979). An equation for hyperchaos."),
        "dysts' λ₁ (0.17; 0.28 in its spectrum, next to −0.30 and −70) disagrees with the "
        "0.108 measured here (≈ 0.11 is the value usually quoted for these parameters), and "
        "its z-scored data spike to |z| ≈ "
        "18: the metadata look broken",
    ),
}  # fmt: skip


# ---- data ---------------------------------------------------------------------------------


class PanelData(NamedTuple):
    """Train, test and reference trajectories of one system, z-scored with the train stats."""

    train: data.Trajectories
    test: data.Trajectories
    reference: data.Trajectories


def transient_samples(entry: PanelSystem) -> int:
    """Samples discarded before recording: at least 1000 and 25 Lyapunov times, so that
    trajectories from nearby initial conditions are independent when recording starts."""
    lam = entry.lyapunov if math.isfinite(entry.lyapunov) else entry.lyapunov_dysts
    lam = max(lam, 1e-3)
    return max(1000, math.ceil(25.0 / (lam * entry.sample_dt)))


def panel_data(entry: PanelSystem, n_steps: int, *, seed: int = 0) -> PanelData:
    """Simulate `entry` at its own time scale: z-scored train, test and reference.

    Three trajectories from independent initial conditions (dysts' initial condition plus
    a kick of 1e-3 × its largest entry, which the transient amplifies beyond the attractor's
    size), each integrated in float64 by `dynsys.data.benchmark` (Dopri8, rtol = atol =
    1e-10) for `transient_samples(entry) + n_steps` samples of `sample_dt`, transient cut,
    all three z-scored with the mean and std of the training trajectory; no noise.

    **Arguments:** `entry`, a [`PanelSystem`][]; `n_steps`, samples per trajectory
    (100 000 in the panel; fewer for a quick run); `seed`, the initial-condition seed
    (the reference uses `seed + 1`).

    **Returns:** [`PanelData`][]`(train, test, reference)`, each `(1, n_steps, dim)`.
    """
    system = entry.system
    scale = 1e-3 * max(abs(v) for v in entry.initial_condition)
    transient = transient_samples(entry)
    bench = data.benchmark(
        system, n_steps=n_steps, seed=seed, noise=0.0, transient=transient, y0_scale=scale
    )
    other = data.benchmark(
        system, n_steps=n_steps, seed=seed + 1, noise=0.0, transient=transient, y0_scale=scale
    ).test
    stats = data.Standardization.from_metadata(bench.train)
    raw = data.Standardization.from_metadata(other).invert(other)
    return PanelData(bench.train, bench.test, stats.apply(raw))


# ---- the check ------------------------------------------------------------------------------


def check(entry: PanelSystem, n_steps: int, n_lyapunov: int) -> dict:
    """Simulate, test boundedness, and measure λ₁ (float64); a row of the check table."""
    with jax.enable_x64(True):
        system = entry.system
        transient = transient_samples(entry)
        ts = jnp.arange(transient + n_steps, dtype=jnp.float64) * entry.sample_dt
        t0 = time.perf_counter()
        ys = np.asarray(
            __import__("dynsys").simulate(system, jnp.asarray(entry.initial_condition), ts)
        )[transient:]
        t_sim = time.perf_counter() - t0
        finite = bool(np.all(np.isfinite(ys)))
        z = (ys - ys.mean(0)) / np.where(ys.std(0) > 0, ys.std(0), 1.0)
        late = z[-n_steps // 10 :]
        bounded = finite and float(np.abs(z).max()) < 20.0
        # Still moving at the end (not settled on a fixed point).
        alive = finite and float(late.std(0).min()) > 0.05
        t0 = time.perf_counter()
        lam = float("nan")
        if finite:
            spectrum = lyapunov_spectrum(
                system,
                jnp.asarray(ys[-1]),
                n_steps=n_lyapunov,
                transient=1000,
                dt=entry.sample_dt,
                n_exponents=1,
            )
            lam = float(spectrum.exponents[0])
        t_lyap = time.perf_counter() - t0
    return {
        "name": entry.name,
        "dim": entry.dim,
        "dysts_dt": entry.dysts_dt,
        "sample_dt": entry.sample_dt,
        "lambda": lam,
        "lambda_table": entry.lyapunov,
        "lambda_dysts": entry.lyapunov_dysts,
        "finite": finite,
        "bounded": bounded,
        "alive": alive,
        "max_abs_z": float(np.abs(z).max()) if finite else float("nan"),
        "time_s": t_sim + t_lyap,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="+", default=[*PANEL, *DROPPED])
    parser.add_argument("--small", action="store_true", help="short runs, a quick look")
    args = parser.parse_args()
    n_steps, n_lyapunov = (2000, 2000) if args.small else (20_000, 50_000)
    print(
        "| system | dim | dysts dt | sample dt | λ₁ measured | λ₁ in table | λ₁ dysts "
        "| finite / bounded / moving | max abs z | time |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.systems:
        r = check(PANEL[name] if name in PANEL else DROPPED[name][0], n_steps, n_lyapunov)
        print(
            f"| {r['name']} | {r['dim']} | {r['dysts_dt']:.3g} | {r['sample_dt']:.4g} "
            f"| {r['lambda']:.3f} | {r['lambda_table']:.3f} | {r['lambda_dysts']:.3f} "
            f"| {r['finite']} / {r['bounded']} / {r['alive']} | {r['max_abs_z']:.1f} "
            f"| {r['time_s']:.0f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
