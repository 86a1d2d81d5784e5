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
    """Standardised CB-SEM estimates, fit indices and the optimiser's verdict."""

    paths: pd.DataFrame        # source, target, estimate (standardised), unstandardised, se, z, p_value
    loadings: pd.Series        # indicator -> standardised loading
    r2: pd.Series
    fit: dict
    fit_time_s: float
    converged: bool
    proper: bool
    max_gradient: float = np.nan          # largest |dF/dtheta| over the free parameters at the solution
    newton_decrement: float = np.nan      # g' H^-1 g: twice the decrease of F a Newton step still promises
    hessian_min_eigenvalue: float = np.nan  # smallest eigenvalue of the observed Hessian of F (free parameters)


#: Stop polishing when the Newton decrement ``g' H^-1 g`` falls below this: the remaining decrease of
#: ``F`` is at most half of it, so chi^2 = n F is within ``n * 1e-8 / 2`` (5e-6 at n = 1,000) of the minimum.
NEWTON_DECREMENT_TOL = 1e-8
#: A solution counts as a minimum when the observed Hessian's smallest eigenvalue, relative to its
#: largest, is above minus this (finite-difference noise allowed for; a saddle point gives a clearly
#: negative eigenvalue).
HESSIAN_TOL = 1e-6


def _scoring_step(sem, x, lo, hi, n):
    """Return (Newton decrement, projected Fisher-scoring step) at ``x``."""
    grad = np.asarray(sem.grad_mlw(x), dtype=float)
    free = ~(((x <= lo) & (grad > 0)) | ((x >= hi) & (grad < 0)))
    sem.param_vals = x
    sem.update_matrices(x)
    info = np.asarray(sem.calc_fim(), dtype=float) * 2 / n
    step = np.zeros_like(x)
    step[free] = -np.linalg.lstsq(info[np.ix_(free, free)], grad[free], rcond=None)[0]
    return float(-grad[free] @ step[free]), step, float(np.abs(grad[free]).max(initial=0.0))


def _polish(sem, n: int, *, max_steps: int = 20) -> tuple[float, float]:
    """Refine a semopy ML solution by projected Fisher scoring; return (Newton decrement, max |gradient|).

    SLSQP stops on a relative change of ``F``, which on badly scaled problems leaves it short of the
    optimum while reporting success. Fisher scoring uses the expected Hessian of the ML discrepancy,
    ``H = (2 / n) I(theta)`` (``I`` = semopy's Fisher information), and a step ``-H^-1 g`` halved until
    ``F`` decreases; parameters held at a bound (a variance at 0) with the gradient pushing outwards
    stay fixed. Near the optimum two or three steps suffice. The decrement and gradient returned are
    those of the final point, whatever the number of steps.
    """
    bounds = sem.get_bounds()
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds], dtype=float)
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds], dtype=float)
    x = np.asarray(sem.param_vals, dtype=float).copy()
    f = float(sem.obj_mlw(x))
    for _ in range(max_steps):
        decrement, step, _ = _scoring_step(sem, x, lo, hi, n)
        if decrement < NEWTON_DECREMENT_TOL / 100:
            break
        alpha = 1.0
        while alpha > 1e-6:
            trial = np.clip(x + alpha * step, lo, hi)
            f_trial = float(sem.obj_mlw(trial))
            if np.isfinite(f_trial) and f_trial < f:
                x, f = trial, f_trial
                break
            alpha /= 2
        else:
            break
    decrement, _, max_grad = _scoring_step(sem, x, lo, hi, n)
    sem.last_result.fun = f
    return decrement, max_grad


def _hessian_min_eigenvalue(sem, *, step: float = 1e-6) -> float:
    """Return the smallest eigenvalue, relative to the largest, of the observed Hessian of ``F``.

    Forward differences of semopy's analytic gradient over the parameters inside their bounds
    (one gradient per parameter); a minimum needs every eigenvalue >= 0 (second-order condition).
    """
    bounds = sem.get_bounds()
    x = np.asarray(sem.param_vals, dtype=float).copy()
    inside = np.array([(b[0] is None or xi > b[0] + step) and (b[1] is None or xi < b[1] - step)
                       for xi, b in zip(x, bounds)])
    g0 = np.asarray(sem.grad_mlw(x), dtype=float)
    cols = []
    for i in np.flatnonzero(inside):
        e = x.copy()
        e[i] += step
        cols.append((np.asarray(sem.grad_mlw(e), dtype=float) - g0)[inside] / step)
    sem.update_matrices(x)
    if not cols:
        return np.nan
    hess = np.array(cols).T
    eig = np.linalg.eigvalsh((hess + hess.T) / 2)
    return float(eig[0] / np.abs(eig).max())


