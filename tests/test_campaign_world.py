"""The simulated world's randomised campaign (known true uplift, the four kinds) and consent."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from recsys_study.data import load_movielens
from recsys_study.simulation import KINDS, SimulationConfigError, TrueUtilities, World, WorldConfig, kinds
from recsys_study.simulation import campaigns

WORLD = {"choice": {"outside_utility": 3.5}, "response": {"satisfied_return": 0.85}}


@pytest.fixture(scope="module")
def utilities():
    return TrueUtilities.from_dataset(load_movielens("ml-100k"), seed=0)


def config(kind="retention", n=2000, **campaign):
    return WorldConfig.from_dict({**WORLD, "user": {"n_customers": n}, "rounds": 4,
                                  "campaign": {"kind": kind, "round": 3, **campaign}})


@pytest.fixture(scope="module")
def retention(utilities):
    return World(config(), utilities, seed=7).run("most_popular", show_progress=False)


# -- the kinds by hand -----------------------------------------------------------------------------------------
def test_kinds_are_the_principal_strata_of_the_two_potential_outcomes():
    y1 = [1, 1, 0, 0, 0, 0, 1]
    y0 = [0, 1, 0, 1, 1, 1, 0]
    got = kinds(y1, y0)
    assert list(got) == ["persuadable", "sure thing", "lost cause", "sleeping dog", "sleeping dog", "sleeping dog",
                         "persuadable"]
    assert int((got == "sleeping dog").sum()) == 3


def test_sleeping_dogs_are_counted_exactly_among_those_contacted():
    from recsys_study.loyalty.uplift import contacted_kinds

    kind = kinds([0, 1, 0, 1, 0], [1, 0, 1, 1, 0])  # dog, persuadable, dog, sure thing, lost cause
    score = np.array([0.9, 0.8, 0.1, 0.7, 0.5])       # contacts dog, persuadable, sure thing, lost cause, dog
    assert contacted_kinds(kind, score, 1) == {"persuadable": 0, "sure thing": 0, "lost cause": 0, "sleeping dog": 1}
    assert contacted_kinds(kind, score, 4)["sleeping dog"] == 1
    assert contacted_kinds(kind, score, 5)["sleeping dog"] == 2


# -- the campaign in the world -----------------------------------------------------------------------------------
def test_the_realised_outcome_is_the_potential_outcome_of_the_assigned_arm(retention):
    c = retention.campaign
    for y in ("bought", "returned"):
        realised = np.where(c["treatment"] == 1, c[f"{y}_if_treated"], c[f"{y}_if_control"])
        np.testing.assert_array_equal(realised, c[y])
    np.testing.assert_array_equal(c["outcome"], c["returned"])
    # a retention offer changes returning only: both arms buy alike
    np.testing.assert_array_equal(c["bought_if_treated"], c["bought_if_control"])
    assert (c["visits"] >= 2).all()                      # visited before the campaign round, and in it
    assert 0.45 < c["treatment"].mean() < 0.55


def test_a_retention_offer_sent_after_the_visit_has_a_closed_form_uplift(retention):
    c = retention.campaign
    # sigmoid(L + tau) - sigmoid(L) with L recovered from the control probability
    logit0 = np.log(c["p_returned_control"] / (1 - c["p_returned_control"]))
    cfg = retention.config.campaign
    tau = cfg.effect("return_effect", {f: c[f].to_numpy() for f in ("satisfaction", "recency", "frequency", "tenure")})
    np.testing.assert_allclose(c["p_returned_treated"], expit(logit0 + tau), rtol=1e-9)
    np.testing.assert_allclose(c["true_uplift"], c["p_returned_treated"] - c["p_returned_control"])


def test_the_campaign_holds_all_four_kinds_and_the_effect_changes_sign(retention):
    c = retention.campaign
    counts = c["kind"].value_counts()
    assert set(counts.index) == set(KINDS) and counts.min() >= 20
    assert (c["true_uplift"] > 0.05).sum() > 50 and (c["true_uplift"] < -0.02).sum() > 50
    # kinds agree with the potential outcomes they are named after
    dogs = c[c["kind"] == "sleeping dog"]
    assert (dogs["returned_if_control"] == 1).all() and (dogs["returned_if_treated"] == 0).all()


@pytest.mark.parametrize("kind", ["retention", "message", "cross_sell"])
def test_true_probabilities_agree_with_the_realised_potential_outcomes(utilities, kind):
    # the probabilities integrate the choice and the experience noise (Gauss-Hermite); their mean must
    # match the share of the realised potential outcomes within sampling error
    c = World(config(kind, n=3000), utilities, seed=3).run("most_popular", show_progress=False).campaign
    for y in ("bought", "returned"):
        for arm in ("treated", "control"):
            p, real = c[f"p_{y}_{arm}"], c[f"{y}_if_{arm}"]
            se = np.sqrt((p * (1 - p)).sum()) / len(c)
            assert abs(real.mean() - p.mean()) < 4 * se + 1e-9, (y, arm)
    # the outcome is the kind's: returning for retention and message, buying for cross-sell
    np.testing.assert_array_equal(c["outcome"], c["bought" if kind == "cross_sell" else "returned"])


def test_the_oracle_ranks_best_and_a_model_lies_between_random_and_the_oracle(utilities):
    table = campaigns.campaign_table(config(n=3000), utilities, "most_popular", seeds=[1, 2])
    study = campaigns.uplift_study(table, policies=["random", "response", "t_learner", "uplift_forest"], value=20,
                                   cost=1, forest_trees=10)
    res = study["results"].groupby("policy")[["qini_true", "profit"]].mean()
    assert res["qini_true"].idxmax() == "oracle"
    for model in ("t_learner", "uplift_forest"):
        assert res.loc["random", "qini_true"] < res.loc[model, "qini_true"] < res.loc["oracle", "qini_true"]
        assert res.loc[model, "qini_true"] > res.loc["response", "qini_true"]
    assert res.loc["oracle", "profit"] >= res["profit"].max() - 1e-12
    # the curves: one per seed and policy, starting at 0
    c = study["curves"]
    assert set(c["policy"]) == {"random", "response", "t_learner", "uplift_forest", "oracle"}
    assert (c[c["contacted_share"] == 0][["qini_observed", "qini_true", "profit_true"]] == 0).all().all()


# -- consent -------------------------------------------------------------------------------------------------------
def test_nobody_consenting_is_exactly_the_popularity_world(utilities):
    small = WorldConfig.from_dict({"user": {"n_customers": 300}, "rounds": 8, "refit_every": 4})
    pop = World(small, utilities, seed=5).run("most_popular", show_progress=False)
    for rec in ("oracle", "ease"):
        none = World(small.replace(**{"consent.rate": 0.0}), utilities, seed=5).run(rec, show_progress=False)
        pd.testing.assert_frame_equal(none.rounds, pop.rounds)
        pd.testing.assert_frame_equal(none.customers, pop.customers)
        pd.testing.assert_frame_equal(none.log, pop.log)


def test_partial_consent_sits_between_and_only_decliners_see_the_popular_list(utilities):
    small = WorldConfig.from_dict({"user": {"n_customers": 400}, "rounds": 6, "refit_every": 3})
    runs = campaigns.consent_study(small, utilities, "oracle", rates=[1.0, 0.5, 0.0], seeds=[1, 2])
    wide = runs.groupby("consent_rate")["retention"].mean()
    assert wide[1.0] > wide[0.0]
    half = runs[runs["consent_rate"] == 0.5]
    assert (half["retention_consenting"] > half["retention_declining"]).all()
    summary = campaigns.consent_summary(runs)
    full = summary[(summary["consent_rate"] == 1.0)]
    assert (full["difference"] == 0).all()


# -- configuration -------------------------------------------------------------------------------------------------
def test_campaign_configuration_errors_name_the_fix():
    with pytest.raises(SimulationConfigError, match="treated_share.*control group"):
        WorldConfig.from_dict({"campaign": {"treated_share": 1.0}})
    with pytest.raises(SimulationConfigError, match="unknown term"):
        WorldConfig.from_dict({"campaign": {"return_effect": {"age": 1.0}}})
    with pytest.raises(SimulationConfigError, match="consent.rate"):
        WorldConfig.from_dict({"consent": {"rate": 1.5}})
    cfg = WorldConfig().replace(**{"campaign.kind": "cross_sell"})
    assert cfg.campaign.outcome == "bought" and not cfg.campaign.after_visit
    assert WorldConfig().campaign is None and WorldConfig.from_dict({}).campaign is None


def test_the_world_is_untouched_before_the_campaign_round_and_changed_after(utilities):
    plain = WorldConfig.from_dict({**WORLD, "user": {"n_customers": 500}, "rounds": 6})
    with_campaign = plain.replace(**{"campaign.round": 3})
    a = World(plain, utilities, seed=9).run("most_popular", show_progress=False)
    b = World(with_campaign, utilities, seed=9).run("most_popular", show_progress=False)
    assert a.campaign is None and b.campaign is not None
    pd.testing.assert_frame_equal(a.rounds.iloc[:3], b.rounds.iloc[:3])
    pd.testing.assert_frame_equal(a.log[a.log["timestamp"] < 3], b.log[b.log["timestamp"] < 3])
    # the treated customers' return decisions after round 3 are the offer's
    assert a.rounds.loc[3, "return_rate"] != b.rounds.loc[3, "return_rate"]


def _results(qini_true):
    rows = [{"policy": p, "seed": s, "qini": q + 0.001 * s, "qini_true": q + 0.0005 * s, "profit": max(q, 0) * 20,
             "budget_sleeping_dogs": 3 if p == "response" else 1, "budget_persuadables": 50,
             "contacted_sleeping_dogs": 1, "test_customers": 1000}
            for s in range(3) for p, q in qini_true.items()]
    return pd.DataFrame(rows)


def test_the_conclusion_follows_the_intervals():
    results = _results({"random": 0.0, "response": -0.007, "churn_risk": 0.009, "s_learner": 0.01, "t_learner": 0.008,
                        "oracle": 0.012})
    consent = pd.DataFrame([{"consent_rate": 0.0, "metric": "retention", "difference": -0.03, "diff_lower": -0.05,
                             "diff_upper": -0.01},
                            {"consent_rate": 0.0, "metric": "clv", "difference": -0.05, "diff_lower": -0.1,
                             "diff_upper": 0.01}])
    text = campaigns.conclusion(results=results, consent=consent, value=8, cost=0.5, budget_share=0.3,
                                kind="retention", outcome="returned")
    assert "best observed Qini (s_learner)" in text and "more than the response model" in text
    assert "response 3.0" in text and "a cost of consent is detectable in retention." in text
    consent["diff_upper"] = 0.02
    text = campaigns.conclusion(results=results, consent=consent, value=8, cost=0.5, budget_share=0.3,
                                kind="retention", outcome="returned")
    assert "no cost of consent is detectable at this size." in text
