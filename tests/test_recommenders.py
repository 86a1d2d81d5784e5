"""The one contract test for every registered recommender (its declared capabilities included),
plus the baselines' hand cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_study.constants import ITEM, RANK, RATING, SCORE, USER
from recsys_study.recommenders import registry
from recsys_study.recommenders.base import CapabilityError, Recommender

ISSUE_4_NAMES = ["random", "most_popular", "bias", "user_knn", "item_knn", "biased_mf", "als", "bpr",
                 "ease", "rp3beta"]
K = 5


# every registered name, read without importing a model: a model that cannot be imported fails
# its contract test instead of dropping out of it
REGISTERED = registry.available()


def synthetic_frames(seed: int = 0):
    """30 users x 40 items, 6-15 ratings each; ids chosen so an index leak is visible."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(30):
        n = rng.integers(6, 16)
        for i in rng.choice(40, size=n, replace=False):
            rows.append((f"u{u:02d}", 1000 + 7 * int(i), float(rng.integers(1, 6)), 1_000_000 + len(rows)))
    train = pd.DataFrame(rows, columns=[USER, ITEM, RATING, "timestamp"])
    genres = ["Action", "Comedy", "Drama", "Horror", "Romance"]
    items = pd.DataFrame({
        ITEM: [1000 + 7 * i for i in range(40)],
        "title": [f"Movie {i}" for i in range(40)],
        "genres": [[genres[i % 5], genres[(i * 3 + 1) % 5]] for i in range(40)],
        "year": [1980 + i for i in range(40)],
    })
    return train, items


def synthetic_users(seed: int = 1, extra=()):
    """Demographics of the 30 synthetic users (plus ``extra`` ids), for the models that read ``users``."""
    rng = np.random.default_rng(seed)
    ids = [f"u{u:02d}" for u in range(30)] + list(extra)
    return pd.DataFrame({USER: ids, "age": rng.integers(15, 70, len(ids)),
                         "gender": rng.choice(["F", "M"], len(ids)),
                         "occupation": rng.choice(["artist", "engineer", "student"], len(ids))})


@pytest.fixture(scope="module")
def frames():
    return synthetic_frames()


@pytest.fixture(scope="module")
def demographics():
    return synthetic_users()


def _build(name):
    cls = registry.get_class(name)
    params = {"seed": 7} if "seed" in cls._param_names() else {}
    return registry.make(name, **params)


def test_every_issue_4_algorithm_is_importable():
    for name in ISSUE_4_NAMES:
        cls = registry.get_class(name)
        assert cls.name == name


@pytest.mark.parametrize("name", REGISTERED)
def test_recommender_contract(name, frames, demographics):
    train, items = frames
    before = train.copy()
    model = _build(name).fit(train, items, users=demographics)  # demographic models read it, the others ignore it
    pd.testing.assert_frame_equal(train, before)  # fit never modifies its input
    users = ["u00", "u05", "u29", "stranger"]
    recs = model.recommend(users, k=K)
    assert list(recs.columns[:4]) == [USER, ITEM, SCORE, RANK]
    # k rows per user, unknown user included (popularity fallback), ranks 1..k
    counts = recs.groupby(USER).size()
    assert set(counts.index) == set(users)
    assert (counts == K).all()
    assert (recs.groupby(USER)[RANK].apply(lambda r: sorted(r) == list(range(1, K + 1)))).all()
    # scores never increase down a list
    assert (recs.groupby(USER)[SCORE].apply(lambda s: (np.diff(s.to_numpy()) <= 1e-12).all())).all()
    # source ids come back, never internal indices
    assert set(recs[ITEM]) <= set(items[ITEM])
    # no item seen in training is recommended
    seen = recs.merge(train[[USER, ITEM]], on=[USER, ITEM])
    assert seen.empty
    # same seed, same output
    again = _build(name).fit(train, items, users=demographics).recommend(users, k=K)
    pd.testing.assert_frame_equal(recs.reset_index(drop=True), again.reset_index(drop=True))
    _check_declared_capabilities(model, train)


