"""Real-time updating: recommend_for_history scores a new history without refitting.

Item-based models (EASE, item kNN, RP3beta) score the user vector directly, so a known user's
training history must give exactly the lists of ``recommend``, and a changed history the scores
x B (x Sᵀ, x W) computed here by hand. ALS folds the user in (least squares on the fitted item
factors), checked against numpy's solve of Hu et al.'s normal equations, and moves a user's list
toward the list of a model refitted with the new interactions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_study.constants import ITEM, RATING, SCORE, USER
from recsys_study.data.synthetic import interactions
from recsys_study.recommenders import registry


@pytest.fixture(scope="module")
def data():
    return interactions(600, 300, 15_000, seed=7)


def _history(frame: pd.DataFrame, user) -> pd.DataFrame:
    return frame.loc[frame[USER] == user, [ITEM, RATING]]


@pytest.mark.parametrize("name", ["ease", "item_knn", "rp3beta"])
def test_item_based_models_score_a_known_history_exactly_as_recommend(data, name):
    model = registry.make(name).fit(data[[USER, ITEM]])
    for user in data[USER].drop_duplicates().iloc[:15]:
        want = model.recommend([user], k=10).drop(columns=USER).reset_index(drop=True)
        got = model.recommend_for_history(_history(data, user)[[ITEM]], k=10)
        pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("name", ["ease", "item_knn", "rp3beta"])
def test_item_based_models_score_an_updated_history_as_x_times_the_item_matrix(data, name):
    model = registry.make(name).fit(data[[USER, ITEM]])
    user = data[USER].iloc[0]
    new_items = [i for i in model.item_index_[:40] if i not in set(_history(data, user)[ITEM])][:5]
    history = pd.concat([_history(data, user)[[ITEM]], pd.DataFrame({ITEM: new_items})])
    x = np.zeros(len(model.item_index_))
    x[model.item_index_.get_indexer(history[ITEM])] = 1.0
    weights = {"ease": lambda: model.weights_, "item_knn": lambda: model.similarity_.T.toarray(),
               "rp3beta": lambda: model.weights_.toarray()}[name]()
    scores = x @ weights.astype(np.float64)  # the definition, dense, by hand
    scores[x > 0] = -np.inf
    order = np.argsort(-scores, kind="stable")[:10]
    got = model.recommend_for_history(history, k=10)
    keep = np.isfinite(scores[order]) & (scores[order] > 0) if name != "ease" else np.isfinite(scores[order])
    assert got[ITEM].tolist()[:int(keep.sum())] == model.item_index_[order[keep]].tolist()
    np.testing.assert_allclose(got[SCORE].to_numpy()[:int(keep.sum())], scores[order[keep]], rtol=1e-5)
    assert not set(got[ITEM]) & set(history[ITEM])  # seen (history) items excluded


def test_als_fold_in_solves_the_weighted_least_squares_of_hu_koren_volinsky(data):
    model = registry.make("als", factors=16, iterations=5, alpha=2.0, regularization=0.1).fit(data[[USER, ITEM]])
    user = data[USER].iloc[3]
    history = _history(data, user)[[ITEM]].iloc[:-3]  # a changed history
    cols = model.item_index_.get_indexer(history[ITEM])
    y = model.item_factors_.astype(np.float64)
    conf = 2.0 * np.ones(len(cols))  # implicit: c_ui = α x_ui on the history (p_ui = 1), 1 elsewhere
    a = y.T @ y + y[cols].T @ ((conf - 1.0)[:, None] * y[cols]) + 0.1 * np.eye(16)
    x_u = np.linalg.solve(a, y[cols].T @ conf)
    scores = y @ x_u
    scores[cols] = -np.inf
    got = model.recommend_for_history(history, k=10)
    order = np.argsort(-scores, kind="stable")[:10]
    # float32 fold-in against a float64 solve: the same scores, hence the same list up to near-ties
    np.testing.assert_allclose(got[SCORE].to_numpy(), scores[order], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(scores[model.item_index_.get_indexer(got[ITEM])], scores[order], rtol=1e-3, atol=1e-5)
    assert len(set(got[ITEM]) & set(model.item_index_[order])) >= 8


def test_als_fold_in_moves_lists_toward_the_refitted_model(data):
    """Users who reveal half their history late: fold-in lists overlap the refitted model's more."""
    counts = data[USER].value_counts()
    users = counts[counts >= 30].index[:25]
    late = data[data[USER].isin(users)].groupby(USER, group_keys=False).apply(lambda g: g.iloc[len(g) // 2:])
    early = data.drop(late.index)
    params = {"factors": 32, "iterations": 10, "regularization": 0.05}
    before_model = registry.make("als", **params).fit(early[[USER, ITEM]])
    refit = registry.make("als", **params).fit(data[[USER, ITEM]])
    gain_before, gain_after = [], []
    for user in users:
        target = set(refit.recommend([user], k=10)[ITEM])
        seen = set(_history(data, user)[ITEM])  # the lists compared all skip the whole history
        ranked = before_model.recommend([user], k=10 + len(seen), exclude_seen=False)[ITEM]
        before = set([i for i in ranked if i not in seen][:10])
        after = set(before_model.recommend_for_history(_history(data, user)[[ITEM]], k=10)[ITEM])
        gain_before.append(len(before & target))
        gain_after.append(len(after & target))
    print(f"overlap with the refitted list: before {np.mean(gain_before):.2f}, after fold-in {np.mean(gain_after):.2f}")
    assert np.mean(gain_after) > np.mean(gain_before) + 0.5, (np.mean(gain_before), np.mean(gain_after))


def test_als_factors_do_not_depend_on_the_thread_count(data):
    one = registry.make("als", factors=16, iterations=3, num_threads=1).fit(data[[USER, ITEM]])
    two = registry.make("als", factors=16, iterations=3, num_threads=2).fit(data[[USER, ITEM]])
    np.testing.assert_array_equal(one.user_factors_, two.user_factors_)
    np.testing.assert_array_equal(one.item_factors_, two.item_factors_)


def test_history_mistakes_get_one_clear_message(data):
    model = registry.make("ease").fit(data[[USER, ITEM]])
    with pytest.raises(ValueError, match="history must be a DataFrame with an 'item' column"):
        model.recommend_for_history(pd.DataFrame({"movie": [1, 2]}))
    bpr = registry.make("bpr", iterations=1).fit(data[[USER, ITEM]])
    with pytest.raises(NotImplementedError, match="cannot score a new history without refitting"):
        bpr.recommend_for_history(_history(data, data[USER].iloc[0]))


def test_items_unknown_at_fit_time_are_ignored(data):
    model = registry.make("item_knn").fit(data[[USER, ITEM]])
    user = data[USER].iloc[0]
    plain = model.recommend_for_history(_history(data, user)[[ITEM]], k=10)
    extra = pd.concat([_history(data, user)[[ITEM]], pd.DataFrame({ITEM: [-1, -2]})])
    pd.testing.assert_frame_equal(model.recommend_for_history(extra, k=10), plain)


@pytest.mark.parametrize("name", ["ease", "item_knn", "rp3beta", "als"])
def test_a_history_with_no_known_item_gets_the_unknown_user_fallback_and_says_so(data, name, caplog):
    model = registry.make(name).fit(data[[USER, ITEM]])
    cold = model.recommend(["nobody"], k=10).drop(columns=USER).reset_index(drop=True)
    assert cold[ITEM].tolist() == model.item_index_[np.argsort(-model.item_popularity_, kind="stable")[:10]].tolist()
    for history in (pd.DataFrame({ITEM: []}), pd.DataFrame({ITEM: [-1, -2], RATING: [5.0, 4.0]})):
        before = history.copy()
        with caplog.at_level("INFO", logger="recsys_study.recommenders.base"):
            caplog.clear()
            got = model.recommend_for_history(history, k=10)
        pd.testing.assert_frame_equal(got, cold)  # popularity, not the first ten item ids with score 0
        assert (got[SCORE] > 0).all()
        assert f"{name}: a history with no item known at fit time ({len(history)} row(s)) gets the cold-user " \
               "fallback" in caplog.text
        pd.testing.assert_frame_equal(history, before)


def test_a_model_that_does_not_fold_in_refuses_every_history_even_an_empty_one(data):
    from recsys_study.recommenders.base import CapabilityError

    bpr = registry.make("bpr", iterations=1).fit(data[[USER, ITEM]])
    assert not bpr.folds_in
    for history in (pd.DataFrame({ITEM: []}), _history(data, data[USER].iloc[0])):
        with pytest.raises(CapabilityError) as err:
            bpr.recommend_for_history(history)
        assert str(err.value) == (
            "ImplicitBPR cannot score a new history without refitting (it declares folds_in = False); refit it "
            "on the history, or use a model that folds in (e.g. als, item_knn, ease, rp3beta).")
