"""Every notebook follows the house conventions (docs/architecture.md): markdown first, a parameters cell, records."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_conventions(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown", "the first cell must state the question and method"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert "quick" in tagged[0].source and "seed" in tagged[0].source
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any("publish(" in src or "record(" in src for src in code), "headline numbers are recorded"
    # the bookkeeping is one publish(...) call: no MLflow run opened, no figure or table logged by hand
    assert not any(call in src for src in code for call in ("start_run(", "tracking.log_", "mlflow.")), \
        "log through recsys_study.notebook.publish, not by hand"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    assert not any(line.lstrip().startswith(("def ", "class ")) for c in nb.cells if c.cell_type == "code"
                   for line in c.source.splitlines()), "algorithms belong in the package, not the notebook"


def test_there_is_a_notebook_test_for_every_notebook():
    tests = " ".join(p.read_text() for p in Path(__file__).parent.glob("test_notebook*.py"))
    missing = [p.name for p in NOTEBOOKS if p.name not in tests]
    assert not missing, f"notebooks without an execution test: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_parameter_without_a_warning(path, caplog):
    # papermill's own line parser (used for --help-notebook and its parameter report) warns on lines it
    # cannot read, e.g. a comment holding "==", and that warning used to print in every `make run`
    import logging

    import papermill as pm

    with caplog.at_level(logging.WARNING, logger="papermill"):
        declared = pm.inspect_notebook(str(path))
    assert [r.getMessage() for r in caplog.records] == []
    assert declared  # and it found the parameters


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_publish_reads_the_same_parameters_papermill_declares(path):
    # publish() logs the parameters it reads from the kernel's history: the parameters cell must be plain
    # literal assignments, naming exactly what papermill declares (and what the runner checks the YAML against)
    import papermill as pm

    from recsys_study.notebook import parameters

    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert set(parameters(["import os", cell.source])) == set(pm.inspect_notebook(str(path)))

