"""Neighbourhood collaborative filtering: user-based and item-based k-nearest neighbours.

Similarity between two rows a, b of a matrix (users for user-based, items for item-based):

- ``cosine``:          s_ab = Σ_f x_af x_bf / (‖x_a‖ ‖x_b‖) on the raw ratings;
- ``pearson``:         cosine after centring each row by its own mean rating (over the
                       entries it has; the common full-vector approximation of Pearson's r,
                       as in LensKit);
- ``adjusted_cosine``: cosine after centring each column by its mean (for item-based CF,
                       ratings minus the user's mean; Sarwar et al., WWW 2001);
- ``jaccard``:         s_ab = |F_a ∩ F_b| / |F_a ∪ F_b| on who-rated-what.

Shrinkage multiplies s_ab by n_ab / (n_ab + λ), n_ab the co-rating count (Koren 2010).
Each row keeps its ``k`` most similar neighbours with similarity > ``min_similarity``, the
candidates being all other rows (similarity 0 where no column is shared); where the k-th
value is tied, the tied neighbours of lowest index are kept (a dense ``np.argpartition``
did this selection before, and its choice among ties changed with numpy's SIMD code path).

The similarities are computed row by row from the sparse product (row-wise SpGEMM,
Gustavson, ACM TOMS 1978: the loop of scipy's ``csr_matmat`` and of implicit's
``all_pairs_knn``): for row a, x_a · x_b is accumulated over the columns f of a and the rows b
having f into one length-n buffer, with the same operations in the same order as scipy's
product, so the values are bitwise those of the dense computation this replaced. The k-th
largest value is located in a histogram of the row's values (2048 buckets over [-1, 1]) and
selected exactly (a size-k heap) among the values of its bucket and above. Memory is O(n)
per thread plus the output O(n k): no n × n array, dense or sparse, is ever formed. The
kernel is compiled with numba (``nogil``), so ``num_threads`` Python threads share the rows.

Rating prediction (the seeds' user-based prediction made precise; Herlocker et al. 1999):
  user-based  r̂_ui = μ_u + Σ_{v∈N_k(u)∩U_i} s_uv (r_vi − μ_v) / Σ_{v∈N_k(u)∩U_i} |s_uv|
  item-based  r̂_ui = μ_i + Σ_{j∈N_k(i)∩I_u} s_ij (r_uj − μ_j) / Σ_{j∈N_k(i)∩I_u} |s_ij|
falling back to μ_u (μ_i) when no neighbour rated the item. Top-N scores are the sum of
similarities to the neighbours that interacted (user-based: Σ_{v∈N_k(u)} s_uv [v rated i];
item-based: Σ_{j∈N_k(i)∩I_u} s_ij over the target's k nearest items, Sarwar et al. 2001's
neighbourhood). Deshpande & Karypis (2004) sum the other way round, over the user's items j whose
own k nearest contain i (i ∈ N_k(j)), the model of LensKit's ItemKNN with ``save_nbrs``; with no
truncation (k ≥ number of items) the two coincide (benchmarks/lenskit_peers.py checks this).

Forgetting users (``ItemKNN.forget``; the right to erasure): removing users U changes only the
vectors of the items they rated, T (their entries go; for Pearson their means move too), hence only
the similarities s_ab with a or b in T. The rows of T are recomputed; the new similarities of every
other row b to T (s_ba = s_ab, the same operations in the same order, so bitwise those of a refit)
replace its old ones, and its other values are unchanged and no larger than its old k-th: when the
new k-th known value stays above that old cut, the known values decide the row exactly (ties by the
refit's index); otherwise the row is recomputed. When the rows of T hold more than 40 % of the
similarity work (the sum over rows of their raters' activity), or ``min_similarity`` < 0 (zero
similarities can then be kept, by index), every row is recomputed, as in a refit.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from recsys_study.privacy.erasure import apply_layout, entry_rows, forget_layout
from recsys_study.recommenders._jit import jit as _jit
from recsys_study.recommenders.base import Recommender
from recsys_study.recommenders.threads import run_blocks

SIMILARITIES = ("cosine", "adjusted_cosine", "pearson", "jaccard")


def _binary(x: sp.csr_matrix) -> sp.csr_matrix:
    b = x.copy().astype(np.float32)
    b.data[:] = 1.0
    return b


def _row_means(x: sp.csr_matrix) -> np.ndarray:
    counts = np.diff(x.indptr)
    sums = np.asarray(x.sum(axis=1)).ravel()
    return np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)


def _centre_rows(x: sp.csr_matrix, means: np.ndarray) -> sp.csr_matrix:
    out = x.copy().astype(np.float64)
    out.data -= np.repeat(means, np.diff(x.indptr))
    return out


@_jit
def _kth_largest(values, m, r, heap):  # pragma: no cover - jitted
    """Return the ``r``-th largest (1-based, 1 <= r <= m) of ``values[:m]``, via a min-heap of size r.

    Each value is compared with the heap's minimum and only the larger ones are sifted in.
    The values are visited in a golden-ratio stride (a permutation of 0..m-1), so a trend in
    storage order (similarities growing with the column index, as for items indexed by
    first appearance) does not make most of them enter the heap.
    """
    stride = max(int(m * 0.6180339887), 1)
    while math.gcd(stride, m) != 1:
        stride += 1
    t = 0
    for filled in range(m):
        value = values[t]
        t += stride
        if t >= m:
            t -= m
        if filled < r:  # sift up into the heap being built
            child = filled
            heap[child] = value
            while child > 0:
                parent = (child - 1) // 2
                if heap[parent] <= heap[child]:
                    break
                heap[parent], heap[child] = heap[child], heap[parent]
                child = parent
            continue
        if value <= heap[0]:
            continue
        parent = 0  # replace the minimum and sift it down
        while True:
            child = 2 * parent + 1
            if child >= r:
                break
            if child + 1 < r and heap[child + 1] < heap[child]:
                child += 1
            if heap[child] >= value:
                break
            heap[parent] = heap[child]
            parent = child
        heap[parent] = value
    return heap[0]


_HALF_BUCKETS = 1024  # buckets per unit of similarity, over [-1, 1]


@_jit
def _bucket(s):  # pragma: no cover - jitted
    """Return the histogram bucket of a similarity: monotone in s, clamped to [-1, 1]."""
    return min(max(int((s + 1.0) * _HALF_BUCKETS), 0), 2 * _HALF_BUCKETS - 1)


@_jit
def _top_k_rows_sparse(first, last, n, v_indptr, v_indices, v_data, vt_indptr, vt_indices, vt_data,
                       norms, counts, jaccard, shrinkage, kk, min_value,
                       out_cols, out_vals, out_len):  # pragma: no cover - jitted
    """Fill ``out_*[a]`` with the kept neighbours of each row a in ``first:last``, by column.

    kk = min(k, n), as for a dense row of n entries whose own entry is -inf. The values are
    those of a dense block computation, operation for operation (csr_matmat's accumulation
    order, then the same divisions and products), hence bitwise equal to it.
    """
    acc = np.zeros(n)
    co = np.zeros(n)
    cols = np.empty(n, dtype=np.int64)
    vals = np.empty(n)
    cand_cols = np.empty(n, dtype=np.int64)
    cand_vals = np.empty(n)
    heap = np.empty(max(kk, 1))
    hist = np.zeros(2 * _HALF_BUCKETS, dtype=np.int32)
    for a in range(first, last):
        # indices go through np.uint64: numba then skips its negative-index wraparound (~15 % faster)
        if shrinkage > 0:
            for p in range(v_indptr[a], v_indptr[a + 1]):
                f = np.uint64(v_indices[p])
                x_af = v_data[p]
                for q in range(vt_indptr[f], vt_indptr[f + 1]):
                    b = np.uint64(vt_indices[q])
                    acc[b] += x_af * vt_data[q]
                    co[b] += 1.0
        else:
            for p in range(v_indptr[a], v_indptr[a + 1]):
                f = np.uint64(v_indices[p])
                x_af = v_data[p]
                for q in range(vt_indptr[f], vt_indptr[f + 1]):
                    acc[np.uint64(vt_indices[q])] += x_af * vt_data[q]
        acc[a] = 0.0  # no self-neighbour
        co[a] = 0.0
        touched = 0  # branch-free compaction of the rows b sharing a column, by index
        if shrinkage > 0:
            for b in range(n):
                cols[np.uint64(touched)] = b
                touched += co[np.uint64(b)] != 0.0
        else:  # a zero sum is no entry of csr_matmat's product: similarity 0, like no overlap
            for b in range(n):
                cols[np.uint64(touched)] = b
                touched += acc[np.uint64(b)] != 0.0
        m = 0  # the non-zero similarities, kept in place, by index, and their histogram
        n_pos = 0
        hist[:] = 0
        for t in range(touched):
            b = np.uint64(cols[np.uint64(t)])
            dot = acc[b]
            acc[b] = 0.0
            if jaccard:
                union = counts[a] + counts[b] - dot
                s = dot / union if union > 0 else 0.0
            else:
                denom = norms[a] * norms[b]
                s = dot / denom if denom > 0 else 0.0
            if shrinkage > 0:
                s *= co[b] / (co[b] + shrinkage)
                co[b] = 0.0
            cols[np.uint64(m)] = b
            vals[np.uint64(m)] = s
            hist[np.uint64(_bucket(s))] += s != 0.0
            m += s != 0.0
            n_pos += s > 0.0
        n_zero = n - 1 - m  # rows sharing no column, or with similarity 0
        out_len[a] = 0
        if kk == 0:
            continue
        # kth = the kk-th largest of the dense row: positives, then n_zero zeros, then negatives
        greater = 0  # how many values of the row exceed kth
        src_cols, src_vals, n_src = cols, vals, m  # the non-zero values that may be kept
        if kk >= n:  # the row's own -inf
            kth = -np.inf
        elif kk > n_pos and kk <= n_pos + n_zero:
            kth = 0.0
            greater = n_pos
        else:  # the r-th largest non-zero value, found among those of its bucket or above
            r = kk if kk <= n_pos else kk - n_zero
            c = 2 * _HALF_BUCKETS - 1
            above = 0
            while above + hist[c] < r:
                above += hist[c]
                c -= 1
            n_src = 0
            for t in range(m):  # branch-free compaction of the candidates, by index
                cand_cols[np.uint64(n_src)] = cols[np.uint64(t)]
                cand_vals[np.uint64(n_src)] = vals[np.uint64(t)]
                n_src += _bucket(vals[np.uint64(t)]) >= c
            src_cols, src_vals = cand_cols, cand_vals
            kth = _kth_largest(cand_vals, n_src, r, heap)
            for t in range(n_src):
                greater += cand_vals[t] > kth
            if kth < 0:
                greater += n_zero
        if kth <= min_value:  # every value above min_value is among the top kk
            cut = min_value
            ties = 0
        else:  # the values above kth, then the lowest-index ones equal to it: kk in all
            cut = kth
            ties = kk - greater
        length = 0
        if n_zero > 0 and (0.0 > cut or (0.0 == cut and ties > 0)):  # zeros kept: walk every column
            t = 0
            for b in range(n):
                if b == a:
                    continue
                s = 0.0
                if t < m and cols[t] == b:
                    s = vals[t]
                    t += 1
                if s > cut or (s == cut and ties > 0):
                    ties -= s == cut
                    out_cols[a, length] = b
                    out_vals[a, length] = s
                    length += 1
        else:  # src holds every non-zero value above cut and every one equal to it
            for t in range(n_src):
                s = src_vals[t]
                if s > cut or (s == cut and ties > 0):
                    ties -= s == cut
                    out_cols[a, length] = src_cols[t]
                    out_vals[a, length] = s
                    length += 1
        out_len[a] = length


def _similarity_inputs(x: sp.csr_matrix, similarity: str):
    """Return (v, vᵀ, counts, norms): the row vectors the measure compares, their transpose, the rows'
    entry counts (Jaccard) and L2 norms (cosine-type measures)."""
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
    x = sp.csr_matrix(x, dtype=np.float64)
    if similarity == "jaccard":
        v = _binary(x).astype(np.float64)
    elif similarity == "pearson":
        v = _centre_rows(x, _row_means(x))
    elif similarity == "adjusted_cosine":
        v = _centre_rows(x.T.tocsr(), _row_means(x.T.tocsr())).T.tocsr()
    else:
        v = x
    vt = v.T.tocsr()
    counts = np.diff(x.indptr).astype(np.float64)
    norms = np.sqrt(np.asarray(v.multiply(v).sum(axis=1)).ravel())
    return v, vt, counts, norms


@_jit
def _top_k_row_list(rows, n, v_indptr, v_indices, v_data, vt_indptr, vt_indices, vt_data, norms, counts, jaccard,
                    shrinkage, kk, min_value, out_cols, out_vals, out_len):  # pragma: no cover - jitted
    """Run the kernel on each row of ``rows`` (any order, no gaps needed)."""
    for t in range(rows.shape[0]):
        a = rows[t]
        _top_k_rows_sparse(a, a + 1, n, v_indptr, v_indices, v_data, vt_indptr, vt_indices, vt_data, norms, counts,
                           jaccard, shrinkage, kk, min_value, out_cols, out_vals, out_len)


def _top_k_rows(inputs, rows, *, similarity: str, k: int, shrinkage: float, min_similarity: float,
                out_cols: np.ndarray, out_vals: np.ndarray, out_len: np.ndarray, block_size: int = 256,
                num_threads: int = 0) -> None:
    """Fill the outputs' ``rows`` with their kept neighbours, ``block_size`` rows per task."""
    v, vt, counts, norms = inputs
    n = v.shape[0]
    kk = max(min(k, n), 0)
    rows = np.asarray(rows, dtype=np.int64)
    contiguous = len(rows) > 0 and rows[-1] - rows[0] == len(rows) - 1 and (np.diff(rows) == 1).all()

    def run(first: int) -> None:
        if contiguous:
            _top_k_rows_sparse(rows[first], rows[min(first + block_size, len(rows)) - 1] + 1, n, v.indptr, v.indices,
                               v.data, vt.indptr, vt.indices, vt.data, norms, counts, similarity == "jaccard",
                               float(shrinkage), kk, float(min_similarity), out_cols, out_vals, out_len)
        else:
            _top_k_row_list(rows[first:first + block_size], n, v.indptr, v.indices, v.data, vt.indptr, vt.indices,
                            vt.data, norms, counts, similarity == "jaccard", float(shrinkage), kk,
                            float(min_similarity), out_cols, out_vals, out_len)

    run_blocks(run, range(0, len(rows), block_size), num_threads)


