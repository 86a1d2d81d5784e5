"""Build ``reports/``: an HTML copy of every executed notebook and ``reports/index.html``.

The index lists, per experiment, each run's status, wall time, headline results (the
values the notebook recorded with ``notebook.record``) and its MLflow run id, with
links to the executed notebook and its HTML rendering. Inputs are the
``reports/runs/<experiment>/results.json`` manifests written by the runner.
"""

from __future__ import annotations

import html
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from recsys_study.paths import project_root
from recsys_study.tracking import tracking_uri

MAX_HEADLINE = 8


def notebook_to_html(notebook: Path) -> Path:
    """Render an executed notebook to HTML beside it (skipped when the HTML is newer); return its path."""
    target = notebook.with_suffix(".html")
    if target.exists() and target.stat().st_mtime >= notebook.stat().st_mtime:
        return target
    _atomic_write(target, render_notebook(notebook))
    return target


def _atomic_write(path: Path, text: str) -> None:
    os.replace(write_aside(path, text), path)


def _umask() -> int:
    """The process's umask, read without changing it where the system allows.

    ``os.umask`` can only be read by setting it: two threads doing that at once (the runner commits
    from one thread per notebook) could leave it 0 for good, and a kernel started in between would
    inherit 0. Linux shows it in ``/proc/self/status``; elsewhere it was read once, at import.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _IMPORT_UMASK


def _read_umask_by_setting() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_IMPORT_UMASK = _read_umask_by_setting()  # at import, before any runner thread exists


def write_aside(path: Path, text: str) -> Path:
    """Write ``text`` to a uniquely named hidden file beside ``path``; return it (the caller renames it).

    Nothing is left behind if the write fails (a full disk, say).
    """
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; a report is as readable as any file the user writes
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def render_notebook(notebook: Path) -> str:
    """Return the HTML rendering of an executed notebook."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    return body


@contextmanager
def index_lock(reports_dir: Path):
    """Hold ``reports/.index.lock`` (fcntl): one writer of ``index.html`` at a time across processes."""
    import fcntl

    reports_dir.mkdir(parents=True, exist_ok=True)
    with open(reports_dir / ".index.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_manifests(reports_dir: Path) -> dict[str, dict]:
    """Return ``{experiment folder: manifest}`` of every ``runs/*/results.json`` under ``reports_dir``."""
    out = {}
    for manifest in sorted((reports_dir / "runs").glob("*/results.json")):
        try:
            out[manifest.parent.name] = json.loads(manifest.read_text())
        except ValueError:
            continue  # a manifest is only ever replaced whole; an unreadable one is not ours
    return out


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _headline(run: dict) -> list[tuple[str, str]]:
    records = run.get("records") or {}
    names = run.get("headline") or [k for k, v in records.items() if isinstance(v, (int, float, str))]
    return [(n, _format(records[n])) for n in names[:MAX_HEADLINE] if n in records]


def build_index(reports_dir: Path | None = None) -> Path:
    """Write ``reports/index.html`` from the run manifests (and HTML copies of the notebooks); return its path."""
    reports_dir = Path(reports_dir or project_root() / "reports")
    with index_lock(reports_dir):
        manifests = read_manifests(reports_dir)
        for data in manifests.values():
            for run in data["runs"]:
                if run.get("output") and (reports_dir / run["output"]).exists():
                    notebook_to_html(reports_dir / run["output"])
        index = reports_dir / "index.html"
        _atomic_write(index, index_page(reports_dir, manifests))
    return index


def index_page(reports_dir: Path, manifests: dict[str, dict], *, pending: set[str] = frozenset()) -> str:
    """Return the text of ``index.html`` for ``manifests``; a run links to its notebook when the file exists
    or its output is in ``pending`` (about to be renamed into place by the runner)."""
    sections = []
    for _, data in sorted(manifests.items()):
        rows = []
        for run in sorted(data["runs"], key=lambda r: r["name"]):
            links = ""
            if run.get("output"):
                nb = reports_dir / run["output"]
                if nb.exists() or run["output"] in pending:
                    page = nb.with_suffix(".html")
                    links = (f'<a href="{html.escape(str(page.relative_to(reports_dir)))}">html</a> · '
                             f'<a href="{html.escape(run["output"])}">ipynb</a>')
            results = "<br>".join(f"<code>{html.escape(k)}</code> = {html.escape(v)}" for k, v in _headline(run))
            status = run["status"] if run["status"] == "ok" else f'failed: {html.escape(run.get("error") or "")}'
            rows.append(
                f'<tr class="{run["status"]}"><td>{html.escape(run["name"])}</td><td>{status}</td>'
                f'<td>{run["seconds"]:.1f} s</td><td>{results}</td><td>{links}</td>'
                f'<td><code>{html.escape(str(run.get("run_id") or ""))}</code></td></tr>'
            )
        sections.append(
            f'<h2>{html.escape(data["experiment"])}</h2><p>{html.escape(data.get("description", ""))} '
            f'<small>({html.escape(data.get("file", ""))})</small></p>'
            '<table><tr><th>run</th><th>status</th><th>time</th><th>headline results</th>'
            f'<th>notebook</th><th>MLflow run</th></tr>{"".join(rows)}</table>'
        )
    if not sections:
        sections.append("<p>No experiment has run yet: <code>make run</code> or "
                        "<code>recsys-study run experiments/default.yaml</code>.</p>")
    from recsys_study.comparison_report import leaderboard_html

    sections.insert(0, leaderboard_html(reports_dir))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>recsys_study reports</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}
tr.failed{{background:#fdd}}code{{font-size:90%}}</style></head><body>
<h1>recsys_study: executed studies</h1>
<p>Built {stamp}. Every number below was recorded by an executed notebook and logged to MLflow
(<code>{html.escape(tracking_uri())}</code>; browse with <code>make mlflow-ui</code>).</p>
<p>The offline report site (figures, rendered formulas, leaderboard, benchmarks, one page per MLflow run):
<a href="site/index.html">site/index.html</a>.</p>
{"".join(sections)}
</body></html>
"""
    return page
