"""Where the reports live: ``reports/`` and the places inside it that more than one page or writer names."""

from __future__ import annotations

from pathlib import Path

from recsys_study.paths import project_root

SITE_NAME = "site"
LEADERBOARD_CSV = "leaderboard.csv"  # the comparison's leaderboard, written by ``leaderboard.write_comparison_report``
COMPARISON_MD = "comparison.md"
BENCHMARKS_MD = "benchmarks.md"  # written by ``make bench``
MATHJAX = Path("_static") / "mathjax"  # inside the site
# the runner writes each executed notebook's page to runs/<experiment>/<run>.html: two folders below reports/
RUN_PAGE_MATHJAX = (Path("..") / ".." / SITE_NAME / MATHJAX / "MathJax.js").as_posix()


def reports_dir(folder: Path | None = None) -> Path:
    """Return ``folder``, or the project's ``reports/`` when it is None."""
    return Path(folder or project_root() / "reports")


def site_dir(folder: Path | None = None) -> Path:
    """Return ``reports/site`` under ``folder`` (default: the project's ``reports/``)."""
    return reports_dir(folder) / SITE_NAME
