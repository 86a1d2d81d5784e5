"""Build ``reports/site/``: a static site of the executed studies that works opened from disk, offline.

Pages (all links relative, nothing loaded from the network):

- ``index.html``: one card per study run with its question (the notebook's ``**Question.**``
  paragraph), its headline numbers (labelled, with units and confidence intervals where the
  notebook recorded ``<name>_lower``/``<name>_upper`` or ``<name>_ci``) and its key figure (the
  first PNG of a cell tagged ``key-figure``, else the notebook's first PNG);
- ``notebooks/<experiment>/<run>.html``: each executed notebook rendered by nbconvert, formulas
  typeset by the MathJax 2 copy that the ``jupyter-server-mathjax`` wheel ships (copied to
  ``_static/mathjax/``), no require.js, no mermaid, and the ``record`` payloads left out;
- ``leaderboard.html``: one row per model from every ``leaderboard.csv`` under
  ``reports/runs/comparison/`` (or ``reports/leaderboard.csv``), columns ``model, metric, mean,
  lower, upper``; then the headline records of the comparison runs and ``reports/comparison.md``;
- ``benchmarks.html``: ``reports/benchmarks.md`` from ``make bench`` (with its figures), if present;
- ``mlflow/<run_id>.html``: per MLflow run of the studies (and their child runs): params, metrics,
  dataset inputs with fingerprints, git commit, links to the artifact files;
- ``api/``: the API reference written by ``make docs`` (pdoc), linked (``api/recsys_study.html``) when present.

Inputs are the run manifests ``reports/runs/<experiment>/results.json`` written by the runner and
the MLflow store (read only if it exists; the site never creates a store).
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlparse

from recsys_study.notebook import MIMETYPE

SITE_NAME = "site"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
KEY_FIGURE_TAG = "key-figure"

CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;color:#222}
nav a{margin-right:1.2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f4f4f4}.card{border:1px solid #ddd;border-radius:6px;
padding:0.8em 1em;margin:1em 0;display:flex;gap:1.5em}.card .text{flex:1}.card img{max-width:420px;
max-height:300px;border:1px solid #eee}.failed{background:#fee}.num{text-align:right;font-variant-numeric:
tabular-nums}small{color:#666}code{font-size:90%}"""

# words the labels spell in the field's way
_WORDS = {"ndcg": "NDCG", "mrr": "MRR", "auc": "AUC", "rmse": "RMSE", "mae": "MAE", "nps": "NPS", "clv": "CLV",
          "ci": "CI", "plsc": "PLSc", "pls": "PLS", "lr": "LR", "vip": "VIP", "n": "number of", "vs": "vs",
          "top20": "top 20%", "ease": "EASE", "knn": "kNN", "als": "ALS", "bpr": "BPR", "rfm": "RFM", "mf": "MF"}
# (pattern on the record name, unit); first match wins; "%" means the value is a fraction shown as a percentage
_UNITS = [(r"p_value", "p"), (r"(share|density|coverage|rate|reach|frac)", "%"), (r"(seconds|_s$|time)", "s"),
          (r"(profit|revenue|clv|value_usd|spend)", "$"), (r"(satisfaction_index|^acsi|^ecsi)", "points, 0-100"),
          (r"^nps", "points, -100 to 100")]
_SYMBOLS = ("", "%", "$", "p")  # units written into the value itself; the others go beside the label


def site_dir(reports_dir: Path | None = None) -> Path:
    """Return ``reports/site`` under ``reports_dir`` (default: the project's ``reports/``)."""
    from recsys_study.paths import project_root

    return Path(reports_dir or project_root() / "reports") / SITE_NAME


# -- formatting -----------------------------------------------------------------------------------
def label(name: str) -> str:
    """Return a reader's label for a record name: ``ndcg_cold_user`` -> ``NDCG cold user``."""
    words = [_WORDS.get(w, w) for w in re.split(r"[_\s]+", name.replace("p_value", "p-value")) if w]
    text = " ".join(words)
    return text if text.startswith("p-value") else text[:1].upper() + text[1:]


def unit(name: str) -> str:
    """Return the unit of a record name by the project's naming conventions ("" when unitless)."""
    for pattern, u in _UNITS:
        if re.search(pattern, name.lower()):
            return u
    return ""


