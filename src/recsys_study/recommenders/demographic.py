"""Demographic recommenders: popularity within the user's demographic group, and a CF hybrid
that falls back on it for new users.

*Demographic filtering* recommends what people like the user liked, where "like the user"
is a group of users sharing demographic attributes (Pazzani 1999, "A framework for
collaborative, content-based and demographic filtering", Artificial Intelligence Review
13(5-6), 393-408; Burke 2002, "Hybrid recommender systems: survey and experiments", UMUAI
12(4), lists it among the five basic techniques). It needs no rating history from the user,
only their attributes, which is why it answers the new-user problem: a customer who has
just filled in a sign-up form (age, gender, occupation) can be served before their first
rating.

Groups and back-off
-------------------
The attributes are ``features`` in order, e.g. ``("age_band", "gender", "occupation")``
(``age_band``: the user's ``age`` cut at the ``age_bands`` edges). The groups of depth d
share the first d attributes; depth 0 is everyone. A user is served by their group of
greatest depth that has at least ``min_group_size`` training users (and whose attributes
are all known), so a rare combination (a 60-year-old female programmer) backs off to a
coarser group (60-year-old women, then 60-year-olds) and finally to global popularity.

Score
-----
With :math:`U_g` the training users of group g and :math:`n_{gi}` how many of them rated
item i, the score of item i for a user served by g is the shrunk group popularity

.. math:: \\tilde p_{gi} = \\frac{n_{gi} + \\lambda\\, \\tilde p_{\\pi(g) i}}{|U_g| + \\lambda},
   \\qquad \\tilde p_{\\varnothing i} = \\frac{n_i}{|U|},

where :math:`\\pi(g)` is the parent group (the last attribute dropped) and
:math:`\\lambda` = ``shrinkage`` (an m-estimate with the parent as prior: the group's
popularity counts :math:`\\lambda` pseudo-users who behave like the parent group). With
:math:`\\lambda = 0` the score is the share of the group who rated the item; with
:math:`0 < \\lambda \\le 1` the ranking is still by :math:`n_{gi}` and ties are broken by
the parent group (the parent term moves a score by less than one rating:
:math:`n_{gi} \\le n_{gi} + \\lambda \\tilde p < n_{gi} + 1`, as :math:`n_{gi} > 0` implies
:math:`\\tilde p_{\\pi(g) i} > 0`); larger values pull small groups towards their parent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_study.constants import USER
from recsys_study.recommenders.base import Recommender
from recsys_study.recommenders.hybrid import SwitchingHybrid, minmax_rows

AGE_BAND = "age_band"
# the age groups MovieLens 1M publishes: under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+
ML1M_AGE_BANDS = (18, 25, 35, 45, 50, 56)


def age_bands(age: pd.Series, edges=ML1M_AGE_BANDS) -> pd.Series:
    """Return the band label of each age: ``"<e0"``, ``"e0-(e1-1)"``, ..., ``"eK+"``; NaN stays NaN.

    Edges are the first ages of each band after the first (integer years, increasing).
    """
    edges = [int(e) for e in edges]
    if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError(f"age_bands must be increasing ages, e.g. {ML1M_AGE_BANDS}; got {tuple(edges)!r}.")
    labels = [f"<{edges[0]}"] + [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:], strict=False)] + [f"{edges[-1]}+"]
    values = pd.to_numeric(age, errors="coerce")
    band = np.searchsorted(np.asarray(edges, dtype=float), values.to_numpy(dtype=float), side="right")
    out = pd.Series(np.asarray(labels, dtype=object)[np.minimum(band, len(labels) - 1)], index=age.index)
    return out.where(values.notna())


class Demographic(Recommender):
    """Popularity within the user's demographic group, with back-off (Pazzani 1999).

    Score: :math:`\\tilde p_{gi} = (n_{gi} + \\lambda \\tilde p_{\\pi(g) i}) / (|U_g| + \\lambda)`
    for the deepest group g of the user with at least ``min_group_size`` training users
    (module docstring). Needs the users frame: ``fit(train, items, users=dataset.users)``.
    Users unknown at fit time are scored by their group when the users frame has their
    attributes (the new-user case), by global popularity otherwise.

    Parameters
    ----------
    features : attributes in back-off order (the last one is dropped first); ``"age_band"``
        is derived from the ``age`` column, any other name is a column of the users frame.
    age_bands : first ages of the age bands after the first (default: MovieLens 1M's groups).
    min_group_size : fewest training users a group needs to serve a user.
    shrinkage : λ, pseudo-users from the parent group (0 = the group's own share).

    Fitted attributes
    -----------------
    groups_ : DataFrame ``depth, group, n_users`` (one row per group, depth 0 = everyone).
    group_scores_ : ndarray (n_groups, n_items), the row of :math:`\\tilde p_{g\\cdot}` per group.
    """

    name = "demographic"

    def __init__(self, *, features=("age_band", "gender", "occupation"), age_bands=ML1M_AGE_BANDS,
                 min_group_size: int = 20, shrinkage: float = 1.0):
        self.features = features
        self.age_bands = age_bands
        self.min_group_size = min_group_size
        self.shrinkage = shrinkage

    # -- attributes -------------------------------------------------------------------------
    def _check_params(self) -> tuple[str, ...]:
        features = (self.features,) if isinstance(self.features, str) else tuple(self.features)
        if not features or len(set(features)) != len(features):
            raise ValueError("features must be distinct attribute names, e.g. ('age_band', 'gender'); "
                             f"got {self.features!r}.")
        if self.min_group_size < 1:
            raise ValueError(f"min_group_size must be >= 1, got {self.min_group_size!r}.")
        if not self.shrinkage >= 0:
            raise ValueError(f"shrinkage must be >= 0, got {self.shrinkage!r}.")
        return features

    def _attributes(self, ids: pd.Index) -> list[tuple]:
        """Return each user's attribute tuple (None where unknown: no users row or a missing value)."""
        frame = self._users_by_id
        out = frame.reindex(ids)
        values = out.to_numpy(dtype=object)
        return [tuple(None if pd.isna(v) else v for v in row) for row in values]

    def _prepare_users(self, features: tuple[str, ...]) -> pd.DataFrame:
        users = self.users_
        if users is None:
            raise ValueError(
                f"{self.name} needs the users' demographics: call fit(train, items, users=dataset.users) "
                "(load_movielens('ml-100k') has a users frame)."
            )
        if USER not in users.columns:
            raise ValueError(f"the users frame needs a '{USER}' column; it has {list(users.columns)}.")
        frame = users.drop_duplicates(USER, keep="last").set_index(USER)
        if AGE_BAND in features and AGE_BAND not in frame.columns:
            if "age" not in frame.columns:
                raise ValueError(f"feature 'age_band' needs an 'age' column in the users frame; it has "
                                 f"{list(frame.columns)}.")
            frame = frame.assign(**{AGE_BAND: age_bands(frame["age"], self.age_bands)})
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise ValueError(f"feature(s) {missing} are not columns of the users frame {list(frame.columns)}; "
                             f"choose features among them (or 'age_band' with an 'age' column).")
        return frame[list(features)]

    # -- fitting ------------------------------------------------------------------------------
    def _fit(self, user_items, *, train, items) -> None:
        features = self._check_params()
        self._users_by_id = self._prepare_users(features)
        binary = user_items.copy()
        binary.data[:] = 1.0
        n_users, n_items = binary.shape
        lam = float(self.shrinkage)
        attrs = self._attributes(self.user_index_)
        rows = [np.asarray(binary.sum(axis=0), dtype=np.float64).ravel() / max(n_users, 1)]
        table = [{"depth": 0, "group": "everyone", "n_users": n_users}]
        self._row = {(): 0}
        for depth in range(1, len(features) + 1):
            keys: dict[tuple, int] = {}
            member = np.full(n_users, -1)
            for u, a in enumerate(attrs):
                key = a[:depth]
                if all(v is not None for v in key):
                    member[u] = keys.setdefault(key, len(keys))
            if not keys:
                continue
            ok = np.flatnonzero(member >= 0)
            indicator = sp.csr_matrix((np.ones(len(ok)), (member[ok], ok)), shape=(len(keys), n_users))
            counts = np.asarray((indicator @ binary).todense(), dtype=np.float64)
            sizes = np.bincount(member[ok], minlength=len(keys)).astype(np.float64)
            parent = np.vstack([rows[self._row[key[:-1]]] for key in keys])
            rows.extend((counts + lam * parent) / (sizes + lam)[:, None])
            for key, size in zip(keys, sizes, strict=True):
                self._row[key] = len(table)
                label = ", ".join(f"{f}={v}" for f, v in zip(features, key, strict=False))
                table.append({"depth": depth, "group": label, "n_users": int(size)})
        self.groups_ = pd.DataFrame(table)
        self.group_scores_ = np.vstack(rows)
        self._user_row = self._resolve(attrs)

    def _resolve(self, attrs: list[tuple]) -> np.ndarray:
        """Return the group row serving each attribute tuple: the deepest group with enough users."""
        sizes = self.groups_["n_users"].to_numpy()
        out = np.zeros(len(attrs), dtype=np.intp)
        for j, a in enumerate(attrs):
            for depth in range(len(a), 0, -1):
                row = self._row.get(a[:depth]) if all(v is not None for v in a[:depth]) else None
                if row is not None and sizes[row] >= self.min_group_size:
                    out[j] = row
                    break
        return out

    # -- scoring ------------------------------------------------------------------------------
    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.group_scores_[self._user_row[user_idx]]

    def _cold_scores(self, users: pd.Index) -> np.ndarray:
        """A new user with attributes in the users frame gets their group's row; others everyone's."""
        return self.group_scores_[self._resolve(self._attributes(users))]

    def user_groups(self, users) -> pd.DataFrame:
        """Return ``user, depth, group, n_users``: the group that serves each user (known or new)."""
        self._check_fitted()
        ids = pd.Index(pd.unique(np.asarray(users)))
        idx = self.user_index_.get_indexer(ids)
        rows = self._resolve(self._attributes(ids))
        rows[idx >= 0] = self._user_row[idx[idx >= 0]]
        return self.groups_.iloc[rows].reset_index(drop=True).assign(**{USER: ids.to_numpy()})[
            [USER, "depth", "group", "n_users"]]


class DemographicFallback(SwitchingHybrid):
    """Switching hybrid: a collaborative model for users with history, demographics for new users.

    :math:`s_u = s^{demo}_u` if u was unknown at fit time or :math:`|I_u| < n_{min}`, else
    :math:`s^{CF}_u` (Burke 2002, "switching"; the demographic side is Pazzani 1999's, see
    :class:`Demographic`). Scores are the components' per-user min-max normalised scores.
    ``n_min`` is read at scoring time; choose it on validation data. Needs the users frame:
    ``fit(train, items, users=dataset.users)``.
    """

    name = "demographic_fallback"
    score_time_params = ("n_min",)

    def __init__(self, *, collaborative={"algorithm": "item_knn"},  # noqa: B006
                 demographic={"algorithm": "demographic"}, n_min: int = 5):  # noqa: B006
        self.collaborative = collaborative
        self.demographic = demographic
        self.n_min = n_min

    def _specs(self):  # SwitchingHybrid's order: the model for short histories first
        return [self.demographic, self.collaborative]

    def _cold_scores(self, users: pd.Index) -> np.ndarray:
        """Users unknown at fit time: the demographic component's scores for them, on our item index."""
        return minmax_rows(self._on_our_items(0, self.components_[0]._cold_scores(users)))
