"""Battery entries for the core of dynsys: simulate, systems, metrics, pde, data, testing,
training and plot (see `battery.py` for the format).

Every valid call is tiny (a few dozen samples, short horizons) so that the whole battery
compiles and runs in minutes. `EXCLUDED` lists the public names without an entry, with
the reason; `tests/reliability/test_bad_input.py` fails for a name in an `__all__` list
that is neither.
"""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax

import dynsys
from dynsys import data, metrics, pde, plot, systems, testing, training

from .battery import (
    Entry,
    array,
    choice,
    flag,
    function,
    instance,
    integer,
    key,
    positive,
    probability,
    real,
    scratch_path,
)

_RNG = np.random.default_rng(0)


def _normal(*shape):
    return _RNG.normal(size=shape)


def _uniform(*shape, low=0.5, high=1.5):
    return _RNG.uniform(low, high, size=shape)


_TS = np.linspace(0.0, 0.05, 6)
_SERIES = _normal(40, 2).cumsum(axis=0) * 0.1 + np.sin(np.arange(40) * 0.4)[:, None]
_KEY = jax.random.key(0)


# Names in the modules' `__all__` lists that have no entry, and why.
EXCLUDED: dict[str, str] = {
    # modules and model classes re-exported at the top level: the "models" entries
    # (entries_models.py) cover dynsys.dsr.ALRNN etc.; `systems` is a module.
    "dynsys.systems": "a module",
    "dynsys.ALRNN": "re-export of dynsys.dsr.ALRNN (entries_models.py)",
    "dynsys.PLRNN": "re-export of dynsys.dsr.PLRNN (entries_models.py)",
    "dynsys.ShallowPLRNN": "re-export of dynsys.dsr.ShallowPLRNN (entries_models.py)",
    # abstract bases: nothing to call
    "dynsys.systems.AbstractSystem": "abstract base",
    "dynsys.systems.AbstractFlow": "abstract base",
    "dynsys.systems.AbstractMap": "abstract base",
    "dynsys.metrics.AbstractScores": "abstract base",
    "dynsys.pde.AbstractStepper": "abstract base",
    "dynsys.pde.AbstractReactionDiffusion": "abstract base",
    "dynsys.pde.AbstractSpectralStepper": "abstract base",
    "dynsys.training.AbstractObjective": "abstract base",
    # functions without arguments
    "dynsys.systems.names": "no arguments",
    "dynsys.systems.dysts_names": "no arguments",
    "dynsys.systems.dysts_excluded": "no arguments",
    "dynsys.data.benchmark_names": "no arguments",
    # pure result containers, built by the library from checked values
    "dynsys.systems.LyapunovReference": "frozen metadata record (exponents, citation)",
    "dynsys.metrics.LyapunovSpectrum": "result record of lyapunov_spectrum",
    "dynsys.metrics.PredictionErrorResult": "result record of prediction_error",
    "dynsys.data.Benchmark": "result record of benchmark (two Trajectories)",
    "dynsys.data.Batch": "result record of iterate_batches",
    "dynsys.data.SeriesBatch": "result record of SeriesSampler",
    "dynsys.data.SpikeData": "result record of spike_data/lorenz_spikes (they check)",
    "dynsys.training.Checkpoint": "result record of load_checkpoint",
    "dynsys.training.FitResult": "result record of fit",
    # the identity on one process (any pytree passes through); its only check, the split
    # over several processes, cannot run in a one-process test
    "dynsys.training.local_batch": "identity on one process",
    # exceptions
    "dynsys.testing.StepperConformanceError": "an exception class",
    "dynsys.training.NonFiniteError": "an exception class",
    "dynsys.training.DivergenceError": "an exception class",
}


def _system_entry(cls, **params):
    """Construction of a built-in system with its parameters (finite reals)."""
    return Entry(
        f"dynsys.systems.{cls.__name__}",
        func=cls,
        kwargs=params,
        specs=tuple(real(p) for p in params),
    )


def _simulate_map_factory():
    return dynsys.simulate, {"system": systems.Henon(), "y0": np.array([0.1, 0.1]),
                             "ts": np.arange(5.0)}  # fmt: skip


