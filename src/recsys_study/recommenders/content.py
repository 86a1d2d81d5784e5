"""Content-based recommenders, user-profile clustering and association rules.

The content models represent every item by a feature vector :math:`x_i`
(:mod:`recsys_study.features`) and recommend items close to what the user liked, so they
can recommend items nobody has rated yet (``item_universe = "catalogue"``). They need the
items frame: ``model.fit(train, items=dataset.items)``.

References: Pazzani & Billsus (2007), "Content-based recommendation systems", The Adaptive
Web, LNCS 4321; Lops, de Gemmis & Semeraro (2011), "Content-based recommender systems",
Recommender Systems Handbook; Agrawal, Imielinski & Swami (1993), "Mining association rules
between sets of items in large databases", SIGMOD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from recsys_study.features import item_features
from recsys_study.recommenders.base import Recommender
from recsys_study.recommenders.topk import top_k_rows

WEIGHTINGS = ("mean_centred", "rating", "binary", "liked")


def preference_weights(user_items: sp.csr_matrix, weighting: str = "mean_centred", *,
                       like_threshold: float = 4.0) -> sp.csr_matrix:
    """Return the user x item weight matrix :math:`w_{ui}` that builds a profile.

    ``mean_centred``: :math:`r_{ui} - \\bar r_u`; ``rating``: :math:`r_{ui}`; ``binary``: 1 for
    every rated item; ``liked``: 1 if :math:`r_{ui} \\ge` ``like_threshold`` else 0.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown profile weighting {weighting!r}; choose one of {WEIGHTINGS}.")
    w = user_items.copy().astype(np.float64)
    if weighting == "mean_centred":
        counts = np.diff(w.indptr)
        means = np.divide(np.asarray(w.sum(axis=1)).ravel(), counts, out=np.zeros(w.shape[0]), where=counts > 0)
        w.data -= np.repeat(means, counts)
    elif weighting == "binary":
        w.data[:] = 1.0
    elif weighting == "liked":
        w.data = (w.data >= like_threshold).astype(np.float64)
    w.eliminate_zeros()
    return w


def cosine_topk(x: sp.csr_matrix, k: int, *, block_size: int = 1024) -> sp.csr_matrix:
    """Return the item x item cosine similarity keeping, in each row j, the ``k`` most similar items.

    :math:`s_{ji} = x_j \\cdot x_i / (\\lVert x_j\\rVert \\lVert x_i\\rVert)`; the diagonal and
    non-positive similarities are dropped. Computed in row blocks, never a dense n x n matrix.
    """
    xn = normalize(sp.csr_matrix(x, dtype=np.float64), norm="l2")
    n = xn.shape[0]
    k = max(0, min(k, n - 1))
    if k == 0:
        return sp.csr_matrix((n, n))
    rows, cols, vals = [], [], []
    xt = xn.T.tocsc()
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        sims = (xn[start:stop] @ xt).toarray()
        sims[np.arange(stop - start), np.arange(start, stop)] = 0.0
        r, c, v = top_k_rows(sims, k, 0.0)
        rows.append(r + start)
        cols.append(c)
        vals.append(v)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


class _ContentModel(Recommender):
    item_universe = "catalogue"

    def _build_features(self, items: pd.DataFrame | None) -> sp.csr_matrix:
        if items is None:
            raise ValueError(
                f"{self.name} is content-based and needs item features: call fit(train, items=dataset.items) "
                "with an items frame holding item, title, genres, year."
            )
        feats = item_features(items, self.feature_set)
        self.feature_names_ = feats.names
        self.item_features_ = feats.align(self.item_index_)
        return self.item_features_

    def _weights(self, user_items):
        weighting = self.weighting if np.isfinite(self.global_mean_) else "binary"  # implicit data
        return preference_weights(user_items, weighting, like_threshold=self.like_threshold)


class ContentProfile(_ContentModel):
    """Vector space model: score = cosine(user profile, item vector).

    Profile :math:`p_u = \\sum_{i \\in I_u} w_{ui}\\, x_i` with :math:`w_{ui}` from
    :func:`preference_weights` (mean-centred ratings by default, so disliked items push
    the profile away); :math:`\\hat r_{ui} = \\cos(p_u, x_i)` (Salton, Wong & Yang 1975;
    Lops et al. 2011).
    """

    name = "content_profile"

    def __init__(self, *, feature_set: str = "genres+year", weighting: str = "mean_centred",
                 like_threshold: float = 4.0):
        self.feature_set = feature_set
        self.weighting = weighting
        self.like_threshold = like_threshold

    def _fit(self, user_items, *, train, items):
        x = self._build_features(items)
        self.profile_ = (self._weights(user_items) @ x).tocsr()
        self._xt = normalize(x, norm="l2").T.tocsc()
        self._pn = normalize(self.profile_, norm="l2")

    def _score(self, user_idx):
        return (self._pn[user_idx] @ self._xt).toarray()


