"""Descriptive statistics (recsys_study.data.explore) on hand-computed frames."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_study.data.explore import genre_counts, gini, long_tail_summary, rating_summary, ratings_per_year


@pytest.mark.parametrize("values, expected", [
    ([1, 1, 1, 1], 0.0),
    ([0, 0, 0, 1], 0.75),       # (2*4-4-1)*1 / (4*1)
    ([1, 2, 3], 2 / 9),         # ((-2)*1 + 0*2 + 2*3) / (3*6) = 4/18
    ([3, 1, 2], 2 / 9),         # order does not matter
    ([], 0.0),
    ([0, 0], 0.0),
])
def test_gini_hand_cases(values, expected):
    assert gini(values) == pytest.approx(expected)


def test_gini_matches_mean_absolute_difference_definition():
    # independent formula: G = sum_i sum_j |x_i - x_j| / (2 n^2 mean)
    x = [5, 0, 2, 9, 1, 1, 7]
    n, mean = len(x), sum(x) / len(x)
    expected = sum(abs(a - b) for a in x for b in x) / (2 * n * n * mean)
    assert gini(x) == pytest.approx(expected)


def _hand_frame() -> pd.DataFrame:
    # item a: 4 ratings, b: 2, c: 1, d: 1 -> 8 ratings on 4 items; users u1: 4, u2: 2, u3: 1, u4: 1
    rows = [("u1", "a"), ("u1", "b"), ("u1", "c"), ("u1", "d"), ("u2", "a"), ("u2", "b"), ("u3", "a"),
            ("u4", "a")]
    return pd.DataFrame(rows, columns=["user", "item"]).assign(
        rating=[5, 4, 3, 2, 5, 4, 1, 5.0], timestamp=[0, 0, 0, 0, 0, 0, 0, 0])


def test_long_tail_summary_on_hand_frame():
    s = long_tail_summary(_hand_frame(), head_frac=0.25)
    assert s["head_frac"] == 0.25
    assert s["head_share"] == pytest.approx(4 / 8)             # 1 head item (a) holds 4 of 8
    assert s["single_rating_items"] == pytest.approx(2 / 4)    # c and d
    assert s["median_ratings_per_user"] == pytest.approx(1.5)  # counts 4, 2, 1, 1
    assert s["median_ratings_per_item"] == pytest.approx(1.5)
    # counts [1, 1, 2, 4]: ((-3)*1 + (-1)*1 + 1*2 + 3*4) / (4*8) = 10/32
    assert s["gini_items"] == pytest.approx(10 / 32)
    assert s["gini_users"] == pytest.approx(10 / 32)


def test_long_tail_summary_head_rounds_to_at_least_one_item():
    s = long_tail_summary(_hand_frame(), head_frac=0.01)
    assert s["head_share"] == pytest.approx(4 / 8)
    s = long_tail_summary(_hand_frame(), head_frac=0.5)        # a and b: 6 of 8
    assert s["head_share"] == pytest.approx(6 / 8)


def test_rating_summary_counts_and_shares():
    out = rating_summary(_hand_frame())
    assert out["rating"].tolist() == [1, 2, 3, 4, 5]
    assert out["count"].tolist() == [1, 1, 1, 2, 3]
    assert out["share"].tolist() == pytest.approx([1 / 8, 1 / 8, 1 / 8, 2 / 8, 3 / 8])


def test_genre_counts_counts_movies_and_ratings_per_genre():
    items = pd.DataFrame({"item": ["a", "b", "c", "d"], "title": list("ABCD"),
                          "genres": [["Drama", "War"], ["Drama"], [], ["Comedy"]]})
    out = genre_counts(_hand_frame(), items).set_index("genre")
    assert out.loc["Drama"].tolist() == [2, 6]    # a (4 ratings) + b (2)
    assert out.loc["War"].tolist() == [1, 4]
    assert out.loc["Comedy"].tolist() == [1, 1]
    assert list(out.index)[0] == "Drama"


def test_ratings_per_year_from_unix_seconds():
    df = pd.DataFrame({"user": [1, 1, 2], "item": [1, 2, 1], "rating": [2.0, 4.0, 5.0],
                       "timestamp": [946684800, 946684800 + 86400, 978307200]})  # 2000-01-01, 2000-01-02, 2001-01-01
    out = ratings_per_year(df)
    assert out["year"].tolist() == [2000, 2001]
    assert out["ratings"].tolist() == [2, 1]
    assert out["mean_rating"].tolist() == pytest.approx([3.0, 5.0])
