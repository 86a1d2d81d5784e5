"""Frames given straight to the public API are checked where they enter: ``fit``, ``compare`` /
``evaluate``, the MovieLens loaders. Each fault gets one line naming what, where and the fix, and
the caller's frames are never modified."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

import recsys_study as rs
from recsys_study.data import DataValidationError, Dataset
from recsys_study.data.synthetic import interactions


def _one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


@pytest.fixture(scope="module")
def split():
    return rs.make_split(interactions(60, 40, 900, seed=3), "user_stratified", test_frac=0.25, seed=1)


def _with_train(split, train):
    return rs.Split(train=train, test=split.test, spec=split.spec)


def _compare(split, **kwargs):
    return rs.compare({"most_popular": rs.make_model("most_popular")}, split, k=5, metrics=("ndcg",), log=False,
                      **kwargs)


# ------------------------------------------------------------------ fit

REPRO = {"user": [1, 1, 2, 2, 3], "item": [10, 10, 10, 20, 20], "rating": [1.0, 4.0, 5.0, 3.0, 4.0]}


def test_fit_refuses_a_duplicate_pair_instead_of_summing_one_and_four_stars_into_five():
    train = pd.DataFrame(REPRO)
    before = train.copy()
    with pytest.raises(DataValidationError) as err:
        rs.make_model("bias").fit(train)
    assert _one_line(err) == (
        "Bias.fit(train): 1 duplicate (user, item) pair(s), e.g. {'user': 1, 'item': 10} (rows [0, 1], ratings "
        "[1.0, 4.0]); deduplicate them, or merge them on request: duplicates='last' keeps the latest rating, "
        "'mean' or 'sum' combines them.")
    pd.testing.assert_frame_equal(train, before)


@pytest.mark.parametrize("policy, value", [("mean", 2.5), ("last", 4.0), ("sum", 5.0)])
def test_fit_merges_duplicates_on_request_and_says_so(policy, value, caplog):
    train = pd.DataFrame(REPRO)
    before = train.copy()
    with caplog.at_level(logging.INFO, logger="recsys_study.data.schema"):
        model = rs.make_model("bias").fit(train, duplicates=policy)
    assert model.user_items_[0, 0] == value
    assert f"Bias.fit(train): merged 1 duplicate row(s) of (user, item) pairs by duplicates={policy!r}" in caplog.text
    pd.testing.assert_frame_equal(train, before)


@pytest.mark.parametrize("name", ["bias", "item_knn"])
def test_fit_refuses_nan_ratings_naming_the_column_a_row_and_the_fix(name):
    train = pd.DataFrame({"user": [1, 1, 2, 3], "item": [10, 20, 10, 20], "rating": [4.0, np.nan, 3.0, 5.0]})
    before = train.copy()
    with pytest.raises(DataValidationError) as err:
        rs.make_model(name).fit(train)
    cls = type(rs.make_model(name)).__name__
    assert _one_line(err) == (
        f"{cls}.fit(train): 1 missing rating(s) (NaN in column 'rating'), e.g. {{'user': 1, 'item': 20, "
        "'rating': nan} (row 1); drop those rows (df.dropna(subset=['rating'])) or fill them; for implicit "
        "feedback drop the 'rating' column.")
    pd.testing.assert_frame_equal(train, before)


def test_fit_refuses_ratings_outside_a_given_scale_and_accepts_any_finite_rating_without_one():
    train = pd.DataFrame({"user": [1, 2, 3], "item": [10, 10, 20], "rating": [7.0, -1.0, 3.0]})
    with pytest.raises(DataValidationError) as err:
        rs.make_model("bias").fit(train, rating_scale=(1, 5))
    assert _one_line(err).startswith(
        "Bias.fit(train): 2 value(s) of column 'rating' outside the declared scale [1, 5], e.g. {'user': 1, "
        "'item': 10, 'rating': 7.0} (row 0); fix the data, or pass the data's own scale as rating_scale=(low, high)")
    assert rs.make_model("bias").fit(train).global_mean_ == pytest.approx(3.0)
    with pytest.raises(DataValidationError, match=r"^Bias\.fit\(train\): 1 infinite value\(s\) of column 'rating'"):
        rs.make_model("bias").fit(train.assign(rating=[np.inf, 1.0, 2.0]))


def test_fit_refuses_ids_of_mixed_types_with_the_row():
    train = pd.DataFrame({"user": [1, 2, 3, "x"], "item": [10, 10, 20, 20]})
    with pytest.raises(DataValidationError) as err:
        rs.make_model("ease").fit(train)
    assert _one_line(err) == (
        "EASE.fit(train): column 'user' mixes numeric and non-numeric ids: 1 of 4 are not numbers while the other "
        "ids are, e.g. 'x' in {'user': 'x', 'item': 20} (row 3); ids match by value and type (10 and '10' differ): "
        "fix that row, or give every id one type (df['user'] = df['user'].astype(str)).")


def test_fit_refuses_an_items_frame_whose_ids_cannot_match_train():
    train = pd.DataFrame({"user": [1, 1, 2], "item": [10, 20, 10], "rating": [4.0, 3.0, 5.0]})
    items = pd.DataFrame({"item": ["10", "20"], "title": ["a", "b"], "genres": [["Drama"], ["Comedy"]]})
    with pytest.raises(DataValidationError) as err:
        rs.make_model("content_profile").fit(train, items)
    assert _one_line(err) == (
        "ContentProfile.fit(items): the items frame's ids are text (e.g. '10') but train's are numbers (e.g. 10), "
        "so no item would match; give both frames the same id type.")


def test_fit_names_a_dataset_passed_for_a_frame():
    with pytest.raises(DataValidationError, match=r"^Bias\.fit\(train\): expected a DataFrame .* got Dataset "
                                                  r"\(a Dataset: pass dataset\.interactions\)\.$"):
        rs.make_model("bias").fit(Dataset("toy", pd.DataFrame(REPRO)))


# ------------------------------------------------------------------ compare / evaluate

def test_compare_checks_the_split_it_is_given(split):
    bad = pd.concat([split.train, split.train.iloc[[0]]], ignore_index=True)
    before = bad.copy()
    with pytest.raises(DataValidationError, match=r"^compare\(split\.train\): 1 duplicate \(user, item\) pair\(s\)"):
        _compare(_with_train(split, bad))
    merged = _compare(_with_train(split, bad), duplicates="mean")
    assert merged.models["most_popular"].user_items_.nnz == len(split.train)
    pd.testing.assert_frame_equal(bad, before)
    nan = split.train.assign(rating=split.train["rating"].where(split.train.index != 3))
    with pytest.raises(DataValidationError, match=r"^compare\(split\.train\): 1 missing rating\(s\) \(NaN in "
                                                  r"column 'rating'\), e\.g\. .* \(row 3\); drop those rows"):
        rs.evaluate(rs.make_model("most_popular"), _with_train(split, nan), k=5, metrics=("ndcg",), log=False)


def test_compare_takes_the_scale_from_the_dataset_or_the_argument(split):
    out = split.train.assign(rating=split.train["rating"].where(split.train.index != 0, 7.0))
    out.loc[1, "rating"] = -1.0
    data = Dataset("toy", split.train, rating_scale=(1.0, 5.0))
    for kwargs in ({"dataset": data}, {"rating_scale": (1, 5)}):
        with pytest.raises(DataValidationError, match=r"^compare\(split\.train\): 2 value\(s\) of column 'rating' "
                                                      r"outside the declared scale \[1(\.0)?, 5(\.0)?\]"):
            _compare(_with_train(split, out), **kwargs)
    assert len(_compare(_with_train(split, out)).summary) == 1  # no scale known: finite values pass


def test_compare_refuses_an_empty_test_part_and_test_ids_of_another_type(split):
    empty = rs.Split(train=split.train, test=split.test.iloc[:0], spec=split.spec)
    with pytest.raises(DataValidationError) as err:
        _compare(empty)
    assert _one_line(err) == (
        "compare: the split's test part is empty (0 rows), so no model can be scored; make the split again with "
        "a larger test part, or from data whose users have more than one rating.")
    text_ids = rs.Split(train=split.train, test=split.test.assign(item=split.test["item"].astype(str)), spec=split.spec)
    with pytest.raises(DataValidationError, match=r"^compare: split\.train's 'item' ids are numbers .* but "
                                                  r"split\.test's are text .*give both parts one id type\.$"):
        _compare(text_ids)


# ------------------------------------------------------------------ loaders

def _ml_latest(d, movies: str, ratings: str = "userId,movieId,rating,timestamp\n1,1,4.0,5\n1,2,3.0,6\n2,1,5.0,7\n"):
    d.mkdir(parents=True, exist_ok=True)
    (d / "ratings.csv").write_text(ratings)
    (d / "movies.csv").write_text(movies)
    return d


def test_a_movies_file_with_one_non_numeric_id_is_refused_with_the_row(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_STUDY_CACHE", str(tmp_path / "cache"))
    movies = "movieId,title,genres\n1,Toy Story (1995),Comedy\nabc,Jumanji (1995),Adventure\n2,Heat (1995),Action\n"
    d = _ml_latest(tmp_path / "ml", movies)
    with pytest.raises(DataValidationError) as err:
        rs.load_movielens(d)
    assert _one_line(err) == (
        f"movielens-ml-latest movies ({d / 'movies.csv'}): column 'item' mixes numeric and non-numeric ids: 1 of 3 "
        "are not numbers while the other ids are, e.g. 'abc' in {'item': 'abc', 'title': 'Jumanji'} (row 1); ids "
        "match by value and type (10 and '10' differ): fix or remove that row of the source.")
    assert not list((tmp_path / "cache").glob("*"))  # nothing cached


def test_a_ratings_file_with_one_non_numeric_user_is_refused_with_the_row(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_STUDY_CACHE", str(tmp_path / "cache"))
    movies = "movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Heat (1995),Action\n"
    d = _ml_latest(tmp_path / "ml", movies, "userId,movieId,rating,timestamp\n1,1,4.0,5\nbob,2,3.0,6\n")
    with pytest.raises(DataValidationError, match=r"ratings \(.*ratings\.csv\): column 'user' mixes numeric and "
                                                  r"non-numeric ids: 1 of 2 .* e\.g\. 'bob' in .*\(row 1\)"):
        rs.load_movielens(d)


# ------------------------------------------------------------------ make_split

def test_make_split_refuses_a_duplicate_pair():
    with pytest.raises(DataValidationError, match=r"^make_split\(df\): 1 duplicate \(user, item\) pair\(s\)"):
        rs.make_split(pd.DataFrame(REPRO), "random", test_frac=0.4, seed=0)
