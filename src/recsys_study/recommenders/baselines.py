"""The floors every model must clear: random, most popular, and damped user/item biases.

- ``RandomRecommender`` ranks items by seeded uniform noise (the chance level of a metric).
- ``MostPopular`` ranks items by their number of training interactions; it is the
  non-personalised floor of top-N ranking (Cremonesi et al., RecSys 2010).
- ``Bias`` predicts r̂_ui = μ + b_u + b_i with damped (shrunk) biases,
  the rating-prediction floor (Koren, "Factor in the neighbors", TKDD 2010, eq. 2;
  the damping follows LensKit's ``Bias``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys_study.recommenders.base import Recommender


class RandomRecommender(Recommender):
    """Rank items by uniform random scores drawn from a generator seeded by (seed, user).

    Seeding per user makes the list of a user independent of the batch it is scored in,
    so the same seed gives the same recommendations whatever users are asked for.

    Parameters
    ----------
    seed : int
        Seed of the random scores.
    """

    name = "random"

    def __init__(self, *, seed: int = 42):
        self.seed = seed

    #: at most this many scores (float64) kept between calls: a simulated world asks for the same users
    #: every round, and seeding a generator costs ~10 us a user
    cache_size = 2**22

    def _fit(self, user_items, *, train, items) -> None:
        self.n_items_ = user_items.shape[1]

    def _row(self, u) -> np.ndarray:
        return np.random.default_rng([self.seed, int(u)]).random(self.n_items_)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        # a row depends on (seed, user index, n_items) only: rows drawn once are kept (user index < room), bit for bit
        n = self.n_items_
        if getattr(self, "_rows_key", None) != (self.seed, n):
            self._rows_key, self._rows, self._drawn = (self.seed, n), np.empty((0, n)), np.zeros(0, dtype=bool)
        idx = np.asarray(user_idx, dtype=np.int64)
        room = self.cache_size // max(n, 1)
        need = min(int(idx.max()) + 1 if idx.size else 0, room)
        if need > len(self._drawn):  # grow the table (doubling, up to room rows)
            size, old = min(max(need, 2 * len(self._drawn)), room), len(self._drawn)
            rows, drawn = np.empty((size, n)), np.zeros(size, dtype=bool)
            rows[:old], drawn[:old] = self._rows, self._drawn
            self._rows, self._drawn = rows, drawn
        inside = idx < len(self._drawn)
        kept = idx[inside]
        for u in np.unique(kept[~self._drawn[kept]]):
            self._rows[u] = self._row(u)
            self._drawn[u] = True
        if inside.all():
            return self._rows[idx]
        out = np.empty((len(idx), n))
        out[inside] = self._rows[kept]
        for j in np.flatnonzero(~inside):
            out[j] = self._row(idx[j])
        return out

    def __getstate__(self):  # the kept rows are not state: a pickled model stays small
        state = dict(self.__dict__)
        for name in ("_rows_key", "_rows", "_drawn"):
            state.pop(name, None)
        return state


class MostPopular(Recommender):
    """Rank items by their number of training interactions (the same list for every user)."""

    name = "most_popular"
    search_space: dict = {}  # nothing to tune: the tuner scores it once

    def __init__(self):
        pass

    def _fit(self, user_items, *, train, items) -> None:
        self.scores_ = self.item_popularity_.copy()

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores_, (len(user_idx), len(self.scores_)))


def damped_biases(user_items: sp.csr_matrix, *, damping_user: float, damping_item: float):
    """Return (μ, b_user, b_item) of the damped baseline predictor.

    μ is the mean rating; b_i = Σ_{u∈U_i} (r_ui − μ) / (|U_i| + λ_i) and
    b_u = Σ_{i∈I_u} (r_ui − μ − b_i) / (|I_u| + λ_u) (Koren 2010, eq. 2–3, solved in one pass).
    """
    x = user_items.tocsr()
    mu = float(x.data.mean()) if x.nnz else 0.0
    counts_item = np.diff(x.tocsc().indptr)
    counts_user = np.diff(x.indptr)
    resid = x.copy()
    resid.data = resid.data.astype(np.float64) - mu
    b_item = np.asarray(resid.sum(axis=0)).ravel() / (counts_item + damping_item)
    resid.data -= b_item[resid.indices]
    b_user = np.asarray(resid.sum(axis=1)).ravel() / (counts_user + damping_user)
    # items or users with no data and no damping would divide 0 by 0
    return mu, np.nan_to_num(b_user), np.nan_to_num(b_item)


class Bias(Recommender):
    """Damped baseline predictor r̂_ui = μ + b_u + b_i (Koren 2010).

    The ranking it induces for a user is the ranking of the item biases (a damped
    mean-rating popularity), which makes it the floor of rating-aware ranking.

    Parameters
    ----------
    damping_user, damping_item : float
        Shrinkage counts λ_u, λ_i added to the denominators (0 = plain means).
    """

    name = "bias"
    predicts_ratings = True

    def __init__(self, *, damping_user: float = 5.0, damping_item: float = 5.0):
        self.damping_user = damping_user
        self.damping_item = damping_item

    def _fit(self, user_items, *, train, items) -> None:
        self.mu_, self.user_bias_, self.item_bias_ = damped_biases(
            user_items, damping_user=self.damping_user, damping_item=self.damping_item
        )

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.mu_ + self.user_bias_[user_idx, None] + self.item_bias_[None, :]

    def _predict(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        return self.mu_ + self.user_bias_[user_idx] + self.item_bias_[item_idx]
