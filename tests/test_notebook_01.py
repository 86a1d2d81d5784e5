"""Notebook 01 runs in quick mode and its recorded results pass sanity bounds."""

from __future__ import annotations

import pytest


@pytest.mark.notebook
def test_collaborative_filtering_notebook_quick(run_notebook):
    rec = run_notebook("01_collaborative_filtering.ipynb", seed=42)
    ndcg = rec["ndcg"]
    assert set(ndcg) >= {"random", "most_popular", "bias", "user_knn", "item_knn", "biased_mf", "als",
                         "bpr", "ease", "rp3beta"}
    assert 0.12 < rec["most_popular_ndcg"] < 0.28  # ≈ 0.20 on the full data
    assert ndcg["random"] < 0.05
    for name in ("user_knn", "item_knn", "als", "bpr", "ease", "rp3beta"):
        assert ndcg[name] > rec["most_popular_ndcg"], name
    assert rec["ease_ndcg"] > 0.28
    assert rec["best_model"] in {"ease", "item_knn", "user_knn", "rp3beta"}
    rmse = rec["rmse"]
    assert set(rmse) == {"bias", "biased_mf", "user_knn", "item_knn"}
    assert 0.8 < rmse["bias"] < 1.0
    assert rmse["biased_mf"] < rmse["bias"]
    assert rec["arp"]["most_popular"] == max(rec["arp"].values())
    assert rec["n_test_users"] == pytest.approx(0.3 * 671, abs=2)
    # real-time updating: folding new ratings in moves the lists toward what users rate next
    for name, row in rec["fold_in"].items():
        assert row["mean_hits_after"] > row["mean_hits_before"], name
    assert set(rec["fold_in"]) == {"ease", "als", "item_knn", "rp3beta"}
    # the conclusion is generated from this run's numbers: it names this run's winner and its value
    assert rec["relevance"] == "every test item"
    assert rec["conclusion"].startswith(f"With every test item relevant, {rec['best_model']} has the best NDCG@10 "
                                        f"({rec['ndcg_best']:.3f})")


@pytest.mark.notebook
def test_notebook_01_runs_the_factorisation_step_on_spark_without_rating_models(run_notebook):
    # the YAML run cf_movielens_spark: same notebook, the MF step on Spark (local mode)
    rec = run_notebook("01_collaborative_filtering.ipynb", tune=False, algorithms=[
        {"algorithm": "most_popular"},
        {"algorithm": "spark_als", "params": {"factors": 32, "regularization": 0.1, "iterations": 5}},
    ])
    assert set(rec["ndcg"]) == {"most_popular", "spark_als"}
    assert rec["rmse"] == {}
    assert rec["ndcg"]["spark_als"] > rec["ndcg"]["most_popular"]
