import jax
import jax.numpy as jnp
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dynsys.dsr import (
    ALRNN,
    plot_attractor,
    plot_power_spectra,
    plot_subregions,
    plot_transition_graph,
    symbolic_code,
    transition_matrix,
)

matplotlib.use("Agg")
KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def run():
    model = ALRNN(6, 2, 3, key=KEY)
    t = np.arange(400) * 0.1
    true = np.stack([np.sin(t), np.cos(1.3 * t), np.sin(0.7 * t) ** 2], axis=1)
    z = model.generate_latent(jnp.asarray(np.random.default_rng(1).standard_normal(6)), 400)
    return model, true, np.asarray(model.readout(z)), np.asarray(z)


def _labels(fig):
    ax = fig.axes[0]
    return ax.get_xlabel(), ax.get_ylabel()


def test_plot_attractor(run):
    _, true, generated, _ = run
    fig = plot_attractor(true, generated, title="test")
    try:
        assert len(fig.axes) == 2 and all(ax.name == "3d" for ax in fig.axes)
        assert all(_labels(fig)) and fig.axes[0].get_zlabel()
        assert [ax.get_title() for ax in fig.axes] == ["true", "generated"]
        flat = plot_attractor(true, generated[:100], dims=(0, 2))
        assert flat.axes[0].name == "rectilinear"
        plt.close(flat)
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="dims"):
        plot_attractor(true, generated, dims=(0, 5))


def test_plot_power_spectra(run):
    _, true, generated, _ = run
    fig = plot_power_spectra(true, generated, smoothing=2.0, dt=0.1)
    try:
        assert len(fig.axes) == 3 and all(_labels(fig))
        assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].lines) == 2
        assert "D_H" in fig._suptitle.get_text()
    finally:
        plt.close(fig)


def test_plot_subregions_and_transition_graph(run):
    model, _, _, z = run
    fig = plot_subregions(model, z)
    try:
        assert all(_labels(fig)) and "subregions" in fig.axes[0].get_title()
        n_used = len(np.unique(symbolic_code(model, z)))
        assert len(fig.axes[0].get_legend().get_texts()) == n_used
    finally:
        plt.close(fig)
    t = transition_matrix([0, 1, 1, 3, 0, 2, 0, 1], n_regions=4)
    fig = plot_transition_graph(t, show_self_loops=True)
    try:
        arrows = fig.axes[0].patches
        assert len(arrows) == 5  # 0→1, 1→3, 3→0, 0→2, 2→0 (self-loop 1→1 is annotated)
        widths = sorted(a.get_linewidth() for a in arrows)
        assert widths[-1] > widths[0]  # width grows with probability (0→1: 2/3, 0→2: 1/3)
        assert fig.axes[0].get_xlabel()
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="square"):
        plot_transition_graph(np.ones((2, 3)))
