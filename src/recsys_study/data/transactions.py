"""CDNOW transactions (Fader & Hardie): CD purchases of a cohort of first-time buyers, 1997-98.

``CDNOW_master.txt`` (69,659 purchases by 23,570 customers who first bought in Q1 1997,
followed to June 1998) and ``CDNOW_sample.txt`` (a 1/10 sample: 6,919 purchases by
2,357 customers) ship inside the ``lifetimes`` wheel, so no download is needed.

Reference: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "Counting your customers"
the easy way: an alternative to the Pareto/NBD model. Marketing Science 24(2).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recsys_study.data.packaged import package_file
from recsys_study.data.schema import DataValidationError, require_columns

TRANSACTION_COLUMNS = ("customer", "date", "quantity", "amount")


def load_cdnow(*, sample: bool = False, path: str | Path | None = None) -> pd.DataFrame:
    """Return CDNOW purchases: ``customer`` (int), ``date`` (datetime64), ``quantity``, ``amount`` (USD).

    ``sample=True`` reads the 2,357-customer sample; ``path`` reads a file of the same format.
    """
    if path is None:
        path = package_file("lifetimes", f"datasets/CDNOW_{'sample' if sample else 'master'}.txt")
    path = Path(path)
    if not path.exists():
        raise DataValidationError(f"CDNOW file {path} does not exist.")
    if sample and path.name == "CDNOW_sample.txt":
        # the sample has an extra leading column: the customer id in the master file
        raw = pd.read_csv(path, sep=r"\s+", header=None, names=["master_id", *TRANSACTION_COLUMNS])
        raw = raw.drop(columns="master_id")
    else:
        raw = pd.read_csv(path, sep=r"\s+", header=None, names=list(TRANSACTION_COLUMNS), comment=None,
                          skiprows=_header_rows(path))
    return validate_transactions(raw, source=str(path.name))


def _header_rows(path: Path) -> int:
    with open(path) as fh:
        first = fh.readline()
    if not first.split():
        raise DataValidationError(f"{path}: the file is empty (or starts with a blank line); no transactions.")
    return 0 if first.split()[0].isdigit() else 1


def validate_transactions(df: pd.DataFrame, *, source: str = "transactions") -> pd.DataFrame:
    """Return a clean transaction log (customer, date, quantity, amount), or raise naming the problem."""
    if len(df) == 0:
        raise DataValidationError(f"{source}: no transactions.")
    require_columns(df, ("customer", "date", "amount"), source=source)
    out = df.copy()
    if out["customer"].isna().any():
        raise DataValidationError(f"{source}: {int(out['customer'].isna().sum())} transaction(s) without a customer id.")
    if not pd.api.types.is_datetime64_any_dtype(out["date"]):
        parsed = pd.to_datetime(out["date"].astype(str), format="%Y%m%d", errors="coerce")
        # numbers are only ever YYYYMMDD: the generic parser would read 19971345 as nanoseconds since 1970
        if parsed.isna().any() and not pd.api.types.is_numeric_dtype(out["date"]):
            parsed = pd.to_datetime(out["date"], errors="coerce")
        if parsed.isna().any():
            bad = out.loc[parsed.isna(), "date"].tolist()[0]
            raise DataValidationError(f"{source}: unreadable date {bad!r}; use YYYYMMDD or ISO dates.")
        out["date"] = parsed
    amount = pd.to_numeric(out["amount"], errors="coerce")
    if amount.isna().any():
        bad = out.loc[amount.isna(), "amount"].tolist()[0]
        raise DataValidationError(f"{source}: missing or non-numeric amount {bad!r}; amounts must be numbers.")
    out["amount"] = amount.astype(float)
    if (out["amount"] < 0).any():
        raise DataValidationError(f"{source}: {int((out['amount'] < 0).sum())} negative amount(s); returns must be netted first.")
    if "quantity" not in out.columns:
        out["quantity"] = 1
    return out[list(TRANSACTION_COLUMNS)].reset_index(drop=True)
