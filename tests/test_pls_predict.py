"""PLSpredict and CVPAT: seminr 0.2.1's predict_pls on the same folds, and hand cases."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.satisfaction.models import MOBI_BLOCKS, PathModel, ecsi_model
from recsys_study.satisfaction.pls import PLSPM
from recsys_study.satisfaction.predict import cvpat, fold_ids, loss_difference_test, pls_predict, predictive_power


@pytest.mark.parametrize("n, k", [(7, 3), (11, 4), (250, 10), (250, 7), (30, 30)])
def test_folds_are_rs_cut_of_the_shuffled_order_as_seminr(n, k):
    from seminr.predict.predict_pls import _default_shuffle, cut_folds

    assert np.array_equal(fold_ids(n, k, ordering=np.arange(n)), np.array(cut_folds(n, k)) - 1)
    order = _default_shuffle(n, 5)
    expected = np.empty(n, dtype=int)
    expected[order] = np.array(cut_folds(n, k)) - 1
    assert np.array_equal(fold_ids(n, k, seed=5), expected)


def test_fold_sizes_differ_by_at_most_one():
    sizes = np.bincount(fold_ids(250, 10, seed=1))
    assert sizes.sum() == 250 and sizes.max() - sizes.min() <= 1


@pytest.mark.parametrize("technique", ["DA", "EA"])
def test_predictions_equal_seminr_predict_pls_on_the_same_folds(mobi, seminr_ecsi, technique):
    """Same seed -> the same shuffle and folds in both packages, so the predictions agree exactly."""
    import seminr as s

    ref = s.predict_pls(seminr_ecsi, technique={"DA": s.predict_DA, "EA": s.predict_EA}[technique],
                        no_folds=10, seed=42)
    ours = pls_predict(PLSPM(ecsi_model()), mobi, k=10, seed=42, technique=technique)
    cols = list(ref.items.pls_out_of_sample.cols)
    idx = [ours.items.index(c) for c in cols]
    np.testing.assert_allclose(ours.pls[0][:, idx], ref.items.pls_out_of_sample.values, atol=1e-10)
    np.testing.assert_allclose(ours.lm[0][:, idx], ref.items.lm_out_of_sample.values, atol=1e-10)
    # seminr's RMSE/MAE tables from the same residuals
    from seminr.predict.metrics import item_metrics

    tables = item_metrics(ref)
    metrics = ours.metrics().set_index("indicator")
    for name, table in (("PLS", tables.pls_out_of_sample), ("LM", tables.lm_out_of_sample)):
        got = metrics.loc[cols, [f"{name}_RMSE", f"{name}_MAE"]].to_numpy().T
        np.testing.assert_allclose(got, table.values, atol=1e-10)


def test_ea_and_da_agree_for_constructs_fed_only_by_exogenous_ones(mobi):
    da = pls_predict(PLSPM(ecsi_model()), mobi, k=5, seed=3, technique="DA")
    ea = pls_predict(PLSPM(ecsi_model()), mobi, k=5, seed=3, technique="EA")
    cols = [da.items.index(i) for i in MOBI_BLOCKS["Expectation"]]   # Image -> Expectation only
    np.testing.assert_allclose(da.pls[..., cols], ea.pls[..., cols], atol=1e-12)
    assert not np.allclose(da.pls, ea.pls)


def _two_items(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": 0.6 * x + rng.normal(size=n)})


def test_single_item_model_predicts_as_ols_and_q2_uses_the_training_mean():
    """With one item per construct PLS is OLS on the standardised item, so its prediction is the LM's,
    and Q2_predict = 1 - SSE / SSE(training mean), computed here by hand fold by fold."""
    data = _two_items()
    model = PathModel(blocks={"X": ["x"], "Y": ["y"]}, paths=[("X", "Y")])
    res = pls_predict(PLSPM(model), data, k=4, seed=9)
    np.testing.assert_allclose(res.pls[0], res.lm[0], atol=1e-12)
    folds = fold_ids(len(data), 4, seed=9)
    pred, base = np.empty(len(data)), np.empty(len(data))
    for f in range(4):
        tr, te = folds != f, folds == f
        slope, intercept = np.polyfit(data.x[tr], data.y[tr], 1)
        pred[te] = intercept + slope * data.x[te]
        base[te] = data.y[tr].mean()
    np.testing.assert_allclose(res.pls[0][:, 0], pred, atol=1e-12)
    q2 = 1 - ((data.y - pred) ** 2).sum() / ((data.y - base) ** 2).sum()
    assert res.metrics()["Q2_predict"].iloc[0] == pytest.approx(q2, abs=1e-12)


def test_repetitions_shuffle_anew_and_the_first_is_the_single_run(mobi):
    once = pls_predict(PLSPM(ecsi_model()), mobi, k=10, seed=42)
    many = pls_predict(PLSPM(ecsi_model()), mobi, k=10, seed=42, repetitions=3)
    np.testing.assert_array_equal(many.pls[0], once.pls[0])
    assert not np.array_equal(many.folds[0], many.folds[1])
    assert many.metrics()["PLS_RMSE_sd"].gt(0).all()


def test_loss_difference_test_by_hand_and_against_scipy():
    from scipy import stats

    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([1.5, 2.0, 3.5, 5.0])
    out = loss_difference_test(a, b)
    d = a - b                                  # -0.5, 0, -0.5, -1: mean -0.5, sd sqrt(1/6)
    assert out["loss_difference"] == pytest.approx(-0.5)
    assert out["t"] == pytest.approx(-0.5 / (np.sqrt(1 / 6) / 2))
    ref = stats.ttest_1samp(d, 0)
    assert out["t"] == pytest.approx(ref.statistic) and out["p_two_sided"] == pytest.approx(ref.pvalue)
    assert out["p_model_better"] == pytest.approx(ref.pvalue / 2)


def test_cvpat_losses_are_built_from_seminr_predictions(mobi, seminr_ecsi):
    """CVPAT is not in seminr; its per-case losses from seminr's out-of-sample residuals give our test."""
    import seminr as s

    ref = s.predict_pls(seminr_ecsi, technique=s.predict_DA, no_folds=10, seed=42)
    res = pls_predict(PLSPM(ecsi_model()), mobi, k=10, seed=42)
    table = cvpat(res).set_index(["benchmark", "construct"])
    loss_pls = (ref.items.pls_out_of_sample_residuals.values ** 2).mean(axis=1)
    loss_lm = (ref.items.lm_out_of_sample_residuals.values ** 2).mean(axis=1)
    expected = loss_difference_test(loss_pls, loss_lm)
    for key in ("loss_difference", "t", "p_two_sided"):
        assert table.loc[("LM", "overall"), key] == pytest.approx(expected[key], rel=1e-10)
    assert set(table.index.get_level_values("construct")) == {"overall", *ecsi_model().endogenous}
    # on mobi PLS beats the indicator averages on every endogenous construct
    assert (table.loc["IA", "loss_difference"] < 0).all()


