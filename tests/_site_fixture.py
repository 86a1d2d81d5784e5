"""A small ``reports/`` tree for the site tests: one executed study, a comparison, benchmarks, MLflow runs.

The notebook is written with its outputs (no kernel needed): a formula in markdown, a PNG figure
and ``record`` payloads, exactly the shapes an executed notebook holds.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import nbformat

MODELS = ["ease", "item_knn", "most_popular"]
METRICS = ["NDCG@10", "Recall@10"]
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


def make_reports(root: Path) -> Path:
    """Write the fixture under ``root/reports`` (MLflow runs go to the store in force); return it."""
    from recsys_study import tracking

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
        tracking.log_table(__import__("pandas").DataFrame({"a": [1]}), "table")
        run_id = run.info.run_id
    manifest = {"experiment": "demo", "description": "A fixture study.", "file": "experiments/demo.yaml",
                "runs": [{"name": "study", "notebook": "notebooks/study.ipynb", "output": "runs/demo/study.ipynb",
                          "status": "ok", "seconds": 1.5, "parameters": {}, "records": records,
                          "headline": ["ndcg_best", "p_value_overall", "head_share"], "error": None,
                          "run_id": run_id}]}
    (run_dir / "results.json").write_text(json.dumps(manifest))

    comp = reports / "runs" / "comparison"
    comp.mkdir(parents=True)
    lines = ["model,metric,mean,lower,upper"]
    for i, model in enumerate(MODELS):
        for j, metric in enumerate(METRICS):
            mean = 0.1 * (i + 1) + 0.01 * j
            lines.append(f"{model},{metric},{mean},{mean - 0.02},{mean + 0.02}")
    (comp / "leaderboard.csv").write_text("\n".join(lines) + "\n")
    (comp / "results.json").write_text(json.dumps({"experiment": "comparison", "description": "Models compared.",
                                                   "runs": []}))
    (reports / "benchmarks.md").write_text("# Benchmarks\n\n## Fit time\n\n| model | fit s |\n| --- | --- |\n"
                                           "| ease | 0.5 |\n\n![Fit time](figure.png)\n")
    return reports
