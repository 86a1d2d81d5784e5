"""Hybrid recommenders (Burke 2002) and validation tuning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from recsys_study.recommenders import registry
from recsys_study.recommenders.hybrid import (
    CascadeHybrid,
    FeatureAugmentedHybrid,
    MixedHybrid,
    SwitchingHybrid,
    WeightedHybrid,
    minmax_rows,
)
from recsys_study.protocol import Protocol, best_on_validation, tune, tune_specs, weight_grid
from recsys_study.split import Split
from test_content import synthetic

PROFILE = {"algorithm": "content_profile", "params": {"feature_set": "genres"}}
KNN = {"algorithm": "content_knn", "params": {"feature_set": "genres+year", "n_neighbors": 10}}
POP = {"algorithm": "most_popular"}


@pytest.fixture(scope="module")
def data():
    return synthetic(seed=5, n_users=50, n_items=70)


def test_minmax_rows_by_hand():
    s = np.array([[1.0, 3.0, np.nan, 2.0], [5.0, 5.0, -np.inf, 5.0]])
    np.testing.assert_allclose(minmax_rows(s), [[0.0, 1.0, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0]])


def test_weight_grid_is_the_simplex():
    grid = weight_grid(3, step=0.5)
    assert sorted(grid) == sorted([(0, 0, 1), (0, .5, .5), (0, 1, 0), (.5, 0, .5), (.5, .5, 0), (1, 0, 0)])


@pytest.mark.parametrize("weights, which", [((1.0, 0.0), 0), ((0.0, 1.0), 1)])
def test_weighted_hybrid_with_weight_one_equals_that_component(data, weights, which):
    ratings, items = data
    users = ratings["user"].unique()[:20]
    hybrid = WeightedHybrid(components=[PROFILE, KNN], weights=weights).fit(ratings, items=items)
    alone = registry.from_spec([PROFILE, KNN][which]).fit(ratings, items=items)
    a, b = hybrid.recommend(users, k=10), alone.recommend(users, k=10)
    pd.testing.assert_frame_equal(a[["user", "item", "rank"]], b[["user", "item", "rank"]])


def test_weighted_hybrid_blends_normalised_scores(data):
    ratings, items = data
    hybrid = WeightedHybrid(components=[PROFILE, KNN], weights=[0.3, 0.7]).fit(ratings, items=items)
    u = np.arange(5)
    blend = hybrid._score(u)
    parts = [hybrid._component_scores(c, u) for c in range(2)]
    np.testing.assert_allclose(blend, 0.3 * parts[0] + 0.7 * parts[1])
    assert parts[0].min() >= 0 and parts[0].max() <= 1


def test_weighted_hybrid_rejects_bad_weights(data):
    ratings, items = data
    hybrid = WeightedHybrid(components=[PROFILE, KNN], weights=[1.0]).fit(ratings, items=items)
    with pytest.raises(ValueError, match="non-negative"):
        hybrid.recommend([0], k=3)


def test_hybrid_with_a_cf_component_can_still_rank_cold_items(data):
    ratings, items = data
    hybrid = WeightedHybrid(components=[PROFILE, POP], weights=[0.5, 0.5]).fit(ratings, items=items)
    assert len(hybrid.item_index_) == len(items)  # catalogue: the content component knows every item
    pop_only = WeightedHybrid(components=[POP]).fit(ratings, items=items)
    assert len(pop_only.item_index_) == ratings["item"].nunique()


def test_switching_uses_content_for_users_below_n_min(data):
    ratings, items = data
    counts = ratings["user"].value_counts()
    n_min = int(counts.median())
    hybrid = SwitchingHybrid(content=PROFILE, collaborative=KNN, n_min=n_min).fit(ratings, items=items)
    profile = registry.from_spec(PROFILE).fit(ratings, items=items)
    knn = registry.from_spec(KNN).fit(ratings, items=items)
    cold = counts.index[counts < n_min][:5]
    warm = counts.index[counts >= n_min][:5]
    cols = ["user", "item", "rank"]
    pd.testing.assert_frame_equal(hybrid.recommend(cold, k=5)[cols], profile.recommend(cold, k=5)[cols])
    pd.testing.assert_frame_equal(hybrid.recommend(warm, k=5)[cols], knn.recommend(warm, k=5)[cols])


def test_cascade_reranks_only_the_first_models_candidates(data):
    ratings, items = data
    hybrid = CascadeHybrid(first=PROFILE, second=KNN, n_candidates=15).fit(ratings, items=items)
    first = registry.from_spec(PROFILE).fit(ratings, items=items)
    second = registry.from_spec(KNN).fit(ratings, items=items)
    user = ratings["user"].iloc[0]
    recs = hybrid.recommend([user], k=10)
    cand = first.recommend([user], k=15)
    assert set(recs["item"]) <= set(cand["item"])
    # within the candidates the order is the second model's
    s2 = second.recommend([user], k=len(items))
    order = s2[s2["item"].isin(recs["item"])]["item"].tolist()
    assert recs["item"].tolist() == order


@pytest.mark.parametrize("slots", [1, 3])
def test_mixed_hybrid_lists_cf_picks_then_new_items_chosen_by_content(data, slots):
    ratings, items = data
    hybrid = MixedHybrid(collaborative=POP, content=PROFILE, slots=slots).fit(ratings, items=items)
    pop = registry.from_spec(POP).fit(ratings, items=items)
    profile = registry.from_spec(PROFILE).fit(ratings, items=items)
    new_items = sorted(set(items["item"]) - set(ratings["item"]))
    users = ratings["user"].unique()[:10]
    recs = hybrid.recommend(users, k=8)
    assert (recs.groupby("user").size() == 8).all()
    for user in users:
        mine = recs[recs["user"] == user].sort_values("rank")["item"].tolist()
        # first k - slots: the collaborative model's own list; then the content model's best new items
        assert mine[:8 - slots] == pop.recommend([user], k=8 - slots)["item"].tolist()
        ranked = profile.recommend([user], k=len(items)).set_index("item")["score"]
        best_new = ranked[ranked.index.isin(new_items)].head(slots)
        assert set(mine[8 - slots:]) <= set(new_items)
        # the best new items by content score (compared by score: ties at the cut may go either way)
        np.testing.assert_allclose(ranked[mine[8 - slots:]].to_numpy(), best_new.to_numpy())


def test_mixed_hybrid_without_new_items_is_the_collaborative_model(data):
    ratings, items = data
    known = items[items["item"].isin(ratings["item"])]
    hybrid = MixedHybrid(collaborative=POP, content=PROFILE, slots=2).fit(ratings, items=known)
    pop = registry.from_spec(POP).fit(ratings, items=known)
    users = ratings["user"].unique()[:5]
    cols = ["user", "item", "rank"]
    pd.testing.assert_frame_equal(hybrid.recommend(users, k=6)[cols], pop.recommend(users, k=6)[cols])


def test_feature_augmented_with_zero_content_weight_is_binary_cosine_item_knn(data):
    ratings, items = data
    model = FeatureAugmentedHybrid(content_weight=0.0, n_neighbors=1000).fit(ratings, items=items)
    b = (model.user_items_.toarray() > 0).astype(float)
    sim = cosine_similarity(b.T)
    np.fill_diagonal(sim, 0)
    np.testing.assert_allclose(model._score(np.arange(4)), b[:4] @ sim, atol=1e-9)
    # cold items have no rating column, so with content_weight 0 they cannot score
    cold = model.item_index_.get_indexer(sorted(set(items["item"]) - set(ratings["item"])))
    assert np.all(model._score(np.arange(10))[:, cold] == 0)


def test_feature_augmented_content_lets_cold_items_be_recommended(data):
    ratings, items = data
    model = FeatureAugmentedHybrid(content_weight=2.0, n_neighbors=30).fit(ratings, items=items)
    cold = set(items["item"]) - set(ratings["item"])
    recs = model.recommend(ratings["user"].unique(), k=10)
    assert cold & set(recs["item"])


def _inner(ratings, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random(len(ratings)) < 0.25
    train, valid = ratings[~mask], ratings[mask]
    valid = valid[valid["user"].isin(train["user"]) & valid["item"].isin(train["item"])]
    return Split(train=train, test=valid)


def test_tune_on_a_score_time_knob_picks_the_best_grid_value_from_one_fit(data):
    ratings, items = data
    inner = _inner(ratings, 0)
    spec = {"algorithm": "weighted", "params": {"components": [PROFILE, POP]}}
    res = tune(spec, {"weights": weight_grid(2, step=0.5)}, inner, protocol=Protocol(k=5), items=items)
    assert len(res.table) == 3
    assert res.table["best"].sum() == 1
    best = res.table.loc[res.table["best"]].iloc[0]
    assert best["value"] == res.table["value"].max()
    assert res.best_params["weights"] == best["param.weights"]
    assert res.table["fit_time_s"].iloc[1:].isna().all()  # one fit: the weights are read at scoring time
    # the same values as refitting each point from scratch
    for _, row in res.table.iterrows():
        refit = tune({"algorithm": "weighted", "params": {"components": [PROFILE, POP],
                                                          "weights": list(row["param.weights"])}},
                     {}, inner, protocol=Protocol(k=5), items=items)
        assert refit.table["value"].iloc[0] == pytest.approx(row["value"], abs=1e-12)


def test_tune_rejects_unknown_parameter(data):
    ratings, items = data
    with pytest.raises(TypeError, match="no hyperparameter"):
        tune({"algorithm": "weighted"}, {"alpha": [1, 2]}, _inner(ratings, 0), protocol=Protocol(k=5), items=items)


def test_hybrids_and_components_are_tuned_by_the_one_engine(data):
    from recsys_study.protocol import component_specs, hybrid_candidates

    ratings, items = data
    specs = component_specs(["content_profile", "most_popular"], feature_set="genres")
    assert specs == [{"algorithm": "content_profile", "params": {"feature_set": "genres"}},
                     {"algorithm": "most_popular", "params": {}}]
    cands = {"content_profile": specs[0], "most_popular": specs[1],
             **hybrid_candidates(specs, ["weighted", "switching"], weight_step=0.5)}
    tuned, table = tune_specs(cands, _inner(ratings, 1), protocol=Protocol(k=5), items=items, score_all=True,
                              log=False)
    chosen = table[table["best"]].set_index("model")
    assert list(chosen.index) == ["content_profile", "most_popular", "weighted", "switching"]
    assert tuned["weighted"]["params"]["weights"] == list(chosen.loc["weighted", "param.weights"])
    assert tuned["switching"]["params"]["n_min"] == chosen.loc["switching", "param.n_min"]
    best = best_on_validation(table, ["content_profile", "most_popular"])
    assert chosen.loc[best, "value"] == chosen.loc[["content_profile", "most_popular"], "value"].max()


def test_hybrids_on_the_same_frames_share_one_component_fit_and_never_a_stale_one(data):
    ratings, items = data
    a = WeightedHybrid(components=[PROFILE, POP]).fit(ratings, items=items)
    b = SwitchingHybrid(content=PROFILE, collaborative=POP).fit(ratings, items=items)
    assert a.components_[0] is b.components_[0] and a.components_[1] is b.components_[1]
    other = ratings[ratings["user"] != ratings["user"].iloc[0]]  # another frame: a fit of its own
    c = WeightedHybrid(components=[PROFILE, POP]).fit(other, items=items)
    assert c.components_[0] is not a.components_[0]
    assert ratings["user"].iloc[0] not in c.components_[0].user_index_
    # the shared fit scores exactly as a fresh one
    fresh = registry.from_spec(PROFILE).fit(ratings, items=items)
    users = ratings["user"].unique()[:5]
    pd.testing.assert_frame_equal(a.components_[0].recommend(users, k=5), fresh.recommend(users, k=5))
