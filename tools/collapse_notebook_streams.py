"""Collapse the stream outputs of executed notebooks to what a Jupyter front end shows.

A text progress bar writes one carriage-return update per refresh; Jupyter redraws the
line in place, but the stored notebook keeps every update (hundreds of lines once
rendered by the docs site). This rewrites each stream output as a terminal would show it:
consecutive outputs of the same stream are joined, and on each line only the text after
the last carriage return is kept. It also drops tqdm's "IProgress not found" warning,
which a kernel without ipywidgets printed when dynsys imported `tqdm.auto` at import time
(dynsys no longer does). Nothing else is touched.

Run: .venv/bin/python tools/collapse_notebook_streams.py notebooks/NAME.ipynb [...]
(`make notebooks-execute` runs it on each notebook it executes).
"""

from __future__ import annotations

import json
import sys

_IPROGRESS = "TqdmWarning: IProgress not found"
_IPROGRESS_SOURCE = "  from .autonotebook import"


def collapse(text: str) -> str:
    """`text` as a terminal shows it: each line keeps only what follows its last `\\r`."""
    lines = text.split("\n")
    return "\n".join(line.rsplit("\r", 1)[-1] for line in lines)


def drop_iprogress_warning(text: str) -> str:
    """`text` without tqdm's "IProgress not found" warning (and the source line it quotes)."""
    kept, skip_source = [], False
    for line in text.split("\n"):
        if _IPROGRESS in line:
            skip_source = True
            continue
        if skip_source and line.startswith(_IPROGRESS_SOURCE):
            skip_source = False
            continue
        skip_source = False
        kept.append(line)
    return "\n".join(kept)


def clean_outputs(outputs: list[dict]) -> list[dict]:
    """Join consecutive outputs of one stream, collapse them, drop empty ones."""
    merged: list[dict] = []
    for out in outputs:
        if out.get("output_type") != "stream":
            merged.append(out)
            continue
        text = "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
        last = merged[-1] if merged else None
        if last is not None and last.get("output_type") == "stream" and last["name"] == out["name"]:
            last["text"] += text
        else:
            merged.append({**out, "text": text})
    cleaned = []
    for out in merged:
        if out.get("output_type") == "stream":
            text = drop_iprogress_warning(collapse(out["text"]))
            if not text.strip():
                continue
            out["text"] = text.splitlines(keepends=True)
        cleaned.append(out)
    return cleaned


def main(paths: list[str]) -> None:
    for path in paths:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
        for cell in nb["cells"]:
            if cell.get("cell_type") == "code":
                cell["outputs"] = clean_outputs(cell.get("outputs", []))
        with open(path, "w", encoding="utf-8") as f:
            json.dump(nb, f, indent=1, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
