"""Guadagni-Little loyalty and the conditional logit, by hand and on the Yogurt panel."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.data.schema import DataValidationError
from recsys_study.loyalty import brand


def test_guadagni_little_recursion_by_hand():
    household = [1, 1, 1, 2]
    choice = [0, 1, 1, 1]
    loyalty, first = brand.guadagni_little_loyalty(household, choice, 2, smoothing=0.8)
    np.testing.assert_allclose(loyalty, [[0.8, 0.2], [0.84, 0.16], [0.672, 0.328], [0.2, 0.8]])
    assert first.tolist() == [True, False, False, True]
    three, _ = brand.guadagni_little_loyalty([7], [2], 3, smoothing=0.6)
    np.testing.assert_allclose(three, [[0.2, 0.2, 0.6]])
    np.testing.assert_allclose(loyalty.sum(axis=1), 1.0)


def test_constants_only_logit_reproduces_market_shares():
    panel = brand.BrandPanel(np.arange(10), np.array([0] * 5 + [1] * 3 + [2] * 2), ["a", "b", "c"], {})
    x, names = brand.design(panel, attributes=())
    fit = brand.fit_conditional_logit(x, panel.choice, names)
    assert fit.loglik == pytest.approx(5 * np.log(0.5) + 3 * np.log(0.3) + 2 * np.log(0.2), abs=1e-6)
    assert fit.params["asc_b"] == pytest.approx(np.log(3 / 5), abs=1e-4)


def test_conditional_logit_matches_statsmodels():
    from statsmodels.discrete.conditional_models import ConditionalLogit

    rng = np.random.default_rng(3)
    n, j = 400, 3
    x = rng.normal(size=(n, j, 2))
    utility = x @ np.array([1.0, -0.5]) + rng.gumbel(size=(n, j))
    choice = utility.argmax(axis=1)
    ours = brand.fit_conditional_logit(x, choice, ["x1", "x2"])
    endog = (np.arange(j)[None, :] == choice[:, None]).astype(float).ravel()
    ref = ConditionalLogit(endog, x.reshape(n * j, 2), groups=np.repeat(np.arange(n), j)).fit(disp=0)
    np.testing.assert_allclose(ours.params.to_numpy(), ref.params, atol=1e-4)
    np.testing.assert_allclose(ours.se.to_numpy(), ref.bse, rtol=1e-3)
    assert ours.loglik == pytest.approx(ref.llf, abs=1e-4)


def test_panel_missing_price_column_is_named():
    df = pd.DataFrame({"id": [1, 1], "choice": ["x", "y"], "price.x": [1.0, 1.0], "feat.x": [0, 1],
                       "feat.y": [0, 0]})
    with pytest.raises(DataValidationError, match="price.y"):
        brand.brand_panel(df)


def test_unknown_panel_name():
    with pytest.raises(DataValidationError, match="Yogurt"):
        brand.load_brand_panel("Ketchup")


def test_loyalty_improves_the_yogurt_logit():
    panel = brand.load_brand_panel("Yogurt")
    assert len(panel) == 2412 and len(set(panel.household)) == 100
    study = brand.loyalty_study(panel, smoothing=0.8)
    assert study["with"].n == study["without"].n == 2412 - 100
    assert study["test"]["lr"] > 0 and study["test"]["p_value"] < 1e-6
    assert study["with"].params["loyalty"] > 0
    assert study["with"].params["price"] < 0 and study["without"].params["price"] < 0
