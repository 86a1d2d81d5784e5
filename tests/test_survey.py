"""Survey loaders: mobi, user CSVs with validation and missing policies, the simulator, mlc_churn."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.data.schema import DataValidationError
from recsys_study.data.survey import load_mlc_churn, load_mobi, load_survey, simulate_survey

BLOCKS = {"A": ["a1", "a2"], "B": ["b1", "b2"]}


def _frame(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.integers(1, 11, (n, 4)), columns=["a1", "a2", "b1", "b2"])


def test_mobi_has_250_respondents_and_24_indicators_on_1_to_10():
    survey = load_mobi()
    assert survey.data.shape == (250, 24)
    assert survey.data.min().min() >= 1 and survey.data.max().max() <= 10
    assert survey.blocks["Complaints"] == ("CUSCO",)


def test_load_survey_names_out_of_range_answers(tmp_path):
    df = _frame()
    df.loc[3, "b1"] = 11
    df.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataValidationError, match=r"outside the 1-10.*'b1': 1"):
        load_survey(tmp_path / "s.csv", BLOCKS, scale=10)


def test_load_survey_names_constant_columns(tmp_path):
    df = _frame().assign(a2=5)
    df.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataValidationError, match="constant column.*a2"):
        load_survey(tmp_path / "s.csv", BLOCKS)


def test_load_survey_names_missing_block_columns(tmp_path):
    _frame().drop(columns=["b2"]).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataValidationError, match="'B': \\['b2'\\]"):
        load_survey(tmp_path / "s.csv", BLOCKS)


def test_missing_answers_are_counted_listwise_and_mean(tmp_path):
    df = _frame().astype(float)
    df.loc[0, "a1"] = np.nan
    df.loc[1, "a1"] = np.nan
    df.loc[1, "b2"] = np.nan
    df.to_csv(tmp_path / "s.csv", index=False)
    listwise = load_survey(tmp_path / "s.csv", BLOCKS, missing="listwise")
    assert (listwise.missing_answers, listwise.dropped_rows, len(listwise.data)) == (3, 2, 18)
    mean = load_survey(tmp_path / "s.csv", BLOCKS, missing="mean")
    assert (mean.missing_answers, mean.imputed_answers, len(mean.data)) == (3, 3, 20)
    assert mean.data.loc[0, "a1"] == pytest.approx(df["a1"].mean())


def test_unknown_missing_policy_is_refused(tmp_path):
    _frame().to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataValidationError, match="listwise"):
        load_survey(tmp_path / "s.csv", BLOCKS, missing="drop")


def test_simulation_is_deterministic_and_on_scale():
    a = simulate_survey("ecsi", 300, seed=3)
    b = simulate_survey("ecsi", 300, seed=3)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.data.min().min() >= 1 and a.data.max().max() <= 10
    assert len(a.true_paths) == 12
    five = simulate_survey("acsi", 300, seed=3, scale=5)
    assert len(five.true_paths) == 9 and five.data.max().max() <= 5 and "Image" not in five.blocks


def test_simulated_constructs_have_unit_variance_and_true_correlations():
    s = simulate_survey("ecsi", 20000, seed=1)
    np.testing.assert_allclose(s.latent.var().to_numpy(), 1.0, atol=0.05)
    # Image -> Expectation is the only path into Expectation: their correlation is the path
    assert s.latent.corr().loc["Image", "Expectation"] == pytest.approx(0.5, abs=0.02)


def test_simulated_missing_answers_are_counted():
    s = simulate_survey("ecsi", 400, seed=2, missing=0.01)
    assert s.missing_answers > 0 and s.dropped_rows > 0 and len(s.data) == 400 - s.dropped_rows


def test_mlc_churn_has_service_calls_and_boolean_churn():
    df = load_mlc_churn()
    assert len(df) == 5000 and df["churn"].dtype == bool
    assert df["number_customer_service_calls"].min() >= 0
