"""Parameter recovery: the oracle, the Monte Carlo summaries and pass rates (notebook 05, section 6)."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.data.survey import simulate_survey
from recsys_study.satisfaction import (
    ecsi_model, monte_carlo_recovery, oracle_paths, recovery_by_sample_size, recovery_pass_rates,
    summarise_recovery,
)


def test_oracle_paths_are_standardised_ols_from_the_correlation_matrix():
    survey = simulate_survey("ecsi", 600, seed=5)
    paths = oracle_paths(survey.latent, survey.model).set_index(["source", "target"])["estimate"]
    R = survey.latent.corr()
    # a lone antecedent: the standardised slope is the correlation
    assert paths["Image", "Expectation"] == pytest.approx(R.loc["Image", "Expectation"], abs=1e-12)
    # several antecedents: beta = R_xx^-1 r_xy (normal equations on correlations)
    xs = ["Image", "Expectation", "Quality", "Value"]
    beta = np.linalg.solve(R.loc[xs, xs].to_numpy(), R.loc[xs, "Satisfaction"].to_numpy())
    np.testing.assert_allclose([paths[x, "Satisfaction"] for x in xs], beta, atol=1e-12)
    assert len(paths) == len(ecsi_model().paths)


def test_oracle_converges_to_the_true_paths():
    survey = simulate_survey("ecsi", 100_000, seed=11)
    got = oracle_paths(survey.latent, survey.model).merge(survey.true_paths, on=["source", "target"])
    assert (got["estimate"] - got["value"]).abs().max() < 0.012


def _runs():
    # 2 estimators x 2 replications x 3 paths; errors chosen by hand
    rows = []
    errors = {("A", 0): [0.01, -0.02, 0.04], ("A", 1): [0.06, 0.0, -0.01],
              ("B", 0): [0.10, -0.10, 0.0], ("B", 1): [0.0, 0.0, 0.0]}
    covered = {("A", 0): [True, True, True], ("A", 1): [False, True, True]}
    for (est, rep), errs in errors.items():
        for p, e in enumerate(errs):
            rows.append({"estimator": est, "replication": rep, "source": f"s{p}", "target": "t", "value": 0.5,
                         "estimate": 0.5 + e, "error": e, "within_tolerance": abs(e) <= 0.05,
                         "covered": covered[est, rep][p] if (est, rep) in covered else np.nan})
    return pd.DataFrame(rows)


def test_pass_rates_by_hand():
    rates = recovery_pass_rates(_runs()).set_index("estimator")
    assert rates.loc["A", "all_within"] == 0.5           # rep 0 yes, rep 1 misses by 0.06
    assert rates.loc["B", "all_within"] == 0.5
    assert rates.loc["A", "mean_within"] == 2.5           # 3 and 2 paths within
    assert rates.loc["A", "max_abs_error"] == pytest.approx(0.05)   # median of 0.04 and 0.06
    assert rates.loc["A", "mean_coverage"] == pytest.approx(5 / 6)
    assert rates.loc["A", "covered_at_least"] == 1.0      # all-but-one of 3 = 2 covered in both reps
    assert np.isnan(rates.loc["B", "mean_coverage"])      # no CIs drawn for B
    strict = recovery_pass_rates(_runs(), min_covered=3).set_index("estimator")
    assert strict.loc["A", "covered_at_least"] == 0.5


def test_summary_by_hand():
    s = summarise_recovery(_runs()).set_index(["estimator", "source"])
    a0 = s.loc[("A", "s0")]
    assert a0["bias"] == pytest.approx(0.035) and a0["relative_bias"] == pytest.approx(0.07)
    assert a0["rmse"] == pytest.approx(np.sqrt((0.01**2 + 0.06**2) / 2))
    assert a0["share_within"] == 0.5 and a0["coverage"] == 0.5
    assert s.loc[("B", "s1"), "sd"] == pytest.approx(np.std([-0.10, 0.0], ddof=1))


def test_monte_carlo_shows_pls_attenuation_and_an_unbiased_plsc():
    runs = monte_carlo_recovery("ecsi", 2000, 8, seed=3)
    summary = summarise_recovery(runs).set_index("estimator")
    pls, plsc, oracle = (summary.loc[e] for e in ("PLS", "PLSc", "oracle"))
    # strong paths shrink by ~10% under mode A; PLSc and the oracle stay unbiased
    assert pls.loc[pls["value"] >= 0.5, "relative_bias"].max() < -0.05
    assert plsc["bias"].abs().max() < 0.02 and oracle["bias"].abs().max() < 0.02
    # measurement error costs PLSc precision, never below the oracle's sampling floor on average
    assert plsc["sd"].mean() > oracle["sd"].mean()


def test_bootstrap_cis_keep_close_to_nominal_coverage():
    runs = monte_carlo_recovery("ecsi", 1000, 16, seed=8, n_boot=100, oracle=False)
    rates = recovery_pass_rates(runs).set_index("estimator")
    assert 0.88 <= rates.loc["PLSc", "mean_coverage"] <= 1.0
    assert np.isnan(rates.loc["PLS", "mean_coverage"])


def test_more_respondents_pin_every_path():
    by_n = recovery_by_sample_size("acsi", (300, 4000), 6, seed=1).set_index(["estimator", "n"])["all_within"]
    assert by_n["PLSc", 4000] >= 5 / 6 > by_n["PLSc", 300]
    assert by_n["oracle", 4000] == 1.0
