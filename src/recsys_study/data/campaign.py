"""A randomised campaign of your own: one row per customer with treatment, outcome and features.

``load_campaign("my_campaign.csv", features=[...])`` reads a CSV or parquet file (or takes a
DataFrame) and returns a validated :class:`CampaignData`, the input of ``loyalty.uplift``: a
treatment column (1 = contacted, 0 = control group), a binary outcome (1 = responded: bought,
stayed, ...) and numeric features known *before* the campaign. Booleans and the strings
yes/no, true/false, treatment/control are read as 1/0.

No real uplift data set ships with the installed packages (Hillstrom's and Criteo's campaigns are
downloads; causalml ships only synthetic generators), so the package's worked example is the
simulated world's own campaign (``simulation.campaigns.campaign_table``), written to a file and
read back through this loader, and the tests use files they write.

Checks, each naming the column, an example row and the fix: a readable file of a known format;
not empty; the treatment, outcome and feature columns present; treatment and outcome binary and
without missing values; features numeric and without missing values; both arms present (a campaign
without a control group cannot measure uplift) and each arm large enough.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_study.data.schema import DataValidationError, example_row, require_columns

_BINARY_TEXT = {"1": 1, "0": 0, "yes": 1, "no": 0, "true": 1, "false": 0, "treatment": 1, "control": 0,
                "treated": 1, "y": 1, "n": 0}


@dataclass
class CampaignData:
    """A validated campaign: ``frame`` (the columns below, ints for treatment and outcome), the names."""

    frame: pd.DataFrame
    treatment: str
    outcome: str
    features: list[str]
    source: str
    meta: dict = field(default_factory=dict)

    @property
    def x(self) -> np.ndarray:
        return self.frame[self.features].to_numpy(dtype=float)

    @property
    def t(self) -> np.ndarray:
        return self.frame[self.treatment].to_numpy()

    @property
    def y(self) -> np.ndarray:
        return self.frame[self.outcome].to_numpy()


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataValidationError(f"campaign file {path} does not exist; check the path.")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".csv", ".txt", ".gz"):
        return pd.read_csv(path)
    raise DataValidationError(f"campaign file {path}: unknown format {suffix!r}; save it as .csv or .parquet.")


def _binary(df: pd.DataFrame, column: str, *, source: str, role: str, fix: str) -> pd.Series:
    values = df[column]
    missing = values.isna()
    if missing.any():
        raise DataValidationError(
            f"{source}: {int(missing.sum())} missing value(s) in the {role} column {column!r}, e.g. "
            f"{example_row(df, missing, list(df.columns)[:6])} (row {df.index[missing][0]!r}); {fix}")
    if values.dtype == bool:
        return values.astype(int)
    if values.dtype.kind in "iuf":
        coded = values
    else:
        coded = values.astype(str).str.strip().str.lower().map(_BINARY_TEXT)
    bad = ~coded.isin([0, 1])
    if bad.any():
        seen = sorted(map(str, pd.unique(values[bad])))[:5]
        raise DataValidationError(
            f"{source}: the {role} column {column!r} must be binary (0/1), found {seen}, e.g. "
            f"{example_row(df, bad, list(df.columns)[:6])} (row {df.index[bad][0]!r}); {fix}")
    return coded.astype(int)


def validate_campaign(df: pd.DataFrame, *, treatment: str = "treatment", outcome: str = "outcome",
                      features=None, source: str = "campaign", min_per_arm: int = 20) -> CampaignData:
    """Return a :class:`CampaignData` checked as the module docstring says, or raise naming the fix.

    ``features``: the feature columns (default: every other numeric column).
    """
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(f"{source}: expected a DataFrame (one row per customer), got {type(df).__name__}.")
    if len(df) == 0:
        raise DataValidationError(f"{source}: the campaign is empty; check the file or the filter that produced it.")
    require_columns(df, (treatment, outcome), source=source)
    if features is None:
        features = [c for c in df.columns if c not in (treatment, outcome) and df[c].dtype.kind in "iufb"]
        if not features:
            raise DataValidationError(f"{source}: no numeric feature columns besides {treatment!r} and {outcome!r}; "
                                      f"found {list(df.columns)}. Add features, or name them with features=[...].")
    features = list(features)
    require_columns(df, features, source=source)
    overlap = sorted({treatment, outcome} & set(features))
    if overlap:
        raise DataValidationError(f"{source}: {overlap} is both a feature and the treatment or outcome; "
                                  "drop it from features (it would leak the answer).")
    out = df[[treatment, outcome, *features]].copy()
    out[treatment] = _binary(df, treatment, source=source, role="treatment",
                             fix="code the contacted customers 1 and the control group 0, and drop rows without a group.")
    out[outcome] = _binary(df, outcome, source=source, role="outcome",
                           fix="code responders 1 and the others 0 (e.g. df[col] = (df[col] > 0).astype(int)).")
    for col in features:
        values = pd.to_numeric(df[col], errors="coerce") if df[col].dtype.kind not in "iufb" else df[col]
        text = values.isna() & df[col].notna()
        if text.any():
            raise DataValidationError(
                f"{source}: feature {col!r} has {int(text.sum())} non-numeric value(s), e.g. {df[col][text].iloc[0]!r} "
                f"in row {df.index[text][0]!r}; encode it as numbers (e.g. pd.get_dummies) or leave it out of features.")
        missing = values.isna()
        if missing.any():
            raise DataValidationError(
                f"{source}: {int(missing.sum())} missing value(s) in feature {col!r}, e.g. "
                f"{example_row(df, missing, [treatment, outcome, col])} (row {df.index[missing][0]!r}); "
                f"fill them (df[{col!r}].fillna(...)) or drop those rows.")
        out[col] = values.astype(float)
    arms = out[treatment].value_counts()
    if len(arms) < 2:
        only = "treated" if arms.index[0] == 1 else "control"
        raise DataValidationError(
            f"{source}: every one of the {len(out)} customers is in the {only} group (column {treatment!r}); uplift "
            "is the difference between contacted and not contacted customers, so a campaign needs a randomised "
            "control group: include it, coded 0 (contacted: 1).")
    small = {("control" if k == 0 else "treated"): int(v) for k, v in arms.items() if v < min_per_arm}
    if small:
        raise DataValidationError(f"{source}: too few customers in {small} (column {treatment!r}); each arm needs at "
                                  f"least {min_per_arm} for a Qini curve to mean anything: use a larger campaign.")
    return CampaignData(frame=out.reset_index(drop=True), treatment=treatment, outcome=outcome, features=features,
                        source=source, meta={"treated_share": float(out[treatment].mean()),
                                             "response_rate": float(out[outcome].mean())})


def load_campaign(data: str | Path | pd.DataFrame, *, treatment: str = "treatment", outcome: str = "outcome",
                  features=None, min_per_arm: int = 20) -> CampaignData:
    """Return a validated campaign from a CSV/parquet path or a DataFrame (see :func:`validate_campaign`)."""
    if isinstance(data, pd.DataFrame):
        return validate_campaign(data, treatment=treatment, outcome=outcome, features=features, source="campaign",
                                 min_per_arm=min_per_arm)
    path = Path(data)
    return validate_campaign(_read(path), treatment=treatment, outcome=outcome, features=features, source=path.name,
                             min_per_arm=min_per_arm)
