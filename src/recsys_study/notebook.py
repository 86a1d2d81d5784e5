"""Record headline results inside an executed notebook and read them back.

``record(name, value)`` displays a small JSON payload under a private mimetype
(the scrapbook "glue" convention, without its dependency). Tests and the report
builder read the values back with ``read_records`` from the executed ``.ipynb``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

MIMETYPE = "application/vnd.recsys-study.record+json"


def _jsonable(value):
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) else value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def record(name: str, value) -> None:
    """Store ``value`` under ``name`` in the notebook's output, invisibly; return None.

    ``value`` must be JSON-serialisable after numpy scalars are converted
    (numbers, strings, bools, lists and dicts of them). The payload travels under a private
    mimetype with an empty text form, so the reader sees no raw dict: the numbers reach the
    reader through the notebook's own tables and conclusions, and the report site's index.
    """
    from IPython.display import display

    payload = {"name": name, "value": _jsonable(value)}
    json.dumps(payload)  # fail here, in the notebook, if the value cannot be stored
    display({MIMETYPE: payload, "text/plain": ""}, raw=True)


def read_records(notebook) -> dict:
    """Return ``{name: value}`` of every ``record`` call in an executed notebook (last one wins)."""
    import nbformat  # here, not at import: nbformat's jsonschema costs every notebook kernel ~2.5 s of CPU

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)
    out = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIMETYPE in data:
                payload = data[MIMETYPE]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                out[payload["name"]] = payload["value"]
    return out