def format_p(p: float) -> str:
    """Format a p-value for reading: ``< 1e-4`` below 1e-4, else 2 significant digits (``0.032``)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return "< 1e-4" if p < 1e-4 else f"{p:.2g}"


def format_value(name: str, value, *, with_unit: bool = True) -> str:
    """Format one recorded value with its unit (plain text; dicts and lists in full, never cut).

    ``with_unit=False`` leaves out a unit that is not a symbol (seconds, points): the headline
    table writes those beside the label instead.
    """
    u = unit(name)
    if not with_unit and u not in _SYMBOLS:
        u = ""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return str(value)
    if isinstance(value, (int, float)):
        if u == "p":
            return format_p(float(value))
        if u == "%" and abs(value) <= 1:
            return f"{100 * value:.3g}%"
        if isinstance(value, int):
            return f"{value:,}" + (f" {u}" if u and u != "%" else "")
        text = (f"{value:,.0f}" if abs(value) >= 1e3 else f"{value:,.4g}" if abs(value) >= 1e-3 or value == 0
                else f"{value:.3g}")
        if u == "$":
            return f"${text}"
        return text + (f" {u}" if u and u != "%" else "")
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(str(k) if unit(str(k)) else name, v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(name, v) for v in value)
    return str(value)


def _ci(records: dict, name: str) -> tuple[float, float] | None:
    for lo, hi in ((f"{name}_lower", f"{name}_upper"), (f"{name}_ci_low", f"{name}_ci_high"),
                   (f"{name}_lo", f"{name}_hi")):
        if isinstance(records.get(lo), (int, float)) and isinstance(records.get(hi), (int, float)):
            return float(records[lo]), float(records[hi])
    ci = records.get(f"{name}_ci")
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci):
        return float(ci[0]), float(ci[1])
    return None


def headline(run: dict, *, limit: int = 8) -> list[tuple[str, str, str]]:
    """Return ``(label, formatted value, CI text)`` for the headline records of one manifest run."""
    records = run.get("records") or {}
    ci_names = {n for n in records if re.search(r"_(lower|upper|ci|ci_low|ci_high|lo|hi)$", n)}
    names = run.get("headline") or [n for n, v in records.items()
                                     if isinstance(v, (int, float, str)) and n not in ci_names]
    out = []
    for name in [n for n in names if n in records][:limit]:
        ci = _ci(records, name)
        ci_text = (f"95% CI [{format_value(name, ci[0], with_unit=False)}, {format_value(name, ci[1], with_unit=False)}]"
                   if ci else "")
        u = unit(name)
        text = label(name) + ("" if u in _SYMBOLS or isinstance(records[name], str) else f" ({u})")
        out.append((text, format_value(name, records[name], with_unit=False), ci_text))
    return out


# -- notebooks ------------------------------------------------------------------------------------
def question(notebook: Path) -> tuple[str, str]:
    """Return the notebook's title (its first ``#`` heading) and its ``**Question.**`` paragraph."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    title, text = notebook.stem, ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        src = cell.source
        if title == notebook.stem:
            m = re.search(r"^#\s+(.+)$", src, flags=re.M)
            if m:
                title = m.group(1).strip()
        m = re.search(r"\*\*Question\.\*\*\s*(.+?)(?:\n\s*\n|$)", src, flags=re.S)
        if m:
            text = " ".join(m.group(1).split())
            break
    return title, text


def key_figure(notebook: Path) -> bytes | None:
    """Return the PNG bytes of the notebook's key figure (tagged ``key-figure``, else its first PNG)."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    first = None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if not png:
                continue
            data = base64.b64decode(png if isinstance(png, str) else "".join(png))
            if KEY_FIGURE_TAG in cell.get("metadata", {}).get("tags", []):
                return data
            first = first or data
    return first


_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  tex2jax: {inlineMath: [['$','$'], ['\\\\(','\\\\)']], displayMath: [['$$','$$'], ['\\\\[','\\\\]']],
            processEscapes: true, processEnvironments: true},
  TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
  displayAlign: "center", messageStyle: "none"
});
</script>
<script src="{{ resources.mathjax_url }}"></script>
{%- endblock html_head_js_mathjax -%}
"""


