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
