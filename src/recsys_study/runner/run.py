"""Run an experiment: one child process per notebook, the experiment lock, one commit at a time, signals.

Each notebook executes in a child process of its own process group (``runner.execute``), at most
``jobs`` at a time. The runner's main loop alone starts children, collects them and commits their
results; a signal handler only records the signal, and the loop forwards it to every child's
process group between two steps, so a commit's renames happen all or not at all.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from recsys_study.locking import LockBusyError, file_lock
from recsys_study.paths import project_root
from recsys_study.runner.errors import ExperimentBusyError, ExperimentSpecError, Interrupted
from recsys_study.runner.manifest import RunResult, measured_seconds, merged, read_manifest, read_manifests
from recsys_study.runner.spec import FAILED_SUFFIX, Experiment, RunSpec

#: a notebook still running after this many seconds is stopped and fails (--timeout)
DEFAULT_TIMEOUT = 2 * 3600.0
#: how long a stopped child may take to leave before its process group is killed
GRACE_SECONDS = 10.0
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def default_jobs(n_runs: int) -> int:
    """How many notebooks run side by side by default: one per available core, at most 4 and ``n_runs``."""
    from recsys_study.recommenders.threads import n_threads

    return max(1, min(n_threads(), 4, n_runs))


@contextmanager
def experiment_lock(out_dir: Path, name: str, *, wait: bool = True):
    """Hold ``<out_dir>/.lock`` (fcntl) so that one process at a time runs experiment ``name``.

    A second process waits for the first (saying so on stderr), or with ``wait=False`` raises
    ExperimentBusyError.
    """
    lock_path = out_dir / ".lock"

    def say_waiting(holder: str) -> None:
        print(f"experiment {name!r} is already running ({holder}); waiting for it to finish...",
              file=sys.stderr, flush=True)

    try:
        with file_lock(lock_path, wait=wait, on_wait=say_waiting):
            yield
    except LockBusyError as busy:
        raise ExperimentBusyError(
            f"experiment {name!r} is already running ({busy.holder}, lock {lock_path}); wait for it to "
            "finish or run without --no-wait to queue behind it.") from None


class _Signals:
    """SIGINT, SIGTERM and SIGHUP seen by the runner: ``fired`` holds the first; with ``defer`` set the
    handler only records it (the main loop acts on it), otherwise it raises ``Interrupted``."""

    def __init__(self):
        self.fired: list[int] = []
        self.defer = False

    def __call__(self, signum, frame):
        if self.fired:
            return  # a second signal during clean-up changes nothing
        self.fired.append(signum)
        if not self.defer:
            raise Interrupted(signum)

    @contextmanager
    def installed(self):
        old = {s: signal.signal(s, self) for s in SIGNALS}
        try:
            yield self
        finally:
            for s, h in old.items():
                signal.signal(s, h)


def _process_identity(pid: int | None = None) -> str:
    """Return ``host:pid:start time`` of a process: whether it still runs can be told later, pids are reused."""
    import socket

    import psutil

    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{psutil.Process(pid).create_time():.2f}"


def _alive(identity: str) -> bool:
    import socket

    import psutil

    try:
        host, pid, started = identity.rsplit(":", 2)
        if host != socket.gethostname():
            return True  # another machine's runner: not ours to judge
        process = psutil.Process(int(pid))
        return abs(process.create_time() - float(started)) < 0.5 and process.status() != psutil.STATUS_ZOMBIE
    except (ValueError, psutil.Error):
        return False


def _end_runs(experiment: str, filter_string: str, status: str, note: str | None = None) -> list[str]:
    """End with ``status`` the RUNNING parent runs matching ``filter_string`` and their RUNNING children; return
    the ids of every parent run matched."""
    from recsys_study import tracking

    found = tracking.search_runs(experiment, filter_string=filter_string)
    client = tracking.client()
    for run_id, state in zip(found.get("run_id", []), found.get("status", [])):
        tracking.end_running_children(run_id, status=status)
        if state == "RUNNING":
            if note:
                client.set_tag(run_id, "note", note)
            client.set_terminated(run_id, status=status)
    return list(found.get("run_id", []))


def _end_stale_runs(experiment: str) -> list[str]:
    """Mark KILLED the RUNNING runs of ``experiment`` whose runner process is gone (a SIGKILL, a lost machine)."""
    from recsys_study import tracking

    found = tracking.search_runs(experiment, filter_string="attributes.status = 'RUNNING' and tags.runner_process "
                                                           "LIKE '%'")
    stale = [run_id for run_id, who in zip(found.get("run_id", []), found.get("tags.runner_process", []))
             if not _alive(who)]
    for run_id in stale:
        _end_runs(experiment, f"attributes.run_id = '{run_id}'", "KILLED",
                  note="left RUNNING by a runner that was killed; marked KILLED by the next run of the experiment")
    return stale


def _remove_stale(out_dir: Path) -> None:
    """Remove what an earlier, killed runner left behind (called under the experiment lock)."""
    import shutil

    for stale in out_dir.glob(".staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out_dir.glob(".*.tmp"):  # files written aside by a commit that never happened
        stale.unlink(missing_ok=True)


def _longest_first(runs: list[RunSpec], out_dir: Path) -> list[RunSpec]:
    """``runs`` ordered longest first: by the last recorded duration, else the file's ``expected_seconds``.

    Runs with neither come first, in file order. Starting the long notebooks first shortens the
    whole when several run side by side; the order changes nothing else (every notebook has its
    own seeds and its own runs).
    """
    seconds = {r.name: r.expected_seconds for r in runs if r.expected_seconds is not None}
    seconds.update(measured_seconds(read_manifest(out_dir / "results.json")))
    return sorted(runs, key=lambda r: -seconds.get(r.name, math.inf))


def _commit(out_dir: Path, reports_dir: Path, manifest: dict, result: RunResult, staged: dict[Path, Path], *,
            report: bool, named: set) -> None:
    """The one commit point of a run: notebook, its HTML, ``results.json`` and the index change together.

    Everything is written aside first (``staged``: final path -> written file), then renamed; the
    main loop runs no signal handler's work in between. A failed run keeps an earlier good report.
    """
    from recsys_study import reports

    moves = list(staged.items())
    written = []
    try:
        results = out_dir / "results.json"
        written.append(reports.write_aside(results, json.dumps(manifest, indent=2, default=str)))
        moves.append((results, written[-1]))
        with reports.index_lock(reports_dir) if report else _nothing():
            if report:
                manifests = read_manifests(reports_dir, named=named)
                manifests[out_dir.name] = manifest
                index = reports_dir / "index.html"
                written.append(reports.write_aside(index, reports.index_page(reports_dir, manifests,
                                                                             pending={result.output})))
                moves.append((index, written[-1]))
            for final, source in moves:
                os.replace(source, final)
            if result.status == "ok":  # an earlier failed attempt is no longer the run's latest word
                failed = out_dir / f"{result.name}{FAILED_SUFFIX}.ipynb"
                failed.unlink(missing_ok=True)
                failed.with_suffix(".html").unlink(missing_ok=True)
    finally:
        for path in written:
            path.unlink(missing_ok=True)


@contextmanager
def _nothing():
    yield


class _Child:
    """One notebook's child process, the folder it writes into, and when it must have ended."""

    def __init__(self, run: RunSpec, folder: Path, job: dict, timeout: float):
        folder.mkdir()
        (folder / "job.json").write_text(json.dumps(job, default=str), encoding="utf-8")
        self.run, self.folder, self.started = run, folder, time.monotonic()
        self.deadline = self.started + timeout
        with open(folder / "stderr.log", "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "recsys_study.runner.execute", str(folder / "job.json")],
                cwd=job["root"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=True)  # a process group of its own: signals reach it only through the runner

    def signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signum)
            except ProcessLookupError:
                pass

    def wait(self) -> None:
        try:
            self.proc.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait()

    def outcome(self) -> dict | None:
        path = self.folder / "result.json"
        return json.loads(path.read_text(encoding="utf-8")) if self.proc.returncode == 0 and path.exists() else None

    def last_error_line(self) -> str:
        lines = [line.strip() for line in (self.folder / "stderr.log").read_text(errors="replace").splitlines()]
        code = self.proc.returncode
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"ended with exit code {code}"
        return next((line for line in reversed(lines) if line), f"the notebook's process {how}")


