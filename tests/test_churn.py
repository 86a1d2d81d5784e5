"""Churn models: leakage guard, the published AUC anchor, and the campaign measures by hand."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.data import load_telco_churn
from recsys_study.data.schema import DataValidationError
from recsys_study.loyalty import campaign, churn


@pytest.fixture(scope="module")
def telco():
    return churn.churn_xy(load_telco_churn())


def test_feature_list_has_no_target_or_identifier():
    churn.check_no_leakage(churn.FEATURES)
    assert "churn" not in churn.FEATURES and "customer" not in churn.FEATURES
    assert set(churn.NUMERIC).isdisjoint(churn.CATEGORICAL)


@pytest.mark.parametrize("bad", ["churn", "churn_flag", "days_since_churn", "customer"])
def test_leakage_guard_rejects_target_derived_columns_and_ids(bad):
    with pytest.raises(DataValidationError, match=bad):
        churn.check_no_leakage([*churn.FEATURES, bad])


@pytest.mark.parametrize("bad", ["id", "row_id", "Customer-ID"])
def test_leakage_guard_rejects_id_columns_by_name(bad):
    with pytest.raises(DataValidationError, match=bad):
        churn.check_no_leakage([*churn.FEATURES, bad])


def test_leakage_guard_looks_at_the_values_not_only_the_names():
    # before: a column named left_company (the target under another name) or a row number passed the guard
    df = load_telco_churn()
    leaked = df.assign(left_company=np.where(df["churn"] == 1, "yes", "no"))
    with pytest.raises(DataValidationError, match=r"'left_company' reproduces the target 'churn'"):
        churn.churn_xy(leaked, features=[*churn.FEATURES, "left_company"])
    numbered = df.assign(row_number=np.arange(len(df)))
    with pytest.raises(DataValidationError, match=r"'row_number' is unique in every row \(an identifier"):
        churn.churn_xy(numbered, features=[*churn.FEATURES, "row_number"])
    # corr(10 y + e, y) = 10 sd(y) / sqrt(100 var(y) + 1) with sd(e) = 1; churn share 0.265: 4.41 / 4.53 = 0.974
    noisy = df.assign(score=df["churn"] * 10.0 + np.random.default_rng(0).normal(0, 1.0, len(df)))
    with pytest.raises(DataValidationError, match=r"'score' is almost the target 'churn' \(correlation 0\.97"):
        churn.churn_xy(noisy, features=[*churn.FEATURES, "score"])
    x, y = churn.churn_xy(df)  # the real feature list passes the value checks
    assert list(x.columns) == list(churn.FEATURES) and set(y) == {0, 1}


def test_churn_xy_names_missing_columns():
    df = load_telco_churn().drop(columns="tenure")
    with pytest.raises(DataValidationError, match="tenure"):
        churn.churn_xy(df)


def test_logistic_cv_auc_meets_the_published_anchor_without_leakage(telco):
    x, y = telco
    folds, oof = churn.cross_validate(x, y, ["logistic"], n_folds=5, seed=42)
    auc = folds["roc_auc"].mean()
    assert 0.83 <= auc < 0.90  # published ~0.84; above 0.90 would mean leakage
    assert len(folds) == 5 and oof["fold"].nunique() == 5
    assert churn.binary_metrics(y, oof["logistic"].to_numpy())["roc_auc"] == pytest.approx(auc, abs=0.01)


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(ValueError, match="logistic"):
        churn.make_model("svm")


def test_logistic_drivers_have_the_known_signs(telco):
    x, y = telco
    model = churn.make_model("logistic").fit(x, y)
    drivers = churn.logistic_drivers(model).set_index("feature")
    assert drivers.loc["tenure", "coefficient"] < 0  # longer customers churn less
    assert drivers.loc["contract_Two year", "odds_ratio"] < drivers.loc["contract_Month-to-month", "odds_ratio"]
    perm = churn.permutation_drivers(model, x.iloc[:1500], y[:1500], n_repeats=2, seed=0)
    assert set(perm["feature"]) == set(x.columns)


def test_binary_metrics_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    m = churn.binary_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert m["pr_auc"] == pytest.approx(0.5 * 1.0 + 0.5 * (2 / 3))


def test_decile_table_and_profit_curve_by_hand():
    y = [1, 1, 0, 0, 1, 0]
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    table = campaign.decile_table(y, p, n_bins=3)
    assert table["rate"].tolist() == [1.0, 0.0, 0.5]
    assert table["lift"].tolist() == pytest.approx([2.0, 0.0, 1.0])
    assert table["cumulative_capture"].tolist() == pytest.approx([2 / 3, 2 / 3, 1.0])
    curve = campaign.profit_curve(y, p, contact_cost=1.0, value=10.0, points=6)
    assert curve["profit"].tolist() == pytest.approx([0, 9, 18, 17, 16, 25, 24])
    assert campaign.best_targeting(curve) == pytest.approx({"best_share": 5 / 6, "best_profit": 25.0,
                                                            "profit_all": 24.0})
    gains = campaign.cumulative_gains(y, p, points=3)
    assert gains["positives_captured"].tolist() == pytest.approx([0, 2 / 3, 2 / 3, 1.0])


def test_expected_response_against_random_targeting():
    out = campaign.expected_response([0.1, 0.9, 0.1, 0.5], top_share=0.5, contact_cost=1.0, value=10.0)
    assert out["contacted"] == 2
    assert out["expected_responders"] == pytest.approx(1.4)
    assert out["random_responders"] == pytest.approx(0.8)
    assert out["expected_profit"] == pytest.approx(12.0)
    assert out["lift"] == pytest.approx(1.75)


def test_calibration_table_of_perfectly_calibrated_scores():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    y = rng.uniform(size=20000) < p
    table = campaign.calibration_table(y, p)
    np.testing.assert_allclose(table["observed"], table["predicted"], atol=0.03)