ENTRIES: list[Entry] = [
    # ---------------------------------------------------------------- top level
    Entry(
        "dynsys.simulate",
        func=dynsys.simulate,
        kwargs={
            "system": systems.Lorenz63(),
            "y0": np.array([1.0, 1.0, 1.0]),
            "ts": _TS,
            "solver": diffrax.Tsit5(),
            "rtol": 1e-6,
            "atol": 1e-6,
            "max_steps": 1000,
        },
        positional=("system", "y0", "ts"),
        specs=(
            instance("system"),
            array("y0", ndim=(1, 2), fixed_last_dim=True, none_ok=True),
            array("ts", ndim=1),
            instance("solver", none_ok=True),
            positive("rtol"),
            positive("atol"),
            integer("max_steps", minimum=1),
        ),
    ),
    Entry(
        "dynsys.simulate[map]",
        factory=_simulate_map_factory,
        positional=("system", "y0", "ts"),
        specs=(
            array("y0", ndim=(1, 2), fixed_last_dim=True, none_ok=True),
            array("ts", ndim=1),
        ),
        nan_warning="diverges",  # a huge y0: the orbit leaves the float range
    ),
    Entry(
        "dynsys.save",
        factory=lambda: (
            lambda path, obj: dynsys.save(path, obj),
            {"path": scratch_path("save.dynsys"), "obj": _small_model()},
        ),
        # a string is a path (and "not-an-object" would be written into the working dir)
        specs=(instance("path", skip=("str",)), instance("obj")),
    ),
    Entry(
        "dynsys.load",
        factory=lambda: (dynsys.load, {"path": _saved_file()}),
        specs=(instance("path", skip=("str",)),),  # a missing file: FileNotFoundError
    ),
    # ---------------------------------------------------------------- systems
    _system_entry(systems.Lorenz63, sigma=10.0, rho=28.0, beta=8.0 / 3.0),
    _system_entry(systems.Rossler, a=0.2, b=0.2, c=5.7),
    Entry(
        "dynsys.systems.Lorenz96",
        func=systems.Lorenz96,
        kwargs={"n": 5, "forcing": 8.0},
        specs=(integer("n", minimum=4), real("forcing")),
    ),
    _system_entry(systems.Duffing, delta=0.3, alpha=-1.0, beta=1.0, gamma=0.5, omega=1.2),
    _system_entry(systems.VanDerPol, mu=1.0),
    _system_entry(systems.LotkaVolterra, alpha=0.6, beta=1.3, gamma=1.0, delta=1.0),
    _system_entry(systems.Thomas, b=0.2),
    _system_entry(systems.Chua, alpha=15.6, beta=28.0, m0=-1.1, m1=-0.7),
    _system_entry(systems.Henon, a=1.4, b=0.3),
    _system_entry(systems.Logistic, r=4.0),
    Entry(
        "dynsys.systems.param",
        func=systems.param,
        kwargs={"default": 1.0},
        specs=(real("default"),),
    ),  # fmt: skip
    Entry(
        "dynsys.systems.from_function",
        func=systems.from_function,
        kwargs={"fn": lambda t, y: -y, "dim": 2, "y0": (1.0, 0.5), "dt": 0.1, "name": "decay"},
        positional=("fn",),
        specs=(
            function("fn"),
            integer("dim", minimum=1),
            array("y0", ndim=1, fixed_last_dim=True, none_ok=True),
            positive("dt", none_ok=True),
            choice("name", ("decay",), skip=("unknown",)),  # any string is a valid name
        ),
    ),
    Entry(
        "dynsys.systems.FunctionFlow",
        func=systems.FunctionFlow,
        kwargs={
            "fn": lambda t, y: -y,
            "dim": 2,
            "dt": 0.1,
            "default_y0": (1.0, 0.5),
            "name": "decay",
        },  # fmt: skip
        specs=(
            function("fn"),
            integer("dim", minimum=1),
            positive("dt"),
            array("default_y0", ndim=1, fixed_last_dim=True),
        ),
    ),
    Entry(
        "dynsys.systems.FunctionMap",
        func=systems.FunctionMap,
        kwargs={
            "fn": lambda y: 0.5 * y,
            "dim": 2,
            "dt": 1.0,
            "default_y0": (1.0, 0.5),
            "name": "half",
        },  # fmt: skip
        specs=(
            function("fn"),
            integer("dim", minimum=1),
            positive("dt"),
            array("default_y0", ndim=1, fixed_last_dim=True),
        ),
    ),
    Entry(
        "dynsys.systems.get",
        func=systems.get,
        kwargs={"name": "lorenz63", "rho": 28.0},
        positional=("name",),
        specs=(choice("name", systems.names()), real("rho")),
    ),
    Entry(
        "dynsys.systems.from_dysts",
        func=systems.from_dysts,
        kwargs={"name": "Lorenz", "rho": 28.0},
        positional=("name",),
        specs=(choice("name", ("Lorenz",)), real("rho")),
    ),
    Entry(
        "dynsys.systems.DystsFlow",
        func=lambda sigma: systems.from_dysts("Lorenz", sigma=sigma),
        kwargs={"sigma": 10.0},
        specs=(real("sigma"),),
    ),
    # ---------------------------------------------------------------- metrics
    Entry(
        "dynsys.metrics.power_spectrum",
        func=metrics.power_spectrum,
        kwargs={"x": _SERIES, "smoothing": 2.0},
        positional=("x",),
        specs=(array("x", ndim=2, min_len=2), positive("smoothing", allow_zero=True)),
        nan_warning="constant",
    ),
    Entry(
        "dynsys.metrics.power_spectrum_distance",
        func=metrics.power_spectrum_distance,
        kwargs={"true": _SERIES, "generated": _SERIES[::-1].copy(), "smoothing": 2.0},
        positional=("true", "generated"),
        specs=(
            array("true", ndim=2, min_len=2),
            array("generated", ndim=2, min_len=2, fixed_last_dim=True),
            positive("smoothing", allow_zero=True),
        ),
        nan_warning="constant",
    ),
    Entry(
        "dynsys.metrics.state_space_divergence",
        func=metrics.state_space_divergence,
        kwargs={
            "true": _SERIES,
            "generated": _SERIES[::-1].copy(),
            "n_bins": 5,
            "method": "bins",
        },  # fmt: skip
        positional=("true", "generated"),
        specs=(
            array("true", ndim=2),
            array("generated", ndim=2, fixed_last_dim=True),
            integer("n_bins", minimum=1),
            choice("method", ("auto", "bins", "gmm")),
        ),
        nan_warning=".",
    ),
    Entry(
        "dynsys.metrics.state_space_divergence[gmm]",
        func=metrics.state_space_divergence,
        kwargs={
            "true": _SERIES,
            "generated": _SERIES[::-1].copy(),
            "method": "gmm",
            "sigma2": 1.0,
            "n_samples": 20,
            "max_points": 30,
            "key": _KEY,
        },  # fmt: skip
        positional=("true", "generated"),
        specs=(
            array("true", ndim=2),
            array("generated", ndim=2, fixed_last_dim=True),
            positive("sigma2"),
            integer("n_samples", minimum=1),
            integer("max_points", minimum=1),
            key("key", none_ok=True),
        ),
        nan_warning=".",
    ),
    Entry(
        "dynsys.metrics.lyapunov_spectrum",
        func=metrics.lyapunov_spectrum,
        kwargs={
            "system_or_map": systems.Henon(),
            "y0": np.array([0.1, 0.1]),
            "n_steps": 20,
            "transient": 5,
            "dt": 1.0,
            "n_exponents": 2,
            "renorm_every": 2,
            "t0": 0.0,
            "key": _KEY,
        },  # fmt: skip
        positional=("system_or_map", "y0"),
        specs=(
            instance("system_or_map"),
            array("y0", ndim=1, fixed_last_dim=True, none_ok=True),
            integer("n_steps", minimum=1),
            integer("transient", minimum=0),
            positive("dt", none_ok=True),
            integer("n_exponents", minimum=1, maximum=2, none_ok=True),
            integer("renorm_every", minimum=1),
            real("t0"),
            key("key", none_ok=True),
        ),
    ),
    Entry(
        "dynsys.metrics.lyapunov_spectrum[flow]",
        func=metrics.lyapunov_spectrum,
        kwargs={
            "system_or_map": systems.Lorenz63(),
            "y0": None,
            "n_steps": 3,
            "transient": 1,
            "dt": 0.01,
            "solver": diffrax.Tsit5(),
            "rtol": 1e-5,
            "atol": 1e-5,
            "max_steps": 100,
        },  # fmt: skip
        positional=("system_or_map", "y0"),
        specs=(
            instance("solver", none_ok=True),
            positive("rtol", none_ok=True),
            positive("atol", none_ok=True),
            integer("max_steps", minimum=1),
        ),
    ),
    Entry(
        "dynsys.metrics.kaplan_yorke_dimension",
        func=metrics.kaplan_yorke_dimension,
        kwargs={"exponents": np.array([0.9, 0.0, -14.5])},
        positional=("exponents",),
        specs=(array("exponents", ndim=1),),
    ),
    Entry(
        "dynsys.metrics.prediction_error",
        func=metrics.prediction_error,
        kwargs={
            "step_fn": lambda z: 0.9 * z,
            "init_fn": lambda x: x,
            "data": _SERIES,
            "n": 3,
            "batch_size": 8,
        },  # fmt: skip
        positional=("step_fn", "init_fn", "data"),
        specs=(
            function("step_fn"),
            function("init_fn"),
            array("data", ndim=2, min_len=4),
            integer("n", minimum=1, maximum=39),
            integer("batch_size", minimum=1, none_ok=True),
        ),
    ),
    Entry(
        "dynsys.metrics.ssim",
        func=metrics.ssim,
        kwargs={
            "true": _uniform(2, 1, 8, 8, low=0, high=1),
            "pred": _uniform(2, 1, 8, 8, low=0, high=1),
            "data_range": 1.0,
            "window_size": 3,
            "sigma": 1.5,
        },  # fmt: skip
        positional=("true", "pred"),
        specs=(
            array("true", axis=-1, min_len=3, skip=("wrong_rank",)),
            array(
                "pred",
                axis=-1,
                min_len=3,
                fixed_last_dim=True,
                skip=("wrong_rank",),
                valid=("nan", "inf"),
            ),  # fmt: skip
            positive("data_range"),
            integer("window_size", minimum=1, maximum=8),
            positive("sigma"),
        ),
        nan_warning="`pred` holds NaN",
    ),
    Entry(
        "dynsys.metrics.relative_l2_error",
        func=metrics.relative_l2_error,
        kwargs={"true": _uniform(2, 3, 1, 8), "pred": _uniform(2, 3, 1, 8)},
        positional=("true", "pred"),
        # a diverged (non-finite) prediction is a result to report, with a warning
        specs=(array("true"), array("pred", fixed_last_dim=True, valid=("nan", "inf"))),
        nan_warning="`pred` holds NaN",
    ),
    Entry(
        "dynsys.metrics.nrmse",
        func=metrics.nrmse,
        kwargs={"true": _uniform(2, 3, 1, 8), "pred": _uniform(2, 3, 1, 8)},
        positional=("true", "pred"),
        # a diverged (non-finite) prediction is a result to report, with a warning
        specs=(array("true"), array("pred", fixed_last_dim=True, valid=("nan", "inf"))),
        nan_warning="`pred` holds NaN",
    ),
    Entry(
        "dynsys.metrics.poisson_nll",
        func=metrics.poisson_nll,
        kwargs={"rates": _uniform(3, 4, 5), "spikes": _RNG.poisson(1.0, (3, 4, 5))},
        positional=("rates", "spikes"),
        specs=(array("rates"), array("spikes", fixed_last_dim=True)),
    ),
    Entry(
        "dynsys.metrics.bits_per_spike",
        func=metrics.bits_per_spike,
        kwargs={
            "rates": _uniform(3, 4, 5),
            "spikes": _RNG.poisson(1.0, (3, 4, 5)) + 1,
            "mask": np.ones((3, 4), bool),
        },  # fmt: skip
        positional=("rates", "spikes"),
        specs=(
            array("rates", ndim=3),
            array("spikes", ndim=3, fixed_last_dim=True),
            array("mask", ndim=2, fixed_last_dim=True, none_ok=True),
        ),
    ),
    Entry(
        "dynsys.metrics.co_bps",
        func=metrics.co_bps,
        kwargs={
            "rates": _uniform(3, 6, 5),
            "spikes": _RNG.poisson(1.0, (3, 6, 5)) + 1,
            "heldout": np.array([3, 4]),
            "n_forward": 2,
        },  # fmt: skip
        positional=("rates", "spikes", "heldout", "n_forward"),
        specs=(
            array("rates", ndim=3),
            array("spikes", ndim=3, fixed_last_dim=True),
            array("heldout", ndim=1, skip=("huge",)),
            integer("n_forward", minimum=0, maximum=5),
        ),
    ),
    Entry(
        "dynsys.metrics.fp_bps",
        func=metrics.fp_bps,
        kwargs={
            "rates": _uniform(3, 6, 5),
            "spikes": _RNG.poisson(1.0, (3, 6, 5)) + 1,
            "n_forward": 2,
        },  # fmt: skip
        positional=("rates", "spikes", "n_forward"),
        specs=(
            array("rates", ndim=3),
            array("spikes", ndim=3, fixed_last_dim=True),
            integer("n_forward", minimum=1, maximum=5),
        ),
    ),
    Entry(
        "dynsys.metrics.r2_score",
        func=metrics.r2_score,
        kwargs={"y_true": _normal(10, 2), "y_pred": _normal(10, 2)},
        positional=("y_true", "y_pred"),
        specs=(array("y_true", min_len=2), array("y_pred", fixed_last_dim=True, min_len=2)),
    ),
    Entry(
        "dynsys.metrics.rate_r2",
        func=metrics.rate_r2,
        kwargs={"true_rates": _uniform(3, 4, 5), "rates": _uniform(3, 4, 5)},
        positional=("true_rates", "rates"),
        specs=(array("true_rates", ndim=3), array("rates", ndim=3, fixed_last_dim=True)),
    ),
    Entry(
        "dynsys.metrics.psth_r2",
        func=metrics.psth_r2,
        kwargs={
            "true_psth": _uniform(2, 4, 5),
            "rates": _uniform(4, 4, 5),
            "conditions": np.array([0, 1, 0, 1]),
        },  # fmt: skip
        positional=("true_psth", "rates", "conditions"),
        specs=(
            array("true_psth", ndim=3),
            array("rates", ndim=3, fixed_last_dim=True),
            array("conditions", ndim=1, skip=("huge",)),
        ),
    ),
    Entry(
        "dynsys.metrics.velocity_r2",
        func=metrics.velocity_r2,
        kwargs={
            "train_rates": _normal(20, 4),
            "train_behavior": _normal(20, 2),
            "eval_rates": _normal(10, 4),
            "eval_behavior": _normal(10, 2),
            "alphas": np.array([0.1, 1.0]),
            "n_folds": 2,
        },  # fmt: skip
        positional=("train_rates", "train_behavior", "eval_rates", "eval_behavior"),
        specs=(
            array("train_rates", min_len=2),
            array("train_behavior", min_len=2),
            array("eval_rates", fixed_last_dim=True, min_len=2),
            array("eval_behavior", fixed_last_dim=True, min_len=2),
            array("alphas", ndim=1, none_ok=True),
            integer("n_folds", minimum=2, maximum=20),
        ),
    ),
    Entry(
        "dynsys.metrics.json_safe",
        func=metrics.json_safe,
        kwargs={"value": np.array([1.0, 2.0])},
        specs=(),
    ),
]


