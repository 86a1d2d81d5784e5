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
