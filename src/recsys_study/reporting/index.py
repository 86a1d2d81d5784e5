"""``reports/index.html``: per experiment, each run's status, wall time, headline records, notebook and MLflow run.

Inputs are the ``reports/runs/<experiment>/results.json`` manifests written by the runner; above them, the
comparison's leaderboard (headline metrics) when ``reports/leaderboard.csv`` exists.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from recsys_study.reporting.files import atomic_write, index_lock
from recsys_study.reporting.formatting import format_value, headline_names
from recsys_study.reporting.layout import COMPARISON_MD, RUN_PAGE_MATHJAX, reports_dir as _reports_dir, site_dir
from recsys_study.reporting.leaderboard import read_leaderboard, table
from recsys_study.reporting.pages import render_page
from recsys_study.reporting.render import copy_mathjax, notebook_html

INDEX_METRICS = ("NDCG@10", "Recall@10", "MAP-IR@10")


def render_notebook(notebook: Path) -> str:
    """Return the page of an executed notebook that the runner writes beside it (``runs/<experiment>/<run>.html``).

    Its formulas are typeset by the site's MathJax copy (``recsys-study report`` or ``run`` makes it).
    """
    return notebook_html(notebook, mathjax_url=RUN_PAGE_MATHJAX)


def notebook_to_html(notebook: Path) -> Path:
    """Render an executed notebook to HTML beside it (skipped when the HTML is newer); return its path."""
    target = notebook.with_suffix(".html")
    if target.exists() and target.stat().st_mtime >= notebook.stat().st_mtime:
        return target
    return atomic_write(target, render_notebook(notebook))


STATUSES = ("ok", "failed")


def manifest_fault(data) -> str | None:
    """Return what is wrong with a ``results.json``'s content, or None (the one check of the runner and the site)."""
    if not isinstance(data, dict) or not isinstance(data.get("experiment"), str):
        return "the top level must be a mapping with an 'experiment' name"
    runs = data.get("runs")
    if not isinstance(runs, list):
        return "'runs' must be a list"
    for i, run in enumerate(runs):
        if not isinstance(run, dict) or not isinstance(run.get("name"), str):
            return f"runs[{i}] must be a mapping with a 'name'"
        if run.get("status") not in STATUSES:
            return f"run {run['name']!r} has status {run.get('status')!r}, not one of {list(STATUSES)}"
        if isinstance(run.get("seconds"), bool) or not isinstance(run.get("seconds"), (int, float)):
            return f"run {run['name']!r} has no number of 'seconds'"
        for key, kind in (("output", str), ("records", dict), ("headline", list)):
            if key in run and not isinstance(run[key], kind):
                return f"run {run['name']!r}: {key!r} must be a {kind.__name__}"
    return None


def read_manifests(reports_dir: Path) -> dict[str, dict]:
    """Return ``{experiment folder: manifest}`` of every valid ``runs/*/results.json`` under ``reports_dir``.

    A file that is not a runner's manifest (unreadable, truncated, runs without a status...) is named on
    stderr and left out, never read as empty.
    """
    out = {}
    for manifest in sorted((reports_dir / "runs").glob("*/results.json")):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError) as err:
            fault = f"not readable JSON: {err}"
        else:
            fault = manifest_fault(data)
        if fault:
            print(f"warning: {manifest} is not a runner's manifest ({fault}); it is left out of the index.",
                  file=sys.stderr, flush=True)
            continue
        out[manifest.parent.name] = data
    return out


def index_page(reports_dir: Path, manifests: dict[str, dict], *, pending: set[str] = frozenset()) -> str:
    """Return the text of ``index.html`` for ``manifests``; a run links to its notebook when the file exists
    or its output is in ``pending`` (about to be renamed into place by the runner)."""
    from recsys_study.tracking import tracking_uri

    experiments = []
    for _, data in sorted(manifests.items()):
        runs = []
        for run in sorted(data["runs"], key=lambda r: r["name"]):
            output = run.get("output") or ""
            shown = bool(output) and ((reports_dir / output).exists() or output in pending)
            records = run.get("records") or {}
            runs.append({"name": run["name"], "status": run["status"], "error": run.get("error") or "",
                         "seconds": run.get("seconds") or 0.0, "run_id": run.get("run_id") or "",
                         "notebook": output if shown else "",
                         "page": str(Path(output).with_suffix(".html")) if shown else "",
                         "results": [(n, format_value(n, records[n])) for n in headline_names(run)]})
        experiments.append({"name": data["experiment"], "description": data.get("description", ""),
                            "file": data.get("file", ""), "runs": runs})
    board = read_leaderboard(reports_dir)
    return render_page(
        "runs_index.html.j2", experiments=experiments, tracking_uri=tracking_uri(),
        stamp=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        leaderboard=None if board is None else table(board, INDEX_METRICS),
        comparison_md=COMPARISON_MD if (reports_dir / COMPARISON_MD).exists() else "")


def build_index(reports_dir: Path | None = None) -> Path:
    """Write ``reports/index.html`` from the run manifests (and HTML copies of the notebooks); return its path."""
    reports_dir = _reports_dir(reports_dir)
    with index_lock(reports_dir):
        manifests = read_manifests(reports_dir)
        outputs = [reports_dir / run["output"] for data in manifests.values() for run in data["runs"]
                   if run.get("output") and (reports_dir / run["output"]).exists()]
        if outputs:
            copy_mathjax(site_dir(reports_dir))
        for notebook in outputs:
            notebook_to_html(notebook)
        return atomic_write(reports_dir / "index.html", index_page(reports_dir, manifests))
