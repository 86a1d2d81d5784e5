"""The simulated world's shortcuts give exactly what the long way gives.

The world asks a recommender for its lists without the recommendation frame, computes only the
utilities of the items it shows (every customer x item utility for the oracle alone), and the
random baseline keeps the score rows it has drawn. Each shortcut is checked here against the long
way it replaces: ``Recommender.recommend``'s frame, the full taste matrix, a fresh generator a user.
"""

import pickle

import numpy as np
import pandas as pd
import pytest

from recsys_study.constants import ITEM, RATING, USER
from recsys_study.recommenders.registry import make
from recsys_study.simulation import TrueUtilities, World, WorldConfig


@pytest.fixture(scope="module")
def world():
    """A small hand-made world: 30 real users, 60 items, 8 ratings each."""
    rng = np.random.default_rng(5)
    n_users, n_items = 30, 60
    history = pd.DataFrame([(a, i, float(rng.integers(1, 6))) for a in range(n_users)
                            for i in np.sort(rng.choice(n_items, 8, replace=False))],
                           columns=["archetype", "item", RATING])
    utilities = TrueUtilities(users=pd.Index(np.arange(n_users) + 1000), items=pd.Index(np.arange(n_items) * 7 + 3),
                              base=rng.normal(3.5, 1.0, (n_users, n_items)).astype(np.float32), history=history,
                              demographics=None)
    config = WorldConfig.from_dict({"user": {"n_customers": 40, "history": 5}, "rounds": 4})
    return World(config, utilities, seed=11)


def _train(world, n_users):
    """A log of customers 0..n_users-1: four of each one's items (catalogue ids), ratings 1..5."""
    rng = np.random.default_rng(2)
    rows = [(u, world.utilities.items[i], float(rng.integers(1, 6))) for u in range(n_users)
            for i in rng.choice(len(world.utilities.items), 4, replace=False)]
    return pd.DataFrame(rows, columns=[USER, ITEM, RATING])


@pytest.mark.parametrize("spec", ["most_popular", "random", "ease", "item_knn",
                                  {"algorithm": "als", "params": {"factors": 4, "iterations": 2}}])
def test_lists_without_the_frame_equal_the_recommend_frame(world, spec):
    name, params = (spec, {}) if isinstance(spec, str) else (spec["algorithm"], spec["params"])
    model = make(name, **params).fit(_train(world, 25))
    ids = np.array([0, 3, 4, 9, 17, 24, 25, 31, 39])  # 25 and above: unknown at fit time (the cold fallback)
    n = 8
    recs = model.recommend(ids, k=n)
    expected = np.full((len(ids), n), -1)
    expected[pd.Index(ids).get_indexer(recs[USER]), recs["rank"].to_numpy() - 1] = \
        world.utilities.items.get_indexer(recs[ITEM])
    got = world._recommended(model, ids, n)
    np.testing.assert_array_equal(got, expected)
    assert (got[:, :4] >= 0).all()  # 60 items, at most 4 seen: every list is full


def test_taste_of_the_items_shown_equals_the_full_taste_matrix(world):
    ids = np.array([0, 5, 6, 33, 120])
    archetype = np.array([3, 0, 29, 7, 7])
    full = world.taste_of(ids, archetype)
    assert full.dtype == np.float32 and full.shape == (5, 60)
    slate = np.array([[0, 59, 4], [7, 7, 1], [58, 2, 30], [0, 0, 0], [11, 12, 13]])
    shown = world.taste_of(ids, archetype, slate)
    np.testing.assert_array_equal(shown, np.take_along_axis(full, slate, axis=1))
    # the noise is the customer's own: the clone's utility plus a draw keyed on (customer, item)
    noise = full - world.utilities.base[archetype]
    assert 0.1 < noise.std() < 0.5 and not np.array_equal(noise[3], noise[4])


def test_oracle_and_recommender_worlds_share_their_customers(world):
    oracle = world.run("oracle", show_progress=False)
    popular = world.run("most_popular", show_progress=False)
    first = oracle.customers["join_round"] == 0
    cohort = popular.customers["join_round"] == 0
    pd.testing.assert_frame_equal(oracle.customers.loc[first, ["customer", "archetype"]],
                                  popular.customers.loc[cohort, ["customer", "archetype"]])
    signup = oracle.log[oracle.log["timestamp"] == -1]
    pd.testing.assert_frame_equal(signup, popular.log[popular.log["timestamp"] == -1])
    assert len(signup) == 40 * 5  # `history` = 5 sign-up ratings each


def test_random_scores_kept_between_calls_equal_fresh_generators():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({USER: rng.integers(0, 90, 2000), ITEM: rng.integers(0, 160, 2000)})
    train = train.drop_duplicates([USER, ITEM])
    model = make("random", seed=42).fit(train)
    n_items = len(model.item_index_)
    fresh = np.vstack([np.random.default_rng([42, u]).random(n_items) for u in range(len(model.user_index_))])
    model.cache_size = n_items * 30  # users 0..29 are kept, the others drawn afresh every time
    for users in (np.array([5, 3, 3, 80, 0]), rng.permutation(len(model.user_index_)), np.arange(20, 40)):
        np.testing.assert_array_equal(model._score(users), fresh[users])
    again = pickle.loads(pickle.dumps(model))
    assert not hasattr(again, "_rows")  # the kept rows are not pickled
    np.testing.assert_array_equal(again._score(np.array([7, 60])), fresh[[7, 60]])
    model.seed = 3  # a new seed forgets the kept rows
    np.testing.assert_array_equal(model._score(np.array([7]))[0], np.random.default_rng([3, 7]).random(n_items))


def test_initial_customers_are_drawn_once_and_kept_read_only(world):
    ids = np.arange(40)
    fresh = world._draw_customers(ids, taste=True)
    first = world._new_customers(ids, taste=False)
    assert first["taste"] is None
    kept = world._new_customers(ids, taste=True)
    again = World(world.config, world.utilities, seed=world.seed)._new_customers(ids, taste=True)
    for got in (kept, again):
        for name in ("archetype", "habit", "expectation", "taste"):
            np.testing.assert_array_equal(got[name], fresh[name])
        for a, b in zip(got["history"], fresh["history"]):
            np.testing.assert_array_equal(a, b)
    assert again["archetype"] is kept["archetype"] and not kept["taste"].flags.writeable
    other = World(world.config, world.utilities, seed=world.seed + 1)._new_customers(ids, taste=False)
    assert not np.array_equal(other["habit"], fresh["habit"])  # another seed, other customers
    later = world._new_customers(np.arange(40, 45))  # arrivals are drawn afresh
    np.testing.assert_array_equal(later["habit"], world._draw_customers(np.arange(40, 45), taste=False)["habit"])
