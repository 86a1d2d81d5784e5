"""Validation of interaction and item frames: each error names the problem (recsys_study.data.schema)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_study.data.schema import (
    DataValidationError,
    require_columns,
    validate_interactions,
    validate_items,
)


def _frame(**overrides) -> pd.DataFrame:
    base = {"user": [1, 1, 2], "item": [10, 20, 10], "rating": [4.0, 3.5, 5.0], "timestamp": [100, 200, 300]}
    base.update(overrides)
    return pd.DataFrame(base)


def test_valid_frame_passes_unchanged_with_float_ratings():
    out = validate_interactions(_frame())
    pd.testing.assert_frame_equal(out, _frame())
    assert out["rating"].dtype == np.float64


def test_integer_ratings_become_float():
    out = validate_interactions(_frame(rating=[4, 3, 5]), rating_scale=(1, 5))
    assert out["rating"].tolist() == [4.0, 3.0, 5.0]
    assert out["rating"].dtype == np.float64


def test_missing_column_is_named():
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['rating'\]"):
        validate_interactions(_frame().drop(columns="rating"), source="ml")


def test_missing_rating_allowed_for_implicit_feedback():
    out = validate_interactions(_frame().drop(columns="rating"), require_rating=False)
    assert list(out.columns) == ["user", "item", "timestamp"]


def test_require_columns_names_every_missing_column_and_source():
    with pytest.raises(DataValidationError) as err:
        require_columns(pd.DataFrame({"a": [1]}), ["user", "item"], source="my file")
    assert "my file" in str(err.value) and "'user'" in str(err.value) and "'item'" in str(err.value)


def test_extra_column_is_named_and_allowed_on_request():
    df = _frame(genre=["a", "b", "c"])
    with pytest.raises(DataValidationError, match=r"unexpected column\(s\) \['genre'\]"):
        validate_interactions(df)
    assert "genre" in validate_interactions(df, allow_extra=True).columns


@pytest.mark.parametrize("col", ["user", "item"])
def test_null_ids_are_counted_and_named(col):
    values = [1.0, None, 2.0]
    with pytest.raises(DataValidationError, match=rf"1 row\(s\) with a null '{col}' id"):
        validate_interactions(_frame(**{col: values}))


@pytest.mark.parametrize("bad", [0.0, 5.5, -1.0])
def test_rating_outside_scale_is_reported_with_the_scale(bad):
    with pytest.raises(DataValidationError, match=r"1 value\(s\) of column .rating. outside the declared scale \[0\.5, 5\.0\]"):
        validate_interactions(_frame(rating=[4.0, bad, 5.0]))


def test_scale_bounds_are_inclusive_and_none_disables_the_check():
    validate_interactions(_frame(rating=[0.5, 5.0, 3.0]))
    out = validate_interactions(_frame(rating=[100.0, -3.0, 0.0]), rating_scale=None)
    assert out["rating"].tolist() == [100.0, -3.0, 0.0]


def test_non_numeric_rating_is_quoted():
    with pytest.raises(DataValidationError, match=r"1 non-numeric rating\(s\), e\.g\. 'good'"):
        validate_interactions(_frame(rating=[4.0, "good", 5.0]))


def test_missing_rating_value_is_reported():
    with pytest.raises(DataValidationError, match=r"1 missing rating\(s\)"):
        validate_interactions(_frame(rating=[4.0, None, 5.0]))


def test_missing_timestamp_is_reported():
    with pytest.raises(DataValidationError, match=r"1 missing timestamp\(s\)"):
        validate_interactions(_frame(timestamp=[1.0, None, 3.0]))


def test_duplicates_last_keeps_the_latest_by_timestamp_not_row_order():
    # the later row in the file is the OLDER rating; "last" means latest in time
    df = pd.DataFrame({"user": [1, 2, 1], "item": [10, 10, 10], "rating": [2.0, 3.0, 4.0],
                       "timestamp": [500, 100, 200]})
    out = validate_interactions(df, duplicates="last")
    assert len(out) == 2
    assert out.loc[out["user"] == 1, "rating"].tolist() == [2.0]
    assert out.loc[out["user"] == 1, "timestamp"].tolist() == [500]


def test_duplicates_last_breaks_time_ties_by_row_order_and_keeps_original_order():
    df = pd.DataFrame({"user": [3, 1, 1, 2], "item": [7, 10, 10, 7], "rating": [1.0, 2.0, 4.0, 5.0],
                       "timestamp": [9, 100, 100, 9]})
    out = validate_interactions(df, duplicates="last")
    assert out[["user", "item", "rating"]].values.tolist() == [[3, 7, 1.0], [1, 10, 4.0], [2, 7, 5.0]]


def test_duplicates_last_without_timestamp_keeps_last_row():
    df = pd.DataFrame({"user": [1, 1], "item": [10, 10], "rating": [2.0, 4.0]})
    out = validate_interactions(df, duplicates="last")
    assert out["rating"].tolist() == [4.0]
    assert out.attrs["duplicates_merged"] == 1  # merged on request, and counted


def test_duplicates_error_names_the_pair():
    df = _frame(user=[1, 1, 1], item=[10, 10, 20])
    with pytest.raises(DataValidationError, match=r"1 duplicate \(user, item\) pair\(s\), e\.g\. \{'user': 1, 'item': 10\}"):
        validate_interactions(df, duplicates="error")


def test_unknown_duplicates_policy_is_rejected():
    with pytest.raises(DataValidationError, match=r"unknown duplicates policy 'first'"):
        validate_interactions(_frame(), duplicates="first")


def test_empty_data_is_rejected():
    with pytest.raises(DataValidationError, match="the data is empty"):
        validate_interactions(_frame().iloc[:0], source="ratings.csv")
    with pytest.raises(DataValidationError, match="the data is empty"):
        validate_interactions(None)


def test_validation_error_is_a_value_error():
    assert issubclass(DataValidationError, ValueError)


def test_validate_items_turns_pipe_strings_into_genre_lists():
    items = pd.DataFrame({"item": [1, 2, 3, 4], "title": list("abcd"),
                          "genres": ["Action|Comedy", "(no genres listed)", None, ["Drama"]]})
    out = validate_items(items)
    assert out["genres"].tolist() == [["Action", "Comedy"], [], [], ["Drama"]]


def test_validate_items_errors():
    with pytest.raises(DataValidationError, match="items table is empty"):
        validate_items(pd.DataFrame({"item": [], "title": [], "genres": []}))
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['genres'\]"):
        validate_items(pd.DataFrame({"item": [1], "title": ["a"]}))
    with pytest.raises(DataValidationError, match=r"1 item\(s\) with a null id"):
        validate_items(pd.DataFrame({"item": [1, None], "title": ["a", "b"], "genres": ["", ""]}))
    with pytest.raises(DataValidationError, match=r"1 duplicate item id\(s\), e\.g\. 2"):
        validate_items(pd.DataFrame({"item": [2, 2], "title": ["a", "b"], "genres": ["", ""]}))


def test_duplicates_are_refused_by_default_naming_a_pair_with_integer_ids():
    df = pd.DataFrame({"user": [7, 7, 8], "item": [3, 3, 3], "rating": [2.5, 4.0, 1.0]})
    with pytest.raises(DataValidationError) as err:
        validate_interactions(df, source="ratings.csv")
    text = str(err.value)
    assert text.startswith("ratings.csv: 1 duplicate (user, item) pair(s)")
    assert "{'user': 7, 'item': 3}" in text  # ids print as the integers they are, not 7.0
    assert "duplicates='last'" in text


def test_rating_outside_the_scale_names_the_column_an_integer_example_and_the_parameter():
    df = pd.DataFrame({"user": [1, 2], "item": [10, 11], "rating": [4.0, 9.5]})
    with pytest.raises(DataValidationError) as err:
        validate_interactions(df, source="ratings.csv")
    text = str(err.value)
    assert "column 'rating'" in text and "{'user': 2, 'item': 11, 'rating': 9.5}" in text
    assert "rating_scale=(low, high)" in text and "load_movielens" in text


# ------------------------------------------------------------ the checks every API door runs


def test_duplicates_error_is_one_line_with_the_count_the_rows_their_ratings_and_every_merge():
    df = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": [10, 10, 10, 20, 20], "rating": [1.0, 4.0, 5.0, 3.0, 4.0]})
    with pytest.raises(DataValidationError) as err:
        validate_interactions(df, source="fit(train)")
    assert str(err.value) == (
        "fit(train): 1 duplicate (user, item) pair(s), e.g. {'user': 1, 'item': 10} (rows [0, 1], ratings "
        "[1.0, 4.0]); deduplicate them, or merge them on request: duplicates='last' keeps the latest rating, "
        "'mean' or 'sum' combines them.")


@pytest.mark.parametrize("policy, expected", [("mean", 2.5), ("sum", 5.0), ("last", 4.0)])
def test_duplicates_merged_on_request_say_how_and_how_many(policy, expected, caplog):
    df = pd.DataFrame({"user": [1, 1, 2], "item": [10, 10, 10], "rating": [1.0, 4.0, 5.0], "timestamp": [5, 9, 7]})
    before = df.copy()
    with caplog.at_level("INFO", logger="recsys_study.data.schema"):
        out = validate_interactions(df, duplicates=policy, rating_scale=None, copy=False)
    assert out[["user", "item", "rating", "timestamp"]].values.tolist() == [[1, 10, expected, 9], [2, 10, 5.0, 7]]
    assert out.attrs["duplicates_merged"] == 1
    assert f"merged 1 duplicate row(s) of (user, item) pairs by duplicates={policy!r}" in caplog.text
    pd.testing.assert_frame_equal(df, before)  # the caller's frame is untouched


def test_implicit_duplicates_merge_to_one_row_per_pair():
    df = pd.DataFrame({"user": [1, 1, 2], "item": [10, 10, 10]})
    for policy in ("mean", "sum", "last"):
        out = validate_interactions(df, duplicates=policy, require_rating=False)
        assert out.values.tolist() == [[1, 10], [2, 10]]


def test_nan_rating_names_the_column_an_example_row_and_the_fix():
    df = pd.DataFrame({"user": [1, 2, 2], "item": [10, 10, 20], "rating": [4.0, np.nan, 3.0]})
    with pytest.raises(DataValidationError) as err:
        validate_interactions(df, source="fit(train)", rating_scale=None, copy=False)
    assert str(err.value) == (
        "fit(train): 1 missing rating(s) (NaN in column 'rating'), e.g. {'user': 2, 'item': 10, 'rating': nan} "
        "(row 1); drop those rows (df.dropna(subset=['rating'])) or fill them; for implicit feedback drop the "
        "'rating' column.")


def test_without_a_scale_any_finite_rating_passes_and_infinity_does_not():
    ok = pd.DataFrame({"user": [1, 2], "item": [10, 10], "rating": [-1.0, 7.0]})
    assert validate_interactions(ok, rating_scale=None, copy=False) is ok
    with pytest.raises(DataValidationError, match=r"^x: 1 infinite value\(s\) of column 'rating', e\.g\. "
                       r"\{'user': 2, 'item': 10, 'rating': inf\} \(row 1\); ratings must be finite"):
        validate_interactions(ok.assign(rating=[1.0, np.inf]), source="x", rating_scale=None)


def test_a_scale_refuses_seven_and_minus_one_naming_a_row_and_the_parameter():
    df = pd.DataFrame({"user": [1, 2, 3], "item": [10, 10, 10], "rating": [3.0, 7.0, -1.0]})
    with pytest.raises(DataValidationError) as err:
        validate_interactions(df, source="fit(train)", rating_scale=(1, 5), copy=False)
    assert str(err.value).startswith("fit(train): 2 value(s) of column 'rating' outside the declared scale [1, 5], "
                                     "e.g. {'user': 2, 'item': 10, 'rating': 7.0} (row 1); fix the data, or pass")


def test_a_frame_that_passes_is_returned_itself_without_a_copy():
    df = _frame().assign(segment=["a", "b", "c"])
    assert validate_interactions(df, allow_extra=True, copy=False) is df
    converted = validate_interactions(_frame(rating=["4", "3.5", "5"]), copy=False)
    assert converted["rating"].tolist() == [4.0, 3.5, 5.0]


@pytest.mark.parametrize("ids, shown", [([1, 2, "x"], "'x' in {'user': 'x', 'item': 10, 'rating': 4.0} (row 2)"),
                                        (["a", "b", 3], "3 in {'user': 3, 'item': 10, 'rating': 4.0} (row 2)")])
def test_ids_mixing_numbers_and_text_are_refused_with_the_odd_row(ids, shown):
    df = pd.DataFrame({"user": ids, "item": [10, 20, 10], "rating": [4.0, 3.0, 4.0]})
    with pytest.raises(DataValidationError) as err:
        validate_interactions(df, source="fit(train)", copy=False)
    text = str(err.value)
    assert text.startswith("fit(train): column 'user' mixes numeric and non-numeric ids: 1 of 3 ")
    assert shown in text and "astype(str)" in text and "\n" not in text


def test_ids_of_one_kind_pass_text_or_numbers():
    for ids in (["a", "b", "c"], ["1", "2", "abc"], [1, 2, 3], [1.0, 2.0, 3.0]):
        validate_interactions(pd.DataFrame({"user": ids, "item": [10, 20, 10], "rating": [4.0, 3.0, 4.0]}))


def test_a_source_of_numeric_ids_refuses_one_text_id_as_pandas_reads_it():
    items = pd.DataFrame({"item": ["1", "abc", "2"], "title": ["A", "B", "C"], "genres": ["", "", ""]})
    with pytest.raises(DataValidationError) as err:
        validate_items(items, source="movies.csv", numeric_ids=True)
    assert str(err.value) == (
        "movies.csv: column 'item' mixes numeric and non-numeric ids: 1 of 3 are not numbers while the other ids "
        "are, e.g. 'abc' in {'item': 'abc', 'title': 'B'} (row 1); ids match by value and type (10 and '10' "
        "differ): fix or remove that row of the source.")
    assert validate_items(items).item.tolist() == ["1", "abc", "2"]  # text ids of a source that has them


def test_a_dataset_given_for_a_frame_is_named():
    from recsys_study.data import Dataset

    with pytest.raises(DataValidationError, match=r"got Dataset \(a Dataset: pass dataset\.interactions\)"):
        validate_interactions(Dataset("toy", _frame()), source="fit(train)")
