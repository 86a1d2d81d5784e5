"""The experiment runner, one module per job.

- ``spec``: read an experiment YAML file within bounds and check it whole against its notebooks
  (``parameters``: what a notebook's parameters cell declares);
- ``execute``: execute one notebook (in this process, or as a runner's child process);
- ``run``: schedule the children, hold the experiment lock, commit results (``manifest``:
  ``results.json``), forward signals.
"""

from recsys_study.runner.errors import ExperimentBusyError, ExperimentSpecError, Interrupted
from recsys_study.runner.execute import NotebookExecutionError, execute_notebook
from recsys_study.runner.manifest import ManifestError, RunResult
from recsys_study.runner.parameters import PARAMETER_RANGES, PARAMETER_TYPES, UNKNOWN_DEFAULT
from recsys_study.runner.run import DEFAULT_TIMEOUT, default_jobs, experiment_lock, run_experiment
from recsys_study.runner.spec import (
    DEFAULT_MAX_RUNS, SAFE_NAME, Experiment, RunSpec, list_experiments, load_experiment,
)

__all__ = [
    "DEFAULT_MAX_RUNS", "DEFAULT_TIMEOUT", "PARAMETER_RANGES", "PARAMETER_TYPES", "SAFE_NAME", "UNKNOWN_DEFAULT",
    "Experiment", "ExperimentBusyError", "ExperimentSpecError", "Interrupted", "ManifestError",
    "NotebookExecutionError", "RunResult", "RunSpec", "default_jobs", "execute_notebook", "experiment_lock",
    "list_experiments", "load_experiment", "run_experiment",
]
