import json

import numpy as np
import pytest

from dynsys._cli import main


def test_help_lists_jobs(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for job in ("reconstruct", "demo", "systems"):
        assert job in text


# A barely trained model may collapse to a fixed point: D_H is then NaN, with a warning.
@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_demo_small_writes_outputs(tmp_path):
    out = tmp_path / "demo"
    main(["demo", "--small", "--seeds", "3", "--out", str(out)])
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("d_stsp", "d_h", "pe20", "lambda_max", "subregions_used", "subregion_visits"):
        assert key in metrics
    for fig in ("attractor.png", "power_spectra.png", "subregions.png", "transition_graph.png"):
        assert (out / fig).stat().st_size > 1000
    assert (out / "model.eqx").exists()
    # an ensemble: the member with the lowest training D_stsp is the one evaluated
    scores = metrics["train_d_stsp_per_seed"]
    assert metrics["seeds"] == len(scores) == 3
    assert metrics["chosen_seed"] == int(np.nanargmin(scores))


def test_demo_rejects_seeds_below_one(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--small", "--seeds", "0", "--out", str(tmp_path / "demo")])
    assert exc.value.code == 2
    assert "--seeds must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_reconstruct_user_csv(tmp_path):
    t = np.arange(3000) * 0.05
    series = np.stack([np.sin(t), np.cos(t), np.sin(2 * t)], axis=1)
    path = tmp_path / "series.csv"
    np.savetxt(path, series, delimiter=",")
    out = tmp_path / "rec"
    main(["reconstruct", str(path), "--small", "--steps", "3000", "--dt", "0.05",
          "--out", str(out)])  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["source"] == str(path)
    # the untrained models decay to a fixed point (D_stsp at its ceiling, PE(20) about 1,
    # the data's variance); 3000 steps learn the cycle (D_stsp 0.1-0.2, PE(20) < 0.02)
    untrained = min(s["d_stsp"] for s in metrics["untrained_scores"])
    assert metrics["scores"]["d_stsp"] < min(1.0, untrained / 10), metrics["scores"]
    assert metrics["scores"]["pe"] < 0.1, metrics["scores"]


def test_reconstruct_missing_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reconstruct", str(tmp_path / "nope.npy"), "--small"])
    assert exc.value.code == 2
    assert "no data file at" in capsys.readouterr().err


@pytest.mark.integration
def test_systems_job_small(tmp_path):
    results = main(["systems", "--small", "--out", str(tmp_path)])
    assert results == 0
    saved = json.loads((tmp_path / "systems.json").read_text())
    assert abs(saved["lorenz63"]["lyapunov"][0] - 0.9056) < 0.15
    assert (tmp_path / "attractors.png").exists()