# ---------------------------------------------------------------- pde
_U1 = np.sin(np.linspace(0, 2 * np.pi, 16, endpoint=False))[None] + 0.1


def _heat():
    return pde.Heat(1, 2 * np.pi, 16, 0.01, diffusivity=0.1)


def _spectral_entry(cls, **extra):
    base = {"num_spatial_dims": 1, "domain_extent": 2 * np.pi, "num_points": 16, "dt": 0.01}
    return Entry(
        f"dynsys.pde.{cls.__name__}",
        func=cls,
        kwargs={**base, **extra},
        positional=("num_spatial_dims", "domain_extent", "num_points", "dt"),
        specs=(
            integer("num_spatial_dims", minimum=1, maximum=3),
            positive("domain_extent"),
            integer("num_points", minimum=4),
            positive("dt"),
            *(real(k) for k in extra),
        ),
    )


class _Euler(pde.AbstractStepper):
    """Explicit Euler for du/dt = -u: a user stepper for the conformance checks."""

    dt: float
    num_spatial_dims: int = 1
    num_points: int = 16
    num_channels: int = 1
    domain_extent: float = 1.0

    def step(self, u, *aux):
        return u - self.dt * u

    def rhs(self, u, *aux):
        return -u


PDE_ENTRIES: list[Entry] = [
    Entry(
        "dynsys.pde.laplacian_fd",
        func=pde.laplacian_fd,
        kwargs={"u": _normal(1, 8, 8), "dx": 0.1, "dilation": 1, "padding": "periodic"},
        positional=("u", "dx"),
        specs=(
            array("u", axis=1),
            positive("dx"),
            integer("dilation", minimum=1),
            choice("padding", ("periodic", "zero")),
        ),
    ),
    Entry(
        "dynsys.pde.wavenumbers",
        func=pde.wavenumbers,
        kwargs={"num_spatial_dims": 1, "domain_extent": 2 * np.pi, "num_points": 8},
        positional=("num_spatial_dims", "domain_extent", "num_points"),
        specs=(
            integer("num_spatial_dims", minimum=1),
            positive("domain_extent"),
            integer("num_points", minimum=1),
        ),
    ),
    Entry(
        "dynsys.pde.etdrk4_coefficients",
        func=pde.etdrk4_coefficients,
        kwargs={
            "linear": -np.arange(5.0),
            "dt": 0.1,
            "num_circle_points": 8,
            "circle_radius": 1.0,
        },  # fmt: skip
        positional=("linear", "dt"),
        specs=(
            # a complex (dispersive) symbol is valid; an empty one gives empty coefficients
            array("linear", valid=("complex", "empty")),
            positive("dt"),
            integer("num_circle_points", minimum=1),
            positive("circle_radius"),
        ),
    ),
    Entry(
        "dynsys.pde.make_grid",
        func=pde.make_grid,
        kwargs={"num_spatial_dims": 2, "domain_extent": 1.0, "num_points": 4},
        positional=("num_spatial_dims", "domain_extent", "num_points"),
        specs=(
            integer("num_spatial_dims", minimum=1),
            positive("domain_extent"),
            integer("num_points", minimum=1),
        ),
    ),
    Entry(
        "dynsys.pde.truncated_fourier_series",
        func=pde.truncated_fourier_series,
        kwargs={
            "key": _KEY,
            "num_spatial_dims": 1,
            "num_points": 16,
            "cutoff": 3,
            "num_channels": 1,
        },  # fmt: skip
        positional=("key", "num_spatial_dims", "num_points"),
        specs=(
            key("key"),
            integer("num_spatial_dims", minimum=1),
            integer("num_points", minimum=4),
            integer("cutoff", minimum=1, maximum=7),
            integer("num_channels", minimum=1),
        ),
    ),
    Entry(
        "dynsys.pde.gaussian_blobs",
        func=pde.gaussian_blobs,
        kwargs={
            "key": _KEY,
            "num_spatial_dims": 1,
            "domain_extent": 1.0,
            "num_points": 16,
            "num_blobs": 2,
            "width_range": (0.05, 0.1),
            "amplitude_range": (0.5, 1.0),
        },
        positional=("key", "num_spatial_dims", "domain_extent", "num_points"),
        specs=(
            key("key"),
            integer("num_spatial_dims", minimum=1),
            positive("domain_extent"),
            integer("num_points", minimum=1),
            integer("num_blobs", minimum=1),
            array("width_range", ndim=1, fixed_last_dim=True, skip=("length_1", "empty")),
            array("amplitude_range", ndim=1, fixed_last_dim=True, skip=("length_1", "empty")),
        ),
    ),
    _spectral_entry(pde.Heat, diffusivity=0.1),
    _spectral_entry(pde.Burgers, diffusivity=0.1, convection_scale=1.0),
    _spectral_entry(
        pde.KuramotoSivashinsky,
        gradient_norm_scale=1.0,
        second_order_scale=1.0,
        fourth_order_scale=1.0,
    ),  # fmt: skip
    _spectral_entry(
        pde.KortewegDeVries, convection_scale=6.0, dispersivity=1.0, hyper_diffusivity=0.0
    ),  # fmt: skip
    Entry(
        "dynsys.pde.GrayScott",
        func=pde.GrayScott,
        kwargs={
            "domain_extent": 2.5,
            "num_points": 8,
            "dt": 1.0,
            "diffusivity_u": 2e-5,
            "diffusivity_v": 1e-5,
            "feed_rate": 0.04,
            "kill_rate": 0.06,
            "num_substeps": 1,
        },  # fmt: skip
        specs=(
            positive("domain_extent"),
            integer("num_points", minimum=3),
            positive("dt"),
            positive("diffusivity_u", allow_zero=True),
            positive("diffusivity_v", allow_zero=True),
            real("feed_rate"),
            real("kill_rate"),
            integer("num_substeps", minimum=1),
        ),
    ),
    Entry(
        "dynsys.pde.FitzHughNagumo",
        func=pde.FitzHughNagumo,
        kwargs={
            "domain_extent": 2.0,
            "num_points": 8,
            "dt": 1e-3,
            "a": 2.8e-4,
            "b": 5e-3,
            "tau": 0.1,
            "k": -0.005,
            "num_substeps": 1,
        },  # fmt: skip
        specs=(
            positive("domain_extent"),
            integer("num_points", minimum=3),
            positive("dt"),
            positive("a", allow_zero=True),
            positive("b", allow_zero=True),
            positive("tau"),
            real("k"),
            integer("num_substeps", minimum=1),
        ),
    ),
    Entry(
        "dynsys.pde.ParametricBurgers",
        func=pde.ParametricBurgers,
        kwargs={
            "mu": 0.02,
            "source_scale": 0.02,
            "domain_extent": 100.0,
            "num_points": 16,
            "dt": 0.07,
        },  # fmt: skip
        specs=(
            real("mu"),
            real("source_scale"),
            positive("domain_extent"),
            integer("num_points", minimum=3),
            positive("dt"),
        ),
    ),
    Entry(
        "dynsys.pde.check_state",
        func=pde.check_state,
        kwargs={"u": _U1, "num_channels": 1, "num_spatial_dims": 1, "num_points": 16},
        positional=("u", "num_channels", "num_spatial_dims", "num_points"),
        specs=(
            array("u", ndim=2, fixed_last_dim=True, axis=1, min_len=16),
            integer("num_channels", minimum=1),
            integer("num_spatial_dims", minimum=1),
            integer("num_points", minimum=1),
        ),
    ),
    Entry(
        "dynsys.pde.rollout",
        factory=lambda: (pde.rollout, {"stepper": _heat(), "u0": _U1, "n_steps": 3}),
        positional=("stepper", "u0", "n_steps"),
        specs=(
            function("stepper"),
            array("u0", ndim=2, fixed_last_dim=True, axis=1, min_len=16),
            integer("n_steps", minimum=0),
        ),
    ),
    Entry(
        "dynsys.pde.repeat",
        factory=lambda: (pde.repeat, {"stepper": _heat(), "u0": _U1, "n_steps": 3}),
        positional=("stepper", "u0", "n_steps"),
        specs=(
            function("stepper"),
            array("u0", ndim=2, fixed_last_dim=True, axis=1, min_len=16),
            integer("n_steps", minimum=0),
        ),
    ),
    Entry(
        "dynsys.pde.time_derivative",
        factory=lambda: (pde.time_derivative, {"stepper": _heat(), "u": _U1}),
        positional=("stepper", "u"),
        specs=(
            function("stepper"),
            array("u", ndim=2, fixed_last_dim=True, axis=1, min_len=16),
        ),
    ),
    Entry(
        "dynsys.pde.pde_trajectories",
        factory=lambda: (
            pde.pde_trajectories,
            {"stepper": _heat(), "u0s": np.stack([_U1, 2 * _U1]), "n_steps": 2},
        ),
        positional=("stepper", "u0s", "n_steps"),
        specs=(
            function("stepper"),
            array("u0s", ndim=3, fixed_last_dim=True),
            integer("n_steps", minimum=1),
        ),
    ),
    Entry(
        "dynsys.pde.RepeatedStepper",
        factory=lambda: (
            lambda stepper, num_substeps: pde.RepeatedStepper(stepper, num_substeps)(_U1),
            {"stepper": _heat(), "num_substeps": 2},
        ),  # fmt: skip
        specs=(function("stepper"), integer("num_substeps", minimum=1)),
    ),
    Entry(
        "dynsys.pde.ForcedStepper",
        factory=lambda: (
            lambda stepper, f: pde.ForcedStepper(stepper)(_U1, f),
            {"stepper": _heat(), "f": 0.1 * _U1},
        ),  # fmt: skip
        specs=(function("stepper"), array("f", ndim=2, fixed_last_dim=True, axis=1, min_len=16)),
    ),
    Entry(
        "dynsys.pde.BoundStepper",
        factory=lambda: (
            lambda stepper, aux: pde.BoundStepper(stepper, aux)(_U1),
            {"stepper": pde.ParametricBurgers(num_points=16), "aux": 0.02},
        ),
        specs=(function("stepper"), real("aux", none_ok=True)),  # None: the stepper's own μ
        nan_warning="unstable",
    ),
    Entry(
        "dynsys.pde.RHSStepper",
        func=lambda rhs, dt, num_substeps: pde.RHSStepper(rhs, dt, num_substeps=num_substeps)(_U1),
        kwargs={"rhs": lambda u: -u, "dt": 0.01, "num_substeps": 2},
        specs=(function("rhs"), positive("dt"), integer("num_substeps", minimum=1)),
        nan_warning="unstable",
    ),
    # ---------------------------------------------------------------- testing
    Entry(
        "dynsys.testing.check_stepper",
        func=testing.check_stepper,
        kwargs={
            "stepper": _Euler(dt=0.01),
            "u": _U1,
            "make_stepper": lambda dt: _Euler(dt=dt),
            "expected_order": 1,
            "order_tolerance": 0.3,
            "t_final": 0.08,
            "rhs_rtol": 0.5,
        },  # fmt: skip
        positional=("stepper", "u"),
        specs=(
            function("stepper"),
            array("u", ndim=2, fixed_last_dim=True, axis=1, min_len=16),
            function("make_stepper", none_ok=True),
            positive("expected_order", none_ok=True),
            positive("order_tolerance", allow_zero=True),
            positive("t_final", none_ok=True),
            positive("rhs_rtol"),
        ),
    ),
    Entry(
        "dynsys.testing.convergence_order",
        func=testing.convergence_order,
        kwargs={
            "make_stepper": lambda dt: _Euler(dt=dt),
            "u0": _U1,
            "t_final": 0.08,
            "dts": [0.02, 0.01],
            "reference_refinement": 4,
        },  # fmt: skip
        positional=("make_stepper", "u0", "t_final", "dts"),
        specs=(
            function("make_stepper"),
            array("u0", ndim=2, fixed_last_dim=True, axis=1, min_len=16),
            positive("t_final"),
            array("dts", ndim=1, min_len=2),
            integer("reference_refinement", minimum=2),
        ),
    ),
]
ENTRIES += PDE_ENTRIES

