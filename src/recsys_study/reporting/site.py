"""``reports/site/``: a static site of the executed studies that works opened from disk, offline.

Pages (all links relative, nothing loaded from the network):

- ``index.html``: one card per study run with its question (the notebook's ``**Question.**``
  paragraph), its headline numbers (labelled, with units and confidence intervals) and its key
  figure (the first PNG of a cell tagged ``key-figure``, else the notebook's first PNG);
- ``notebooks/<experiment>/<run>.html``: each executed notebook (``render.notebook_html``);
- ``leaderboard.html``: the comparison's leaderboard from ``reports/leaderboard.csv``: a figure of the
  main metric with its 95 % interval per model and dataset, a compact table of the headline metrics
  and, folded, the other metrics;
- ``benchmarks.html``: ``reports/benchmarks.md`` from ``make bench`` (with its figures), if present;
- ``mlflow/<run_id>.html``: per MLflow run of the studies (and their child runs);
- ``api/``: the API reference written by ``make docs`` (pdoc), linked when present.

Inputs are the run manifests, ``reports/leaderboard.csv`` and the MLflow store (read only if it exists;
the site never creates a store). Per-user results are never published.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

from recsys_study.reporting import leaderboard as lb
from recsys_study.reporting.files import atomic_write
from recsys_study.reporting.formatting import headline
from recsys_study.reporting.index import read_manifests
from recsys_study.reporting.layout import BENCHMARKS_MD, COMPARISON_MD, reports_dir as _reports_dir, site_dir
from recsys_study.reporting.mlflow_pages import read_runs, write_run_pages
from recsys_study.reporting.pages import SitePages, relative
from recsys_study.reporting.render import copy_mathjax, key_figure, question, render_notebook_page


def _card(run: dict, experiment: str, reports_dir: Path, pages: SitePages, index: Path, runs_shown: set) -> dict:
    card = {"name": run["name"], "status": run["status"], "error": run.get("error") or "",
            "seconds": run.get("seconds") or 0.0, "title": run["name"], "question": "", "links": [], "figure": "",
            "numbers": headline(run)}
    notebook = reports_dir / run["output"] if run.get("output") else None
    if notebook is not None and notebook.exists():
        card["title"], card["question"] = question(notebook)
        page = render_notebook_page(notebook, pages.root / "notebooks" / experiment / f"{run['name']}.html", pages.root)
        card["links"] += [(relative(page, index), "notebook (HTML)"), (relative(notebook, index), ".ipynb")]
        png = key_figure(notebook)
        if png:
            card["figure"] = relative(atomic_write(pages.root / "figures" / f"{experiment}__{run['name']}.png", png),
                                      index)
    if run.get("run_id") in runs_shown:
        card["links"].append((f"mlflow/{run['run_id']}.html", "MLflow run"))
    return card


def _write_leaderboard(board, reports_dir: Path, pages: SitePages) -> Path:
    page = pages.root / "leaderboard.html"
    figure = lb.write_figure(board, pages.root / "figures" / "leaderboard.svg")
    seeds = board["n_seeds"].dropna().unique() if "n_seeds" in board else []
    relevance = board["relevance"].dropna().unique() if "relevance" in board else []
    caption = (f"{lb.MAIN_METRIC} per model and dataset: the mean" + (f" over {int(seeds[0])} seeds" if len(seeds) == 1 else "")
               + " and its 95 % interval; the best in orange. One protocol for every model"
               + (f"; relevant: {relevance[0]}" if len(relevance) == 1 else "") + ".")
    return pages.write(
        "leaderboard.html.j2", page, "Model comparison: leaderboard", metric=lb.MAIN_METRIC, caption=caption,
        figure=relative(figure, page) if figure else "", compact=lb.table(board, lb.COMPACT),
        rest=[t for name in dict.fromkeys(board["dataset"])
              if (t := lb.table(board, datasets=[name], exclude=lb.COMPACT)).columns],
        comparison_md=relative(reports_dir / COMPARISON_MD, page) if (reports_dir / COMPARISON_MD).exists() else "")


def _write_benchmarks(bench_md: Path, reports_dir: Path, pages: SitePages) -> Path:
    text = bench_md.read_text()
    for fig in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        src = reports_dir / fig
        if src.exists():
            (pages.root / "benchmarks").mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, pages.root / "benchmarks" / Path(fig).name)
            text = text.replace(f"]({fig})", f"](benchmarks/{Path(fig).name})")
    return pages.write("markdown_page.html.j2", pages.root / "benchmarks.html", "Benchmarks", text=text)


def build_site(reports_dir: Path | None = None) -> Path:
    """Build the static site under ``reports/site/``; return the path of its ``index.html``."""
    reports_dir = _reports_dir(reports_dir)
    root = site_dir(reports_dir)
    root.mkdir(parents=True, exist_ok=True)
    copy_mathjax(root)
    manifests = list(read_manifests(reports_dir).values())
    board = lb.read_leaderboard(reports_dir)
    bench_md = reports_dir / BENCHMARKS_MD
    runs = read_runs([r["run_id"] for m in manifests for r in m["runs"] if r.get("run_id")])
    present = {"index.html", *(["leaderboard.html"] if board is not None else []),
               *(["benchmarks.html"] if bench_md.exists() else []), *(["mlflow/index.html"] if runs else []),
               # pdoc's own index.html only redirects
               *(["api/recsys_study.html"] if (root / "api" / "recsys_study.html").exists() else [])}
    pages = SitePages(root, present)

    index = root / "index.html"
    shown = {r.info.run_id for r in runs}
    experiments = [{"name": m["experiment"], "description": m.get("description", ""),
                    "leaderboard": board is not None and (m["experiment"] == "comparison"
                                                          or any("comparison" in r["name"] for r in m["runs"])),
                    "cards": [_card(run, m["experiment"], reports_dir, pages, index, shown)
                              for run in sorted(m["runs"], key=lambda r: r["name"])]}
                   for m in manifests]
    pages.write("studies.html.j2", index, "recsys_study: executed studies", math=True, experiments=experiments,
                stamp=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    if board is not None:
        _write_leaderboard(board, reports_dir, pages)
    if bench_md.exists():
        _write_benchmarks(bench_md, reports_dir, pages)
    write_run_pages(runs, pages)
    return index
