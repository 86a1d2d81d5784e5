"""CB-SEM with semopy beside PLS."""

import logging

import pytest

from recsys_study.data.survey import load_mobi, simulate_survey
from recsys_study.satisfaction.models import ecsi_model, mobi_reduced_model
from recsys_study.satisfaction.pls import PLSPM
from recsys_study.satisfaction.sem import compare_estimators, fit_cbsem

logging.getLogger().setLevel(logging.ERROR)


def test_lavaan_syntax_lists_blocks_regressions_and_fixes_single_items():
    text = ecsi_model().to_lavaan()
    assert "Image =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5" in text
    assert "Loyalty ~ Image + Satisfaction + Complaints" in text
    assert "CUSCO ~~ 0*CUSCO" in text


def test_cbsem_on_mobi_reduced_model_is_proper_and_close_to_plsc():
    data = load_mobi().data
    sem = fit_cbsem(mobi_reduced_model(), data)
    plsc = PLSPM(mobi_reduced_model(), scheme="factorial", consistent=True).fit(data)
    table = compare_estimators(mobi_reduced_model(), {"CB-SEM": sem.paths, "PLSc": plsc.paths()})
    assert sem.converged and sem.proper
    assert (table["CB-SEM"] - table["PLSc"]).abs().max() < 0.07
    assert 0.9 < sem.fit["CFI"] <= 1 and 0 < sem.fit["RMSEA"] < 0.1


def test_cbsem_recovers_simulated_paths():
    s = simulate_survey("acsi", 1000, seed=11)
    sem = fit_cbsem(s.model, s.data)
    merged = sem.paths.merge(s.true_paths, on=["source", "target"])
    assert sem.proper and (merged["estimate"] - merged["value"]).abs().max() < 0.1


@pytest.mark.parametrize("fault, message", [
    (lambda d: d.assign(IMAG1=7.0), r"indicator 'IMAG1' \(construct 'Image'\) is constant \(every answer is 7\.0\)"),
    (lambda d: d.assign(IMAG1=float("nan")), r"indicator 'IMAG1' \(construct 'Image'\) is empty"),
    (lambda d: d.assign(IMAG1=d["IMAG1"].where(d.index != d.index[3])),
     r"indicator 'IMAG1' has 1 empty cell\(s\), e\.g\. row 3; ML CB-SEM needs complete answers"),
    (lambda d: d.assign(IMAG1=d["IMAG1"].astype(object).where(d.index != d.index[0], "ten")),
     r"indicator 'IMAG1' has 1 non-numeric answer\(s\), e\.g\. 'ten' in row 0"),
    (lambda d: d.drop(columns="IMAG1"), r"lacks indicator column\(s\) \['IMAG1'\]"),
    (lambda d: d.iloc[:0], r"no respondents \(0 rows\)"),
    (lambda d: d.iloc[:10], r"10 respondent\(s\) for \d+ indicators"),
])
def test_cbsem_refuses_data_it_cannot_estimate_naming_the_indicator(fault, message):
    # before: a constant or empty indicator gave every path 0.000 with only converged=False; NaN ran silently
    from recsys_study.data.schema import DataValidationError

    data = fault(load_mobi().data.reset_index(drop=True))
    with pytest.raises(DataValidationError, match=message):
        fit_cbsem(mobi_reduced_model(), data)
