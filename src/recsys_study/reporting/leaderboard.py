"""The comparison study's leaderboard: read from MLflow, written as ``reports/leaderboard.csv`` and
``reports/comparison.md``, and laid out for the pages (a figure of the main metric, a compact table, the rest).

Notebook 04 logs one summary run (tag ``stage = comparison_summary``) whose ``tables/leaderboard.csv``
holds, per dataset, model and metric, the mean over seeds and the bounds of its 95 % interval. The newest
such run becomes a markdown report (one table per dataset, ``mean [lower, upper]``) and a flat CSV
(``model, metric, mean, lower, upper, dataset``; the metric label also names its dataset) that the pages read.
Only these aggregates reach the pages: per-user results stay in MLflow.
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from recsys_study import tracking
from recsys_study.reporting.formatting import decimals, estimate, interval
from recsys_study.reporting.files import atomic_write
from recsys_study.reporting.layout import COMPARISON_MD, LEADERBOARD_CSV, reports_dir as _reports_dir

MAIN_METRIC = "NDCG@10"  # the figure's metric and the order of the models
HEADLINE = ("NDCG@10", "Precision@10", "Recall@10", "MAP-IR@10", "Coverage@10", "Novelty@10", "ARP@10")
COMPACT = ("NDCG@10", "Recall@10", "MAP-IR@10", "Coverage@10")  # the table under the figure
_PROTOCOL = ("relevance", "n_seeds")  # carried along for the pages' captions
_LABELLED = re.compile(r"^(?P<metric>.+) \((?P<dataset>[^()]+)\)$")  # "NDCG@10 (ml-100k)"


def latest_leaderboard() -> tuple[pd.DataFrame, dict] | None:
    """Return (leaderboard frame, run params) of the newest comparison summary run, or None."""
    client = tracking.client()  # the newest run only: a frame of every run of every experiment took seconds
    newest = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                filter_string="tags.stage = 'comparison_summary' and attributes.status = 'FINISHED'",
                                order_by=["attributes.start_time DESC"], max_results=1)
    if not newest:
        return None
    run = newest[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(run.info.run_id, "tables/leaderboard.csv", dst_path=tmp)
        board = pd.read_csv(path)
    return board, {**run.data.params, "run_id": run.info.run_id}


def model_order(board: pd.DataFrame, metric: str = MAIN_METRIC) -> list[str]:
    """Return the models by their mean ``metric`` on the first dataset, best first (the others after them)."""
    first = board[(board["dataset"] == board["dataset"].iloc[0]) & (board["metric"] == metric)]
    ranked = first.sort_values("mean", ascending=False, kind="stable")["model"].tolist()
    return ranked + [m for m in dict.fromkeys(board["model"]) if m not in ranked]


def comparison_markdown(leaderboard: pd.DataFrame, params: dict, *, metrics=HEADLINE) -> str:
    """Return the markdown report: per dataset, models by NDCG, ``mean [lower, upper]`` per metric."""
    lines = ["# The comparison study", "",
             f"Relevant: {leaderboard['relevance'].iloc[0]}; seeds: {params.get('seeds', '?')}; "
             f"tuning budget {params.get('tuning_budget', '?')} values per parameter on validation; "
             f"MLflow run `{params.get('run_id', '?')}`. Cells: mean over seeds [95 % t-interval].", ""]
    for dataset, sub in leaderboard.groupby("dataset", sort=False):
        cols = [m for m in metrics if m in set(sub["metric"])]
        if not cols:
            continue
        cells = sub.set_index(["model", "metric"])
        lines += [f"## {dataset}", "", "| model | " + " | ".join(cols) + " |",
                  "| --- | " + " | ".join("---" for _ in cols) + " |"]
        for model in model_order(sub, cols[0]):
            row = [interval(*cells.loc[(model, m), ["mean", "lower", "upper"]]) if (model, m) in cells.index else ""
                   for m in cols]
            lines.append(f"| {model} | " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def write_comparison_report(reports_dir: Path | None = None) -> Path | None:
    """Write ``comparison.md`` and ``leaderboard.csv`` under ``reports_dir``; None without a comparison run."""
    found = latest_leaderboard()
    if found is None:
        return None
    board, params = found
    reports_dir = _reports_dir(reports_dir)
    flat = board.assign(metric=board["metric"] + " (" + board["dataset"] + ")")
    columns = ["model", "metric", "mean", "lower", "upper", "dataset"] + [c for c in _PROTOCOL if c in board]
    atomic_write(reports_dir / LEADERBOARD_CSV, flat[columns].to_csv(index=False))
    return atomic_write(reports_dir / COMPARISON_MD, comparison_markdown(board, params))


def read_leaderboard(reports_dir: Path) -> pd.DataFrame | None:
    """Return ``reports/leaderboard.csv`` as columns ``dataset, model, metric, mean, lower, upper`` (and
    ``relevance, n_seeds`` where recorded); None without it.

    A file without a ``dataset`` column names the dataset in the metric label (``NDCG@10 (ml-100k)``), or
    holds one unnamed dataset.
    """
    path = Path(reports_dir) / LEADERBOARD_CSV
    if not path.exists():
        return None
    board = pd.read_csv(path, dtype={"model": str, "metric": str})
    if board.empty:
        return None
    for bound in ("lower", "upper"):
        if bound not in board:
            board[bound] = float("nan")
    labelled = board["metric"].str.extract(_LABELLED)
    if "dataset" not in board:
        board["dataset"] = labelled["dataset"].fillna("")
    named = labelled["dataset"].notna() & (labelled["dataset"] == board["dataset"])
    board["metric"] = board["metric"].where(~named, labelled["metric"])
    board["dataset"] = board["dataset"].fillna("").astype(str)
    return board[["dataset", "model", "metric", "mean", "lower", "upper"] + [c for c in _PROTOCOL if c in board]]


@dataclass
class Cell:
    """One number of a leaderboard table: the mean and the bounds of its 95 % interval (NaN: not known)."""

    mean: float = float("nan")
    lower: float = float("nan")
    upper: float = float("nan")
    places: int | None = None  # decimals of ``short``; the table sets one number per column

    @property
    def text(self) -> str:
        """``mean [lower, upper]``, four decimals; "" for a model without this metric."""
        return "" if math.isnan(self.mean) else interval(self.mean, self.lower, self.upper)

    @property
    def short(self) -> str:
        """``mean ± half-width`` with ``places`` decimals (``formatting.estimate``)."""
        return estimate(self.mean, self.lower, self.upper, places=self.places)


@dataclass
class Table:
    """A leaderboard table: per dataset its metrics (the header) and one row of cells per model."""

    columns: list[tuple[str, list[str]]]
    rows: list[tuple[str, list[Cell]]]

    @property
    def n_columns(self) -> int:
        return sum(len(metrics) for _, metrics in self.columns)


def table(board: pd.DataFrame, metrics=None, *, datasets=None, exclude=()) -> Table:
    """Return the table of ``metrics`` (default: every metric but ``exclude``) per dataset, models in ``model_order``."""
    cells = {(r.dataset, r.model, r.metric): Cell(r.mean, r.lower, r.upper) for r in board.itertuples(index=False)}
    columns = []
    for name in datasets or list(dict.fromkeys(board["dataset"])):
        have = list(dict.fromkeys(board.loc[board["dataset"] == name, "metric"]))
        wanted = [m for m in (metrics or have) if m in have and m not in exclude]
        if wanted:
            columns.append((name, wanted))
    rows = [(model, [cells.get((name, model, m), Cell()) for name, ms in columns for m in ms])
            for model in model_order(board)]
    for column in zip(*(row for _, row in rows)):  # one precision per column: its median half-width's
        half = pd.Series([max(c.mean - c.lower, c.upper - c.mean) for c in column]).median()
        for cell in column:
            cell.places = decimals(half)
    return Table(columns, rows)


def write_figure(board: pd.DataFrame, target: Path, *, metric: str = MAIN_METRIC) -> Path | None:
    """Write the figure of ``metric`` (mean and 95 % interval per model, one panel per dataset) as SVG; return it.

    None when no row has ``metric``.
    """
    import io

    import matplotlib.pyplot as plt

    from recsys_study.plots import metric_intervals

    sub = board[board["metric"] == metric]
    if sub.empty:
        return None
    fig = metric_intervals(sub, metric=metric, order=model_order(board, metric))
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return atomic_write(target, buf.getvalue())
