"""Execute notebooks with papermill, alone or as the runs of an experiment YAML file."""

from __future__ import annotations

import itertools
import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from recsys_study.notebook import read_records
from recsys_study.tracking import project_root


class NotebookExecutionError(RuntimeError):
    """A notebook failed; the message names the notebook, the cell and the error."""


@contextmanager
def _environ(updates: dict[str, str]):
    old = {k: os.environ.get(k) for k in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute_notebook(
    notebook: str | Path,
    output: str | Path,
    parameters: dict | None = None,
    *,
    env: dict[str, str] | None = None,
    progress: bool = False,
) -> dict:
    """Execute ``notebook`` with papermill into ``output``; return its recorded results.

    The kernel runs with the project root as working directory and with ``env``
    added to its environment. On failure raises NotebookExecutionError naming the
    failing cell and its error; the partial output notebook is left at ``output``
    for inspection (the runner decides where that is).
    """
    import papermill as pm

    root = project_root()
    # inline figures whatever the caller's MPLBACKEND (an exported Agg would leave reports without plots)
    updates = {"OPENBLAS_NUM_THREADS": "1", "RECSYS_STUDY_ROOT": str(root),
               "MPLBACKEND": "module://matplotlib_inline.backend_inline", **(env or {})}
    with _environ(updates):
        try:
            pm.execute_notebook(
                str(notebook), str(output), parameters=parameters or {}, cwd=str(root),
                progress_bar=progress, kernel_name="python3", log_output=False,
            )
        except pm.PapermillExecutionError as err:
            raise NotebookExecutionError(
                f"{Path(notebook).name}: cell {err.exec_count} raised {err.ename}: {err.evalue}"
            ) from err
    return read_records(output)


# -- experiment YAML files ------------------------------------------------------------------------
TOP_KEYS = {"name", "description", "runs"}
RUN_KEYS = {"name", "notebook", "parameters", "grid", "quick", "headline"}


class ExperimentSpecError(ValueError):
    """An experiment YAML file is malformed; raised before anything runs, naming the problem."""


@dataclass
class RunSpec:
    """One notebook execution of an experiment, after grid expansion."""

    name: str
    notebook: Path
    parameters: dict
    headline: list[str] = field(default_factory=list)


@dataclass
class Experiment:
    """A parsed, validated experiment file."""

    name: str
    description: str
    path: Path
    runs: list[RunSpec]


UNKNOWN_DEFAULT = object()  # a default that is not a literal (an expression): its type is not checked


def _notebook_parameters(notebook: Path) -> dict:
    """Return ``{name: default}`` for the names assigned at top level in the cell tagged ``parameters``.

    Read with ``ast`` rather than papermill's line parser, which misses assignments whose
    comment holds an ``=`` or whose value spans several lines (a list of model specs).
    Defaults that are not literals map to ``UNKNOWN_DEFAULT``.
    """
    import ast

    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if not cells:
        raise ExperimentSpecError(f"{notebook}: no cell tagged 'parameters'; papermill cannot inject parameters.")
    params: dict = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        try:
            default = ast.literal_eval(value) if value is not None else UNKNOWN_DEFAULT
        except ValueError:
            default = UNKNOWN_DEFAULT
        for target in targets:
            names = [leaf.id for leaf in ast.walk(target) if isinstance(leaf, ast.Name)]
            for name in names:
                params[name] = default if len(names) == 1 else UNKNOWN_DEFAULT
    return params


def _type_mismatch(default, value) -> str | None:
    """Return the expected type's name when ``value`` cannot stand for a parameter whose default is ``default``."""
    if default is UNKNOWN_DEFAULT or default is None or value is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true/false"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    if isinstance(default, float):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(default, (list, tuple)):
        return None if isinstance(value, (list, tuple)) else "a list"
    if isinstance(default, dict):
        return None if isinstance(value, dict) else "a mapping"
    return None


def load_experiment(path: str | Path, *, quick: bool = False) -> Experiment:
    """Read and validate an experiment YAML file; return it with its grid expanded.

    Rejected before anything runs, with a message naming the fault: YAML syntax errors,
    unknown keys, a missing notebook, a parameter (or grid key) not in the notebook's
    ``parameters`` cell, duplicate run names, an empty grid axis.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ExperimentSpecError(f"{path}: no such experiment file; `recsys-study list` shows the available ones.")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ExperimentSpecError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(spec, dict):
        raise ExperimentSpecError(f"{path}: the top level must be a mapping with keys {sorted(TOP_KEYS)}.")
    unknown = set(spec) - TOP_KEYS
    if unknown:
        raise ExperimentSpecError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}.")
    if not spec.get("name") or not isinstance(spec.get("runs"), list) or not spec["runs"]:
        raise ExperimentSpecError(f"{path}: needs a 'name' and a non-empty list 'runs'.")
    root = project_root()
    runs: list[RunSpec] = []
    for i, run in enumerate(spec["runs"]):
        where = f"{path}: runs[{i}]"
        if not isinstance(run, dict):
            raise ExperimentSpecError(f"{where}: each run must be a mapping with keys {sorted(RUN_KEYS)}.")
        where = f"{path}: run {run.get('name', i)!r}"
        unknown = set(run) - RUN_KEYS
        if unknown:
            raise ExperimentSpecError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(RUN_KEYS)}.")
        for key in ("name", "notebook"):
            if not run.get(key):
                raise ExperimentSpecError(f"{where}: missing required key {key!r}.")
        notebook = (root / run["notebook"]) if not Path(run["notebook"]).is_absolute() else Path(run["notebook"])
        if not notebook.is_file():
            raise ExperimentSpecError(f"{where}: notebook {run['notebook']!r} does not exist (looked at {notebook}).")
        declared = _notebook_parameters(notebook)
        params = dict(run.get("parameters") or {})
        grid = dict(run.get("grid") or {})
        quick_params = dict(run.get("quick") or {})
        for section, names in (("parameters", params), ("grid", grid), ("quick", quick_params)):
            bad = [p for p in names if p not in declared]
            if bad:
                raise ExperimentSpecError(
                    f"{where}: {section} name(s) {bad} are not in the parameters cell of {run['notebook']}; "
                    f"its parameters are {sorted(declared)}."
                )
        for axis, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ExperimentSpecError(f"{where}: grid axis {axis!r} must be a non-empty list, got {values!r}.")
        candidates = [(f"parameters.{k}", k, v) for section in (params, quick_params) for k, v in section.items()]
        candidates += [(f"grid.{k}", k, v) for k, values in grid.items() for v in values]
        for label, name, value in candidates:
            expected = _type_mismatch(declared[name], value)
            if expected:
                raise ExperimentSpecError(
                    f"{where}: {label} = {value!r} should be {expected}, like its default "
                    f"{declared[name]!r} in {run['notebook']}."
                )
        if quick:
            params.update(quick_params)
            if "quick" in declared:
                params["quick"] = True
        headline = list(run.get("headline") or [])
        for combo in itertools.product(*grid.values()) if grid else [()]:
            values = dict(zip(grid, combo))
            suffix = "".join(f"__{k}={v}" for k, v in values.items())
            runs.append(RunSpec(name=f"{run['name']}{suffix}", notebook=notebook,
                                parameters={**params, **values}, headline=headline))
    names = [r.name for r in runs]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ExperimentSpecError(f"{path}: duplicate run name(s) {dups}; give each run its own name.")
    return Experiment(name=str(spec["name"]), description=str(spec.get("description", "")), path=path, runs=runs)


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


def run_experiment(experiment: Experiment, *, only: list[str] | None = None, reports_dir: Path | None = None,
                   progress: bool = True) -> list[RunResult]:
    """Execute every run of ``experiment`` (or those named in ``only``); return their results.

    Each notebook executes into a temporary file beside its destination and is renamed to
    ``reports/runs/<experiment>/<run>.ipynb`` only when it succeeds, so a failure never
    leaves a half-written report in place of a good one; the failed attempt is kept as
    ``<run>.failed.ipynb``. A failing notebook does not stop the others. Each execution
    is a parent MLflow run (params, recorded scalars as metrics, the notebook as an
    artifact); runs opened inside the notebook are its children and get the notebook too.
    """
    from tqdm.auto import tqdm

    from recsys_study import tracking

    runs = experiment.runs
    if only:
        unknown = [n for n in only if not any(r.name == n or r.name.startswith(f"{n}__") for r in runs)]
        if unknown:
            raise ExperimentSpecError(
                f"--only {unknown}: no such run in {experiment.path}; runs are {[r.name for r in runs]}."
            )
        runs = [r for r in runs if any(r.name == n or r.name.startswith(f"{n}__") for n in only)]
    out_dir = Path(reports_dir or project_root() / "reports") / "runs" / experiment.name
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[RunResult] = []
    bar = tqdm(runs, desc=experiment.name, unit="notebook", disable=not progress)
    for run in bar:
        bar.set_postfix_str(run.name)
        final = out_dir / f"{run.name}.ipynb"
        failed = out_dir / f"{run.name}.failed.ipynb"
        tmp = out_dir / f".{run.name}.running.ipynb"
        start = time.perf_counter()
        with tracking.start_run(run.name, experiment=experiment.name, params=run.parameters,
                                tags={"notebook": str(run.notebook.name), "kind": "notebook"}) as parent:
            run_id = parent.info.run_id
            env = {tracking.ENV_PARENT: run_id, tracking.ENV_EXPERIMENT: experiment.name,
                   tracking.ENV_NOTEBOOK: str(run.notebook.name)}
            error = None
            try:
                records = execute_notebook(run.notebook, tmp, run.parameters, env=env)
                os.replace(tmp, final)
                failed.unlink(missing_ok=True)
                status = "ok"
            except Exception as err:  # the other runs go on; the error is reported
                error = str(err) if isinstance(err, NotebookExecutionError) else f"{type(err).__name__}: {err}"
                records = {}
                if tmp.exists():
                    os.replace(tmp, failed)
                status = "failed"
            numeric = {k: v for k, v in records.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if numeric:
                tracking.log_metrics(numeric)
            kept = final if status == "ok" else failed
            if kept.exists():
                _attach_notebook(kept, run_id, experiment.name)
            tracking.set_tag("status", status)
        results.append(RunResult(
            name=run.name, notebook=str(run.notebook.relative_to(project_root()))
            if run.notebook.is_relative_to(project_root()) else str(run.notebook),
            output=str(kept.relative_to(out_dir.parent.parent)) if kept.exists() else "",
            status=status, seconds=round(time.perf_counter() - start, 2), parameters=run.parameters,
            records=records, headline=run.headline, error=error, run_id=run_id,
        ))
        if error:
            tqdm.write(f"FAILED {experiment.name}/{run.name}: {error}")
    _write_manifest(out_dir, experiment, results)
    return results


def _attach_notebook(path: Path, parent_id: str, experiment: str) -> None:
    from recsys_study import tracking

    tracking.log_artifact(path, run_id=parent_id, artifact_path="notebook")
    children = tracking.search_runs(experiment, filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")
    for child in children.get("run_id", []):
        tracking.log_artifact(path, run_id=child, artifact_path="notebook")


def _write_manifest(out_dir: Path, experiment: Experiment, results: list[RunResult]) -> None:
    """Write ``results.json`` (merged with earlier runs of the same experiment) atomically."""
    manifest_path = out_dir / "results.json"
    previous = {}
    if manifest_path.exists():
        try:
            previous = {r["name"]: r for r in json.loads(manifest_path.read_text())["runs"]}
        except (ValueError, KeyError):
            previous = {}
    for r in results:
        previous[r.name] = asdict(r)
    payload = {"experiment": experiment.name, "description": experiment.description,
               "file": str(experiment.path), "runs": list(previous.values())}
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    os.replace(tmp, manifest_path)


def list_experiments(directory: Path | None = None) -> list[Experiment]:
    """Return every parsable experiment under ``experiments/`` (errors propagate with the file's name)."""
    directory = Path(directory or project_root() / "experiments")
    return [load_experiment(p) for p in sorted(directory.glob("*.yaml"))]