def mathjax_source() -> Path:
    """Return the folder of the MathJax 2 copy shipped by the ``jupyter-server-mathjax`` wheel."""
    try:
        import jupyter_server_mathjax
    except ImportError as err:  # pragma: no cover - it is a dependency
        raise RuntimeError("the offline report site needs jupyter-server-mathjax: run `make setup`.") from err
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def _copy_mathjax(site: Path) -> Path:
    target = site / "_static" / "mathjax"
    if not (target / "MathJax.js").exists():
        tmp = target.with_name(".mathjax.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(mathjax_source(), tmp)
        os.replace(tmp, target)
    return target


def render_notebook(notebook: Path, target: Path, site: Path) -> Path:
    """Render an executed notebook to ``target`` (HTML, offline MathJax, records left out); return it."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    if target.exists() and target.stat().st_mtime >= notebook.stat().st_mtime:
        return target
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs if MIMETYPE not in o.get("data", {})]
    mathjax = Path(os.path.relpath(_copy_mathjax(site) / "MathJax.js", target.parent)).as_posix()
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"offline.html.j2": _TEMPLATE})],
                            template_file="offline.html.j2")
    exporter.mathjax_url = f"{mathjax}?config={MATHJAX_CONFIG}"
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
    _write(target, body)
    return target


# -- pages ----------------------------------------------------------------------------------------
def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if isinstance(text, bytes):
        tmp.write_bytes(text)
    else:
        tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _rel(path: Path, page: Path) -> str:
    return html.escape(Path(os.path.relpath(path, page.parent)).as_posix())


def _mathjax_head(page: Path, site: Path) -> str:
    src = _rel(_copy_mathjax(site) / "MathJax.js", page)
    return ('<script type="text/x-mathjax-config">MathJax.Hub.Config({tex2jax: {inlineMath: [["$","$"]], '
            'processEscapes: true}, "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", '
            f'imageFont: null}}, messageStyle: "none"}});</script><script src="{src}?config={MATHJAX_CONFIG}"></script>')


def _inline_md(text: str) -> str:
    """Render a line of notebook Markdown (emphasis, code, links) as HTML; raw HTML is escaped."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).renderInline(text)


def _numbers_table(rows: list[tuple[str, str, str]]) -> str:
    """Return the headline table (label, value and, when any row has one, its CI); "" for no rows."""
    if not rows:
        return ""
    with_ci = any(ci for *_, ci in rows)
    body = "".join(f'<tr><td>{html.escape(lab)}</td><td class="num">{html.escape(val)}</td>'
                   + (f"<td><small>{html.escape(ci)}</small></td>" if with_ci else "") + "</tr>"
                   for lab, val, ci in rows)
    return f'<table class="headline">{body}</table>'


def _page(title: str, body: str, page: Path, site: Path, *, has: dict, math: bool = False) -> str:
    links = [("index.html", "Studies"), ("leaderboard.html", "Leaderboard"), ("benchmarks.html", "Benchmarks"),
             ("mlflow/index.html", "MLflow runs"), ("api/recsys_study.html", "API reference")]
    nav = " ".join(f'<a href="{_rel(site / href, page)}">{text}</a>' for href, text in links if has.get(href))
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style>{_mathjax_head(page, site) if math else ''}</head>"
            f"<body{' class=tex2jax_ignore' if math else ''}><nav>{nav}</nav>\n<h1>{html.escape(title)}</h1>\n{body}\n"
            "</body></html>\n")


def _manifests(reports_dir: Path) -> list[dict]:
    out = []
    for path in sorted((reports_dir / "runs").glob("*/results.json")):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        data["_dir"] = path.parent
        out.append(data)
    return out


