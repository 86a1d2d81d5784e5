"""The offline report site without a browser: formatting rules, links that resolve, no network URL."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from _site_fixture import DATASETS, METRICS, MODELS, make_reports
from recsys_study.reports import build_index
from recsys_study import site as S
from recsys_study.reporting.formatting import estimate
from recsys_study.reporting.leaderboard import COMPACT, read_leaderboard


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


def test_an_estimate_is_rounded_to_the_second_significant_digit_of_its_interval():
    assert estimate(0.33512, 0.31832, 0.35192) == "0.335 ± 0.017"
    assert estimate(81.0, 76.95, 85.05) == "81.0 ± 4.0"
    assert estimate(0.3, 0.25, 0.4) == "0.30 [0.25, 0.40]"  # not symmetric: both bounds
    assert estimate(0.3, 0.29, 0.31, places=4) == "0.3000 ± 0.0100"
    assert estimate(0.3, float("nan"), float("nan")) == "0.3000"


def test_a_leaderboard_csv_without_a_dataset_column_reads_the_dataset_from_the_metric_label(tmp_path):
    (tmp_path / "leaderboard.csv").write_text("model,metric,mean,lower,upper\nease,NDCG@10 (ml-100k),0.3,0.29,0.31\n"
                                              "ease,Recall@10,0.2,,\n")
    board = read_leaderboard(tmp_path)
    assert board[["dataset", "metric"]].values.tolist() == [["ml-100k", "NDCG@10"], ["", "Recall@10"]]


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
    folder = make_reports(tmp_path_factory.mktemp("site"))
    build_index(folder)
    return folder, S.build_site(folder)


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


def test_the_public_site_shows_no_per_user_rows(built):
    reports, index = built
    for page in index.parent.rglob("*.html"):
        if "_static" not in page.parts:
            assert "per_user" not in page.read_text(), page  # not even a link to a per-user table
    (run_page,) = [p for p in (index.parent / "mlflow").glob("*.html") if "tables/table.csv" in p.read_text()]
    assert "1 per-user table kept in the MLflow store" in run_page.read_text()


def test_text_from_manifests_is_escaped_on_every_page(built):
    reports, index = built
    for page in (index, reports / "index.html"):
        text = page.read_text()
        assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text, page


def test_index_shows_the_question_labelled_numbers_and_the_key_figure(built):
    reports, index = built
    text = index.read_text()
    assert "Does the bias model $b_u$ beat popularity?" in text
    assert "NDCG best" in text and "95% CI [0.2, 0.3]" in text and "&lt; 1e-4" in text and "50%" in text
    assert (index.parent / "figures" / "demo__study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_leaderboard_leads_with_its_figure_then_headline_metrics_then_the_rest_folded(built):
    reports, index = built
    page = (index.parent / "leaderboard.html").read_text()
    figure = re.search(r'<img id="leaderboard-figure" src="([^"]+)"', page)
    assert figure and (index.parent / figure.group(1)).read_bytes().lstrip().startswith(b"<?xml")  # an SVG
    assert page.index("leaderboard-figure") < page.index('id="leaderboard"') < page.index("<details")
    compact = page[page.index('id="leaderboard"'):page.index("</table>", page.index('id="leaderboard"'))]
    rows = re.findall(r'<tr class="model"><td>([^<]+)</td>(.*?)</tr>', compact)
    board = read_leaderboard(reports)
    first = board[(board["dataset"] == DATASETS[0]) & (board["metric"] == "NDCG@10")]
    assert [name for name, _ in rows] == first.sort_values("mean", ascending=False)["model"].tolist()
    assert sorted(name for name, _ in rows) == sorted(MODELS)
    best = first.loc[first["mean"].idxmax()]
    cells = re.findall(r'<td class="num">([^<]*)</td>', rows[0][1])
    assert len(cells) == len(COMPACT) * len(DATASETS)
    assert cells[0] == f"{best['mean']:.4f} ± {best['upper'] - best['mean']:.4f}"
    # every metric of every dataset once on the page: the headline ones in the table, the rest folded
    headers = re.findall(r"<th>([^<]+@10)</th>", page)
    assert sorted(headers) == sorted(METRICS * len(DATASETS))
    assert re.findall(r"<th>([^<]+@10)</th>", page[page.index("<details"):]) == [
        m for m in METRICS if m not in COMPACT] * len(DATASETS)
    assert "The comparison study" not in page  # comparison.md is linked, not shown a second time


def test_the_reports_index_shows_the_runs_and_the_headline_leaderboard(built):
    folder, _ = built
    text = (folder / "index.html").read_text()
    assert "Comparison leaderboard" in text and "<code>ndcg_best</code> = 0.25" in text and "study.html" in text
    board = read_leaderboard(folder)
    best = board[board["metric"] == "NDCG@10"].sort_values("mean").iloc[-1]
    assert f"{best['mean']:.4f} [{best['lower']:.4f}, {best['upper']:.4f}]" in text


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


def test_the_site_names_a_bad_manifest_and_leaves_it_out(tmp_path, capsys):
    # a truncated results.json, and one whose run has no status: named on stderr, never read as empty
    from recsys_study.reporting.index import read_manifests

    runs = tmp_path / "runs"
    for name, text in {"cut": '{"experiment": "cut", "runs": [', "nostatus": '{"experiment": "x", "runs": '
                       '[{"name": "a", "seconds": 1.0}]}', "good": '{"experiment": "good", "runs": [{"name": "a", '
                       '"status": "ok", "seconds": 1.0}]}'}.items():
        (runs / name).mkdir(parents=True)
        (runs / name / "results.json").write_text(text)
    assert list(read_manifests(tmp_path)) == ["good"]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "cut/results.json is not a runner's manifest (not readable JSON" in err[0]
    assert "nostatus/results.json is not a runner's manifest (run 'a' has status None" in err[1]


def test_a_notebook_page_made_from_the_runners_page_equals_a_fresh_render(tmp_path):
    """The site rewrites the MathJax address of the runner's page instead of rendering again: the bytes must be
    those of a render with the site's address; a runner's page older than its notebook is not used."""
    import os
    import time

    from recsys_study.reporting.index import notebook_to_html
    from recsys_study.reporting.render import notebook_html, render_notebook_page

    reports = make_reports(tmp_path)
    notebook = reports / "runs" / "demo" / "study.ipynb"
    run_page = notebook_to_html(notebook)
    site = reports / "site"
    target = site / "notebooks" / "demo" / "study.html"
    render_notebook_page(notebook, target, site)
    fresh = notebook_html(notebook, mathjax_url="../../_static/mathjax/MathJax.js")
    assert target.read_text(encoding="utf-8") == fresh
    assert "../../site/_static/mathjax/MathJax.js" in run_page.read_text(encoding="utf-8")

    # a stale runner's page (here edited, and older than the notebook) is ignored: the page is rendered
    run_page.write_text(run_page.read_text(encoding="utf-8").replace("</body>", "STALE</body>"), encoding="utf-8")
    past = time.time() - 60
    os.utime(run_page, (past, past))
    target.unlink()
    render_notebook_page(notebook, target, site)
    assert target.read_text(encoding="utf-8") == fresh


def test_a_local_runs_artifacts_are_listed_from_disk_as_mlflow_lists_them(tmp_path):
    from recsys_study import tracking
    from recsys_study.reporting.mlflow_pages import _artifacts

    make_reports(tmp_path)
    client = tracking.client()
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], max_results=50)
    listed = 0
    for run in runs:
        folder = Path(unquote(urlparse(run.info.artifact_uri).path))
        from_disk = _artifacts(client, run.info.run_id, folder=folder)
        assert from_disk == _artifacts(client, run.info.run_id)
        listed += len(from_disk)
    assert listed >= 2  # the fixture logs tables: the comparison must have compared something


def test_the_comparison_report_reads_the_newest_finished_summary_run(tmp_path):
    import time

    import pandas as pd

    from _site_fixture import leaderboard
    from recsys_study import tracking
    from recsys_study.reporting.leaderboard import latest_leaderboard

    reports = make_reports(tmp_path)
    time.sleep(0.01)  # start times are in milliseconds
    newer = leaderboard().assign(mean=lambda f: f["mean"] / 2)
    with tracking.start_run("comparison_leaderboard", experiment="comparison-fixture-2",
                            tags={"stage": "comparison_summary"}, params={"seeds": [7]}):
        tracking.log_table(newer, "leaderboard")
    with pytest.raises(RuntimeError):  # a FAILED summary, newer still, is not read
        with tracking.start_run("comparison_leaderboard", experiment="comparison-fixture-2",
                                tags={"stage": "comparison_summary"}, params={"seeds": [9]}):
            tracking.log_table(leaderboard().assign(mean=0.0), "leaderboard")
            raise RuntimeError("the summary failed")
    board, params = latest_leaderboard()
    assert params["seeds"] == "[7]"
    assert board["mean"].to_numpy() == pytest.approx(newer["mean"].to_numpy())
    assert reports.exists()
