"""Execute one notebook with papermill: in this process (``execute_notebook``), or as a runner's child.

The runner starts one child process per notebook (``python -m recsys_study.runner.execute JOB``) in a
process group of its own. The child opens the notebook's parent MLflow run, executes the notebook,
logs its recorded scalars, attaches it to its runs, renders its HTML and writes ``result.json`` beside
it: all of that is the notebook's own work, so any of it failing is that notebook's failure. On
SIGINT, SIGTERM or SIGHUP (forwarded by the runner) the child kills its kernel's process group and
exits 128 + signum at once; the runner marks its runs KILLED.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from recsys_study.paths import ENV_ROOT, project_root

#: process groups of the kernels this process started (a kernel is a session leader of its own)
_KERNEL_GROUPS: list[int] = []


class NotebookExecutionError(RuntimeError):
    """A notebook failed; the message names the notebook, the cell and the error."""


def _kernel_manager(env: dict[str, str], cwd: Path):
    """A kernel manager class that starts its kernel in ``cwd`` with ``env`` added to this process's environment.

    Given to the kernel alone, so that a caller's own environment and directory stay as they are.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _Manager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            kw["cwd"] = str(cwd)
            # the kernel's own log (its note that localhost TCP is not encrypted, once per notebook) is
            # not the study's: errors still print; a cell's warnings and output go to the notebook as ever
            kw["extra_arguments"] = [*(kw.get("extra_arguments") or []), "--IPKernelApp.log_level=ERROR"]
            await super().start_kernel(**kw)
            if self.provisioner is not None and getattr(self.provisioner, "pgid", None):
                _KERNEL_GROUPS.append(self.provisioner.pgid)

    return _Manager


def execute_notebook(notebook: str | Path, output: str | Path, parameters: dict | None = None, *,
                     env: dict[str, str] | None = None, progress: bool = False) -> dict:
    """Execute ``notebook`` with papermill into ``output``; return its recorded results.

    The kernel runs with the project root as working directory and with ``env`` added to its
    environment. On failure raises NotebookExecutionError naming the failing cell and its error;
    the partial output notebook is left at ``output`` for inspection.
    """
    import papermill as pm

    from recsys_study.notebook import read_records

    root = project_root()
    # inline figures whatever the caller's MPLBACKEND (an exported Agg would leave reports without plots)
    # no progress bars inside a kernel: they land in the executed notebook as stderr noise
    updates = {"OPENBLAS_NUM_THREADS": "1", ENV_ROOT: str(root), "RECSYS_STUDY_PROGRESS": "0",
               "MPLBACKEND": "module://matplotlib_inline.backend_inline", **(env or {})}
    try:
        pm.execute_notebook(  # absolute paths, and no cwd= (an os.chdir): the kernel gets its directory
            str(Path(notebook).resolve()), str(Path(output).resolve()), parameters=parameters or {},
            progress_bar=progress, kernel_name="python3", log_output=False,
            kernel_manager_class=_kernel_manager(updates, root),
        )
    except pm.PapermillExecutionError as err:
        raise NotebookExecutionError(
            f"{Path(notebook).name}: cell {err.exec_count} raised {err.ename}: {err.evalue}"
        ) from err
    return read_records(output)


class _NotebookFailed(Exception):
    """Raised inside the parent run so that it ends FAILED."""


def run_job(job: dict) -> dict:
    """Execute one run of an experiment as described by ``job`` (written by the runner); return its outcome.

    ``job`` holds the notebook, the parameters, the experiment and run names, the runner's tags and
    the folder to write into. The outcome names the executed notebook and its HTML in that folder
    (``<run>.failed.ipynb`` when the notebook failed), its status, error, records and parent run id.
    """
    from recsys_study import reports, tracking

    folder, name, experiment = Path(job["folder"]), job["run"], job["experiment"]
    executed = folder / f"{name}.ipynb"
    start, cpu = time.perf_counter(), _cpu_seconds()
    records, error = {}, None
    try:
        with tracking.start_run(name, experiment=experiment, params=job["parameters"], tags=job["tags"]) as parent:
            run_id = parent.info.run_id
            env = {tracking.ENV_PARENT: run_id, tracking.ENV_EXPERIMENT: experiment,
                   tracking.ENV_NOTEBOOK: Path(job["notebook"]).name}
            try:
                records = execute_notebook(job["notebook"], executed, job["parameters"], env=env)
            except Exception as err:
                error = str(err) if isinstance(err, NotebookExecutionError) else f"{type(err).__name__}: {err}"
                tracking.end_running_children(run_id, status="FAILED")  # runs its kernel could not end
                if executed.exists():
                    executed = executed.replace(folder / f"{name}.failed.ipynb")
            numeric = {k: v for k, v in records.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if numeric:
                tracking.log_metrics(numeric)
            if executed.exists():
                _attach_notebook(executed, run_id, experiment)
                executed.with_suffix(".html").write_text(reports.render_notebook(executed), encoding="utf-8")
            tracking.set_tag("status", "failed" if error else "ok")
            if error:
                raise _NotebookFailed(error)
    except _NotebookFailed:
        pass
    return {"status": "failed" if error else "ok", "error": error, "records": records, "run_id": run_id,
            "seconds": round(time.perf_counter() - start, 2), "cpu_seconds": round(_cpu_seconds() - cpu, 2),
            "notebook": executed.name if executed.exists() else None}


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of every descendant it has waited for (the kernel, and
    the worker processes the kernel waited for): what the notebook cost, whatever else the machine did."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _attach_notebook(path: Path, parent_id: str, experiment: str) -> None:
    from recsys_study import tracking

    tracking.log_artifact(path, run_id=parent_id, artifact_path="notebook")
    children = tracking.search_runs(experiment, filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")
    for child in children.get("run_id", []):
        tracking.log_artifact(path, run_id=child, artifact_path="notebook")


def _stop(signum, frame) -> None:
    """Kill the kernel's process group and leave at once: the runner ends this notebook's runs."""
    for group in _KERNEL_GROUPS:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    os._exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Entry point of a runner's child: run the job file named by the one argument; exit 0 once ``result.json``
    is written, 1 with one line on stderr when the notebook's own bookkeeping failed."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    job_file = Path((sys.argv[1:] if argv is None else argv)[0])
    job = json.loads(job_file.read_text(encoding="utf-8"))
    os.environ[ENV_ROOT] = job["root"]
    try:
        outcome = run_job(job)
    except Exception as err:  # rendering, MLflow, a full disk: this notebook's failure, told in one line
        text = " ".join(str(err).split())[:300]
        print(f"{type(err).__name__}: {text}", file=sys.stderr, flush=True)
        return 1
    written = job_file.with_name("result.json.part")
    written.write_text(json.dumps(outcome, default=str), encoding="utf-8")
    written.replace(job_file.with_name("result.json"))
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # no interpreter teardown: MLflow's threads and nbclient's at-exit clean-up add seconds