def _result(child: _Child, experiment: Experiment, out_dir: Path, reports_dir: Path, token: str,
            error: str | None = None) -> tuple[RunResult, dict[Path, Path]]:
    """Return the run's result and its staged files; a child that timed out or failed without a result is a
    failed run whose MLflow runs are ended FAILED here."""
    run, root = child.run, project_root()
    outcome = None if error else child.outcome()
    if outcome is None:
        error = error or child.last_error_line()
        ids = _end_runs(experiment.name, f"tags.runner = '{token}' and tags.mlflow.runName = '{run.name}'",
                        "FAILED", note=error)
        outcome = {"status": "failed", "error": error, "records": {}, "run_id": ids[0] if ids else None,
                   "seconds": round(time.monotonic() - child.started, 2), "notebook": None}
    staged = {}
    if outcome["notebook"]:
        kept = out_dir / outcome["notebook"]
        staged = {kept: child.folder / kept.name, kept.with_suffix(".html"): child.folder / f"{kept.stem}.html"}
    result = RunResult(
        name=run.name, notebook=str(run.notebook.relative_to(root)) if run.notebook.is_relative_to(root)
        else str(run.notebook), output=str(next(iter(staged)).relative_to(reports_dir)) if staged else "",
        status=outcome["status"], seconds=outcome["seconds"], parameters=run.parameters,
        records=outcome["records"], headline=run.headline, error=outcome["error"], run_id=outcome["run_id"],
        cpu_seconds=outcome.get("cpu_seconds"))
    return result, staged


