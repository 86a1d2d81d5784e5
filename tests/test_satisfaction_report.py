"""Notebook 05's conclusions are written from the numbers they are given."""

import pandas as pd

from recsys_study.satisfaction.report import conclusions


def _headline(**extra):
    return {"pls_paths": {"Satisfaction->Loyalty": 0.49}, "satisfaction_index": 72.5, "nps": 14.0, "nps_ci": [4, 23],
            "loyalty_ratio_top_vs_satisfied": 2.08, "churn_0_3_calls": 0.11, "churn_4plus_calls": 0.5,
            "mc_relative_bias_pls": -0.035, "mc_relative_bias_plsc": -0.004, "mc_plsc_ci_coverage": 0.94, **extra}


def test_conclusions_name_the_run_numbers_and_the_group_verdicts():
    reliability = pd.DataFrame({"alpha": [0.8, 0.6]}, index=["Image", "Loyalty"])
    paths = pd.DataFrame({"source": ["Image", "Value"], "target": ["Satisfaction", "Satisfaction"],
                          "estimate": [0.18, 0.51]})
    htmt = pd.DataFrame({"construct_1": ["A", "B"], "construct_2": ["C", "C"], "htmt": [0.95, 0.5],
                         "upper": [1.01, 0.6], "below_0.9": [False, True]})
    micom = pd.DataFrame({"construct": ["Image", "Loyalty"], "compositional": [True, False],
                          "equal_means": [False, True]})
    perm = pd.DataFrame({"source": ["Image"], "target": ["Loyalty"], "difference": [0.32], "p_permutation": [0.01]})
    mga = pd.DataFrame({"source": ["Image"], "target": ["Loyalty"], "p_two_sided": [0.03]})
    text = conclusions(_headline(predictive_power="medium", predict_target="Loyalty", predict_folds=10,
                                 predict_repetitions=5, q2_positive=18, n_predicted_items=19,
                                 pls_beats_lm_target=2, n_target_items=3),
                       reliability=reliability, pls_paths=paths, htmt_inference=htmt,
                       groups={"split": {"micom": micom, "perm": perm, "mga": mga, "verdict": "none"}})
    assert "below 0.7 for Loyalty" in text
    assert "Value (0.51), Image (0.18)" in text and "Satisfaction → Loyalty is 0.49" in text
    assert "1 of 2 construct pairs" in text and "A–C (0.95, upper 1.01)" in text
    assert "Q²predict > 0 for 18 of 19" in text and "**medium** predictive power" in text
    assert "compositional invariance fails for Loyalty" in text and "composite means differ for Image" in text
    assert "Image → Loyalty (+0.32)" in text and "not interpretable" in text
    assert "NPS 14 (95% CI 4 to 23)" in text
