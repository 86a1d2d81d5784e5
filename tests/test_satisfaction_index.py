"""Index, IPMA, NPS, disconfirmation and loyalty bands on hand-computed cases."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.data.survey import load_mobi
from recsys_study.satisfaction.index import (
    construct_performance, disconfirmation, ipma, loyalty_by_satisfaction, net_promoter_score, outcome_by_band,
    rescaled_weights, satisfaction_index, to_0_10,
)
from recsys_study.satisfaction.models import ecsi_model
from recsys_study.satisfaction.pls import PLSPM


@pytest.fixture(scope="module")
def fitted():
    survey = load_mobi()
    return PLSPM(ecsi_model()).fit(survey.data), survey


def test_nps_by_hand():
    assert net_promoter_score([10, 9, 8, 7, 6, 0])["nps"] == pytest.approx(0.0)
    out = net_promoter_score([10, 10, 9, 5])
    assert out["nps"] == pytest.approx(50.0) and out["promoters"] == 0.75 and out["detractors"] == 0.25


def test_nps_bootstrap_ci_is_seeded_and_brackets_the_score():
    x = np.r_[np.full(40, 10), np.full(30, 8), np.full(30, 3)]
    a = net_promoter_score(x, seed=1, n_boot=400)
    assert a == net_promoter_score(x, seed=1, n_boot=400)
    assert a["nps"] == pytest.approx(10.0)
    assert a["ci_low"] < a["nps"] < a["ci_high"]


def test_nps_refuses_answers_off_the_0_10_scale():
    with pytest.raises(ValueError, match="to_0_10"):
        net_promoter_score([1, 11])


def test_to_0_10_maps_scale_ends():
    np.testing.assert_array_equal(to_0_10([1, 10, 5.5], scale=(1, 10)), [0, 10, 5])
    np.testing.assert_array_equal(to_0_10([1, 5, 3], scale=(1, 5)), [0, 10, 5])


def test_rescaled_weights_sum_to_one_per_block(fitted):
    fit, _ = fitted
    sums = rescaled_weights(fit).groupby(level=0).sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)


def test_index_is_100_at_the_top_and_0_at_the_bottom(fitted):
    fit, survey = fitted
    top = pd.DataFrame(10.0, index=[0, 1], columns=survey.data.columns)
    bottom = pd.DataFrame(1.0, index=[0, 1], columns=survey.data.columns)
    assert construct_performance(fit, top, scale=(1, 10)).to_numpy() == pytest.approx(100.0)
    assert construct_performance(fit, bottom, scale=(1, 10)).to_numpy() == pytest.approx(0.0)


def test_index_per_segment_averages_respondents(fitted):
    fit, survey = fitted
    seg = pd.Series(np.where(np.arange(250) < 100, "a", "b"))
    table = satisfaction_index(fit, survey.data, scale=survey.scale, segments=seg).set_index("segment")
    overall = satisfaction_index(fit, survey.data, scale=survey.scale)["index"].iloc[0]
    assert table.loc["a", "n"] == 100
    assert (100 * table.loc["a", "index"] + 150 * table.loc["b", "index"]) / 250 == pytest.approx(overall)


def test_ipma_importance_is_total_effect_rescaled(fitted):
    fit, survey = fitted
    table = ipma(fit, survey.data, scale=survey.scale, target="Satisfaction").set_index("driver")
    perf = construct_performance(fit, survey.data, scale=survey.scale)
    expected = fit.total_effects_.loc["Value", "Satisfaction"] * perf["Satisfaction"].std() / perf["Value"].std()
    assert table.loc["Value", "importance"] == pytest.approx(expected)
    assert table.loc["Value", "performance"] == pytest.approx(perf["Value"].mean())
    assert "Loyalty" not in table.index


def test_outcome_by_band_by_hand():
    level = pd.Series([0, 1, 1, 2, 5, 6])
    out = outcome_by_band(level, pd.Series([0, 0, 1, 1, 1, 1]), bins=[0, 2, 10])
    assert out["n"].tolist() == [3, 3] and out["mean"].tolist() == pytest.approx([1 / 3, 1.0])
    assert (out["ci_low"] <= out["mean"]).all() and (out["mean"] <= out["ci_high"]).all()


def test_loyalty_ratio_of_top_band_to_satisfied_band():
    index = pd.Series([50, 65, 70, 75, 85, 95, 96])
    loyal = pd.Series([0, 0, 0, 1, 1, 1, 1])
    out = loyalty_by_satisfaction(index, loyal)
    assert out["ratio_top_vs_satisfied"] == pytest.approx(1.0 / (1 / 3))


def test_disconfirmation_recovers_a_linear_rule():
    rng = np.random.default_rng(0)
    perf = pd.DataFrame({"Quality": rng.uniform(0, 100, 200), "Expectation": rng.uniform(0, 100, 200)})
    perf["Satisfaction"] = 10 + 0.3 * (perf["Quality"] - perf["Expectation"]) + 0.5 * perf["Quality"]
    out = disconfirmation(perf)
    assert out["slope_disconfirmation"] == pytest.approx(0.3) and out["slope_quality"] == pytest.approx(0.5)
    assert out["r2"] == pytest.approx(1.0)
