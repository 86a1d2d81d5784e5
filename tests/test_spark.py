"""Spark ALS (local mode): the factorisation step behind the recommender interface, and the whole
split → fit → top-k → RankingEvaluator step on Spark, checked against our metric functions.

One SparkSession (``local[1]``) serves the whole module; the data are tiny, so the JVM start-up
(~10 s) is most of the cost.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys_study.constants import ITEM, RANK, RATING, USER
from recsys_study.data import load_movielens, synthetic
from recsys_study.evaluation.ranking import map_at_k, ndcg_at_k, precision_at_k, recall_at_k
from recsys_study.recommenders import registry
from recsys_study.recommenders.spark import (spark_evaluate, spark_ranking_metrics, spark_session,
                                             spark_user_split)
from recsys_study.split import user_stratified_split

OURS = {"Precision": precision_at_k, "Recall": recall_at_k, "NDCG": ndcg_at_k, "MAP": map_at_k}


@pytest.fixture(scope="module")
def spark():
    return spark_session("local[1]", shuffle_partitions=1)


@pytest.fixture(scope="module")
def tiny_split(tmp_path_factory):
    """A 200-user, 80-item power-law sample split per user by our splitter, written as parquet."""
    data = synthetic.interactions(200, 80, 2500, seed=5)[[USER, ITEM, RATING]]
    split = user_stratified_split(data, seed=5)
    root = tmp_path_factory.mktemp("spark_tiny")
    split.train.to_parquet(root / "train.parquet")
    split.test.to_parquet(root / "test.parquet")
    data.to_parquet(root / "all.parquet")
    return root, split


def test_explicit_spark_als_recovers_a_low_rank_rating_matrix(spark):
    rng = np.random.default_rng(0)
    users, items = rng.normal(size=(40, 2)), rng.normal(size=(30, 2))
    full = users @ items.T + 3.0
    mask = rng.random(full.shape) < 0.6
    u, i = np.nonzero(mask)
    train = pd.DataFrame({USER: u, ITEM: i, RATING: full[u, i]})
    model = registry.make("spark_als", factors=3, regularization=0.01, iterations=10,
                          implicit_prefs=False).fit(train)
    assert model.predicts_ratings
    # unseen cells of the rank-2 (+ constant) matrix are predicted far better than by the mean
    hold_u, hold_i = np.nonzero(~mask)
    pred = model.predict(pd.DataFrame({USER: hold_u, ITEM: hold_i}))
    truth = full[hold_u, hold_i]
    rmse = np.sqrt(np.mean((pred - truth) ** 2))
    assert rmse < 0.5 * np.std(truth)  # measured: 0.027 · std at 10 iterations (0.025 at 25)


def test_implicit_spark_als_is_a_personalised_ranker_on_movielens(spark):
    data = load_movielens(sample_frac=0.15, seed=3)
    split = user_stratified_split(data.interactions, seed=3)
    truth = split.test[[USER, ITEM]]
    users = truth[USER].unique()
    scores = {}
    for name, params in (("spark_als", {"factors": 32, "regularization": 0.1, "iterations": 10}),
                         ("most_popular", {})):
        model = registry.make(name, **params).fit(split.train)
        scores[name] = float(ndcg_at_k(model.recommend(users, k=10), truth, 10).mean())
    # measured: 0.254 vs 0.212 on this 15% sample (ALS blocks = 1 on local[1]). (implicit's ALS with the same numbers gives
    # 0.203: Spark scales lambda by each user's and item's rating count, "ALS-WR", implicit does not.)
    assert scores["spark_als"] > scores["most_popular"]
    assert not registry.make("spark_als").predicts_ratings


def test_ranking_evaluator_matches_hand_computed_metrics_and_ours(spark):
    k = 3
    recs = pd.DataFrame({USER: [1, 1, 1, 1, 2, 2, 4], ITEM: [10, 20, 30, 40, 10, 20, 10],
                         RANK: [1, 2, 3, 4, 1, 2, 1]})
    truth = pd.DataFrame({USER: [1, 1, 2, 2, 2, 2, 2, 3], ITEM: [20, 40, 10, 20, 30, 40, 50, 10]})
    # user 1: hit at rank 2 (item 40 at rank 4 lies beyond k); |R| = 2.
    # user 2: a short list of 2, both hits; |R| = 5 > k. user 3: no list (scores 0). user 4: no truth (ignored).
    g = 1 / math.log2(3)
    hand = {
        "Precision@3": (1 / 3 + 2 / 3 + 0) / 3,
        "Recall@3": (1 / 2 + 2 / 5 + 0) / 3,
        "NDCG@3": (g / (1 + g) + (1 + g) / (1 + g + 0.5) + 0) / 3,
        "MAP@3": ((1 / 2) / 2 + (1 / 1 + 2 / 2) / 3 + 0) / 3,  # AP normalised by min(|R|, k)
    }
    got = spark_ranking_metrics(spark.createDataFrame(recs), spark.createDataFrame(truth), k)
    ours = {f"{name}@{k}": float(fn(recs, truth, k).mean()) for name, fn in OURS.items()}
    assert got.keys() == hand.keys()
    for key in hand:
        assert got[key] == pytest.approx(hand[key], abs=1e-12), key
        assert ours[key] == pytest.approx(hand[key], abs=1e-12), key


def test_spark_map_without_cut_divides_by_all_relevant_items(spark):
    # the definitional difference that remains: RankingEvaluator's "meanAveragePrecision" (no k)
    # divides by |R| (TREC / ranx), MAP@k by min(|R|, k) (ours): user 2 above scores 2/5 vs 2/3
    from pyspark.ml.evaluation import RankingEvaluator

    frame = spark.createDataFrame([([10.0, 20.0], [10.0, 20.0, 30.0, 40.0, 50.0])], ["prediction", "label"])
    evaluator = RankingEvaluator(k=3)
    assert evaluator.evaluate(frame, {evaluator.metricName: "meanAveragePrecision"}) == pytest.approx(2 / 5)
    assert evaluator.evaluate(frame, {evaluator.metricName: "meanAveragePrecisionAtK"}) == pytest.approx(2 / 3)


def test_spark_evaluate_on_a_given_split_scores_unseen_lists_exactly_as_ours(spark, tiny_split, tmp_path):
    root, split = tiny_split
    k = 5
    out = spark_evaluate(str(root / "train.parquet"), test_path=str(root / "test.parquet"), k=k,
                         factors=8, iterations=3, rating_col=RATING, master="local[1]",
                         recommendations_path=str(tmp_path / "recs"), seed=1)
    recs = pd.read_parquet(tmp_path / "recs")
    truth = split.test[[USER, ITEM]]
    assert out["n_train"] == len(split.train) and out["n_test"] == len(split.test)
    assert out["n_test_users"] == truth[USER].nunique()
    # lists: k unseen items per test user, ranks 1..k in falling score
    assert recs.merge(split.train[[USER, ITEM]], on=[USER, ITEM]).empty
    sizes = recs.groupby(USER).size()
    assert set(sizes.index) == set(truth[USER]) and (sizes == k).all()
    recs = recs.sort_values([USER, RANK])
    assert (recs.groupby(USER)[RANK].apply(list).map(lambda r: r == list(range(1, k + 1)))).all()
    assert (recs.groupby(USER)["score"].diff().dropna() <= 0).all()
    for name, fn in OURS.items():
        assert out[f"{name}@{k}"] == pytest.approx(float(fn(recs, truth, k).mean()), abs=1e-12), name


def test_spark_user_split_follows_the_per_user_holdout_rule(spark, tiny_split):
    root, _ = tiny_split
    data = pd.read_parquet(root / "all.parquet")
    from recsys_study.recommenders.spark import read_interactions

    train, test = spark_user_split(read_interactions(spark, str(root / "all.parquet")), test_frac=0.25, seed=3)
    train, test = train.toPandas(), test.toPandas()
    assert len(train) + len(test) == len(data)
    assert train.merge(test, on=[USER, ITEM]).empty
    n = data.groupby(USER).size()
    want = np.minimum(np.floor(0.25 * n + 0.5), n - 1).astype(int)
    got = test.groupby(USER).size().reindex(n.index, fill_value=0)
    assert (got == want).all()


def test_spark_evaluate_splits_on_spark_when_no_test_part_is_given(spark, tiny_split):
    root, _ = tiny_split
    data = pd.read_parquet(root / "all.parquet")
    out = spark_evaluate(str(root / "all.parquet"), k=5, test_frac=0.25, factors=4, iterations=2, seed=2)
    n = data.groupby(USER).size()
    n_test = int(np.minimum(np.floor(0.25 * n + 0.5), n - 1).sum())
    assert (out["n_train"], out["n_test"]) == (len(data) - n_test, n_test)
    assert out["n_test_users"] == int((np.minimum(np.floor(0.25 * n + 0.5), n - 1) > 0).sum())
    assert all(0.0 < out[f"{name}@5"] < 1.0 for name in OURS)


def test_session_takes_shuffle_partitions_and_checkpoint_dir(spark, tmp_path):
    session = spark_session("local[1]", shuffle_partitions=3, checkpoint_dir=str(tmp_path / "ckpt"))
    try:
        assert session is spark
        assert session.conf.get("spark.sql.shuffle.partitions") == "3"
        assert session.sparkContext.getCheckpointDir().startswith(f"file:{tmp_path / 'ckpt'}")
    finally:
        spark_session("local[1]", shuffle_partitions=1)


def test_spark_evaluate_names_the_problem_with_its_input(spark, tmp_path):
    with pytest.raises(FileNotFoundError, match="no parquet"):
        spark_evaluate(str(tmp_path / "missing.parquet"))
    pd.DataFrame({USER: ["a", "b"], ITEM: [1, 2]}).to_parquet(tmp_path / "strings.parquet")
    with pytest.raises(ValueError, match="integer ids"):
        spark_evaluate(str(tmp_path / "strings.parquet"))
    pd.DataFrame({"customer": [1, 2], ITEM: [1, 2]}).to_parquet(tmp_path / "cols.parquet")
    with pytest.raises(ValueError, match="user_col="):
        spark_evaluate(str(tmp_path / "cols.parquet"))
