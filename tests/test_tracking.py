"""MLflow tracking: a run lands in the (temporary) store with its provenance."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from recsys_study import tracking
from recsys_study.data.dataset import Dataset
from recsys_study.split import user_stratified_split


def _dataset():
    frame = pd.DataFrame({"user": [1, 1, 1, 2, 2, 2, 3, 3], "item": [1, 2, 3, 1, 2, 4, 2, 3],
                          "rating": [5.0, 3, 4, 2, 5, 1, 4, 4], "timestamp": range(8)})
    return Dataset("toy", frame)


def test_a_run_records_params_metrics_and_provenance(mlflow_store):
    data = _dataset()
    split = user_stratified_split(data.interactions, seed=3)
    with tracking.start_run("unit", experiment="tracking_test", params={"model": {"k": 5}}, dataset=data,
                            split=split, seed=3) as run:
        tracking.log_metrics({"NDCG@10": 0.25, "RMSE": 0.9})
        tracking.log_table(pd.DataFrame({"a": [1]}), "table")
    got = mlflow.MlflowClient(tracking_uri=mlflow_store).get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.metrics["NDCG_at_10"] == 0.25 and got.data.metrics["RMSE"] == 0.9
    assert got.data.metrics["wall_time_s"] >= 0
    params = got.data.params
    assert params["model.k"] == "5" and params["seed"] == "3"
    assert params["dataset.fingerprint"] == data.fingerprint and params["dataset.name"] == "toy"
    assert params["split.kind"] == "user_stratified" and params["split.seed"] == "3"
    tags = got.data.tags
    assert tags["git_commit"] != "" and tags["version.pandas"] == pd.__version__
    artifacts = {a.path for a in mlflow.MlflowClient(tracking_uri=mlflow_store).list_artifacts(run.info.run_id)}
    assert {"environment.json", "tables"} <= artifacts


def test_logging_integer_columns_as_a_dataset_input_warns_nothing(mlflow_store):
    # MLflow's schema hint on integer columns concerns model signatures; it used to land in every report
    import warnings

    split = user_stratified_split(_dataset().interactions, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tracking.start_run("ints", experiment="tracking_test", split=split) as run:
            pass
    inputs = mlflow.MlflowClient(tracking_uri=mlflow_store).get_run(run.info.run_id).inputs.dataset_inputs
    assert [i.dataset.name for i in inputs] == ["train"]


def test_a_run_that_raises_is_marked_failed(mlflow_store):
    with pytest.raises(RuntimeError):
        with tracking.start_run("boom", experiment="tracking_test") as run:
            raise RuntimeError("boom")
    assert mlflow.MlflowClient(tracking_uri=mlflow_store).get_run(run.info.run_id).info.status == "FAILED"


def test_tracking_uri_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert tracking.tracking_uri() == "sqlite:///elsewhere.db"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("RECSYS_STUDY_ROOT", str(tmp_path))
    assert tracking.tracking_uri() == f"sqlite:///{tmp_path / 'mlruns.db'}"


def test_metric_names_are_made_mlflow_safe():
    assert tracking.metric_key("NDCG@10") == "NDCG_at_10"
    assert tracking.metric_key("hit rate (k=5)") == "hit rate _k_5_"


def test_git_commit_is_unknown_outside_a_repository(tmp_path):
    assert tracking.git_commit(tmp_path) == "unknown"


def test_under_the_runner_a_run_joins_its_parents_experiment(mlflow_store, monkeypatch):
    with tracking.start_run("parent", experiment="runner_exp") as parent:
        pass
    monkeypatch.setenv(tracking.ENV_PARENT, parent.info.run_id)
    monkeypatch.setenv(tracking.ENV_EXPERIMENT, "runner_exp")
    with tracking.start_run("child", experiment="somewhere_else") as child:
        pass
    client = mlflow.MlflowClient(tracking_uri=mlflow_store)
    got = client.get_run(child.info.run_id)
    assert got.info.experiment_id == parent.info.experiment_id
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id
    monkeypatch.delenv(tracking.ENV_PARENT)
    with tracking.start_run("standalone", experiment="somewhere_else") as alone:
        pass
    assert client.get_run(alone.info.run_id).info.experiment_id != parent.info.experiment_id


def test_importing_tracking_turns_mlflow_telemetry_off():
    """The study makes no network calls at run time: MLflow's usage telemetry is off once tracking is imported,
    in a process whose environment did not set it (a kernel or a user's own script)."""
    import os
    import subprocess
    import sys

    # MLflow also stays quiet where it sees a CI or test variable (PYTEST_CURRENT_TEST among them): a user's
    # machine has none of them, so neither does this child
    quiet = {"MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "CI", "CIRCLECI",
             "GITLAB_CI", "JENKINS_URL", "TRAVIS", "TF_BUILD", "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ARN",
             "BUILDKITE", "TEAMCITY_VERSION", "CLOUD_RUN_EXECUTION", "RUNBOT_HOST_URL", "RUNBOT_BUILD_NAME",
             "RUNBOT_WORKER_ID"}
    env = {k: v for k, v in os.environ.items() if k not in quiet}
    code = ("import recsys_study.tracking, os; from mlflow.telemetry.utils import is_telemetry_disabled; "
            "print(os.environ['MLFLOW_DISABLE_TELEMETRY'], is_telemetry_disabled())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["true", "True"]
    code_off = "from mlflow.telemetry.utils import is_telemetry_disabled; print(is_telemetry_disabled())"
    # the check can fail: without the module's setting, this machine's MLflow would send telemetry
    assert subprocess.run([sys.executable, "-c", code_off], env=env, capture_output=True, text=True,
                          check=True).stdout.split() == ["False"]
