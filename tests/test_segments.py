"""Per-segment evaluation: labels, hand-computed metrics, and cold items under CF vs content."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_study.evaluation.segments import (
    evaluate_segments,
    label_item_segments,
    label_user_segments,
    per_user,
    recommend_lists,
    segment_metrics,
    segment_summary,
)
from recsys_study.recommenders import registry
from test_content import synthetic


def test_item_segments_head_long_tail_and_new():
    train = pd.DataFrame({"user": range(10), "item": list("AAAAABBBCD")})
    test = pd.DataFrame({"user": [0, 1, 2, 3], "item": ["A", "C", "E", "B"]})
    labels = label_item_segments(test, train, head_frac=0.5)  # 4 train items -> 2 in the head: A, B
    assert labels.tolist() == ["head", "long_tail", "new_item", "head"]


def test_user_segments_by_training_history():
    train = pd.DataFrame({"user": [1, 1, 1, 2], "item": list("abcd")})
    test = pd.DataFrame({"user": [1, 2, 3], "item": list("xyz")})
    assert label_user_segments(test, train, cold_max=1).tolist() == ["warm_user", "cold_user", "cold_user"]


def test_segment_metrics_by_hand():
    recs = pd.DataFrame({"user": [1, 1, 2, 2], "item": ["a", "b", "a", "c"], "rank": [1, 2, 1, 2]})
    test = pd.DataFrame({"user": [1, 1, 2, 2], "item": ["b", "z", "c", "a"], "rating": [5.0, 4.0, 5.0, 2.0],
                         "segment": ["old", "new", "old", "old"]})
    out = segment_metrics(recs, test, k=2, metrics=("ndcg", "recall"), relevance_threshold=4.0)
    val = out.set_index(["segment", "user", "metric"])["value"]
    idcg2 = 1 + 1 / np.log2(3)
    # overall: user 1 relevant {b, z}, hit b at rank 2; user 2 relevant {c} (a is rated 2), hit at rank 2
    assert val[("overall", 1, "NDCG@2")] == pytest.approx((1 / np.log2(3)) / idcg2)
    assert val[("overall", 2, "NDCG@2")] == pytest.approx(1 / np.log2(3))
    assert val[("old", 1, "NDCG@2")] == pytest.approx(1 / np.log2(3))
    assert val[("new", 1, "Recall@2")] == 0.0
    assert ("new", 2, "NDCG@2") not in val.index  # user 2 has no relevant item in "new"


def test_segment_metrics_needs_a_segment_column():
    recs = pd.DataFrame({"user": [1], "item": ["a"], "rank": [1]})
    with pytest.raises(KeyError, match="segment"):
        segment_metrics(recs, pd.DataFrame({"user": [1], "item": ["a"]}), k=1)


def test_cold_items_score_zero_for_cf_and_above_zero_for_content():
    ratings, items = synthetic(seed=8, n_users=60, n_items=40)
    # every user likes one genre; hold out some Action items entirely (cold items)
    action = items[items["genres"].map(lambda g: "Action" in g)]["item"].to_numpy()
    cold = action[:4]
    rows = [(u, i, 5.0) for u in range(30) for i in action]
    rows += [(u, i, 1.0) for u in range(30) for i in items["item"][~items["item"].isin(action)][:5]]
    df = pd.DataFrame(rows, columns=["user", "item", "rating"])
    train = df[~df["item"].isin(cold)]
    test = df[df["item"].isin(cold)].assign(segment="cold_item")
    models = {name: registry.make(name).fit(train, items=items) for name in ("most_popular", "content_profile")}
    res = evaluate_segments(models, test, k=10, metrics=("ndcg",))
    table = segment_summary(res)
    assert table.loc["most_popular", "cold_item"] == 0.0
    assert table.loc["content_profile", "cold_item"] > 0.0
    assert table.loc["n_users", "overall"] == 30
    assert len(per_user(res, "content_profile", metric="NDCG@10")) == 30
    # lists computed once and shared with other list metrics score the same
    lists = recommend_lists(models, test["user"].unique(), k=10)
    pd.testing.assert_frame_equal(evaluate_segments(models, test, k=10, metrics=("ndcg",), lists=lists), res)
