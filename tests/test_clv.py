"""BG/NBD and Gamma-Gamma: hand-made summaries and the published CDNOW parameters."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.data import load_cdnow
from recsys_study.data.schema import DataValidationError
from recsys_study.loyalty import clv


@pytest.fixture(scope="module")
def cdnow():
    log = load_cdnow(sample=True)
    summary = clv.calibration_holdout_summary(log, calibration_end="1997-09-30", observation_end="1998-06-30")
    return log, summary, clv.fit_bgnbd(summary), clv.fit_gamma_gamma(summary)


def test_summary_of_a_hand_made_log():
    log = pd.DataFrame({
        "customer": [1, 1, 1, 1, 1, 2, 3],
        "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-08", "2024-01-15", "2024-01-29",
                                "2024-01-22", "2024-01-25"]),
        "amount": [10.0, 4.0, 6.0, 30.0, 8.0, 5.0, 99.0],
    })
    s = clv.calibration_holdout_summary(log, calibration_end="2024-01-22", observation_end="2024-02-05")
    assert list(s.index) == [1, 2]  # customer 3 first bought after the calibration end
    assert s.loc[1, "frequency_cal"] == 2  # 01-08 (two purchases, one day) and 01-15 are repeats
    assert s.loc[1, "recency_cal"] == pytest.approx(2.0)
    assert s.loc[1, "T_cal"] == pytest.approx(3.0)
    assert s.loc[1, "monetary_cal"] == pytest.approx(20.0)  # mean of 10 and 30
    assert s.loc[1, "frequency_holdout"] == 1 and s.loc[1, "monetary_holdout"] == 8.0
    assert s.loc[2].tolist()[:4] == [0.0, 0.0, 0.0, 0.0]
    assert s["duration_holdout"].iloc[0] == pytest.approx(2.0)


def test_summary_rejects_reversed_periods():
    log = pd.DataFrame({"customer": [1], "date": ["2024-01-01"], "amount": [1.0]})
    with pytest.raises(DataValidationError, match="before"):
        clv.calibration_holdout_summary(log, calibration_end="2024-02-01", observation_end="2024-01-01")


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow):
    _, summary, bgf, _ = cdnow
    assert len(summary) == 2357
    params = clv.model_params(bgf)
    for name, published in clv.FHL_2005_BGNBD.items():
        assert params[name] == pytest.approx(published, abs=0.01), name


def test_gamma_gamma_reproduces_fader_hardie_note(cdnow):
    # Fader & Hardie (2013), "The Gamma-Gamma model of monetary value": p=6.25, q=3.74, gamma=15.44
    params = clv.model_params(cdnow[3])
    assert params["p"] == pytest.approx(6.25, abs=0.02)
    assert params["q"] == pytest.approx(3.74, abs=0.02)
    assert params["v"] == pytest.approx(15.44, abs=0.05)


def test_holdout_predictions_track_actual_purchases_by_frequency(cdnow):
    _, summary, bgf, _ = cdnow
    pred = clv.holdout_predictions(bgf, summary)
    table = clv.conditional_expectations_table(pred)
    assert table["customers"].sum() == 2357
    # FHL Fig. 4: conditional expectations rise with calibration frequency, and stay close
    assert np.all(np.diff(table["predicted"]) > 0)
    assert np.all(np.abs(table["predicted"] - table["actual"]) < 0.5)
    errors = clv.holdout_errors(pred)
    assert errors["total_actual"] == summary["frequency_holdout"].sum()


def test_tracking_curve_ends_at_all_repeat_purchases(cdnow):
    log, summary, bgf, _ = cdnow
    curve = clv.tracking_curve(bgf, log, summary)
    assert curve["actual"].is_monotonic_increasing and curve["expected"].is_monotonic_increasing
    week39 = curve.loc[curve["period"] == 39].iloc[0]
    assert week39["actual"] == summary["frequency_cal"].sum()  # 1997-01-01 + 273 days = 1997-10-01
    assert week39["expected"] == pytest.approx(week39["actual"], rel=0.05)


def test_clv_equals_lifetimes_own_discounted_sum(cdnow):
    _, summary, bgf, ggf = cdnow
    values = clv.customer_lifetime_value(bgf, ggf, summary, months=12, monthly_discount=0.01)
    head = summary.iloc[:50]
    reference = ggf.customer_lifetime_value(bgf, head["frequency_cal"], head["recency_cal"], head["T_cal"],
                                            head["monetary_cal"], time=12, discount_rate=0.01, freq="W")
    np.testing.assert_allclose(values["clv"].iloc[:50], np.asarray(reference), rtol=1e-6)
    undiscounted = clv.customer_lifetime_value(bgf, ggf, summary.iloc[:50], monthly_discount=0.0)
    np.testing.assert_allclose(undiscounted["clv"], undiscounted["expected_spend"] * undiscounted["expected_purchases"])


def test_gamma_gamma_skips_repeaters_with_zero_spend(cdnow):
    summary = cdnow[1].copy()
    repeater = summary.index[summary["frequency_cal"] > 0][0]
    summary.loc[repeater, "monetary_cal"] = 0.0  # e.g. a free or returned CD, as in the master file
    params = clv.model_params(clv.fit_gamma_gamma(summary))
    assert params["p"] == pytest.approx(6.25, abs=0.2)


def test_next_period_value_and_the_conclusion_are_built_from_the_model(cdnow):
    _, summary, bgf, ggf = cdnow
    from recsys_study.loyalty import btyd

    model = btyd.BGNBD().fit(summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])
    out = clv.next_period_value(model, ggf, summary.iloc[:200])
    np.testing.assert_allclose(out["expected_value"], out["expected_purchases"] * out["expected_spend"])
    assert ((out["p_purchase"] <= out["p_alive"] + 1e-12) & (out["p_purchase"] > 0)).all()
    # our BG/NBD and lifetimes' give the same expectation (same maximum, same formula)
    reference = clv.holdout_predictions(bgf, summary.iloc[:200])["predicted"]
    np.testing.assert_allclose(out["expected_purchases"], reference, rtol=1e-3)
    headline = {"n_customers": 10, "top20_revenue_share": 0.6, "vip_revenue_share": 0.1,
                "important_value_revenue_share": 0.5, "k_segments": 2, "silhouette": 0.5, "vip_stay_rate": 0.25,
                "holdout_mae": 0.8, "holdout_total_predicted": 90.0, "holdout_total_actual": 100.0, "mean_clv": 12.5,
                "chosen_model": "Pareto/NBD"}
    migration = {"auc": 0.7, "auc_recency": 0.65, "precision": 0.8, "moved_down_rate": 0.75, "recall": 0.9}
    text = clv.customer_value_conclusion(headline, clv_months=12, model_choice="CHOICE.", migration=migration)
    for piece in ("75% of the VIP", "under-forecasts the cohort total by 10%", "CHOICE. With Pareto/NBD the mean "
                  "12-month CLV is USD 12.50", "AUC 0.70 (+0.05 against ranking by recency alone, 0.65)"):
        assert piece in text, piece
