"""Covariance-based SEM (maximum likelihood, semopy) of the same path model, beside PLS.

CB-SEM fits the model-implied covariance matrix of the indicators to the observed one
(Joreskog 1970; ML discrepancy ``F = log|Sigma| + tr(S Sigma^-1) - log|S| - p``), treating
every construct as a common factor. It is consistent for reflective constructs, like PLSc,
and gives global fit indices (chi^2, CFI, RMSEA); PLS maximises explained variance of
composites instead (Jöreskog & Wold 1982 compare the two).
Engine: semopy 2.3 (Igolkina & Meshcheryakov 2020, Structural Equation Modeling 27(6)).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_study.satisfaction.models import PathModel

FIT_INDICES = ("chi2", "DoF", "chi2 p-value", "CFI", "TLI", "RMSEA", "GFI")


@dataclass
class CBSEMResult:
    """Standardised CB-SEM estimates and fit indices."""

    paths: pd.DataFrame        # source, target, estimate (standardised), unstandardised, se, z, p_value
    loadings: pd.Series        # indicator -> standardised loading
    r2: pd.Series
    fit: dict
    fit_time_s: float
    converged: bool
    proper: bool


def fit_cbsem(model: PathModel, data: pd.DataFrame) -> CBSEMResult:
    """Return the ML CB-SEM fit of ``model`` on ``data`` (semopy, lavaan syntax from the model).

    ``data`` is checked first (``validate_indicators``): complete, numeric, non-constant indicators.

    ``proper`` is False when a standardised path leaves [-1, 1] or an R^2 leaves [0, 1]
    (a Heywood case: near-collinear constructs or weak indicators, as on mobi's full ECSI).

    Single-indicator constructs are fixed to their indicator (loading 1, no error), as lavaan does.
    """
    import semopy

    values = validate_indicators(model, data)
    sem = semopy.Model(model.to_lavaan())
    start = time.perf_counter()
    with warnings.catch_warnings():
        # the optimiser's trial points outside the domain (log of a non-positive determinant) warn;
        # the outcome is judged by ``converged`` and ``proper`` below, not by those warnings
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sem.fit(values)
        elapsed = time.perf_counter() - start
        table = sem.inspect(std_est=True)
        stats = semopy.calc_stats(sem).T.iloc[:, 0]
    regress = table[(table["op"] == "~") & table["lval"].isin(model.constructs) & table["rval"].isin(model.constructs)]
    lookup = {(r["rval"], r["lval"]): r for _, r in regress.iterrows()}

    def _num(value):
        try:
            return float(value)
        except (TypeError, ValueError):
            return np.nan

    rows = []
    for a, b in model.paths:
        r = lookup[(a, b)]
        rows.append({"source": a, "target": b, "estimate": _num(r["Est. Std"]), "unstandardised": _num(r["Estimate"]),
                     "se": _num(r["Std. Err"]), "z": _num(r["z-value"]), "p_value": _num(r["p-value"])})
    measure = table[(table["op"] == "~") & table["rval"].isin(model.constructs) & table["lval"].isin(model.indicators)]
    loadings = pd.Series({r["lval"]: _num(r["Est. Std"]) for _, r in measure.iterrows()})
    paths = pd.DataFrame(rows)
    r2 = {}
    for c in model.endogenous:
        resid = table[(table["op"] == "~~") & (table["lval"] == c) & (table["rval"] == c)]
        r2[c] = 1 - _num(resid["Est. Std"].iloc[0]) if len(resid) else np.nan
    fit = {k: float(stats[k]) for k in FIT_INDICES if k in stats.index}
    if any(len(items) == 1 for items in model.blocks.values()):
        # semopy's baseline model breaks on the fixed zero error variance of single-item constructs
        # (it reports CFI = GFI = 1, TLI = NaN); keep only the indices that do not use the baseline
        fit = {k: (np.nan if k in ("CFI", "TLI", "GFI") else v) for k, v in fit.items()}
    converged = bool(getattr(result, "success", True))
    # standardised estimates beyond +-1 or R^2 outside [0, 1] mark an improper (Heywood) solution
    proper = bool((paths["estimate"].abs() <= 1).all() and all(0 <= v <= 1 for v in r2.values()))
    return CBSEMResult(paths, loadings, pd.Series(r2), fit, elapsed, converged, proper)


def validate_indicators(model: PathModel, data: pd.DataFrame, *, source: str = "survey data") -> pd.DataFrame:
    """Return the model's indicator columns as floats after checking what ML estimation needs.

    Raises DataValidationError naming the column, an example and the fix for: a missing indicator
    column, no rows, a non-numeric answer, an empty cell (NaN: ML needs complete cases), a constant
    indicator (zero variance makes the sample covariance matrix S singular, so ``log|S|`` in the
    discrepancy is undefined), and fewer respondents than indicators + 1 (S is then singular too).
    """
    from recsys_study.data.schema import DataValidationError, numeric_column

    block_of = {item: construct for construct, items in model.blocks.items() for item in items}
    missing = [c for c in model.indicators if c not in data.columns]
    if missing:
        raise DataValidationError(
            f"{source}: lacks indicator column(s) {missing} that the model needs (blocks "
            f"{ {block_of[c]: c for c in missing} }); rename the columns or change the model's blocks.")
    if len(data) == 0:
        raise DataValidationError(f"{source}: no respondents (0 rows); check the file or the filter that produced it.")
    out = pd.DataFrame(index=data.index)
    for col in model.indicators:
        numeric = numeric_column(data[col], source=source, what=f"indicator {col!r} has {{n}} non-numeric answer(s)",
                                 fix="recode the answers as numbers.")
        empty = numeric.isna()
        if empty.all():
            raise DataValidationError(
                f"{source}: indicator {col!r} (construct {block_of[col]!r}) is empty; drop it from the block or "
                "supply its answers.")
        if empty.any():
            raise DataValidationError(
                f"{source}: indicator {col!r} has {int(empty.sum())} empty cell(s), e.g. row {data.index[empty][0]!r}; "
                "ML CB-SEM needs complete answers: drop those respondents (data.dropna(subset=model.indicators)) "
                "or impute them first.")
        if numeric.nunique() == 1:
            raise DataValidationError(
                f"{source}: indicator {col!r} (construct {block_of[col]!r}) is constant (every answer is "
                f"{float(numeric.iloc[0])!r}), so the covariance matrix is singular; drop it from the block.")
        out[col] = numeric.astype(float)
    if len(out) <= len(model.indicators):
        raise DataValidationError(
            f"{source}: {len(out)} respondent(s) for {len(model.indicators)} indicators; the sample covariance "
            "matrix needs more respondents than indicators (collect more answers or use fewer indicators).")
    return out


def compare_estimators(model: PathModel, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return one row per path with one column per estimator (``tables``: label -> source/target/estimate)."""
    out = pd.DataFrame({"source": [a for a, _ in model.paths], "target": [b for _, b in model.paths]})
    for label, table in tables.items():
        out = out.merge(table[["source", "target", "estimate"]].rename(columns={"estimate": label}),
                        on=["source", "target"], how="left")
    return out
