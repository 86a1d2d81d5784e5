"""Reliability and validity measures against hand-computed cases."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.satisfaction.measurement import (
    average_variance_extracted, composite_reliability, cronbach_alpha, fornell_larcker, fornell_larcker_holds, htmt,
    rho_a_reliability,
)

# a1, a2 correlate 0.8; b1, b2 correlate 0.8; cross: r(a1,b1)=.6 r(a1,b2)=.8 r(a2,b1)=0 r(a2,b2)=.4 (by hand)
TOY = pd.DataFrame({"a1": [1, 2, 3, 4], "a2": [1, 3, 2, 4], "b1": [2, 1, 4, 3], "b2": [1, 2, 4, 3]}, dtype=float)


def test_cronbach_alpha_matches_hand_computation():
    # var(x1)=1, var(x2)=7/3, var(x1+x2)=19/3 -> alpha = 2 (1 - (10/3)/(19/3)) = 18/19
    items = pd.DataFrame({"x1": [1, 2, 3], "x2": [2, 3, 5]})
    assert cronbach_alpha(items) == pytest.approx(18 / 19, abs=1e-12)


def test_cronbach_alpha_of_one_item_is_one():
    assert cronbach_alpha(np.array([[1.0], [2.0], [4.0]])) == 1.0


def test_composite_reliability_matches_hand_computation():
    # (0.8+0.7+0.6)^2 = 4.41; errors 0.36+0.51+0.64 = 1.51
    assert composite_reliability([0.8, 0.7, 0.6]) == pytest.approx(4.41 / 5.92, abs=1e-12)


def test_ave_is_mean_squared_loading():
    assert average_variance_extracted([0.8, 0.7, 0.6]) == pytest.approx((0.64 + 0.49 + 0.36) / 3, abs=1e-12)


def test_rho_a_with_equal_weights_is_standardised_alpha():
    # equal unit-variance weights: rho_A = k r / (1 + (k - 1) r) = 2 * 0.8 / 1.8
    c = 1 / np.sqrt(2 * 1.8)
    assert rho_a_reliability(TOY[["a1", "a2"]], [c, c]) == pytest.approx(1.6 / 1.8, abs=1e-12)


def test_htmt_matches_hand_computation():
    # heterotrait mean (0.6 + 0.8 + 0 + 0.4) / 4 = 0.45; monotrait 0.8 and 0.8 -> 0.45 / 0.8
    table = htmt(TOY, {"A": ["a1", "a2"], "B": ["b1", "b2"]})
    assert table.loc["A", "B"] == pytest.approx(0.5625, abs=1e-12)
    assert table.loc["B", "A"] == table.loc["A", "B"]
    assert np.isnan(table.loc["A", "A"])


def test_htmt_single_item_block_has_monotrait_one():
    # A = {a1, a2} (mono 0.8), B = {b1}: hetero (0.6 + 0) / 2 = 0.3 -> 0.3 / sqrt(0.8)
    table = htmt(TOY, {"A": ["a1", "a2"], "B": ["b1"]})
    assert table.loc["A", "B"] == pytest.approx(0.3 / np.sqrt(0.8), abs=1e-12)


def test_fornell_larcker_puts_sqrt_ave_on_diagonal_and_flags_violations():
    cor = pd.DataFrame([[1, 0.6], [0.6, 1]], index=["A", "B"], columns=["A", "B"], dtype=float)
    table = fornell_larcker(cor, pd.Series({"A": 0.64, "B": 0.25}))
    assert table.loc["A", "A"] == pytest.approx(0.8) and table.loc["B", "B"] == pytest.approx(0.5)
    assert table.loc["B", "A"] == pytest.approx(0.6) and np.isnan(table.loc["A", "B"])
    assert fornell_larcker_holds(table).to_dict() == {"A": True, "B": False}
