"""forget(users) equals a refit without those users (EASE, item kNN), on every score, in the refit's order;
no score depends on a forgotten user's ratings; a forgotten user is a cold user; the refit fallback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_study.constants import ITEM, RATING, USER
from recsys_study.privacy.erasure import (all_scores, clone, erasure_check, forget_or_refit, max_score_difference)
from recsys_study.recommenders import registry
from recsys_study.recommenders.base import CapabilityError

TOL = 1e-8

FORGETTING = [
    ("ease", {"l2": 5.0, "keep_inverse": True}),
    ("ease", {"l2": 5.0, "keep_inverse": True, "solver": "woodbury"}),
    ("ease", {"l2": 5.0, "keep_inverse": True, "use_ratings": True}),
    ("ease", {"l2": 5.0}),
    ("item_knn", {"k": 4}),
    ("item_knn", {"k": 4, "similarity": "jaccard"}),
    ("item_knn", {"k": 3, "similarity": "pearson", "shrinkage": 2.0}),
    ("item_knn", {"k": 4, "similarity": "adjusted_cosine"}),
    ("item_knn", {"k": 3, "min_similarity": -1.0}),
    ("item_knn", {"k": 200}),
]


def random_frame(seed: int = 0, n_users: int = 40, n_items: int = 30) -> pd.DataFrame:
    """Users with 2-12 integer ratings each, rows shuffled so that first appearances interleave."""
    rng = np.random.default_rng(seed)
    rows = [(f"u{u}", f"i{i}", float(rng.integers(1, 6))) for u in range(n_users)
            for i in rng.choice(n_items, size=rng.integers(2, 13), replace=False)]
    frame = pd.DataFrame(rows, columns=[USER, ITEM, RATING])
    return frame.sample(frac=1.0, random_state=int(rng.integers(1 << 30))).reset_index(drop=True)


def refit_without(model, train, users):
    return clone(model).fit(train[~train[USER].isin(users)])


@pytest.mark.parametrize("name, params", FORGETTING, ids=[f"{n}-{p}" for n, p in FORGETTING])
def test_forget_equals_refit_on_every_score_of_a_random_dataset(name, params):
    train = random_frame()
    for users in (["u3"], ["u0", "u7", "u11", "u20", "u33"]):
        model = registry.make(name, **params).fit(train)
        refit = refit_without(model, train, users)
        model.forget(users)
        if name == "item_knn" and users == ["u3"] and params.get("min_similarity", 0) >= 0:
            assert model.rows_recomputed_ < len(model.item_index_)  # updated, not recomputed
        assert model.user_index_.equals(refit.user_index_) and model.item_index_.equals(refit.item_index_)
        assert max_score_difference(model, refit) < TOL
        np.testing.assert_array_equal(model.item_popularity_, refit.item_popularity_)
        assert model.global_mean_ == refit.global_mean_
        if name == "item_knn":  # the same neighbours, ties included, bit for bit
            assert (model.similarity_ != refit.similarity_).nnz == 0


@pytest.mark.parametrize("name, params", [("ease", {"l2": 5.0, "keep_inverse": True}), ("item_knn", {"k": 3}),
                                          ("item_knn", {"k": 3, "similarity": "jaccard"})])
def test_forgetting_in_steps_equals_forgetting_at_once_and_a_refit(name, params):
    train = random_frame(seed=3)
    model = registry.make(name, **params).fit(train)
    steps = [["u1"], ["u2", "u5"], ["u8"], ["u13", "u21", "u34"], ["u39"]]
    for step in steps:
        model.forget(step)
    gone = [u for step in steps for u in step]
    assert max_score_difference(model, refit_without(model, train, gone)) < TOL


def test_an_item_first_rated_by_a_forgotten_user_moves_back_and_an_item_only_they_rated_goes():
    train = pd.DataFrame({USER: ["a", "a", "b", "b", "c", "c", "a"], ITEM: ["x", "y", "z", "y", "x", "z", "w"],
                          RATING: [1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0]})
    for name in ("ease", "item_knn"):
        model = registry.make(name, **({"keep_inverse": True, "l2": 1.0} if name == "ease" else {"k": 2})).fit(train)
        model.forget(["a"])
        assert list(model.item_index_) == ["z", "y", "x"]  # the refit's first appearances; "w" was only a's
        assert list(model.user_index_) == ["b", "c"]
        assert max_score_difference(model, refit_without(model, train, ["a"])) < TOL


@pytest.fixture(scope="module")
def ml100k_slice():
    from recsys_study.data import load_movielens

    data = load_movielens("ml-100k", sample_frac=0.25, seed=3)
    return data.interactions


@pytest.mark.parametrize("name, params", [("ease", {"keep_inverse": True}), ("ease", {}), ("item_knn", {}),
                                          ("item_knn", {"k": 20, "similarity": "pearson", "shrinkage": 10.0})])
def test_forget_equals_refit_on_a_slice_of_ml100k(ml100k_slice, name, params):
    train = ml100k_slice
    rng = np.random.default_rng(11)
    light = list(train.groupby(USER).size().sort_values(kind="stable").index[:3])  # item kNN updates, not refits
    for users in (light, list(rng.choice(pd.unique(train[USER]), size=8, replace=False))):
        model = registry.make(name, **params).fit(train)
        check = erasure_check(model, train, users)
        assert check["same_order"]
        assert check["max_abs_difference"] < TOL
        if name == "item_knn" and users is light:
            assert model.rows_recomputed_ < len(model.item_index_) / 2  # the incremental path was taken


@pytest.mark.parametrize("name, params", [("ease", {"l2": 5.0, "keep_inverse": True}), ("ease", {"l2": 5.0}),
                                          ("item_knn", {"k": 4})])
def test_no_score_depends_on_a_forgotten_users_ratings(name, params):
    train = random_frame(seed=5)
    other = train.copy()
    mine = other[USER] == "u4"
    # the same user with other items and other ratings
    rng = np.random.default_rng(0)
    other.loc[mine, RATING] = rng.integers(1, 6, size=int(mine.sum())).astype(float)
    other.loc[mine, ITEM] = [f"i{i}" for i in rng.choice(30, size=int(mine.sum()), replace=False)]
    a = registry.make(name, **params).fit(train).forget(["u4"])
    b = registry.make(name, **params).fit(other).forget(["u4"])
    assert not all_scores(registry.make(name, **params).fit(train)).equals(
        all_scores(registry.make(name, **params).fit(other)))  # before forgetting, their ratings mattered
    sa, sb = all_scores(a), all_scores(b)
    sb = sb.loc[sa.index, sa.columns]
    assert np.max(np.abs(sa.to_numpy() - sb.to_numpy())) < TOL


@pytest.mark.parametrize("name", ["ease", "item_knn"])
def test_a_forgotten_user_is_a_cold_user(name):
    train = random_frame(seed=6)
    model = registry.make(name).fit(train).forget(["u2"])
    forgotten = model.recommend(["u2"], k=5).drop(columns=USER)
    stranger = model.recommend(["nobody"], k=5).drop(columns=USER)
    pd.testing.assert_frame_equal(forgotten.reset_index(drop=True), stranger.reset_index(drop=True))
    refit = refit_without(model, train, ["u2"])
    pd.testing.assert_frame_equal(forgotten.reset_index(drop=True),
                                  refit.recommend(["u2"], k=5).drop(columns=USER).reset_index(drop=True))
    if model.predicts_ratings:
        pair = pd.DataFrame({USER: ["u2"], ITEM: [train[ITEM].iloc[0]]})
        assert model.predict(pair)[0] == pytest.approx(refit.global_mean_)


def test_forgetting_an_unknown_user_changes_nothing_and_forgetting_everyone_is_refused():
    train = random_frame(seed=7)
    model = registry.make("ease", keep_inverse=True, l2=5.0).fit(train)
    before = all_scores(model)
    model.forget(["nobody", "u999"])
    pd.testing.assert_frame_equal(all_scores(model), before)
    with pytest.raises(ValueError, match="remove all"):
        model.forget(pd.unique(train[USER]))


def test_models_that_cannot_forget_are_refitted_by_the_fallback():
    train = random_frame(seed=8)
    model = registry.make("bias").fit(train)
    with pytest.raises(CapabilityError):
        model.forget(["u1"])
    again = forget_or_refit(model, train, ["u1"])
    assert again is not model and "u1" not in again.user_index_
    assert max_score_difference(again, registry.make("bias").fit(train[train[USER] != "u1"])) == 0.0


def test_forgetting_a_user_whose_items_nobody_else_rated_drops_those_items_only():
    train = pd.DataFrame({USER: ["a", "a", "b", "b", "c", "c", "e", "e"],
                          ITEM: ["x", "y", "x", "z", "y", "z", "q", "r"],
                          RATING: [1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 1.0, 2.0]})
    for name, params in (("item_knn", {"k": 2}), ("ease", {"keep_inverse": True, "l2": 1.0})):
        model = registry.make(name, **params).fit(train).forget(["e"])
        assert list(model.item_index_) == ["x", "y", "z"]
        assert max_score_difference(model, refit_without(model, train, ["e"])) < TOL
