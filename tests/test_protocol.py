"""The protocol returns per-user rows with hand-checkable values; tuning only ever sees train."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys_study import tracking
from recsys_study.constants import ITEM, RATING, USER
from recsys_study.evaluation import protocol
from recsys_study.recommenders import registry
from recsys_study.split import Split, user_stratified_split
from recsys_study.tuning import grid_search, parameter_grid, tune_specs, validation_split

TRAIN = pd.DataFrame({USER: ["a", "b", "c", "a", "b", "c", "d"],
                      ITEM: ["x", "x", "x", "y", "y", "z", "w"],
                      RATING: [4.0, 3.0, 5.0, 2.0, 4.0, 3.0, 1.0]})
TEST = pd.DataFrame({USER: ["a", "a", "b"], ITEM: ["z", "w", "w"], RATING: [5.0, 2.0, 4.0]})
SPLIT = Split(train=TRAIN, test=TEST, spec={"kind": "hand"})


def _value(frame, user, metric):
    return frame.loc[(frame[USER] == user) & (frame["metric"] == metric), "value"].item()


def test_evaluate_returns_hand_computed_per_user_rows_and_timings():
    # most_popular lists for a and b (x, y seen): z then w (tie on popularity 1, broken by index)
    frame = protocol.evaluate(registry.make("most_popular"), SPLIT, k=2,
                              metrics=("ndcg", "precision", "coverage", "arp"), log=False)
    assert list(frame.columns) == ["model", "user", "metric", "value"]
    assert _value(frame, "a", "NDCG@2") == pytest.approx(1.0)
    assert _value(frame, "b", "NDCG@2") == pytest.approx(1 / math.log2(3))
    assert _value(frame, "b", "Precision@2") == pytest.approx(0.5)
    assert _value(frame, "a", "ARP@2") == pytest.approx(1.0)
    summary = frame.attrs["summary"]
    assert summary["NDCG@2"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert summary["Coverage@2"] == pytest.approx(2 / 4)  # z and w out of 4 train items
    assert summary["fit_time_s"] >= 0 and summary["recommend_time_s"] >= 0


def test_relevance_threshold_keeps_only_highly_rated_test_items():
    frame = protocol.evaluate(registry.make("most_popular"), SPLIT, k=2, metrics=("recall",),
                              relevance_threshold=4.0, log=False)
    # a's relevant set is {z} (w rated 2): recall 1; b's is {w}: recall 1
    assert _value(frame, "a", "Recall@2") == pytest.approx(1.0)
    assert _value(frame, "b", "Recall@2") == pytest.approx(1.0)


def test_rating_metrics_are_global_in_summary_and_per_user_in_rows():
    model = registry.make("bias", damping_user=0.0, damping_item=0.0)
    frame = protocol.evaluate(model, SPLIT, k=2, metrics=("rmse", "mae"), log=False)
    pred = model.predict(TEST)
    err = TEST[RATING].to_numpy() - pred
    assert frame.attrs["summary"]["RMSE"] == pytest.approx(np.sqrt(np.mean(err ** 2)))
    assert _value(frame, "b", "MAE") == pytest.approx(abs(err[2]))
    assert _value(frame, "a", "RMSE") == pytest.approx(np.sqrt(np.mean(err[:2] ** 2)))


def test_ranking_only_models_get_nan_rating_metrics():
    frame = protocol.evaluate(registry.make("most_popular"), SPLIT, k=2, metrics=("rmse", "ndcg"), log=False)
    assert math.isnan(frame.attrs["summary"]["RMSE"])
    assert set(frame["metric"]) == {"NDCG@2"}


def test_compare_returns_tidy_frames_and_logs_one_run_per_model():
    comp = protocol.compare({"pop": registry.make("most_popular"), "rand": {"algorithm": "random"}},
                            SPLIT, k=2, metrics=("ndcg", "hit_rate"), experiment="test_protocol_compare")
    assert set(comp.per_user["model"]) == {"pop", "rand"}
    assert list(comp.summary["model"]) == ["pop", "rand"]
    assert {"NDCG@2", "HitRate@2", "fit_time_s", "recommend_time_s"} <= set(comp.summary.columns)
    assert set(comp.recommendations["model"]) == {"pop", "rand"}
    runs = tracking.search_runs("test_protocol_compare")
    assert len(runs) == 2
    assert set(runs["tags.model"]) == {"pop", "rand"}
    logged = runs.set_index("tags.model").loc["pop", "metrics.NDCG_at_2"]
    assert logged == pytest.approx(comp.summary.set_index("model").loc["pop", "NDCG@2"])


def test_confidence_intervals_bracket_the_mean():
    comp = protocol.compare([{"algorithm": "most_popular"}], SPLIT, k=2, metrics=("ndcg",), log=False)
    ci = protocol.confidence_intervals(comp.per_user, n_boot=200, seed=1)
    row = ci.iloc[0]
    assert row["lower"] <= row["mean"] <= row["upper"]
    assert row["n"] == 2


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


def test_grid_search_picks_the_best_validation_point_in_the_metric_direction():
    inner = validation_split(_movie_like(), seed=2)
    res = grid_search({"algorithm": "bias"}, {"damping_item": [0.0, 5.0, 1000.0]}, inner, metric="rmse")
    assert len(res.table) == 3
    best = res.table.loc[res.table["value"].idxmin()]
    assert best["best"]
    assert res.best_params == {"damping_item": best["param.damping_item"]}


def test_tune_specs_returns_registry_specs_with_chosen_params():
    train = _movie_like()
    specs = [{"algorithm": "most_popular"},
             {"algorithm": "item_knn", "label": "iknn", "params": {"similarity": "cosine"},
              "grid": {"k": [2, 10]}, "metric": "ndcg"}]
    tuned, table = tune_specs(specs, train, k=5, seed=0, log=False)
    assert tuned[0] == {"algorithm": "most_popular"}
    assert tuned[1]["label"] == "iknn" and set(tuned[1]) == {"algorithm", "label", "params"}
    assert tuned[1]["params"]["similarity"] == "cosine"
    assert tuned[1]["params"]["k"] == table.loc[table["value"].idxmax(), "param.k"]
    registry.from_spec(tuned[1])  # buildable


def test_parameter_grid_rejects_a_scalar_value():
    assert parameter_grid({"b": [1, 2], "a": [0]}) == [{"a": 0, "b": 1}, {"a": 0, "b": 2}]
    with pytest.raises(ValueError, match="list"):
        parameter_grid({"k": 5})


def test_diversity_uses_the_genres_of_the_items_frame():
    items = pd.DataFrame({ITEM: ["x", "y", "z", "w"], "title": list("XYZW"),
                          "genres": [["A"], ["A"], ["A"], ["B"]], "year": [2000] * 4})
    frame = protocol.evaluate(registry.make("most_popular"), SPLIT, k=2, metrics=("diversity",),
                              items=items, log=False)
    # both lists are [z, w]: genres A and B share nothing, so ILD = 1 − cos = 1
    assert _value(frame, "a", "ILD@2") == pytest.approx(1.0)
    without = protocol.evaluate(registry.make("most_popular"), SPLIT, k=2, metrics=("diversity",), log=False)
    assert math.isnan(without.attrs["summary"]["ILD@2"])
