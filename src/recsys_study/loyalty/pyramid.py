"""The customer pyramid (Curry & Curry 2000) and migration between its tiers.

Active customers of a period are ranked by value (largest first) and cut into tiers by
cumulative *customer* share: by default the top 1% (VIP, the seeds' definition), the next 4%
("big"), the next 15% ("medium") and the remaining 80% ("small"). Customers with no purchase in
the period are "inactive". Each tier's share of revenue shows how concentrated value is;
the transition matrix between two periods shows how customers move up and down the pyramid.

Reference: J. Curry and A. Curry (2000), *The Customer Marketing Method*, Free Press.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_CUT_POINTS = (0.01, 0.04, 0.15, 0.80)
DEFAULT_TIERS = ("VIP", "big", "medium", "small")
INACTIVE = "inactive"


def _check_cut_points(cut_points, labels) -> np.ndarray:
    cuts = np.asarray(cut_points, dtype=float)
    if len(cuts) != len(labels):
        raise ValueError(f"{len(cuts)} cut-points but {len(labels)} tier labels; give one share per tier.")
    if (cuts <= 0).any() or not np.isclose(cuts.sum(), 1.0):
        raise ValueError(f"cut-points are customer shares per tier and must be > 0 and sum to 1, got {list(cuts)}.")
    return cuts


def pyramid_tiers(values: pd.Series, *, cut_points=DEFAULT_CUT_POINTS, labels=DEFAULT_TIERS) -> pd.Series:
    """Return each customer's tier (ordered categorical, top tier first, "inactive" last).

    Customers with value > 0 are sorted by value descending (ties by index order); customer at
    rank i (1-based) of n belongs to the first tier whose cumulative share c satisfies
    ``i <= ceil(c * n)`` (so a tier never rounds away its top customer). Value 0 -> inactive.
    """
    cuts = _check_cut_points(cut_points, labels)
    categories = [*labels, INACTIVE]
    active = values[values > 0].sort_values(ascending=False, kind="stable")
    n = len(active)
    bounds = np.ceil(np.round(np.cumsum(cuts) * n, 9)).astype(int)
    ranks = np.arange(1, n + 1)
    tier_idx = np.searchsorted(bounds, ranks, side="left")
    out = pd.Series(INACTIVE, index=values.index, name="tier", dtype=object)
    out.loc[active.index] = np.asarray(labels, dtype=object)[tier_idx]
    return pd.Series(pd.Categorical(out, categories=categories), index=values.index, name="tier")


def tier_summary(values: pd.Series, tiers: pd.Series) -> pd.DataFrame:
    """Return per tier: customers, customer share (of active), revenue, revenue share, mean value."""
    df = pd.DataFrame({"value": values, "tier": tiers})
    out = df.groupby("tier", observed=False).agg(customers=("value", "size"), revenue=("value", "sum"))
    active = out.index != INACTIVE
    out["customer_share"] = np.where(active, out["customers"] / out.loc[active, "customers"].sum(), np.nan)
    out["revenue_share"] = out["revenue"] / out["revenue"].sum()
    out["mean_value"] = out["revenue"] / out["customers"].where(out["customers"] > 0)
    return out.reset_index()


def period_values(transactions: pd.DataFrame, start, end, *, customers=None) -> pd.Series:
    """Return total ``amount`` per customer for purchases with start <= date < end.

    ``customers`` (an index) fixes the universe: customers without purchases get 0.
    """
    mask = (transactions["date"] >= pd.Timestamp(start)) & (transactions["date"] < pd.Timestamp(end))
    values = transactions.loc[mask].groupby("customer")["amount"].sum()
    universe = pd.Index(transactions["customer"].unique()) if customers is None else pd.Index(customers)
    return values.reindex(universe, fill_value=0.0).rename("value")


def migration_matrix(before: pd.Series, after: pd.Series, *, normalize: bool = True) -> pd.DataFrame:
    """Return the tier transition matrix: rows = tier in period 1, columns = tier in period 2.

    Customers present in only one of the two series count as inactive in the other.
    With ``normalize`` each row sums to 1 (the probability of moving from tier i to tier j);
    rows for tiers with no customers are all zero.
    """
    categories = list(before.cat.categories)
    index = before.index.union(after.index)
    b = before.reindex(index).astype(object).fillna(INACTIVE)
    a = after.reindex(index).astype(object).fillna(INACTIVE)
    counts = pd.crosstab(pd.Categorical(b, categories=categories), pd.Categorical(a, categories=categories),
                         dropna=False).reindex(index=categories, columns=categories, fill_value=0)
    counts.index.name, counts.columns.name = "from", "to"
    if not normalize:
        return counts
    totals = counts.sum(axis=1).replace(0, np.nan)
    return counts.div(totals, axis=0).fillna(0.0)
