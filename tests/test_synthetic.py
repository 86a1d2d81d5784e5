"""Synthetic power-law interactions (recsys_study.data.synthetic)."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_study.data.synthetic import interactions


@pytest.fixture(scope="module")
def medium():
    return interactions(500, 400, 10_000, seed=7)


def test_exact_count_and_no_duplicate_pairs(medium):
    assert len(medium) == 10_000
    assert not medium.duplicated(["user", "item"]).any()
    assert list(medium.columns) == ["user", "item", "rating", "timestamp"]


def test_ids_ratings_and_timestamps_in_range(medium):
    assert medium["user"].between(0, 499).all() and medium["item"].between(0, 399).all()
    assert set(medium["rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert medium["timestamp"].is_monotonic_increasing


def test_same_seed_same_frame_different_seed_different(medium):
    pd.testing.assert_frame_equal(medium, interactions(500, 400, 10_000, seed=7))
    other = interactions(500, 400, 10_000, seed=8)
    assert not medium[["user", "item"]].equals(other[["user", "item"]])


def test_power_law_head_top_tenth_of_items_gets_over_40_percent(medium):
    counts = medium["item"].value_counts()
    top = counts.iloc[: len(counts) // 10 if len(counts) >= 10 else 1]
    assert top.sum() / len(medium) > 0.40
    # a uniform draw would give the top 10% about 10-15%: the skew is real, user activity too
    users = medium["user"].value_counts()
    assert users.iloc[:50].sum() / len(medium) > 0.25


def test_full_matrix_is_reachable_exactly():
    df = interactions(5, 4, 20, seed=1)
    assert len(df) == 20 and not df.duplicated(["user", "item"]).any()


def test_too_many_interactions_raises():
    with pytest.raises(ValueError, match="exceeds n_users\\*n_items=20"):
        interactions(5, 4, 21, seed=1)


def test_non_positive_sizes_raise():
    with pytest.raises(ValueError, match="must be positive"):
        interactions(5, 4, 0, seed=1)