def fit_cbsem(model: PathModel, data: pd.DataFrame, *, check_hessian: bool = True) -> CBSEMResult:
    """Return the ML CB-SEM fit of ``model`` on ``data`` (semopy, lavaan syntax from the model).

    ``data`` is checked first (``validate_indicators``): complete, numeric, non-constant indicators.

    Scale invariance: the model (free loadings, a marker indicator per construct, single-item
    constructs fixed to their indicator) is scale-invariant, so the ML solution in standardised
    units and ``chi^2 = n F`` do not depend on how answers are coded (Cudeck 1989, Psychological
    Bulletin 105(2), 317-327). The optimiser is not: on answers coded 1-1000 semopy's SLSQP stopped far
    from the optimum and reported success (simulated ECSI, n = 1,000: chi^2 3,912 instead of 309).
    So the indicators are z-scored before fitting (standardised estimates and chi^2 are unchanged by
    that; unstandardised paths and their standard errors are mapped back to the answer units through
    the marker indicators: ``b = b_z sd(marker_target) / sd(marker_source)``), and the solution is
    polished by Fisher scoring (``_polish``) until the Newton decrement is below
    ``NEWTON_DECREMENT_TOL``.

    ``converged`` is True only at a verified local minimum: the optimiser succeeded, the Newton
    decrement is below ``NEWTON_DECREMENT_TOL`` and (``check_hessian``) the observed Hessian of
    ``F`` over the interior parameters is positive semi-definite within ``HESSIAN_TOL``; the
    numbers behind the verdict are in ``max_gradient``, ``newton_decrement`` and
    ``hessian_min_eigenvalue``.

    ``proper`` is False when a standardised path leaves [-1, 1] or an R^2 leaves [0, 1]
    (a Heywood case: near-collinear constructs or weak indicators, as on mobi's full ECSI).

    Single-indicator constructs are fixed to their indicator (loading 1, no error), as lavaan does.
    """
    import semopy

    values = validate_indicators(model, data)
    sd = values.std(ddof=1)
    standardised = (values - values.mean()) / sd
    sem = semopy.Model(model.to_lavaan())
    start = time.perf_counter()
    with warnings.catch_warnings():
        # the optimiser's trial points outside the domain (log of a non-positive determinant) warn;
        # the outcome is judged by ``converged`` and ``proper`` below, not by those warnings
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sem.fit(standardised)
        decrement, max_grad = _polish(sem, len(standardised))
        elapsed = time.perf_counter() - start
        min_eig = _hessian_min_eigenvalue(sem) if check_hessian else np.nan
        table = sem.inspect(std_est=True)
        stats = semopy.calc_stats(sem).T.iloc[:, 0]
    regress = table[(table["op"] == "~") & table["lval"].isin(model.constructs) & table["rval"].isin(model.constructs)]
    lookup = {(r["rval"], r["lval"]): r for _, r in regress.iterrows()}

    def _num(value):
        try:
            return float(value)
        except (TypeError, ValueError):
            return np.nan

    marker_sd = {c: float(sd[items[0]]) for c, items in model.blocks.items()}
    rows = []
    for a, b in model.paths:
        r = lookup[(a, b)]
        unit = marker_sd[b] / marker_sd[a]
        rows.append({"source": a, "target": b, "estimate": _num(r["Est. Std"]),
                     "unstandardised": _num(r["Estimate"]) * unit, "se": _num(r["Std. Err"]) * unit,
                     "z": _num(r["z-value"]), "p_value": _num(r["p-value"])})
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
    second_order = (not check_hessian) or (np.isfinite(min_eig) and min_eig > -HESSIAN_TOL)
    converged = bool(getattr(result, "success", True)) and decrement < NEWTON_DECREMENT_TOL and second_order
    # standardised estimates beyond +-1 or R^2 outside [0, 1] mark an improper (Heywood) solution
    proper = bool((paths["estimate"].abs() <= 1).all() and all(0 <= v <= 1 for v in r2.values()))
    return CBSEMResult(paths, loadings, pd.Series(r2), fit, elapsed, converged, proper, max_grad, decrement, min_eig)


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
