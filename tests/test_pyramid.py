"""Customer pyramid tiers, their revenue shares and migration between periods."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.loyalty import pyramid


def _values():
    # customers 1..100 spend their own number; two customers spent nothing
    return pd.Series([float(i) for i in range(1, 101)] + [0.0, 0.0], index=[f"c{i}" for i in range(1, 103)])


def test_default_pyramid_puts_1_4_15_80_percent_of_customers_in_tiers():
    values = _values()
    tiers = pyramid.pyramid_tiers(values)
    assert tiers["c100"] == "VIP"
    assert set(tiers[tiers == "big"].index) == {"c96", "c97", "c98", "c99"}
    assert set(tiers[tiers == "medium"].index) == {f"c{i}" for i in range(81, 96)}
    assert (tiers[[f"c{i}" for i in range(1, 81)]] == "small").all()
    assert (tiers[["c101", "c102"]] == "inactive").all()


def test_tier_revenue_shares_by_hand():
    values = _values()
    summary = pyramid.tier_summary(values, pyramid.pyramid_tiers(values)).set_index("tier")
    total = 5050.0
    assert summary.loc["VIP", "revenue_share"] == pytest.approx(100 / total)
    assert summary.loc["big", "revenue_share"] == pytest.approx(390 / total)
    assert summary.loc["medium", "revenue_share"] == pytest.approx(1320 / total)
    assert summary.loc["small", "revenue_share"] == pytest.approx(3240 / total)
    assert summary.loc["inactive", "customers"] == 2
    assert summary["customer_share"].iloc[:4].tolist() == pytest.approx([0.01, 0.04, 0.15, 0.80])


def test_custom_cut_points_and_validation():
    values = pd.Series([10.0, 40.0, 30.0, 20.0], index=list("abcd"))
    tiers = pyramid.pyramid_tiers(values, cut_points=(0.25, 0.75), labels=("top", "rest"))
    assert tiers.astype(str).tolist() == ["rest", "top", "rest", "rest"]
    with pytest.raises(ValueError, match="sum to 1"):
        pyramid.pyramid_tiers(values, cut_points=(0.5, 0.2), labels=("top", "rest"))
    with pytest.raises(ValueError, match="one share per tier"):
        pyramid.pyramid_tiers(values, cut_points=(0.5, 0.5), labels=("top",))


def test_migration_matrix_counts_and_rows_by_hand():
    labels = ("top", "rest")
    before = pyramid.pyramid_tiers(pd.Series([40.0, 30.0, 20.0, 10.0], index=list("abcd")),
                                   cut_points=(0.5, 0.5), labels=labels)  # a,b top; c,d rest
    after = pyramid.pyramid_tiers(pd.Series([0.0, 30.0, 50.0, 5.0, 1.0], index=list("abcde")),
                                  cut_points=(0.5, 0.5), labels=labels)  # c,b top; d,e rest; a inactive
    counts = pyramid.migration_matrix(before, after, normalize=False)
    expected = pd.DataFrame([[1, 0, 1], [1, 1, 0], [0, 1, 0]], index=["top", "rest", "inactive"],
                            columns=["top", "rest", "inactive"])
    np.testing.assert_array_equal(counts.to_numpy(), expected.to_numpy())
    shares = pyramid.migration_matrix(before, after)
    np.testing.assert_allclose(shares.sum(axis=1), [1.0, 1.0, 1.0])
    assert shares.loc["top", "inactive"] == pytest.approx(0.5)


def test_period_values_sum_amounts_inside_the_window_and_keep_the_universe():
    log = pd.DataFrame({"customer": [1, 1, 2, 3], "amount": [5.0, 7.0, 3.0, 9.0],
                        "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-05", "2024-01-15"])})
    values = pyramid.period_values(log, "2024-01-01", "2024-03-01")
    assert values.to_dict() == {1: 12.0, 2: 0.0, 3: 9.0}


def _forecast_case():
    labels, cuts = ("top", "rest"), (0.5, 0.5)
    before = pyramid.pyramid_tiers(pd.Series([40.0, 30.0, 20.0, 10.0, 0.0], index=list("abcde")),
                                   cut_points=cuts, labels=labels)  # a,b top; c,d rest; e inactive
    value = pd.Series({"a": 1.0, "b": 8.0, "c": 9.0, "d": 0.5, "e": 3.0})
    p_active = pd.Series({"a": 0.2, "b": 0.9, "c": 0.9, "d": 0.2, "e": 0.4})  # sum 2.6: 3 active next period
    return before, value, p_active, cuts, labels


def test_migration_forecast_by_hand():
    before, value, p_active, cuts, labels = _forecast_case()
    fc = pyramid.migration_forecast(before, value, p_active, cut_points=cuts, labels=labels)
    # forecast: the 3 largest expected values are active (c 9, b 8, e 3): c,b top; e rest; a,d inactive
    assert list(fc.index) == list("abcd")  # e was inactive in period 1: it cannot move down
    assert fc["tier_forecast"].astype(str).to_dict() == {"a": "inactive", "b": "top", "c": "top", "d": "inactive"}
    # bars: top 8 (b), rest 3 (e); score = log(bar of the period-1 tier) - log(expected value)
    np.testing.assert_allclose(fc["down_score"], np.log([8 / 1, 8 / 8, 3 / 9, 3 / 0.5]))
    assert fc["forecast_down"].to_dict() == {"a": True, "b": False, "c": False, "d": True}


def test_migration_forecast_scored_against_realised_tiers_by_hand():
    before, value, p_active, cuts, labels = _forecast_case()
    fc = pyramid.migration_forecast(before, value, p_active, cut_points=cuts, labels=labels)
    after = pyramid.pyramid_tiers(pd.Series({"a": 0.0, "b": 5.0, "c": 50.0, "d": 1.0, "e": 7.0}),
                                  cut_points=cuts, labels=labels)  # c,e top; b,d rest; a inactive
    recency = pd.Series({"a": 0.1, "b": 0.9, "c": 0.5, "d": 0.2})
    ev = pyramid.evaluate_migration_forecast(fc, after, baselines={"recency": recency})
    assert ev["frame"]["moved_down"].to_dict() == {"a": True, "b": True, "c": False, "d": False}
    o = ev["overall"]
    # down scores: movers a 2.08, b 0; stayers c -1.10, d 1.79 -> 3 of 4 pairs ordered right
    assert o["auc"] == pytest.approx(0.75) and o["auc_recency"] == pytest.approx(0.5)
    assert o["precision"] == pytest.approx(0.5) and o["recall"] == pytest.approx(0.5)  # flagged a, d; moved a, b
    assert o["moved_down_rate"] == 0.5 and o["forecast_down_rate"] == 0.5
    assert ev["by_tier"]["auc"].isna().all()  # within each tier everyone moved the same way
    assert ev["by_decile"]["moved_down_rate"].tolist() == [0.0, 1.0, 0.0, 1.0]  # c, b, d, a by score


def test_migration_forecast_rejects_missing_or_impossible_inputs():
    before, value, p_active, cuts, labels = _forecast_case()
    with pytest.raises(ValueError, match="every customer"):
        pyramid.migration_forecast(before, value.drop("a"), p_active, cut_points=cuts, labels=labels)
    with pytest.raises(ValueError, match="probability"):
        pyramid.migration_forecast(before, value, p_active * 3, cut_points=cuts, labels=labels)
