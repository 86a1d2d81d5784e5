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


# -- the sparse top-k kernel against a brute-force dense reference ------------------------------


def brute_force_similarity(dense: np.ndarray, similarity: str, shrinkage: float) -> np.ndarray:
    """Every pair in Python loops (0 = missing; empty rows, columns and zero norms give 0)."""
    rated = dense != 0
    n_rows, n_cols = dense.shape
    x = dense.copy()
    if similarity == "pearson":
        for a in range(n_rows):
            if rated[a].any():
                x[a, rated[a]] -= dense[a, rated[a]].mean()
    elif similarity == "adjusted_cosine":
        for f in range(n_cols):
            if rated[:, f].any():
                x[rated[:, f], f] -= dense[rated[:, f], f].mean()
    out = np.zeros((n_rows, n_rows))
    for a, b in itertools.permutations(range(n_rows), 2):
        co = int(np.sum(rated[a] & rated[b]))
        if similarity == "jaccard":
            union = np.sum(rated[a] | rated[b])
            s = co / union if union else 0.0
        else:
            denom = math.sqrt(np.sum(x[a] ** 2)) * math.sqrt(np.sum(x[b] ** 2))
            s = float(np.dot(x[a], x[b])) / denom if denom else 0.0
        out[a, b] = s * co / (co + shrinkage) if shrinkage else s
    return out


def brute_force_pruned(dense: np.ndarray, similarity: str, k: int, shrinkage: float,
                       min_similarity: float) -> np.ndarray:
    """Each row's k largest similarities to all other rows (0 where nothing is shared), brute force.

    Ties keep the lowest index; kept values must exceed ``min_similarity``. Returns a dense
    matrix with NaN where nothing is kept (an explicit 0 is a kept zero).
    """
    full = brute_force_similarity(dense, similarity, shrinkage)
    n = dense.shape[0]
    out = np.full((n, n), np.nan)
    for a in range(n):
        others = [b for b in range(n) if b != a]
        for b in sorted(others, key=lambda b: (-full[a, b], b))[:k]:
            if full[a, b] > min_similarity:
                out[a, b] = full[a, b]
    return out


def as_nan_dense(sim: sp.csr_matrix) -> np.ndarray:
    out = np.full(sim.shape, np.nan)
    coo = sim.tocoo()
    out[coo.row, coo.col] = coo.data
    return out


def random_ratings(rng, shape, density):
    """Continuous ratings (no accidental ties), with an empty row and an empty column."""
    dense = np.where(rng.random(shape) < density, np.round(rng.uniform(0.5, 5.0, shape), 3), 0.0)
    dense[7] = 0.0
    dense[:, 3] = 0.0
    return dense


@pytest.mark.parametrize("similarity", ["cosine", "adjusted_cosine", "pearson", "jaccard"])
@pytest.mark.parametrize("shrinkage", [0.0, 2.5])
@pytest.mark.parametrize("min_similarity", [0.0, 0.1, -0.05, -np.inf])
def test_pruned_similarity_matches_brute_force_on_random_60x40(similarity, shrinkage, min_similarity):
    rng = np.random.default_rng(11)
    dense = random_ratings(rng, (60, 40), 0.25)
    if similarity == "jaccard":
        dense[20:24] = dense[30]  # identical rating sets: ties
    for k in (1, 4, 12, 59, 80):
        got = similarity_matrix(sp.csr_matrix(dense), similarity=similarity, k=k, shrinkage=shrinkage,
                                min_similarity=min_similarity, block_size=7, num_threads=2)
        want = brute_force_pruned(dense, similarity, k, shrinkage, min_similarity)
        assert got.has_sorted_indices
        np.testing.assert_array_equal(np.isnan(as_nan_dense(got)), np.isnan(want), err_msg=f"k={k}")
        np.testing.assert_allclose(as_nan_dense(got), want, atol=1e-6, err_msg=f"k={k}")


def test_ties_at_the_cut_keep_the_lowest_indices():
    # rows 1..6 are copies of one vector, so row 0 has six neighbours with bitwise-equal similarity
    base = np.array([5.0, 0.0, 3.0, 1.0, 0.0, 4.0])
    dense = np.vstack([[4.0, 2.0, 3.0, 0.0, 1.0, 4.0], *[base] * 6, [0.0, 5.0, 0.0, 0.0, 5.0, 0.0]])
    sim = similarity_matrix(sp.csr_matrix(dense), similarity="cosine", k=3)
    assert sim[0].indices.tolist() == [1, 2, 3]
    # row 1: its five copies tie at 1.0 (and lead); k=2 keeps copies 2 and 3
    assert similarity_matrix(sp.csr_matrix(dense), k=2)[1].indices.tolist() == [2, 3]
    # jaccard on binary data: rows 1, 3 and 4 tie with row 0 at 1/4 through different columns
    binary = np.array([[1, 1, 1, 0, 0, 0, 0],
                       [1, 0, 0, 1, 0, 0, 0],   # |∩| = 1, |∪| = 4
                       [1, 1, 0, 0, 1, 1, 1],   # |∩| = 2, |∪| = 6
                       [0, 1, 0, 0, 1, 0, 0],   # |∩| = 1, |∪| = 4
                       [1, 0, 0, 0, 0, 0, 1]],  # |∩| = 1, |∪| = 4
                      dtype=float)
    for k, kept in [(1, [2]), (2, [1, 2]), (3, [1, 2, 3]), (4, [1, 2, 3, 4])]:
        jac = similarity_matrix(sp.csr_matrix(binary), similarity="jaccard", k=k)
        assert jac[0].indices.tolist() == kept
    jac = similarity_matrix(sp.csr_matrix(binary), similarity="jaccard", k=2, shrinkage=1.0)
    assert jac[0].indices.tolist() == [1, 2]  # 2/6 · 2/3 first, then 1/4 · 1/2 from row 1 of the three
    assert jac[0].data.tolist() == [pytest.approx(1 / 8), pytest.approx(2 / 9)]


