"""RFM measures, quintile scores, the eight value classes, ABC / Pareto, and RFM segmentation."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.data.schema import DataValidationError
from recsys_study.loyalty import rfm, segments


@pytest.fixture
def log():
    return pd.DataFrame({
        "customer": ["A", "A", "A", "B", "C", "C", "D", "E"],
        "date": ["2024-01-10", "2024-01-05", "2024-01-05", "2024-01-01", "2024-01-02", "2024-01-08",
                 "2024-01-09", "2024-01-20"],
        "amount": [100.0, 50.0, 30.0, 10.0, 200.0, 20.0, 5.0, 1000.0],
    })


def test_rfm_table_matches_hand_computed_values(log):
    table = rfm.rfm_table(log, reference_date="2024-01-11")
    # E bought after the reference date: unknown on that date
    assert list(table.index) == ["A", "B", "C", "D"]
    assert table["recency"].tolist() == [1, 10, 3, 2]
    assert table["frequency"].tolist() == [2, 1, 2, 1]  # A's two purchases on 01-05 are one visit
    assert table["monetary"].tolist() == [180.0, 10.0, 220.0, 5.0]
    assert table["tenure"].tolist() == [6, 10, 9, 2]
    assert table.loc["A", "avg_order"] == pytest.approx(90.0)


def test_rfm_reference_date_defaults_to_day_after_last_purchase(log):
    table = rfm.rfm_table(log)
    assert table.loc["E", "recency"] == 1
    assert table.attrs["reference_date"] == "2024-01-21"


def test_rfm_log_missing_amount_column_is_named(log):
    with pytest.raises(DataValidationError, match="amount"):
        rfm.rfm_table(log.drop(columns="amount"))


def test_rfm_log_rejects_negative_amounts_and_bad_dates(log):
    with pytest.raises(DataValidationError, match="non-negative"):
        rfm.rfm_table(log.assign(amount=-1.0))
    with pytest.raises(DataValidationError, match="unreadable date"):
        rfm.rfm_table(log.assign(date="not a date"))


def test_hand_example_value_classes(log):
    table = rfm.rfm_table(log, reference_date="2024-01-11")
    # means: recency 4, frequency 1.5, monetary 103.75
    assert rfm.value_classes(table).astype(str).tolist() == [
        "important-value", "general-recall", "important-value", "general-development"]


def test_value_classes_follow_the_rule_table_for_all_eight_combinations():
    combos = [(r, f, m) for r in (True, False) for f in (True, False) for m in (True, False)]
    table = pd.DataFrame({
        "recency": [1 if r else 9 for r, _, _ in combos],      # mean 5; low recency = recent = high R
        "frequency": [5 if f else 1 for _, f, _ in combos],    # mean 3
        "monetary": [100.0 if m else 10.0 for _, _, m in combos],  # mean 55
    })
    expected = ["important-value", "general-value", "important-development", "general-development",
                "important-retention", "general-retention", "important-recall", "general-recall"]
    assert rfm.value_classes(table).astype(str).tolist() == expected


def test_quintile_scores_give_equal_bins_and_reverse_recency():
    values = pd.Series(np.arange(1, 11), name="x")
    assert rfm.quintile_scores(values).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.quintile_scores(values, ascending=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    table = pd.DataFrame({"recency": [1, 50], "frequency": [3, 1], "monetary": [10.0, 90.0]})
    scored = rfm.rfm_scores(table, n_bins=2)
    assert scored["RFM_cell"].tolist() == ["221", "112"]


def test_pareto_curve_and_top_share_by_hand():
    curve = rfm.pareto_curve(pd.Series([20.0, 50.0, 30.0]))
    np.testing.assert_allclose(curve["customer_share"], [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(curve["revenue_share"], [0, 0.5, 0.8, 1.0])
    assert rfm.revenue_share_of_top(pd.Series([20.0, 50.0, 30.0]), 1 / 3) == pytest.approx(0.5)


def test_abc_classes_by_cumulative_share_before_each_customer():
    values = pd.Series([5.0, 50.0, 15.0, 30.0], index=list("wxyz"))
    assert rfm.abc_classes(values).tolist() == ["C", "A", "B", "A"]


def _two_blobs():
    rng = np.random.default_rng(0)
    high = pd.DataFrame({"recency": rng.integers(1, 10, 40), "frequency": rng.integers(20, 30, 40),
                         "monetary": rng.uniform(900, 1100, 40), "tenure": 400})
    low = pd.DataFrame({"recency": rng.integers(300, 400, 60), "frequency": rng.integers(1, 3, 60),
                        "monetary": rng.uniform(5, 20, 60), "tenure": 400})
    return pd.concat([high, low], ignore_index=True)


def test_kmeans_picks_two_separated_groups_and_orders_by_value():
    table = _two_blobs()
    seg = segments.kmeans_segments(table, k_range=range(2, 5), seed=1)
    assert seg.k == 2
    assert (seg.labels.iloc[:40] == 0).all() and (seg.labels.iloc[40:] == 1).all()
    again = segments.kmeans_segments(table, k_range=range(2, 5), seed=1)
    assert again.labels.equals(seg.labels)
    rules, fidelity = segments.explain_segments(table, seg.labels, seed=1)
    assert fidelity == 1.0 and "class: 0" in rules


def test_lifecycle_stage_rules():
    table = pd.DataFrame({"recency": [10, 10, 200, 400], "tenure": [30, 300, 300, 500]})
    stages = segments.lifecycle_stage(table, new_days=90, at_risk_days=180, lapsed_days=365)
    assert stages.astype(str).tolist() == ["new", "active", "at risk", "lapsed"]
    with pytest.raises(ValueError):
        segments.lifecycle_stage(table, at_risk_days=400, lapsed_days=365)
