"""Demographic filtering (Pazzani 1999) and its fallback hybrid: group popularity by hand on a
tiny frame, back-off, shrinkage, new users served by their group, and on MovieLens 100k new
users' lists checked against group shares computed independently with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_study.constants import ITEM, RATING, SCORE, USER
from recsys_study.data import load_movielens
from recsys_study.evaluation.ranking import ndcg_at_k
from recsys_study.recommenders import registry
from recsys_study.recommenders.demographic import age_bands

# a, b: young men; c: a young woman; d, e: older men.  Items in order of first appearance: x, y, z, w.
TRAIN = pd.DataFrame({USER: ["a", "a", "b", "b", "c", "c", "d", "d", "e"],
                      ITEM: ["x", "y", "x", "z", "y", "w", "z", "w", "w"],
                      RATING: [5.0, 4.0, 4.0, 3.0, 5.0, 2.0, 4.0, 5.0, 4.0]})
USERS = pd.DataFrame({USER: ["a", "b", "c", "d", "e", "f", "g", "q"],
                      "age": [20, 22, 23, 40, 41, 25, 50, 45],
                      "gender": ["M", "M", "F", "M", "M", "F", "M", None],
                      "occupation": ["student"] * 3 + ["engineer"] * 2 + ["student", "engineer", "engineer"]})
TINY = {"features": ("age_band", "gender"), "age_bands": (30,), "min_group_size": 2}


def _fit(**params):
    return registry.make("demographic", **{**TINY, **params}).fit(TRAIN, users=USERS)


def _list(model, user, k=4):
    recs = model.recommend([user], k=k)
    return list(zip(recs[ITEM], recs[SCORE].round(10), strict=True))


def test_age_bands_labels():
    got = age_bands(pd.Series([7, 17, 18, 24, 25, 55, 56, 73, np.nan]))
    assert got.iloc[:8].tolist() == ["<18", "<18", "18-24", "18-24", "25-34", "50-55", "56+", "56+"]
    assert pd.isna(got.iloc[8])
    with pytest.raises(ValueError, match="increasing"):
        age_bands(pd.Series([20]), (30, 20))


def test_group_popularity_by_hand():
    model = _fit(shrinkage=0.0)
    # (<30, M) = {a, b}: x 2/2, y 1/2, z 1/2, w 0/2; a has seen x and y
    assert _list(model, "a") == [("z", 0.5), ("w", 0.0)]
    # (30+, M) = {d, e}: w 2/2, z 1/2, x 0, y 0; d has seen z and w
    assert _list(model, "d") == [("x", 0.0), ("y", 0.0)]
    assert _list(model, "e") == [("z", 0.5), ("x", 0.0), ("y", 0.0)]
    groups = model.groups_.set_index("group")["n_users"]
    assert groups.to_dict() == {"everyone": 5, "age_band=<30": 3, "age_band=30+": 2, "age_band=<30, gender=M": 2,
                                "age_band=<30, gender=F": 1, "age_band=30+, gender=M": 2}


def test_small_group_backs_off_to_its_parent_then_everyone():
    model = _fit(shrinkage=0.0)
    # (<30, F) = {c} is below min_group_size 2: c is served by (<30) = {a, b, c}: x 2/3, y 2/3, z 1/3, w 1/3
    assert model.user_groups(["c"])["group"].tolist() == ["age_band=<30"]
    assert _list(model, "c") == [("x", round(2 / 3, 10)), ("z", round(1 / 3, 10))]
    strict = _fit(shrinkage=0.0, min_group_size=3)
    served = strict.user_groups(["a", "c", "d"]).set_index(USER)["group"].to_dict()
    assert served == {"a": "age_band=<30", "c": "age_band=<30", "d": "everyone"}   # (30+) has 2 < 3 users
    # everyone: w 3/5, x, y, z 2/5 each; d has seen z, w
    assert _list(strict, "d") == [("x", 0.4), ("y", 0.4)]


def test_new_users_get_their_groups_items():
    model = _fit(shrinkage=0.0)
    # f (25, F, unknown at fit time) -> (<30, F) too small -> (<30); nothing seen, ties by item order
    assert _list(model, "f") == [("x", round(2 / 3, 10)), ("y", round(2 / 3, 10)),
                                 ("z", round(1 / 3, 10)), ("w", round(1 / 3, 10))]
    assert _list(model, "g") == [("w", 1.0), ("z", 0.5), ("x", 0.0), ("y", 0.0)]       # (30+, M)
    # q has no gender: only the age band is usable; "nobody" has no users row: everyone
    assert model.user_groups(["q", "nobody"])["group"].tolist() == ["age_band=30+", "everyone"]
    assert _list(model, "nobody") == [("w", 0.6), ("x", 0.4), ("y", 0.4), ("z", 0.4)]


def test_shrinkage_towards_the_parent_by_hand():
    model = _fit(shrinkage=2.0)
    glob = {"x": 2 / 5, "y": 2 / 5, "z": 2 / 5, "w": 3 / 5}
    young = {i: (n + 2 * glob[i]) / (3 + 2) for i, n in {"x": 2, "y": 2, "z": 1, "w": 1}.items()}
    young_men = {i: (n + 2 * young[i]) / (2 + 2) for i, n in {"x": 2, "y": 1, "z": 1, "w": 0}.items()}
    got = model.recommend(["a"], k=2)
    assert got[ITEM].tolist() == ["z", "w"]
    np.testing.assert_allclose(got[SCORE], [young_men["z"], young_men["w"]])  # 0.43, 0.22


def test_missing_users_frame_or_feature_is_a_clear_error():
    with pytest.raises(ValueError, match=r"needs the users' demographics: call fit\(train, items, users="):
        registry.make("demographic").fit(TRAIN)
    with pytest.raises(ValueError, match=r"feature\(s\) \['zip'\] are not columns"):
        registry.make("demographic", features=("gender", "zip")).fit(TRAIN, users=USERS)
    with pytest.raises(ValueError, match="needs the users' demographics"):
        registry.make("demographic_fallback").fit(TRAIN)


def test_fallback_switches_by_history_and_for_new_users():
    from test_recommenders import synthetic_frames, synthetic_users

    train, items = synthetic_frames()
    users = synthetic_users(extra=["newcomer"])
    cf = {"algorithm": "item_knn"}
    demo = {"algorithm": "demographic", "params": {"features": ["gender", "age_band"], "min_group_size": 5}}
    hybrid = registry.make("demographic_fallback", collaborative=cf, demographic=demo, n_min=10)
    hybrid.fit(train, items, users=users)
    alone = {"cf": registry.from_spec(cf).fit(train, items, users=users),
             "demo": registry.from_spec(demo).fit(train, items, users=users)}
    history = train[USER].value_counts()
    route = {u: "demo" if history.get(u, 0) < 10 else "cf" for u in [*history.index, "newcomer", "nobody"]}
    assert {"demo", "cf"} == set(route.values())
    lists = {name: m.recommend(list(route), k=5).groupby(USER)[ITEM].apply(list) for name, m in alone.items()}
    got = hybrid.recommend(list(route), k=5).groupby(USER)[ITEM].apply(list)
    for user, via in route.items():
        assert got[user] == lists[via][user], user
    # the routing matters: for some users the two components disagree
    assert any(lists["cf"][u] != lists["demo"][u] for u in route)
    # the newcomer (in the users frame, no ratings) is served by a demographic group, not by everyone
    assert alone["demo"].user_groups(["newcomer"])["depth"].item() > 0


# ---------------------------------------------------------------- MovieLens 100k, new users

@pytest.fixture(scope="module")
def new_user_split():
    data = load_movielens("ml-100k", use_cache=False)
    r = data.interactions
    rng = np.random.default_rng(42)
    users = np.sort(r[USER].unique())
    new = rng.choice(users, size=round(0.2 * len(users)), replace=False)    # unknown at fit time
    train, test = r[~r[USER].isin(new)], r[r[USER].isin(new)]
    return data, train, test, new


def test_ml100k_new_users_lists_are_their_groups_top_items(new_user_split):
    data, train, test, new = new_user_split
    model = registry.make("demographic", shrinkage=0.0).fit(train, data.items, users=data.users)
    recs = model.recommend(new, k=10)
    assert recs.groupby(USER).size().eq(10).all() and set(recs[USER]) == set(new)
    # group shares computed independently: pandas cut + groupby on the training rows
    u = data.users.set_index(USER)
    band = pd.cut(u["age"], [-np.inf, 18, 25, 35, 45, 50, 56, np.inf], right=False,
                  labels=["<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"]).astype(str)
    key = band + "|" + u["gender"] + "|" + u["occupation"]
    served = model.user_groups(new).set_index(USER)
    assert (served["depth"] > 0).all()          # every ml-100k user has a group of 20 or more at some depth
    lists = recs.groupby(USER)
    for user in new[:40]:
        depth = served.loc[user, "depth"]
        prefix = "|".join(key[user].split("|")[:depth])
        members = key.index[key.map(lambda s, p=prefix, d=depth: "|".join(s.split("|")[:d]) == p)]
        rows = train[train[USER].isin(members)]
        share = rows.groupby(ITEM)[USER].nunique() / rows[USER].nunique()
        assert rows[USER].nunique() == served.loc[user, "n_users"] >= 20
        mine = lists.get_group(user)
        np.testing.assert_allclose(mine[SCORE], share.reindex(mine[ITEM]).fillna(0).to_numpy())
        assert share.drop(mine[ITEM]).max() <= mine[SCORE].min() + 1e-12     # nothing better left out


def test_ml100k_demographic_lists_differ_from_most_popular(new_user_split):
    data, train, test, new = new_user_split
    demo = registry.make("demographic").fit(train, data.items, users=data.users)
    pop = registry.make("most_popular").fit(train, data.items)
    d, p = demo.recommend(new, k=10), pop.recommend(new, k=10)
    popular = p[p[USER] == new[0]][ITEM].tolist()
    groups = demo.user_groups(new).set_index(USER)["group"]
    differs = [g for g in groups.unique() if d[d[USER] == groups.index[groups == g][0]][ITEM].tolist() != popular]
    assert len(differs) >= 1
    # users served by the same group get the same list (nobody has history)
    for g in groups.unique():
        members = groups.index[groups == g]
        first = d[d[USER] == members[0]][ITEM].tolist()
        assert all(d[d[USER] == m][ITEM].tolist() == first for m in members[1:])
    truth = test[test[RATING] >= 4][[USER, ITEM]]
    users = truth[USER].unique()
    nd_demo = ndcg_at_k(d, truth, 10).reindex(users, fill_value=0.0).mean()
    nd_pop = ndcg_at_k(p, truth, 10).reindex(users, fill_value=0.0).mean()
    print(f"\nml-100k, {len(users)} new users: NDCG@10 demographic {nd_demo:.4f}, most_popular {nd_pop:.4f}")


def test_shrinkage_up_to_one_only_breaks_ties(new_user_split):
    data, train, _, _ = new_user_split
    plain = registry.make("demographic", shrinkage=0.0).fit(train, data.items, users=data.users)
    tie = registry.make("demographic", shrinkage=1.0).fit(train, data.items, users=data.users)
    served = np.unique(plain._user_row)
    for row in served:
        order = np.argsort(-tie.group_scores_[row], kind="stable")
        assert (np.diff(plain.group_scores_[row][order]) <= 1e-12).all()
