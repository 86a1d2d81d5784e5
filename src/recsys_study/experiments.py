"""Execute notebooks with papermill, alone or as the runs of an experiment YAML file."""

from __future__ import annotations

import os
from contextlib import contextmanager
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
    updates = {"OPENBLAS_NUM_THREADS": "1", "RECSYS_STUDY_ROOT": str(root), **(env or {})}
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
