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
