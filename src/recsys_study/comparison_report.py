"""``reports/comparison.md`` and ``reports/leaderboard.csv`` from the comparison study's MLflow runs.

The code lives in ``recsys_study.reporting.leaderboard``; these are the names the command line and tests use.
"""

from recsys_study.reporting.leaderboard import (  # noqa: F401
    HEADLINE,
    comparison_markdown,
    latest_leaderboard,
    read_leaderboard,
    write_comparison_report,
)