class ContentBayes(_ContentModel):
    """Per-user naive Bayes classifier of items as liked / not liked; score = log-odds of "liked".

    Liked means :math:`r_{ui} \\ge \\bar r_u` (``like_threshold="user_mean"``) or
    :math:`r_{ui} \\ge` a fixed threshold. For user u and class c, with feature totals
    :math:`N_{ucf} = \\sum_{i \\in I_{uc}} x_{if}` (one sparse product for all users):
    multinomial :math:`\\log\\theta_{ucf} = \\log(N_{ucf}+\\alpha) - \\log(\\sum_f N_{ucf} + \\alpha F)`,
    :math:`\\log P(x|c) = x\\cdot\\log\\theta_{uc}`; Bernoulli on binarised x:
    :math:`p_{ucf} = (N_{ucf}+\\alpha)/(n_{uc}+2\\alpha)`. Prior
    :math:`\\pi_{uc} = (n_{uc}+s)/(n_u+2s)` (``prior_smoothing`` s keeps one-class users finite).
    Score :math:`\\log P(\\text{liked}|x) - \\log P(\\text{not}|x)`; :meth:`liked_probability`
    gives the posterior. Matches scikit-learn's MultinomialNB/BernoulliNB fitted on one
    user with the same prior (McCallum & Nigam 1998; Pazzani & Billsus 1997).
    """

    name = "content_bayes"

    def __init__(self, *, feature_set: str = "genres+year", like_threshold: float | str = "user_mean",
                 event_model: str = "multinomial", alpha: float = 1.0, prior_smoothing: float = 1.0):
        self.feature_set = feature_set
        self.like_threshold = like_threshold
        self.event_model = event_model
        self.alpha = alpha
        self.prior_smoothing = prior_smoothing

    def _fit(self, user_items, *, train, items):
        if self.event_model not in ("multinomial", "bernoulli"):
            raise ValueError(f"event_model must be 'multinomial' or 'bernoulli', got {self.event_model!r}")
        x = self._build_features(items)
        if self.event_model == "multinomial" and x.nnz and x.data.min() < 0:
            raise ValueError("multinomial naive Bayes needs non-negative features; use event_model='bernoulli' "
                             "or a feature_set without 'embeddings'.")
        self._x = (x > 0).astype(np.float64).tocsr() if self.event_model == "bernoulli" else x
        r = user_items.astype(np.float64)
        counts = np.diff(r.indptr)
        if self.like_threshold == "user_mean":
            thr = np.repeat(np.divide(np.asarray(r.sum(1)).ravel(), counts, out=np.zeros(r.shape[0]),
                                      where=counts > 0), counts)
        else:
            thr = float(self.like_threshold)
        liked = r.copy()
        liked.data = (r.data >= thr - 1e-9).astype(np.float64)
        rated = r.copy()
        rated.data[:] = 1.0
        self.liked_ = liked
        self.disliked_ = (rated - liked).tocsr()
        self.liked_.eliminate_zeros()
        self.disliked_.eliminate_zeros()

    def _joint_log_likelihood(self, sub: sp.csr_matrix, n_u: np.ndarray) -> np.ndarray:
        a, s = self.alpha, self.prior_smoothing
        n_c = np.asarray(sub.sum(axis=1)).ravel()
        log_prior = np.log(n_c + s) - np.log(n_u + 2 * s)
        big_n = (sub @ self._x).toarray()
        if self.event_model == "multinomial":
            log_theta = np.log(big_n + a) - np.log(big_n.sum(axis=1, keepdims=True) + a * big_n.shape[1])
            jll = (self._x @ log_theta.T).T
        else:
            p = (big_n + a) / (n_c[:, None] + 2 * a)
            jll = (self._x @ (np.log(p) - np.log1p(-p)).T).T + np.log1p(-p).sum(axis=1, keepdims=True)
        return jll + log_prior[:, None]

    def _score(self, user_idx):
        liked, disliked = self.liked_[user_idx], self.disliked_[user_idx]
        n_u = np.diff(liked.indptr) + np.diff(disliked.indptr)
        return self._joint_log_likelihood(liked, n_u) - self._joint_log_likelihood(disliked, n_u)

    def liked_probability(self, users) -> np.ndarray:
        """Return P(liked | x_i) for the given user ids (rows) and every item of ``item_index_`` (columns)."""
        self._check_fitted()
        idx = self.user_index_.get_indexer(pd.Index(users))
        if (idx < 0).any():
            raise KeyError(f"users not seen in training: {list(pd.Index(users)[idx < 0])[:5]}")
        return 1.0 / (1.0 + np.exp(-self._score(idx)))


