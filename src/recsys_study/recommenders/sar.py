"""SAR, the Simple Algorithm for Recommendation of Microsoft Recommenders (``SARSingleNode``, 1.2.1).

An item-item model in three steps, each as in Microsoft Recommenders' single-node SAR:

1. Affinity. a_ui = Σ_k r_k · w_k over the training rows k of (u, i), r_k the rating (1 for
   implicit data or ``use_ratings=False``) and, with time decay (``time_decay_days=T``),

       w_k = min(1, 2^(-(t0 − t_k) / T)),   T in days, t in seconds (T · 86,400 s),

   else w_k = 1. t0 is ``time_now`` if given, else the LATEST timestamp of the whole training
   frame: one global t0 for every user, as in their ``compute_time_decay`` (``df[timestamp].max()``),
   not each user's own last event. The ``min(1, ·)`` is theirs too (events after t0 weigh 1).
2. Co-occurrence. H is the binarised user-item occurrence (1 where u has a training row for i),
   C = Hᵀ H (C_ij = number of users with both i and j, C_ii = d_i = users of i), and entries
   below ``threshold`` are set to 0, the diagonal included (their ``C.multiply(C >= threshold)``).
3. Similarity S from C and its (thresholded) diagonal d, entry by entry where C_ij > 0
   (the measures of their ``python_utils``; Aggarwal 2016 for the measures):

       counts                              S_ij = C_ij                         (their "cooccurrence")
       jaccard                             S_ij = C_ij / (d_i + d_j − C_ij)
       lift                                S_ij = C_ij / (d_i d_j)
       cosine                              S_ij = C_ij / √(d_i d_j)
       inclusion_index                     S_ij = C_ij / min(d_i, d_j)
       mutual_information                  S_ij = log2(n_items · C_ij / (d_i d_j)),  −∞ where C_ij = 0
       lexicographers_mutual_information   S_ij = C_ij · log2(n_items · C_ij / (d_i d_j)), 0 where C_ij = 0

   and S_ij = 0 where C_ij = 0 for the others (the diagonal is kept, as theirs is). The score of
   user u is s_u = a_u S; items seen in training are excluded by the base class.

Matched to Microsoft Recommenders 1.2.1 (``benchmarks/sar_peer.py`` fits both on the ml-100k split
of their benchmark and compares the scores, the top-10 lists and the times): the same affinity
(the same float64 operations: ``np.power(0.5, (t0 − t) / (T · 86400))`` times the rating, summed per
pair), the same thresholded counts, the same divisions (their ``C / (d_i + d_j − C)`` on a scipy
sparse C is C ⊙ (1 / (d_i + d_j − C)) in scipy, so ours multiplies by the reciprocal too), and the
same product (users and items are indexed by first appearance in the training frame, as theirs
are, so that a_u S adds the same terms in the same order): on ml-100k the scores of every
similarity but the lexicographers' are bitwise theirs (scipy 1.17, numpy 2.4), and so are the
top-10 lists up to the order of tied items. Differences, each deliberate:

- ``mutual_information`` takes their n = ``cooccurrence.shape[0]``, the number of ITEMS (not of
  users, the n of textbook pointwise mutual information), and their −∞ at pairs that never
  co-occur (log2 0): s_ui = −∞ unless i co-occurs with every item of u, so most users get few or
  no recommendations (the base class never recommends −∞). Computed sparsely: the finite part
  on co-occurring pairs, then −∞ wherever the user has an item that does not co-occur with i.
- ``lexicographers_mutual_information``: their function documents C ⊙ MI (element-wise), but SAR
  passes it a scipy sparse *matrix*, for which ``*`` is the matrix product, so their SAR computes
  C · MI (a product over items: on ml-100k every one of its scores is −∞). We take the documented
  element-wise form with its limit 0 at C_ij = 0 (C log C → 0; their element-wise form gives
  0 · −∞ = NaN there).
- With ``threshold > 1`` an item used by fewer than ``threshold`` users has d_i = 0: they divide
  0 / 0 = NaN in its row and column (lift, cosine, inclusion index, mutual information; Jaccard
  between two such items), which makes the whole score row of any user who has that item NaN.
  We give those pairs similarity 0 (C_ij = 0 there anyway).
- Repeated (user, item) rows, should they reach the model (their ``fit`` asks for a frame without
  duplicates): a_ui sums the rows' decayed ratings (their groupby sum), and H stays binary (without
  decay their hits matrix would count each row). Their ``normalize`` (a per-user affine rescaling of
  the scores to the rating range, which leaves each ranking unchanged) is not implemented.

Published parameters (Microsoft Recommenders' ml-100k benchmark, ``examples/06_benchmarks``:
``similarity_type="jaccard"``, ``time_decay_coefficient=30``, ``timedecay_formula=True``,
``time_now=None``, ``threshold=1``, ``normalize=False``) are ``SAR.PUBLISHED_ML100K``; their
published row: MAP 0.110591, nDCG@10 0.382461, Precision@10 0.330753, Recall@10 0.176385.
The constructor defaults are their class defaults (Jaccard, no time decay, threshold 1).

References: Microsoft Recommenders, ``recommenders/models/sar/sar_singlenode.py`` and the notebook
"SAR deep dive" (``examples/02_model_collaborative_filtering/sar_deep_dive.ipynb``);
C. C. Aggarwal, *Recommender Systems: The Textbook*, Springer 2016 (similarity measures).

Memory: C and S are sparse; only pairs that co-occur are stored. Scoring is one product a_B S per
block of users (no per-user loop), with a dense copy of S when S is dense enough and small enough
(``DENSE_MIN_DENSITY``, ``DENSE_MAX_BYTES``: ml-100k's S is 60 % dense, 22 MB).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_study.constants import ITEM, RATING, TIMESTAMP, USER
from recsys_study.recommenders.base import Recommender

SECONDS_PER_DAY = 24 * 60 * 60

# S is also kept dense for scoring when it is at least this dense and its dense float64 array at most
# this large: a_B S as a sparse-dense product took 0.08 s against 0.53 s sparse-sparse (ml-100k's 943 x
# 1,682 training split, S 60 % dense), with the same additions in the same order (bitwise the same scores)
DENSE_MIN_DENSITY = 0.1
DENSE_MAX_BYTES = 256 * 2**20

SIMILARITIES = ("counts", "jaccard", "lift", "cosine", "inclusion_index", "mutual_information",
                "lexicographers_mutual_information")


def cooccurrence(hits: sp.spmatrix, threshold: float = 1) -> sp.csr_matrix:
    """Return C = Hᵀ H (float64 CSR) of the binary user-item matrix H, entries below ``threshold`` dropped."""
    h = sp.csr_matrix(hits, dtype=np.float64)
    c = (h.T.tocsr() @ h).tocsr()  # SpGEMM's output: no duplicates (column order within a row unsorted)
    if threshold > 1:
        c.data[c.data < threshold] = 0.0
        c.eliminate_zeros()
    return c


def similarity_matrix(c: sp.csr_matrix, kind: str) -> sp.csr_matrix:
    """Return the sparse item-item similarity ``kind`` of the co-occurrence matrix ``c`` (see the module doc).

    Entries are computed where C_ij > 0 only; ``mutual_information``'s −∞ elsewhere is left to the
    scorer (a sparse matrix stores no −∞ background).
    """
    if kind not in SIMILARITIES:
        raise ValueError(f"SAR similarity={kind!r}: use one of {list(SIMILARITIES)}")
    c = sp.csr_matrix(c, dtype=np.float64)
    if kind == "counts":
        return c.copy()
    d = c.diagonal()
    d_i, d_j, v = d[c.tocoo().row], d[c.indices], c.data
    # the float64 operations of Microsoft Recommenders' python_utils on their sparse C: scipy computes
    # sparse / dense as C.multiply(1 / dense), so C_ij times the reciprocal (bitwise their values)
    if kind == "jaccard":
        data = v * (1.0 / (d_j + d_i - v))
    elif kind == "lift":
        data = v * (1.0 / (d_j * d_i))
    elif kind == "cosine":
        data = v * (1.0 / np.sqrt(d_j * d_i))
    elif kind == "inclusion_index":
        data = v * (1.0 / np.minimum(d_j, d_i))
    else:  # mutual information: log2(n · lift), n = the number of items (theirs: cooccurrence.shape[0])
        data = np.log2(c.shape[0] * (v * (1.0 / (d_j * d_i))))
        if kind == "lexicographers_mutual_information":
            data = v * data
    return sp.csr_matrix((data, c.indices.copy(), c.indptr.copy()), shape=c.shape)


def _seconds(values: pd.Series) -> np.ndarray:
    """Return timestamps as float64 seconds (numbers as they are; datetimes since the epoch)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
    return values.to_numpy(dtype=np.float64)


