"""publish(): a notebook's bookkeeping in one call, against a real (temporary) MLflow store."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from recsys_study import notebook  # noqa: E402

DEFAULTS = 'quick = False\nseed = 42\ndataset = "master"   # or "sample"\ncut_points = [0.01, 0.04]\nrate = -0.5\n'
INJECTED = "# Parameters\nseed = 7\nquick = True\n"


def test_parameters_are_the_defaults_overridden_by_what_papermill_injected():
    history = ["", DEFAULTS, INJECTED, "import numpy as np", "x = 5"]  # "x = 5": a later cell, not a parameter
    assert notebook.parameters(history) == {"quick": True, "seed": 7, "dataset": "master",
                                                "cut_points": [0.01, 0.04], "rate": -0.5}


def test_annotated_parameters_are_read_too():
    assert notebook.parameters(["sample_frac: float | None = None\nseed = 1\n"]) == {"sample_frac": None, "seed": 1}


def test_parameters_by_hand_are_the_defaults_and_code_is_never_evaluated():
    history = ["import os", "seed = 42\nk = 10\n", "y = os.getcwd()", "x = 5"]
    assert notebook.parameters(history) == {"seed": 42, "k": 10}
    assert notebook.parameters(["import os", "n = len('abc')"]) == {}
    assert notebook.parameters([]) == {}


def test_publish_logs_one_run_and_records_every_headline_value(mlflow_store, monkeypatch):
    recorded = {}
    monkeypatch.setattr(notebook, "record", lambda name, value: recorded.__setitem__(name, value))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    table = pd.DataFrame({"model": ["a", "b"], "ndcg": [0.3, 0.4]}).set_index("model")
    headline = {"best_model": "b", "ndcg": {"a": 0.3, "b": 0.4}, "n_users": 943, "ok": True,
                "missing": float("nan")}
    run_id = notebook.publish("unit", experiment="publish_test", headline=headline, figures=[fig],
                              tables={"ndcg": table}, metrics={"extra": 2.5}, records={"conclusion": "b wins"},
                              params={"seed": 3, "k": 10})
    client = mlflow.MlflowClient(tracking_uri=mlflow_store)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["ndcg.a"] == 0.3 and run.data.metrics["ndcg.b"] == 0.4
    assert run.data.metrics["n_users"] == 943 and run.data.metrics["extra"] == 2.5
    assert "ok" not in run.data.metrics and "missing" not in run.data.metrics  # a bool and a NaN are no metrics
    assert run.data.params["seed"] == "3" and run.data.params["k"] == "10"
    assert {a.path for a in client.list_artifacts(run_id, "tables")} == {"tables/ndcg.csv"}
    assert {a.path for a in client.list_artifacts(run_id, "figures")} == {"figures/figure_1.png"}
    csv = pd.read_csv(client.download_artifacts(run_id, "tables/ndcg.csv"))
    assert list(csv.columns) == ["model", "ndcg"]  # the named index became a column
    assert recorded.keys() == {*headline, "conclusion"} and recorded["best_model"] == "b"
    plt.close(fig)


def test_publish_records_nothing_when_logging_fails(mlflow_store, monkeypatch):
    recorded = {}
    monkeypatch.setattr(notebook, "record", lambda name, value: recorded.__setitem__(name, value))
    with pytest.raises(AttributeError):
        notebook.publish("broken", experiment="publish_test", headline={"x": 1.0}, tables={"t": "not a frame"})
    assert recorded == {}
    runs = mlflow.MlflowClient(tracking_uri=mlflow_store).search_runs(
        [mlflow.get_experiment_by_name("publish_test").experiment_id], "attributes.run_name = 'broken'")
    assert [r.info.status for r in runs] == ["FAILED"]