def _check_declared_capabilities(model, train):
    """Each capability a model declares works; each one it does not declare is refused with one clear error."""
    cls = type(model)
    for flag in ("predicts_ratings", "folds_in", "forgets_users"):
        assert isinstance(getattr(model, flag), (bool, np.bool_)), f"{cls.__name__}.{flag} is not declared as a bool"
    assert model.folds_in == (cls._score_history is not Recommender._score_history), \
        f"{cls.__name__} declares folds_in={model.folds_in} but its _score_history says otherwise"
    assert model.forgets_users == (cls.forget is not Recommender.forget)
    history = train.loc[train[USER] == "u00", [ITEM, RATING]]
    if model.folds_in:
        got = model.recommend_for_history(history, k=K)
        assert len(got) == K and not set(got[ITEM]) & set(history[ITEM])
        # no known item says nothing about the user: the unknown user's fallback of recommend
        cold = model.recommend(["stranger"], k=K).drop(columns=USER).reset_index(drop=True)
        for nothing in (history.iloc[:0], pd.DataFrame({ITEM: [-1, -2]})):
            pd.testing.assert_frame_equal(model.recommend_for_history(nothing, k=K), cold)
    else:
        for given in (history, history.iloc[:0]):
            with pytest.raises(CapabilityError, match=r"cannot score a new history without refitting .*folds_in"):
                model.recommend_for_history(given, k=K)
    pairs = pd.DataFrame({USER: ["u00", "u01", "stranger"], ITEM: [1000, 1007, 1000]})
    if model.predicts_ratings:  # an instance: a model may decide by its parameters
        pred = model.predict(pairs)
        assert pred.shape == (3,)
        assert np.isfinite(pred).all()
        assert pred[2] == pytest.approx(train[RATING].mean())  # unknown user -> global mean
    else:
        with pytest.raises(TypeError, match="does not predict ratings"):
            model.predict(pairs)
    if model.forgets_users:
        model.forget(["u00"])
        forgotten = model.recommend(["u00"], k=K).drop(columns=USER).reset_index(drop=True)
        pd.testing.assert_frame_equal(forgotten, model.recommend(["stranger"], k=K).drop(columns=USER)
                                      .reset_index(drop=True))
    else:
        with pytest.raises(CapabilityError, match="cannot forget a user exactly"):
            model.forget(["u00"])


def test_a_registered_model_that_cannot_be_imported_fails_the_contract_instead_of_leaving_it(frames, demographics):
    registry.register("h21_missing", "recsys_study.recommenders.no_such_module:Nothing")
    try:
        assert "h21_missing" in registry.available()  # the contract is parametrised over this list
        with pytest.raises(ImportError):
            test_recommender_contract("h21_missing", frames, demographics)
    finally:
        registry.unregister("h21_missing")


def test_fold_in_is_declared_by_defining_it_unless_the_class_says_otherwise():
    class Folds(Recommender):
        def _score_history(self, row):
            return np.zeros((1, row.shape[1]))

    class DeclinesAnyway(Folds):
        folds_in = False

    class Inherits(Folds):
        pass

    assert Folds.folds_in and Inherits.folds_in and not DeclinesAnyway.folds_in
    assert not Recommender.folds_in and not Recommender.forgets_users and not Recommender.predicts_ratings


def test_random_recommender_depends_only_on_seed_and_user(frames):
    train, items = frames
    a = registry.make("random", seed=1).fit(train).recommend(["u03", "u04"], k=K)
    b = registry.make("random", seed=1).fit(train).recommend(["u04"], k=K)
    c = registry.make("random", seed=2).fit(train).recommend(["u04"], k=K)
    pd.testing.assert_frame_equal(a[a[USER] == "u04"].reset_index(drop=True), b)
    assert list(b[ITEM]) != list(c[ITEM])


def test_most_popular_ranks_by_interaction_count():
    train = pd.DataFrame({USER: ["a", "b", "c", "a", "b", "a", "d"],
                          ITEM: ["x", "x", "x", "y", "y", "z", "w"],
                          RATING: [1.0] * 7})
    recs = registry.make("most_popular").fit(train).recommend(["d"], k=3)
    assert list(recs[ITEM]) == ["x", "y", "z"]
    assert list(recs[SCORE]) == [3.0, 2.0, 1.0]


def test_bias_matches_hand_computed_damped_biases():
    # ratings: a-x 4, a-y 2, b-x 5 ; mu = 11/3
    train = pd.DataFrame({USER: ["a", "a", "b"], ITEM: ["x", "y", "x"], RATING: [4.0, 2.0, 5.0]})
    model = registry.make("bias", damping_user=1.0, damping_item=2.0).fit(train)
    mu = 11 / 3
    b_x = ((4 - mu) + (5 - mu)) / (2 + 2)
    b_y = (2 - mu) / (1 + 2)
    b_a = ((4 - mu - b_x) + (2 - mu - b_y)) / (2 + 1)
    b_b = (5 - mu - b_x) / (1 + 1)
    pred = model.predict(pd.DataFrame({USER: ["a", "b", "b"], ITEM: ["x", "y", "x"]}))
    np.testing.assert_allclose(pred, [mu + b_a + b_x, mu + b_b + b_y, mu + b_b + b_x], rtol=1e-6)
