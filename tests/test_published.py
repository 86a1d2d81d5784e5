"""The published protocol: its splits, its scoring of stored peer lists and its paired verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_study.protocol import compare
from recsys_study.protocol.published import (PUBLISHED_METRICS, PUBLISHED_SPLITS, PublishedStudy, published_ml100k,
                                             published_protocol, published_split, run_published)
from recsys_study.protocol.relevance import ProtocolError
from recsys_study.split import stratified_split
from test_content import synthetic


def test_published_splits_are_the_2021_realisation_and_ten_seeds_of_the_current_one():
    ratings, _ = synthetic(seed=5, n_users=60, n_items=40)
    assert PUBLISHED_SPLITS[0] == "2021" and len(PUBLISHED_SPLITS) == 11
    old = published_split(ratings, "2021")
    pd.testing.assert_frame_equal(old.train, stratified_split(ratings, filter_by="item", seed=42,
                                                              realisation="2021").train)
    new = published_split(ratings, "1.2.1:7")
    assert new.spec == {"kind": "item_stratified_msr", "ratio": 0.75, "min_rating": 1, "filter_by": "item",
                        "seed": 7, "realisation": "1.2.1"}
    assert not new.train.equals(old.train)
    with pytest.raises(ProtocolError, match="unknown published split"):
        published_split(ratings, "1.2.2:7")


def test_the_published_rows_are_the_2021_run():
    rows = published_ml100k()
    assert list(rows.columns) == list(PUBLISHED_METRICS)
    assert rows.loc["BPR"].tolist() == [0.132478, 0.441997, 0.388229, 0.212522]
    assert rows.loc["BiVAE", "NDCG@10"] == 0.475077


def test_stored_peer_lists_are_scored_exactly_as_our_own_lists():
    # a "peer" whose lists are our item_knn's lists must get our item_knn's per-user values, user by user
    ratings, items = synthetic(seed=2, n_users=50, n_items=40)
    spec = {"algorithm": "item_knn", "params": {"k": 10}}
    lists = []
    for split_id in ("2021", "1.2.1:42"):
        recs = compare([spec], published_split(ratings, split_id), protocol=published_protocol(), log=False,
                       keep_models=False).recommendations
        lists.append(recs.assign(split=split_id, model="Copy"))
    peers = pd.concat(lists, ignore_index=True)
    study = run_published(ratings, [spec, {"algorithm": "most_popular"}], items=items,
                          splits=("2021", "1.2.1:42"), peers=peers)
    pu = study.per_user.pivot_table(index=["split", "user", "metric"], columns="model", values="value")
    assert len(pu) > 100
    np.testing.assert_array_equal(pu["item_knn"].to_numpy(), pu["Copy (re-run)"].to_numpy())
    table = study.table()
    assert table.loc["Copy (re-run)", ("source", "")] == "peer" and table.loc["item_knn", ("source", "")] == "ours"
    assert table.loc["item_knn", ("NDCG@10", "2021")] == table.loc["Copy (re-run)", ("NDCG@10", "2021")]
    tests = study.versus("item_knn", ["Copy (re-run)", "most_popular"])
    same = tests[tests["rival"] == "Copy (re-run)"]
    assert (same["mean_diff"] == 0).all() and (same["p_value"] == 1).all() and not same["significant"].any()
    assert set(tests["splits"]) == {2}


def _study(diff: np.ndarray) -> PublishedStudy:
    rng = np.random.default_rng(0)
    rows = []
    for split in ("2021", "1.2.1:42", "1.2.1:1"):
        base = rng.random(len(diff))
        for metric in PUBLISHED_METRICS:
            rows += [pd.DataFrame({"split": split, "model": m, "user": np.arange(len(diff)), "metric": metric,
                                   "value": v}) for m, v in (("ours", base + diff), ("peer", base))]
    per_user = pd.concat(rows, ignore_index=True)
    summary = per_user.pivot_table(index=["split", "model"], columns="metric", values="value").reset_index()
    summary["source"] = np.where(summary["model"] == "peer", "peer", "ours")
    return PublishedStudy(per_user=per_user, summary=summary, published=published_ml100k(), peer_meta={},
                          wall_time_s=0.0)


def test_versus_pools_split_user_units_and_holm_corrects_over_rivals_and_metrics():
    rng = np.random.default_rng(1)
    study = _study(0.01 + 0.05 * rng.random(100))
    tests = study.versus("ours", ["peer"])
    assert len(tests) == 4 and (tests["n"] == 300).all() and (tests["splits"] == 3).all()
    assert (tests["mean_diff"] > 0).all() and tests["significant"].all()
    smallest = tests["p_value"].min()
    assert tests["p_adjusted"].min() == pytest.approx(min(1.0, 4 * smallest), rel=1e-12)
    lines = study.verdicts("ours")
    assert lines[1].startswith("Against peer on the same 3 splits, paired per user: ahead on 4, behind on 0 of 4")


def test_no_difference_gives_no_verdict_of_a_lead():
    study = _study(np.zeros(100))
    tests = study.versus("ours", ["peer"])
    assert not tests["significant"].any() and (tests["mean_diff"] == 0).all()
