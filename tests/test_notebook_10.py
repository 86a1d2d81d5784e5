"""Notebook 10 (what privacy costs: ε-DP popularity and EASE, forget against refit) in quick mode."""

import pytest


@pytest.mark.notebook
def test_notebook_10_privacy_quick(run_notebook):
    rec = run_notebook("10_privacy.ipynb", seed=42)
    curve = rec["curve"]
    assert set(curve) == {"popularity", "ease"}
    for model, points in curve.items():
        assert set(points) == {"1", "inf"}  # the quick grid and the cap alone
        assert all(0.0 <= v <= 1.0 for v in points.values())
        # no noise ranks better than ε = 1 (two seeds: the t interval is too wide to test against)
        assert points["inf"] > points["1"]
        assert rec["curve_lower"][model]["1"] <= points["1"] <= rec["curve_upper"][model]["1"]
    # the non-private EASE ranks better than the non-private popularity list, and private EASE at ε = 1 does not
    assert rec["ndcg_nonprivate_ease"] > rec["ndcg_nonprivate_popularity"]
    assert curve["ease"]["1"] < rec["ndcg_nonprivate_popularity"]
    # the read-out agrees with the curve it was read from
    for model in ("ease", "popularity"):
        eps = rec[f"smallest_epsilon_{model}"]
        ref = rec[f"ndcg_nonprivate_{model}"]
        finite = {float(e): v for e, v in curve[model].items() if e != "inf"}
        expected = min((e for e, v in finite.items() if v >= 0.9 * ref), default=None)
        assert eps == expected
    # forget equals refit on every score
    assert rec["erasure_max_abs_difference"] < 1e-8
    assert {(r["model"], r["users_forgotten"]) for r in rec["erasure"]} == {("ease", 10), ("item_knn", 10)}
    assert all(r["same_order"] for r in rec["erasure"])
