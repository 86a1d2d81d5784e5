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
Each row keeps its ``k`` most similar neighbours with similarity > ``min_similarity``
(argpartition per row, computed in blocks of rows so memory stays O(block × n)).

Rating prediction (the seeds' user-based prediction made precise; Herlocker et al. 1999):
  user-based  r̂_ui = μ_u + Σ_{v∈N_k(u)∩U_i} s_uv (r_vi − μ_v) / Σ_{v∈N_k(u)∩U_i} |s_uv|
  item-based  r̂_ui = μ_i + Σ_{j∈N_k(i)∩I_u} s_ij (r_uj − μ_j) / Σ_{j∈N_k(i)∩I_u} |s_ij|
falling back to μ_u (μ_i) when no neighbour rated the item. Top-N scores are the sum of
similarities to the neighbours that interacted (user-based: Σ_{v∈N_k(u)} s_uv [v rated i];
item-based: Σ_{j∈N_k(i)∩I_u} s_ij), the usual aggregate for ranking (Deshpande & Karypis 2004).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys_study.recommenders.base import Recommender

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


def top_k_rows(dense: np.ndarray, k: int, min_value: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (row, col, value) of each row's ``k`` largest entries greater than ``min_value``."""
    n_rows, n_cols = dense.shape
    kk = min(k, n_cols)
    if kk < n_cols:
        cols = np.argpartition(-dense, kk - 1, axis=1)[:, :kk]
    else:
        cols = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols))
    vals = np.take_along_axis(dense, cols, axis=1)
    rows = np.broadcast_to(np.arange(n_rows)[:, None], cols.shape)
    keep = vals > min_value
    return rows[keep], cols[keep], vals[keep]


def similarity_matrix(
    x: sp.csr_matrix,
    *,
    similarity: str = "cosine",
    k: int = 50,
    shrinkage: float = 0.0,
    min_similarity: float = 0.0,
    block_size: int = 1024,
) -> sp.csr_matrix:
    """Return the (n_rows, n_rows) row-similarity matrix of ``x``, pruned to ``k`` neighbours per row.

    The diagonal (self-similarity) is excluded. See the module docstring for the measures.
    """
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
    x = sp.csr_matrix(x, dtype=np.float64)
    b = _binary(x).astype(np.float64)
    if similarity == "jaccard":
        v = b
    elif similarity == "pearson":
        v = _centre_rows(x, _row_means(x))
    elif similarity == "adjusted_cosine":
        v = _centre_rows(x.T.tocsr(), _row_means(x.T.tocsr())).T.tocsr()
    else:
        v = x
    vt = v.T.tocsr()
    bt = b.T.tocsr()
    counts = np.diff(b.indptr).astype(np.float64)
    norms = np.sqrt(np.asarray(v.multiply(v).sum(axis=1)).ravel())
    n = x.shape[0]
    rows_all, cols_all, vals_all = [], [], []
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        dot = (v[start:stop] @ vt).toarray()
        if similarity == "jaccard":
            union = counts[start:stop, None] + counts[None, :] - dot
            sim = np.divide(dot, union, out=np.zeros_like(dot), where=union > 0)
        else:
            denom = norms[start:stop, None] * norms[None, :]
            sim = np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
        if shrinkage > 0:
            co = (b[start:stop] @ bt).toarray()
            sim *= co / (co + shrinkage)
        sim[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # no self-neighbour
        r, c, val = top_k_rows(sim, k, min_similarity)
        rows_all.append(r + start)
        cols_all.append(c)
        vals_all.append(val)
    rows = np.concatenate(rows_all) if rows_all else np.array([], dtype=int)
    cols = np.concatenate(cols_all) if cols_all else np.array([], dtype=int)
    vals = np.concatenate(vals_all) if vals_all else np.array([])
    return sp.csr_matrix((vals.astype(np.float32), (rows, cols)), shape=(n, n))


def _weighted_mean_offsets(sim_rows: sp.csr_matrix, centred_rows: sp.csr_matrix,
                           rated_rows: sp.csr_matrix) -> np.ndarray:
    """Return Σ s·(r − mean) / Σ |s| row by row (0 where no neighbour rated)."""
    num = np.asarray(sim_rows.multiply(centred_rows).sum(axis=1)).ravel()
    den = np.asarray(abs(sim_rows).multiply(rated_rows).sum(axis=1)).ravel()
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


class _KNN(Recommender):
    predicts_ratings = True

    def __init__(self, *, k: int = 50, similarity: str = "cosine", shrinkage: float = 0.0,
                 min_similarity: float = 0.0):
        self.k = k
        self.similarity = similarity
        self.shrinkage = shrinkage
        self.min_similarity = min_similarity

    def _check_params(self) -> None:
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, got {self.similarity!r}")
        if self.k < 1:
            raise ValueError(f"k (neighbourhood size) must be >= 1, got {self.k!r}")


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
    """

    name = "user_knn"

    def _fit(self, user_items, *, train, items) -> None:
        self._check_params()
        self.similarity_ = similarity_matrix(user_items, similarity=self.similarity, k=self.k,
                                             shrinkage=self.shrinkage, min_similarity=self.min_similarity)
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
                                             shrinkage=self.shrinkage, min_similarity=self.min_similarity)
        self.similarity_t_ = self.similarity_.T.tocsr()
        self.rated_ = _binary(user_items)
        self.item_mean_ = _row_means(item_users)
        self.centred_ = _centre_rows(item_users, self.item_mean_).T.tocsr()

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return (self.rated_[user_idx] @ self.similarity_t_).toarray()

    def _predict(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        offsets = _weighted_mean_offsets(self.similarity_[item_idx], self.centred_[user_idx],
                                         self.rated_[user_idx])
        return self.item_mean_[item_idx] + offsets
