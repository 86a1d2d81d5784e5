"""A user's campaign file: read from CSV and parquet, and every fault named with its column, a row and the fix."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.data import DataValidationError
from recsys_study.data.campaign import load_campaign, validate_campaign


def campaign(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"customer": np.arange(n), "treatment": np.arange(n) % 2,
                         "outcome": (rng.random(n) < 0.4).astype(int), "recency": rng.integers(0, 10, n),
                         "spend": rng.gamma(2.0, 10.0, n)})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_campaign_file_round_trips(tmp_path, suffix):
    df = campaign()
    path = tmp_path / f"mine{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path)
    data = load_campaign(path, features=["recency", "spend"])
    assert data.features == ["recency", "spend"] and data.source == path.name
    np.testing.assert_array_equal(data.t, df["treatment"])
    np.testing.assert_array_equal(data.y, df["outcome"])
    np.testing.assert_allclose(data.x, df[["recency", "spend"]].to_numpy(dtype=float))
    assert data.meta["treated_share"] == 0.5


def test_default_features_are_the_other_numeric_columns_and_text_labels_are_read():
    df = campaign().assign(treatment=lambda d: np.where(d["treatment"] == 1, "Treatment", "control"),
                           outcome=lambda d: np.where(d["outcome"] == 1, "yes", "no"), region="north")
    data = load_campaign(df)
    assert data.features == ["customer", "recency", "spend"]
    assert set(data.frame["treatment"]) == {0, 1} and set(data.frame["outcome"]) <= {0, 1}


def _message(df, **kwargs):
    with pytest.raises(DataValidationError) as err:
        validate_campaign(df, **kwargs)
    text = str(err.value)
    assert "\n" not in text
    return text


def test_missing_columns_are_named():
    text = _message(campaign().drop(columns="outcome"))
    assert "missing column(s) ['outcome']" in text and "Rename" in text
    assert "missing column(s) ['age']" in _message(campaign(), features=["age"])


def test_a_non_binary_treatment_names_the_values_a_row_and_the_fix():
    df = campaign()
    df.loc[5, "treatment"] = 2
    text = _message(df)
    assert "treatment column 'treatment' must be binary" in text and "['2']" in text and "(row 5)" in text
    assert "code the contacted customers 1 and the control group 0" in text


def test_a_non_binary_outcome_names_the_fix():
    df = campaign()
    df["outcome"] = df["spend"]  # revenue, not a response
    text = _message(df, features=["recency"])
    assert "outcome column 'outcome' must be binary" in text and "(df[col] > 0).astype(int)" in text


def test_missing_values_are_named_with_their_row():
    df = campaign().astype({"treatment": float})
    df.loc[3, "treatment"] = np.nan
    assert "1 missing value(s) in the treatment column 'treatment'" in _message(df) and "(row 3)" in _message(df)
    df = campaign().astype({"spend": float})
    df.loc[7, "spend"] = np.nan
    text = _message(df)
    assert "missing value(s) in feature 'spend'" in text and "(row 7)" in text and "fillna" in text


def test_text_in_a_feature_is_refused_with_the_encoding_fix():
    df = campaign().astype({"recency": object})
    df.loc[2, "recency"] = "recent"
    text = _message(df, features=["recency"])
    assert "feature 'recency' has 1 non-numeric value(s), e.g. 'recent' in row 2" in text and "get_dummies" in text


def test_a_single_arm_is_refused_because_uplift_needs_a_control_group():
    df = campaign().assign(treatment=1)
    text = _message(df)
    assert "every one of the 60 customers is in the treated group" in text and "control group" in text
    small = campaign(n=30)
    assert "too few customers" in _message(small)


def test_a_feature_that_is_the_outcome_is_refused():
    assert "both a feature and the treatment or outcome" in _message(campaign(), features=["outcome", "spend"])


def test_files_that_cannot_be_read_are_named(tmp_path):
    with pytest.raises(DataValidationError, match="does not exist"):
        load_campaign(tmp_path / "nothing.csv")
    odd = tmp_path / "campaign.xlsx"
    odd.write_text("x")
    with pytest.raises(DataValidationError, match=r"unknown format '\.xlsx'; save it as \.csv or \.parquet"):
        load_campaign(odd)
    empty = tmp_path / "empty.csv"
    campaign().iloc[:0].to_csv(empty, index=False)
    with pytest.raises(DataValidationError, match="the campaign is empty"):
        load_campaign(empty)
