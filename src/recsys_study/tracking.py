"""The one place that talks to MLflow.

By default runs go to a local store inside the project: ``sqlite:///<root>/mlruns.db``
with artifacts under ``<root>/mlartifacts``. ``MLFLOW_TRACKING_URI`` overrides it.

When the experiment runner executes a notebook it opens a parent run and passes its
id through the environment (``RECSYS_STUDY_PARENT_RUN_ID``); runs opened inside the
notebook become its children, and the runner attaches the executed notebook to all of
them afterwards. Run standalone (JupyterLab), a notebook's runs are top-level runs.

MLflow 3 sends usage telemetry over the network by default (a config fetch and batched events from a
background thread: about 1.6 CPU-s and 2 s of wall time in every process that opens a run). The study
makes no network calls at run time, so importing this module turns it off
(``MLFLOW_DISABLE_TELEMETRY=true`` unless the caller set the variable).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import pandas as pd

from recsys_study.paths import ENV_ROOT, project_root  # noqa: F401  (re-exported: tracking.project_root)

# before any import of mlflow (read when mlflow's telemetry client starts); inherited by kernels and workers
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

ENV_PARENT = "RECSYS_STUDY_PARENT_RUN_ID"
ENV_EXPERIMENT = "RECSYS_STUDY_EXPERIMENT"
ENV_NOTEBOOK = "RECSYS_STUDY_NOTEBOOK"
DEFAULT_EXPERIMENT = "recsys-study"
TRACKED_PACKAGES = (
    "numpy", "pandas", "scipy", "scikit-learn", "implicit", "mlflow", "papermill",
    "lifetimes", "seminr", "semopy", "statsmodels", "pyarrow", "recsys-study",
)


def default_tracking_uri() -> str:
    """Return the project's own store: ``sqlite:///<root>/mlruns.db``."""
    return f"sqlite:///{project_root() / 'mlruns.db'}"


