"""SAR (Microsoft Recommenders' Simple Algorithm for Recommendation) on a case computed by hand.

Four users, four items (w, x, y, z), ratings and timestamps; one day = 86,400 s, t0 = the latest
training timestamp (user d's (d, y) row, so that a per-user t0 would give other numbers).

    row        rating   t0 − t    2^(−Δ/1 day)   rating · decay
    a w           4      2 days       1/4             1
    a x           2      1 day        1/2             1      (a's latest row: weight 1 with a per-user t0)
    b w           5      1 day        1/2             5/2
    b x           1      3 days       1/8             1/8
    b y           3      2 days       1/4             3/4
    c x           4      4 days       1/16            1/4
    c z           2      1 day        1/2             1
    d y           1      0            1               1
    d z           4      2 days       1/4             1

Users of each item: w {a, b}, x {a, b, c}, y {b, d}, z {c, d}, so d = (2, 3, 2, 2) and the
off-diagonal co-occurrences are C_wx = 2, C_wy = C_xy = C_xz = C_yz = 1, C_wz = 0.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from recsys_study.constants import ITEM, RATING, SCORE, TIMESTAMP, USER
from recsys_study.recommenders import make, registry
from recsys_study.recommenders import sar as sar_module
from recsys_study.recommenders.sar import SAR

DAY = 86_400
T0 = 1_000_000_000
ITEMS = ["w", "x", "y", "z"]
USERS = ["a", "b", "c", "d"]
ROWS = [  # user, item, rating, days before t0
    ("a", "w", 4.0, 2), ("a", "x", 2.0, 1),
    ("b", "w", 5.0, 1), ("b", "x", 1.0, 3), ("b", "y", 3.0, 2),
    ("c", "x", 4.0, 4), ("c", "z", 2.0, 1),
    ("d", "y", 1.0, 0), ("d", "z", 4.0, 2),
]
TOL = dict(rtol=0, atol=1e-12)
L43, L23 = math.log2(4 / 3), math.log2(2 / 3)
NEG = -np.inf

# C (w, x, y, z) and each similarity, written out from the formulas of the module docstring
COUNTS = [[2, 2, 1, 0], [2, 3, 1, 1], [1, 1, 2, 1], [0, 1, 1, 2]]
SIMILARITY = {
    "counts": COUNTS,
    # C_ij / (d_i + d_j − C_ij)
    "jaccard": [[1, 2 / 3, 1 / 3, 0], [2 / 3, 1, 1 / 4, 1 / 4], [1 / 3, 1 / 4, 1, 1 / 3], [0, 1 / 4, 1 / 3, 1]],
    # C_ij / (d_i d_j)
    "lift": [[1 / 2, 1 / 3, 1 / 4, 0], [1 / 3, 1 / 3, 1 / 6, 1 / 6], [1 / 4, 1 / 6, 1 / 2, 1 / 4],
             [0, 1 / 6, 1 / 4, 1 / 2]],
    # C_ij / √(d_i d_j)
    "cosine": [[1, 2 / math.sqrt(6), 1 / 2, 0], [2 / math.sqrt(6), 1, 1 / math.sqrt(6), 1 / math.sqrt(6)],
               [1 / 2, 1 / math.sqrt(6), 1, 1 / 2], [0, 1 / math.sqrt(6), 1 / 2, 1]],
    # C_ij / min(d_i, d_j)
    "inclusion_index": [[1, 1, 1 / 2, 0], [1, 1, 1 / 2, 1 / 2], [1 / 2, 1 / 2, 1, 1 / 2], [0, 1 / 2, 1 / 2, 1]],
    # log2(n_items · lift), n_items = 4; −∞ where C = 0 (their log2 0)
    "mutual_information": [[1, L43, 0, NEG], [L43, L43, L23, L23], [0, L23, 1, 0], [NEG, L23, 0, 1]],
    # C_ij · log2(n_items · lift), 0 where C = 0
    "lexicographers_mutual_information": [[2, 2 * L43, 0, 0], [2 * L43, 3 * L43, L23, L23], [0, L23, 2, 0],
                                          [0, L23, 0, 2]],
}
# a_ui with T = 1 day (the table above), and without decay (ratings summed)
AFFINITY = [[1, 1, 0, 0], [5 / 2, 1 / 8, 3 / 4, 0], [0, 1 / 4, 0, 1], [0, 0, 1, 1]]
AFFINITY_NO_DECAY = [[4, 2, 0, 0], [5, 1, 3, 0], [0, 4, 0, 2], [0, 0, 1, 4]]
DECAY_ONLY = [[1 / 4, 1 / 2, 0, 0], [1 / 2, 1 / 8, 1 / 4, 0], [0, 1 / 16, 0, 1 / 2], [0, 0, 1, 1 / 4]]  # no ratings
# s_u = a_u S for Jaccard with T = 1 day, summed by hand; e.g. s_bx = 5/2 · 2/3 + 1/8 · 1 + 3/4 · 1/4 = 95/48
SCORES_JACCARD = [
    [5 / 3, 5 / 3, 7 / 12, 1 / 4],
    [17 / 6, 95 / 48, 155 / 96, 9 / 32],
    [1 / 6, 1 / 2, 19 / 48, 17 / 16],
    [1 / 3, 1 / 2, 4 / 3, 4 / 3],
]


def frame(columns=(USER, ITEM, RATING, TIMESTAMP)) -> pd.DataFrame:
    df = pd.DataFrame([(u, i, r, T0 - days * DAY) for u, i, r, days in ROWS],
                      columns=[USER, ITEM, RATING, TIMESTAMP])
    return df[list(columns)]


def item_matrix(model: SAR, matrix) -> np.ndarray:
    m = matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
    idx = model.item_index_.get_indexer(ITEMS)
    return m[np.ix_(idx, idx)]


def user_matrix(model: SAR, matrix) -> np.ndarray:
    m = matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
    return m[np.ix_(model.user_index_.get_indexer(USERS), model.item_index_.get_indexer(ITEMS))]


def all_scores(model: SAR) -> np.ndarray:
    return user_matrix(model, model._score(np.arange(len(model.user_index_))))


@pytest.fixture(params=["dense", "sparse"])
def storage(request, monkeypatch):
    """Run a test with S scored as a dense copy and as the sparse matrix (the two must agree)."""
    if request.param == "sparse":
        monkeypatch.setattr(sar_module, "DENSE_MAX_BYTES", 0)
    return request.param


def test_registered_with_published_parameters():
    assert registry.get_class("sar") is SAR and SAR.name == "sar"
    assert SAR.PUBLISHED_ML100K == {"similarity": "jaccard", "time_decay_days": 30.0, "threshold": 1}
    model = make("sar", **SAR.PUBLISHED_ML100K)
    assert model.get_params() == {"similarity": "jaccard", "time_decay_days": 30.0, "time_now": None,
                                  "threshold": 1, "use_ratings": True}


def test_cooccurrence_and_every_similarity_by_hand(storage):
    for kind, expected in SIMILARITY.items():
        model = SAR(similarity=kind, time_decay_days=1.0).fit(frame())
        assert (model.scoring_matrix_ is model.similarity_) == (storage == "sparse")
        np.testing.assert_array_equal(item_matrix(model, model.cooccurrence_), COUNTS)  # H binary, not the ratings
        np.testing.assert_array_equal(model.item_frequencies_[model.item_index_.get_indexer(ITEMS)], [2, 3, 2, 2])
        stored = item_matrix(model, model.similarity_)
        finite = np.isfinite(np.asarray(expected, dtype=float))
        np.testing.assert_allclose(stored[finite], np.asarray(expected, dtype=float)[finite], **TOL, err_msg=kind)
        if storage == "dense":
            np.testing.assert_allclose(item_matrix(model, model.scoring_matrix_), expected, **TOL, err_msg=kind)


def test_decayed_affinity_uses_one_global_t0():
    model = SAR(time_decay_days=1.0).fit(frame())
    assert model.time_now_ == T0  # d's last row; a per-user t0 would make a's latest row weigh 1, not 1/2
    np.testing.assert_allclose(user_matrix(model, model.affinity_), AFFINITY, **TOL)
    plain = SAR().fit(frame())
    np.testing.assert_allclose(user_matrix(plain, plain.affinity_), AFFINITY_NO_DECAY, **TOL)
    # an explicit t0 one day later halves every weight; rows after t0 weigh 1 (their min(1, ·))
    later = SAR(time_decay_days=1.0, time_now=T0 + DAY).fit(frame())
    np.testing.assert_allclose(user_matrix(later, later.affinity_), np.asarray(AFFINITY) / 2, **TOL)
    earlier = SAR(time_decay_days=1.0, time_now=T0 - DAY).fit(frame())
    assert user_matrix(earlier, earlier.affinity_)[3, 2] == 1.0  # (d, y) at t0 + 1 day: capped at 1
    # half-life 2 days: (c, x), 4 days old, weighs 4 · 2^-2 = 1
    two = SAR(time_decay_days=2.0).fit(frame())
    assert user_matrix(two, two.affinity_)[2, 1] == pytest.approx(1.0, abs=1e-12)
    # no ratings: 1 per row, decayed
    ones = SAR(time_decay_days=1.0, use_ratings=False).fit(frame())
    np.testing.assert_allclose(user_matrix(ones, ones.affinity_), DECAY_ONLY, **TOL)
    implicit = SAR(time_decay_days=1.0).fit(frame((USER, ITEM, TIMESTAMP)))
    np.testing.assert_allclose(user_matrix(implicit, implicit.affinity_), DECAY_ONLY, **TOL)
    # datetimes give the same weights as seconds
    dated = frame()
    dated[TIMESTAMP] = pd.to_datetime(dated[TIMESTAMP], unit="s")
    from_dates = SAR(time_decay_days=1.0).fit(dated)
    np.testing.assert_allclose(user_matrix(from_dates, from_dates.affinity_), AFFINITY, **TOL)


def test_scores_and_recommendations_by_hand(storage):
    model = SAR(similarity="jaccard", time_decay_days=1.0).fit(frame())
    np.testing.assert_allclose(all_scores(model), SCORES_JACCARD, **TOL)
    recs = model.recommend(USERS, k=4)
    # a saw w, x: y (7/12) then z (1/4); b saw w, x, y: z; c saw x, z: y (19/48) before w (1/6); d: x, w
    assert recs.groupby(USER)[ITEM].apply(list).to_dict() == {"a": ["y", "z"], "b": ["z"], "c": ["y", "w"],
                                                              "d": ["x", "w"]}
    np.testing.assert_allclose(recs[SCORE], [7 / 12, 1 / 4, 9 / 32, 19 / 48, 1 / 6, 1 / 2, 1 / 3], **TOL)
    # every other similarity: s = a S with the hand matrices above (finite where a S is)
    for kind in ("counts", "lift", "cosine", "inclusion_index", "lexicographers_mutual_information"):
        got = all_scores(SAR(similarity=kind, time_decay_days=1.0).fit(frame()))
        np.testing.assert_allclose(got, np.asarray(AFFINITY) @ np.asarray(SIMILARITY[kind], dtype=float), **TOL,
                                   err_msg=kind)


def test_mutual_information_is_minus_infinity_unless_every_item_of_the_user_co_occurs(storage):
    model = SAR(similarity="mutual_information", time_decay_days=1.0).fit(frame())
    got = all_scores(model)
    # c has x (1/4) and z (1): w never co-occurs with z, so s_cw = −∞; the others are finite sums
    expected_c = [NEG, 0.25 * L43 + L23, 0.25 * L23 + 0.0, 0.25 * L23 + 1.0]
    assert got[2, 0] == NEG
    np.testing.assert_allclose(got[2, 1:], expected_c[1:], **TOL)
    # a has w and x (1 each): z does not co-occur with w; y: MI_wy + MI_xy = 0 + log2(2/3)
    assert got[0, 3] == NEG
    np.testing.assert_allclose(got[0, 2], L23, **TOL)
    # −∞ is never recommended: a gets y alone
    assert model.recommend(["a"], k=4)[ITEM].tolist() == ["y"]


def test_threshold_drops_small_counts_and_their_pairs():
    model = SAR(similarity="jaccard", threshold=2).fit(frame())
    np.testing.assert_array_equal(item_matrix(model, model.cooccurrence_),
                                  [[2, 2, 0, 0], [2, 3, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]])
    np.testing.assert_allclose(item_matrix(model, model.similarity_),
                               [[1, 2 / 3, 0, 0], [2 / 3, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], **TOL)
    # threshold 3 leaves x alone (d_w = 2 → 0): lift is 0 in w's row and column, not their 0/0 = NaN
    lift = SAR(similarity="lift", threshold=3).fit(frame())
    np.testing.assert_allclose(item_matrix(lift, lift.scoring_matrix_),
                               [[0, 0, 0, 0], [0, 1 / 3, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], **TOL)
    assert np.isfinite(all_scores(lift)).all()


def test_history_scoring_is_their_item_based_pseudo_affinity():
    model = SAR(similarity="jaccard", time_decay_days=1.0).fit(frame())
    # the history's ratings, undecayed: a_w = 4, a_y = 2 → scores of x and z
    out = model.recommend_for_history(pd.DataFrame({ITEM: ["w", "y"], RATING: [4.0, 2.0]}), k=2)
    assert out[ITEM].tolist() == ["x", "z"]
    np.testing.assert_allclose(out[SCORE], [4 * 2 / 3 + 2 / 4, 0 + 2 / 3], **TOL)


def test_deterministic_and_batch_independent():
    train = frame()
    first = SAR(similarity="cosine", time_decay_days=1.0).fit(train).recommend(USERS, k=3)
    again = SAR(similarity="cosine", time_decay_days=1.0).fit(train.sample(frac=1.0, random_state=3)
                                                               .sort_values([USER, ITEM], kind="stable"))
    again.batch_size = 1
    pd.testing.assert_frame_equal(first, again.recommend(USERS, k=3))


def test_bad_parameters_and_missing_timestamps_are_refused():
    with pytest.raises(ValueError, match="similarity"):
        SAR(similarity="cooccurrence")
    with pytest.raises(ValueError, match="threshold"):
        SAR(threshold=0)
    with pytest.raises(ValueError, match="time_decay_days"):
        SAR(time_decay_days=0.0)
    with pytest.raises(ValueError, match="timestamp"):
        SAR(time_decay_days=30.0).fit(frame((USER, ITEM, RATING)))
    assert SAR().fit(frame((USER, ITEM, RATING))).recommend(["a"], k=1)[ITEM].tolist() == ["y"]


def test_search_space_names_constructor_parameters():
    params = SAR._param_names()
    for name, spec in SAR.search_space.items():
        assert name in params
        if spec["type"] == "categorical":
            for choice in spec["choices"]:
                SAR(**{name: choice})
        else:
            assert spec["type"] in ("int", "float") and spec["low"] < spec["high"] and isinstance(spec["log"], bool)
            SAR(**{name: spec["low"]}), SAR(**{name: spec["high"]})
    assert set(SAR.search_space["similarity"]["choices"]) <= set(SAR.SIMILARITIES)


def test_fast():
    start = time.perf_counter()
    for kind in SAR.SIMILARITIES:
        SAR(similarity=kind, time_decay_days=1.0).fit(frame()).recommend(USERS, k=2)
    assert time.perf_counter() - start < 3.0
