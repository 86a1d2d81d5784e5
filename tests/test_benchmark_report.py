"""The shared benchmark report: sections merge into one JSON/Markdown report, which logs as one MLflow run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import _report  # noqa: E402


def test_sections_merge_render_and_log_as_one_mlflow_run(tmp_path):
    from recsys_study import tracking

    _report.add_section("Top-k", pd.DataFrame({"size": ["1e5", "1e6"], "ratio": [0.8, 0.59]}), report_dir=tmp_path)
    md = _report.add_section("Evaluation", [{"case": "ml", "speed-up": 20.1}], notes="medians", report_dir=tmp_path)
    text = md.read_text()
    assert "## Top-k" in text and "## Evaluation" in text and "| 1e6 | 0.59 |" in text.replace("0.590", "0.59")
    doc = json.loads((tmp_path / "benchmarks.json").read_text())
    assert set(doc["sections"]) == {"Top-k", "Evaluation"} and doc["machine"]["cores"] >= 1
    run_id = _report.log_to_mlflow(tmp_path)
    runs = tracking.search_runs("benchmarks")
    row = runs.set_index("run_id").loc[run_id]
    assert row["metrics.Top-k.1e6.ratio"] == pytest.approx(0.59)
    assert row["metrics.Evaluation.ml.speed-up"] == pytest.approx(20.1)
