"""Tests of recsys_study.evaluation.beyond: hand-computed lists and independent pairwise loops."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cosine as cosine_distance
from scipy.spatial.distance import jaccard as jaccard_distance

from recsys_study.data.schema import DataValidationError
from recsys_study.evaluation.beyond import (
    catalog_coverage,
    genre_features,
    gini_exposure,
    intra_list_diversity,
    novelty,
    personalization,
)


@pytest.fixture
def lists():
    """u1: 10, 11, 12; u2: 10, 13; u3: 10 (one item)."""
    return pd.DataFrame({"user": [1, 1, 1, 2, 2, 3], "item": [10, 11, 12, 10, 13, 10],
                         "rank": [1, 2, 3, 1, 2, 1], "score": [3.0, 2.0, 1.0, 2.0, 1.0, 1.0]})


@pytest.fixture
def features():
    """Genre vectors: 10 = (1,1), 11 = (0,1), 12 = (1,0), 13 = (0,0) (no genre)."""
    return pd.DataFrame({"a": [1, 0, 1, 0], "b": [1, 1, 0, 0]}, index=pd.Index([10, 11, 12, 13], name="item"))


def test_catalog_coverage_counts_distinct_items(lists):
    assert catalog_coverage(lists, 20) == pytest.approx(4 / 20)
    assert catalog_coverage(lists, 20, k=1) == pytest.approx(1 / 20)  # only item 10 at rank 1
    with pytest.raises(ValueError, match="catalogue size"):
        catalog_coverage(lists, 3)


def test_gini_hand_example_includes_unrecommended_items(lists):
    # counts 10:3, 11:1, 12:1, 13:1 and one never-shown item: x = [0,1,1,1,3]
    assert gini_exposure(lists, 5) == pytest.approx((-4 * 0 - 2 * 1 + 0 + 2 * 1 + 4 * 3) / (5 * 6))
    one_each = pd.DataFrame({"user": [1, 2, 3], "item": [7, 8, 9]})
    assert gini_exposure(one_each, 3) == pytest.approx(0.0)
    assert np.isnan(gini_exposure(one_each.iloc[:0], 3))


def test_gini_matches_mean_absolute_difference_form():
    rng = np.random.default_rng(5)
    recs = pd.DataFrame({"user": rng.integers(0, 50, 400), "item": rng.zipf(1.5, 400) % 60})
    recs = recs.drop_duplicates()
    x = recs["item"].value_counts().reindex(range(80), fill_value=0).to_numpy(dtype=float)
    reference = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini_exposure(recs, 80) == pytest.approx(reference, rel=1e-12)


def test_intra_list_diversity_hand_example(lists, features):
    cos = intra_list_diversity(lists, features)
    # u1: cos(10,11) = cos(10,12) = 1/sqrt2, cos(11,12) = 0; u2: item 13 has no genre -> distance 1
    np.testing.assert_allclose(cos.loc[[1, 2]], [1 - (2 / np.sqrt(2)) / 3, 1.0])
    assert np.isnan(cos.loc[3]) and cos.index.name == "user"
    jac = intra_list_diversity(lists, features, distance="jaccard")
    np.testing.assert_allclose(jac.loc[[1, 2]], [1 - (0.5 + 0.5 + 0) / 3, 1.0])
    np.testing.assert_allclose(intra_list_diversity(lists, features, k=2).loc[1], 1 - 1 / np.sqrt(2))


def test_intra_list_diversity_matches_scipy_pairwise_loop():
    rng = np.random.default_rng(11)
    n_items = 30
    feats = (rng.random((n_items, 8)) < 0.3).astype(float)
    feats[0] = 0.0  # one featureless item
    recs = pd.concat([pd.DataFrame({"user": u, "item": rng.choice(n_items, size=rng.integers(2, 9), replace=False)})
                      for u in range(25)])
    for distance, ref_fn in (("cosine", cosine_distance), ("jaccard", jaccard_distance)):
        got = intra_list_diversity(recs, sp.csr_matrix(feats), item_index=np.arange(n_items), distance=distance)
        for user, g in recs.groupby("user"):
            ds = []
            for i, j in itertools.combinations(g["item"], 2):
                # our convention: an all-zero vector is at distance 1 from everything
                zero = not feats[i].any() or not feats[j].any()
                ds.append(1.0 if zero else ref_fn(feats[i], feats[j]))
            assert got.loc[user] == pytest.approx(np.mean(ds), abs=1e-12), (distance, user)


def test_genre_features_and_items_frame_input(lists):
    items = pd.DataFrame({"item": [10, 11, 12, 13], "title": list("wxyz"),
                          "genres": [["Drama", "Comedy"], ["Comedy"], ["Drama"], []]})
    table = genre_features(items)
    assert list(table.index) == [10, 11, 12, 13] and sorted(table.columns) == ["Comedy", "Drama"]
    assert table.loc[13].sum() == 0 and table.loc[10].sum() == 2
    np.testing.assert_allclose(intra_list_diversity(lists, items).loc[1], 1 - (2 / np.sqrt(2)) / 3)


def test_intra_list_diversity_rejects_unknown_items_and_bad_options(lists, features):
    with pytest.raises(DataValidationError, match="no row for recommended item"):
        intra_list_diversity(lists, features.iloc[:2])
    with pytest.raises(ValueError, match="unknown distance"):
        intra_list_diversity(lists, features, distance="euclid")
    with pytest.raises(ValueError, match="item_index"):
        intra_list_diversity(lists, features.to_numpy())


def test_novelty_is_mean_self_information(lists):
    pop = pd.Series({10: 8, 11: 2, 12: 1})  # 13 unknown -> treated as 1
    got = novelty(lists, pop, n_users=8)
    np.testing.assert_allclose(got.to_numpy(), [(0 + 2 + 3) / 3, (0 + 3) / 2, 0.0])
    assert got.index.name == "user"
    with pytest.raises(ValueError, match="distinct users"):
        novelty(lists, pop, n_users=4)


def test_personalization_is_zhou_inter_list_distance_by_hand():
    # Zhou et al. (2010): h_uv = 1 - q_uv / L; lists abc and abd share q = 2 of L = 3 items
    abc_abd = pd.DataFrame({"user": [1, 1, 1, 2, 2, 2], "item": list("abcabd"), "rank": [1, 2, 3] * 2})
    assert personalization(abc_abd, k=3) == pytest.approx(1 / 3, abs=1e-15)
    assert personalization(abc_abd) == pytest.approx(1 / 3, abs=1e-15)  # L = longest list
    same = pd.DataFrame({"user": [1, 1, 2, 2], "item": [5, 6, 5, 6]})
    assert personalization(same) == pytest.approx(0.0)
    disjoint = pd.DataFrame({"user": [1, 1, 2, 2], "item": [5, 6, 7, 8]})
    assert personalization(disjoint) == pytest.approx(1.0)
    assert np.isnan(personalization(same[same["user"] == 1]))


def test_personalization_matches_pairwise_loop():
    rng = np.random.default_rng(3)
    recs = pd.concat([pd.DataFrame({"user": f"u{u}", "item": rng.choice(25, size=6, replace=False),
                                    "rank": np.arange(1, 7)}) for u in range(40)])
    sets = {u: set(g["item"]) for u, g in recs.groupby("user")}
    h = [1 - len(a & b) / 6 for a, b in itertools.combinations(sets.values(), 2)]
    assert personalization(recs, k=6) == pytest.approx(np.mean(h), abs=1e-12)


def test_average_recommendation_popularity_by_hand():
    from recsys_study.evaluation import get_metric
    from recsys_study.evaluation.beyond import average_recommendation_popularity

    recs = pd.DataFrame({"user": [1, 1, 2, 2], "item": ["a", "b", "a", "z"], "rank": [1, 2, 1, 2]})
    pop = pd.Series({"a": 10, "b": 4})
    arp = average_recommendation_popularity(recs, pop)
    assert arp.to_dict() == {1: 7.0, 2: 5.0}              # z: never rated -> popularity 0
    assert average_recommendation_popularity(recs, pop, k=1).to_dict() == {1: 10.0, 2: 10.0}
    metric = get_metric("arp")
    assert metric.label(10) == "ARP@10" and not metric.higher_is_better


def test_new_item_reach_by_hand():
    from recsys_study.evaluation.beyond import new_item_reach

    recs = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": [10, 99, 11, 12, 98], "rank": [1, 2, 1, 2, 3]})
    assert new_item_reach(recs, [98, 99]) == pytest.approx(2 / 3)          # users 1 and 3
    assert new_item_reach(recs, [98, 99], k=2) == pytest.approx(1 / 2)     # user 3's new item is at rank 3
    assert new_item_reach(recs, [98, 99], users=[1, 2, 3, 4]) == pytest.approx(2 / 4)  # user 4 has no list
    assert new_item_reach(recs, []) == 0.0
    with pytest.raises(ValueError, match="no users"):
        new_item_reach(recs.iloc[:0], [98])