class SAR(Recommender):
    """SAR (Microsoft Recommenders): time-decayed user affinity times an item co-occurrence similarity.

    Parameters
    ----------
    similarity : str
        One of ``SIMILARITIES``: "counts", "jaccard" (default, theirs), "lift", "cosine",
        "inclusion_index", "mutual_information", "lexicographers_mutual_information".
    time_decay_days : float or None
        Half-life T of the affinity, in days (their ``time_decay_coefficient`` with
        ``timedecay_formula=True``); None (default, theirs) for no decay. Needs a ``timestamp``
        column in seconds (or datetimes) in the training frame.
    time_now : float or None
        t0 of the decay in the timestamps' unit; None: the latest training timestamp (one t0 for
        every user, as theirs).
    threshold : int
        Co-occurrence counts below it are set to 0, the diagonal included (theirs; ≥ 1).
    use_ratings : bool
        Affinity from the ratings (default, theirs) or from 1 per training row.

    Fitted attributes
    -----------------
    affinity_ : csr_matrix (n_users, n_items), float64
        a_ui (decayed when ``time_decay_days`` is set).
    cooccurrence_ : csr_matrix (n_items, n_items), float64
        C after the threshold; ``item_frequencies_`` its diagonal.
    similarity_ : csr_matrix (n_items, n_items), float64
        S on the co-occurring pairs (−∞ elsewhere for mutual information, applied when scoring).
    scoring_matrix_ : ndarray or csr_matrix
        S as scored: a dense copy when S is at least ``DENSE_MIN_DENSITY`` dense and at most
        ``DENSE_MAX_BYTES`` as a dense array (the same scores, faster; −∞ where C_ij = 0 for mutual
        information), else ``similarity_`` itself (mutual information's −∞ then comes from ``pattern_``,
        C's sparsity pattern).
    time_now_ : float or None
        The t0 used (None without decay).
    """

    name = "sar"
    thread_safe_scoring = True  # sparse products on fitted state only

    SIMILARITIES = SIMILARITIES
    search_space = {
        "similarity": {"type": "categorical", "choices": ["jaccard", "lift", "cosine", "counts", "inclusion_index"]},
        "time_decay_days": {"type": "float", "low": 1.0, "high": 1000.0, "log": True},
        "threshold": {"type": "int", "low": 1, "high": 10, "log": False},
    }
    # Microsoft Recommenders' ml-100k benchmark (examples/06_benchmarks/movielens.ipynb) in our names
    PUBLISHED_ML100K = {"similarity": "jaccard", "time_decay_days": 30.0, "threshold": 1}

    def __init__(self, *, similarity: str = "jaccard", time_decay_days: float | None = None,
                 time_now: float | None = None, threshold: int = 1, use_ratings: bool = True):
        if similarity not in SIMILARITIES:
            raise ValueError(f"SAR similarity={similarity!r}: use one of {list(SIMILARITIES)}")
        if time_decay_days is not None and not time_decay_days > 0:
            raise ValueError(f"SAR time_decay_days must be positive (or None for no decay), got {time_decay_days!r}")
        if not threshold >= 1:
            raise ValueError(f"SAR threshold must be at least 1, got {threshold!r}")
        self.similarity = similarity
        self.time_decay_days = time_decay_days
        self.time_now = time_now
        self.threshold = threshold
        self.use_ratings = use_ratings

    def _fit(self, user_items, *, train, items) -> None:
        n_users, n_items = user_items.shape
        u = self.user_index_.get_indexer(train[USER])
        i = self.item_index_.get_indexer(train[ITEM])
        if self.use_ratings and RATING in train.columns:
            weights = train[RATING].to_numpy(dtype=np.float64)
        else:
            weights = np.ones(len(train), dtype=np.float64)
        self.time_now_ = None
        if self.time_decay_days is not None:
            if TIMESTAMP not in train.columns:
                raise ValueError(f"SAR with time_decay_days={self.time_decay_days} needs a '{TIMESTAMP}' column "
                                 f"(seconds) in the training frame; its columns are {list(train.columns)}. "
                                 "Pass time_decay_days=None for no decay.")
            t = _seconds(train[TIMESTAMP])
            t0 = float(t.max()) if self.time_now is None else float(self.time_now)
            # their exponential_decay: min(1, 0.5 ** ((t0 - t) / half_life)), half-life in seconds
            weights = weights * np.minimum(1.0, np.power(0.5, (t0 - t) / (self.time_decay_days * SECONDS_PER_DAY)))
            self.time_now_ = t0
        affinity = sp.csr_matrix((weights, (u, i)), shape=(n_users, n_items), dtype=np.float64)
        affinity.sum_duplicates()
        affinity.sort_indices()
        self.affinity_ = affinity
        hits = affinity.copy()
        hits.data[:] = 1.0  # binary occurrence: stored pairs, whatever their (decayed) weight
        self.cooccurrence_ = cooccurrence(hits, self.threshold)
        self.item_frequencies_ = self.cooccurrence_.diagonal()
        self.similarity_ = similarity_matrix(self.cooccurrence_, self.similarity)
        dense = (self.similarity_.nnz >= DENSE_MIN_DENSITY * n_items * n_items
                 and n_items * n_items * 8 <= DENSE_MAX_BYTES)
        self.scoring_matrix_ = self.similarity_.toarray() if dense else self.similarity_
        self.pattern_ = None
        if self.similarity == "mutual_information":  # log2 0 = −∞ where C_ij = 0
            if dense:
                self.scoring_matrix_[self.cooccurrence_.toarray() == 0] = -np.inf
            else:  # which pairs are finite, for the scorer's mask
                self.pattern_ = self.cooccurrence_.copy()
                self.pattern_.data[:] = 1.0

    def _scores_of(self, a: sp.csr_matrix) -> np.ndarray:
        """Return the dense scores a S of the affinity rows ``a`` (−∞ rules of mutual information applied)."""
        scores = a @ self.scoring_matrix_
        if sp.issparse(scores):
            scores = scores.toarray()
        if self.pattern_ is not None:  # sparse mutual information: −∞ unless i co-occurs with all of u's items
            hits = a.copy()
            hits.data[:] = 1.0
            covered = (hits @ self.pattern_).toarray()  # the user's items that co-occur with each item
            scores[covered < np.diff(a.indptr)[:, None]] = -np.inf
        return scores

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self._scores_of(self.affinity_[user_idx])

    def _score_history(self, row):
        """Score a S for the history's affinity a = its ratings (1 without ratings), undecayed: no refit.

        As their ``get_item_based_topk`` (a pseudo-affinity from the seed items' ratings).
        """
        a = sp.csr_matrix(row, dtype=np.float64)
        if not self.use_ratings:
            a.data[:] = 1.0
        return self._scores_of(a)
