"""Guards of the experiment runner against hostile files and misbehaving stores, processes and kernels.

Each refusal is one line on stderr with exit code 2 and nothing written; each run that cannot
finish ends FAILED or KILLED, never RUNNING. No assertion here depends on the wall clock or on
text that a third-party library logs.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import mlflow
import nbformat
import psutil
import pytest

from recsys_study import experiments
from recsys_study.cli import main
from recsys_study.runner.spec import MAX_DEPTH, MAX_FILE_BYTES, _check_run_names

TOY = textwrap.dedent("""
    import os, pathlib, time
    from recsys_study.notebook import record
    if hang:  # a kernel that never ends, inside a child run
        from recsys_study import tracking
        with tracking.start_run("toy_model"):
            pathlib.Path(marker).write_text(str(os.getpid()))
            while True:
                time.sleep(0.2)
    time.sleep(sleep)
    record("double_x", 2 * x)
""")


def _toy(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1\nsleep = 0.0\nmarker = ''\nhang = False",
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(TOY)]
    nbformat.write(nb, path)
    return path


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository of its own with the toy notebook and its own MLflow store; ``write`` makes an experiment file."""
    root = tmp_path / "repo"
    root.mkdir()
    _toy(root / "toy.ipynb")
    store = f"sqlite:///{tmp_path / 'mlruns.db'}"
    monkeypatch.setenv("RECSYS_STUDY_ROOT", str(root))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("RECSYS_STUDY_PROGRESS", "0")

    def write(text: str, name: str = "exp.yaml") -> Path:
        path = root / name
        path.write_text(textwrap.dedent(text))
        return path

    return {"root": root, "reports": tmp_path / "reports", "store": store, "write": write}


