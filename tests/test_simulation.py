"""The simulated world: its parts by hand, its loop's laws, its survey against the PLSc engine."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from recsys_study.data import load_movielens
from recsys_study.simulation import (
    ChoiceModel, ResponseModel, SimulationConfigError, TrueUtilities, World, WorldConfig, kaplan_meier, simulate,
)
from recsys_study.simulation import analysis
from recsys_study.simulation import random as crn


@pytest.fixture(scope="module")
def utilities():
    return TrueUtilities.from_dataset(load_movielens("ml-100k"), seed=0)


def small(**changes):
    return WorldConfig.from_dict({"user": {"n_customers": 300}, "rounds": 15, "refit_every": 5}).replace(**changes)


# -- the parts by hand ---------------------------------------------------------------------------------
def test_kaplan_meier_matches_a_hand_computation():
    km = kaplan_meier([1, 2, 2, 3, 4, 4, 5], [1, 1, 0, 1, 0, 1, 1]).set_index("time")
    np.testing.assert_allclose(km["at_risk"], [7, 6, 4, 3, 1])
    np.testing.assert_allclose(km["survival"], [6 / 7, 5 / 7, 15 / 28, 5 / 14, 0.0])
    # Greenwood at t = 3: 1/(7*6) + 1/(6*5) + 1/(4*3); log-log interval S ** exp(+-z sd / |log S|)
    var = 1 / 42 + 1 / 30 + 1 / 12
    s = 15 / 28
    z = 1.959963984540054
    sd = np.sqrt(var) / abs(np.log(s))
    assert km.loc[3, "lower"] == pytest.approx(s ** np.exp(z * sd), rel=1e-12)
    assert km.loc[3, "upper"] == pytest.approx(s ** np.exp(-z * sd), rel=1e-12)
    assert km.loc[2, "censored"] == 1 and km.loc[5, "lower"] == 0.0


def test_logit_choice_probabilities_by_hand():
    p = ChoiceModel(temperature=0.5, outside_utility=3.0).probabilities(np.array([[4.0, 3.0, np.nan]]))
    e = np.exp(np.array([3.0, 4.0, 3.0]) / 0.5)
    np.testing.assert_allclose(p[0], np.append(e / e.sum(), 0.0))


def test_return_law_makes_the_highly_satisfied_stay_loyalty_ratio_times_as_long():
    resp = ResponseModel(satisfied_return=0.95, loyalty_ratio=6.0)
    p_mid, p_high = (expit(resp.return_logit(np.array([s]), np.zeros(1)))[0] for s in (resp.s_satisfied, resp.s_high))
    assert p_mid == pytest.approx(0.95)
    assert (1 / (1 - p_high)) / (1 / (1 - p_mid)) == pytest.approx(6.0)
    off = ResponseModel(satisfaction_drives_return=False)
    np.testing.assert_allclose(expit(off.return_logit(np.array([-3.0, 0.0, 5.0]), np.zeros(3))), 0.95)


def test_counter_based_draws_are_uniform_and_keyed():
    u = crn.uniform(7, crn.RETURN, np.arange(20_000), 3)
    assert stats.kstest(u, "uniform").pvalue > 0.01
    np.testing.assert_array_equal(u, crn.uniform(7, crn.RETURN, np.arange(20_000), 3))
    assert not np.allclose(u, crn.uniform(7, crn.RETURN, np.arange(20_000), 4))
    assert not np.allclose(u, crn.uniform(8, crn.RETURN, np.arange(20_000), 3))


def test_config_errors_name_the_parameter_and_the_fix():
    with pytest.raises(SimulationConfigError, match="choice has no parameter.*tempreature"):
        WorldConfig.from_dict({"choice": {"tempreature": 1.0}})
    with pytest.raises(SimulationConfigError, match="loyalty_ratio"):
        WorldConfig().replace(**{"response.loyalty_ratio": 0.5})


# -- the loop -------------------------------------------------------------------------------------------------
def test_customers_carry_their_clones_demographics(utilities):
    world = World(small(), utilities, seed=3)
    users = world.users_frame(np.arange(5), np.array([0, 1, 2, 0, 4]))
    real = utilities.demographics
    assert list(users["age"]) == list(real["age"].iloc[[0, 1, 2, 0, 4]])


ALS = {"algorithm": "als", "params": {"factors": 16, "iterations": 5}}


def test_same_seed_same_trajectories(utilities):
    # a model refitted in the loop (ALS through the registry) and still the same trajectory
    a = World(small(), utilities, seed=11).run(ALS)
    b = World(small(), utilities, seed=11).run(ALS)
    pd.testing.assert_frame_equal(a.rounds, b.rounds)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.log, b.log)
    c = World(small(), utilities, seed=12).run(ALS)
    assert not a.customers["visits"].equals(c.customers["visits"])


def test_oracle_retains_more_customers_than_random(utilities):
    runs = analysis.per_run(simulate(small(), utilities, ["oracle", "random"], seeds=[1, 2, 3]))
    wide = runs.pivot(index="seed", columns="recommender", values="retention")
    assert (wide["oracle"] > wide["random"]).all()
    diff = analysis.paired_differences(runs, "retention", baseline="random").iloc[0]
    assert diff["lower"] > 0


def test_without_satisfaction_driving_returns_retention_does_not_depend_on_the_recommender(utilities):
    off = small(**{"response.satisfaction_drives_return": False})
    results = simulate(off, utilities, ["oracle", "random", "most_popular"], seeds=[5])
    paths = [r.retention().to_numpy() for r in results]
    for other in paths[1:]:
        np.testing.assert_array_equal(paths[0], other)
    # the satisfaction that did not count still differed: the switch, not a dead world, makes them equal
    sat = [r.rounds["mean_satisfaction"].mean() for r in results]
    assert sat[0] > sat[1] + 0.2
    on = simulate(small(), utilities, ["oracle", "random"], seeds=[5])
    assert not np.array_equal(on[0].retention().to_numpy(), on[1].retention().to_numpy())


def test_world_survey_is_accepted_and_plsc_recovers_its_true_paths(utilities):
    cfg = small(**{"survey.response_rate": 1.0})
    results = simulate(cfg, utilities, ["oracle", "random", "most_popular"], seeds=[2])
    latent = pd.concat([r.survey_latent for r in results], ignore_index=True)
    survey = analysis.survey_answers(latent, cfg.survey, seed=1)
    assert survey.scale == (1, 10) and len(survey.data) == len(latent)
    runs = analysis.survey_recovery(latent, cfg.survey, n=800, replications=8, seed=4)
    plsc = runs[runs["estimator"] == "PLSc"]
    assert plsc["error"].abs().mean() < 0.05                       # on average over replications and paths
    assert plsc.groupby(["source", "target"])["error"].mean().abs().max() < 0.05
    # mode-A PLS attenuates the strong Satisfaction -> Loyalty path; PLSc corrects it
    pls = runs[runs["estimator"] == "PLS"].groupby(["source", "target"])["error"].mean()
    assert pls["Satisfaction", "Loyalty"] < -0.05


# -- the analysis helpers by hand -----------------------------------------------------------------------------
def _runs(values):
    return pd.DataFrame([{"recommender": rec, "seed": s, "retention": v, "variant": variant}
                         for variant, per_rec in values.items() for rec, vs in per_rec.items()
                         for s, v in enumerate(vs)])


def test_paired_differences_are_t_intervals_of_the_per_seed_differences():
    runs = _runs({"base": {"a": [0.5, 0.6, 0.7], "b": [0.4, 0.4, 0.6]}})
    d = analysis.paired_differences(runs, "retention", baseline="b").iloc[0]
    diffs = np.array([0.1, 0.2, 0.1])
    half = stats.t.ppf(0.975, 2) * diffs.std(ddof=1) / np.sqrt(3)
    assert d["difference"] == pytest.approx(diffs.mean())
    assert (d["lower"], d["upper"]) == pytest.approx((diffs.mean() - half, diffs.mean() + half))


def test_a_conclusion_survives_only_where_its_order_holds_in_every_variant():
    runs = _runs({"base": {"a": [0.5, 0.6, 0.7], "b": [0.4, 0.5, 0.6], "c": [0.1, 0.7, 0.2]},
                  "x=1": {"a": [0.5, 0.6, 0.7], "b": [0.6, 0.7, 0.8], "c": [0.1, 0.1, 0.1]}})
    out = analysis.conclusions_that_survive(runs).set_index("claim")
    assert list(out.index) == ["a > b"]                  # a vs c and b vs c are not separated in the base world
    assert not out.loc["a > b", "survives"] and out.loc["a > b", "breaks_in"] == "x=1"


def test_no_difference_is_said_when_the_interval_includes_zero():
    from recsys_study.simulation.report import describe_difference

    row = {"recommender": "a", "baseline": "b", "difference": 0.01, "lower": -0.02, "upper": 0.04}
    assert describe_difference(row, what="retention").startswith("no difference detectable")
    assert "beats" in describe_difference({**row, "lower": 0.001}, what="retention")