# ---------------------------------------------------------------- data
_STATES = _normal(3, 20, 2).cumsum(axis=1) * 0.1
_TIMES = np.arange(20) * 0.1
_COUNTS = _RNG.poisson(2.0, (6, 10, 4))


def _trajectories():
    return data.Trajectories(_TIMES, _STATES)


def _lorenz_spikes_small(**kw):
    base = {"n_conditions": 2, "n_trials": 2, "n_neurons": 4, "n_bins": 6, "n_heldout": 1,
            "n_forward": 2, "transient": 0.1, "substeps": 2}  # fmt: skip
    return data.lorenz_spikes(**{**base, **kw})


DATA_ENTRIES: list[Entry] = [
    Entry(
        "dynsys.data.Trajectories",
        func=data.Trajectories,
        kwargs={"times": _TIMES, "states": _STATES, "inputs": _normal(3, 20, 1)},
        positional=("times", "states"),
        specs=(
            array("times", ndim=1, fixed_last_dim=True),
            array("states", axis=1),
            array("inputs", ndim=3, axis=1, none_ok=True),
        ),
    ),
    Entry(
        "dynsys.data.batched_states",
        func=data.batched_states,
        kwargs={"data": _STATES, "name": "data"},
        positional=("data", "name"),
        specs=(array("data", ndim=(2, 3), axis=-2),),
    ),
    Entry(
        "dynsys.data.first_trajectory",
        func=data.first_trajectory,
        kwargs={"data": _STATES, "name": "data"},
        positional=("data", "name"),
        specs=(array("data", ndim=(2, 3), axis=-2),),
    ),
    Entry(
        "dynsys.data.Standardization",
        func=data.Standardization,
        kwargs={"mean": np.array([0.1, -0.2]), "std": np.array([1.0, 2.0]), "n_space": 0},
        specs=(
            array("mean", ndim=1),
            array("std", ndim=1, fixed_last_dim=True),
            integer("n_space", minimum=0),
        ),
    ),
    Entry(
        "dynsys.data.standardize",
        func=lambda states: data.standardize(data.Trajectories(_TIMES, states)),
        kwargs={"states": _STATES},
        specs=(array("states", axis=1, aliases=("data",)),),
    ),
    Entry(
        "dynsys.data.split_time",
        factory=lambda: (data.split_time, {"data": _trajectories(), "fraction": 0.8}),
        positional=("data", "fraction"),
        specs=(instance("data"), probability("fraction", open_low=True, open_high=True)),
    ),
    Entry(
        "dynsys.data.split_trajectories",
        factory=lambda: (
            data.split_trajectories,
            {"data": _trajectories(), "fraction": 0.6, "key": _KEY},
        ),  # fmt: skip
        positional=("data", "fraction"),
        specs=(
            instance("data"),
            probability("fraction", open_low=True, open_high=True),
            key("key"),
        ),
    ),
    Entry(
        "dynsys.data.sample_windows",
        func=data.sample_windows,
        kwargs={
            "key": _KEY,
            "states": _STATES,
            "window": 4,
            "batch_size": 2,
            "inputs": _normal(3, 20, 1),
            "noise_std": 0.1,
        },  # fmt: skip
        positional=("key", "states"),
        specs=(
            key("key"),
            array("states", min_ndim=2, axis=1, min_len=4),
            integer("window", minimum=1, maximum=20),
            integer("batch_size", minimum=1),
            array("inputs", ndim=(2, 3), axis=1, min_len=20, none_ok=True),
            positive("noise_std", allow_zero=True),
        ),
    ),
    Entry(
        "dynsys.data.sample_window_indices",
        func=data.sample_window_indices,
        kwargs={"key": _KEY, "n_trajectories": 3, "n_times": 20, "window": 4, "batch_size": 2},
        positional=("key", "n_trajectories", "n_times"),
        specs=(
            key("key"),
            integer("n_trajectories", minimum=1),
            integer("n_times", minimum=4),
            integer("window", minimum=1, maximum=20),
            integer("batch_size", minimum=1),
        ),
    ),
    Entry(
        "dynsys.data.WindowSampler",
        func=lambda data_, window, batch_size, noise_std, key: data.WindowSampler(
            data_, window=window, batch_size=batch_size, noise_std=noise_std
        )(0, key),
        kwargs={"data_": _STATES, "window": 4, "batch_size": 2, "noise_std": 0.0, "key": _KEY},
        specs=(
            array("data_", min_ndim=2, axis=1, min_len=4, aliases=("data",)),
            integer("window", minimum=1, maximum=20),
            integer("batch_size", minimum=1),
            positive("noise_std", allow_zero=True),
            key("key"),
        ),
    ),
    Entry(
        "dynsys.data.iterate_batches",
        func=data.iterate_batches,
        kwargs={"data": _STATES, "batch_size": 2, "key": _KEY, "drop_last": False},
        positional=("data",),
        post=list,
        specs=(
            array("data", min_ndim=3),
            integer("batch_size", minimum=1),
            key("key", none_ok=True),
            flag("drop_last"),
        ),
    ),
    Entry(
        "dynsys.data.SeriesSampler",
        func=lambda data_, batch_size, times, key: data.SeriesSampler(
            data_, batch_size=batch_size, times=times
        )(0, key),
        kwargs={"data_": _STATES, "batch_size": 2, "times": _TIMES, "key": _KEY},
        specs=(
            array("data_", min_ndim=3, aliases=("data",)),
            integer("batch_size", minimum=1),
            array("times", ndim=(1, 2), none_ok=True, min_len=20, axis=-1),
            key("key"),
        ),
    ),
    Entry(
        "dynsys.data.SnapshotSampler",
        func=lambda n_trajectories, n_times, batch_size, key: data.SnapshotSampler(
            n_trajectories, n_times, batch_size=batch_size
        )(0, key),
        kwargs={"n_trajectories": 3, "n_times": 5, "batch_size": 4, "key": _KEY},
        specs=(
            integer("n_trajectories", minimum=1),
            integer("n_times", minimum=2),
            integer("batch_size", minimum=1, maximum=15),
            key("key"),
        ),
    ),
    Entry(
        "dynsys.data.TrialSampler",
        func=lambda data_, batch_size, key: data.TrialSampler(data_, batch_size=batch_size)(0, key),
        kwargs={"data_": _STATES, "batch_size": 2, "key": _KEY},
        specs=(
            array(
                "data_",
                min_len=2,
                aliases=("data",),
                # any dtype and values are allowed (masked entries may hold anything and
                # pass through unchanged: NaN in, NaN out, by design)
                valid=("complex", "bool", "wrong_rank"),
                skip=("nan", "inf"),
            ),
            integer("batch_size", minimum=1, maximum=3),
            key("key"),
        ),
    ),
    Entry(
        "dynsys.data.autocorrelation_time",
        func=data.autocorrelation_time,
        kwargs={"data": _SERIES, "threshold": 0.3679, "max_lag": 30},
        positional=("data",),
        specs=(
            array("data", ndim=(2, 3), min_len=2),
            probability("threshold", open_low=True, open_high=True),
            integer("max_lag", minimum=1, none_ok=True),  # larger than time - 1: cut to it
        ),
    ),
    Entry(
        "dynsys.data.generate",
        func=data.generate,
        kwargs={
            "system": "henon",
            "n_trajectories": 2,
            "n_steps": 5,
            "transient": 2,
            "seed": 0,
            "noise": 0.01,
            "y0_scale": 0.01,
        },  # fmt: skip
        positional=("system",),
        specs=(
            choice("system", systems.names()),
            integer("n_trajectories", minimum=1),
            integer("n_steps", minimum=2),
            integer("transient", minimum=0),
            integer("seed", minimum=0),
            positive("noise", allow_zero=True),
            positive("y0_scale", allow_zero=True),
        ),
    ),
    Entry(
        "dynsys.data.generate[flow]",
        func=data.generate,
        kwargs={"system": "lorenz63", "n_steps": 4, "dt": 0.01},
        positional=("system",),
        specs=(positive("dt", none_ok=True),),
    ),
    Entry(
        "dynsys.data.benchmark",
        func=data.benchmark,
        kwargs={
            "system": "henon",
            "n_steps": 5,
            "transient": 2,
            "seed": 0,
            "noise": 0.01,
            "y0_scale": 0.01,
        },  # fmt: skip
        positional=("system",),
        specs=(
            choice("system", systems.names()),
            integer("n_steps", minimum=2),
            integer("transient", minimum=0),
            integer("seed", minimum=0),
            positive("noise", allow_zero=True, none_ok=True),
            positive("y0_scale", allow_zero=True),
        ),
    ),
    Entry(
        "dynsys.data.lorenz_spikes",
        func=_lorenz_spikes_small,
        kwargs={
            "n_conditions": 2,
            "n_trials": 2,
            "n_neurons": 4,
            "n_bins": 6,
            "bin_size": 0.02,
            "time_scale": 6.0,
            "base_rate": 5.0,
            "n_heldout": 1,
            "n_forward": 2,
            "transient": 0.1,
            "substeps": 2,
            "train_fraction": 0.5,
            "seed": 0,
        },  # fmt: skip
        specs=(
            integer("n_conditions", minimum=1),
            integer("n_trials", minimum=1),
            integer("n_neurons", minimum=2),
            integer("n_bins", minimum=2),
            positive("bin_size"),
            positive("time_scale"),
            positive("base_rate"),
            integer("n_heldout", minimum=0, maximum=3),
            integer("n_forward", minimum=0, maximum=5),
            positive("transient", allow_zero=True),
            integer("substeps", minimum=1),
            probability("train_fraction", open_low=True, open_high=True),
            integer("seed", minimum=0),
        ),
    ),
    Entry(
        "dynsys.data.spike_data",
        func=data.spike_data,
        kwargs={
            "spikes": _COUNTS,
            "heldout": (3,),
            "n_forward": 2,
            "mask": np.ones((6, 10), bool),
            "conditions": np.array([0, 0, 0, 1, 1, 1]),
            "train_fraction": 0.5,
            "rates": _uniform(6, 10, 4),
            "bin_size": 0.02,
        },
        positional=("spikes",),
        specs=(
            array("spikes", ndim=3, min_len=2),
            array("heldout", ndim=1, skip=("huge",), valid=("empty",)),
            integer("n_forward", minimum=0, maximum=9),
            array("mask", ndim=2, fixed_last_dim=True, none_ok=True),
            array("conditions", ndim=1, fixed_last_dim=True, none_ok=True, skip=("huge",)),
            probability("train_fraction", open_low=True, open_high=True),
            array("rates", ndim=3, fixed_last_dim=True, none_ok=True),
            positive("bin_size", none_ok=True),
        ),
    ),
    Entry(
        "dynsys.data.split_trials",
        func=data.split_trials,
        kwargs={"conditions": np.array([0, 0, 1, 1, 1]), "fraction": 0.5, "seed": 0},
        positional=("conditions", "fraction"),
        specs=(
            array("conditions", ndim=1, skip=("huge",)),
            probability("fraction", open_low=True, open_high=True),
            integer("seed", minimum=0),
        ),
    ),
]
ENTRIES += DATA_ENTRIES


