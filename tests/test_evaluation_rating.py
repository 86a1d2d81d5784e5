"""Tests of recsys_study.evaluation.rating: hand-computed errors and an sklearn cross-check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

from recsys_study.data.schema import DataValidationError
from recsys_study.evaluation.rating import mae, per_user_rating_errors, rmse


def test_rmse_and_mae_hand_example():
    truth = [4.0, 3.0, 5.0, 1.0]
    pred = [3.5, 3.0, 3.0, 2.0]  # errors 0.5, 0, 2, -1
    assert rmse(truth, pred) == pytest.approx(np.sqrt((0.25 + 0 + 4 + 1) / 4))
    assert mae(truth, pred) == pytest.approx((0.5 + 0 + 2 + 1) / 4)
    assert rmse(truth, truth) == 0.0 and mae(truth, truth) == 0.0


def test_rmse_is_at_least_mae_and_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.uniform(0.5, 5, size=500)
    p = y + rng.normal(0, 0.8, size=500)
    assert rmse(y, p) == pytest.approx(np.sqrt(mean_squared_error(y, p)), rel=1e-12)
    assert mae(y, p) == pytest.approx(mean_absolute_error(y, p), rel=1e-12)
    assert rmse(y, p) >= mae(y, p)


def test_accepts_series_and_lists_alike():
    y = pd.Series([1.0, 2.0, 3.0], index=[10, 20, 30])
    assert rmse(y, np.array([1.0, 2.0, 4.0])) == pytest.approx(np.sqrt(1 / 3))


@pytest.mark.parametrize("truth,pred,match", [
    ([1.0, 2.0], [1.0], "predict exactly"),
    ([], [], "empty"),
    ([1.0, 2.0], [1.0, np.nan], "NaN"),
])
def test_bad_inputs_raise_with_a_fix(truth, pred, match):
    with pytest.raises(ValueError, match=match):
        rmse(truth, pred)
    with pytest.raises(ValueError, match=match):
        mae(truth, pred)


def test_per_user_rating_errors_hand_example():
    frame = pd.DataFrame({"user": [2, 1, 1, 2, 2], "rating": [4.0, 3.0, 5.0, 1.0, 2.0],
                          "prediction": [4.0, 4.0, 4.0, 2.0, 4.0]})
    got = per_user_rating_errors(frame)
    assert list(got.index) == [1, 2] and got.index.name == "user"
    assert list(got["n"]) == [2, 3]
    np.testing.assert_allclose(got["rmse"], [1.0, np.sqrt((0 + 1 + 4) / 3)])
    np.testing.assert_allclose(got["mae"], [1.0, (0 + 1 + 2) / 3])


def test_per_user_rating_errors_custom_columns_and_missing_column():
    frame = pd.DataFrame({"user": [1, 1], "y": [3.0, 5.0], "yhat": [3.0, 3.0]})
    got = per_user_rating_errors(frame, truth_col="y", pred_col="yhat")
    assert got.loc[1, "rmse"] == pytest.approx(np.sqrt(2.0))
    with pytest.raises(DataValidationError, match="prediction"):
        per_user_rating_errors(frame)
