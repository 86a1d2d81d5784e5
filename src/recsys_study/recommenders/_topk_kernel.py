"""Compiled row-wise top-k kernels for ``topk.py`` (kept apart so numba loads only when they are needed).

``_fill_ties``: tie resolution after ``np.argpartition`` (``top_k_columns``).
``_heap_top_k``: one pass per row with a size-k heap, skipping a row's excluded (seen) columns,
NaN and -inf, ranking by (score descending, column ascending): the selection of implicit's C++
``topk`` (a per-row heap), with its tie rule made explicit. ``_shared_row_top_k``: the same result
for a block whose rows all hold one score row (popularity), from that row's sorted order.
"""

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


@jit
def _sift_down(hv, hc, n, value, col):  # pragma: no cover - jitted
    """Put (value, col) at the root of the size-n min-heap (worst on top) and restore the heap.

    "Worse" = lower value, or equal value and higher column: the root is the entry to evict.
    """
    parent = 0
    while True:
        child = 2 * parent + 1
        if child >= n:
            break
        other = child + 1
        if other < n and (hv[other] < hv[child] or (hv[other] == hv[child] and hc[other] > hc[child])):
            child = other
        if hv[child] < value or (hv[child] == value and hc[child] > col):  # child worse than the new entry
            hv[parent] = hv[child]
            hc[parent] = hc[child]
            parent = child
        else:
            break
    hv[parent] = value
    hc[parent] = col


@jit
def _sort_heap(hv, hc, n, out_cols, out_vals, row):  # pragma: no cover - jitted
    """Write the n heap entries to ``out_*[row, :n]`` by value descending, ties by column ascending."""
    for m in range(n):  # insertion sort: n = k is small
        v = hv[m]
        c = hc[m]
        p = m
        while p > 0 and (out_vals[row, p - 1] < v or (out_vals[row, p - 1] == v and out_cols[row, p - 1] > c)):
            out_vals[row, p] = out_vals[row, p - 1]
            out_cols[row, p] = out_cols[row, p - 1]
            p -= 1
        out_vals[row, p] = v
        out_cols[row, p] = c


@jit
def _heap_top_k(scores, first, last, k, ex_indptr, ex_indices, out_cols, out_vals, out_len):  # pragma: no cover
    """For rows ``first:last`` of ``scores`` fill ``out_*[r]`` with their k best entries, sorted.

    Columns ``ex_indices[ex_indptr[r]:ex_indptr[r + 1]]`` (ascending) are skipped, as are NaN and
    -inf; ``out_len[r]`` is how many entries remain (< k only where fewer columns qualify).
    """
    n_cols = scores.shape[1]
    hv = np.empty(max(k, 1), dtype=scores.dtype)
    hc = np.empty(max(k, 1), dtype=np.int64)
    neg_inf = -np.inf
    for r in range(first, last):
        e = ex_indptr[r]
        e_end = ex_indptr[r + 1]
        next_ex = ex_indices[e] if e < e_end else n_cols
        n = 0
        j = 0
        while n < k and j < n_cols:  # fill the heap with the first k admissible entries
            if j == next_ex:
                e += 1
                next_ex = ex_indices[e] if e < e_end else n_cols
            else:
                v = scores[r, j]
                if v > neg_inf:  # False for NaN and -inf
                    child = n  # sift up
                    while child > 0:
                        parent = (child - 1) // 2
                        if hv[parent] < v:  # parent worse than new (its column is lower: only value counts)
                            break
                        hv[child] = hv[parent]
                        hc[child] = hc[parent]
                        child = parent
                    hv[child] = v
                    hc[child] = j
                    n += 1
            j += 1
        if n == k and k > 0:
            worst = hv[0]
            while j < n_cols:  # a later column ties lose to earlier ones: strictly better only
                if j == next_ex:
                    e += 1
                    next_ex = ex_indices[e] if e < e_end else n_cols
                else:
                    v = scores[r, j]
                    if v > worst:
                        _sift_down(hv, hc, k, v, j)
                        worst = hv[0]
                j += 1
        _sort_heap(hv, hc, n, out_cols, out_vals, r)
        out_len[r] = n


@jit
def _shared_row_top_k(order, order_vals, n_valid, k, ex_indptr, ex_indices, out_cols, out_vals, out_len
                      ):  # pragma: no cover - jitted
    """Rows that share one score row: walk its ``order`` (best first) skipping each row's excluded columns."""
    for r in range(out_len.shape[0]):
        lo = ex_indptr[r]
        hi = ex_indptr[r + 1]
        n = 0
        t = 0
        while n < k and t < n_valid:
            c = order[t]
            a, b = lo, hi  # binary search of c among the row's sorted exclusions
            while a < b:
                mid = (a + b) // 2
                if ex_indices[mid] < c:
                    a = mid + 1
                else:
                    b = mid
            if not (a < hi and ex_indices[a] == c):
                out_cols[r, n] = c
                out_vals[r, n] = order_vals[t]
                n += 1
            t += 1
        out_len[r] = n
