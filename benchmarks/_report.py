"""One benchmark report for every benchmark script: ``reports/benchmarks.json`` + ``reports/benchmarks.md``.

Each script measures its own figures and hands them over as one *section*; the JSON keeps every
section (replacing a section of the same name), the Markdown is re-rendered from the JSON each
time, so scripts can run in any order, alone or from ``make bench``::

    import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from _report import add_section, interleaved_medians

    times = interleaved_medians({"ours": lambda: model.fit(train), "peer": lambda: peer.fit(m)}, repeats=3)
    add_section("Spark ALS", pd.DataFrame(rows), figures=["spark_scale.png"],
                notes="Median of 3 interleaved runs; ratios measured in the same run.")

API
---
``add_section(name, table=None, *, figures=(), notes="", data=None, order=None, report_dir=None)``
    ``table``: a DataFrame or a list of dicts (rows); ``figures``: PNG paths (absolute, or relative to
    the report directory; files outside it are copied in); ``notes``: Markdown under the table;
    ``data``: any extra JSON-serialisable figures (kept in the JSON only); ``order``: sort key of the
    section in the Markdown (default: first time added). Returns the path of the Markdown.
``machine_info()``
    Cores, memory, CPU, BLAS (threadpoolctl), Python and package versions: written once per report
    and refreshed by every ``add_section``.
``interleaved_medians(fns, repeats=3, setup=None)``
    Runs ``fns`` (label -> zero-argument callable) round-robin ``repeats`` times (A B C A B C ...,
    so drifts of a shared machine hit every contender alike) and returns label -> ``{"median": s,
    "runs": [s, ...], "cpu_median": s, "cpu_runs": [...]}`` (wall-clock and process CPU time, the
    latter summed over threads); ``setup(label)`` (untimed) runs before each call if given.
``peak_rss_mib()``
    This process's peak resident set size so far (MiB; ``VmHWM`` on Linux, else ``ru_maxrss``).

The JSON is updated under an exclusive ``fcntl`` lock, so two scripts adding sections at the same
time do not lose each other's work.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import platform
import resource
import shutil
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT_DIR = ROOT / "reports"
JSON_NAME, MD_NAME = "benchmarks.json", "benchmarks.md"
PACKAGES = ("recsys-study", "numpy", "scipy", "pandas", "numba", "implicit", "scikit-learn", "pyspark",
            "threadpoolctl", "seaborn")


def machine_info() -> dict:
    """Return the machine and software the figures were measured on (JSON-serialisable)."""
    from importlib import metadata

    info = {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": None,
        "cpu": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "blas": [],
        "packages": {},
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                            "NUMBA_NUM_THREADS") if k in os.environ},
    }
    try:
        with open("/proc/meminfo") as fh:
            kib = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
        info["memory_gib"] = round(kib / 2**20, 1)
        with open("/proc/cpuinfo") as fh:
            name = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), None)
        if name:
            info["cpu"] = name
    except (OSError, StopIteration):
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: p.get(k) for k in ("internal_api", "version", "num_threads", "threading_layer",
                                              "architecture")} for p in threadpool_info()]
    except ImportError:
        pass
    for pkg in PACKAGES:
        try:
            info["packages"][pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return info


def peak_rss_mib() -> float:
    """Return this process's peak resident set size so far, in MiB.

    Linux: ``VmHWM`` of /proc/self/status (the high-water mark of this process image; ``ru_maxrss``
    would carry over the parent's RSS at fork into a child started by ``subprocess``).
    Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    hwm = _status_mib("VmHWM")
    if hwm is not None:
        return hwm
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if platform.system() == "Darwin" else rss / 1024


def rss_mib() -> float:
    """Return this process's resident set size now (``VmRSS``), in MiB; NaN where /proc is missing."""
    now = _status_mib("VmRSS")
    return float("nan") if now is None else now


def _status_mib(field: str) -> float | None:
    """Return a ``kB`` field of /proc/self/status (``VmRSS``, ``VmHWM``) in MiB, or None off Linux."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset this process's high-water mark (``VmHWM``) to its RSS now; return whether it was reset.

    Linux ≥ 4.0: writing 5 to /proc/self/clear_refs. After it, ``peak_rss_mib() − rss_mib()`` taken
    before a step is the step's own peak growth, not one measured from an earlier, higher peak.
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def interleaved_medians(fns: dict, repeats: int = 3, setup=None) -> dict:
    """Time each callable of ``fns`` ``repeats`` times, round-robin; return label -> median and runs (s)."""
    runs: dict[str, list[float]] = {label: [] for label in fns}
    cpu: dict[str, list[float]] = {label: [] for label in fns}
    for _ in range(repeats):
        for label, fn in fns.items():
            if setup is not None:
                setup(label)
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            runs[label].append(time.perf_counter() - start)
            cpu[label].append(time.process_time() - start_cpu)
    return {label: {"median": statistics.median(r), "runs": r, "cpu_median": statistics.median(cpu[label]),
                    "cpu_runs": cpu[label]} for label, r in runs.items()}


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _rows(table) -> tuple[list[str], list[dict]]:
    if table is None:
        return [], []
    if hasattr(table, "to_dict"):  # a DataFrame
        frame = table.reset_index(drop=True)
        return [str(c) for c in frame.columns], json.loads(frame.to_json(orient="records"))
    rows = [dict(r) for r in table]
    cols: list[str] = []
    for r in rows:
        cols += [str(c) for c in r if str(c) not in cols]
    return cols, json.loads(json.dumps(rows, default=str))


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return "n/a"
        if value == 0 or 1e-3 <= abs(value) < 1e6:
            return f"{value:.4g}" if abs(value) < 100 else f"{value:,.1f}"
        return f"{value:.3g}"
    return str(value).replace("|", "\\|")


def _table_md(columns: list[str], rows: list[dict]) -> str:
    if not rows:
        return ""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def render(report_dir: Path | str | None = None) -> Path:
    """Re-render ``benchmarks.md`` from ``benchmarks.json``; return its path."""
    report_dir = Path(report_dir or REPORT_DIR)
    doc = json.loads((report_dir / JSON_NAME).read_text())
    m = doc.get("machine", {})
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('num_threads')} threads)"
                     for b in m.get("blas", [])) or "unknown"
    pkgs = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items())
    out = ["# Benchmarks", "",
           "Generated by `make bench` (each benchmark script adds its section through `benchmarks/_report.py`).", "",
           f"- Machine: {m.get('cores')} cores ({m.get('cores_usable')} usable), {m.get('memory_gib')} GiB, "
           f"{m.get('cpu')}; {m.get('platform')}",
           f"- Python {m.get('python')}; BLAS: {blas}",
           f"- Packages: {pkgs}",
           f"- Thread settings: {m.get('env') or 'defaults'}; load average (1 min) at the last update: "
           f"{m.get('load_average_1min')}", ""]
    sections = sorted(doc.get("sections", {}).items(), key=lambda kv: (kv[1].get("order", 0), kv[0]))
    for name, sec in sections:
        out += [f"## {name}", "", f"_Updated {sec.get('updated', '?')}_", ""]
        table = _table_md(sec.get("columns", []), sec.get("rows", []))
        if table:
            out += [table, ""]
        for fig in sec.get("figures", []):
            out += [f"![{name}]({fig})", ""]
        if sec.get("notes"):
            out += [sec["notes"].strip(), ""]
    path = report_dir / MD_NAME
    path.write_text("\n".join(out))
    return path


def add_section(name: str, table=None, *, figures=(), notes: str = "", data=None, order=None,
                report_dir: Path | str | None = None) -> Path:
    """Add (or replace) section ``name`` of the benchmark report and re-render the Markdown.

    See the module docstring for the arguments. Returns the Markdown path.
    """
    report_dir = Path(report_dir or REPORT_DIR)
    json_path = report_dir / JSON_NAME
    figs = []
    for fig in figures:
        fig = Path(fig)
        if not fig.is_absolute():
            fig = report_dir / fig
        if fig.exists() and fig.resolve().parent != report_dir.resolve():
            shutil.copy2(fig, report_dir / fig.name)
        figs.append(fig.name)
    columns, rows = _rows(table)
    with _locked(json_path):
        doc = json.loads(json_path.read_text()) if json_path.exists() else {}
        sections = doc.setdefault("sections", {})
        previous = sections.get(name, {})
        if order is None:
            order = previous.get("order", max((s.get("order", 0) for s in sections.values()), default=0) + 1)
        sections[name] = {"order": order, "updated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                          "columns": columns, "rows": rows, "figures": figs, "notes": notes,
                          "data": json.loads(json.dumps(data, default=str)) if data is not None else None}
        doc["machine"] = machine_info()
        tmp = json_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        tmp.replace(json_path)
        return render(report_dir)


def log_to_mlflow(report_dir: Path | str | None = None) -> str:
    """Log the whole benchmark report as one MLflow run (experiment ``benchmarks``); return its run id.

    Artifacts: ``benchmarks.md``, ``benchmarks.json`` and the figures; params: the machine's cores,
    memory, CPU and package versions; metrics: every numeric cell of every section, keyed
    ``<section>.<row>.<column>`` (the first column names the row).
    """
    from recsys_study import tracking

    report_dir = Path(report_dir or REPORT_DIR)
    doc = json.loads((report_dir / JSON_NAME).read_text())
    machine = doc.get("machine", {})
    metrics = {}
    for name, sec in doc.get("sections", {}).items():
        columns = sec.get("columns", [])
        for row in sec.get("rows", []):
            label = str(row.get(columns[0])) if columns else ""
            for col in columns[1:]:
                value = row.get(col)
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                    metrics[tracking.metric_key(f"{name}.{label}.{col}")[:250]] = float(value)
    params = {"cores": machine.get("cores"), "memory_gib": machine.get("memory_gib"), "cpu": machine.get("cpu"),
              "packages": machine.get("packages", {})}
    with tracking.start_run("benchmarks", experiment="benchmarks", params=params,
                            tags={"stage": "benchmarks"}) as run:
        tracking.log_metrics(metrics)
        for path in [report_dir / MD_NAME, report_dir / JSON_NAME,
                     *(report_dir / f for sec in doc.get("sections", {}).values() for f in sec.get("figures", []))]:
            if path.exists():
                tracking.log_artifact(path, run_id=run.info.run_id, artifact_path="benchmarks")
        return run.info.run_id


if __name__ == "__main__":  # `make bench` ends here: the report it wrote becomes one MLflow run
    print(f"benchmark report logged to MLflow, run {log_to_mlflow()}")
