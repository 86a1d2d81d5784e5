"""Notebook 08 (the simulated personalisation -> satisfaction -> loyalty world) in quick mode."""

import pytest


@pytest.mark.notebook
def test_notebook_08_simulation_quick(run_notebook):
    rec = run_notebook("08_personalization_and_loyalty.ipynb", seed=42)
    assert set(rec["retention"]) >= {"oracle", "random", "most_popular", "als", "ease"}
    # the oracle keeps more of the initial customers than random, with a paired interval above 0
    assert rec["oracle_retention"] > rec["random_retention"]
    assert rec["oracle_minus_random_lower"] > 0
    assert rec["clv"]["oracle"] > rec["clv"]["random"]
    # PLSc on the world's survey is within 0.05 of the true paths on average
    assert rec["plsc_mean_abs_error"] < 0.05
    # BG/NBD's purchase rate while alive is a rate per week, in the world's range (one visit per week at most)
    assert all(0 < v <= 1.2 for v in rec["bgnbd_rate"].values())
    assert -1 <= rec["offline_online_spearman"] <= 1
    assert {c["scenario"] for c in rec["claims"]} == {"claimed: 6x loyal, tells 20", "6x loyal, tells 3",
                                                      "2x loyal, tells 20", "false: 2x loyal, tells 3"}
