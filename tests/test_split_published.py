"""Microsoft Recommenders' stratified split (both realisations) pinned on a hand case.

The expected labels are worked out by hand from the legacy Mersenne-Twister draws written out
below (``np.random.RandomState(7)``), following the two splitters' rules:

- "1.2.1": one uniform key per kept row, in frame order (``RandomState(seed).rand(n_kept)``); in each
  group the rows with the ``round(ratio * n)`` smallest keys go to training (round half to even);
- "2021": each group's rows, in frame order, are reordered by ``RandomState(seed).permutation(n)``
  and the first ``round(ratio * n)`` go to training.

Row-for-row agreement with the real splitters on ml-100k is checked by
``benchmarks/msr_conformance.py`` (it needs the peer venv); this file needs nothing but numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_study.split import stratified_labels, stratified_split

#       row:   0   1   2   3   4   5   6   7   8   9  10  11  12  13
USERS = [1, 2, 3, 1, 2, 3, 4, 4, 1, 2, 3, 4, 5, 6]
ITEMS = [10, 20, 10, 30, 10, 20, 10, 40, 50, 50, 50, 50, 50, 50]
# groups by item: 10 -> rows 0, 2, 4, 6 (n=4); 20 -> rows 1, 5 (n=2); 30 -> row 3; 40 -> row 7;
#                 50 -> rows 8..13 (n=6). At ratio 0.75: round(3.0)=3, round(1.5)=2, round(0.75)=1,
#                 round(4.5)=4 (half to even) training rows.
SEED = 7
# np.random.RandomState(7).rand(14), to 4 digits
KEYS_14 = [0.0763, 0.7799, 0.4384, 0.7235, 0.9780, 0.5385, 0.5011, 0.0721, 0.2684, 0.4999, 0.6792, 0.8037,
           0.3809, 0.0659]
# np.random.RandomState(7).permutation(n)
PERM_4, PERM_6, PERM_2 = [2, 1, 0, 3], [3, 5, 0, 2, 1, 4], [0, 1]


@pytest.fixture
def ratings() -> pd.DataFrame:
    return pd.DataFrame({"user": USERS, "item": ITEMS, "rating": 4.0, "timestamp": np.arange(14)})


def test_the_draws_written_out_are_numpys():
    state = np.random.RandomState(SEED)
    assert np.round(state.rand(14), 4).tolist() == KEYS_14
    assert np.random.RandomState(SEED).permutation(4).tolist() == PERM_4
    assert np.random.RandomState(SEED).permutation(6).tolist() == PERM_6
    assert np.random.RandomState(SEED).permutation(2).tolist() == PERM_2


def test_realisation_121_by_hand(ratings):
    # item 10: keys of rows 0, 2, 4, 6 = .0763, .4384, .9780, .5011 -> the largest (row 4) to test;
    # item 50: keys of rows 8..13 = .2684, .4999, .6792, .8037, .3809, .0659 -> the two largest (rows 11,
    # 10) to test; items 20, 30, 40 (n = 2, 1, 1) wholly to training.
    expected = np.zeros(14, dtype=np.int8)
    expected[[4, 10, 11]] = 2
    labels = stratified_labels(ratings, ratio=0.75, filter_by="item", seed=SEED, realisation="1.2.1")
    assert labels.dtype == np.int8
    np.testing.assert_array_equal(labels, expected)


def test_realisation_2021_by_hand(ratings):
    # item 10: rows [0, 2, 4, 6] reordered by PERM_4 -> [4, 2, 0, 6]: the first 3 train, row 6 test;
    # item 50: rows [8..13] reordered by PERM_6 -> [11, 13, 8, 10, 9, 12]: the first 4 train, 9 and 12 test;
    # item 20: PERM_2 keeps [1, 5], both train; items 30 and 40 train.
    expected = np.zeros(14, dtype=np.int8)
    expected[[6, 9, 12]] = 2
    labels = stratified_labels(ratings, ratio=0.75, filter_by="item", seed=SEED, realisation="2021")
    np.testing.assert_array_equal(labels, expected)


def test_min_rating_filters_first_and_shifts_the_121_draws(ratings):
    # min_rating=2 drops items 30 and 40 (rows 3 and 7: label -1). "1.2.1" then draws rand(12) over the
    # 12 kept rows in frame order, so rows 8..13 get the keys .5011, .0721, .2684, .4999, .6792, .8037
    # (the 7th to 12th draws): item 50's two largest are rows 13 and 12; item 10's rows 0, 2, 4, 6 get
    # .0763, .4384, .7235, .5385: row 4 to test.
    expected = np.zeros(14, dtype=np.int8)
    expected[[3, 7]] = -1
    expected[[4, 12, 13]] = 2
    labels = stratified_labels(ratings, ratio=0.75, min_rating=2, filter_by="item", seed=SEED, realisation="1.2.1")
    np.testing.assert_array_equal(labels, expected)
    # "2021" permutes each group on its own: the filter changes nothing but the dropped rows
    expected_2021 = np.zeros(14, dtype=np.int8)
    expected_2021[[3, 7]] = -1
    expected_2021[[6, 9, 12]] = 2
    labels = stratified_labels(ratings, ratio=0.75, min_rating=2, filter_by="item", seed=SEED, realisation="2021")
    np.testing.assert_array_equal(labels, expected_2021)


@pytest.mark.parametrize("realisation", ["1.2.1", "2021"])
def test_round_half_to_even_per_group(ratings, realisation):
    # at ratio 0.5: n=4 -> 2, n=2 -> 1, n=1 -> round(0.5) = 0 (a single rating goes to test), n=6 -> 3
    labels = stratified_labels(ratings, ratio=0.5, filter_by="item", seed=SEED, realisation=realisation)
    train_per_item = pd.Series(labels == 0).groupby(ratings["item"]).sum().to_dict()
    assert train_per_item == {10: 2, 20: 1, 30: 0, 40: 0, 50: 3}


@pytest.mark.parametrize("realisation", ["1.2.1", "2021"])
def test_groups_by_user_and_leaves_global_rng_alone(ratings, realisation):
    before = np.random.get_state()[1].copy()
    labels = stratified_labels(ratings, ratio=0.75, filter_by="user", seed=SEED, realisation=realisation)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    # users 1..4 have 3, 3, 2, 3 ratings -> round(2.25)=2, 2, round(1.5)=2, 2 in training; users 5, 6 one each
    train_per_user = pd.Series(labels == 0).groupby(ratings["user"]).sum().to_dict()
    assert train_per_user == {1: 2, 2: 2, 3: 2, 4: 2, 5: 1, 6: 1}


def test_stratified_split_drops_filtered_rows_and_keeps_the_spec(ratings):
    split = stratified_split(ratings, ratio=0.75, min_rating=2, filter_by="item", seed=SEED, realisation="2021")
    # labels as in the test above: rows 6, 9, 12 to test; row 12 is user 5's only rating, so the cold rule
    # drops it (counted), and rows 3 and 7 (items 30, 40) were filtered out before
    assert len(split.train) == 9 and split.test["timestamp"].tolist() == [6, 9]
    assert split.dropped["test_cold_users"] == 1 and split.dropped["test_cold_items"] == 0
    assert split.spec["realisation"] == "2021" and split.spec["min_rating"] == 2
    assert not split.train["item"].isin([30, 40]).any()


@pytest.mark.parametrize("kwargs, message", [
    ({"filter_by": "rating"}, "filter_by"),
    ({"realisation": "2022"}, "realisation"),
    ({"ratio": 0.0}, "ratio"),
    ({"ratio": 1.0}, "ratio"),
    ({"ratio": 1.5}, "ratio"),
    ({"min_rating": 0}, "min_rating"),
    ({"min_rating": 1.5}, "min_rating"),
])
def test_bad_arguments_raise(ratings, kwargs, message):
    with pytest.raises(ValueError, match=message):
        stratified_labels(ratings, **kwargs)
