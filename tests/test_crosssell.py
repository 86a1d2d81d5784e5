"""Cross-sell propensity: the feature list excludes the add-on and what derives from it."""

import pytest

from recsys_study.data import load_telco_churn
from recsys_study.data.schema import DataValidationError
from recsys_study.loyalty import crosssell


@pytest.fixture(scope="module")
def telco():
    return load_telco_churn()


@pytest.mark.parametrize("target", ["online_security", "tech_support"])
def test_crosssell_features_exclude_target_charges_and_churn(telco, target):
    x, y, numeric, categorical = crosssell.crosssell_frame(telco, target=target)
    assert target not in x.columns
    assert {"monthly_charges", "total_charges", "churn", "customer"}.isdisjoint(x.columns)
    assert list(x.columns) == numeric + categorical
    assert len(x) == int((telco["internet_service"] != "No").sum())  # only customers who can buy it
    assert y.sum() == int((telco[target] == "Yes").sum())


def test_unknown_add_on_is_rejected(telco):
    with pytest.raises(DataValidationError, match="online_security"):
        crosssell.crosssell_frame(telco, target="phone_service")


def test_propensity_campaign_beats_random_targeting(telco):
    study = crosssell.propensity_study(telco, target="online_security", models=("logistic",), n_folds=3, seed=0)
    auc = study["summary"].loc[0, "roc_auc_mean"]
    assert 0.70 < auc < 0.90
    table, response = crosssell.campaign_evaluation(study["oof"], "logistic", top_share=0.3)
    assert crosssell.top_decile_lift(table) > 1.5
    assert table["customers"].sum() == study["n"]
    assert response["expected_responders"] > response["random_responders"]
    assert response["contacted"] == round(0.3 * response["non_holders"])
