"""The one notebook-to-HTML renderer, and what the site reads from an executed notebook.

A rendered notebook loads nothing from the network: nbconvert's lab template without require.js and
mermaid, formulas typeset by the MathJax 2 copy that the ``jupyter-server-mathjax`` wheel ships
(copied once into the site's ``_static/mathjax/``), and the ``record`` payloads left out (they are
for the index and the tests, not the reader).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path

from recsys_study.notebook import MIMETYPE
from recsys_study.reporting.files import atomic_write
from recsys_study.reporting.layout import MATHJAX, RUN_PAGE_MATHJAX

MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
KEY_FIGURE_TAG = "key-figure"
_TEMPLATE = Path(__file__).parent / "templates" / "notebook.html.j2"


def _read(notebook):
    import nbformat

    return notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)


def notebook_html(notebook, *, mathjax_url: str | None = None) -> str:
    """Return the HTML page of an executed notebook (a path or a node), formulas typeset from ``mathjax_url``.

    ``mathjax_url`` is a relative URL of the local ``MathJax.js``; without it the page has no script at all
    and formulas stay in their TeX source.
    """
    import copy

    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(notebook) if isinstance(notebook, nbformat.NotebookNode) else _read(notebook)
    for cell in nb.cells:
        if cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs if MIMETYPE not in o.get("data", {})]
    exporter = HTMLExporter(template_name="lab", template_file="offline_notebook.html.j2",
                            extra_loaders=[DictLoader({"offline_notebook.html.j2": _TEMPLATE.read_text()})])
    exporter.mathjax_url = f"{mathjax_url}?config={MATHJAX_CONFIG}" if mathjax_url else ""
    name = Path(notebook).stem if isinstance(notebook, (str, Path)) else "notebook"
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    return body


def mathjax_source() -> Path:
    """Return the folder of the MathJax 2 copy shipped by the ``jupyter-server-mathjax`` wheel."""
    try:
        import jupyter_server_mathjax
    except ImportError as err:  # pragma: no cover - it is a dependency
        raise RuntimeError("the offline report site needs jupyter-server-mathjax: run `make setup`.") from err
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def copy_mathjax(site: Path) -> Path:
    """Copy MathJax into ``site/_static/mathjax/`` once (renamed into place whole); return that folder."""
    target = site / MATHJAX
    if not (target / "MathJax.js").exists():
        tmp = target.with_name(".mathjax.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(mathjax_source(), tmp)
        os.replace(tmp, target)
    return target


def _script(mathjax_url: str) -> str:
    return f'<script src="{mathjax_url}?config={MATHJAX_CONFIG}"></script>'


def _from_run_page(notebook: Path, mathjax_url: str) -> str | None:
    """Return the runner's page of ``notebook`` (``<run>.html`` beside it, rendered by ``notebook_html`` with
    ``RUN_PAGE_MATHJAX``) with MathJax's address changed to ``mathjax_url``; None when there is no such page,
    it is older than the notebook, or its MathJax script is not there exactly once.

    The two pages differ in that address only, so the site need not render each notebook a second time
    (about a second a notebook, at the end of ``make run`` when nothing else runs).
    """
    page = notebook.with_suffix(".html")
    if not page.exists() or page.stat().st_mtime < notebook.stat().st_mtime:
        return None
    text, script = page.read_text(encoding="utf-8"), _script(RUN_PAGE_MATHJAX)
    if text.count(script) != 1:
        return None
    return text.replace(script, _script(mathjax_url))


def render_notebook_page(notebook: Path, target: Path, site: Path) -> Path:
    """Write ``notebook`` as the site page ``target`` unless that page is newer; return ``target``.

    The runner's page of the notebook, when it is up to date, gives the page without rendering again.
    """
    if target.exists() and target.stat().st_mtime >= notebook.stat().st_mtime:
        return target
    mathjax = Path(os.path.relpath(copy_mathjax(site) / "MathJax.js", target.parent)).as_posix()
    html = _from_run_page(notebook, mathjax)
    return atomic_write(target, html if html is not None else notebook_html(notebook, mathjax_url=mathjax))


def question(notebook: Path) -> tuple[str, str]:
    """Return the notebook's title (its first ``#`` heading) and its ``**Question.**`` paragraph."""
    title, text = notebook.stem, ""
    for cell in _read(notebook).cells:
        if cell.cell_type != "markdown":
            continue
        src = cell.source
        if title == notebook.stem:
            m = re.search(r"^#\s+(.+)$", src, flags=re.M)
            if m:
                title = m.group(1).strip()
        m = re.search(r"\*\*Question\.\*\*\s*(.+?)(?:\n\s*\n|$)", src, flags=re.S)
        if m:
            text = " ".join(m.group(1).split())
            break
    return title, text


def key_figure(notebook: Path) -> bytes | None:
    """Return the PNG bytes of the notebook's key figure (tagged ``key-figure``, else its first PNG)."""
    first = None
    for cell in _read(notebook).cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if not png:
                continue
            data = base64.b64decode(png if isinstance(png, str) else "".join(png))
            if KEY_FIGURE_TAG in cell.get("metadata", {}).get("tags", []):
                return data
            first = first or data
    return first
