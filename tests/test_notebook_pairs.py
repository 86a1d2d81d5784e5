"""Every notebook has a jupytext percent-format twin (``notebooks/NN_name.py``) with the same cells."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PAIRS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_every_notebook_is_paired():
    assert PAIRS, "no notebooks found"
    missing = [nb.name for nb in PAIRS if not nb.with_suffix(".py").exists()]
    assert not missing, f"no .py twin for {missing}; run `make sync-notebooks`"
    orphans = [py.name for py in NOTEBOOKS.glob("*.py") if not py.with_suffix(".ipynb").exists()]
    assert not orphans, f"scripts without a notebook: {orphans}"


@pytest.mark.parametrize("notebook", PAIRS, ids=[p.stem for p in PAIRS])
def test_pair_is_in_sync(notebook):
    config = jupytext.config.find_jupytext_configuration_file(str(notebook.parent))
    cfg = jupytext.config.load_jupytext_configuration_file(config) if config else None
    nb = jupytext.read(notebook)
    expected = jupytext.writes(nb, fmt="py:percent", config=cfg)
    script = notebook.with_suffix(".py").read_text()
    assert script == expected, f"{notebook.name} and its .py twin differ; run `make sync-notebooks`"
    # and the script reads back to the same cells (sources and kinds; jupytext drops a final newline)
    back = jupytext.reads(script, fmt="py:percent")
    assert [(c.cell_type, c.source.rstrip()) for c in back.cells] == [(c.cell_type, c.source.rstrip()) for c in nb.cells]
