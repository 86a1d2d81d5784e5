"""Progress bars for the package's long loops (model comparisons, grid searches, bootstraps).

Plain-text tqdm bars on stderr, so they work the same in a terminal, in JupyterLab and in a
notebook executed by papermill (no ipywidgets needed). ``RECSYS_STUDY_PROGRESS=0`` turns
them off; they are also silent for loops of fewer than ``min_items`` steps.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable


def progress(iterable: Iterable, *, desc: str, total: int | None = None, min_items: int = 3):
    """Return ``iterable`` wrapped in a text progress bar (or unwrapped when bars are off)."""
    from tqdm import tqdm

    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    off = os.environ.get("RECSYS_STUDY_PROGRESS", "1") == "0" or (total is not None and total < min_items)
    return tqdm(iterable, desc=desc, total=total, disable=off, file=sys.stderr, mininterval=1.0,
                leave=False, dynamic_ncols=True)
