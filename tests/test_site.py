"""The offline report site without a browser: formatting rules, links that resolve, no network URL."""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from _site_fixture import MODELS, make_reports
from recsys_study import site as S


def test_p_values_never_print_as_zero():
    assert S.format_p(0.0) == "< 1e-4"
    assert S.format_p(5e-5) == "< 1e-4"
    assert S.format_p(0.0321) == "0.032"
    assert S.format_value("p_value_cold_user", 0.0) == "< 1e-4"


def test_values_carry_units_and_dicts_are_shown_whole():
    assert S.format_value("head_share", 0.5) == "50%"
    assert S.format_value("n_users", 1234) == "1,234"
    assert S.format_value("best_profit", 1520.0) == "$1,520"
    long = {f"model_{i}": 0.1 * i for i in range(12)}
    text = S.format_value("ndcg_by_model", long)
    assert all(f"model_{i}: " in text for i in range(12)) and "..." not in text
    assert S.label("ndcg_cold_user") == "NDCG cold user"
    assert S.label("p_value_overall") == "p-value overall"


def test_headline_pairs_values_with_their_confidence_interval():
    run = {"records": {"ndcg": 0.25, "ndcg_lower": 0.2, "ndcg_upper": 0.3, "auc": 0.8, "auc_ci": [0.75, 0.85]},
           "headline": ["ndcg", "auc"]}
    assert S.headline(run) == [("NDCG", "0.25", "95% CI [0.2, 0.3]"), ("AUC", "0.8", "95% CI [0.75, 0.85]")]
    # without a headline list, the CI bounds are not shown as numbers of their own
    assert [lab for lab, *_ in S.headline({"records": run["records"]})] == ["NDCG", "AUC"]


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.refs.append(value)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    reports = make_reports(tmp_path_factory.mktemp("site"))
    return reports, S.build_site(reports)


def test_every_reference_of_every_page_is_a_local_file_that_exists(built):
    reports, index = built
    pages = sorted(index.parent.rglob("*.html"))
    assert {p.relative_to(index.parent).as_posix() for p in pages if "_static" not in p.parts} >= {
        "index.html", "leaderboard.html", "benchmarks.html", "notebooks/demo/study.html", "mlflow/index.html"}
    for page in pages:
        if "_static" in page.parts:
            continue
        parser = _Refs()
        parser.feed(page.read_text())
        for ref in parser.refs:
            url = urlparse(ref)
            assert url.scheme in ("", "data", "file"), f"{page.name} refers to the network: {ref[:80]}"
            if url.scheme == "data":
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.scheme == "" else Path(unquote(url.path))
            assert target.exists(), f"{page.name}: dead reference {ref}"
    notebook = (index.parent / "notebooks" / "demo" / "study.html").read_text()
    assert "require.js" not in notebook and "cdnjs" not in notebook and "mermaid.esm" not in notebook
    assert "_static/mathjax/MathJax.js" in notebook
    assert "ndcg_best = " not in notebook  # record payloads are for the index, not the page


def test_index_shows_the_question_labelled_numbers_and_the_key_figure(built):
    reports, index = built
    text = index.read_text()
    assert "Does the bias model $b_u$ beat popularity?" in text
    assert "NDCG best" in text and "95% CI [0.2, 0.3]" in text and "&lt; 1e-4" in text and "50%" in text
    assert (index.parent / "figures" / "demo__study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_leaderboard_has_one_row_per_model_with_mean_and_interval_from_the_csv(built):
    reports, index = built
    page = (index.parent / "leaderboard.html").read_text()
    rows = re.findall(r'<tr class="model"><td>([^<]+)</td>(.*?)</tr>', page)
    assert [name for name, _ in rows] == MODELS
    with (reports / "runs" / "comparison" / "leaderboard.csv").open() as fh:
        first = next(csv.DictReader(fh))
    mean, lower, upper = (float(first[c]) for c in ("mean", "lower", "upper"))
    assert f"{mean:.4g} [{lower:.4g}, {upper:.4g}]" in rows[0][1]


def test_mlflow_run_page_shows_fingerprint_commit_and_artifact_links(built):
    reports, index = built
    (page,) = [p for p in (index.parent / "mlflow").glob("*.html") if p.name != "index.html"]
    text = page.read_text()
    assert "abc123" in text and "git commit" in text
    assert "tables/table.csv" in text and "environment.json" in text


@pytest.mark.notebook
def test_executed_notebooks_get_no_progress_bars_and_no_tqdm_warning(tmp_path):
    import nbformat

    from recsys_study.experiments import execute_notebook
    from recsys_study.notebook import MIMETYPE

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import os\nfrom recsys_study.notebook import record\nfrom recsys_study.progress import progress\n"
            "from recsys_study.recommenders import make\n"
            "from recsys_study import tracking\n"
            "# mlflow (first here) and implicit import tqdm.auto, which warns in a kernel without ipywidgets\n"
            "with tracking.start_run('kernel', experiment='kernel-test'):\n"
            "    tracking.log_metrics({'a': 1.0})\n"
            "make('als')._make()\n"
            "print(os.environ['RECSYS_STUDY_PROGRESS'], sum(progress(range(50), desc='loop')))\n"
            "record('x', {'a': 1})"),
    ]
    nbformat.write(nb, tmp_path / "in.ipynb")
    assert execute_notebook(tmp_path / "in.ipynb", tmp_path / "out.ipynb") == {"x": {"a": 1}}
    outputs = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[1].outputs
    assert [o.get("name") for o in outputs if o.output_type == "stream"] == ["stdout"], outputs
    assert outputs[0].text == "0 1225\n"
    (shown,) = [o for o in outputs if o.output_type == "display_data"]
    assert shown.data["text/plain"] == "" and MIMETYPE in shown.data  # no raw dict for the reader
