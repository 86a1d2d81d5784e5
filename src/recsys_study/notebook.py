"""A notebook's bookkeeping in one call, and its recorded results read back.

``publish(run_name, headline=..., figures=..., tables=...)`` ends a notebook: one MLflow run with
the parameters papermill injected (``parameters()``), the headline's numbers as metrics, the tables
and figures as artifacts, and every headline value recorded for the report index.
``record(name, value)`` displays a small JSON payload under a private mimetype
(the scrapbook "glue" convention, without its dependency). Tests and the report
builder read the values back with ``read_records`` from the executed ``.ipynb``.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Mapping

import numpy as np

MIMETYPE = "application/vnd.recsys-study.record+json"


def _jsonable(value):
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) else value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def record(name: str, value) -> None:
    """Store ``value`` under ``name`` in the notebook's output, invisibly; return None.

    ``value`` must be JSON-serialisable after numpy scalars are converted
    (numbers, strings, bools, lists and dicts of them). The payload travels under a private
    mimetype with an empty text form, so the reader sees no raw dict: the numbers reach the
    reader through the notebook's own tables and conclusions, and the report site's index.
    """
    from IPython.display import display

    payload = {"name": name, "value": _jsonable(value)}
    json.dumps(payload)  # fail here, in the notebook, if the value cannot be stored
    display({MIMETYPE: payload, "text/plain": ""}, raw=True)


def read_records(notebook) -> dict:
    """Return ``{name: value}`` of every ``record`` call in an executed notebook (last one wins)."""
    import nbformat  # here, not at import: nbformat's jsonschema costs every notebook kernel ~2.5 s of CPU

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)
    out = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIMETYPE in data:
                payload = data[MIMETYPE]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                out[payload["name"]] = payload["value"]
    return out


PAPERMILL_HEADER = "# Parameters"  # the first line of the cell papermill injects after the ``parameters`` cell


def _literal_assignments(source: str) -> dict | None:
    """Return ``{name: value}`` when every statement of ``source`` assigns a literal to a name, else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    out = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target = node.target  # ``sample_frac: float | None = None``
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = node.targets[0]
        else:
            return None
        try:
            out[target.id] = ast.literal_eval(node.value)
        except ValueError:
            return None
    return out or None


def parameters(history=None) -> dict:
    """Return the notebook's parameters as this run received them: ``{name: value}``.

    Read from the kernel's input history (``In``): the first executed cell made only of literal
    assignments is the ``parameters`` cell (its defaults); a later cell that starts with papermill's
    ``# Parameters`` line holds the values the runner injected, which win. Works the same when a
    student runs the notebook by hand (the defaults, or their own edits of that cell). ``history``
    (a list of cell sources) replaces ``In`` for tests.
    """
    if history is None:
        from IPython import get_ipython

        shell = get_ipython()
        history = [] if shell is None else list(shell.user_ns.get("In", []))
    params: dict = {}
    found = False
    for source in history:
        values = _literal_assignments(source or "")
        if values is None:
            continue
        if not found:
            params.update(values)
            found = True
        elif source.lstrip().startswith(PAPERMILL_HEADER):
            params.update(values)
    return params


def _number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _metrics_of(values: Mapping, prefix: str = "") -> dict[str, float]:
    """Flatten the finite numbers of ``values`` (nested dicts joined with dots) into MLflow metrics."""
    out = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_metrics_of(value, f"{name}."))
        elif _number(value) and math.isfinite(float(value)):
            out[name] = float(value)
    return out


def publish(run_name: str, *, headline: Mapping, experiment: str | None = None, figures=None, tables=None,
            metrics: Mapping | None = None, records: Mapping | None = None, params: Mapping | None = None,
            dataset=None, split=None, seed: int | None = None, tags: Mapping[str, str] | None = None) -> str:
    """Log the notebook's results to one MLflow run and record them for the index; return the run id.

    - parameters: ``parameters()`` (what papermill injected over the ``parameters`` cell), updated by
      ``params``; the seed is the ``seed`` parameter unless given;
    - metrics: every finite number of ``headline`` and ``metrics`` (nested dicts flattened with dots:
      ``{"ndcg": {"ease": 0.4}}`` → ``ndcg.ease``);
    - artifacts: ``tables`` (``{name: DataFrame}``; row labels other than 0..n−1 are kept as columns) as CSV and
      ``figures`` (``{name: Figure}``, or a list named ``figure_1`` …) as PNG;
    - records: every item of ``headline`` and of ``records`` (``record``), read by the report index.
    The run is opened with ``tracking.start_run`` (provenance, dataset fingerprint, split, status
    FAILED if logging fails); nothing is recorded unless the run was logged.
    """
    from recsys_study import tracking

    logged = {**parameters(), **dict(params or {})}
    if seed is None and _number(logged.get("seed")):
        seed = int(logged["seed"])
    if figures is not None and not isinstance(figures, Mapping):
        figures = {f"figure_{i}": fig for i, fig in enumerate(figures, start=1)}
    with tracking.start_run(run_name, experiment=experiment, params=logged, dataset=dataset, split=split,
                            seed=seed, tags=tags) as run:
        numbers = {**_metrics_of(headline), **_metrics_of(metrics or {})}
        if numbers:
            tracking.log_metrics(numbers)
        for name, frame in (tables or {}).items():
            import pandas as pd

            labelled = not isinstance(frame.index, pd.RangeIndex)  # row labels are data: keep them as columns
            tracking.log_table(frame.reset_index() if labelled else frame, name)
        for name, fig in (figures or {}).items():
            tracking.log_figure(fig, name)
        run_id = run.info.run_id
    for name, value in {**dict(headline), **dict(records or {})}.items():
        record(name, value)
    return run_id
