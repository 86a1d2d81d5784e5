"""Deterministic top-k: ties at the cut keep the lowest column index, on every machine."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recsys_study.recommenders.topk import top_k_columns, top_k_sorted


def _reference(scores, k):
    """The definition: a stable sort by descending value (ties by column), first k."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def test_ties_at_the_cut_keep_the_lowest_columns_by_hand():
    scores = np.array([[1.0, 3.0, 2.0, 2.0, 2.0, 0.5],
                       [5.0, 5.0, 5.0, 5.0, 5.0, 5.0]])
    got = np.sort(top_k_columns(scores, 3), axis=1)
    assert got.tolist() == [[1, 2, 3], [0, 1, 2]]
    cols, vals = top_k_sorted(scores, 3)
    assert cols.tolist() == [[1, 2, 3], [0, 1, 2]] and vals.tolist() == [[3, 2, 2], [5, 5, 5]]


@settings(max_examples=200, deadline=None)
@given(arrays(np.int8, st.tuples(st.integers(1, 6), st.integers(1, 40)), elements=st.integers(-3, 3)),
       st.integers(0, 45))
def test_matches_a_stable_sort_on_tie_heavy_rows(values, k):
    scores = values.astype(np.float64)
    kk = min(k, scores.shape[1])
    got = np.sort(top_k_columns(scores, k), axis=1)
    assert got.shape == (scores.shape[0], kk)
    np.testing.assert_array_equal(got, np.sort(_reference(scores, kk), axis=1))
    cols, _ = top_k_sorted(scores, k)
    np.testing.assert_array_equal(cols, _reference(scores, kk))


def test_minus_infinity_and_nan_come_last():
    scores = np.array([[np.nan, -np.inf, 1.0, np.nan, 0.0]])
    cols, vals = top_k_sorted(scores, 4)
    assert cols[0, :3].tolist() == [2, 4, 1]
    assert np.isnan(vals[0, 3])


@pytest.mark.parametrize("k", [0, -2])
def test_no_columns_for_k_at_most_zero(k):
    assert top_k_columns(np.ones((3, 4)), k).shape == (3, 0)


def test_ties_below_the_discard_level_are_not_sorted_but_those_above_are():
    scores = np.array([[0.0, 0.0, 0.0, 0.9, 0.0],      # cut among zeros: caller drops them anyway
                       [0.4, 0.7, 0.4, 0.4, 0.0]])     # cut among 0.4s: must keep columns 0 and 2
    got = top_k_columns(scores, 3, discard_at_most=0.0)
    assert 3 in got[0]
    assert sorted(got[1].tolist()) == [0, 1, 2]


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int64, np.bool_])
def test_any_numeric_dtype_orders_by_value(dtype):
    scores = np.array([[0, 1, 1, 0, 1, 1], [1, 0, 0, 0, 0, 1]]).astype(dtype)
    assert np.sort(top_k_columns(scores, 3), axis=1).tolist() == [[1, 2, 4], [0, 1, 5]]


# -- the heap kernel behind Recommender.recommend ---------------------------------------------------
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from recsys_study.recommenders.topk import top_k_excluding  # noqa: E402


def _reference_excluding(scores, k, exclude):
    """The definition, row by row: drop excluded, NaN and -inf entries, stable sort descending, first k."""
    out = []
    for r in range(scores.shape[0]):
        row = scores[r].astype(np.float64)
        keep = ~np.isnan(row) & (row > -np.inf)
        if exclude is not None:
            keep[exclude[r].indices] = False
        cols = np.flatnonzero(keep)
        out.append(cols[np.argsort(-row[cols], kind="stable")][:k])
    return out


def test_heap_top_k_by_hand_skips_seen_nan_and_minus_infinity():
    scores = np.array([[0.5, 2.0, 2.0, np.nan, 2.0, -np.inf, 1.0]], dtype=np.float32)
    seen = sp.csr_matrix(np.array([[0, 1, 0, 0, 0, 0, 0]]))
    cols, vals, lens = top_k_excluding(scores, 3, seen)
    assert lens.tolist() == [3]
    assert cols[0].tolist() == [2, 4, 6] and vals[0].tolist() == [2.0, 2.0, 1.0]
    assert vals.dtype == np.float32  # no float64 copy of a float32 block
    cols, _, lens = top_k_excluding(scores, 10, seen)
    assert lens.tolist() == [4] and cols[0, :4].tolist() == [2, 4, 6, 0]


@settings(max_examples=150, deadline=None)
@given(arrays(np.int8, st.tuples(st.integers(1, 9), st.integers(1, 30)), elements=st.integers(-3, 3)),
       st.integers(0, 35), st.integers(0, 2**31 - 1), st.sampled_from([np.float32, np.float64]),
       st.integers(1, 3))
def test_heap_top_k_matches_a_stable_sort_with_exclusions(values, k, seed, dtype, threads):
    rng = np.random.default_rng(seed)
    scores = values.astype(dtype)
    scores[rng.random(scores.shape) < 0.1] = -np.inf  # some items already seen elsewhere
    scores[rng.random(scores.shape) < 0.05] = np.nan
    exclude = sp.csr_matrix(rng.random(scores.shape) < 0.3)
    cols, vals, lens = top_k_excluding(scores, k, exclude, num_threads=threads, rows_per_task=2)
    want = _reference_excluding(scores, k, exclude)
    for r, w in enumerate(want):
        assert lens[r] == len(w)
        np.testing.assert_array_equal(cols[r, :lens[r]], w)
        np.testing.assert_array_equal(vals[r, :lens[r]], scores[r, w])
    # one shared score row (a broadcast view, ranked once) gives what its dense copy gives
    shared = np.broadcast_to(scores[0], scores.shape)
    got = top_k_excluding(shared, k, exclude)
    dense = top_k_excluding(np.ascontiguousarray(shared), k, exclude)
    np.testing.assert_array_equal(got[2], dense[2])
    for r in range(scores.shape[0]):
        np.testing.assert_array_equal(got[0][r, :got[2][r]], dense[0][r, :dense[2][r]])


def test_recommend_lists_follow_the_tie_rule_for_known_and_cold_users():
    """most_popular ties everywhere: lists by count descending, then by item index, seen items skipped."""
    from recsys_study.constants import ITEM, USER
    from recsys_study.recommenders import registry

    train = pd.DataFrame({USER: ["a", "a", "b", "b", "c", "c", "d"],
                          ITEM: [10, 11, 12, 13, 10, 12, 14]})
    model = registry.make("most_popular").fit(train)
    # item index (first appearance): 10, 11, 12, 13, 14; counts 2, 1, 2, 1, 1
    recs = model.recommend(["a", "new"], k=3)
    assert recs[recs[USER] == "a"][ITEM].tolist() == [12, 13, 14]
    assert recs[recs[USER] == "new"][ITEM].tolist() == [10, 12, 11]
    assert recs[recs[USER] == "new"]["score"].tolist() == [2.0, 2.0, 1.0]