def _refused(repo, path: Path, capsys, *args: str) -> str:
    """Run the command line on ``path``; assert exit 2, one line on stderr and nothing written; return the line."""
    before = _files(repo["root"])
    assert main(["run", str(path), "--reports-dir", str(repo["reports"]), "--no-site", *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert _files(repo["root"]) == before and not repo["reports"].exists()
    return lines[0]


# -- the experiment file is bounded before anything is expanded ---------------------------------------
def test_a_billion_laughs_file_is_refused_for_its_aliases(repo, capsys):
    lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = repo["write"]("\n".join(lines) + "\nname: bomb\nruns:\n  - {name: r, notebook: toy.ipynb, grid: {x: *i}}\n")
    assert "line 2: an alias (*a)" in _refused(repo, path, capsys)


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_refused_before_the_reader_recurses(repo, capsys, opening, closing):
    path = repo["write"]("name: deep\nruns: " + opening * 5000 + "1" + closing * 5000 + "\n")
    assert f"nested deeper than {MAX_DEPTH} levels" in _refused(repo, path, capsys)


@pytest.mark.parametrize("text, message", [
    ("name: e\n1: x\nruns:\n  - {name: r, notebook: toy.ipynb}\n", "key 1 at the top level is int"),
    ("name: e\nruns:\n  - {name: r, notebook: toy.ipynb, 2: y}\n", "key 2 in runs[0] is int"),
    ("name: e\nruns:\n  - {name: r, notebook: toy.ipynb, parameters: {x: 1, null: 2}}\n",
     "key None in runs[0].parameters is NoneType"),
    ("name: e\nruns:\n  - {name: r, notebook: toy.ipynb, parameters: {x: 2024-01-01}}\n",
     "runs[0].parameters.x = '2024-01-01' is a date"),
])
def test_keys_must_be_strings_and_values_plain(repo, capsys, text, message):
    assert message in _refused(repo, repo["write"](text), capsys)


def test_a_grid_of_too_many_runs_is_refused_unless_the_limit_is_raised(repo, capsys):
    values = ", ".join(str(i) for i in range(40))
    path = repo["write"](f"name: e\nruns:\n  - {{name: r, notebook: toy.ipynb, grid: {{x: [{values}], sleep: [{values}]}}}}\n")
    line = _refused(repo, path, capsys)
    assert "expand to 1,600 runs, more than the limit of 1,000" in line and "--max-runs" in line
    assert "more than the limit of 100" in _refused(repo, path, capsys, "--max-runs", "100")
    assert len(experiments.load_experiment(path, max_runs=1600).runs) == 1600


def test_a_long_list_of_runs_counts_too(repo, capsys):
    runs = "".join(f"  - {{name: r{i}, notebook: toy.ipynb}}\n" for i in range(1001))
    assert "expand to 1,001 runs" in _refused(repo, repo["write"](f"name: e\nruns:\n{runs}"), capsys)


def test_a_yaml_syntax_error_is_one_line_with_its_place(repo, capsys):
    line = _refused(repo, repo["write"]("name: e\nruns: [\n  - name: r\n"), capsys)
    assert "not valid YAML at line 3, column 3" in line


def test_a_file_larger_than_the_limit_is_refused_unread(repo, capsys):
    path = repo["write"]("name: e\n# " + "x" * MAX_FILE_BYTES + "\nruns: []\n")
    assert "more than an experiment file may hold" in _refused(repo, path, capsys)


def test_a_run_name_cannot_take_the_name_of_another_runs_failed_attempt(repo, capsys):
    path = repo["write"]("name: e\nruns:\n  - {name: a, notebook: toy.ipynb}\n  - {name: a.failed, notebook: toy.ipynb}\n")
    assert "run name(s) ['a.failed'] end in '.failed'" in _refused(repo, path, capsys)
    path = repo["write"]("name: e\nruns:\n  - {name: a, notebook: toy.ipynb, grid: {marker: [x, x.failed]}}\n")
    with pytest.raises(experiments.ExperimentSpecError, match=r"\['a__marker=x.failed'\] end in '.failed'"):
        experiments.load_experiment(path)  # nor can a grid value make such a name


def test_the_duplicate_check_names_the_duplicate_among_ten_thousand_runs():
    names = [f"r{i}" for i in range(10_000)]
    _check_run_names(Path("e.yaml"), names)  # a Counter: one pass, however many runs
    with pytest.raises(experiments.ExperimentSpecError, match=r"duplicate run name\(s\) \['r9999'\]"):
        _check_run_names(Path("e.yaml"), [*names, "r9999"])


def test_a_notebook_that_breaks_the_nbformat_schema_is_refused_up_front(repo, capsys):
    nb = json.loads((repo["root"] / "toy.ipynb").read_text())
    nb["cells"][1]["source"] = 12345
    (repo["root"] / "broken.ipynb").write_text(json.dumps(nb))
    line = _refused(repo, repo["write"]("name: e\nruns:\n  - {name: r, notebook: broken.ipynb}\n"), capsys)
    assert "notebook 'broken.ipynb' does not follow the Jupyter notebook schema (cells[1]" in line


# -- the tracking store must answer as MLflow --------------------------------------------------------
class _NotMlflow(http.server.BaseHTTPRequestHandler):
    code = 200

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(self.code)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>a web page, not MLflow</body></html>")

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(params=[200, 404])
def stub_server(request):
    handler = type("Handler", (_NotMlflow,), {"code": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", request.param
    server.shutdown()
    server.server_close()


def test_a_server_that_is_not_mlflow_is_refused_by_the_pre_flight(repo, capsys, monkeypatch, stub_server):
    uri, code = stub_server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    line = _refused(repo, repo["write"]("name: e\nruns:\n  - {name: r, notebook: toy.ipynb}\n"), capsys)
    assert line.startswith(f"error: tracking store {uri} does not answer as an MLflow tracking server")
    assert ("HTTP 404" if code == 404 else "the answer is not MLflow's JSON") in line


def test_an_unknown_tracking_scheme_is_refused_by_the_pre_flight(repo, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "foo://bar")
    line = _refused(repo, repo["write"]("name: e\nruns:\n  - {name: r, notebook: toy.ipynb}\n"), capsys)
    assert line.startswith("error: tracking store foo://bar cannot be used by MLflow")


# -- results.json is validated when read -------------------------------------------------------------
def test_a_truncated_results_json_is_named_not_read_as_empty(repo, capsys):
    out_dir = repo["reports"] / "runs" / "e"
    out_dir.mkdir(parents=True)
    (out_dir / "results.json").write_text('{"experiment": "e", "runs": [{"name": "a", "sta')
    path = repo["write"]("name: e\nruns:\n  - {name: r, notebook: toy.ipynb}\n")
    before = {p.name: p.read_bytes() for p in repo["reports"].rglob("*") if p.is_file()}
    assert main(["run", str(path), "--reports-dir", str(repo["reports"]), "--no-site"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{out_dir / 'results.json'} is not valid JSON" in lines[0]
    assert {p.name: p.read_bytes() for p in repo["reports"].rglob("*") if p.is_file()} == before


@pytest.mark.notebook
def test_another_experiments_bad_manifest_does_not_stop_this_ones_commit(repo, capsys):
    other = repo["reports"] / "runs" / "other"
    other.mkdir(parents=True)
    bad = json.dumps({"experiment": "other", "runs": [{"name": "x", "seconds": 1.0}]})  # no status
    (other / "results.json").write_text(bad)
    path = repo["write"]("name: e\nruns:\n  - {name: r, notebook: toy.ipynb, parameters: {x: 4}}\n")
    assert main(["run", str(path), "--reports-dir", str(repo["reports"]), "--no-site"]) == 0
    err = capsys.readouterr().err
    assert [line[line.index("warning:"):] for line in err.splitlines() if "warning:" in line] == [
        f"warning: {other / 'results.json'} is not a runner's manifest (run 'x' has status None, not one of "
        "['ok', 'failed']); restore it, or delete it to start the experiment's index afresh (its reports stay on "
        "disk). It is left out of the index."]
    assert (other / "results.json").read_text() == bad
    manifest = json.loads((repo["reports"] / "runs" / "e" / "results.json").read_text())
    assert [(r["name"], r["status"], r["records"]) for r in manifest["runs"]] == [("r", "ok", {"double_x": 8})]
    assert manifest["runs"][0]["run_id"] in (repo["reports"] / "index.html").read_text()


# -- nothing stays RUNNING ---------------------------------------------------------------------------
def _runs(store: str, experiment: str) -> dict[str, object]:
    client = mlflow.MlflowClient(tracking_uri=store)
    exp = client.get_experiment_by_name(experiment)
    return {r.info.run_id: r for r in client.search_runs([exp.experiment_id])}


@pytest.mark.notebook
def test_runs_left_running_by_a_killed_runner_are_marked_killed_at_start_up(repo):
    client = mlflow.MlflowClient(tracking_uri=repo["store"])
    exp_id = client.create_experiment("e")
    elsewhere = client.create_run(exp_id, run_name="r", tags={"runner": "far", "runner_process": "elsewhere:1:0"})
    dead = client.create_run(exp_id, run_name="r", tags={"runner": "old", "runner_process": f"{os.uname().nodename}:"
                                                                                            "999999999:0"})
    child = client.create_run(exp_id, run_name="toy_model", tags={"mlflow.parentRunId": dead.info.run_id})
    me = psutil.Process()
    alive = client.create_run(exp_id, run_name="r", tags={
        "runner": "live", "runner_process": f"{os.uname().nodename}:{me.pid}:{me.create_time():.2f}"})
    path = repo["write"]("name: e\nruns:\n  - {name: r, notebook: toy.ipynb}\n")
    try:
        assert main(["run", str(path), "--reports-dir", str(repo["reports"]), "--no-site"]) == 0
        runs = _runs(repo["store"], "e")
        assert runs[dead.info.run_id].info.status == "KILLED" and runs[child.info.run_id].info.status == "KILLED"
        assert "marked KILLED by the next run" in runs[dead.info.run_id].data.tags["note"]
        assert runs[alive.info.run_id].info.status == "RUNNING"  # its runner still runs: not ours to end
        assert runs[elsewhere.info.run_id].info.status == "RUNNING"  # another machine's runner: not ours to judge
    finally:
        for run in client.search_runs([exp_id], filter_string="attributes.status = 'RUNNING'"):
            client.set_terminated(run.info.run_id, status="KILLED")


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "recsys-study"
    return [str(script)] if script.exists() else [sys.executable, "-m", "recsys_study.cli"]


def _popen(repo, path: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([*_cli(), "run", str(path), "--reports-dir", str(repo["reports"]), "--no-site", *args],
                            cwd=repo["root"], env=env or dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen) -> int:
    while not (path.exists() and path.read_text()):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    return int(path.read_text())


def _gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.notebook
def test_a_hung_kernel_fails_at_the_per_notebook_timeout(repo, tmp_path):
    # the test waits the whole limit: 20 s lets an idle machine's kernel reach its child run (about 3 s);
    # on a loaded one it may not, and the run must fail just the same (the child checks then have nothing to see)
    marker = tmp_path / "hung"
    path = repo["write"](f"name: e\nruns:\n  - {{name: hung, notebook: toy.ipynb, parameters: {{hang: true, "
                         f"marker: {marker}}}}}\n")
    proc = _popen(repo, path, "--timeout", "20")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert "FAILED e/hung (" in out and "timed out after 20 s" in out
    (hung,) = json.loads((repo["reports"] / "runs" / "e" / "results.json").read_text())["runs"]
    assert hung["status"] == "failed" and hung["error"].startswith("timed out after 20 s") and hung["output"] == ""
    runs = _runs(repo["store"], "e")
    assert "RUNNING" not in {r.info.status for r in runs.values()}
    parent = runs[hung["run_id"]]
    assert parent.info.status == "FAILED"
    if marker.exists():  # the kernel got as far as its child run (on a very loaded machine it may not have)
        assert _gone(int(marker.read_text()))
        children = [r for r in runs.values() if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert [r.info.status for r in children] == ["FAILED"]
    assert sorted(p.name for p in (repo["reports"] / "runs" / "e").iterdir()) == [".lock", "results.json"]


@pytest.mark.notebook
def test_sighup_stops_the_notebooks_like_sigterm(repo, tmp_path):
    marker = tmp_path / "started"
    path = repo["write"](f"name: e\nruns:\n  - {{name: r, notebook: toy.ipynb, parameters: {{hang: true, "
                         f"marker: {marker}}}}}\n")
    proc = _popen(repo, path)
    kernel = _wait_for(marker, proc)
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGHUP, err
    assert [line for line in err.splitlines() if "interrupted" in line] == [
        "interrupted by SIGHUP: the running notebooks were stopped and their MLflow runs marked KILLED; reports of "
        "finished runs are kept."]
    assert _gone(kernel)
    runs = _runs(repo["store"], "e")
    assert sorted(r.info.status for r in runs.values()) == ["KILLED", "KILLED"]  # the parent and its child
    assert [p.name for p in (repo["reports"] / "runs" / "e").iterdir()] == [".lock"]


@pytest.mark.notebook
def test_a_notebooks_own_rendering_error_is_that_notebooks_failure(repo, tmp_path):
    # a full disk while one notebook's HTML is rendered (in that notebook's process): the other notebook is
    # committed, the runner itself goes on and ends with exit code 1, not a traceback
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(textwrap.dedent("""
        import os
        if os.environ.get("BREAK_RENDERING"):
            import recsys_study.reports as reports
            real = reports.render_notebook
            def render_notebook(path):
                if "broken" in str(path):
                    raise OSError(28, "No space left on device")
                return real(path)
            reports.render_notebook = render_notebook
    """))
    path = repo["write"]("""
        name: e
        runs:
          - {name: fine, notebook: toy.ipynb}
          - {name: broken, notebook: toy.ipynb}
    """)
    env = {**os.environ, "BREAK_RENDERING": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    proc = _popen(repo, path, "--jobs", "2", env=env)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    manifest = {r["name"]: r for r in json.loads((repo["reports"] / "runs" / "e" / "results.json").read_text())["runs"]}
    assert manifest["fine"]["status"] == "ok" and manifest["fine"]["output"] == "runs/e/fine.ipynb"
    assert manifest["broken"]["status"] == "failed" and manifest["broken"]["output"] == ""
    assert "No space left on device" in manifest["broken"]["error"]
    runs = _runs(repo["store"], "e")
    assert runs[manifest["broken"]["run_id"]].info.status == "FAILED"
    assert "RUNNING" not in {r.info.status for r in runs.values()}
    assert sorted(p.name for p in (repo["reports"] / "runs" / "e").iterdir()) == [
        ".lock", "fine.html", "fine.ipynb", "results.json"]