def test_unknown_technique_and_too_many_folds_are_refused(mobi):
    with pytest.raises(ValueError, match="use one of"):
        pls_predict(PLSPM(ecsi_model()), mobi, technique="XX", seed=1)
    with pytest.raises(ValueError, match="2 <= k <= n"):
        fold_ids(10, 11, seed=1)


def test_predictive_power_follows_shmueli_et_al_2019():
    def table(q2, pls, lm):
        return pd.DataFrame({"construct": "Y", "Q2_predict": q2, "PLS_RMSE": pls, "LM_RMSE": lm})

    assert predictive_power(table([0.2, 0.3], [1.0, 1.0], [1.1, 1.2]), "Y") == "high"
    assert predictive_power(table([0.2, 0.3, 0.1], [1.0, 1.0, 1.3], [1.1, 1.2, 1.2]), "Y") == "medium"
    assert predictive_power(table([0.2, 0.3, 0.1], [1.0, 1.3, 1.3], [1.1, 1.2, 1.2]), "Y") == "low"
    assert predictive_power(table([0.2, 0.3], [1.3, 1.3], [1.1, 1.2]), "Y") == "none"
    assert predictive_power(table([0.2, -0.01], [1.0, 1.0], [1.1, 1.2]), "Y") == "not relevant"
    with pytest.raises(ValueError, match="endogenous"):
        predictive_power(table([0.2], [1.0], [1.1]), "X")


def test_plsc_factorial_predictions_equal_seminr(mobi):
    """Reflective constructs (PLSc: corrected loadings and paths) with the factorial scheme, seminr's example model."""
    import seminr as s

    from recsys_study.satisfaction.models import mobi_reduced_model

    model = mobi_reduced_model()
    specs = [s.reflective(c, list(model.blocks[c])) for c in model.constructs]
    ref = s.estimate_pls(mobi, s.constructs(*specs), s.relationships(*[s.paths(from_=a, to=b) for a, b in model.paths]),
                         inner_weights=s.path_factorial)
    expected = s.predict_pls(ref, technique=s.predict_DA, no_folds=10, seed=7)
    ours = pls_predict(PLSPM(model, scheme="factorial", consistent=True), mobi, k=10, seed=7)
    idx = [ours.items.index(c) for c in expected.items.pls_out_of_sample.cols]
    np.testing.assert_allclose(ours.pls[0][:, idx], expected.items.pls_out_of_sample.values, atol=1e-10)
    np.testing.assert_allclose(ours.lm[0][:, idx], expected.items.lm_out_of_sample.values, atol=1e-10)
