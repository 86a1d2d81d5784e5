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

``top_k_excluding`` is the path of ``Recommender.recommend``: a compiled per-row heap (one pass,
no copy of the score block, seen items skipped as it goes, the same tie rule), about 0.7 ns per
user × item on one thread here against ~30 ns for the float64 copy + negate + argpartition it
replaced; its rows are shared by threads.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys_study.recommenders.threads import run_blocks


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


def _exclusions(exclude, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (indptr, indices) of the columns to skip per row, indices ascending within a row."""
    if exclude is None:
        return np.zeros(n_rows + 1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    if not isinstance(exclude, sp.csr_matrix):
        exclude = sp.csr_matrix(exclude)
    if exclude.shape[0] != n_rows:
        raise ValueError(f"exclude has {exclude.shape[0]} rows for {n_rows} score rows")
    if not exclude.has_sorted_indices:
        exclude = exclude.sorted_indices()
    indices = exclude.indices.astype(np.int64) if exclude.nnz else np.zeros(1, dtype=np.int64)
    return exclude.indptr.astype(np.int64), indices


def top_k_excluding(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None, *, num_threads: int = 0,
                    rows_per_task: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (columns, values, lengths): each row's ``k`` best columns, skipping its excluded ones.

    Row r ranks the columns j not among ``exclude[r]``'s stored entries (a sparse matrix whose
    pattern marks, e.g., the items a user has seen) with a finite-or-+inf score (NaN and -inf never
    qualify) by score descending, ties by lowest column: the first k entries of a stable descending
    sort. ``columns``/``values`` are (n_rows, k) with the first ``lengths[r]`` entries of row r
    valid (fewer than k only where fewer columns qualify), ``values`` in the dtype of ``scores``.

    One pass per row with a size-k heap (implicit's ``topk`` does the same in C++), no copy of
    ``scores`` (float32 stays float32) and no write to it. A block whose rows are all the same
    row (a ``np.broadcast_to`` view, stride 0: popularity) is ranked once and each row then
    walks that order skipping its own exclusions. Rows go to ``num_threads`` threads
    (0 = one per available core; compiled, GIL-free); the result does not depend on it.
    """
    from recsys_study.recommenders import _topk_kernel as kern

    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be a 2-d (rows × columns) array, got shape {scores.shape}")
    if not np.issubdtype(scores.dtype, np.floating) or scores.dtype == np.float16:
        scores = scores.astype(np.float64)
    n_rows, n_cols = scores.shape
    k = max(0, min(int(k), n_cols))
    cols = np.zeros((n_rows, k), dtype=np.int64)
    vals = np.zeros((n_rows, k), dtype=scores.dtype)
    lens = np.zeros(n_rows, dtype=np.int64)
    if k == 0 or n_rows == 0:
        return cols, vals, lens
    indptr, indices = _exclusions(exclude, n_rows)
    if n_rows > 1 and scores.strides[0] == 0:  # one shared row: rank it once
        row = scores[0]
        valid = np.flatnonzero(row > -np.inf)
        order = valid[np.lexsort((valid, -row[valid]))]  # score descending, ties by column
        kern._shared_row_top_k(order, row[order], len(order), k, indptr, indices, cols, vals, lens)
        return cols, vals, lens
    if not (scores.flags.c_contiguous or scores.strides[1] == scores.itemsize):
        scores = np.ascontiguousarray(scores)
    def run(first: int) -> None:
        kern._heap_top_k(scores, first, min(first + rows_per_task, n_rows), k, indptr, indices, cols, vals, lens)

    run_blocks(run, range(0, n_rows, rows_per_task), num_threads)
    return cols, vals, lens
