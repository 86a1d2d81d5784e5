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
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

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


def similarity_matrix(
    x: sp.csr_matrix,
    *,
    similarity: str = "cosine",
    k: int = 50,
    shrinkage: float = 0.0,
    min_similarity: float = 0.0,
    block_size: int = 256,
    num_threads: int = 0,
) -> sp.csr_matrix:
    """Return the (n_rows, n_rows) row-similarity matrix of ``x``, pruned to ``k`` neighbours per row.

    The diagonal (self-similarity) is excluded. See the module docstring for the measures,
    the selection and the ties. Rows are handed to the ``num_threads`` threads (0 = one per
    available core) ``block_size`` at a time.
    """
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
    n = x.shape[0]
    kk = max(min(k, n), 0)
    width = max(min(kk, n - 1), 1)  # a row keeps at most kk neighbours, never itself
    out_cols = np.empty((n, width), dtype=np.int32)
    out_vals = np.empty((n, width))
    out_len = np.zeros(n, dtype=np.int64)

    def run(first: int) -> None:
        _top_k_rows_sparse(first, min(first + block_size, n), n, v.indptr, v.indices, v.data,
                           vt.indptr, vt.indices, vt.data, norms, counts, similarity == "jaccard",
                           float(shrinkage), kk, float(min_similarity), out_cols, out_vals, out_len)

    run_blocks(run, range(0, n, block_size), num_threads)
    keep = np.arange(width)[None, :] < out_len[:, None]
    indptr = np.concatenate([[0], np.cumsum(out_len)])
    return sp.csr_matrix((out_vals[keep].astype(np.float32), out_cols[keep], indptr), shape=(n, n))


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

    def _fit(self, user_items, *, train, items) -> None:
        self._check_params()
        item_users = user_items.T.tocsr()
        self.similarity_ = similarity_matrix(item_users, similarity=self.similarity, k=self.k,
                                             shrinkage=self.shrinkage, min_similarity=self.min_similarity,
                                             num_threads=self.num_threads)
        self.similarity_t_ = self.similarity_.T.tocsr()
        self.rated_ = _binary(user_items)
        self.item_mean_ = _row_means(item_users)
        self.centred_ = _centre_rows(item_users, self.item_mean_).T.tocsr()

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return (self.rated_[user_idx] @ self.similarity_t_).toarray()

    def _score_history(self, row):
        """Score Σ_{j∈N_k(i)∩I_u} s_ij from the (updated) history's items I_u: x Sᵀ with x binary."""
        return (_binary(row) @ self.similarity_t_).toarray()

    def _predict(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        offsets = _weighted_mean_offsets(self.similarity_[item_idx], self.centred_[user_idx],
                                         self.rated_[user_idx])
        return self.item_mean_[item_idx] + offsets
