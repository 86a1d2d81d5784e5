"""Tests of recsys_study.evaluation.ranking: hand-computed lists, a ranx cross-check, sklearn AUC."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from recsys_study.data.schema import DataValidationError
from recsys_study.evaluation import METRICS, get_metric
from recsys_study.evaluation.ranking import (
    auc,
    auc_at_k,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

L2 = math.log2


@pytest.fixture
def hand():
    """Four users in truth, one extra user only in recs.

    u1: list a,b,c,d (ranks 1-4), relevant {b, d, z}: more relevant than found, two hits.
    u2: list e,f with EQUAL scores (tie broken by rank: f first), relevant {e}; list shorter than k.
    u3: no recommendations at all, relevant {a}.
    u4: list a,b,c,d,e,f (ranks 1-6), relevant {f} only beyond k=4.
    u9: in recs but not in truth (ignored).
    """
    recs = pd.DataFrame({
        "user": ["u1"] * 4 + ["u2"] * 2 + ["u4"] * 6 + ["u9"],
        "item": list("abcd") + list("fe") + list("abcdef") + ["a"],
        "score": [4.0, 3.0, 2.0, 1.0, 0.5, 0.5, 6, 5, 4, 3, 2, 1, 1.0],
        "rank": [1, 2, 3, 4, 1, 2, 1, 2, 3, 4, 5, 6, 1],
    })
    truth = pd.DataFrame({"user": ["u1", "u1", "u1", "u2", "u3", "u4"],
                          "item": ["b", "d", "z", "e", "a", "f"]})
    return recs, truth


def test_precision_divides_by_k_even_for_short_lists(hand):
    recs, truth = hand
    got = precision_at_k(recs, truth, 4)
    assert list(got.index) == ["u1", "u2", "u3", "u4"] and got.index.name == "user"
    np.testing.assert_allclose(got.to_numpy(), [2 / 4, 1 / 4, 0.0, 0.0])


def test_recall_counts_all_relevant_items(hand):
    recs, truth = hand
    np.testing.assert_allclose(recall_at_k(recs, truth, 4).to_numpy(), [2 / 3, 1.0, 0.0, 0.0])
    # k larger than every list: u4's relevant item at rank 6 now counts
    np.testing.assert_allclose(recall_at_k(recs, truth, 50).to_numpy(), [2 / 3, 1.0, 0.0, 1.0])


def test_ndcg_uses_ideal_over_min_relevant_and_k(hand):
    recs, truth = hand
    got = ndcg_at_k(recs, truth, 4)
    u1 = (1 / L2(3) + 1 / L2(5)) / (1 + 1 / L2(3) + 1 / L2(4))  # |R|=3 <= k=4
    u2 = (1 / L2(3)) / 1.0  # the tie is broken by rank: e is second
    np.testing.assert_allclose(got.to_numpy(), [u1, u2, 0.0, 0.0])
    got2 = ndcg_at_k(recs, truth, 2)  # k < |R| for u1: ideal has only 2 slots
    np.testing.assert_allclose(got2["u1"], (1 / L2(3)) / (1 + 1 / L2(3)))


def test_map_normalises_by_min_relevant_and_k(hand):
    recs, truth = hand
    got = map_at_k(recs, truth, 4)
    np.testing.assert_allclose(got.to_numpy(), [(1 / 2 + 2 / 4) / 3, (1 / 2) / 1, 0.0, 0.0])
    np.testing.assert_allclose(map_at_k(recs, truth, 2)["u1"], (1 / 2) / 2)
    np.testing.assert_allclose(map_at_k(recs, truth, 6)["u4"], (1 / 6) / 1)


def test_mrr_and_hit_rate(hand):
    recs, truth = hand
    np.testing.assert_allclose(mrr_at_k(recs, truth, 4).to_numpy(), [1 / 2, 1 / 2, 0.0, 0.0])
    np.testing.assert_allclose(hit_rate_at_k(recs, truth, 4).to_numpy(), [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(mrr_at_k(recs, truth, 1).to_numpy(), [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(mrr_at_k(recs, truth, 10)["u4"], 1 / 6)


def test_rank_not_score_decides_ties(hand):
    recs, truth = hand
    swapped = recs.copy()
    swapped.loc[swapped["user"] == "u2", "rank"] = [2, 1]  # same equal scores, e now first
    assert mrr_at_k(swapped, truth, 4)["u2"] == 1.0
    assert ndcg_at_k(swapped, truth, 4)["u2"] == 1.0


def test_auc_hand_example(hand):
    recs, truth = hand
    got = auc_at_k(recs, truth, 4, n_items=10)
    # u1: N- = 7; b has 1 non-relevant above -> 6; d has 2 above -> 5; z unlisted: 0.5 * (7 - 2)
    # u2: N- = 9; e has f above -> 8.  u3: empty list -> 0.5.  u4: f unlisted, 4 negatives listed
    np.testing.assert_allclose(got.to_numpy(), [(6 + 5 + 2.5) / 21, 8 / 9, 0.5, 0.5 * (9 - 4) / 9])
    assert auc is auc_at_k


def test_user_only_in_recs_is_ignored_and_duplicates_in_truth_collapse(hand):
    recs, truth = hand
    doubled = pd.concat([truth, truth])
    assert "u9" not in precision_at_k(recs, truth, 3).index
    pd.testing.assert_series_equal(ndcg_at_k(recs, doubled, 3), ndcg_at_k(recs, truth, 3))


@pytest.mark.parametrize("bad_k", [0, -1, 2.5, True])
def test_invalid_k_is_rejected(hand, bad_k):
    recs, truth = hand
    with pytest.raises(ValueError, match="positive integer"):
        precision_at_k(recs, truth, bad_k)


def test_bad_lists_are_rejected_with_a_fix(hand):
    recs, truth = hand
    with pytest.raises(DataValidationError, match="share a rank"):
        ndcg_at_k(recs.assign(rank=1), truth, 3)
    with pytest.raises(DataValidationError, match="twice"):
        ndcg_at_k(pd.concat([recs, recs.iloc[[0]].assign(rank=9)]), truth, 10)
    with pytest.raises(DataValidationError, match="1-based"):
        ndcg_at_k(recs.assign(rank=recs["rank"] - 1), truth, 3)
    with pytest.raises(DataValidationError, match="missing column"):
        ndcg_at_k(recs.drop(columns="rank"), truth, 3)


def _random_case(seed: int, n_users: int = 80, n_items: int = 40):
    rng = np.random.default_rng(seed)
    rec_rows, truth_rows = [], []
    for u in range(n_users):
        n_rel = rng.integers(1, 15)
        for i in rng.choice(n_items, size=n_rel, replace=False):
            truth_rows.append((f"u{u}", f"i{i}"))
        n_list = rng.integers(0, 16) if u % 7 else 0  # every 7th user gets no list
        for r, i in enumerate(rng.choice(n_items, size=n_list, replace=False), start=1):
            rec_rows.append((f"u{u}", f"i{i}", float(100 - r), r))
    recs = pd.DataFrame(rec_rows, columns=["user", "item", "score", "rank"])
    truth = pd.DataFrame(truth_rows, columns=["user", "item"])
    return recs, truth


def _padded(frame: pd.DataFrame, users: list[str], value: str) -> np.ndarray:
    """Return ranx's array input: (n_users, width, 2) rows of (numeric item id, value), padded.

    Padding rows are (-1, 0): ranx drops qrels with relevance < 1 and never matches id -1.
    Runs must already be sorted best first (we sort by rank). Arrays avoid ranx's slow
    numba typed-dict construction (~10 s per process); the metric kernels are the same.
    """
    width = max(1, int(frame.groupby("user").size().max()))
    out = np.tile(np.array([-1.0, 0.0]), (len(users), width, 1))
    pos = {u: n for n, u in enumerate(users)}
    for user, g in frame.groupby("user"):
        ids = g["item"].str[1:].astype(float).to_numpy()
        out[pos[user], : len(g), 0] = ids
        out[pos[user], : len(g), 1] = g[value].to_numpy(dtype=float)
    return out


@pytest.fixture(scope="module")
def ranx_scores():
    """Per-user ranx scores on two random cases for k in {5, 10}."""
    from ranx import evaluate

    out = []
    for seed in (1, 2):
        recs, truth = _random_case(seed)
        users = sorted(truth["user"].unique())
        qrels = _padded(truth.assign(rel=1.0), users, "rel")
        run = _padded(recs[recs["user"].isin(users)].sort_values(["user", "rank"]), users, "score")
        names = [f"{m}@{k}" for m in ("precision", "recall", "ndcg", "map", "mrr", "hit_rate") for k in (5, 10)]
        scores = evaluate(qrels, run, names, return_mean=False, threads=1)
        out.append((recs, truth, {n: pd.Series(v, index=users) for n, v in scores.items()}))
    return out


@pytest.mark.parametrize("k", [5, 10])
@pytest.mark.parametrize("name,fn", [("precision", precision_at_k), ("recall", recall_at_k),
                                     ("ndcg", ndcg_at_k), ("mrr", mrr_at_k), ("hit_rate", hit_rate_at_k)])
def test_agrees_with_ranx_per_user(ranx_scores, name, fn, k):
    for recs, truth, scores in ranx_scores:
        ours = fn(recs, truth, k)
        ref = scores[f"{name}@{k}"].reindex(ours.index)
        np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-9)
        assert abs(ours.mean() - ref.mean()) < 1e-9


@pytest.mark.parametrize("k", [5, 10])
def test_map_equals_ranx_rescaled_by_min_relevant_and_k(ranx_scores, k):
    for recs, truth, scores in ranx_scores:
        ours = map_at_k(recs, truth, k)
        n_rel = truth.groupby("user").size().reindex(ours.index)
        ref = scores[f"map@{k}"].reindex(ours.index)
        small = n_rel <= k  # the two definitions coincide here
        assert small.any() and (~small).any()
        np.testing.assert_allclose(ours[small], ref[small], rtol=0, atol=1e-9)
        np.testing.assert_allclose(ours, ref * n_rel / np.minimum(n_rel, k), rtol=0, atol=1e-9)


@pytest.mark.parametrize("k", [5, 10])
def test_map_ir_equals_ranx_map(ranx_scores, k):
    from recsys_study.evaluation.ranking import map_ir_at_k

    for recs, truth, scores in ranx_scores:
        ours = map_ir_at_k(recs, truth, k)
        ref = scores[f"map@{k}"].reindex(ours.index)
        np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-12)
        assert (truth.groupby("user").size() > k).any()  # the case where MAP and MAP-IR differ


@pytest.mark.parametrize("k", [3, 10])
def test_auc_matches_sklearn_with_unlisted_items_tied_at_bottom(k):
    n_items = 40
    recs, truth = _random_case(3, n_users=30, n_items=n_items)
    ours = auc_at_k(recs, truth, k, n_items=n_items)
    for user, value in ours.items():  # independent reference, one user at a time
        top = recs[(recs["user"] == user) & (recs["rank"] <= k)]
        score = {f"i{i}": -float(k + 1) for i in range(n_items)}
        score.update(dict(zip(top["item"], -top["rank"].astype(float))))
        relevant = set(truth.loc[truth["user"] == user, "item"])
        y = [it in relevant for it in score]
        assert value == pytest.approx(roc_auc_score(y, list(score.values())), abs=1e-12)


def test_auc_rejects_a_catalogue_smaller_than_a_relevant_set(hand):
    recs, truth = hand
    with pytest.raises(ValueError, match="catalogue size"):
        auc_at_k(recs, truth, 3, n_items=2)


def test_metric_registry_names_labels_and_directions():
    expected = {"precision", "recall", "ndcg", "map", "map_ir", "mrr", "hit_rate", "auc", "rmse", "mae",
                "coverage", "gini", "diversity", "novelty", "personalization", "arp", "serendipity"}
    assert set(METRICS) == expected
    assert get_metric("ndcg").label(10) == "NDCG@10"
    assert get_metric("NDCG").fn is ndcg_at_k
    assert get_metric("rmse").label(10) == "RMSE" and not get_metric("rmse").higher_is_better
    assert not get_metric("gini").higher_is_better and get_metric("coverage").higher_is_better
    assert not get_metric("arp").higher_is_better  # less popularity bias is better
    assert get_metric("auc").requires == ("n_items",)
    with pytest.raises(KeyError, match="valid names: precision"):
        get_metric("ndgc")


def test_series_names_match_metric_labels(hand):
    recs, truth = hand
    for name in ("precision", "recall", "ndcg", "map", "mrr", "hit_rate"):
        metric = get_metric(name)
        assert metric.fn(recs, truth, 5).name == metric.label(5)


def test_serendipity_counts_relevant_items_the_users_popular_unseen_list_would_not_have_shown():
    from recsys_study.evaluation.ranking import precision_at_k, serendipity_at_k

    recs = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": ["pop", "niche", "x", "pop", "y"],
                         "rank": [1, 2, 3, 1, 2]})
    truth = pd.DataFrame({"user": [1, 1, 2, 3], "item": ["pop", "niche", "y", "pop"]})
    popularity = pd.Series({"pop": 50, "y": 30, "niche": 2, "x": 1})
    no_history = pd.DataFrame({"user": [], "item": []})
    # PM(u) = the 1 most popular unseen item ("pop" for everyone): user 1 has 1 surprising hit of 3
    # slots ("niche"), user 2 one ("y"), user 3 no list
    got = serendipity_at_k(recs, truth, 3, popularity, no_history, n_expected=1)
    assert got.to_dict() == {1: 1 / 3, 2: 1 / 3, 3: 0.0}
    # with the 2 most popular unseen items expected, "y" is no longer a surprise for user 2
    assert serendipity_at_k(recs, truth, 3, popularity, no_history, n_expected=2).to_dict() == {
        1: 1 / 3, 2: 0.0, 3: 0.0}
    # user 2 has seen "pop": their primitive list moves down to "y", "niche" -> nothing of user 1 changes
    seen = pd.DataFrame({"user": [2], "item": ["pop"]})
    recs2 = pd.DataFrame({"user": [2, 2], "item": ["niche", "y"], "rank": [1, 2]})
    truth2 = pd.DataFrame({"user": [2, 2], "item": ["niche", "y"]})
    assert serendipity_at_k(recs2, truth2, 2, popularity, seen, n_expected=1).to_dict() == {2: 1 / 2}
    assert serendipity_at_k(recs2, truth2, 2, popularity, seen, n_expected=2).to_dict() == {2: 0.0}
    assert (got <= precision_at_k(recs, truth, 3)).all()


def test_serendipity_of_most_popular_is_zero_and_per_user_primitive_matches_a_loop():
    from recsys_study.evaluation.ranking import serendipity_at_k
    from recsys_study.recommenders.registry import make

    rng = np.random.default_rng(0)
    train = pd.DataFrame({"user": rng.integers(0, 60, 900), "item": rng.zipf(1.6, 900) % 80}).drop_duplicates()
    test = pd.DataFrame({"user": rng.integers(0, 60, 400), "item": rng.zipf(1.6, 400) % 80}).drop_duplicates()
    test = test.merge(train, how="left", indicator=True).query("_merge == 'left_only'").drop(columns="_merge")
    test = test[test["item"].isin(train["item"])]
    popularity = train.groupby("item", sort=False)["user"].nunique()
    pop_model = make("most_popular").fit(train)
    recs = pop_model.recommend(test["user"].unique(), k=5)
    assert serendipity_at_k(recs, test, 5, popularity, train).sum() == 0.0
    # an independent per-user loop on random lists
    other = make("random", seed=1).fit(train).recommend(test["user"].unique(), k=5)
    order = list(popularity.sort_values(ascending=False, kind="stable").index)
    seen = train.groupby("user")["item"].apply(set).to_dict()
    truth = test.groupby("user")["item"].apply(set).to_dict()
    expected = {}
    for user, g in other.groupby("user"):
        pm = [i for i in order if i not in seen.get(user, set())][:5]
        expected[user] = sum(1 for i in g["item"] if i in truth[user] and i not in pm) / 5
    got = serendipity_at_k(other, test, 5, popularity, train)
    assert got.to_dict() == pytest.approx(expected, abs=1e-15)
    assert got.sum() > 0


def test_ranking_metrics_shares_one_join_and_equals_each_metric(ranx_scores):
    from recsys_study.evaluation.ranking import ranking_metrics

    for recs, truth, _ in ranx_scores:
        got = ranking_metrics(recs, truth, 5, ["precision", "recall", "ndcg", "map", "map_ir", "mrr", "hit_rate"])
        for name, series in got.items():
            pd.testing.assert_series_equal(series, get_metric(name).fn(recs, truth, 5))


def test_segment_metrics_restrict_one_match_and_equal_scoring_each_subset_alone():
    from recsys_study.evaluation.ranking import ranking_metrics, ranking_metrics_by_segment

    recs, truth = _random_case(4, n_users=40, n_items=30)
    truth = truth.reset_index(drop=True)
    rng = np.random.default_rng(4)
    labels = pd.Series(rng.choice(["a", "b", "c"], len(truth)), index=np.arange(len(truth)))
    # a row may sit in two segments (like a film with two genres)
    labels = pd.concat([labels, pd.Series("a", index=labels.index[labels == "b"][:5])])
    names = ["ndcg", "recall", "precision", "map", "mrr", "hit_rate"]
    got = ranking_metrics_by_segment(recs, truth, labels, 5, names)
    for segment in ("a", "b", "c"):
        alone = ranking_metrics(recs, truth.iloc[np.unique(labels.index[labels == segment])], 5, names)
        for name in names:
            pd.testing.assert_series_equal(got[segment][name], alone[name], check_exact=False, atol=1e-15, rtol=0)


@pytest.mark.parametrize("name", ["precision", "recall", "ndcg", "map", "map_ir", "mrr", "hit_rate", "serendipity",
                                  "auc"])
def test_an_empty_truth_raises_instead_of_an_empty_series(name, hand):
    recs, truth = hand
    empty = truth.iloc[:0]
    before = recs.copy()
    extra = {"serendipity": {"item_popularity": pd.Series({"a": 3}), "seen": truth.iloc[:0]},
             "auc": {"n_items": 10}}.get(name, {})
    with pytest.raises(DataValidationError) as err:
        get_metric(name).fn(recs, empty, 4, **extra)
    assert str(err.value) == (
        "truth: no relevant (user, item) row, so there is no user to average over (the result would be an empty "
        "Series, its mean NaN); pass the relevant test rows: check the test part and the rating threshold that "
        "selected them.")
    pd.testing.assert_frame_equal(recs, before)
