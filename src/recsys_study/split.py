"""Train/validation/test splitters; each deterministic for a seed and returning a ``Split``.

The cold rule (all splitters but ``cold_start_split``): a validation or test row
whose user or item does not appear in the training part cannot be scored by a
collaborative model, so it is dropped and counted in ``Split.dropped``
(``{"test_cold_users": n_rows, "test_cold_items": n_rows, ...}``). Cold-start
evaluation keeps such rows on purpose and uses ``cold_start_split``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys_study.constants import ITEM, TIMESTAMP, USER
from recsys_study.data.schema import DataValidationError, validate_interactions

SEGMENT = "segment"


@dataclass
class Split:
    """Train, test and optional validation interactions, with the spec that made them."""

    train: pd.DataFrame
    test: pd.DataFrame
    valid: pd.DataFrame | None = None
    spec: dict = field(default_factory=dict)
    dropped: dict = field(default_factory=dict)
    test_cold_items: pd.DataFrame | None = None
    """Test rows dropped because their item never occurs in training (their user does): no model
    can recommend them, but a protocol that counts them as relevant (as some published tables
    do) needs them back."""

    def summary(self) -> pd.DataFrame:
        """Return one row per part: rows, users, items."""
        parts = {"train": self.train, "valid": self.valid, "test": self.test}
        return pd.DataFrame([
            {"part": name, "rows": len(df), "users": df[USER].nunique(), "items": df[ITEM].nunique()}
            for name, df in parts.items() if df is not None
        ])


def _check_fracs(test_frac: float, valid_frac: float) -> None:
    if not 0 < test_frac < 1 or not 0 <= valid_frac < 1 or test_frac + valid_frac >= 1:
        raise ValueError(
            f"test_frac={test_frac} and valid_frac={valid_frac} must be in [0, 1) with test_frac > 0 "
            "and test_frac + valid_frac < 1."
        )


def _drop_cold(part: pd.DataFrame | None, train: pd.DataFrame, name: str, dropped: dict) -> pd.DataFrame | None:
    if part is None:
        return None
    cold_user = ~part[USER].isin(train[USER].unique())
    cold_item = ~part[ITEM].isin(train[ITEM].unique())
    dropped[f"{name}_cold_users"] = int(cold_user.sum())
    dropped[f"{name}_cold_items"] = int((cold_item & ~cold_user).sum())
    return part[~(cold_user | cold_item)].reset_index(drop=True)


def _finish(df: pd.DataFrame, label: np.ndarray, spec: dict) -> Split:
    """Build a Split from per-row labels 0=train, 1=valid, 2=test, applying the cold rule."""
    train = df[label == 0].reset_index(drop=True)
    valid = df[label == 1].reset_index(drop=True) if (label == 1).any() or spec.get("valid_frac") else None
    test = df[label == 2].reset_index(drop=True)
    dropped: dict = {}
    cold_items = test[test[USER].isin(train[USER].unique()) & ~test[ITEM].isin(train[ITEM].unique())]
    test = _drop_cold(test, train, "test", dropped)
    valid = _drop_cold(valid, train, "valid", dropped)
    return Split(train=train, test=test, valid=valid, spec=spec, dropped=dropped,
                 test_cold_items=cold_items.reset_index(drop=True))


def random_split(df: pd.DataFrame, *, test_frac: float = 0.25, valid_frac: float = 0.0, seed: int = 42) -> Split:
    """Return a random holdout: ``round(test_frac·n)`` rows to test, ``round(valid_frac·n)`` to valid."""
    _check_fracs(test_frac, valid_frac)
    rng = np.random.default_rng(seed)
    n = len(df)
    order = rng.permutation(n)
    n_test, n_valid = round(test_frac * n), round(valid_frac * n)
    label = np.zeros(n, dtype=np.int8)
    label[order[:n_test]] = 2
    label[order[n_test:n_test + n_valid]] = 1
    return _finish(df, label, {"kind": "random", "test_frac": test_frac, "valid_frac": valid_frac, "seed": seed})


def user_stratified_split(df: pd.DataFrame, *, test_frac: float = 0.25, valid_frac: float = 0.0,
                          seed: int = 42) -> Split:
    """Return a per-user holdout: each user gives ``⌊test_frac·n_u + ½⌋`` random ratings to test.

    The MovieLens convention (75/25 per user). Validation takes ``⌊valid_frac·n_u + ½⌋`` of
    the user's ratings, capped so that every user keeps at least one training rating;
    a user with a single rating stays wholly in train.
    """
    _check_fracs(test_frac, valid_frac)
    rng = np.random.default_rng(seed)
    key = rng.random(len(df))
    users = df[USER].to_numpy()
    order = np.lexsort((key, pd.factorize(users, sort=True)[0]))
    sorted_users = users[order]
    pos_sorted = pd.Series(sorted_users).groupby(sorted_users, sort=False).cumcount().to_numpy()
    size_sorted = pd.Series(sorted_users).map(pd.Series(sorted_users).value_counts()).to_numpy()
    pos = np.empty(len(df), dtype=np.int64)
    size = np.empty(len(df), dtype=np.int64)
    pos[order], size[order] = pos_sorted, size_sorted
    n_test = np.floor(test_frac * size + 0.5).astype(np.int64)
    n_test = np.minimum(n_test, size - 1)
    n_valid = np.clip(np.floor(valid_frac * size + 0.5).astype(np.int64), 0, np.maximum(size - 1 - n_test, 0))
    label = np.where(pos < n_test, 2, np.where(pos < n_test + n_valid, 1, 0)).astype(np.int8)
    return _finish(df, label, {"kind": "user_stratified", "test_frac": test_frac, "valid_frac": valid_frac,
                               "seed": seed})


def temporal_split(df: pd.DataFrame, *, test_frac: float = 0.25, valid_frac: float = 0.0) -> Split:
    """Return a global temporal split: the latest ``test_frac`` of rows by timestamp go to test.

    Ties in time are broken by (user, item) so the split is deterministic. Validation is
    the ``valid_frac`` of rows just before the test period.
    """
    _check_fracs(test_frac, valid_frac)
    if TIMESTAMP not in df.columns:
        raise ValueError("temporal_split needs a 'timestamp' column; use user_stratified_split instead.")
    order = np.lexsort((df[ITEM].to_numpy(), df[USER].to_numpy(), df[TIMESTAMP].to_numpy()))
    n = len(df)
    n_test, n_valid = round(test_frac * n), round(valid_frac * n)
    label = np.zeros(n, dtype=np.int8)
    label[order[n - n_test:]] = 2
    label[order[n - n_test - n_valid:n - n_test]] = 1
    return _finish(df, label, {"kind": "temporal", "test_frac": test_frac, "valid_frac": valid_frac})


def leave_last_out(df: pd.DataFrame, *, k: int = 1, valid_k: int = 0) -> Split:
    """Return a leave-last-k-out split: each user's latest ``k`` ratings to test, the ``valid_k`` before to valid.

    Users with at most ``k + valid_k`` ratings stay wholly in train (nothing would be left to learn from).
    """
    if k < 1 or valid_k < 0:
        raise ValueError(f"k must be >= 1 and valid_k >= 0, got k={k}, valid_k={valid_k}")
    if TIMESTAMP not in df.columns:
        raise ValueError("leave_last_out needs a 'timestamp' column.")
    users = df[USER].to_numpy()
    # negate the time RANK, not the time: datetime64 has no negation and unsigned ints would wrap
    time_rank = pd.factorize(df[TIMESTAMP], sort=True)[0]
    order = np.lexsort((df[ITEM].to_numpy(), -time_rank, pd.factorize(users, sort=True)[0]))
    s = pd.Series(users[order])
    from_end = np.empty(len(df), dtype=np.int64)
    size = np.empty(len(df), dtype=np.int64)
    from_end[order] = s.groupby(s.to_numpy(), sort=False).cumcount().to_numpy()
    size[order] = s.map(s.value_counts()).to_numpy()
    eligible = size > k + valid_k
    label = np.where(eligible & (from_end < k), 2, np.where(eligible & (from_end < k + valid_k), 1, 0)).astype(np.int8)
    return _finish(df, label, {"kind": "leave_last_out", "k": k, "valid_k": valid_k})


def cold_start_split(df: pd.DataFrame, *, cold_user_frac: float = 0.2, n_train_ratings: int = 3,
                     cold_item_frac: float = 0.05, test_frac: float = 0.25, seed: int = 42) -> Split:
    """Return a split whose test part has a ``segment`` column: "warm", "cold_user" or "cold_item".

    - cold items: ``cold_item_frac`` of the items are held out; all their ratings go to test
      (segment "cold_item") and none to train, so only content-aware models can rank them.
    - cold users: ``cold_user_frac`` of the users with more than ``n_train_ratings + 1``
      ratings keep only ``n_train_ratings`` random ratings in train; the rest go to test
      (segment "cold_user"); a held-out rating of an item absent from train is labelled
      "cold_item" whatever the user.
    - every other user: a per-user ``test_frac`` holdout (segment "warm").
    Test rows of users absent from train are dropped (cannot happen with n_train_ratings >= 1).
    The test part also has ``history``: the user's number of training ratings.
    """
    if n_train_ratings < 1:
        raise ValueError("n_train_ratings must be >= 1 (a user with no history is a new-user problem).")
    for name, frac in (("cold_user_frac", cold_user_frac), ("cold_item_frac", cold_item_frac)):
        if not 0 <= frac < 1:
            raise ValueError(f"{name} must be in [0, 1), got {frac}")
    rng = np.random.default_rng(seed)
    items = np.sort(df[ITEM].unique())
    cold_items = rng.choice(items, size=round(cold_item_frac * len(items)), replace=False)
    is_cold_item = df[ITEM].isin(cold_items).to_numpy()
    rest = df[~is_cold_item]
    counts = rest[USER].value_counts()
    candidates = np.sort(counts.index[counts > n_train_ratings + 1].to_numpy())
    cold_users = rng.choice(candidates, size=min(len(candidates), round(cold_user_frac * counts.size)),
                            replace=False)
    key = rng.random(len(rest))
    rest = rest.assign(_key=key)
    is_cold_user = rest[USER].isin(cold_users).to_numpy()
    cold_part = rest[is_cold_user].sort_values([USER, "_key"])
    keep = cold_part.groupby(USER).cumcount().to_numpy() < n_train_ratings
    warm = user_stratified_split(rest[~is_cold_user].drop(columns="_key"), test_frac=test_frac, seed=seed)
    train = pd.concat([warm.train, cold_part[keep].drop(columns="_key")], ignore_index=True)
    test = pd.concat([
        warm.test.assign(**{SEGMENT: "warm"}),
        cold_part[~keep].drop(columns="_key").assign(**{SEGMENT: "cold_user"}),
        df[is_cold_item].assign(**{SEGMENT: "cold_item"}),
    ], ignore_index=True)
    # an item rated only by cold users' held-out ratings is as new to the model as a held-out item
    unseen_item = ~test[ITEM].isin(train[ITEM].unique())
    test.loc[unseen_item, SEGMENT] = "cold_item"
    known = test[USER].isin(train[USER].unique())
    history = train[USER].value_counts()
    test = test[known].assign(history=lambda t: t[USER].map(history).astype(int)).reset_index(drop=True)
    spec = {"kind": "cold_start", "cold_user_frac": cold_user_frac, "n_train_ratings": n_train_ratings,
            "cold_item_frac": cold_item_frac, "test_frac": test_frac, "seed": seed}
    dropped = {"test_unknown_users": int((~known).sum()), **warm.dropped}
    return Split(train=train, test=test, valid=None, spec=spec, dropped=dropped)


def new_user_split(df: pd.DataFrame, *, user_frac: float = 0.2, seed: int = 42) -> Split:
    """Return a split whose test part holds every rating of ``user_frac`` of the users (new users).

    The new-user problem at its hardest: a test user has no training rating at all, so a
    collaborative model can only fall back on popularity, while a model with side information
    about users (demographics) can still personalise. Test rows of items absent from train are
    dropped and counted; test users are, by construction, unknown at fit time.
    """
    if not 0 < user_frac < 1:
        raise ValueError(f"user_frac must be in (0, 1), got {user_frac!r}")
    rng = np.random.default_rng(seed)
    users = np.sort(df[USER].unique())
    new = rng.choice(users, size=max(1, round(user_frac * len(users))), replace=False)
    is_new = df[USER].isin(new).to_numpy()
    train = df[~is_new].reset_index(drop=True)
    test = df[is_new]
    unseen = ~test[ITEM].isin(train[ITEM].unique())
    cold_items = test[unseen].reset_index(drop=True)
    test = test[~unseen].reset_index(drop=True)
    return Split(train=train, test=test, spec={"kind": "new_user", "user_frac": user_frac, "seed": seed},
                 dropped={"test_cold_items": int(unseen.sum())}, test_cold_items=cold_items)


#: The two realisations of Microsoft Recommenders' ``python_stratified_split`` (see :func:`stratified_labels`)
STRATIFIED_REALISATIONS = ("1.2.1", "2021")


def stratified_labels(df: pd.DataFrame, *, ratio: float = 0.75, min_rating: int = 1, filter_by: str = "user",
                      seed: int = 42, realisation: str = "1.2.1") -> np.ndarray:
    """Return per-row labels of Microsoft Recommenders' stratified split: 0 train, 2 test, -1 filtered out.

    Each group (every user's ratings with ``filter_by="user"``, every item's with ``"item"``) is
    shuffled and its first share ``ratio`` goes to training, so the split is stratified by the
    group: each user (item) keeps about ``ratio`` of its ratings for training. Groups with fewer
    than ``min_rating`` ratings are dropped first (label -1). Two realisations exist, and both
    are reproduced row for row (the result depends on the frame's row order, as theirs does):

    ``"1.2.1"`` (``recommenders`` 1.2.0 and 1.2.1; checked row for row against 1.2.1)
        One uniform key per row, drawn in the frame's row order from a legacy Mersenne-Twister
        stream seeded ``seed`` (their global ``np.random.seed(seed); np.random.rand(n)``; here a
        private ``RandomState``, so no global state is touched). Within a group of size n, the row
        of key rank r (1-based, ascending) goes to training when ``r <= round(ratio·n)``, rounded
        half to even as their ``round`` of a pandas Series does (numpy's rounding): at ratio 0.75
        a group of one or two ratings goes wholly to training, a group of six keeps four.
    ``"2021"`` (``recommenders`` 1.1.1 and earlier, behind their benchmark table run of 2021-04-02)
        Every group is shuffled by its own ``RandomState(seed).permutation(n)`` (pandas'
        ``sample(frac=1, random_state=seed)``) and its first ``round(ratio·n)`` rows (Python's
        round: half to even) go to training.

    Reference: Microsoft Recommenders, ``recommenders.datasets.python_splitters.python_stratified_split``;
    the benchmark notebook ``examples/06_benchmarks/movielens.ipynb`` calls it with ``ratio=0.75``,
    ``min_rating=1``, ``filter_by="item"`` and ``seed=42``.
    """
    if filter_by not in (USER, ITEM):
        raise ValueError(f"filter_by must be {USER!r} or {ITEM!r}, got {filter_by!r}.")
    if realisation not in STRATIFIED_REALISATIONS:
        raise ValueError(f"realisation must be one of {STRATIFIED_REALISATIONS}, got {realisation!r}.")
    if not 0 < ratio < 1:
        raise ValueError(f"ratio must be in (0, 1), got {ratio}.")
    if int(min_rating) != min_rating or min_rating < 1:
        raise ValueError(f"min_rating must be a whole number of at least 1, got {min_rating!r}.")
    codes, _ = pd.factorize(df[filter_by].to_numpy(), sort=True)
    counts = np.bincount(codes)
    keep = counts[codes] >= min_rating
    label = np.full(len(df), -1, dtype=np.int8)
    rows = np.flatnonzero(keep)
    group = codes[rows]
    if realisation == "1.2.1":
        key = np.random.RandomState(seed).rand(len(rows))
        order = np.lexsort((key, group))
        sorted_group = group[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_group)) + 1]
        sizes = np.diff(np.r_[starts, len(order)])
        rank = np.arange(len(order)) - np.repeat(starts, sizes) + 1
        size = np.repeat(sizes, sizes)
        label[rows[order]] = np.where(rank <= np.round(ratio * size), 0, 2)
    else:
        order = np.argsort(group, kind="stable")  # each group's rows in the frame's order
        sorted_group = group[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_group)) + 1]
        sizes = np.diff(np.r_[starts, len(order)])
        perms: dict[int, np.ndarray] = {}
        for start, n in zip(starts, sizes):
            if n not in perms:
                perms[n] = np.random.RandomState(seed).permutation(n)
            members = rows[order[start:start + n]][perms[n]]
            n_train = round(ratio * n)
            label[members[:n_train]] = 0
            label[members[n_train:]] = 2
    return label


def stratified_split(df: pd.DataFrame, *, ratio: float = 0.75, min_rating: int = 1, filter_by: str = "user",
                     seed: int = 42, realisation: str = "1.2.1") -> Split:
    """Return Microsoft Recommenders' stratified split (``ratio`` of each group to training).

    The labels are :func:`stratified_labels`'s; the cold rule of this module then applies (test rows
    of users or items unseen in training are counted in ``dropped``; cold items are kept aside in
    ``Split.test_cold_items`` for protocols that count them as relevant, as the published table does).
    """
    label = stratified_labels(df, ratio=ratio, min_rating=min_rating, filter_by=filter_by, seed=seed,
                              realisation=realisation)
    spec = {"kind": f"{filter_by}_stratified_msr", "ratio": ratio, "min_rating": int(min_rating),
            "filter_by": filter_by, "seed": seed, "realisation": realisation}
    return _finish(df[label >= 0], label[label >= 0], spec)


SPLIT_KINDS = ("user_stratified", "random", "temporal", "leave_last_out")


def make_split(df: pd.DataFrame, kind: str = "user_stratified", *, test_frac: float = 0.25,
               valid_frac: float = 0.0, seed: int = 42) -> Split:
    """Return the split named ``kind`` (a notebook or YAML parameter) with the given fractions.

    ``leave_last_out`` holds out each user's latest rating (``test_frac`` and ``valid_frac``
    are not used; its validation part is the rating before it when ``valid_frac > 0``).
    """
    df = validate_interactions(df, source="make_split(df)", rating_scale=None, allow_extra=True, require_rating=False,
                               copy=False)
    if kind == "user_stratified":
        split = user_stratified_split(df, test_frac=test_frac, valid_frac=valid_frac, seed=seed)
    elif kind == "random":
        split = random_split(df, test_frac=test_frac, valid_frac=valid_frac, seed=seed)
    elif kind == "temporal":
        split = temporal_split(df, test_frac=test_frac, valid_frac=valid_frac)
    elif kind == "leave_last_out":
        split = leave_last_out(df, k=1, valid_k=1 if valid_frac > 0 else 0)
    else:
        raise ValueError(f"unknown split kind {kind!r}; use one of {SPLIT_KINDS}.")
    if len(split.test) == 0:
        per_user = df[USER].value_counts()
        single = int((per_user == 1).sum())
        cold = sum(v for key, v in split.dropped.items() if key.startswith("test_"))
        raise DataValidationError(
            f"make_split(kind={kind!r}): the test part is empty: {single} of {len(per_user)} users have a single "
            f"rating (it stays in training), and {cold} test rows were dropped because their user or item never "
            f"occurs in training; use data with more ratings per user, or a larger test_frac.")
    return split