def _selected(experiment: Experiment, only: list[str] | None) -> list[RunSpec]:
    runs = experiment.runs
    if not only:
        return runs
    unknown = [n for n in only if not any(r.name == n or r.name.startswith(f"{n}__") for r in runs)]
    if unknown:
        raise ExperimentSpecError(
            f"--only {unknown}: no such run in {experiment.path}; runs are {[r.name for r in runs]}.")
    return [r for r in runs if any(r.name == n or r.name.startswith(f"{n}__") for n in only)]


def run_experiment(experiment: Experiment, *, only: list[str] | None = None, reports_dir: Path | None = None,
                   progress: bool = True, report: bool = True, wait: bool = True, jobs: int | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> list[RunResult]:
    """Execute every run of ``experiment`` (or those named in ``only``); return their results in the file's order.

    Before any notebook starts: the tracking store is checked (``tracking.check_store``), the
    experiment's ``results.json`` is validated, a per-experiment lock is taken (a second runner of the
    same experiment waits, or with ``wait=False`` is refused), and the experiment's runs left RUNNING by
    a runner that no longer exists are marked KILLED. Up to ``jobs`` notebooks (default ``default_jobs``)
    execute side by side, each in a child process of its own process group, the longest (by the last
    recorded time) first. After a notebook ends, its ``.ipynb`` (``<run>.failed.ipynb`` when it failed),
    its HTML, ``results.json`` and, with ``report``, ``reports/index.html`` are renamed into place together,
    one commit at a time; a failure never replaces a good report. A failing notebook (its own cells, or
    its own rendering or MLflow bookkeeping) does not stop the others; its MLflow runs end FAILED. A
    notebook running longer than ``timeout`` seconds is stopped and fails.

    On SIGINT, SIGTERM or SIGHUP the signal is forwarded to every child's process group (each kills its
    kernel), no new notebook starts, their parent and child runs are marked KILLED, staging files are
    removed, earlier reports are kept, and ``Interrupted`` is raised. A fault of the runner itself (a
    full disk while committing, say) stops the notebooks the same way and is raised.
    """
    from recsys_study import tracking

    runs = _selected(experiment, only)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ExperimentSpecError(f"jobs={jobs!r}: the number of notebooks run side by side is a whole number >= 1.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ExperimentSpecError(f"timeout={timeout!r}: the per-notebook timeout is a number of seconds > 0.")
    jobs = jobs or default_jobs(len(runs))
    reports_dir = Path(reports_dir or project_root() / "reports")
    out_dir = reports_dir / "runs" / experiment.name
    if not out_dir.resolve().is_relative_to(reports_dir.resolve()):  # load_experiment already refuses such names
        raise ExperimentSpecError(f"experiment name {experiment.name!r} would write outside {reports_dir}.")
    read_manifest(out_dir / "results.json")  # refused now, before the lock's folder is made
    tracking.check_store()
    with _Signals().installed() as signals, experiment_lock(out_dir, experiment.name, wait=wait):
        manifest = read_manifest(out_dir / "results.json")
        _remove_stale(out_dir)
        _end_stale_runs(experiment.name)
        import shutil
        import tempfile

        staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=out_dir))
        try:
            done = _schedule(runs, experiment, out_dir, reports_dir, staging, manifest, signals,
                             jobs=jobs, timeout=timeout, report=report, progress=progress)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [done[run.name] for run in runs]