def _leaderboard_rows(reports_dir: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Return (metrics, {model: {metric: "mean [lower, upper]"}}) from the leaderboard CSVs."""
    csvs = sorted((reports_dir / "runs" / "comparison").rglob("leaderboard.csv"))
    if (reports_dir / "leaderboard.csv").exists():
        csvs.append(reports_dir / "leaderboard.csv")
    metrics: list[str] = []
    table: dict[str, dict[str, str]] = {}
    for path in csvs:
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                if not row.get("model"):
                    continue
                metric = row.get("metric") or "value"
                if metric not in metrics:
                    metrics.append(metric)
                text = _number(row.get("mean"))
                if row.get("lower") not in (None, "") and row.get("upper") not in (None, ""):
                    text += f" [{_number(row['lower'])}, {_number(row['upper'])}]"
                table.setdefault(row["model"], {})[metric] = text
    return metrics, table


def _number(text) -> str:
    try:
        return f"{float(text):.4g}"
    except (TypeError, ValueError):
        return html.escape(str(text or ""))


def _mlflow_runs(run_ids: list[str]) -> list:
    """Return the MLflow runs ``run_ids`` and their children; [] when the store does not exist."""
    from recsys_study.tracking import default_tracking_uri, tracking_uri

    uri = tracking_uri()
    if uri == default_tracking_uri() and not Path(uri.removeprefix("sqlite:///")).exists():
        return []
    if not run_ids:
        return []
    from recsys_study.tracking import _mlflow

    client = _mlflow().MlflowClient()
    runs = []
    for rid in run_ids:
        try:
            parent = client.get_run(rid)
        except Exception:  # a manifest from another store
            continue
        runs.append(parent)
        runs += client.search_runs([parent.info.experiment_id],
                                   filter_string=f"tags.mlflow.parentRunId = '{rid}'", max_results=500)
    return runs


def _artifacts(client, run_id: str, path: str = "") -> list:
    out = []
    for info in client.list_artifacts(run_id, path or None):
        out += _artifacts(client, run_id, info.path) if info.is_dir else [info.path]
    return out


def _run_page(run, page: Path, site: Path, has: dict) -> str:
    from recsys_study.tracking import _mlflow

    client = _mlflow().MlflowClient()
    info, data = run.info, run.data
    rows = lambda d: "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(str(v))}</td></tr>"
                             for k, v in sorted(d.items()))
    metrics = "".join(f'<tr><td><code>{html.escape(k)}</code></td><td class="num">{v:.6g}</td></tr>'
                      for k, v in sorted(data.metrics.items()))
    datasets = ""
    for inp in getattr(run.inputs, "dataset_inputs", []) or []:
        ds = inp.dataset
        datasets += (f"<tr><td>{html.escape(ds.name)}</td><td><code>{html.escape(ds.digest)}</code></td>"
                     f"<td>{html.escape(ds.source_type)}</td></tr>")
    fingerprint = data.params.get("dataset.fingerprint") or data.tags.get("dataset.fingerprint") or ""
    base = urlparse(info.artifact_uri)
    arts = ""
    for path in _artifacts(client, info.run_id):
        if base.scheme in ("file", ""):
            local = Path(unquote(base.path)) / path
            arts += f'<li><a href="{_rel(local, page)}">{html.escape(path)}</a></li>'
        else:
            arts += f"<li>{html.escape(path)} <small>({html.escape(info.artifact_uri)})</small></li>"
    parent = data.tags.get("mlflow.parentRunId")
    parent_link = (f' · parent run <a href="{html.escape(parent)}.html">{html.escape(parent[:8])}</a>'
                   if parent in has.get("_runs", ()) else "")
    body = (f"<p>run <code>{html.escape(info.run_id)}</code> · status {html.escape(info.status)} · "
            f"git commit <code>{html.escape(data.tags.get('git_commit', 'unknown'))}</code>{parent_link}</p>"
            f"<p>data fingerprint: <code>{html.escape(fingerprint or 'not recorded')}</code></p>"
            f"<h2>Datasets</h2>{'<table><tr><th>name</th><th>digest</th><th>source</th></tr>' + datasets + '</table>' if datasets else '<p>none logged</p>'}"
            f"<h2>Metrics</h2><table>{metrics}</table><h2>Parameters</h2><table>{rows(data.params)}</table>"
            f"<h2>Artifacts</h2><ul>{arts or '<li>none</li>'}</ul>")
    return _page(f"MLflow run {info.run_name or info.run_id}", body, page, site, has=has)


def build_site(reports_dir: Path | None = None) -> Path:
    """Build the static site under ``reports/site/``; return the path of its ``index.html``."""
    from recsys_study.paths import project_root

    reports_dir = Path(reports_dir or project_root() / "reports")
    site = site_dir(reports_dir)
    site.mkdir(parents=True, exist_ok=True)
    manifests = _manifests(reports_dir)
    metrics, board = _leaderboard_rows(reports_dir)
    comparison = [m for m in manifests if m["experiment"] == "comparison"]
    bench_md = reports_dir / "benchmarks.md"
    run_ids = [r["run_id"] for m in manifests for r in m["runs"] if r.get("run_id")]
    runs = _mlflow_runs(run_ids)
    comparison_md = reports_dir / "comparison.md"
    has = {"index.html": True, "leaderboard.html": bool(board or comparison or comparison_md.exists()),
           "benchmarks.html": bench_md.exists(),
           "mlflow/index.html": bool(runs), "api/recsys_study.html": (site / "api" / "recsys_study.html").exists(),  # pdoc index.html only redirects
           "_runs": {r.info.run_id for r in runs}}

    # one card per study run
    index = site / "index.html"
    sections = []
    for m in manifests:
        cards = []
        for run in sorted(m["runs"], key=lambda r: r["name"]):
            nb = reports_dir / run["output"] if run.get("output") else None
            title, text, links, fig = run["name"], "", [], ""
            if nb is not None and nb.exists():
                title, text = question(nb)
                page = render_notebook(nb, site / "notebooks" / m["experiment"] / f"{run['name']}.html", site)
                links += [f'<a href="{_rel(page, index)}">notebook (HTML)</a>', f'<a href="{_rel(nb, index)}">.ipynb</a>']
                png = key_figure(nb)
                if png:
                    fig_path = site / "figures" / f"{m['experiment']}__{run['name']}.png"
                    _write(fig_path, png)
                    fig = f'<img src="{_rel(fig_path, index)}" alt="key figure of {html.escape(run["name"])}">'
            if run.get("run_id") in has["_runs"]:
                links.append(f'<a href="mlflow/{html.escape(run["run_id"])}.html">MLflow run</a>')
            numbers = _numbers_table(headline(run))
            status = "" if run["status"] == "ok" else f'<p class="failed">failed: {html.escape(run.get("error") or "")}</p>'
            cards.append(
                f'<div class="card{" failed" if run["status"] != "ok" else ""}"><div class="text">'
                f"<h3>{html.escape(title)}</h3><p><small>run <code>{html.escape(run['name'])}</code> · "
                f"{run.get('seconds', 0):.1f} s</small></p>{status}"
                f"<p class=tex2jax_process><b>Question.</b> {_inline_md(text) if text else '<i>not stated</i>'}</p>"
                f'{numbers}<p>{" · ".join(links)}</p>'
                f"</div>{fig}</div>")
        board_link = ' <a href="leaderboard.html">The leaderboard</a>.' if m["experiment"] == "comparison" else ""
        sections.append(f"<h2>{html.escape(m['experiment'])}</h2><p>{_inline_md(m.get('description', ''))}"
                        f"{board_link}</p>" + "".join(cards))
    if not sections:
        sections.append("<p>No experiment has run yet: <code>make run</code>.</p>")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    intro = (f"<p>Built {stamp} from the executed notebooks under <code>reports/runs/</code>. Every number was "
             "recorded by a notebook and logged to MLflow. The page works offline, opened from disk.</p>")
    _write(index, _page("recsys_study: executed studies", intro + "".join(sections), index, site, has=has, math=True))

    if has["leaderboard.html"]:
        page = site / "leaderboard.html"
        if board:
            head = "".join(f"<th>{html.escape(mt)}</th>" for mt in metrics)
            body = "".join(f'<tr class="model"><td>{html.escape(model)}</td>'
                           + "".join(f'<td class="num">{vals.get(mt, "")}</td>' for mt in metrics) + "</tr>"
                           for model, vals in board.items())
            table = (f"<p>Mean over the comparison's evaluation [95% CI lower, upper].</p>"
                     f'<table id="leaderboard"><tr><th>model</th>{head}</tr>{body}</table>')
        else:
            table = ""
        for m in comparison:
            for run in m["runs"]:
                table += f"<h2>{html.escape(run['name'])}</h2>{_numbers_table(headline(run, limit=50))}"
        if comparison_md.exists():  # the comparison study's own report: per dataset, mean [lower, upper]
            from markdown_it import MarkdownIt

            table += MarkdownIt("commonmark", {"html": False}).enable("table").render(comparison_md.read_text())
        _write(page, _page("Model comparison: leaderboard", table, page, site, has=has))

    if has["benchmarks.html"]:
        from markdown_it import MarkdownIt

        page = site / "benchmarks.html"
        text = bench_md.read_text()
        for fig in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
            src = reports_dir / fig
            if src.exists():
                (site / "benchmarks").mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, site / "benchmarks" / Path(fig).name)
                text = text.replace(f"]({fig})", f"](benchmarks/{Path(fig).name})")
        body = MarkdownIt("commonmark").enable("table").render(text)
        _write(page, _page("Benchmarks", body, page, site, has=has))

    if runs:
        listing = []
        for run in runs:
            page = site / "mlflow" / f"{run.info.run_id}.html"
            _write(page, _run_page(run, page, site, has))
            listing.append(f'<tr><td><a href="{html.escape(run.info.run_id)}.html">{html.escape(run.info.run_name or "")}'
                           f"</a></td><td>{html.escape(run.data.tags.get('mlflow.parentRunId', '')[:8])}</td>"
                           f"<td>{html.escape(run.info.status)}</td></tr>")
        page = site / "mlflow" / "index.html"
        _write(page, _page("MLflow runs of the studies", "<table><tr><th>run</th><th>parent</th><th>status</th></tr>"
                           + "".join(listing) + "</table>", page, site, has=has))
    return index