class ContentKNN(_ContentModel):
    """Item-kNN on content vectors (ItemKNN-CBF): :math:`\\hat r_{ui} = \\sum_{j \\in I_u} w_{uj} s_{ji}`.

    :math:`s_{ji}` is the cosine similarity of the content vectors, kept for the
    ``n_neighbors`` most similar items of each j (Deshpande & Karypis 2004's item-kNN with
    content similarity; Ferrari Dacrema et al. 2019 call it ItemKNN-CBF).
    """

    name = "content_knn"

    def __init__(self, *, feature_set: str = "genres+title+year", n_neighbors: int = 50,
                 weighting: str = "mean_centred", like_threshold: float = 4.0):
        self.feature_set = feature_set
        self.n_neighbors = n_neighbors
        self.weighting = weighting
        self.like_threshold = like_threshold

    def _fit(self, user_items, *, train, items):
        x = self._build_features(items)
        self.similarity_ = cosine_topk(x, self.n_neighbors)
        self._w = self._weights(user_items)

    def _score(self, user_idx):
        return (self._w[user_idx] @ self.similarity_).toarray()


class ProfileClusters(_ContentModel):
    """Group recommendation: k-means on unit-length user profiles, then the group's favourites.

    Users are clustered by :math:`p_u / \\lVert p_u \\rVert` (profiles as in
    :class:`ContentProfile`); the score of item i for a user of cluster c is the share of
    c's members who liked i (:math:`r \\ge` ``like_threshold``). The user's own rated items
    are excluded by ``recommend`` (MacQueen 1967; the seeds' "cluster users, recommend per group").
    """

    name = "profile_clusters"

    def __init__(self, *, feature_set: str = "genres+year", n_clusters: int = 20,
                 weighting: str = "mean_centred", like_threshold: float = 4.0, seed: int = 42):
        self.feature_set = feature_set
        self.n_clusters = n_clusters
        self.weighting = weighting
        self.like_threshold = like_threshold
        self.seed = seed

    def _fit(self, user_items, *, train, items):
        from sklearn.cluster import KMeans

        x = self._build_features(items)
        self.profile_ = (self._weights(user_items) @ x).tocsr()
        n_clusters = max(1, min(self.n_clusters, user_items.shape[0]))
        km = KMeans(n_clusters=n_clusters, n_init=4, random_state=self.seed)
        self.labels_ = km.fit_predict(normalize(self.profile_, norm="l2"))
        self.cluster_centers_ = km.cluster_centers_
        liked = preference_weights(user_items, "liked", like_threshold=self.like_threshold) \
            if np.isfinite(self.global_mean_) else preference_weights(user_items, "binary")
        member = sp.csr_matrix((np.ones(len(self.labels_)), (self.labels_, np.arange(len(self.labels_)))),
                               shape=(n_clusters, len(self.labels_)))
        size = np.maximum(np.asarray(member.sum(axis=1)).ravel(), 1.0)
        self.cluster_items_ = (member @ liked).toarray() / size[:, None]

    def _score(self, user_idx):
        return self.cluster_items_[self.labels_[user_idx]]


