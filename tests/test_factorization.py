"""Biased MF learns, is seeded, and beats the bias baseline on low-rank data; ALS/BPR wrap implicit faithfully."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_study.constants import ITEM, RATING, USER
from recsys_study.evaluation import rmse
from recsys_study.recommenders import registry


def low_rank_ratings(seed: int = 0, n_users: int = 60, n_items: int = 50, density: float = 0.5):
    """Ratings = 3 + user bias + item bias + a rank-2 interaction + small noise, on a random half."""
    rng = np.random.default_rng(seed)
    u, v = rng.normal(0, 0.8, (n_users, 2)), rng.normal(0, 0.8, (n_items, 2))
    full = 3 + rng.normal(0, 0.3, (n_users, 1)) + rng.normal(0, 0.3, (1, n_items)) + u @ v.T
    full += rng.normal(0, 0.1, full.shape)
    mask = rng.random(full.shape) < density
    rows, cols = np.nonzero(mask)
    frame = pd.DataFrame({USER: rows, ITEM: cols + 500, RATING: full[rows, cols]})
    test_mask = rng.random(len(frame)) < 0.2
    return frame[~test_mask].reset_index(drop=True), frame[test_mask].reset_index(drop=True)


def test_biased_mf_training_error_decreases_and_beats_bias_on_low_rank_data():
    train, test = low_rank_ratings()
    mf = registry.make("biased_mf", factors=4, epochs=60, learning_rate=0.02, regularization=0.02, seed=1)
    mf.fit(train)
    assert mf.train_rmse_[-1] < mf.train_rmse_[0]
    bias = registry.make("bias").fit(train)
    mf_rmse = rmse(test[RATING], mf.predict(test))
    bias_rmse = rmse(test[RATING], bias.predict(test))
    assert mf_rmse < 0.8 * bias_rmse


def test_biased_mf_same_seed_same_factors_other_seed_differs():
    train, _ = low_rank_ratings()
    a = registry.make("biased_mf", epochs=3, seed=5).fit(train)
    b = registry.make("biased_mf", epochs=3, seed=5).fit(train)
    c = registry.make("biased_mf", epochs=3, seed=6).fit(train)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    assert not np.allclose(a.user_factors_, c.user_factors_)


def test_biased_mf_predictions_stay_on_the_training_scale():
    train, test = low_rank_ratings()
    pred = registry.make("biased_mf", epochs=5).fit(train).predict(test)
    assert pred.min() >= train[RATING].min() and pred.max() <= train[RATING].max()


def _binary_matrix(train):
    model = registry.make("most_popular").fit(train)  # reuse the base class id mapping
    x = model.user_items_.copy()
    x.data[:] = 1.0
    return model, sp.csr_matrix(x)


def test_als_scores_equal_implicit_fitted_directly():
    from implicit.cpu.als import AlternatingLeastSquares

    train, _ = low_rank_ratings()
    ours = registry.make("als", factors=8, iterations=5, alpha=2.0, seed=3).fit(train)
    base, x = _binary_matrix(train)
    peer = AlternatingLeastSquares(factors=8, iterations=5, alpha=2.0, random_state=3, num_threads=1)
    peer.fit(x, show_progress=False)
    np.testing.assert_allclose(ours._score(np.arange(5)), peer.user_factors[:5] @ peer.item_factors.T, rtol=1e-5)
    # implicit's own top-10 for user 0 agrees with ours
    ids, _ = peer.recommend(0, x[0], N=10, filter_already_liked_items=True)
    recs = ours.recommend([base.user_index_[0]], k=10)
    assert list(recs[ITEM]) == list(base.item_index_[ids])


def test_bpr_is_reproducible_with_its_seed():
    train, _ = low_rank_ratings()
    a = registry.make("bpr", factors=8, iterations=10, seed=4).fit(train).recommend([0, 1], k=5)
    b = registry.make("bpr", factors=8, iterations=10, seed=4).fit(train).recommend([0, 1], k=5)
    pd.testing.assert_frame_equal(a, b)
