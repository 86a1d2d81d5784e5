"""The Laplace mechanism, per-user caps and their sensitivities, the private recommenders, and the
privacy study's read-outs (hand cases and brute force)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_study.constants import ITEM, RATING, USER
from recsys_study.privacy import mechanisms as mech
from recsys_study.privacy import study
from recsys_study.recommenders import registry
from recsys_study.recommenders.linear import ease_weights, gram_matrix

INF = float("inf")


def random_matrix(seed=0, n_users=25, n_items=12, max_items=9) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for u in range(n_users):
        items = rng.choice(n_items, size=rng.integers(1, max_items + 1), replace=False)
        rows += [u] * len(items)
        cols += list(items)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))


def frame_of(x: sp.csr_matrix) -> pd.DataFrame:
    c = x.tocoo()
    return pd.DataFrame({USER: [f"u{r}" for r in c.row], ITEM: [f"i{j}" for j in c.col], RATING: 4.0})


def test_laplace_scale_is_sensitivity_over_epsilon_and_zero_without_privacy():
    assert mech.laplace_scale(6.0, 2.0) == 3.0
    assert mech.count_sensitivity(7) == 7.0
    assert mech.gram_sensitivity(4) == 10.0  # 4 * 5 / 2
    assert mech.laplace_scale(10.0, INF) == 0.0
    with pytest.raises(ValueError, match="epsilon must be positive"):
        mech.laplace_scale(1.0, 0.0)


def test_sensitivities_are_the_largest_change_one_capped_user_makes_brute_force():
    c = 4
    x = mech.cap_user_items(random_matrix(seed=1), c, seed=0)
    gram = (x.T @ x).toarray()
    counts = np.asarray(x.sum(axis=0)).ravel()
    worst_counts = worst_gram = 0.0
    for u in range(x.shape[0]):  # remove each user in turn: the user-level neighbours
        rest = x[[v for v in range(x.shape[0]) if v != u]]
        worst_counts = max(worst_counts, np.abs(counts - np.asarray(rest.sum(axis=0)).ravel()).sum())
        worst_gram = max(worst_gram, np.abs(np.triu(gram - (rest.T @ rest).toarray())).sum())
    # some user has exactly c items, so the bounds are attained
    assert np.diff(x.indptr).max() == c
    assert worst_counts == mech.count_sensitivity(c)
    assert worst_gram == mech.gram_sensitivity(c)


def test_the_laplace_noise_variance_over_many_seeds_is_two_b_squared():
    x = random_matrix(seed=2)
    true = np.bincount(mech.cap_user_items(x, 5, seed=mech.stream_seeds(0)[0]).indices, minlength=x.shape[1])
    n_seeds = 2000
    noise = np.concatenate([
        mech.private_counts(x, epsilon=0.5, max_per_user=5, seed=s)
        - np.bincount(mech.cap_user_items(x, 5, seed=mech.stream_seeds(s)[0]).indices, minlength=x.shape[1])
        for s in range(n_seeds)])
    b = 5 / 0.5
    n = noise.size
    # Var of the sample variance of Laplace(b): (μ4 − σ⁴)/n = (24 − 4) b⁴ / n; allow 5 standard errors
    assert abs(noise.var() - 2 * b**2) < 5 * b**2 * math.sqrt(20 / n)
    assert abs(noise.mean()) < 5 * math.sqrt(2) * b / math.sqrt(n)
    assert true.sum() > 0


def test_the_noisy_gram_matrix_is_symmetric_with_laplace_noise_of_scale_c_c_plus_1_over_2_epsilon():
    x = random_matrix(seed=3, n_items=60, n_users=80)
    c, eps = 3, 2.0
    noisy = mech.private_gram(x, epsilon=eps, max_per_user=c, seed=4)
    xc = mech.cap_user_items(x, c, seed=mech.stream_seeds(4)[0])
    noise = noisy - (xc.T @ xc).toarray()
    np.testing.assert_array_equal(noise, noise.T)
    upper = noise[np.triu_indices(60)]
    b = c * (c + 1) / 2 / eps
    assert abs(upper.var() - 2 * b**2) < 5 * b**2 * math.sqrt(20 / upper.size)
    np.testing.assert_array_equal(mech.private_gram(x, epsilon=eps, max_per_user=c, seed=4), noisy)
    assert not np.array_equal(mech.private_gram(x, epsilon=eps, max_per_user=c, seed=5), noisy)


def test_each_user_keeps_at_most_c_of_their_own_interactions():
    x = random_matrix(seed=4, max_items=12)
    x.data = np.arange(1, x.nnz + 1, dtype=float)  # values identify entries
    capped = mech.cap_user_items(x, 3, seed=9)
    counts, original = np.diff(capped.indptr), np.diff(x.indptr)
    np.testing.assert_array_equal(counts, np.minimum(original, 3))
    for u in range(x.shape[0]):
        kept = dict(zip(capped[u].indices, capped[u].data))
        mine = dict(zip(x[u].indices, x[u].data))
        assert set(kept.items()) <= set(mine.items())  # only the user's own entries, unchanged
    assert (mech.cap_user_items(x, 3, seed=9) != capped).nnz == 0
    assert (mech.cap_user_items(x, 3, seed=10) != capped).nnz > 0
    frame = frame_of(random_matrix(seed=4, max_items=12))
    kept = mech.cap_frame(frame, 3, seed=1)
    assert kept.groupby(USER).size().max() == 3
    assert kept.index.is_monotonic_increasing and set(kept.index) <= set(frame.index)


def test_without_noise_and_cap_the_private_models_are_the_non_private_ones_exactly():
    train = frame_of(random_matrix(seed=5))
    private = registry.make("private_ease", epsilon=INF, max_per_user=None, l2=3.0).fit(train)
    plain = registry.make("ease", l2=3.0).fit(train)
    np.testing.assert_array_equal(private.weights_, plain.weights_)
    users = list(pd.unique(train[USER]))
    pd.testing.assert_frame_equal(private.recommend(users, k=4), plain.recommend(users, k=4))
    pop = registry.make("private_popularity", epsilon=INF, max_per_user=None).fit(train)
    np.testing.assert_array_equal(pop.scores_, registry.make("most_popular").fit(train).scores_)


def test_a_capped_model_without_noise_is_ease_on_the_capped_data():
    x = random_matrix(seed=6)
    train = frame_of(x)
    model = registry.make("private_ease", epsilon=INF, max_per_user=2, l2=3.0, seed=8).fit(train)
    capped = mech.cap_user_items(model.x_, 2, seed=mech.stream_seeds(8)[0])
    np.testing.assert_array_equal(model.weights_, ease_weights(gram_matrix(capped), 3.0))


def test_a_private_model_is_deterministic_given_its_seed_and_its_noise_has_the_stated_scale():
    train = frame_of(random_matrix(seed=7))
    a = registry.make("private_ease", epsilon=2.0, max_per_user=4, seed=1).fit(train)
    b = registry.make("private_ease", epsilon=2.0, max_per_user=4, seed=1).fit(train)
    c = registry.make("private_ease", epsilon=2.0, max_per_user=4, seed=2).fit(train)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    assert not np.array_equal(a.weights_, c.weights_)
    assert a.noise_scale_ == 4 * 5 / 2 / 2.0
    n = len(a.item_index_)
    assert a.l2_ >= 250.0 + 2 * math.sqrt(2 * n) * a.noise_scale_
    pop = registry.make("private_popularity", epsilon=0.5, max_per_user=4, seed=1).fit(train)
    assert pop.noise_scale_ == 8.0
    # the cold-user fallback ranks by the released (noisy) counts, never the raw ones
    np.testing.assert_array_equal(pop.item_popularity_, pop.scores_)
    assert not np.array_equal(pop.scores_, np.round(pop.scores_))


def test_a_finite_epsilon_without_a_cap_is_refused_with_the_fix():
    for name in ("private_ease", "private_popularity"):
        with pytest.raises(ValueError, match="needs max_per_user"):
            registry.make(name, epsilon=1.0, max_per_user=None)
        with pytest.raises(ValueError, match="epsilon must be positive"):
            registry.make(name, epsilon=-1.0)


def test_the_item_universe_of_a_private_model_is_the_catalogue():
    train = frame_of(random_matrix(seed=8))
    items = pd.DataFrame({ITEM: [f"i{j}" for j in range(15)]})  # three items nobody rated
    model = registry.make("private_popularity", epsilon=1.0, max_per_user=3).fit(train, items)
    assert set(model.item_index_) == set(items[ITEM])


def test_smallest_epsilon_and_the_conclusion_read_the_numbers_given():
    summary = pd.DataFrame({"model": ["m"] * 4, "epsilon": [0.5, 1.0, 5.0, INF], "mean": [0.1, 0.5, 0.95, 0.99],
                            "lower": [0.0, 0.4, 0.9, 0.98], "upper": [0.2, 0.6, 1.0, 1.0], "n_seeds": 3})
    assert study.smallest_epsilon(summary, {"m": 1.0}) == {"m": 5.0}
    assert study.smallest_epsilon(summary, {"m": 1.0}, share=0.5) == {"m": 1.0}
    assert study.smallest_epsilon(summary, {"m": 2.0}) == {"m": None}
    erasure = pd.DataFrame({"model": ["ease"], "users_forgotten": [10], "max_abs_difference": [3e-15],
                            "same_order": [True], "forget_s": [0.1], "refit_s": [0.4], "speedup": [4.0]})
    text = study.conclusion(summary, {"m": 1.0}, {"m": 5.0}, erasure)
    assert "ε = 5" in text and "1.000" in text and "3.0e-15" in text and "4.0×" in text
    assert "no finite ε" in study.conclusion(summary, {"m": 2.0}, {"m": None}, erasure)


def test_leaders_name_the_best_private_model_at_each_budget():
    summary = pd.DataFrame({"model": ["a"] * 4 + ["b"] * 4, "epsilon": [1.0, 10.0, 100.0, INF] * 2,
                            "mean": [0.2, 0.3, 0.5, 0.6, 0.25, 0.28, 0.3, 0.3], "lower": 0.0, "upper": 1.0,
                            "n_seeds": 3})
    assert study.leaders(summary) == {"a": [10.0, 100.0], "b": [1.0]}
    text = study.conclusion(summary, {"a": 0.6, "b": 0.3}, {"a": 100.0, "b": 1.0}, pd.DataFrame(
        columns=["model", "users_forgotten", "max_abs_difference", "same_order", "forget_s", "refit_s", "speedup"]))
    assert "Highest mean NDCG@10 among the private models, by budget: **a** at ε = 10, 100; **b** at ε = 1." in text
