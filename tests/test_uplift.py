"""Uplift evaluation by hand and against causalml's metrics; the models on data with a known uplift."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.loyalty import uplift

# six customers, ranked by score; hand computation in each test
SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
T = np.array([1, 0, 1, 0, 1, 0])
Y = np.array([1, 0, 1, 1, 0, 0])


def test_qini_curve_and_coefficient_by_hand():
    # k=1: no control yet -> interpolated; k=2: 1 - 0; k=3: 2 - 0; k=4: 2 - 1*2/2; k=5: 2 - 1*3/2; k=6: 2 - 1*3/3
    q = uplift.qini_curve(Y, T, SCORE)
    np.testing.assert_allclose(q, [0, 0.5, 1, 2, 1, 0.5, 1])
    # area between the curve and the line from 0 to Q(n) = 1, over 7 points, per customer
    assert uplift.qini_coefficient(q) == pytest.approx((6 - 3.5) / 7 / 6)


def test_uplift_curve_and_auuc_by_hand():
    # rates' differences: k=2: 1-0, k=3: 1-0, k=4: 1-1/2, k=5: 2/3-1/2, k=6: 2/3-1/3; k=1 interpolated (1/2)
    g = uplift.uplift_curve(Y, T, SCORE)
    np.testing.assert_allclose(g, [0, 0.5, 2, 3, 2, 5 / 6, 2])
    assert uplift.auuc(g) == pytest.approx((0.5 + 2 + 3 + 2 + 5 / 6 + 2) / 7 / 6)


def test_the_ranking_not_the_order_of_rows_decides():
    perm = np.array([3, 0, 5, 1, 4, 2])
    np.testing.assert_allclose(uplift.qini_curve(Y[perm], T[perm], SCORE[perm]), uplift.qini_curve(Y, T, SCORE))


def test_true_curves_by_hand():
    tau = np.array([0.3, -0.1, 0.2, 0.0, 0.5, -0.4])
    score = np.array([1, 2, 3, 4, 5, 6], dtype=float)  # ranks the last customer first
    g = uplift.true_uplift_curve(tau, score)
    np.testing.assert_allclose(g, np.concatenate([[0], np.cumsum(tau[::-1])]))
    q = uplift.true_qini_curve(tau, T, score)
    n_t = np.concatenate([[0], np.cumsum(T[::-1])])
    np.testing.assert_allclose(q[1:], g[1:] * n_t[1:] / np.arange(1, 7))


def test_profit_and_best_contact_and_kinds_by_hand():
    g = np.array([0.0, 0.9, 1.5, 1.6, 1.2])
    profit = uplift.profit_curve(g, value=10, cost=2)
    np.testing.assert_allclose(profit, [0, 7, 11, 10, 4])
    assert uplift.best_contact(profit) == (2, 11.0)
    kinds = np.array(["sleeping dog", "persuadable", "sure thing", "sleeping dog"], dtype=object)
    counts = uplift.contacted_kinds(kinds, np.array([4.0, 3.0, 2.0, 1.0]), 2)
    assert counts == {"persuadable": 1, "sure thing": 0, "lost cause": 0, "sleeping dog": 1}


@pytest.fixture(scope="module")
def random_campaign():
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.normal(size=(n, 3))
    t = (rng.random(n) < 0.5).astype(int)
    base = 1 / (1 + np.exp(-(x[:, 1])))
    tau = 0.25 * np.tanh(2 * x[:, 0])
    y = (rng.random(n) < np.clip(base + t * tau, 0, 1)).astype(int)
    score = rng.normal(size=n) + x[:, 0]
    return pd.DataFrame({"y": y, "w": t, "tau": tau, "model": score}), x


def test_our_qini_and_auuc_equal_causalmls_times_n(random_campaign):
    from causalml.metrics import auuc_score, get_qini, qini_score

    df, _ = random_campaign
    n = len(df)
    ours_q = uplift.qini_coefficient(uplift.qini_curve(df["y"], df["w"], df["model"]))
    ours_g = uplift.auuc(uplift.uplift_curve(df["y"], df["w"], df["model"]))
    obs = df[["y", "w", "model"]]
    # causalml without normalisation is the area summed over k = 0..n divided by n + 1: ours times n
    assert ours_q * n == pytest.approx(float(qini_score(obs, "y", "w", normalize=False)["model"]), rel=1e-9)
    assert ours_g * n == pytest.approx(float(auuc_score(obs, "y", "w", normalize=False)["model"]), rel=1e-9)
    curve = get_qini(obs, "y", "w", normalize=False)["model"].to_numpy()
    np.testing.assert_allclose(uplift.qini_curve(df["y"], df["w"], df["model"]), curve, rtol=1e-9, atol=1e-9)
    # with normalize=True causalml divides the curve by |Q(n)| instead of by n
    q = uplift.qini_curve(df["y"], df["w"], df["model"])
    assert ours_q * n / abs(q[-1]) == pytest.approx(float(qini_score(obs, "y", "w", normalize=True)["model"]), rel=1e-9)


def test_true_uplift_curves_equal_causalmls_with_the_true_effect(random_campaign):
    from causalml.metrics import auuc_score, qini_score

    df, _ = random_campaign
    n = len(df)
    tq = uplift.qini_coefficient(uplift.true_qini_curve(df["tau"], df["w"], df["model"]))
    tg = uplift.auuc(uplift.true_uplift_curve(df["tau"], df["model"]))
    assert tq * n == pytest.approx(float(qini_score(df, "y", "w", "tau", normalize=False)["model"]), rel=1e-9)
    assert tg * n == pytest.approx(float(auuc_score(df, "y", "w", "tau", normalize=False)["model"]), rel=1e-9)


def test_uplift_models_find_a_known_effect_and_the_response_model_does_not(random_campaign):
    df, x = random_campaign
    train = np.arange(len(df)) < 2000
    models = uplift.fit_policies(x[train], df["w"][train], df["y"][train], seed=0, forest_trees=10)
    scores = uplift.score_policies(models, x[~train], seed=0)
    test = df[~train].reset_index(drop=True).rename(columns={"y": "outcome", "w": "treatment", "tau": "true_uplift"})
    scores["oracle"] = test["true_uplift"]
    ev = uplift.evaluate_policies(test, scores, value=10, cost=1, kind=None).set_index("policy")
    for model in uplift.UPLIFT_MODELS:  # the effect lives in x0, the baseline in x1
        assert ev.loc["random", "qini_true"] < ev.loc[model, "qini_true"] <= ev.loc["oracle", "qini_true"]
        assert ev.loc[model, "qini_true"] > ev.loc["response", "qini_true"]
    assert ev.loc["oracle", "qini_true"] == ev["qini_true"].max()


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="unknown targeting policy"):
        uplift.fit_policies(np.zeros((4, 1)), [0, 1, 0, 1], [0, 1, 1, 0], ["magic"], seed=0)
