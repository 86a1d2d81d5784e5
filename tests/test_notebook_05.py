"""Notebook 05 in quick mode: the recorded headline numbers."""

import pytest


@pytest.mark.notebook
def test_notebook_05_reproduces_mobi_and_recovers_simulated_paths(run_notebook):
    rec = run_notebook("05_satisfaction.ipynb")
    assert rec["n_respondents"] == 250
    assert rec["mobi_reduced_paths"] == pytest.approx([0.5377, 0.2410, 0.2583], abs=1e-3)
    # ECSI on mobi, mode A path weighting (checked against seminr 0.2.1 in test_pls.py)
    assert rec["pls_paths"]["Satisfaction->Loyalty"] == pytest.approx(0.485, abs=2e-3)
    assert rec["r2_pls"]["Satisfaction"] == pytest.approx(0.681, abs=2e-3)
    # the Tenenhaus et al. (2005) set-up (mode A, centroid) equals SmartPLS 2.0.M3's published paths
    assert rec["max_abs_diff_vs_smartpls_centroid"] < 1e-6
    assert 60 < rec["satisfaction_index"] < 85
    assert rec["nps_ci"][0] < rec["nps"] < rec["nps_ci"][1]
    assert rec["loyalty_ratio_top_vs_satisfied"] > 1
    assert rec["churn_4plus_calls"] > 3 * rec["churn_0_3_calls"]
    # recovery at n = 1000, seed 42 (quick mode: fewer bootstrap draws and replications)
    assert rec["recovery_max_abs_error_plsc"] < 0.1 and rec["recovery_ci_coverage"] >= 10
    assert rec["mc_relative_bias_pls"] < rec["mc_relative_bias_plsc"]
    # Monte Carlo section (quick: 3 replications): oracle, pass rates, coverage and the n curve are recorded
    assert set(rec["mc_all_within_005"]) == {"PLS", "PLSc", "oracle"}
    assert 0.7 <= rec["mc_plsc_ci_coverage"] <= 1
    assert rec["mc_max_abs_bias_plsc"] < rec["mc_max_abs_bias_pls"]
    assert set(rec["all_within_005_by_n"]) == {f"{e}@{n}" for e in ("PLS", "PLSc", "oracle") for n in (500, 1000)}
    # f2 re-estimates without each path (equal to seminr's model_fsquares in test_pls_assessment.py)
    assert len(rec["f2"]) == 12 and rec["f2"]["Expectation->Quality"] == pytest.approx(0.4492, abs=1e-3)
    # HTMT inference: Quality and Satisfaction are not told apart on mobi, Value and Complaints are
    assert len(rec["htmt_upper_95"]) == 21 and rec["htmt_upper_95"]["Quality-Satisfaction"] > 0.9
    assert rec["htmt_upper_95"]["Value-Complaints"] < 0.85
    # PLSpredict and CVPAT: PLS beats the indicator averages; a verdict by Shmueli et al.'s rule is recorded
    assert rec["n_predicted_items"] == 19 and rec["q2_positive"] >= 17
    assert rec["predictive_power"] in {"high", "medium", "low", "none", "not relevant"}
    ia = rec["cvpat"]["IA:overall"]
    assert ia["loss_difference"] < 0 and ia["p"] < 0.01
    # groups: mobi's documented split (108 vs 142) and the simulated world's two recommenders
    groups = rec["groups"]
    assert groups["mobi, CUEX1 < 8"]["sizes"] == [108, 142]
    assert any(label.startswith("simulated world") for label in groups)
    for g in groups.values():
        assert g["invariance"] in {"full", "partial", "none"} and len(g["p_mga"]) == len(g["p_permutation"])
    assert rec["cbsem_converged"] is True


@pytest.mark.notebook
def test_notebook_05_runs_acsi_on_simulated_answers(run_notebook):
    rec = run_notebook("05_satisfaction.ipynb", model="acsi", data_source="simulated", n=400, scale=7,
                       recovery_n=300, replications=2, n_boot=50)
    assert rec["n_respondents"] == 400 and "Image->Satisfaction" not in rec["plsc_paths"]
    assert len(rec["plsc_paths"]) == 9
    # CUEX1 < 8 on a 1-7 scale leaves one group: the mobi split is skipped, the world's split still runs
    assert list(rec["groups"]) == ["simulated world, ease vs most_popular"]
