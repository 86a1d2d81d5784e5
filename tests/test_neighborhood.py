"""Hand-computed similarities, predictions and top-N scores of user- and item-based kNN."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_study.constants import ITEM, RATING, USER
from recsys_study.recommenders import registry
from recsys_study.recommenders.neighborhood import similarity_matrix

# users x items:  u0: i0=5 i1=3 ; u1: i0=4 i2=2 ; u2: i1=1 i2=5
DENSE = np.array([[5.0, 3.0, 0.0], [4.0, 0.0, 2.0], [0.0, 1.0, 5.0]])
TRAIN = pd.DataFrame({USER: ["u0", "u0", "u1", "u1", "u2", "u2"],
                      ITEM: ["i0", "i1", "i0", "i2", "i1", "i2"],
                      RATING: [5.0, 3.0, 4.0, 2.0, 1.0, 5.0]})


def reference_similarity(dense: np.ndarray, similarity: str, shrinkage: float = 0.0) -> np.ndarray:
    """Pairwise loop over the rows of a dense matrix (0 = missing): an independent implementation."""
    rated = dense != 0
    x = dense.copy()
    if similarity == "pearson":
        means = np.array([row[r].mean() for row, r in zip(dense, rated)])
        x = np.where(rated, dense - means[:, None], 0.0)
    elif similarity == "adjusted_cosine":
        col_means = np.array([dense[rated[:, j], j].mean() for j in range(dense.shape[1])])
        x = np.where(rated, dense - col_means[None, :], 0.0)
    n = dense.shape[0]
    out = np.zeros((n, n))
    for a, b in itertools.permutations(range(n), 2):
        co = np.sum(rated[a] & rated[b])
        if similarity == "jaccard":
            s = co / np.sum(rated[a] | rated[b])
        else:
            s = x[a] @ x[b] / (np.linalg.norm(x[a]) * np.linalg.norm(x[b]))
        out[a, b] = s * co / (co + shrinkage) if shrinkage else s
    return out


def test_item_cosine_similarity_matches_hand_values():
    sim = similarity_matrix(sp.csr_matrix(DENSE.T), similarity="cosine", k=5, min_similarity=-np.inf).toarray()
    assert sim[0, 1] == pytest.approx(15 / math.sqrt(41 * 10), rel=1e-6)
    assert sim[0, 2] == pytest.approx(8 / math.sqrt(41 * 29), rel=1e-6)
    assert sim[1, 2] == pytest.approx(5 / math.sqrt(10 * 29), rel=1e-6)
    assert np.all(np.diag(sim) == 0)


def test_item_jaccard_pearson_adjusted_cosine_hand_values():
    items = sp.csr_matrix(DENSE.T)
    jac = similarity_matrix(items, similarity="jaccard", k=5).toarray()
    assert jac[0, 1] == pytest.approx(1 / 3)
    pea = similarity_matrix(items, similarity="pearson", k=5, min_similarity=-np.inf).toarray()
    assert pea[0, 1] == pytest.approx(0.5, rel=1e-6)  # (0.5·1) / (√0.5 · √2)
    adj = similarity_matrix(items, similarity="adjusted_cosine", k=5, min_similarity=-np.inf).toarray()
    assert adj[1, 2] == pytest.approx(-0.8, rel=1e-6)  # (−1)(0)+(0)(−1)+(−2)(2) over √5·√5


@pytest.mark.parametrize("similarity", ["cosine", "adjusted_cosine", "pearson", "jaccard"])
@pytest.mark.parametrize("shrinkage", [0.0, 3.0])
def test_similarity_matches_pairwise_reference_on_random_matrix(similarity, shrinkage):
    rng = np.random.default_rng(3)
    dense = np.where(rng.random((12, 9)) < 0.5, rng.integers(1, 6, (12, 9)).astype(float), 0.0)
    dense[dense.sum(axis=1) == 0, 0] = 3.0
    got = similarity_matrix(sp.csr_matrix(dense), similarity=similarity, k=50, shrinkage=shrinkage,
                            min_similarity=-np.inf, block_size=5).toarray()
    want = np.nan_to_num(reference_similarity(dense, similarity, shrinkage))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_pruning_keeps_the_k_most_similar_positive_neighbours():
    rng = np.random.default_rng(4)
    dense = rng.integers(0, 6, (15, 20)).astype(float)
    full = reference_similarity(dense, "cosine")
    np.fill_diagonal(full, -np.inf)
    pruned = similarity_matrix(sp.csr_matrix(dense), similarity="cosine", k=3).toarray()
    assert (np.count_nonzero(pruned, axis=1) == 3).all()
    for row in range(15):
        assert set(np.flatnonzero(pruned[row])) == set(np.argsort(-full[row])[:3])


def test_item_knn_predicts_weighted_mean_centred_rating():
    model = registry.make("item_knn", k=5).fit(TRAIN)
    s01, s02 = 15 / math.sqrt(41 * 10), 8 / math.sqrt(41 * 29)
    # u2 rated i1 = 1 (item mean 2) and i2 = 5 (item mean 3.5); i0's mean is 4.5
    want = 4.5 + (s01 * (1 - 2) + s02 * (5 - 3.5)) / (s01 + s02)
    got = model.predict(pd.DataFrame({USER: ["u2"], ITEM: ["i0"]}))
    assert got[0] == pytest.approx(want, rel=1e-6)


def test_user_knn_predicts_weighted_mean_centred_rating():
    model = registry.make("user_knn", k=5).fit(TRAIN)
    s01, s02 = 20 / math.sqrt(34 * 20), 3 / math.sqrt(34 * 26)
    # i2 rated by u1 = 2 (user mean 3) and u2 = 5 (user mean 3); u0's mean is 4
    want = 4 + (s01 * (2 - 3) + s02 * (5 - 3)) / (s01 + s02)
    got = model.predict(pd.DataFrame({USER: ["u0"], ITEM: ["i2"]}))
    assert got[0] == pytest.approx(want, rel=1e-6)


def test_prediction_without_rated_neighbour_falls_back_to_the_mean():
    # no similarity exceeds 0.99, so no item has a neighbour: r̂(u1, i1) = μ_i1 = (3 + 1) / 2
    model = registry.make("item_knn", k=5, min_similarity=0.99).fit(TRAIN)
    assert model.predict(pd.DataFrame({USER: ["u1"], ITEM: ["i1"]}))[0] == pytest.approx(2.0)
    # user-based: the fallback is the user's mean, μ_u1 = 3
    model = registry.make("user_knn", k=5, min_similarity=0.99).fit(TRAIN)
    assert model.predict(pd.DataFrame({USER: ["u1"], ITEM: ["i1"]}))[0] == pytest.approx(3.0)


def test_item_knn_top_n_score_sums_similarities_of_the_target_neighbourhood():
    # k=1: N(i1) = {i0} (0.741 > 0.294); u1 rated i0 and i2, so score(u1, i1) = s(i1, i0)
    model = registry.make("item_knn", k=1).fit(TRAIN)
    recs = model.recommend(["u1"], k=1)
    assert recs["item"].tolist() == ["i1"]
    assert recs["score"].iloc[0] == pytest.approx(15 / math.sqrt(41 * 10), rel=1e-6)


def test_user_knn_top_n_score_sums_neighbour_similarities():
    # u0's neighbours u1 (0.767) and u2 (0.101) both rated i2, u0's only unseen item
    model = registry.make("user_knn", k=2).fit(TRAIN)
    recs = model.recommend(["u0"], k=1)
    assert recs["item"].tolist() == ["i2"]
    assert recs["score"].iloc[0] == pytest.approx(20 / math.sqrt(680) + 3 / math.sqrt(884), rel=1e-6)


def test_unknown_similarity_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match="cosine"):
        registry.make("item_knn", similarity="euclid").fit(TRAIN)
