"""The ``recsys-study`` command: run experiments, list them, build the report, inspect data."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

DESCRIPTION = """\
Reproducible study of personalised recommendation for CRM.

Experiments are YAML files under experiments/ that name notebooks and parameter grids.
`run` executes each notebook with papermill into reports/runs/<experiment>/ (several side
by side, one kernel each: --jobs, default one per core), logs every run to MLflow (a local store mlruns.db unless MLFLOW_TRACKING_URI is set) and updates
reports/index.html after each notebook (notebook, HTML, results.json and index change
together). A failing notebook is reported and the others go on; the exit code is then 1.
Refused before anything runs (exit code 2, one line): a malformed experiment file (YAML
syntax, aliases, deep nesting, non-string keys, more runs than --max-runs, shapes, types,
ranges, model names, paths outside the repository, notebooks that break the nbformat
schema), an unreadable results.json, or a tracking store that cannot be reached, written
or does not answer as MLflow. Each notebook runs in a process of its own; one running
longer than --timeout fails. SIGINT / SIGTERM / SIGHUP stop the running notebooks, mark
their MLflow runs KILLED, keep the finished reports and exit 130 / 143 / 129. A second
run of the same experiment waits for the first (or, with --no-wait, is refused).
"""

EPILOG = """\
examples:
  recsys-study run experiments/default.yaml            # the default study
  recsys-study run experiments/collaborative.yaml --quick --only cf_movielens
  recsys-study list                                    # experiments and their runs
  recsys-study report                                  # rebuild reports/index.html
  recsys-study data                                    # the offline data sets and their sizes
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1 (e.g. --jobs 2)")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0 (e.g. --timeout 3600)")
    return value


def _parser() -> argparse.ArgumentParser:
    from recsys_study.runner.run import DEFAULT_TIMEOUT
    from recsys_study.runner.spec import DEFAULT_MAX_RUNS

    parser = argparse.ArgumentParser(prog="recsys-study", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="execute an experiment YAML file", description=(
        "Execute every notebook run of an experiment file with papermill, log to MLflow, rebuild the report."))
    run.add_argument("experiment", type=Path, help="path to experiments/NAME.yaml")
    run.add_argument("--quick", action="store_true", help="CI size: small samples (sets quick=True in notebooks)")
    run.add_argument("--only", action="append", metavar="NAME",
                     help="run only this run name (repeatable; a grid base name selects all its variants)")
    run.add_argument("--reports-dir", type=Path, default=None, help="where reports go (default: reports/)")
    run.add_argument("--no-report", action="store_true", help="do not update reports/index.html")
    run.add_argument("--no-site", action="store_true",
                     help="update reports/index.html only, not the comparison report and the offline site")
    run.add_argument("--jobs", "-j", type=_positive_int, default=None, metavar="N",
                     help="notebooks run side by side, each in its own kernel (default: one per core, at most 4; "
                          "1 runs them one after another). Results do not depend on it.")
    run.add_argument("--max-runs", type=_positive_int, default=DEFAULT_MAX_RUNS, metavar="N",
                     help=f"refuse a file whose runs and grids expand to more than N runs (default {DEFAULT_MAX_RUNS})")
    run.add_argument("--timeout", type=_positive_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                     help=f"a notebook still running after SECONDS is stopped and fails (default {DEFAULT_TIMEOUT:g})")
    run.add_argument("--no-wait", action="store_true",
                     help="refuse (exit 2) instead of waiting when the same experiment is already running")
    lst = sub.add_parser("list", help="list experiments and their runs")
    lst.add_argument("directory", nargs="?", type=Path, default=None, help="default: experiments/")
    rep = sub.add_parser("report", help="rebuild reports/index.html and the offline site reports/site/")
    rep.add_argument("--reports-dir", type=Path, default=None)
    data = sub.add_parser("data", help="list the offline data sets (and build their caches)")
    data.add_argument("--build", action="store_true", help="load MovieLens once to fill data/processed/")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``recsys-study``; returns the process exit code."""
    args = _parser().parse_args(argv)
    from recsys_study import experiments  # reports (pandas) only where a page is built: refusals stay quick

    if args.command == "run":
        try:  # the file is refused, if it must be, before tracking (pandas, MLflow) is imported
            exp = experiments.load_experiment(args.experiment, quick=args.quick, max_runs=args.max_runs)
        except experiments.ExperimentSpecError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        from recsys_study import tracking

        try:
            results = experiments.run_experiment(exp, only=args.only, reports_dir=args.reports_dir,
                                                 report=not args.no_report, wait=not args.no_wait,
                                                 jobs=args.jobs, timeout=args.timeout)
        except (experiments.ExperimentSpecError, tracking.TrackingStoreError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as err:  # experiments.Interrupted for SIGINT/SIGTERM/SIGHUP during the runs
            signum = getattr(err, "signum", signal.SIGINT)
            print(f"interrupted by {signal.Signals(signum).name}: the running notebooks were stopped and their MLflow "
                  "runs marked KILLED; reports of finished runs are kept.", file=sys.stderr)
            if argv is None:  # the recsys-study process itself (not a caller of main): leave now
                # the notebooks' processes are gone, the runs ended and the reports renamed; the interpreter's
                # teardown (MLflow's threads) would only add seconds
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(128 + signum)
            return 128 + signum
        if not args.no_report:
            print(f"report: {Path(args.reports_dir or tracking.project_root() / 'reports') / 'index.html'}")
        if not args.no_report and not args.no_site:
            from recsys_study.comparison_report import write_comparison_report
            from recsys_study.site import build_site

            try:
                comparison = write_comparison_report(args.reports_dir)
                if comparison is not None:
                    print(f"comparison: {comparison}")
                print(f"site: {build_site(args.reports_dir)} (opens from disk, offline)")
            except KeyboardInterrupt:
                print("interrupted while building the site: the runs and reports/index.html are complete; "
                      "`recsys-study report` builds the site again.", file=sys.stderr)
                return 130
        failed = [r for r in results if r.status != "ok"]
        for r in results:
            print(f"{'ok    ' if r.status == 'ok' else 'FAILED'} {exp.name}/{r.name} ({r.seconds:.1f} s"
                  + (f", {r.cpu_seconds:.0f} CPU-s" if r.cpu_seconds is not None else "") + ")"
                  + (f": {r.error}" if r.error else ""))
        return 1 if failed else 0
    if args.command == "list":
        try:
            found = experiments.list_experiments(args.directory)
        except experiments.ExperimentSpecError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        for exp in found:
            print(f"{exp.path}: {exp.name} - {exp.description}")
            for run in exp.runs:
                print(f"    {run.name:<40} {run.notebook.name}  {run.parameters}")
        return 0
    if args.command == "report":
        from recsys_study import reports
        from recsys_study.comparison_report import write_comparison_report
        from recsys_study.site import build_site

        comparison = write_comparison_report(args.reports_dir)
        if comparison is not None:
            print(comparison)
        print(reports.build_index(args.reports_dir))
        print(build_site(args.reports_dir))
        return 0
    if args.command == "data":
        from recsys_study import data

        for name, text in data.DATASETS.items():
            print(f"{name:<12} {text}")
        if args.build:
            print(data.load_movielens().describe())
        return 0
    return 2  # unreachable: argparse enforces the command


if __name__ == "__main__":
    raise SystemExit(main())
