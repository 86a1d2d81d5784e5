"""Row-wise top-k selection whose choice among ties does not depend on the machine.

``np.argpartition`` returns *a* set of k largest entries, but where several entries tie with the
k-th value, which of them make the cut depends on numpy's SIMD code path (AVX2 and AVX-512 give
different sets), so a recommendation list, and a metric in its 4th decimal, could change from one
CPU to another. ``top_k_columns`` keeps the ties of lowest column index instead: the same set a
stable sort by descending value would keep, at O(n) per row (argpartition, then a compiled pass
over the rows whose cut falls inside a run of ties).

For a fitted recommender the column is the item's position in ``item_index_``: order of first
appearance in the training data (frequent items tend to come first), then catalogue order for items
without training data. Models whose scores tie a lot (a genre-only content profile) therefore rank
tied items in that order; before this rule the choice was numpy's and changed with the CPU.
"""

from __future__ import annotations

import numpy as np


def top_k_columns(scores: np.ndarray, k: int, *, discard_at_most: float | None = None) -> np.ndarray:
    """Return per row the column indices of the ``k`` largest values (n_rows × min(k, n_cols)).

    Where values tie at the cut, the lowest column indices are kept; NaN counts as the smallest
    value. The k columns of a row come in no particular order (sort them by value if needed).
    ``discard_at_most``: the caller drops values <= this afterwards, so ties at or below it are
    left as argpartition chose them (a cut among the zeros of a sparse row costs a sort otherwise).
    """
    scores = np.asarray(scores)
    if not np.issubdtype(scores.dtype, np.floating):  # negating unsigned or bool scores would not order them
        scores = scores.astype(np.float64)
    n_rows, n_cols = scores.shape
    k = max(0, min(int(k), n_cols))
    if k == 0:
        return np.empty((n_rows, 0), dtype=np.intp)
    if k == n_cols:
        return np.broadcast_to(np.arange(n_cols, dtype=np.intp), (n_rows, n_cols)).copy()
    neg = -scores
    part = np.argpartition(neg, k - 1, axis=1)[:, :k]  # NaN sorts last, as the smallest score
    cut = np.take_along_axis(neg, part, axis=1).max(axis=1)
    if np.isnan(cut).any():  # fewer than k non-NaN values somewhere: let NaN compare as -inf scores
        neg = np.where(np.isnan(neg), np.inf, neg)
        cut = np.where(np.isnan(cut), np.inf, cut)
    crowded = (neg <= cut[:, None]).sum(axis=1) > k  # more candidates than places at the cut
    if discard_at_most is not None:
        crowded &= -cut > discard_at_most
    tied = np.flatnonzero(crowded)
    if tied.size:  # keep everything above the cut, then the first ties (lowest columns) up to k
        from recsys_study.recommenders._topk_kernel import fill_ties  # numba, imported on first need

        part[tied] = fill_ties(np.ascontiguousarray(neg), tied, cut[tied], k)
    return part


def top_k_rows(dense: np.ndarray, k: int, min_value: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (row, col, value) of each row's ``k`` largest entries greater than ``min_value``."""
    n_rows = dense.shape[0]
    cols = top_k_columns(dense, k, discard_at_most=min_value)  # ties at the cut: lowest column
    vals = np.take_along_axis(dense, cols, axis=1)
    rows = np.broadcast_to(np.arange(n_rows)[:, None], cols.shape)
    keep = vals > min_value
    return rows[keep], cols[keep], vals[keep]


def top_k_sorted(scores: np.ndarray, k: int, *, discard_at_most: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Return (columns, values) of each row's ``k`` largest values, by value descending, ties by column."""
    cols = top_k_columns(scores, k, discard_at_most=discard_at_most)
    vals = np.take_along_axis(scores, cols, axis=1)
    order = np.lexsort((cols, -vals), axis=1)
    return np.take_along_axis(cols, order, axis=1), np.take_along_axis(vals, order, axis=1)
