"""PLS/PLSc engine: published mobi numbers, parity with seminr 0.2.1, effects, bootstrap."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.data.survey import load_mobi
from recsys_study.satisfaction.inference import bootstrap_paths
from recsys_study.satisfaction.models import ECSI_PATHS, MOBI_BLOCKS, PathModel, ecsi_model, mobi_reduced_model
from recsys_study.satisfaction.pls import PLSPM, total_effects
from recsys_study.satisfaction.reference import smartpls_ecsi_paths


@pytest.fixture(scope="module")
def mobi():
    return load_mobi().data


def test_mobi_reduced_model_reproduces_published_seminr_paths(mobi):
    fit = PLSPM(mobi_reduced_model(), scheme="factorial", consistent=True).fit(mobi)
    paths = fit.paths().set_index("source")["estimate"]
    assert paths["Image"] == pytest.approx(0.5377, abs=1e-3)
    assert paths["Expectation"] == pytest.approx(0.2410, abs=1e-3)
    assert paths["Value"] == pytest.approx(0.2583, abs=1e-3)


def _seminr_ecsi(mobi, scheme, consistent, mode_b_image=False):
    import seminr as s

    make = s.reflective if consistent else s.composite
    specs = []
    for c, items in MOBI_BLOCKS.items():
        items = list(items) if len(items) > 1 else s.single_item(items[0])
        if mode_b_image and c == "Image":
            specs.append(s.composite(c, items, weights=s.mode_B))
        else:
            specs.append(make(c, items))
    sm = s.relationships(*[s.paths(from_=a, to=b) for a, b in ECSI_PATHS])
    inner = {"path": s.path_weighting, "factorial": s.path_factorial}[scheme]
    ref = s.estimate_pls(mobi, s.constructs(*specs), sm, inner_weights=inner)
    paths = pd.DataFrame(ref.path_coef.values, index=ref.path_coef.rows, columns=ref.path_coef.cols)
    loads = pd.DataFrame(ref.outer_loadings.values, index=ref.outer_loadings.rows, columns=ref.outer_loadings.cols)
    r2 = pd.Series(ref.r_squared.values[0], index=ref.r_squared.cols)
    return paths, loads, r2


@pytest.mark.parametrize("scheme", ["path", "factorial"])
@pytest.mark.parametrize("consistent", [False, True])
def test_full_ecsi_matches_seminr(mobi, scheme, consistent):
    fit = PLSPM(ecsi_model(), scheme=scheme, consistent=consistent).fit(mobi)
    paths, loads, r2 = _seminr_ecsi(mobi, scheme, consistent)
    for a, b in ECSI_PATHS:
        assert fit.path_coefficients_.loc[a, b] == pytest.approx(paths.loc[a, b], abs=1e-8)
    np.testing.assert_allclose(fit.outer_loadings_.loc[loads.index, loads.columns].to_numpy(), loads.to_numpy(),
                               atol=1e-8)
    for c in r2.index:
        assert fit.r2_[c] == pytest.approx(r2[c], abs=1e-8)


@pytest.mark.parametrize("scheme", ["centroid", "path", "factorial"])
def test_full_ecsi_matches_smartpls_published_reference(mobi, scheme):
    """SmartPLS 2.0.M3 is an independent (closed-source) implementation, and the only reference here with the
    centroid scheme that Tenenhaus et al. (2005) used on these data."""
    ref = smartpls_ecsi_paths(scheme)
    assert len(ref) == len(ECSI_PATHS) == 12
    got = PLSPM(ecsi_model(), scheme=scheme).fit(mobi).paths().merge(ref, on=["source", "target"])
    assert len(got) == 12
    np.testing.assert_allclose(got["estimate_x"], got["estimate_y"], atol=1e-6)
    assert got.loc[got.source.eq("Image") & got.target.eq("Expectation"), "estimate_y"].item() == pytest.approx(
        {"centroid": 0.50470564, "path": 0.50491393, "factorial": 0.50494314}[scheme])


def test_smartpls_reference_refuses_unknown_scheme():
    with pytest.raises(ValueError, match="use one of"):
        smartpls_ecsi_paths("horst")


def test_mode_b_matches_seminr(mobi):
    model = PathModel(blocks=MOBI_BLOCKS, paths=ECSI_PATHS, modes={"Image": "B"})
    fit = PLSPM(model).fit(mobi)
    paths, _, _ = _seminr_ecsi(mobi, "path", False, mode_b_image=True)
    for a, b in ECSI_PATHS:
        assert fit.path_coefficients_.loc[a, b] == pytest.approx(paths.loc[a, b], abs=1e-8)


def test_scores_have_unit_variance_and_converge(mobi):
    fit = PLSPM(ecsi_model()).fit(mobi)
    assert fit.converged_ and fit.n_iter_ < 50
    np.testing.assert_allclose(fit.scores_.std(ddof=1).to_numpy(), 1.0, atol=1e-10)


def test_total_effects_of_a_chain_by_hand():
    # a -> b 0.5, b -> c 0.4, a -> c 0.1: total a -> c = 0.1 + 0.5 * 0.4
    B = np.array([[0, 0.5, 0.1], [0, 0, 0.4], [0, 0, 0]])
    T = total_effects(B)
    assert T[0, 2] == pytest.approx(0.3) and T[0, 1] == pytest.approx(0.5) and T[1, 0] == 0


def test_plsc_paths_exceed_plain_pls_for_attenuated_links(mobi):
    plain = PLSPM(ecsi_model()).fit(mobi).path_coefficients_
    plsc = PLSPM(ecsi_model(), consistent=True).fit(mobi).path_coefficients_
    assert plsc.loc["Satisfaction", "Loyalty"] > plain.loc["Satisfaction", "Loyalty"]


def test_bootstrap_is_seeded_and_brackets_the_estimate(mobi):
    fit = PLSPM(mobi_reduced_model(), scheme="factorial", consistent=True).fit(mobi)
    a = bootstrap_paths(fit, mobi, n_boot=60, seed=7)
    b = bootstrap_paths(fit, mobi, n_boot=60, seed=7)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    direct = a.summary[a.summary["effect"] == "direct"]
    assert len(direct) == 3 and (direct["ci_low"] <= direct["estimate"]).all()
    assert (direct["estimate"] <= direct["ci_high"]).all()


def test_bootstrap_reports_indirect_and_total_effects(mobi):
    fit = PLSPM(ecsi_model()).fit(mobi)
    res = bootstrap_paths(fit, mobi, n_boot=30, seed=1)
    ind = res.summary.query("effect == 'indirect' and source == 'Image' and target == 'Loyalty'")
    assert len(ind) == 1
    assert ind["estimate"].iloc[0] == pytest.approx(fit.indirect_effects_.loc["Image", "Loyalty"])


def test_missing_answers_are_refused_with_the_fix(mobi):
    bad = mobi.copy()
    bad.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="load_survey"):
        PLSPM(ecsi_model()).fit(bad)


def test_unknown_scheme_is_refused(mobi):
    with pytest.raises(ValueError, match="scheme"):
        PLSPM(ecsi_model(), scheme="magic").fit(mobi)