def tracking_uri() -> str:
    """Return the tracking URI in force: ``$MLFLOW_TRACKING_URI`` or the project's sqlite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def _mlflow():
    import logging
    import warnings

    if "mlflow" not in sys.modules:  # catch_warnings is not thread-safe: only around the first import
        with warnings.catch_warnings():
            # mlflow imports tqdm.auto, which in a kernel without ipywidgets warns "IProgress not found"
            # with the venv's path into every executed notebook
            warnings.filterwarnings("ignore", message="IProgress not found")
            import mlflow
    import mlflow

    # alembic (and mlflow's store set-up) announce every migration of a new sqlite store at INFO
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(tracking_uri())
    return mlflow


def client():
    """Return an ``mlflow.MlflowClient`` of the store in force: the public way to read runs and their artifacts."""
    return _mlflow().MlflowClient(tracking_uri())


def experiment_id(name: str) -> str:
    """Return the id of experiment ``name``, creating it (with a project-local artifact store) if needed."""
    mlflow = _mlflow()
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    artifact_location = None
    # mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI, so compare values, not presence
    if tracking_uri() == default_tracking_uri():
        artifact_location = (project_root() / "mlartifacts" / re.sub(r"[^\w.-]", "_", name)).as_uri()
    try:
        created = mlflow.create_experiment(name, artifact_location=artifact_location)
        _retire_empty_default(mlflow)
        return created
    except Exception:  # created concurrently by another process
        exp = mlflow.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


def _retire_empty_default(mlflow) -> None:
    """Delete MLflow's own ``Default`` experiment (id 0) while it holds no run.

    Every new store creates it; beside the study's ``default`` experiment it reads as a duplicate.
    Our runs always name their experiment, so nothing is lost; a run logged there is never deleted.
    """
    client = mlflow.MlflowClient()
    try:
        default = client.get_experiment("0")
        if default.lifecycle_stage == "active" and default.name == "Default" and \
                not client.search_runs(["0"], max_results=1, run_view_type=3):
            client.delete_experiment("0")
    except Exception:  # another store layout, or deleted concurrently: not worth failing a run for
        pass


def dataset_input(data, name: str | None = None):
    """Return ``(mlflow dataset, fingerprint)`` for a ``Dataset`` or a DataFrame.

    The MLflow dataset is ``mlflow.data.from_pandas`` of the interactions (or of the frame) with
    the content fingerprint (``data.frame_fingerprint``, SHA-256 of the values) as its digest, so the
    MLflow UI's "Datasets" column names the exact data of the run.
    """
    import mlflow.data

    from recsys_study.data.dataset import frame_fingerprint

    if isinstance(data, pd.DataFrame):
        frame, fingerprint, name = data, frame_fingerprint(data), name or "data"
    else:
        frame, fingerprint, name = data.interactions, data.fingerprint, name or data.name
    import warnings

    with warnings.catch_warnings():  # the schema's note on integer columns is for model signatures
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
        ds = mlflow.data.from_pandas(frame, name=name, digest=fingerprint[:36])
        ds.schema  # inferred lazily (at log_input, outside this filter) unless read here
        return ds, fingerprint


def metric_key(name: str) -> str:
    """Return an MLflow-safe metric name: ``NDCG@10`` -> ``NDCG_at_10``."""
    return re.sub(r"[^\w.\- /]", "_", name.replace("@", "_at_"))


def git_commit(root: Path | None = None) -> str:
    """Return the current git commit of the project, with ``-dirty`` if the tree has changes, or "unknown"."""
    root = root or project_root()
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=10,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@lru_cache(maxsize=1)
def _installed_versions() -> tuple[tuple[str, str], ...]:
    # read once per process: a comparison of ten models opens ten runs
    out = [("python", sys.version.split()[0])]
    for name in TRACKED_PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return tuple(out)


def package_versions() -> dict[str, str]:
    """Return the installed versions of the packages whose numbers a result depends on."""
    return dict(_installed_versions())


def _flatten(params: Mapping, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, prefix=f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            flat[name] = text[:6000]
    return flat


@contextmanager
def start_run(
    run_name: str,
    *,
    experiment: str | None = None,
    params: Mapping | None = None,
    dataset=None,
    split=None,
    seed: int | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator:
    """Open an MLflow run that records the study's provenance; yield the active run.

    Logged on entry: ``params`` (nested dicts flattened with dots), the dataset name
    and fingerprint (``dataset``: a ``Dataset`` or a DataFrame, also logged as an MLflow dataset
    input whose digest is the fingerprint; without one, the split's train part is the input), the split spec (``split.spec``), the seed, the git commit, the
    package versions (tags and ``environment.json``), and the notebook path when the
    runner set one. Logged on exit: ``wall_time_s``; status FAILED if the block raised.
    Under the experiment runner, ``experiment`` yields to the runner's experiment so that the
    run stays a child of the notebook's parent run.
    """
    mlflow = _mlflow()
    if os.environ.get(ENV_PARENT) and os.environ.get(ENV_EXPERIMENT):
        # under the runner a child must live in its parent's experiment, or the nesting breaks
        exp_name = os.environ[ENV_EXPERIMENT]
    else:
        exp_name = experiment or os.environ.get(ENV_EXPERIMENT) or DEFAULT_EXPERIMENT
    all_tags = {"git_commit": git_commit()}
    if os.environ.get(ENV_PARENT):
        all_tags["mlflow.parentRunId"] = os.environ[ENV_PARENT]
    if os.environ.get(ENV_NOTEBOOK):
        all_tags["notebook"] = os.environ[ENV_NOTEBOOK]
    versions = package_versions()
    all_tags.update({f"version.{k}": v for k, v in versions.items()})
    all_tags.update(tags or {})
    start = time.perf_counter()
    run = mlflow.start_run(run_name=run_name, experiment_id=experiment_id(exp_name), tags=all_tags)
    try:
        logged = dict(params or {})
        if seed is not None:
            logged["seed"] = seed
        if dataset is not None:
            ds, fingerprint = dataset_input(dataset)
            mlflow.log_input(ds, context="training", tags={"fingerprint": fingerprint})
            described = {} if isinstance(dataset, pd.DataFrame) else dataset.describe()
            logged["dataset"] = {"name": ds.name, "fingerprint": fingerprint,
                                 **{k: v for k, v in described.items() if k != "dataset"}}
        elif split is not None:  # the data the run learned from, when the caller named no dataset
            ds, fingerprint = dataset_input(split.train, name="train")
            mlflow.log_input(ds, context="training", tags={"fingerprint": fingerprint})
        if split is not None:
            logged["split"] = dict(split.spec)
        if logged:
            mlflow.log_params(_flatten(logged))
        mlflow.log_dict(versions, "environment.json")
        yield run
    except BaseException as err:
        # an interrupt (Ctrl-C, or SIGTERM turned into KeyboardInterrupt by the runner) is KILLED, not FAILED
        status = "KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED"
        try:
            mlflow.log_metric("wall_time_s", time.perf_counter() - start)
        finally:
            mlflow.end_run(status=status)
        raise
    else:
        mlflow.log_metric("wall_time_s", time.perf_counter() - start)
        mlflow.end_run(status="FINISHED")


def log_metrics(metrics: Mapping[str, float], *, step: int | None = None) -> None:
    """Log scalar metrics to the active run; names are made MLflow-safe (``NDCG@10`` -> ``NDCG_at_10``)."""
    mlflow = _mlflow()
    mlflow.log_metrics({metric_key(k): float(v) for k, v in metrics.items()}, step=step)


def log_table(df: pd.DataFrame, name: str) -> None:
    """Log a frame as a CSV artifact ``tables/<name>.csv`` of the active run."""
    mlflow = _mlflow()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.csv"
        df.to_csv(path, index=False)
        mlflow.log_artifact(str(path), artifact_path="tables")


def log_figure(fig, name: str) -> None:
    """Log a matplotlib figure as ``figures/<name>.png`` of the active run."""
    mlflow = _mlflow()
    mlflow.log_figure(fig, f"figures/{name}.png")


class _RecommenderModel:
    """MLflow pyfunc wrapper of a fitted recommender: ``predict`` takes a frame with a ``user``
    column (and optionally ``k``, default 10) and returns the ``user, item, score, rank`` lists."""

    def __new__(cls, *args, **kwargs):  # subclass PythonModel lazily: mlflow is imported on first use
        import mlflow.pyfunc

        class RecommenderModel(mlflow.pyfunc.PythonModel):
            def load_context(self, context):
                import pickle

                with open(context.artifacts["recommender"], "rb") as fh:
                    self.model = pickle.load(fh)

            def predict(self, context, model_input, params=None):
                frame = pd.DataFrame(model_input)
                if "user" not in frame.columns:
                    raise ValueError(f"the input needs a 'user' column, got columns {list(frame.columns)}")
                k = int(frame["k"].iloc[0]) if "k" in frame.columns else int((params or {}).get("k", 10))
                return self.model.recommend(frame["user"].tolist(), k=k)

        return RecommenderModel()


def log_recommender(model, name: str = "recommender"):
    """Log a fitted recommender to the active run as an MLflow pyfunc model; return its model info.

    The fitted object is pickled as an artifact; ``mlflow.pyfunc.load_model(info.model_uri)``
    gives back a model whose ``predict(pd.DataFrame({"user": [...], "k": [10, ...]}))`` returns the
    same top-k lists as ``model.recommend(users, k)``. Requirements are pinned to this package's
    version (no inference pass over the environment).
    """
    import pickle

    mlflow = _mlflow()
    import mlflow.pyfunc

    if not hasattr(model, "user_index_"):
        raise ValueError(f"log_recommender needs a fitted recommender; call {type(model).__name__}.fit(train) first.")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recommender.pkl"
        with path.open("wb") as fh:
            pickle.dump(model, fh)
        import logging
        import warnings

        # the wrapper is ours (cloudpickled by design) and takes frames, not type-hinted inputs
        pyfunc_log = logging.getLogger("mlflow.pyfunc")
        level = pyfunc_log.level
        pyfunc_log.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*type hints.*", category=UserWarning)
                return mlflow.pyfunc.log_model(
                    name=name, python_model=_RecommenderModel(), artifacts={"recommender": str(path)},
                    pip_requirements=[f"recsys-study=={metadata.version('recsys-study')}"],
                )
        finally:
            pyfunc_log.setLevel(level)


def log_artifact(path: str | Path, *, run_id: str, artifact_path: str | None = None) -> None:
    """Attach a file to an existing run (used by the runner for executed notebooks)."""
    mlflow = _mlflow()
    mlflow.MlflowClient().log_artifact(run_id, str(path), artifact_path=artifact_path)


def search_runs(experiment: str | None = None, filter_string: str = "") -> pd.DataFrame:
    """Return the runs of one experiment (or all) as a frame, newest first."""
    mlflow = _mlflow()
    if experiment is None:
        return mlflow.search_runs(search_all_experiments=True, filter_string=filter_string)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        return pd.DataFrame()
    return mlflow.search_runs([exp.experiment_id], filter_string=filter_string)


def set_tag(key: str, value: str) -> None:
    """Set a tag on the active run."""
    _mlflow().set_tag(key, value)


def end_running_children(parent_id: str, *, status: str = "KILLED") -> list[str]:
    """End every RUNNING run whose ``mlflow.parentRunId`` is ``parent_id`` with ``status``; return their ids.

    Used by the runner when a notebook's kernel is stopped: the runs it had opened can no longer end themselves.
    """
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    ended = []
    found = client.search_runs(
        experiment_ids=[e.experiment_id for e in client.search_experiments()],
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}' and attributes.status = 'RUNNING'",
    )
    for run in found:
        client.set_terminated(run.info.run_id, status=status)
        ended.append(run.info.run_id)
    return ended


class TrackingStoreError(RuntimeError):
    """The tracking store cannot take runs; the message names the URI and the fix."""


#: MLflow's own HTTP retry defaults wait minutes before an unreachable server is reported
HTTP_ENV_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
                     "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}


def check_store(uri: str | None = None, *, timeout: float = 3.0) -> str:
    """Check, within about ``timeout`` seconds, that the tracking store at ``uri`` can take runs; return the URI.

    ``http(s)://``: a TCP connection and one REST call (``experiments/search``) each bounded by ``timeout``,
    whose answer must be MLflow's JSON (an HTTP error or another server's page is refused); MLflow's HTTP
    retries are then lowered (``HTTP_ENV_DEFAULTS``, unless already set) so that a server lost during the
    run fails fast too, and MLflow's own client makes the same call. ``sqlite:///PATH``: an existing database must open for writing
    (a table created and rolled back), a new one needs an existing, writable folder. ``file:`` or a plain path: the folder
    (or its nearest existing parent) must be writable. Any other scheme must be one MLflow's client can
    search experiments with (an unknown scheme is refused).
    Raises TrackingStoreError with one line naming the URI and the fix.
    """
    import sqlite3
    import urllib.error
    import urllib.parse
    import urllib.request

    uri = uri or tracking_uri()
    parsed = urllib.parse.urlparse(uri)
    scheme = parsed.scheme.lower()
    fix_env = "set MLFLOW_TRACKING_URI to a store you can write to, or unset it to use the project's mlruns.db"
    if scheme in ("http", "https"):
        import socket

        port = parsed.port or (443 if scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname, port), timeout=timeout).close()
        except OSError as err:
            raise TrackingStoreError(
                f"tracking store {uri} is unreachable ({err.strerror or err}); start the MLflow server "
                f"(mlflow server --host {parsed.hostname} --port {port}) or {fix_env}.") from None
        url = uri.rstrip("/") + "/api/2.0/mlflow/experiments/search?max_results=1"
        not_mlflow = f"does not answer as an MLflow tracking server at {url}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                body = answer.read(1_000_000)
        except urllib.error.HTTPError as err:  # any refusal: the runs would fail the same way, later
            if err.code in (401, 403):
                raise TrackingStoreError(
                    f"tracking store {uri} refuses access (HTTP {err.code}); set MLFLOW_TRACKING_TOKEN or "
                    f"MLFLOW_TRACKING_USERNAME/PASSWORD, or {fix_env}.") from None
            kind = "a server error" if err.code >= 500 else "an error"
            raise TrackingStoreError(
                f"tracking store {uri} {not_mlflow} ({kind}: HTTP {err.code}); check the address and the MLflow "
                f"server's log, or {fix_env}.") from None
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise TrackingStoreError(
                f"tracking store {uri} {not_mlflow} ({err}); check the address or {fix_env}.") from None
        try:
            answer_ok = isinstance(json.loads(body), dict)
        except ValueError:
            answer_ok = False
        if not answer_ok:
            raise TrackingStoreError(
                f"tracking store {uri} {not_mlflow} (the answer is not MLflow's JSON); check the address or "
                f"{fix_env}.")
        for key, value in HTTP_ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
        _check_with_mlflow(uri, fix_env)
        return uri
    if scheme == "sqlite":
        path = Path(urllib.parse.unquote(uri[len("sqlite:///"):]).split("?")[0])
        if not path.is_absolute():
            path = Path.cwd() / path
        if path.exists():
            try:
                con = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=timeout)
                try:
                    # a real write, rolled back: sqlite opens a write-protected file read-only without a word
                    con.execute("BEGIN IMMEDIATE")
                    con.execute("CREATE TABLE main._recsys_study_write_probe (x)")
                    con.execute("ROLLBACK")
                finally:
                    con.close()
            except sqlite3.Error as err:
                raise TrackingStoreError(
                    f"tracking store {uri} is not writable ({err}); make {path} and its folder writable "
                    f"or {fix_env}.") from None
            _check_writable_dir(path.parent, uri, fix_env)
        else:
            if not path.parent.is_dir():
                raise TrackingStoreError(
                    f"tracking store {uri}: folder {path.parent} does not exist; create it or {fix_env}.")
            _check_writable_dir(path.parent, uri, fix_env)
        if uri == default_tracking_uri():
            artifacts = project_root() / "mlartifacts"
            _check_writable_dir(artifacts if artifacts.exists() else artifacts.parent, uri, fix_env)
        _init_sqlite_store(path, uri, fix_env)
        return uri
    if scheme in ("", "file"):
        path = Path(urllib.parse.unquote(parsed.path) if scheme == "file" else uri).absolute()
        existing = next(p for p in (path, *path.parents) if p.exists())
        _check_writable_dir(existing, uri, fix_env)
        return uri
    _check_with_mlflow(uri, fix_env)  # another scheme (databricks, a plugin's): MLflow's own client must take it
    return uri


def _check_with_mlflow(uri: str, fix_env: str) -> None:
    """Make the call the runs will make first (search experiments) with MLflow's client; raise one line if it fails."""
    mlflow = _mlflow()
    try:
        mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as err:  # an unknown scheme, a server that is not MLflow, a plugin that fails
        first = " ".join(str(err).split())[:400]
        raise TrackingStoreError(
            f"tracking store {uri} cannot be used by MLflow ({type(err).__name__}: {first}); {fix_env}.") from None


def _init_sqlite_store(path: Path, uri: str, fix_env: str) -> None:
    """Create (or migrate) MLflow's tables one process at a time: runners started together on a new
    store raced to create them and all but one failed ("table already exists")."""
    import fcntl

    mlflow = _mlflow()
    fd = os.open(path.parent, os.O_RDONLY)  # a lock on the folder: no lock file left beside the store
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as err:  # a file that is not an MLflow store, a failed migration
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        raise TrackingStoreError(
            f"tracking store {uri} cannot be opened by MLflow ({type(err).__name__}: {first}); "
            f"{fix_env}.") from None
    finally:
        os.close(fd)  # closing releases the lock


def _check_writable_dir(folder: Path, uri: str, fix_env: str) -> None:
    """Create and remove a probe file in ``folder`` (permission bits alone say nothing for root)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise TrackingStoreError(
            f"tracking store {uri}: cannot write in {folder} ({err.strerror or err}); make it writable "
            f"or {fix_env}.") from None