def _replace_rows(a: sp.csr_matrix, b: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """Return ``a`` with the rows where the boolean ``rows`` is True taken from ``b`` (same shape)."""
    mine, theirs = np.flatnonzero(~rows), np.flatnonzero(rows)
    stacked = sp.vstack([a[mine], b[theirs]], format="csr")
    order = np.empty(a.shape[0], dtype=np.int64)
    order[np.concatenate([mine, theirs])] = np.arange(a.shape[0])
    return stacked[order]


def _kept_arrays(n: int, kk: int):
    """Return empty (cols, values, lengths) outputs of the kernel for n rows keeping up to ``kk`` each."""
    width = max(min(kk, n - 1), 1)  # a row keeps at most kk neighbours, never itself
    return np.empty((n, width), dtype=np.int32), np.empty((n, width)), np.zeros(n, dtype=np.int64)


def _kept_to_csr(out_cols, out_vals, out_len, n: int, dtype) -> sp.csr_matrix:
    width = out_cols.shape[1]
    keep = np.arange(width)[None, :] < out_len[:, None]
    indptr = np.concatenate([[0], np.cumsum(out_len)])
    return sp.csr_matrix((out_vals[keep].astype(dtype), out_cols[keep], indptr), shape=(n, n))


@_jit
def _first_k_rows(indptr, data, k, keep):  # pragma: no cover - jitted
    """Mark in ``keep`` each row's first ``k`` entries in the kernel's order (value descending, then the
    lowest column: a row's entries are in column order and the sort is stable)."""
    for a in range(indptr.shape[0] - 1):
        start, stop = indptr[a], indptr[a + 1]
        if stop - start <= k:
            keep[start:stop] = True
            continue
        order = np.argsort(-data[start:stop], kind="mergesort")
        for j in range(k):
            keep[start + order[j]] = True


def _first_k(similarity: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Return each row's first ``k`` entries in the kernel's order (value descending, then lowest index),
    in column order: the k-selection of a row selected at more than k."""
    s = sp.csr_matrix(similarity)
    s.sort_indices()
    keep = np.zeros(s.nnz, dtype=np.bool_)
    _first_k_rows(s.indptr, s.data, int(k), keep)
    kept = np.concatenate([[0], np.cumsum(keep)])
    lengths = kept[s.indptr[1:]] - kept[s.indptr[:-1]]
    return sp.csr_matrix((s.data[keep], s.indices[keep], np.concatenate([[0], np.cumsum(lengths)])), shape=s.shape)


def similarity_matrix(
    x: sp.csr_matrix,
    *,
    similarity: str = "cosine",
    k: int = 50,
    shrinkage: float = 0.0,
    min_similarity: float = 0.0,
    block_size: int = 256,
    num_threads: int = 0,
    dtype=np.float32,
) -> sp.csr_matrix:
    """Return the (n_rows, n_rows) row-similarity matrix of ``x``, pruned to ``k`` neighbours per row.

    The diagonal (self-similarity) is excluded. See the module docstring for the measures,
    the selection and the ties. Rows are handed to the ``num_threads`` threads (0 = one per
    available core) ``block_size`` at a time. Values are computed in float64 and stored as ``dtype``.
    """
    inputs = _similarity_inputs(x, similarity)
    n = x.shape[0]
    kk = max(min(k, n), 0)
    width = max(min(kk, n - 1), 1)  # a row keeps at most kk neighbours, never itself
    out_cols = np.empty((n, width), dtype=np.int32)
    out_vals = np.empty((n, width))
    out_len = np.zeros(n, dtype=np.int64)
    _top_k_rows(inputs, np.arange(n), similarity=similarity, k=k, shrinkage=shrinkage, min_similarity=min_similarity,
                out_cols=out_cols, out_vals=out_vals, out_len=out_len, block_size=block_size, num_threads=num_threads)
    return _kept_to_csr(out_cols, out_vals, out_len, n, dtype)


@_jit
def _merge_kept_rows(rows, old_row_of, old_indptr, old_indices, old_vals, old_bound, new_position, touched,
                     d_indptr, d_indices, d_vals, k, min_value, out_cols, out_vals, out_len, out_bound,
                     needs_full):  # pragma: no cover - jitted
    """Update the exactly known top of each untouched row after the ``touched`` items' similarities changed.

    Row b (new index; ``old_row_of[b]`` its old one) knows its top values exactly: every value not in
    its list is at most its bound. After forgetting, its known values are its listed ones outside
    ``touched`` (unchanged) and its new similarities to the touched items (``d`` row b); its other
    values did not change, so the bound still holds. The values above the bound are the row's exact
    top; when they are at least k (or the bound is at most ``min_value``, so nothing unlisted can be
    kept), the row's k-selection follows from them, ties by the new index. Otherwise ``needs_full[b]``.
    """
    width = out_cols.shape[1]
    cand_cols = np.empty(old_indptr.shape[0] + d_indptr.shape[0], dtype=np.int64)  # > any row's candidates
    cand_vals = np.empty(old_indptr.shape[0] + d_indptr.shape[0])
    for t in range(rows.shape[0]):
        b = rows[t]
        ob = old_row_of[b]
        bound = old_bound[ob]
        floor = max(bound, min_value)
        m = 0
        for p in range(old_indptr[ob], old_indptr[ob + 1]):
            c = new_position[old_indices[p]]
            if c >= 0 and not touched[c] and old_vals[p] > floor:
                cand_cols[m] = c
                cand_vals[m] = old_vals[p]
                m += 1
        for q in range(d_indptr[b], d_indptr[b + 1]):
            if d_vals[q] > floor:
                cand_cols[m] = d_indices[q]
                cand_vals[m] = d_vals[q]
                m += 1
        by_col = np.argsort(cand_cols[:m], kind="mergesort")
        vals = cand_vals[:m][by_col]
        cols = cand_cols[:m][by_col]
        by_value = np.argsort(-vals, kind="mergesort")  # stable: ties by the lowest new index
        take = m
        if m > width:  # keep the best width; the first left out becomes the bound, its ties leave too
            bound = vals[by_value[width]]
            take = width
            while take > 0 and vals[by_value[take - 1]] == bound:
                take -= 1
        if bound > min_value and take < k:
            needs_full[b] = True
            out_len[b] = 0
            continue
        chosen = np.sort(by_value[:take])  # positions in column order
        for j in range(take):
            out_cols[b, j] = cols[chosen[j]]
            out_vals[b, j] = vals[chosen[j]]
        out_len[b] = take
        out_bound[b] = bound


@_jit
def _exact_top(out_cols, out_vals, out_len, rows, kk, min_value, out_bound):  # pragma: no cover - jitted
    """Turn the kernel's ``kk`` kept neighbours of ``rows`` into an exactly known top and its bound, in place:
    a full row's smallest kept value bounds the rest, and its ties leave the list (the kernel kept them by
    index); a row that kept fewer than kk kept every value above ``min_value``."""
    for t in range(rows.shape[0]):
        a = rows[t]
        length = out_len[a]
        if length < kk or length == 0:
            out_bound[a] = min_value
            continue
        bound = out_vals[a, 0]
        for j in range(length):
            bound = min(bound, out_vals[a, j])
        count = 0
        for j in range(length):
            if out_vals[a, j] > bound:
                out_cols[a, count] = out_cols[a, j]
                out_vals[a, count] = out_vals[a, j]
                count += 1
        out_len[a] = count
        out_bound[a] = bound


def _weighted_mean_offsets(sim_rows: sp.csr_matrix, centred_rows: sp.csr_matrix,
                           rated_rows: sp.csr_matrix) -> np.ndarray:
    """Return Σ s·(r − mean) / Σ |s| row by row (0 where no neighbour rated)."""
    num = np.asarray(sim_rows.multiply(centred_rows).sum(axis=1)).ravel()
    den = np.asarray(abs(sim_rows).multiply(rated_rows).sum(axis=1)).ravel()
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


class _KNN(Recommender):
    predicts_ratings = True
    thread_safe_scoring = True  # BLAS / sparse products on fitted state only
    #: what the tuner searches (recsys_study.protocol.tuning): neighbourhood size, shrinkage, similarity
    search_space = {
        "k": {"type": "int", "low": 5, "high": 500, "log": True},
        "shrinkage": {"type": "float", "low": 0.0, "high": 100.0},
        "similarity": {"type": "categorical", "choices": list(SIMILARITIES)},
    }

    def __init__(self, *, k: int = 50, similarity: str = "cosine", shrinkage: float = 0.0,
                 min_similarity: float = 0.0, num_threads: int = 0):
        self.k = k
        self.similarity = similarity
        self.shrinkage = shrinkage
        self.min_similarity = min_similarity
        self.num_threads = num_threads

    def _check_params(self) -> None:
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, got {self.similarity!r}")
        if self.k < 1:
            raise ValueError(f"k (neighbourhood size) must be >= 1, got {self.k!r}")
        if self.num_threads < 0:
            raise ValueError(f"num_threads must be >= 0 (0 = one per core), got {self.num_threads!r}")


class UserKNN(_KNN):
    """User-based CF: neighbours are the ``k`` users most similar to the target user.

    Parameters
    ----------
    k : int
        Neighbourhood size (per user, after pruning).
    similarity : {"cosine", "adjusted_cosine", "pearson", "jaccard"}
    shrinkage : float
        λ in n_uv / (n_uv + λ); 0 = none.
    min_similarity : float
        Neighbours need a similarity above this (default 0: positive only).
    num_threads : int
        Threads computing the similarities (0 = one per available core, as implicit's
        nearest-neighbour models); the result does not depend on it.
    """

    name = "user_knn"

    def _fit(self, user_items, *, train, items) -> None:
        self._check_params()
        self.similarity_ = similarity_matrix(user_items, similarity=self.similarity, k=self.k,
                                             shrinkage=self.shrinkage, min_similarity=self.min_similarity,
                                             num_threads=self.num_threads)
        self.rated_ = _binary(user_items)
        self.user_mean_ = _row_means(user_items)
        self.centred_t_ = _centre_rows(user_items, self.user_mean_).T.tocsr()
        self.rated_t_ = self.rated_.T.tocsr()

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return (self.similarity_[user_idx] @ self.rated_).toarray()

    def _predict(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        offsets = _weighted_mean_offsets(self.similarity_[user_idx], self.centred_t_[item_idx],
                                         self.rated_t_[item_idx])
        return self.user_mean_[user_idx] + offsets


class ItemKNN(_KNN):
    """Item-based CF: neighbours are the ``k`` items most similar to the target item (Sarwar et al. 2001).

    Parameters are those of :class:`UserKNN`, applied to item vectors.
    """

    name = "item_knn"
    forgets_users = True

    def _fit(self, user_items, *, train, items) -> None:
        self._check_params()
        self.entry_rows_ = entry_rows(self, train)
        self._fit_similarity(user_items.T.tocsr())

    def _fit_similarity(self, item_users: sp.csr_matrix) -> None:
        # 2k neighbours per row in float64: the first k in the kernel's order (value, then lowest index) are
        # its k-selection; the rest let forget update a row without recomputing it
        n = item_users.shape[0]
        out = _kept_arrays(n, max(min(2 * self.k, n), 0))
        rows = np.arange(n)
        _top_k_rows(_similarity_inputs(item_users, self.similarity), rows, **self._kernel_params(),
                    out_cols=out[0], out_vals=out[1], out_len=out[2])
        selected = _first_k(_kept_to_csr(*out, n, np.float64), max(min(self.k, n), 0))
        bound = np.empty(n)
        _exact_top(*out, rows, max(min(2 * self.k, n), 0), float(self.min_similarity), bound)
        self._set_state(selected, _kept_to_csr(*out, n, np.float64), bound, item_users)

    def _kernel_params(self) -> dict:
        return dict(similarity=self.similarity, k=2 * self.k, shrinkage=self.shrinkage,
                    min_similarity=self.min_similarity, num_threads=self.num_threads)

    def _set_state(self, selected: sp.csr_matrix, known: sp.csr_matrix, bound: np.ndarray, item_users) -> None:
        self.similarity_ = selected.astype(np.float32)
        self.known_similarity_ = known  # each row's exactly known top (float64); every other value <= bound_
        self.bound_ = bound
        self.similarity_t_ = self.similarity_.T.tocsr()
        self.rated_ = _binary(self.user_items_)
        self.item_mean_ = _row_means(item_users)
        self.centred_ = _centre_rows(item_users, self.item_mean_).T.tocsr()

    def forget(self, users) -> ItemKNN:
        """Remove ``users`` exactly, as if their rows had never been in ``train``; return self.

        Only the rows of the items they rated are recomputed, plus the rows whose known top no longer
        decides their neighbours (module docstring); the result is the refit's, neighbours, ties and
        index order included. Unknown users are skipped; a forgotten user gets the cold-user fallback.
        """
        layout = forget_layout(self, users)
        if layout is None:
            return self
        old, old_bound = self.known_similarity_, self.bound_
        rated = np.unique(self.user_items_[layout.forgotten].indices)
        apply_layout(self, layout)
        item_users = self.user_items_.T.tocsr()
        n = item_users.shape[0]
        k, kk, floor = max(min(self.k, n), 0), max(min(2 * self.k, n), 0), float(self.min_similarity)
        touched_idx = np.sort(layout.new_position[rated][layout.new_position[rated] >= 0])
        # a row's kernel work is the sum of its raters' activity: past 40 % of the whole, updating costs more
        work = _binary(item_users) @ np.diff(self.user_items_.indptr).astype(np.float64)
        if self.min_similarity < 0 or work[touched_idx].sum() > 0.4 * work.sum() or k < min(self.k, len(old_bound)):
            self._fit_similarity(item_users)
            self.rows_recomputed_ = n
            return self
        inputs = _similarity_inputs(item_users, self.similarity)
        out = _kept_arrays(n, kk)
        bound = np.empty(n)
        # the full new rows of T, by the kernel's operations; with min_similarity >= 0 the kernel keeps a row's
        # first kk values above it in its order (value, then lowest index): so does _first_k
        full_t = self._touched_similarities(inputs, touched_idx)
        above = sp.csr_matrix(full_t, copy=True)
        above.data[above.data <= floor] = 0.0
        above.eliminate_zeros()
        top = _first_k(above, kk)
        lengths = np.diff(top.indptr)
        rows = np.repeat(touched_idx, lengths)
        within = np.arange(top.nnz) - np.repeat(top.indptr[:-1], lengths)
        out[0][rows, within], out[1][rows, within] = top.indices, top.data
        out[2][touched_idx] = lengths
        selected_t = _first_k(_kept_to_csr(*out, n, np.float64), k)  # rows of T: their k-selection
        _exact_top(*out, touched_idx, kk, floor, bound)
        touched = np.zeros(n, dtype=bool)
        touched[touched_idx] = True
        new_t = full_t.T.tocsr()  # by item: its similarities to T
        needs_full = np.zeros(n, dtype=bool)
        _merge_kept_rows(np.flatnonzero(~touched), layout.item_order, old.indptr, old.indices, old.data, old_bound,
                         layout.new_position, touched, new_t.indptr, touched_idx[new_t.indices].astype(np.int64),
                         new_t.data, k, floor, out[0], out[1], out[2], bound, needs_full)
        selected = _replace_rows(_first_k(_kept_to_csr(*out, n, np.float64), k), selected_t, touched)
        again = np.flatnonzero(needs_full)
        if len(again):
            _top_k_rows(inputs, again, out_cols=out[0], out_vals=out[1], out_len=out[2], **self._kernel_params())
            selected = _replace_rows(selected, _first_k(_kept_to_csr(*out, n, np.float64), k), needs_full)
            _exact_top(*out, again, kk, floor, bound)
        self.rows_recomputed_ = int(len(touched_idx) + len(again))
        self._set_state(selected, _kept_to_csr(*out, n, np.float64), bound, item_users)
        return self

    def _touched_similarities(self, inputs, rows: np.ndarray) -> sp.csr_matrix:
        """Return the full similarity rows (no pruning, self excluded) of ``rows``, with the kernel's operations."""
        v, vt, counts, norms = inputs
        dots = sp.csr_matrix(v[rows] @ vt)  # csr_matmat: the kernel's accumulation order
        local = np.repeat(np.arange(len(rows)), np.diff(dots.indptr))
        a, b, dot = rows[local], dots.indices, dots.data
        if self.similarity == "jaccard":
            union = counts[a] + counts[b] - dot
            s = np.divide(dot, union, out=np.zeros_like(dot), where=union > 0)
        else:
            denom = norms[a] * norms[b]
            s = np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
        if self.shrinkage > 0:  # co-rating counts n_ab on the same entries
            structure = _binary(v).astype(np.float64)
            co = (structure[rows] @ structure.T.tocsr()).tocoo()
            n = v.shape[0]
            co_keys = co.row.astype(np.int64) * n + co.col
            order = np.argsort(co_keys)
            at = order[np.searchsorted(co_keys, local.astype(np.int64) * n + b, sorter=order)]
            co_ab = co.data[at]
            s = s * (co_ab / (co_ab + self.shrinkage))
        s[a == b] = 0.0
        return sp.csr_matrix((s, dots.indices, dots.indptr), shape=(len(rows), v.shape[0]))

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return (self.rated_[user_idx] @ self.similarity_t_).toarray()

    def _score_history(self, row):
        """Score Σ_{j∈N_k(i)∩I_u} s_ij from the (updated) history's items I_u: x Sᵀ with x binary."""
        return (_binary(row) @ self.similarity_t_).toarray()

    def _predict(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        offsets = _weighted_mean_offsets(self.similarity_[item_idx], self.centred_[user_idx],
                                         self.rated_[user_idx])
        return self.item_mean_[item_idx] + offsets
