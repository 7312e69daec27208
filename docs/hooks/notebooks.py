"""mkdocs hook: publish the notebooks of `notebooks/` in the site without copying them.

The notebooks live beside the package (their sources are `examples/*.py` and
`examples/course/*.py`), not in `docs/`. This hook adds each `notebooks/*.ipynb` and
`notebooks/course/*.ipynb` to the site's files under the same path, before mkdocs-jupyter
turns them into pages (it runs first, by event priority). They are rendered as committed,
with the outputs of their last full-size run (`make notebooks-execute`, `make
course-execute`); nothing is executed at build time.

Notebook markdown is rendered by nbconvert, not Python-Markdown, so the cross-references
`` [`dynsys.x.Name`][] `` of their text would stay literal; the hook turns them into
autorefs links (an unknown target is then a warning, an error under `--strict`).
"""

from __future__ import annotations

import html
import pathlib
import re

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parents[2]

# `` [`Name`][] `` or `` [`title`][dynsys.x.Name] `` as nbconvert leaves them in the HTML:
# the title in <code>, which neither code cells (spans) nor the page's CSS (`[readonly]`)
# produce.
_REF = re.compile(r"\[(?P<title><code>[^\[\]<>]+</code>)\]\[(?P<ident>[\w.]*)\]")


@event_priority(100)
def on_files(files, config):
    notebooks = ROOT / "notebooks"
    for path in sorted([*notebooks.glob("*.ipynb"), *notebooks.glob("course/*.ipynb")]):
        uri = path.relative_to(ROOT).as_posix()
        if files.get_file_from_path(uri) is None:
            files.append(
                File(
                    uri,
                    src_dir=str(ROOT),
                    dest_dir=config["site_dir"],
                    use_directory_urls=config["use_directory_urls"],
                )
            )
    return files


def _autoref(match: re.Match) -> str:
    title = match["title"]
    ident = match["ident"] or re.sub(r"</?code>", "", title)
    if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", ident):
        return match[0]
    return f'<autoref identifier="{html.escape(ident)}">{title}</autoref>'


def on_page_content(html_text, page, config, files):
    if not page.file.src_uri.endswith(".ipynb"):
        return html_text
    return _REF.sub(_autoref, html_text)
