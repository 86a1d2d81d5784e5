"""Where the project lives: the one place that finds its root (data, experiments, reports, the MLflow store)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_ROOT = "RECSYS_STUDY_ROOT"


def project_root() -> Path:
    """Return the project root: ``$RECSYS_STUDY_ROOT``, else the nearest parent with our pyproject, else the cwd."""
    if os.environ.get(ENV_ROOT):
        return Path(os.environ[ENV_ROOT]).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and 'name = "recsys-study"' in pyproject.read_text(errors="ignore"):
            return candidate
    return here
