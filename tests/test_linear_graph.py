"""EASE equals its closed form; RP3beta equals its dense definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_study.constants import ITEM, USER
from recsys_study.recommenders import registry
from recsys_study.recommenders.linear import ease_weights, ease_weights_woodbury


def random_binary(seed: int = 0, n_users: int = 25, n_items: int = 12):
    rng = np.random.default_rng(seed)
    x = (rng.random((n_users, n_items)) < 0.35).astype(float)
    x[np.arange(n_users), rng.integers(0, n_items, n_users)] = 1.0  # nobody is empty
    x[0, :] = 1.0  # every item has a user
    x[0, -1] = 0.0
    rows, cols = np.nonzero(x)
    frame = pd.DataFrame({USER: rows + 100, ITEM: cols + 900})
    return x, frame


def test_ease_weights_equal_closed_form_with_general_inverse():
    x, _ = random_binary()
    lam = 3.0
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    want = -p / np.diag(p)[None, :]
    np.fill_diagonal(want, 0.0)
    got = ease_weights((x.T @ x).astype(np.float32), lam)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("n_users, n_items", [(8, 30), (25, 12)])
def test_ease_woodbury_weights_equal_closed_form_with_general_inverse(n_users, n_items):
    # B from the m x m system (X Xᵀ + λI) equals B from the n x n inverse, with fewer or more users than items
    import scipy.sparse as sp

    x, _ = random_binary(seed=2, n_users=n_users, n_items=n_items)
    lam = 2.5
    p = np.linalg.inv(x.T @ x + lam * np.eye(n_items))
    want = -p / np.diag(p)[None, :]
    np.fill_diagonal(want, 0.0)
    got = ease_weights_woodbury(sp.csr_matrix(x), lam)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_ease_solver_auto_takes_woodbury_for_few_users_and_both_give_the_same_lists():
    x, frame = random_binary(seed=4, n_users=10, n_items=40)
    frame["rating"] = np.random.default_rng(0).integers(1, 6, len(frame)).astype(float)
    for use_ratings in (False, True):
        models = {solver: registry.make("ease", l2=4.0, solver=solver, use_ratings=use_ratings).fit(frame)
                  for solver in ("auto", "gram", "woodbury")}
        assert models["auto"].solver_ == "woodbury" and models["gram"].solver_ == "gram"
        np.testing.assert_allclose(models["woodbury"].weights_, models["gram"].weights_, atol=1e-5)
        users = frame[USER].unique()
        lists = {s: m.recommend(users, k=5)[[USER, ITEM]].to_numpy() for s, m in models.items()}
        assert (lists["woodbury"] == lists["gram"]).all()
    _, many_users = random_binary()  # 25 users, 12 items: the n x n inverse is the cheaper one
    assert registry.make("ease", l2=4.0).fit(many_users).solver_ == "gram"
    with pytest.raises(ValueError, match="solver='qr'.*'auto', 'gram', 'woodbury'"):
        registry.make("ease", solver="qr")


def test_ease_model_scores_are_x_times_b():
    x, frame = random_binary()
    model = registry.make("ease", l2=3.0).fit(frame)
    # rows/cols of the model follow first appearance; map the dense matrix onto them
    dense = x[np.ix_(model.user_index_ - 100, model.item_index_ - 900)]
    p = np.linalg.inv(dense.T @ dense + 3.0 * np.eye(dense.shape[1]))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    np.testing.assert_allclose(model._score(np.arange(4)), dense[:4] @ b, atol=1e-4)


def test_ease_rejects_a_non_positive_penalty():
    _, frame = random_binary()
    with pytest.raises(ValueError, match="positive"):
        registry.make("ease", l2=0.0).fit(frame)


def test_rp3beta_equals_dense_definition():
    x, frame = random_binary(seed=1)
    alpha, beta = 0.8, 0.4
    model = registry.make("rp3beta", alpha=alpha, beta=beta, k=100).fit(frame)
    dense = x[np.ix_(model.user_index_ - 100, model.item_index_ - 900)]
    p_ui = (dense / dense.sum(axis=1, keepdims=True)) ** alpha
    p_iu = (dense.T / dense.T.sum(axis=1, keepdims=True)) ** alpha
    w = (p_iu @ p_ui) / dense.sum(axis=0)[None, :] ** beta
    np.fill_diagonal(w, 0.0)
    np.testing.assert_allclose(model.weights_.toarray(), w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model._score(np.arange(3)), dense[:3] @ w, rtol=1e-5, atol=1e-7)


def test_rp3beta_keeps_k_neighbours_per_item():
    _, frame = random_binary(seed=2)
    model = registry.make("rp3beta", k=3).fit(frame)
    assert (np.diff(model.weights_.indptr) <= 3).all()
