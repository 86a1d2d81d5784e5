"""The protocol layer: hand-checkable per-user rows, one relevance rule and one item universe for every
model, errors instead of silent NaN, and tuning that only ever sees validation data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys_study import tracking
from recsys_study.constants import ITEM, RATING, USER
from recsys_study.protocol import (
    Protocol,
    ProtocolError,
    RelevancePolicy,
    compare,
    confidence_intervals,
    evaluate,
    parameter_grid,
    tune,
    tune_specs,
    validation_split,
)
from recsys_study.recommenders import registry
from recsys_study.split import Split, user_stratified_split

TRAIN = pd.DataFrame({USER: ["a", "b", "c", "a", "b", "c", "d"],
                      ITEM: ["x", "x", "x", "y", "y", "z", "w"],
                      RATING: [4.0, 3.0, 5.0, 2.0, 4.0, 3.0, 1.0]})
TEST = pd.DataFrame({USER: ["a", "a", "b"], ITEM: ["z", "w", "w"], RATING: [5.0, 2.0, 4.0]})
SPLIT = Split(train=TRAIN, test=TEST, spec={"kind": "hand"})
ITEMS = pd.DataFrame({ITEM: ["x", "y", "z", "w", "new"], "title": list("XYZWN"),
                      "genres": [["A"], ["A"], ["A"], ["B"], ["B"]], "year": [2000] * 5})


def _value(frame, user, metric):
    return frame.loc[(frame[USER] == user) & (frame["metric"] == metric), "value"].item()


def test_evaluate_returns_hand_computed_per_user_rows_and_timings():
    # most_popular lists for a and b (x, y seen): z then w (tie on popularity 1, broken by index)
    frame = evaluate(registry.make("most_popular"), SPLIT, k=2, metrics=("ndcg", "precision", "coverage", "arp"),
                     log=False)
    assert list(frame.columns) == ["model", "user", "metric", "value"]
    assert _value(frame, "a", "NDCG@2") == pytest.approx(1.0)
    assert _value(frame, "b", "NDCG@2") == pytest.approx(1 / math.log2(3))
    assert _value(frame, "b", "Precision@2") == pytest.approx(0.5)
    assert _value(frame, "a", "ARP@2") == pytest.approx(1.0)
    summary = frame.attrs["summary"]
    assert summary["NDCG@2"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert summary["Coverage@2"] == pytest.approx(2 / 4)  # z and w out of the split's 4 items
    assert summary["relevance"] == "every test item" == frame.attrs["relevance"]
    assert summary["fit_time_s"] >= 0 and summary["recommend_time_s"] > 0


def test_relevance_threshold_keeps_only_highly_rated_test_items():
    frame = evaluate(registry.make("most_popular"), SPLIT, k=2, metrics=("recall",), relevance=4.0, log=False)
    # a's relevant set is {z} (w rated 2): recall 1; b's is {w}: recall 1
    assert _value(frame, "a", "Recall@2") == pytest.approx(1.0)
    assert _value(frame, "b", "Recall@2") == pytest.approx(1.0)
    assert frame.attrs["relevance"] == "rating >= 4"


def test_a_threshold_above_every_rating_is_an_error_not_nan_over_zero_users():
    with pytest.raises(ProtocolError, match=r"no test interaction is relevant under 'rating >= 6'.*2 to 5.*lower"):
        evaluate(registry.make("most_popular"), SPLIT, k=2, metrics=("ndcg",), relevance=6.0, log=False)


def test_diversity_without_item_genres_is_an_error_naming_the_fix():
    with pytest.raises(ProtocolError, match="items=dataset.items"):
        evaluate(registry.make("most_popular"), SPLIT, k=2, metrics=("diversity",), log=False)
    frame = evaluate(registry.make("most_popular"), SPLIT, k=2, metrics=("diversity",), items=ITEMS, log=False)
    # both lists are [z, w]: genres A and B share nothing, so ILD = 1 − cos = 1
    assert _value(frame, "a", "ILD@2") == pytest.approx(1.0)


def test_rating_metrics_are_global_in_summary_and_per_user_in_rows():
    model = registry.make("bias", damping_user=0.0, damping_item=0.0)
    frame = evaluate(model, SPLIT, k=2, metrics=("rmse", "mae"), log=False)
    pred = registry.make("bias", damping_user=0.0, damping_item=0.0).fit(TRAIN).predict(TEST)
    err = TEST[RATING].to_numpy() - pred
    assert frame.attrs["summary"]["RMSE"] == pytest.approx(np.sqrt(np.mean(err ** 2)))
    assert _value(frame, "b", "MAE") == pytest.approx(abs(err[2]))
    assert _value(frame, "a", "RMSE") == pytest.approx(np.sqrt(np.mean(err[:2] ** 2)))


def test_ranking_only_models_leave_rating_metrics_blank_and_the_run_says_so():
    comp = compare({"pop": {"algorithm": "most_popular"}}, SPLIT, k=2, metrics=("rmse", "ndcg"),
                   experiment="test_protocol_blank")
    assert math.isnan(comp.summary.loc[0, "RMSE"])
    assert set(comp.per_user["metric"]) == {"NDCG@2"}
    runs = tracking.search_runs("test_protocol_blank")
    assert runs["tags.metrics_not_computed"].iloc[0] == "RMSE"


def test_every_model_of_a_comparison_has_the_same_relevance_rule_and_item_universe():
    # content models see the 5-item catalogue, collaborative ones 4 training items: one universe for all
    comp = compare(["most_popular", "content_profile", "random"], SPLIT, k=2,
                   metrics=("coverage", "gini", "auc", "ndcg"), relevance=RelevancePolicy(4.0), items=ITEMS,
                   log=False)
    assert comp.summary["relevance"].tolist() == ["rating >= 4"] * 3
    assert comp.summary["n_catalogue_items"].tolist() == [5, 5, 5]
    pop = comp.summary.set_index("model").loc["most_popular"]
    assert pop["Coverage@2"] == pytest.approx(2 / 5)
    with pytest.raises(ProtocolError, match="not both"):
        compare(["most_popular"], SPLIT, protocol=Protocol(k=2), k=3, log=False)


def test_several_cutoffs_come_from_one_list():
    comp = compare(["most_popular"], SPLIT, protocol=Protocol(k=2, k_list=(1,), metrics=("precision",)), log=False)
    row = comp.summary.iloc[0]
    assert row["Precision@1"] == pytest.approx((1 + 0) / 2)   # a: z relevant; b: z not
    assert row["Precision@2"] == pytest.approx((1.0 + 0.5) / 2)
    assert comp.recommendations.groupby("user").size().max() == 2


def test_kept_cold_items_count_as_relevant_like_published_tables():
    split = user_stratified_split(pd.concat([TRAIN, TEST.assign(item=["z", "w", "new"])]), test_frac=0.4, seed=1)
    assert split.test_cold_items is not None
    if split.test_cold_items.empty:  # the only rating of "new" landed in train: force the case by hand
        split = Split(train=TRAIN, test=TEST, test_cold_items=pd.DataFrame({USER: ["b"], ITEM: ["new"],
                                                                             RATING: [5.0]}))
    ours = evaluate("most_popular", split, k=2, metrics=("recall",), log=False).attrs["summary"]["Recall@2"]
    kept = evaluate("most_popular", split, k=2, metrics=("recall",), relevance=RelevancePolicy(keep_cold_items=True),
                    log=False).attrs["summary"]["Recall@2"]
    assert kept < ours  # an item no model can recommend only adds to the denominator


def test_compare_returns_tidy_frames_and_logs_one_run_per_model_with_the_policy():
    comp = compare({"pop": registry.make("most_popular"), "rand": {"algorithm": "random"}},
                   SPLIT, k=2, metrics=("ndcg", "hit_rate"), relevance=4.0, experiment="test_protocol_compare")
    assert set(comp.per_user["model"]) == {"pop", "rand"}
    assert list(comp.summary["model"]) == ["pop", "rand"]
    runs = tracking.search_runs("test_protocol_compare")
    assert len(runs) == 2
    assert set(runs["params.relevance"]) == {"rating >= 4"}
    logged = runs.set_index("tags.model").loc["pop", "metrics.NDCG_at_2"]
    assert logged == pytest.approx(comp.summary.set_index("model").loc["pop", "NDCG@2"])


def test_confidence_intervals_bracket_the_mean():
    comp = compare([{"algorithm": "most_popular"}], SPLIT, k=2, metrics=("ndcg",), log=False)
    row = confidence_intervals(comp.per_user, n_boot=200, seed=1).iloc[0]
    assert row["lower"] <= row["mean"] <= row["upper"]
    assert row["n"] == 2


def test_segments_are_scored_on_the_same_lists_by_hand():
    test = TEST.assign(segment=["old", "new", "old"])
    split = Split(train=TRAIN, test=test)
    comp = compare(["most_popular"], split, protocol=Protocol(k=2, metrics=("ndcg",), segment_metrics=("ndcg", "recall")),
                   segments=("split", "cold_user"), log=False)
    val = comp.segments.set_index(["segment_kind", "segment", "user", "metric"])["value"]
    # a's list is z, w: z ("old") at rank 1, w ("new") at rank 2; b's list z, w: w ("old") at rank 2
    assert val[("split", "old", "a", "NDCG@2")] == pytest.approx(1.0)
    assert val[("split", "new", "a", "NDCG@2")] == pytest.approx(1 / math.log2(3))
    assert val[("split", "old", "b", "Recall@2")] == pytest.approx(1.0)
    assert ("split", "new", "b", "NDCG@2") not in val.index  # b has nothing relevant in "new"
    assert set(comp.segments.loc[comp.segments["segment_kind"] == "cold_user", "segment"]) == {"cold_user"}
    table = comp.segment_summary("NDCG@2", kind="split")
    assert table.loc["n_users", "overall"] == 2 and table.loc["n_users", "new"] == 1
    assert "every test item" in table.columns.name


def test_split_segments_need_a_segment_column():
    with pytest.raises(ProtocolError, match="cold_start_split"):
        compare(["most_popular"], SPLIT, k=2, metrics=("ndcg",), segments=("split",), log=False)


def _movie_like(seed=0, n_users=40, n_items=30):
    rng = np.random.default_rng(seed)
    pop = rng.zipf(1.6, n_items).astype(float)
    rows = [(u, int(i)) for u in range(n_users)
            for i in rng.choice(n_items, size=12, replace=False, p=pop / pop.sum())]
    frame = pd.DataFrame(rows, columns=[USER, ITEM])
    frame[RATING] = rng.integers(1, 6, len(frame)).astype(float)
    return frame


def test_validation_split_is_carved_from_train_only():
    split = user_stratified_split(_movie_like(), test_frac=0.25, seed=3)
    inner = validation_split(split.train, valid_frac=0.25, seed=3)
    key = [USER, ITEM]
    train_pairs = set(map(tuple, split.train[key].to_numpy()))
    assert set(map(tuple, inner.train[key].to_numpy())) <= train_pairs
    assert set(map(tuple, inner.test[key].to_numpy())) <= train_pairs
    assert not set(map(tuple, inner.test[key].to_numpy())) & set(map(tuple, split.test[key].to_numpy()))


def test_tune_picks_the_best_validation_point_in_the_metric_direction():
    inner = validation_split(_movie_like(), seed=2)
    res = tune({"algorithm": "bias"}, {"damping_item": [0.0, 5.0, 1000.0]}, inner, protocol=Protocol(k=5),
               metric="rmse")
    assert len(res.table) == 3
    best = res.table.loc[res.table["value"].idxmin()]
    assert best["best"]
    assert res.best_params == {"damping_item": best["param.damping_item"]}


def test_tune_specs_returns_registry_specs_with_chosen_params():
    train = _movie_like()
    specs = [{"algorithm": "most_popular"},
             {"algorithm": "item_knn", "label": "iknn", "params": {"similarity": "cosine"},
              "grid": {"k": [2, 10]}, "metric": "ndcg"}]
    tuned, table = tune_specs(specs, validation_split(train, seed=0), protocol=Protocol(k=5), seed=0, log=False)
    assert tuned[0] == {"algorithm": "most_popular"}
    assert tuned[1]["label"] == "iknn" and set(tuned[1]) == {"algorithm", "label", "params"}
    assert tuned[1]["params"]["similarity"] == "cosine"
    assert tuned[1]["params"]["k"] == table.loc[table["value"].idxmax(), "param.k"]
    registry.from_spec(tuned[1])  # buildable


def test_parameter_grid_rejects_a_scalar_value():
    assert parameter_grid({"b": [1, 2], "a": [0]}) == [{"a": 0, "b": 1}, {"a": 0, "b": 2}]
    with pytest.raises(ValueError, match="list"):
        parameter_grid({"k": 5})


def test_readme_protocol_example_runs_with_one_relevance_rule_and_catalogue():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## One protocol for every model\n", 1)[1].split("\n## ", 1)[0]
    namespace: dict = {}
    exec(compile(re.search(r"```python\n(.*?)```", section, flags=re.S).group(1), "README.md", "exec"), namespace)
    summary = namespace["result"].summary
    assert summary["relevance"].unique().tolist() == ["rating >= 4"]
    assert summary["n_catalogue_items"].unique().tolist() == [1682]
    assert {"NDCG@5", "NDCG@10", "NDCG@20"} <= set(summary.columns)
    ndcg = summary.set_index("model")["NDCG@10"]
    assert ndcg["ease"] > ndcg["content_profile"]