class AssociationRules(Recommender):
    """Item-to-item association rules X -> Y mined from the users' positive histories.

    A user's liked items (:math:`r \\ge` ``like_threshold``; every item for implicit data) form
    one transaction. With n transactions, :math:`\\mathrm{supp}(X \\Rightarrow Y) = n_{XY}/n`,
    :math:`\\mathrm{conf} = n_{XY}/n_X`, :math:`\\mathrm{lift} = \\mathrm{conf}/(n_Y/n)`; pair counts
    come from one sparse product :math:`B^\\top B` over the frequent items (Apriori pruning).
    Rules need support >= ``min_support`` and confidence >= ``min_confidence``. A user's
    score for Y aggregates (``max`` or ``sum``) the confidences of the rules their history
    fires; a 1e-6 x popularity term only orders items no rule reaches (Agrawal et al. 1993).
    ``rules_`` lists the rules ("liked X -> likes Y") sorted by lift.
    """

    name = "association_rules"

    def __init__(self, *, min_support: float = 0.02, min_confidence: float = 0.1, like_threshold: float = 4.0,
                 aggregate: str = "max"):
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.like_threshold = like_threshold
        self.aggregate = aggregate

    def _fit(self, user_items, *, train, items):
        if self.aggregate not in ("max", "sum"):
            raise ValueError(f"aggregate must be 'max' or 'sum', got {self.aggregate!r}")
        if not 0 < self.min_support <= 1 or not 0 <= self.min_confidence <= 1:
            raise ValueError("min_support must be in (0, 1] and min_confidence in [0, 1] (fractions, not counts).")
        b = preference_weights(user_items, "liked" if np.isfinite(self.global_mean_) else "binary",
                               like_threshold=self.like_threshold)
        self._b = b
        n = b.shape[0]
        count = np.asarray(b.sum(axis=0)).ravel()
        min_count = self.min_support * n
        freq = np.flatnonzero(count >= min_count - 1e-9)
        bf = b[:, freq].tocsc()
        pairs = (bf.T @ bf).tocoo()
        x, y, n_xy = freq[pairs.row], freq[pairs.col], pairs.data
        conf = n_xy / count[x]
        keep = (x != y) & (n_xy >= min_count - 1e-9) & (conf >= self.min_confidence)
        x, y, n_xy, conf = x[keep], y[keep], n_xy[keep], conf[keep]
        n_items = len(self.item_index_)
        self.confidence_ = sp.csr_matrix((conf, (x, y)), shape=(n_items, n_items))
        ids = self.item_index_.to_numpy()
        self.rules_ = pd.DataFrame({
            "antecedent": ids[x], "consequent": ids[y], "support": n_xy / n, "confidence": conf,
            "lift": conf / (count[y] / n), "antecedent_support": count[x] / n, "consequent_support": count[y] / n,
        }).sort_values(["lift", "confidence", "antecedent", "consequent"], ascending=[False, False, True, True],
                       ignore_index=True)
        pop = self.item_popularity_
        self._tiebreak = 1e-6 * pop / max(pop.max(), 1.0)

    def _score(self, user_idx):
        hist = self._b[user_idx]
        if self.aggregate == "sum":
            scores = (hist @ self.confidence_).toarray()
        else:
            scores = np.zeros((len(user_idx), self.confidence_.shape[1]))
            h = hist.tocoo()
            fired = self.confidence_[h.col].tocoo()
            np.maximum.at(scores, (h.row[fired.row], fired.col), fired.data)
        return scores + self._tiebreak


def explain_recommendation(model, user, item=None, *, top: int = 5) -> dict[str, pd.DataFrame]:
    """Return why a content model would recommend ``item`` to ``user``.

    ``profile``: the user's ``top`` strongest profile features (:math:`p_{uf}` of the
    unit-length profile, mean-centred weighting unless the model says otherwise);
    ``contributions`` (when ``item`` is given): features of the item with their share
    :math:`\\hat p_{uf}\\,\\hat x_{if}` of the cosine score (these shares sum to the cosine).
    ``model`` is any fitted content model (it holds ``item_features_``).
    """
    if not hasattr(model, "item_features_"):
        raise TypeError(f"{type(model).__name__} has no item features; explain a fitted content model.")
    u = model.user_index_.get_indexer([user])[0]
    if u < 0:
        raise KeyError(f"user {user!r} was not in the training data of {model.name}.")
    weighting = getattr(model, "weighting", "mean_centred")
    threshold = getattr(model, "like_threshold", 4.0)
    threshold = 4.0 if isinstance(threshold, str) else float(threshold)  # naive Bayes may use "user_mean"
    w = preference_weights(model.user_items_[u], weighting, like_threshold=threshold)
    profile = normalize(w @ model.item_features_, norm="l2").toarray().ravel()
    names = model.feature_names_
    order = np.argsort(-np.abs(profile), kind="stable")[:top]
    out = {"profile": pd.DataFrame({"feature": names[order], "weight": profile[order]})}
    if item is not None:
        i = model.item_index_.get_indexer([item])[0]
        if i < 0:
            raise KeyError(f"item {item!r} is not in the catalogue of {model.name}.")
        xi = normalize(model.item_features_[i], norm="l2").toarray().ravel()
        nz = np.flatnonzero(xi)
        contrib = profile[nz] * xi[nz]
        frame = pd.DataFrame({"feature": names[nz], "profile_weight": profile[nz], "item_weight": xi[nz],
                              "contribution": contrib})
        out["contributions"] = frame.sort_values("contribution", ascending=False, ignore_index=True)
    return out
