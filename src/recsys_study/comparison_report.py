"""``reports/comparison.md`` and ``reports/leaderboard.csv`` from the comparison study's MLflow runs.

Notebook 04 logs one summary run (tag ``stage = comparison_summary``) whose ``tables/leaderboard.csv``
holds, per dataset, model and metric, the mean over seeds and the bounds of its 95 % interval. The
newest such run becomes a markdown report (one table per dataset, ``mean [lower, upper]``) and a flat
CSV (``model, metric, mean, lower, upper``; the metric label names its dataset) that the report site
shows as its leaderboard. Both are written aside and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from recsys_study import tracking

HEADLINE = ("NDCG@10", "Precision@10", "Recall@10", "MAP-IR@10", "Coverage@10", "Novelty@10", "ARP@10")


def _atomic(path: Path, text: str) -> None:
    from recsys_study.reports import write_aside  # the reports' own write-aside-then-rename

    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(write_aside(path, text), path)


def _cells(board: pd.DataFrame) -> pd.DataFrame:
    """Return ``board`` with a ``text`` column: ``mean [lower, upper]`` (the mean alone without bounds)."""
    return board.assign(text=[f"{m:.4f} [{lo:.4f}, {hi:.4f}]" if pd.notna(hi) else f"{m:.4f}"
                              for m, lo, hi in zip(board["mean"], board["lower"], board["upper"])])


def latest_leaderboard() -> tuple[pd.DataFrame, dict] | None:
    """Return (leaderboard frame, run params) of the newest comparison summary run, or None."""
    runs = tracking.search_runs(filter_string="tags.stage = 'comparison_summary' and attributes.status = 'FINISHED'")
    if runs is None or runs.empty:
        return None
    run = runs.sort_values("start_time", ascending=False).iloc[0]
    import mlflow

    path = mlflow.artifacts.download_artifacts(run_id=run["run_id"], artifact_path="tables/leaderboard.csv",
                                               tracking_uri=tracking.tracking_uri())
    params = {key.removeprefix("params."): v for key, v in run.items() if key.startswith("params.")}
    params["run_id"] = run["run_id"]
    return pd.read_csv(path), params


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
        wide = _cells(sub).pivot(index="model", columns="metric", values="text")[cols]
        order = sub[sub["metric"] == cols[0]].set_index("model")["mean"].sort_values(ascending=False).index
        wide = wide.loc[order]
        lines += [f"## {dataset}", "", "| model | " + " | ".join(cols) + " |",
                  "| --- | " + " | ".join("---" for _ in cols) + " |"]
        lines += [f"| {model} | " + " | ".join(row) + " |" for model, row in wide.iterrows()]
        lines.append("")
    return "\n".join(lines)


def write_comparison_report(reports_dir: Path | None = None) -> Path | None:
    """Write ``comparison.md`` and ``leaderboard.csv`` under ``reports_dir``; None without a comparison run."""
    found = latest_leaderboard()
    if found is None:
        return None
    leaderboard, params = found
    reports_dir = Path(reports_dir or tracking.project_root() / "reports")
    flat = leaderboard.assign(metric=leaderboard["metric"] + " (" + leaderboard["dataset"] + ")")
    _atomic(reports_dir / "leaderboard.csv", flat[["model", "metric", "mean", "lower", "upper"]].to_csv(index=False))
    target = reports_dir / "comparison.md"
    _atomic(target, comparison_markdown(leaderboard, params))
    return target


def leaderboard_html(reports_dir: Path, *, metrics=("NDCG@10", "Recall@10", "MAP-IR@10")) -> str:
    """Return an HTML section with the comparison leaderboard of ``reports_dir`` ('' without one)."""
    import html

    path = Path(reports_dir) / "leaderboard.csv"
    if not path.exists():
        return ""
    board = pd.read_csv(path)
    cols = [m for m in board["metric"].unique() if m.split(" (")[0] in metrics]
    if not cols:
        return ""
    wide = _cells(board).pivot(index="model", columns="metric", values="text")[cols]
    order = board[board["metric"] == cols[0]].set_index("model")["mean"].sort_values(ascending=False).index
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    rows = "".join(f"<tr><td>{html.escape(m)}</td>" + "".join(f"<td>{html.escape(str(v))}</td>"
                                                             for v in wide.loc[m]) + "</tr>" for m in order)
    link = '<a href="comparison.md">comparison.md</a>' if (Path(reports_dir) / "comparison.md").exists() else ""
    return (f"<h2>Comparison leaderboard</h2><p>Mean over seeds [95 % t-interval], one protocol for every model. "
            f"{link}</p><table><tr><th>model</th>{head}</tr>{rows}</table>")
