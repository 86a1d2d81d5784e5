"""Splitters (recsys_study.split): partition, per-user ratios, determinism, time order, cold rules.

Property tests draw random small interaction frames with hypothesis (ties in time included).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_study.split import (
    Split,
    cold_start_split,
    leave_last_out,
    make_split,
    random_split,
    temporal_split,
    user_stratified_split,
)

PROPS = settings(max_examples=50, deadline=None)


@st.composite
def frames(draw, min_rows: int = 1) -> pd.DataFrame:
    n_users = draw(st.integers(1, 12))
    n_items = draw(st.integers(1, 12))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1)),
                          min_size=min_rows, max_size=80, unique=True))
    n = len(pairs)
    ts = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    ratings = draw(st.lists(st.sampled_from([0.5, 1.0, 2.5, 4.0, 5.0]), min_size=n, max_size=n))
    return pd.DataFrame({"user": [p[0] for p in pairs], "item": [100 + p[1] for p in pairs],
                         "rating": ratings, "timestamp": ts})


def _big(seed: int = 0, n_users: int = 60, n_items: int = 40, n: int = 900) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = rng.choice(n_users * n_items, size=n, replace=False)
    u, i = np.divmod(codes, n_items)
    return pd.DataFrame({"user": u, "item": i, "rating": rng.integers(1, 6, n).astype(float),
                         "timestamp": rng.integers(0, 10_000, n)})


def _parts(split: Split) -> list[pd.DataFrame]:
    return [p for p in (split.train, split.valid, split.test) if p is not None]


def _assert_partition(df: pd.DataFrame, split: Split) -> None:
    """No (user, item) pair in two parts; every row is in exactly one part or counted as dropped."""
    pairs = [set(zip(p["user"], p["item"])) for p in _parts(split)]
    for a in range(len(pairs)):
        for b in range(a + 1, len(pairs)):
            assert not pairs[a] & pairs[b], "a (user, item) pair is in two parts"
    assert sum(len(p) for p in _parts(split)) + sum(split.dropped.values()) == len(df)
    # every kept row is an unchanged row of the input
    cols = ["user", "item", "rating", "timestamp"]
    kept = pd.concat([p[cols] for p in _parts(split)])
    merged = kept.merge(df[cols], on=cols, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert not kept.duplicated(["user", "item"]).any()


def _assert_no_cold_rows(split: Split) -> None:
    users, items = set(split.train["user"]), set(split.train["item"])
    for part in (split.test, split.valid):
        if part is not None:
            assert set(part["user"]) <= users and set(part["item"]) <= items


# ---------------------------------------------------------------- partition (all splitters)

@PROPS
@given(df=frames(), test_frac=st.floats(0.05, 0.6), valid_frac=st.sampled_from([0.0, 0.1, 0.3]),
       seed=st.integers(0, 10_000))
def test_random_split_partitions_rows_and_drops_cold(df, test_frac, valid_frac, seed):
    split = random_split(df, test_frac=test_frac, valid_frac=valid_frac, seed=seed)
    _assert_partition(df, split)
    _assert_no_cold_rows(split)


@PROPS
@given(df=frames(), test_frac=st.floats(0.05, 0.6), valid_frac=st.sampled_from([0.0, 0.1, 0.3]),
       seed=st.integers(0, 10_000))
def test_user_stratified_split_partitions_rows(df, test_frac, valid_frac, seed):
    split = user_stratified_split(df, test_frac=test_frac, valid_frac=valid_frac, seed=seed)
    _assert_partition(df, split)
    _assert_no_cold_rows(split)
    # every user keeps at least one training rating
    assert set(split.train["user"]) == set(df["user"])


@PROPS
@given(df=frames(), test_frac=st.floats(0.05, 0.6), valid_frac=st.sampled_from([0.0, 0.2]))
def test_temporal_split_partitions_rows(df, test_frac, valid_frac):
    split = temporal_split(df, test_frac=test_frac, valid_frac=valid_frac)
    _assert_partition(df, split)
    _assert_no_cold_rows(split)


@PROPS
@given(df=frames(), k=st.integers(1, 3), valid_k=st.integers(0, 2))
def test_leave_last_out_partitions_rows(df, k, valid_k):
    split = leave_last_out(df, k=k, valid_k=valid_k)
    _assert_partition(df, split)
    _assert_no_cold_rows(split)


# ---------------------------------------------------------------- per-user ratio

@PROPS
@given(df=frames(), test_frac=st.floats(0.05, 0.95), seed=st.integers(0, 10_000))
def test_user_stratified_test_count_within_one_rating_of_test_frac(df, test_frac, seed):
    split = user_stratified_split(df, test_frac=test_frac, seed=seed)
    n_u = df["user"].value_counts()
    train_u = split.train["user"].value_counts().reindex(n_u.index, fill_value=0)
    held_out = n_u - train_u                       # test rows + rows dropped by the cold rule
    assert (np.abs(held_out - test_frac * n_u) <= 1).all()
    test_u = split.test["user"].value_counts().reindex(n_u.index, fill_value=0)
    assert (test_u <= held_out).all()


def test_user_stratified_movielens_convention_75_25_per_user():
    # each user rated every one of 8 items: 2 of 8 go to test, no item is ever cold
    df = pd.DataFrame([(u, i, 3.0, i) for u in range(20) for i in range(8)],
                      columns=["user", "item", "rating", "timestamp"])
    split = user_stratified_split(df, test_frac=0.25, seed=3)
    assert (split.test["user"].value_counts() == 2).all() and split.test["user"].nunique() == 20
    assert (split.train["user"].value_counts() == 6).all()
    assert split.dropped == {"test_cold_users": 0, "test_cold_items": 0}


def test_user_stratified_with_validation_takes_its_share_per_user():
    df = pd.DataFrame([(u, i, 3.0, i) for u in range(10) for i in range(10)],
                      columns=["user", "item", "rating", "timestamp"])
    split = user_stratified_split(df, test_frac=0.2, valid_frac=0.1, seed=1)
    assert (split.test["user"].value_counts() == 2).all()
    assert (split.valid["user"].value_counts() == 1).all()
    assert (split.train["user"].value_counts() == 7).all()


# ---------------------------------------------------------------- determinism

@pytest.mark.parametrize("splitter", [random_split, user_stratified_split])
def test_same_seed_identical_different_seed_different(splitter):
    df = _big()
    a = splitter(df, test_frac=0.25, valid_frac=0.1, seed=5)
    b = splitter(df, test_frac=0.25, valid_frac=0.1, seed=5)
    c = splitter(df, test_frac=0.25, valid_frac=0.1, seed=6)
    for x, y in ((a.train, b.train), (a.valid, b.valid), (a.test, b.test)):
        pd.testing.assert_frame_equal(x, y)
    assert a.dropped == b.dropped and a.spec == b.spec
    assert not a.test.equals(c.test)
    assert a.spec["seed"] == 5


def test_cold_start_same_seed_identical_different_seed_different():
    df = _big(1)
    a = cold_start_split(df, seed=2)
    b = cold_start_split(df, seed=2)
    c = cold_start_split(df, seed=3)
    pd.testing.assert_frame_equal(a.train, b.train)
    pd.testing.assert_frame_equal(a.test, b.test)
    assert not a.test.equals(c.test)


@PROPS
@given(df=frames(), seed=st.integers(0, 10_000))
def test_split_does_not_depend_on_global_random_state(df, seed):
    np.random.seed(0)
    a = user_stratified_split(df, seed=seed)
    np.random.seed(1)
    b = user_stratified_split(df, seed=seed)
    pd.testing.assert_frame_equal(a.test, b.test)


def test_random_split_sizes_are_rounded_fractions():
    df = _big(2, n=1000)
    split = random_split(df, test_frac=0.2, valid_frac=0.1, seed=0)
    total_test = len(split.test) + split.dropped["test_cold_users"] + split.dropped["test_cold_items"]
    total_valid = len(split.valid) + split.dropped["valid_cold_users"] + split.dropped["valid_cold_items"]
    assert (total_test, total_valid, len(split.train)) == (200, 100, 700)


def test_no_validation_part_when_valid_frac_is_zero():
    assert random_split(_big(), seed=0).valid is None
    assert user_stratified_split(_big(), seed=0).valid is None


# ---------------------------------------------------------------- time order

@PROPS
@given(df=frames(min_rows=2), test_frac=st.floats(0.05, 0.6), valid_frac=st.sampled_from([0.0, 0.2]))
def test_temporal_every_test_timestamp_after_every_train_timestamp(df, test_frac, valid_frac):
    split = temporal_split(df, test_frac=test_frac, valid_frac=valid_frac)
    if len(split.test):
        assert split.test["timestamp"].min() >= split.train["timestamp"].max()
    if split.valid is not None and len(split.valid):
        assert split.valid["timestamp"].min() >= split.train["timestamp"].max()
        if len(split.test):
            assert split.test["timestamp"].min() >= split.valid["timestamp"].max()


def test_temporal_split_on_a_hand_frame():
    df = pd.DataFrame({"user": [1, 1, 2, 2, 1, 2, 1, 2], "item": [4, 2, 4, 2, 3, 1, 1, 3],
                       "rating": [3.0] * 8, "timestamp": [10, 20, 30, 40, 50, 60, 70, 80]})
    split = temporal_split(df, test_frac=0.25)
    assert split.test["timestamp"].tolist() == [70, 80]
    assert sorted(zip(split.test["user"], split.test["item"])) == [(1, 1), (2, 3)]
    assert split.dropped == {"test_cold_users": 0, "test_cold_items": 0}
    assert len(split.train) == 6 and split.spec["kind"] == "temporal"


@PROPS
@given(df=frames(), k=st.integers(1, 3), valid_k=st.integers(0, 2))
def test_leave_last_out_test_rows_are_each_users_latest(df, k, valid_k):
    split = leave_last_out(df, k=k, valid_k=valid_k)
    n_u = df["user"].value_counts()
    train_u = split.train["user"].value_counts().reindex(n_u.index, fill_value=0)
    expected_out = np.where(n_u > k + valid_k, k + valid_k, 0)
    assert ((n_u - train_u).to_numpy() == expected_out).all()
    latest_train = split.train.groupby("user")["timestamp"].max()
    for part in (split.test, split.valid):
        if part is not None and len(part):
            earliest = part.groupby("user")["timestamp"].min()
            assert (earliest >= latest_train.reindex(earliest.index)).all()
    if split.valid is not None and len(split.valid) and len(split.test):
        both = split.test.groupby("user")["timestamp"].min().to_frame("t").join(
            split.valid.groupby("user")["timestamp"].max().rename("v"), how="inner")
        assert (both["t"] >= both["v"]).all()


def test_leave_last_out_hand_frame():
    df = pd.DataFrame({"user": [1, 1, 1, 2, 2, 3], "item": [1, 2, 3, 1, 2, 1],
                       "rating": [4.0] * 6, "timestamp": [5, 9, 1, 3, 2, 7]})
    split = leave_last_out(df, k=1)
    assert sorted(zip(split.test["user"], split.test["item"])) == [(1, 2), (2, 1)]
    # user 3 has a single rating: it stays in train
    assert (3, 1) in set(zip(split.train["user"], split.train["item"]))


def test_leave_last_out_accepts_datetime_timestamps():
    df = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": [1, 2, 3, 2, 1], "rating": [4.0] * 5,
                       "timestamp": pd.to_datetime(["2020-01-03", "2020-01-01", "2020-01-02",
                                                    "2021-05-01", "2021-04-01"])})
    split = leave_last_out(df, k=1)
    assert sorted(zip(split.test["user"], split.test["item"])) == [(1, 1), (2, 2)]
    split = temporal_split(df, test_frac=0.2)
    assert len(split.test) == 1
    assert split.test["timestamp"].min() >= split.train["timestamp"].max()


# ---------------------------------------------------------------- the cold rule

def test_test_rows_with_items_unseen_in_train_are_dropped_and_counted():
    # item 9 is only ever rated by user 1 and lands in test whatever the seed (user 1's other ratings: 3)
    df = pd.DataFrame({"user": [1, 1, 1, 1, 2, 2, 2, 2], "item": [1, 2, 3, 9, 1, 2, 3, 4],
                       "rating": [3.0] * 8, "timestamp": [1, 2, 3, 99, 1, 2, 3, 4]})
    split = leave_last_out(df, k=1)
    assert split.dropped == {"test_cold_users": 0, "test_cold_items": 2}
    assert len(split.test) == 0
    assert len(split.train) == 6


# ---------------------------------------------------------------- cold-start split

@PROPS
@given(df=frames(), n_train=st.integers(1, 3), cold_user_frac=st.sampled_from([0.0, 0.3, 0.6]),
       cold_item_frac=st.sampled_from([0.0, 0.1, 0.3]), seed=st.integers(0, 10_000))
def test_cold_start_split_properties(df, n_train, cold_user_frac, cold_item_frac, seed):
    split = cold_start_split(df, cold_user_frac=cold_user_frac, n_train_ratings=n_train,
                             cold_item_frac=cold_item_frac, seed=seed)
    _assert_partition(df, split)
    assert set(split.test["segment"]) <= {"warm", "cold_user", "cold_item"}
    train_items = set(split.train["item"])
    cold_items = set(split.test.loc[split.test["segment"] == "cold_item", "item"])
    assert not cold_items & train_items
    unseen = ~split.test["item"].isin(train_items)
    assert (split.test.loc[unseen, "segment"] == "cold_item").all()
    train_u = split.train["user"].value_counts()
    cold_users = set(split.test.loc[split.test["segment"] == "cold_user", "user"])
    assert (train_u.reindex(sorted(cold_users)) == n_train).all()
    assert set(split.test["user"]) <= set(split.train["user"])
    assert (split.test["history"] == split.test["user"].map(train_u)).all()


def test_cold_start_split_segments_on_a_larger_frame():
    df = _big(3, n_users=80, n_items=50, n=1500)
    split = cold_start_split(df, cold_user_frac=0.2, n_train_ratings=3, cold_item_frac=0.1, seed=4)
    seg = split.test["segment"].value_counts()
    assert {"warm", "cold_user", "cold_item"} <= set(seg.index)
    cold_items = set(split.test.loc[split.test["segment"] == "cold_item", "item"])
    assert len(cold_items) == 5                       # round(0.1 * 50) items held out
    assert not cold_items & set(split.train["item"])
    assert df["item"].isin(cold_items).sum() == seg["cold_item"] + split.dropped["test_unknown_users"]
    cold_users = split.test.loc[split.test["segment"] == "cold_user", "user"].unique()
    assert len(cold_users) == 16                      # round(0.2 * 80)
    assert (split.train["user"].value_counts()[cold_users] == 3).all()


def test_cold_start_rejects_bad_arguments():
    df = _big()
    with pytest.raises(ValueError, match="n_train_ratings must be >= 1"):
        cold_start_split(df, n_train_ratings=0)
    with pytest.raises(ValueError, match="cold_user_frac"):
        cold_start_split(df, cold_user_frac=1.0)
    with pytest.raises(ValueError, match="cold_item_frac"):
        cold_start_split(df, cold_item_frac=-0.1)


# ---------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("test_frac, valid_frac", [(0.0, 0.0), (1.0, 0.0), (-0.1, 0.0), (1.5, 0.0),
                                                   (0.5, 0.5), (0.3, -0.1), (0.2, 0.9)])
@pytest.mark.parametrize("splitter", [random_split, user_stratified_split, temporal_split])
def test_bad_fractions_raise_value_error(splitter, test_frac, valid_frac):
    with pytest.raises(ValueError, match="test_frac"):
        splitter(_big(), test_frac=test_frac, valid_frac=valid_frac)


def test_leave_last_out_bad_k_and_missing_timestamp():
    with pytest.raises(ValueError, match="k must be >= 1"):
        leave_last_out(_big(), k=0)
    with pytest.raises(ValueError, match="k must be >= 1"):
        leave_last_out(_big(), valid_k=-1)
    with pytest.raises(ValueError, match="timestamp"):
        leave_last_out(_big().drop(columns="timestamp"))
    with pytest.raises(ValueError, match="timestamp"):
        temporal_split(_big().drop(columns="timestamp"))


def test_summary_lists_each_part():
    split = user_stratified_split(_big(), valid_frac=0.1, seed=0)
    s = split.summary().set_index("part")
    assert list(s.index) == ["train", "valid", "test"]
    assert s.loc["train", "rows"] == len(split.train)


def test_leave_last_out_unsigned_timestamps_keep_time_order():
    df = pd.DataFrame({"user": [1, 1, 1], "item": [1, 2, 3], "rating": [4.0] * 3,
                       "timestamp": np.array([0, 5, 3], dtype=np.uint64)})
    split = leave_last_out(df, k=1)
    assert split.train["timestamp"].max() < 5
    assert len(split.test) + sum(split.dropped.values()) == 1
    assert split.dropped["test_cold_items"] == 1       # item 2 only rated once: the cold rule drops it


@pytest.mark.parametrize("kind", ["user_stratified", "random", "temporal", "leave_last_out"])
def test_make_split_dispatches_to_the_named_splitter(kind):
    df = _big(7, n_users=30, n_items=40, n=600)
    split = make_split(df, kind, test_frac=0.2, seed=3)
    assert split.spec["kind"] == kind
    _assert_partition(df, split)


def test_make_split_names_the_valid_kinds_for_an_unknown_one():
    with pytest.raises(ValueError, match="user_stratified"):
        make_split(_big(1), "by_magic")


def test_new_user_split_holds_out_every_rating_of_a_share_of_users():
    from recsys_study.split import new_user_split

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"user": rng.integers(0, 50, 2000), "item": rng.integers(0, 300, 2000)}).drop_duplicates()
    split = new_user_split(df, user_frac=0.2, seed=3)
    new = set(split.test["user"]) | set(split.test_cold_items["user"])
    assert len(new) == 10 and not new & set(split.train["user"])
    # every rating of a new user is in test (or among its unseen-item rows), none in train
    assert len(split.test) + len(split.test_cold_items) == int(df["user"].isin(new).sum())
    assert split.test["item"].isin(split.train["item"]).all()
    assert new_user_split(df, user_frac=0.2, seed=3).test.equals(split.test)
    with pytest.raises(ValueError, match="user_frac"):
        new_user_split(df, user_frac=1.0)


def test_make_split_refuses_an_empty_test_part_and_says_why():
    from recsys_study.data.schema import DataValidationError
    from recsys_study.split import make_split

    one_each = pd.DataFrame({"user": [1, 2, 3], "item": [10, 20, 30], "rating": [4.0, 3.0, 5.0]})
    with pytest.raises(DataValidationError) as err:
        make_split(one_each, "user_stratified", seed=1)
    assert str(err.value) == (
        "make_split(kind='user_stratified'): the test part is empty: 3 of 3 users have a single rating (it stays "
        "in training), and 0 test rows were dropped because their user or item never occurs in training; use data "
        "with more ratings per user, or a larger test_frac.")
