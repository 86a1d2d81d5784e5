"""The experiment runner: YAML validation before anything runs, failures reported, reports atomic."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from recsys_study import experiments, reports, tracking
from recsys_study.runner.parameters import notebook_parameters
from recsys_study.runner.run import _longest_first
from recsys_study.cli import main
from recsys_study.notebook import read_records


def _notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# toy"),
        nbformat.v4.new_code_cell("x = 1\nfail = False\nquick = False", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body),
    ]
    nbformat.write(nb, path)
    return path


TOY_BODY = textwrap.dedent("""
    from recsys_study import tracking
    from recsys_study.notebook import record
    if fail:
        raise ZeroDivisionError("toy failure on purpose")
    with tracking.start_run("toy_model", params={"x": x}):
        tracking.log_metrics({"NDCG@10": x / 10})
    record("double_x", 2 * x)
    record("quick_seen", quick)
""")


@pytest.fixture
def toy(tmp_path, monkeypatch):
    # notebooks must live inside the repository: the toy's repository is tmp_path
    monkeypatch.setenv("RECSYS_STUDY_ROOT", str(tmp_path))
    nb = _notebook(tmp_path / "toy.ipynb", TOY_BODY)

    def write_yaml(text: str) -> Path:
        path = tmp_path / "exp.yaml"
        path.write_text(textwrap.dedent(text).replace("NB", str(nb)))
        return path

    return write_yaml


@pytest.mark.parametrize("text, message", [
    ("name: e\nrunz: []\n", "unknown top-level key(s) ['runz']"),
    ("name: e\nruns: []\n", "non-empty list 'runs'"),
    ("name: e\nruns:\n  - name: a\n    notebook: NB\n    params: {x: 1}\n", "unknown key(s) ['params']"),
    ("name: e\nruns:\n  - name: a\n    notebook: NB\n    parameters: {y: 1}\n", "parameters name(s) ['y']"),
    ("name: e\nruns:\n  - name: a\n    notebook: NB\n    grid: {z: [1]}\n", "grid name(s) ['z']"),
    ("name: e\nruns:\n  - name: a\n    notebook: NB\n    grid: {x: []}\n", "must be a non-empty list"),
    ("name: e\nruns:\n  - name: a\n    notebook: nowhere/missing.ipynb\n", "does not exist"),
    ("name: e\nruns:\n  - name: a\n    notebook: NB\n  - name: a\n    notebook: NB\n", "duplicate run name"),
    ("name: e\nruns: [\n", "not valid YAML"),
    ("name: e\nruns:\n  - name: a\n    notebook: NB\n    parameters: {x: ten}\n", "x = 'ten' should be an integer"),
    ("name: e\nruns:\n  - name: a\n    notebook: NB\n    grid: {fail: [false, 3]}\n", "grid.fail = 3 should be true/false"),
])
def test_bad_experiment_file_is_rejected_before_running(toy, text, message):
    path = toy(text)
    with pytest.raises(experiments.ExperimentSpecError) as err:
        experiments.load_experiment(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_grid_expands_to_one_run_per_combination_and_quick_overrides(toy):
    path = toy("""
        name: e
        runs:
          - name: a
            notebook: NB
            parameters: {x: 1}
            grid: {x: [2, 3], fail: [false]}
            quick: {x: 9}
    """)
    exp = experiments.load_experiment(path)
    assert [r.name for r in exp.runs] == ["a__x=2__fail=False", "a__x=3__fail=False"]
    assert [r.parameters["x"] for r in exp.runs] == [2, 3]  # grid wins over parameters
    quick = experiments.load_experiment(path, quick=True)
    assert all(r.parameters["quick"] is True for r in quick.runs)


def test_runner_reports_a_failing_notebook_and_runs_the_others(toy, tmp_path):
    path = toy("""
        name: runner_test
        description: toy
        runs:
          - name: good
            notebook: NB
            parameters: {x: 4}
            headline: [double_x]
          - name: bad
            notebook: NB
            parameters: {fail: true}
    """)
    out = tmp_path / "reports"
    code = main(["run", str(path), "--quick", "--reports-dir", str(out)])
    assert code == 1
    run_dir = out / "runs" / "runner_test"
    assert (run_dir / "good.ipynb").exists()
    assert read_records(run_dir / "good.ipynb") == {"double_x": 8, "quick_seen": True}
    assert not (run_dir / "bad.ipynb").exists()
    assert (run_dir / "bad.failed.ipynb").exists()
    assert not list(run_dir.glob(".*running*"))
    manifest = json.loads((run_dir / "results.json").read_text())
    by_name = {r["name"]: r for r in manifest["runs"]}
    assert by_name["good"]["status"] == "ok"
    assert by_name["bad"]["status"] == "failed"
    # the notebook's CPU is its whole process tree: the kernel alone (imports, start-up) costs more than 0
    assert by_name["good"]["cpu_seconds"] > 0 and by_name["bad"]["cpu_seconds"] > 0
    assert "ZeroDivisionError" in by_name["bad"]["error"] and "toy failure on purpose" in by_name["bad"]["error"]
    index = (out / "index.html").read_text()
    assert "double_x" in index and "ZeroDivisionError" in index and "good.html" in index

    # MLflow: the parent run carries the recorded scalar and the notebook; the model run is its child
    runs = tracking.search_runs("runner_test")
    parent = runs[runs["tags.mlflow.runName"] == "good"].iloc[0]
    assert parent["metrics.double_x"] == 8
    child = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]].iloc[0]
    assert child["metrics.NDCG_at_10"] == pytest.approx(0.4)
    assert child["params.x"] == "4"
    import mlflow

    client = mlflow.MlflowClient()
    for run_id in (parent["run_id"], child["run_id"]):
        assert [a.path for a in client.list_artifacts(run_id, "notebook")] == ["notebook/good.ipynb"]
    bad = runs[runs["tags.mlflow.runName"] == "bad"].iloc[0]
    assert bad["tags.status"] == "failed"

    # a later failure of a run that once succeeded leaves the good report in place
    good_before = (run_dir / "good.ipynb").read_bytes()
    path.write_text(path.read_text().replace("parameters: {x: 4}", "parameters: {x: 4, fail: true}"))
    assert main(["run", str(path), "--only", "good", "--reports-dir", str(out), "--no-report"]) == 1
    assert (run_dir / "good.ipynb").read_bytes() == good_before
    assert (run_dir / "good.failed.ipynb").exists()


def test_only_with_an_unknown_run_name_is_an_error(toy, capsys):
    path = toy("name: e\nruns:\n  - name: a\n    notebook: NB\n")
    assert main(["run", str(path), "--only", "zzz"]) == 2
    assert "no such run" in capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_must_be_a_whole_number_of_at_least_one(toy, capsys, jobs):
    path = toy("name: e\nruns:\n  - name: a\n    notebook: NB\n")
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(path), "--jobs", jobs])
    assert exit_.value.code == 2
    assert f"{jobs!r} is not a whole number >= 1" in capsys.readouterr().err
    with pytest.raises(experiments.ExperimentSpecError, match="whole number >= 1"):
        experiments.run_experiment(experiments.load_experiment(path), jobs=0)


def test_longest_first_takes_measured_times_over_the_files_hints(toy, tmp_path):
    path = toy("""
        name: e
        runs:
          - {name: a, notebook: NB, expected_seconds: 50}
          - {name: b, notebook: NB, expected_seconds: 10}
          - {name: c, notebook: NB}
          - {name: d, notebook: NB, expected_seconds: 30}
    """)
    exp = experiments.load_experiment(path)
    order = lambda: [r.name for r in _longest_first(exp.runs, tmp_path)]  # noqa: E731
    assert order() == ["c", "a", "d", "b"]  # no hint: first, in file order; then the longest hint
    (tmp_path / "results.json").write_text(json.dumps({"experiment": "e", "runs": [
        {"name": "b", "status": "ok", "seconds": 99.0}, {"name": "d", "status": "failed", "seconds": 0.1}]}))
    assert order() == ["c", "b", "a", "d"]  # b's measured 99 s beats a's hint; a failed run's time is no measure
    bad = toy("name: e\nruns:\n  - {name: a, notebook: NB, expected_seconds: soon}\n")
    with pytest.raises(experiments.ExperimentSpecError, match="'expected_seconds' must be a number of seconds"):
        experiments.load_experiment(bad)


def test_cli_help_explains_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for word in ("run", "list", "report", "data", "MLFLOW_TRACKING_URI", "examples"):
        assert word in text


def test_every_shipped_experiment_file_is_valid():
    found = experiments.list_experiments()
    assert "default" in {e.name for e in found}
    for exp in found:
        assert exp.runs, exp.path


def test_report_index_without_runs_says_how_to_start(tmp_path):
    page = reports.build_index(tmp_path).read_text()
    assert "make run" in page


def test_parameters_are_read_from_the_cell_source_not_line_patterns(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        'algorithms = [\n    {"algorithm": "ease", "params": {"lam": 250}},\n]\nk = 10  # k = list length\n'
        "a, b = 1, 2\nthreshold: float = 4.0\n",
        metadata={"tags": ["parameters"]})]
    path = tmp_path / "p.ipynb"
    nbformat.write(nb, path)
    params = notebook_parameters(path)
    assert set(params) == {"algorithms", "k", "a", "b", "threshold"}
    assert params["k"] == 10 and params["threshold"] == 4.0
    assert params["algorithms"] == [{"algorithm": "ease", "params": {"lam": 250}}]
    assert params["a"] is experiments.UNKNOWN_DEFAULT  # tuple unpacking: not checked
