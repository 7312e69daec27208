"""tools/collapse_notebook_streams.py: stored progress bars as a Jupyter front end shows them."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _tool():
    path = ROOT / "tools" / "collapse_notebook_streams.py"
    spec = importlib.util.spec_from_file_location("collapse_notebook_streams", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_carriage_returns_keep_the_last_update_of_each_line():
    tool = _tool()
    assert tool.collapse("\rfit: 0%\rfit: 50%\rfit: 100%\nloss 1\n") == "fit: 100%\nloss 1\n"
    assert tool.collapse("no bar\n") == "no bar\n"


def test_streams_are_merged_per_name_and_other_outputs_kept():
    tool = _tool()
    warning = (
        "/x/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update jupyter.\n"
        "  from .autonotebook import tqdm as notebook_tqdm\n"
    )
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": ["start\n"]},
        {"output_type": "stream", "name": "stderr", "text": [warning]},
        {"output_type": "stream", "name": "stderr", "text": ["\rfit: 1/3"]},
        {"output_type": "stream", "name": "stderr", "text": ["\rfit: 3/3\n"]},
        {"output_type": "display_data", "data": {"text/plain": ["<Figure>"]}},
        {"output_type": "stream", "name": "stdout", "text": "done\n"},
    ]
    cleaned = tool.clean_outputs(outputs)
    assert [o["output_type"] for o in cleaned] == ["stream", "stream", "display_data", "stream"]
    assert cleaned[0]["text"] == ["start\n"]
    assert cleaned[1] == {"output_type": "stream", "name": "stderr", "text": ["fit: 3/3\n"]}
    assert cleaned[3]["text"] == ["done\n"]
