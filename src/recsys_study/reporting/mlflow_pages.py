"""One site page per MLflow run of the studies (and their child runs), and a list of them.

A page shows the run's parameters, metrics, dataset inputs with their fingerprints, git commit and links to
its artifact files. Per-user tables (an artifact whose name holds ``per_user``) are not linked: the public
site shows aggregates only; they stay in the MLflow store.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from recsys_study import tracking
from recsys_study.reporting.pages import SitePages, relative

PER_USER = "per_user"


def read_runs(run_ids: list[str]) -> list:
    """Return the MLflow runs ``run_ids`` and their children; [] when the project's store does not exist."""
    uri = tracking.tracking_uri()
    if not run_ids or (uri == tracking.default_tracking_uri() and not Path(uri.removeprefix("sqlite:///")).exists()):
        return []  # the site never creates a store
    client = tracking.client()
    runs = []
    for rid in run_ids:
        try:
            parent = client.get_run(rid)
        except Exception:  # a manifest from another store
            continue
        runs.append(parent)
        runs += client.search_runs([parent.info.experiment_id],
                                   filter_string=f"tags.mlflow.parentRunId = '{rid}'", max_results=500)
    return runs


def _artifacts(client, run_id: str, path: str = "", *, folder: Path | None = None) -> list[str]:
    """Return the artifact paths of a run, sorted. A run whose artifacts are a local folder (``folder``) is
    listed from the disk (MLflow's client costs about 50 ms a run: a store query per folder level)."""
    if folder is not None:
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    out = []
    for info in client.list_artifacts(run_id, path or None):
        out += _artifacts(client, run_id, info.path) if info.is_dir else [info.path]
    return sorted(out)


def _run_context(client, run, page: Path, shown: set[str]) -> dict:
    info, data = run.info, run.data
    base = urlparse(info.artifact_uri)
    artifacts, withheld = [], 0
    local = Path(unquote(base.path)) if base.scheme in ("file", "") else None
    for path in _artifacts(client, info.run_id, folder=local):
        if PER_USER in Path(path).name:
            withheld += 1
        elif base.scheme in ("file", ""):
            artifacts.append((path, relative(Path(unquote(base.path)) / path, page)))
        else:
            artifacts.append((path, ""))
    parent = data.tags.get("mlflow.parentRunId")
    return {
        "info": info, "commit": data.tags.get("git_commit", "unknown"),
        "parent": parent if parent in shown else "",
        "fingerprint": data.params.get("dataset.fingerprint") or data.tags.get("dataset.fingerprint") or "",
        "datasets": [inp.dataset for inp in (getattr(run.inputs, "dataset_inputs", None) or [])],
        "metrics": sorted(data.metrics.items()), "params": sorted(data.params.items()),
        "artifacts": artifacts, "withheld": withheld,
    }


def write_run_pages(runs: list, pages: SitePages) -> Path | None:
    """Write ``mlflow/<run_id>.html`` per run and ``mlflow/index.html``; return the list's path (None: no runs)."""
    if not runs:
        return None
    client = tracking.client()
    shown = {r.info.run_id for r in runs}
    for run in runs:
        page = pages.root / "mlflow" / f"{run.info.run_id}.html"
        pages.write("mlflow_run.html.j2", page, f"MLflow run {run.info.run_name or run.info.run_id}",
                    run=_run_context(client, run, page, shown))
    page = pages.root / "mlflow" / "index.html"
    listing = [(r.info.run_id, r.info.run_name or "", r.data.tags.get("mlflow.parentRunId", "")[:8], r.info.status)
               for r in runs]
    return pages.write("mlflow_runs.html.j2", page, "MLflow runs of the studies", runs=listing)
