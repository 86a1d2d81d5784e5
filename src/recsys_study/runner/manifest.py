"""``results.json``: what the runs of one experiment produced, validated whenever it is read."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from recsys_study.reporting.index import STATUSES, manifest_fault  # noqa: F401  (STATUSES re-exported)
from recsys_study.runner.errors import ExperimentSpecError



@dataclass
class RunResult:
    """What one notebook execution produced."""

    name: str
    notebook: str
    output: str
    status: str  # "ok" or "failed"
    seconds: float
    parameters: dict
    records: dict = field(default_factory=dict)
    headline: list[str] = field(default_factory=list)
    error: str | None = None
    run_id: str | None = None
    cpu_seconds: float | None = None  # the notebook's process tree, user + system (None: it never reported)


class ManifestError(ExperimentSpecError):
    """A ``results.json`` is not a manifest the runner wrote; the message names the file and the fault."""


def read_manifest(path: Path) -> dict | None:
    """Return the manifest at ``path`` (None when there is none yet); raise ManifestError when it is unreadable.

    A manifest is only ever replaced whole, so an unreadable one (truncated, edited, another program's) is
    named rather than read as empty: its runs would silently drop out of the index.
    """
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ManifestError(f"{path} is not valid JSON ({type(err).__name__}); restore it, or delete it to start "
                            "the experiment's index afresh (its reports stay on disk).") from None
    fault = manifest_fault(data)
    if fault:
        raise ManifestError(f"{path} is not a runner's manifest ({fault}); restore it, or delete it to start the "
                            "experiment's index afresh (its reports stay on disk).")
    return data


def read_manifests(reports_dir: Path, *, named: set | None = None) -> dict[str, dict]:
    """Return ``{experiment folder: manifest}`` of every valid ``runs/*/results.json``.

    Another experiment's unreadable manifest is left out and named on stderr (once per path in ``named``),
    so that it cannot stop this experiment's commit.
    """
    out = {}
    named = set() if named is None else named
    for path in sorted((reports_dir / "runs").glob("*/results.json")):
        try:
            out[path.parent.name] = read_manifest(path)
        except ManifestError as err:
            if path not in named:
                named.add(path)
                print(f"warning: {err} It is left out of the index.", file=sys.stderr, flush=True)
    return out


def merged(previous: dict | None, experiment, results: list[RunResult]) -> dict:
    """Return ``results.json``'s content: the ``previous`` manifest's runs with ``results`` merged in.

    Runs are listed in the experiment file's order (whatever order they finished in), then earlier
    runs that are no longer in the file.
    """
    runs = {r["name"]: r for r in (previous or {}).get("runs", [])}
    for r in results:
        runs[r.name] = asdict(r)
    position = {r.name: i for i, r in enumerate(experiment.runs)}
    ordered = sorted(runs.values(), key=lambda r: position.get(r["name"], len(position)))
    return {"experiment": experiment.name, "description": experiment.description,
            "file": str(experiment.path), "runs": ordered}


def measured_seconds(manifest: dict | None) -> dict[str, float]:
    """Return ``{run: seconds}`` of the runs that succeeded (a failed run's time is no measure)."""
    return {r["name"]: float(r["seconds"]) for r in (manifest or {}).get("runs", []) if r["status"] == "ok"}
