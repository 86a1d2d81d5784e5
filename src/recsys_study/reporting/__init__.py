"""Reports and the offline site, built from the run manifests, the executed notebooks and MLflow.

- ``files``: the one atomic writer (write aside, then rename) and the lock of ``reports/index.html``;
- ``render``: the one notebook-to-HTML renderer (offline MathJax, record payloads left out);
- ``pages``: the Jinja2 templates of ``templates/`` (autoescaped) and Markdown to HTML;
- ``formatting``: labels, units and numbers as the pages print them;
- ``leaderboard``: the comparison's leaderboard: read from MLflow, written as CSV and Markdown, shown;
- ``index``: ``reports/index.html``, one table of every run;
- ``mlflow_pages``: one site page per MLflow run of the studies;
- ``site``: ``reports/site/``, the offline site.
"""
