"""Notebook 09 (campaigns with a known truth, uplift targeting, consent) in quick mode."""

import pytest


@pytest.mark.notebook
def test_notebook_09_campaigns_and_consent_quick(run_notebook):
    rec = run_notebook("09_campaigns_and_consent.ipynb", seed=42)
    qini = rec["qini_true"]
    assert set(qini) == {"random", "response", "churn_risk", "s_learner", "t_learner", "x_learner", "uplift_forest",
                         "oracle"}
    # the oracle ranks by the true uplift: no ranking does better against the truth
    assert qini["oracle"] == max(qini.values())
    # the uplift model chosen on the observed Qini beats the response model on the true Qini, and random
    best = rec["best_uplift_model"]
    assert qini[best] > qini["response"] and qini[best] > qini["random"]
    assert rec["qini_true_best_uplift"] == qini[best] and rec["qini_true_response"] == qini["response"]
    assert rec["profit"]["oracle"] >= max(rec["profit"].values()) - 1e-12
    # every kind is in the campaign; the oracle wakes no more sleeping dogs than any policy
    assert set(rec["kind_shares"]) == {"persuadable", "sure thing", "lost cause", "sleeping dog"}
    assert abs(sum(rec["kind_shares"].values()) - 1) < 1e-9
    assert rec["budget_sleeping_dogs"]["oracle"] == min(rec["budget_sleeping_dogs"].values())
    # consent: full consent is the reference of every difference
    full = [r for r in rec["consent"] if r["consent_rate"] == 1.0]
    assert full and all(r["difference"] == 0 for r in full)
    assert {r["consent_rate"] for r in rec["consent"]} == {0.0, 0.5, 1.0}
