"""RP3beta: random walks of length three on the user-item graph, popularity-penalised.

(Paudel, Christoffel, Newell & Bernstein, ACM TiiS 2017; the variant of Dacrema et al.,
RecSys 2019.) With P_ui = x_ui / Σ_j x_uj (user → item step) and P_iu = x_ui / Σ_v x_vi
(item → user step), the item-item transition weights are

    W_ij = (Σ_u P_iu^α P_uj^α) / pop_j^β,

each row of W keeps its ``k`` largest entries, and the score of user u is s_u = x_u W.
α sharpens or flattens the walk, β > 0 demotes popular destinations (β = 0, α = 1 is P³).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys_study.recommenders.base import Recommender
from recsys_study.recommenders.topk import top_k_rows


def _row_normalise(x: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(x.sum(axis=1)).ravel()
    inv = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums > 0)
    return sp.diags(inv) @ x


def rp3beta_weights(x: sp.csr_matrix, *, alpha: float, beta: float, k: int,
                    block_size: int = 1024) -> sp.csr_matrix:
    """Return the pruned (n_items, n_items) RP3beta transition matrix W (diagonal excluded)."""
    x = sp.csr_matrix(x, dtype=np.float64)
    p_ui = _row_normalise(x).tocsr()
    p_iu = _row_normalise(x.T.tocsr()).tocsr()
    if alpha != 1.0:
        p_ui.data **= alpha
        p_iu.data **= alpha
    pop = np.asarray(x.astype(bool).sum(axis=0)).ravel().astype(np.float64)
    penalty = np.divide(1.0, pop ** beta, out=np.zeros_like(pop), where=pop > 0)
    n = x.shape[1]
    rows, cols, vals = [], [], []
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        w = (p_iu[start:stop] @ p_ui).toarray() * penalty[None, :]
        w[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        r, c, v = top_k_rows(w, k, 0.0)
        rows.append(r + start)
        cols.append(c)
        vals.append(v)
    return sp.csr_matrix((np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n, n))


class RP3Beta(Recommender):
    """RP3beta graph recommender.

    Parameters
    ----------
    alpha : float
        Exponent of the transition probabilities.
    beta : float
        Popularity penalty exponent (0.3: a mild penalty; on ml-latest-small 0.6 over-demotes popular items).
    k : int
        Neighbours kept per item row of W.
    """

    name = "rp3beta"
    thread_safe_scoring = True  # BLAS / sparse products on fitted state only
    #: what the tuner searches (recsys_study.protocol.tuning): transition exponent α, popularity penalty β
    search_space = {
        "alpha": {"type": "float", "low": 0.1, "high": 2.0},
        "beta": {"type": "float", "low": 0.0, "high": 1.0},
    }

    def __init__(self, *, alpha: float = 1.0, beta: float = 0.3, k: int = 200):
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def _fit(self, user_items, *, train, items) -> None:
        x = user_items.copy().astype(np.float32)
        x.data[:] = 1.0
        self.x_ = x.tocsr()
        self.weights_ = rp3beta_weights(self.x_, alpha=self.alpha, beta=self.beta, k=self.k)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return (self.x_[user_idx] @ self.weights_).toarray()

    def _score_history(self, row):
        """Score s = x W for the binary user vector x of the (updated) history (W does not depend on x)."""
        x = row.astype(np.float32)
        x.data[:] = 1.0
        return (x @ self.weights_).toarray()
