"""Compiled tie resolution for ``topk.top_k_columns`` (kept apart so numba loads only when ties need it)."""

from __future__ import annotations

import numpy as np

from recsys_study.recommenders._jit import jit


@jit
def _fill_ties(neg, rows, cut, k, out):  # pragma: no cover - jitted
    n_cols = neg.shape[1]
    for t in range(rows.shape[0]):
        r = rows[t]
        c = cut[t]
        need = k
        for j in range(n_cols):
            if neg[r, j] < c:
                need -= 1
        m = 0
        for j in range(n_cols):
            v = neg[r, j]
            if v < c:
                out[t, m] = j
                m += 1
            elif v == c and need > 0:
                out[t, m] = j
                m += 1
                need -= 1


def fill_ties(neg: np.ndarray, rows: np.ndarray, cut: np.ndarray, k: int) -> np.ndarray:
    """Return, for each row index in ``rows``, the columns of ``neg`` below ``cut`` then the first
    columns equal to it, k in all (``neg`` holds negated scores: smaller is better)."""
    out = np.empty((len(rows), k), dtype=np.intp)
    _fill_ties(neg, rows.astype(np.intp), cut.astype(neg.dtype), int(k), out)
    return out
