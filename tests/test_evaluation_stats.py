"""Tests of recsys_study.evaluation.stats against scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from recsys_study.evaluation.stats import (
    benjamini_hochberg,
    bootstrap_ci,
    compare_models,
    holm,
    paired_test,
)


def test_bootstrap_ci_covers_the_mean_with_the_normal_width():
    x = np.random.default_rng(0).normal(loc=2.0, scale=1.0, size=400)
    mean, lo, hi = bootstrap_ci(x, n_boot=2000, seed=1)
    assert mean == pytest.approx(x.mean())
    assert lo < x.mean() < hi and lo < 2.0 < hi
    normal_width = 2 * 1.959964 * x.std(ddof=1) / np.sqrt(x.size)
    assert hi - lo == pytest.approx(normal_width, rel=0.1)


def test_bootstrap_ci_is_deterministic_given_seed_and_narrows_with_alpha():
    x = np.arange(50, dtype=float) ** 1.5
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)
    assert bootstrap_ci(x, seed=3) != bootstrap_ci(x, seed=4)
    _, lo95, hi95 = bootstrap_ci(x, seed=3, alpha=0.05)
    _, lo50, hi50 = bootstrap_ci(x, seed=3, alpha=0.5)
    assert lo95 < lo50 < hi50 < hi95
    assert bootstrap_ci([5.0, 5.0, 5.0], seed=0) == (5.0, 5.0, 5.0)


def test_bootstrap_ci_chunking_matches_an_explicit_resample(monkeypatch):
    import recsys_study.evaluation.stats as stats_module

    x = np.random.default_rng(2).exponential(size=30)
    idx = np.random.default_rng(9).integers(0, 30, size=(500, 30))
    expected = np.quantile(x[idx].mean(axis=1), [0.025, 0.975])
    monkeypatch.setattr(stats_module, "_CHUNK_ELEMENTS", 30 * 500)  # one chunk = same draws
    _, lo, hi = bootstrap_ci(x, n_boot=500, seed=9)
    np.testing.assert_allclose([lo, hi], expected)


@pytest.mark.parametrize("bad", [[], [1.0, np.nan]])
def test_bootstrap_ci_rejects_empty_or_nan(bad):
    with pytest.raises(ValueError):
        bootstrap_ci(bad, seed=0)


@pytest.fixture
def paired():
    rng = np.random.default_rng(7)
    users = pd.Index([f"u{i}" for i in range(60)], name="user")
    b = pd.Series(rng.uniform(0, 1, 60), index=users)
    a = b + rng.normal(0.05, 0.1, 60)
    return a, b


@pytest.mark.parametrize("method,ref", [("wilcoxon", sps.wilcoxon), ("t", sps.ttest_rel)])
def test_paired_test_agrees_with_scipy(paired, method, ref):
    a, b = paired
    got = paired_test(a, b, method=method)
    expected = ref(a.to_numpy(), b.to_numpy())
    assert got["statistic"] == pytest.approx(expected.statistic)
    assert got["p_value"] == pytest.approx(expected.pvalue)
    assert got["n"] == 60 and got["mean_diff"] == pytest.approx((a - b).mean())


def test_paired_test_aligns_users_and_drops_missing(paired):
    a, b = paired
    shuffled = b.sample(frac=1.0, random_state=0)
    assert paired_test(a, shuffled) == paired_test(a, b)
    partial = a.drop(["u0", "u1"]).copy()
    partial["u5"] = np.nan
    assert paired_test(partial, b)["n"] == 57


def test_paired_test_identical_inputs_and_errors(paired):
    a, _ = paired
    assert paired_test(a, a, method="t") == {"statistic": 0.0, "p_value": 1.0, "n": 60, "mean_diff": 0.0}
    with pytest.raises(ValueError, match="unknown method"):
        paired_test(a, a, method="sign")
    with pytest.raises(ValueError, match="at least 2 common users"):
        paired_test(a.iloc[:1], a.iloc[:1])


def test_holm_and_bh_agree_with_statsmodels():
    p = np.random.default_rng(4).uniform(0, 0.2, size=25) ** 2
    p[3] = p[7]  # a tie
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], rtol=0, atol=1e-15)


def test_corrections_hand_example_keep_nans_and_series_index():
    p = pd.Series([0.01, 0.04, np.nan, 0.03], index=list("abcd"))
    # Holm, m = 3, sorted 0.01, 0.03, 0.04 -> 0.03, 0.06, 0.06 (monotone)
    np.testing.assert_allclose(holm(p).to_numpy(), [0.03, 0.06, np.nan, 0.06])
    # BH: 0.01*3/1 = 0.03, 0.03*3/2 = 0.045, 0.04*3/3 = 0.04 -> min from the top: 0.03, 0.04, 0.04
    np.testing.assert_allclose(benjamini_hochberg(p).to_numpy(), [0.03, 0.04, np.nan, 0.04])
    assert list(holm(p).index) == list("abcd")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.5, 1.5])


def test_compare_models_tests_each_model_against_the_baseline(paired):
    a, b = paired
    worse = b - 0.001 * np.arange(60)
    frames = [pd.DataFrame({"user": s.index, "model": name, "metric": "ndcg", "value": s.to_numpy()})
              for name, s in (("pop", b), ("als", a), ("knn", worse))]
    noise = frames[0].assign(metric="recall", value=0.0)
    per_user = pd.concat(frames + [noise], ignore_index=True)
    got = compare_models(per_user, "ndcg", "pop").set_index("model")
    assert sorted(got.index) == ["als", "knn"]
    for model, s in (("als", a), ("knn", worse)):
        direct = paired_test(s, b)
        assert got.loc[model, "p_value"] == pytest.approx(direct["p_value"])
        assert got.loc[model, "mean_diff"] == pytest.approx(direct["mean_diff"])
    np.testing.assert_allclose(got["p_adjusted"], holm(got["p_value"].to_numpy()))
    assert got.loc["als", "mean"] == pytest.approx(a.mean()) and got.loc["als", "significant"]
    with pytest.raises(ValueError, match="baseline 'nope'"):
        compare_models(per_user, "ndcg", "nope")
    with pytest.raises(ValueError, match="metric 'map'"):
        compare_models(per_user, "map", "pop")