def _schedule(runs, experiment, out_dir, reports_dir, staging, manifest, signals, *, jobs, timeout, report,
              progress) -> dict[str, RunResult]:
    """The main loop: start children up to ``jobs``, commit each as it ends, act on a recorded signal."""
    import uuid

    from tqdm import tqdm

    token, identity, root = uuid.uuid4().hex, _process_identity(), project_root()
    queue = _longest_first(runs, out_dir)
    running: list[_Child] = []
    done: dict[str, RunResult] = {}
    named: set = set()
    bar = tqdm(total=len(runs), desc=experiment.name, unit="notebook", disable=not progress)
    signals.defer = True
    try:
        while queue or running:
            for child in [c for c in running if c.proc.poll() is not None or time.monotonic() > c.deadline]:
                running.remove(child)
                error = None
                if child.proc.returncode is None:  # past its deadline: stopped like an interrupt, but it failed
                    child.signal(signal.SIGTERM)
                    child.wait()
                    error = f"timed out after {timeout:g} s (the per-notebook limit; --timeout raises it)"
                result, staged = _result(child, experiment, out_dir, reports_dir, token, error)
                manifest = merged(manifest, experiment, [result])
                _commit(out_dir, reports_dir, manifest, result, staged, report=report, named=named)
                done[result.name] = result
                bar.update()
                if result.error:
                    tqdm.write(f"FAILED {experiment.name}/{result.name}: {result.error}")
            if signals.fired:
                raise Interrupted(signals.fired[0])
            while queue and len(running) < jobs:
                run = queue.pop(0)
                job = {"root": str(root), "folder": str(staging / str(len(runs) - len(queue))), "run": run.name,
                       "experiment": experiment.name, "notebook": str(run.notebook), "parameters": run.parameters,
                       "tags": {"notebook": run.notebook.name, "kind": "notebook", "runner": token,
                                "runner_process": identity}}
                running.append(_Child(run, Path(job["folder"]), job, timeout))
                bar.set_postfix_str(", ".join(sorted(c.run.name for c in running))[:70])
            time.sleep(0.1)
    except BaseException as err:  # an interrupt, or a fault of the runner itself (not of a notebook)
        signum = signals.fired[0] if signals.fired else getattr(err, "signum", signal.SIGTERM)
        for child in running:
            child.signal(signum)
        for child in running:
            child.wait()
        _end_runs(experiment.name, f"tags.runner = '{token}'", "KILLED")
        if isinstance(err, KeyboardInterrupt):
            raise Interrupted(signum) from None
        raise
    finally:
        bar.close()
    if signals.fired:  # it came after the last notebook ended: everything is committed, say so all the same
        raise Interrupted(signals.fired[0])
    return done
