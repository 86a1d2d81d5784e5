"""Segment labels of the protocol, and cold items under collaborative vs content models."""

from __future__ import annotations

import pandas as pd

from recsys_study.protocol import Protocol, compare
from recsys_study.protocol.core import segment_labels
from recsys_study.split import Split
from test_content import synthetic


def test_popularity_segments_head_long_tail_and_new():
    train = pd.DataFrame({"user": range(10), "item": list("AAAAABBBCD")})
    truth = pd.DataFrame({"user": [0, 1, 2, 3, 4], "item": ["A", "C", "E", "B", "D"]})
    labels = segment_labels("popularity", truth, Split(train=train, test=truth))  # 4 items -> 1 in the head
    assert labels.tolist() == ["head", "long_tail", "new_item", "long_tail", "long_tail"]


def test_cold_user_segments_by_training_history():
    train = pd.DataFrame({"user": [1, 1, 1, 1, 1, 1, 2], "item": list("abcdefg")})
    truth = pd.DataFrame({"user": [1, 2, 3], "item": list("xyz")})
    assert segment_labels("cold_user", truth, Split(train=train, test=truth)).tolist() == [
        "warm_user", "cold_user", "cold_user"]


def test_activity_quartiles_cover_every_user_once():
    train = pd.DataFrame({"user": [u for u in range(8) for _ in range(u + 1)], "item": range(36)})
    truth = pd.DataFrame({"user": range(8), "item": range(100, 108)})
    labels = segment_labels("activity", truth, Split(train=train, test=truth))
    assert labels.nunique() == 4 and labels.value_counts().tolist() == [2, 2, 2, 2]
    assert labels.iloc[0].startswith("Q1 (1-") and labels.iloc[-1].startswith("Q4")


def test_genre_segments_repeat_a_row_per_genre():
    items = pd.DataFrame({"item": ["a", "b"], "genres": [["Drama", "War"], ["Comedy"]]})
    truth = pd.DataFrame({"user": [1, 1], "item": ["a", "b"]})
    labels = segment_labels("genre", truth, Split(train=truth, test=truth), items=items)
    assert sorted(labels.tolist()) == ["Comedy", "Drama", "War"]


def test_cold_items_score_zero_for_cf_and_above_zero_for_content():
    ratings, items = synthetic(seed=8, n_users=60, n_items=40)
    action = items[items["genres"].map(lambda g: "Action" in g)]["item"].to_numpy()
    cold = action[:4]
    rows = [(u, i, 5.0) for u in range(30) for i in action]
    rows += [(u, i, 1.0) for u in range(30) for i in items["item"][~items["item"].isin(action)][:5]]
    df = pd.DataFrame(rows, columns=["user", "item", "rating"])
    split = Split(train=df[~df["item"].isin(cold)], test=df[df["item"].isin(cold)].assign(segment="cold_item"))
    comp = compare(["most_popular", "content_profile"], split, protocol=Protocol(k=10, metrics=("ndcg",)),
                   items=items, segments=("split",), log=False)
    table = comp.segment_summary("NDCG@10", kind="split")
    assert table.loc["most_popular", "cold_item"] == 0.0
    assert table.loc["content_profile", "cold_item"] > 0.0
    assert table.loc["n_users", "overall"] == 30
    assert len(comp.values("content_profile", "NDCG@10")) == 30