# ---------------------------------------------------------------- training
class _Scalar(__import__("equinox").Module):
    w: jax.Array


def _quadratic(model, batch, key):
    return jnp.sum((model.w - batch) ** 2)


def _fit_call(n_steps, key, gradient_clip, check_every, on_nonfinite):
    return training.fit(
        _Scalar(jnp.zeros(2)),
        _quadratic,
        lambda step, k: jnp.ones(2),
        optimizer=optax.sgd(0.1),
        n_steps=n_steps,
        key=key,
        gradient_clip=gradient_clip,
        check_every=check_every,
        on_nonfinite=on_nonfinite,
        progress=False,
    ).model


TRAINING_ENTRIES: list[Entry] = [
    Entry(
        "dynsys.training.fit",
        func=_fit_call,
        kwargs={
            "n_steps": 3,
            "key": _KEY,
            "gradient_clip": 1.0,
            "check_every": 1,
            "on_nonfinite": "raise",
        },  # fmt: skip
        specs=(
            integer("n_steps", minimum=1),
            key("key"),
            positive("gradient_clip", none_ok=True),
            integer("check_every", minimum=1),
            choice("on_nonfinite", ("raise",)),
        ),
    ),
    Entry(
        "dynsys.training.make_step",
        func=lambda loss_fn, optimizer: training.make_step(loss_fn, optimizer)(
            _Scalar(jnp.zeros(2)), optimizer.init(_Scalar(jnp.zeros(2))), None, jnp.ones(2), _KEY
        ),
        kwargs={"loss_fn": _quadratic, "optimizer": optax.sgd(0.1)},
        specs=(function("loss_fn"), instance("optimizer")),
    ),
    Entry(
        "dynsys.training.LossFunction",
        func=training.LossFunction,
        kwargs={"fn": _quadratic, "has_aux": False},
        specs=(function("fn"), flag("has_aux")),
    ),
    Entry(
        "dynsys.training.Evaluation",
        func=training.Evaluation,
        kwargs={
            "fn": lambda model: {"loss": 0.0},
            "every": 2,
            "select": "best",
            "metric": "loss",
            "mode": "min",
        },  # fmt: skip
        specs=(
            function("fn"),
            integer("every", minimum=1, none_ok=True),
            choice("select", ("last", "best")),
            choice("metric", ("loss",), none_ok=True, skip=("unknown",)),  # any name
            choice("mode", ("min", "max")),
        ),
    ),
    Entry(
        "dynsys.training.Checkpointing",
        factory=lambda: (
            training.Checkpointing,
            {"directory": scratch_path("ckpt"), "every": 2, "resume": False},
        ),
        specs=(
            instance("directory", skip=("str",)),  # a string is a directory name
            integer("every", minimum=1, none_ok=True),
            flag("resume"),
        ),
    ),
    Entry(
        "dynsys.training.RaiseOnNonfinite",
        func=training.RaiseOnNonfinite,
        kwargs={"divergence_factor": 1000.0, "divergence_window": 20},
        specs=(
            positive("divergence_factor", none_ok=True),
            integer("divergence_window", minimum=1),
        ),  # fmt: skip
    ),
    Entry(
        "dynsys.training.RollbackOnNonfinite",
        func=training.RollbackOnNonfinite,
        kwargs={
            "max_rollbacks": 3,
            "lr_factor": 0.5,
            "divergence_factor": 1000.0,
            "divergence_window": 20,
        },  # fmt: skip
        specs=(
            integer("max_rollbacks", minimum=0),
            probability("lr_factor", open_low=True, none_ok=True),
            positive("divergence_factor", none_ok=True),
            integer("divergence_window", minimum=1),
        ),
    ),
    Entry(
        "dynsys.training.Progress",
        func=training.Progress,
        kwargs={"enabled": False, "desc": "fit"},
        specs=(flag("enabled"),),
    ),
    Entry(
        "dynsys.training.JitSampler",
        func=lambda fn, key: training.JitSampler(fn)(0, key),
        kwargs={"fn": lambda step, key: jax.random.normal(key, (2,)), "key": _KEY},
        specs=(function("fn"), key("key")),
    ),
    Entry(
        "dynsys.training.save_checkpoint",
        factory=lambda: (
            training.save_checkpoint,
            {
                "path": scratch_path("save.ckpt"),
                "model": _Scalar(jnp.ones(2)),
                "step": 3,
                "key": _KEY,
            },
        ),  # fmt: skip
        positional=("path", "model"),
        specs=(
            instance("path", skip=("str",)),
            instance("model"),
            integer("step", minimum=0),
            key("key", none_ok=True),
        ),
    ),
    Entry(
        "dynsys.training.load_checkpoint",
        factory=lambda: (
            training.load_checkpoint,
            {
                "path": training.save_checkpoint(scratch_path("load.ckpt"), _Scalar(jnp.ones(2))),
                "like": (_Scalar(jnp.zeros(2)), None, None),
            },
        ),  # fmt: skip
        positional=("path", "like"),
        specs=(instance("path", skip=("str",)), instance("like")),
    ),
    Entry(
        "dynsys.training.exponential_decay_per_epoch",
        func=lambda start_lr, end_lr, n_epochs, steps_per_epoch: (
            training.exponential_decay_per_epoch(  # noqa: E501
                start_lr, end_lr, n_epochs, steps_per_epoch
            )(7)
        ),
        kwargs={"start_lr": 1e-3, "end_lr": 1e-5, "n_epochs": 4, "steps_per_epoch": 3},
        specs=(
            positive("start_lr"),
            positive("end_lr"),
            integer("n_epochs", minimum=1),
            integer("steps_per_epoch", minimum=1),
        ),
    ),
    Entry(
        "dynsys.training.param_dtype",
        func=lambda model: np.zeros((), training.param_dtype(model)),
        kwargs={"model": _Scalar(jnp.zeros(2))},
        specs=(instance("model"),),
    ),
]
ENTRIES += TRAINING_ENTRIES


# ---------------------------------------------------------------- plot
def _close(fig):
    import matplotlib.pyplot as plt

    plt.close(fig)


ENTRIES.append(
    Entry(
        "dynsys.plot.plot_attractors",
        func=lambda trajectory, max_points: plot.plot_attractors(
            {"a": trajectory}, max_points=max_points
        ),
        kwargs={"trajectory": _normal(30, 3), "max_points": 10},
        post=_close,
        specs=(
            array("trajectory", ndim=2, min_len=2, aliases=("trajectories",)),
            integer("max_points", minimum=1),
        ),
    )
)


def _small_model():
    """The smallest object `dynsys.save` takes (a model of a family; systems are not saved)."""
    return dynsys.PLRNN(3, 2, key=_KEY)


def _saved_file():
    return dynsys.save(scratch_path("load.dynsys"), _small_model())