def test_k_larger_than_the_non_zero_neighbours():
    # row 0 overlaps rows 1 (positively) and 2 (negatively, after centring); rows 3-5 share nothing
    dense = np.array([[5.0, 1.0, 0.0, 0.0, 0.0],
                      [4.0, 2.0, 0.0, 0.0, 0.0],
                      [1.0, 5.0, 0.0, 0.0, 0.0],
                      [0.0, 0.0, 3.0, 0.0, 0.0],
                      [0.0, 0.0, 0.0, 2.0, 4.0],
                      [0.0, 0.0, 0.0, 0.0, 0.0]])
    x = sp.csr_matrix(dense)
    pos = similarity_matrix(x, similarity="pearson", k=4)
    assert pos[0].indices.tolist() == [1]  # the one positive neighbour; no zero, no negative
    # any similarity allowed: the positive one, then zeros by lowest index (rows 3, 4), then the negative
    everything = similarity_matrix(x, similarity="pearson", k=4, min_similarity=-np.inf)
    assert everything[0].indices.tolist() == [1, 3, 4, 5]
    assert everything[0].data.tolist() == [pytest.approx(1.0), 0.0, 0.0, 0.0]
    all_rows = similarity_matrix(x, similarity="pearson", k=50, min_similarity=-np.inf)
    assert all_rows[0].indices.tolist() == [1, 2, 3, 4, 5]
    assert all_rows[0, 2] == pytest.approx(-1.0)
    assert (np.diff(all_rows.indptr) == 5).all()
    # above a negative floor the negative neighbour is kept once the zeros are used up
    assert similarity_matrix(x, similarity="pearson", k=5, min_similarity=-1.5)[0, 2] == pytest.approx(-1.0)
    assert 2 not in similarity_matrix(x, similarity="pearson", k=5, min_similarity=-0.5)[0].indices


def test_empty_rows_and_columns_and_degenerate_shapes():
    dense = np.zeros((5, 4))
    dense[1, 1] = dense[2, 1] = 3.0
    dense[2, 2] = 1.0
    for similarity in ("cosine", "adjusted_cosine", "pearson", "jaccard"):
        sim = similarity_matrix(sp.csr_matrix(dense), similarity=similarity, k=3)
        assert sim.shape == (5, 5)
        assert sim[0].nnz == 0 and sim[:, 0].nnz == 0  # an empty row has, and is, no neighbour
        filled = similarity_matrix(sp.csr_matrix(dense), similarity=similarity, k=3, min_similarity=-np.inf)
        assert filled[0].indices.tolist() == [1, 2, 3] and not filled[0].data.any()  # lowest-index zeros
    assert similarity_matrix(sp.csr_matrix((0, 3))).shape == (0, 0)
    assert similarity_matrix(sp.csr_matrix((4, 0)), min_similarity=-np.inf).nnz == 12
    assert similarity_matrix(sp.csr_matrix(np.ones((1, 3)))).nnz == 0
    assert similarity_matrix(sp.csr_matrix(dense), k=0).nnz == 0


def test_threads_and_blocks_do_not_change_the_result():
    rng = np.random.default_rng(5)
    x = sp.random(300, 80, density=0.05, random_state=rng, format="csr")
    x.data = np.round(x.data * 4 + 1)
    one = similarity_matrix(x, k=10, block_size=1024, num_threads=1)
    many = similarity_matrix(x, k=10, block_size=13, num_threads=3)
    assert (one != many).nnz == 0
    np.testing.assert_array_equal(one.indices, many.indices)


def test_kth_largest_and_histogram_buckets():
    from recsys_study.recommenders.neighborhood import _bucket, _kth_largest

    rng = np.random.default_rng(2)
    for m in (1, 2, 7, 50, 51, 300):
        for values in (rng.random(m), np.sort(rng.random(m)), np.round(rng.random(m) * 3) / 3 - 0.5):
            for r in sorted({1, min(3, m), m}):
                assert _kth_largest(values.copy(), m, r, np.empty(r)) == np.sort(values)[-r]
    edges = np.array([-1.5, -1.0 - 1e-16, -1.0, -0.3, 0.0, 1e-300, 0.5, 1.0, 1.0 + 2.3e-16, 7.0])
    buckets = [_bucket(v) for v in edges]
    assert buckets == sorted(buckets) and buckets[0] == 0 and buckets[-1] == buckets[-2] == buckets[-3]
