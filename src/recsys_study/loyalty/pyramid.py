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


def _tier_rank(tiers: pd.Series) -> np.ndarray:
    """Position of each tier in the pyramid: 0 = top tier, len(labels) = inactive."""
    return np.asarray(tiers.cat.codes, dtype=int)


def migration_forecast(tiers_before: pd.Series, expected_value: pd.Series, p_active: pd.Series, *,
                       cut_points=DEFAULT_CUT_POINTS, labels=DEFAULT_TIERS) -> pd.DataFrame:
    """Return per customer active in period 1 the forecast tier of period 2 and a "moves down" score.

    ``expected_value``: each customer's expected spend next period (e.g. a BTYD model's expected
    purchases times the Gamma-Gamma expected spend per purchase); ``p_active``: the probability of at
    least one purchase next period (the model's P(alive) times the chance that an alive customer buys).
    The forecast pyramid: the ``N = round(sum p_active)`` customers (the expected number of active
    customers, over the whole universe) with the largest expected value are the active ones, cut into
    tiers as by ``pyramid_tiers``; the rest are inactive. Each tier k has a *bar*, the smallest
    expected value that still lands in tier k or above. Columns:

    - ``tier_before``, ``tier_forecast``; ``expected_value``, ``p_active``;
    - ``down_score = log(bar of tier_before) - log(expected_value)``: how far below the bar of her
      current tier the forecast puts the customer (> 0: she is forecast to move down);
    - ``forecast_down``: the forecast tier is below ``tier_before``.
    Customers inactive in period 1 cannot move down and are left out.
    """
    index = tiers_before.index
    value = expected_value.reindex(index).astype(float)
    p = p_active.reindex(index).astype(float)
    if value.isna().any() or p.isna().any():
        raise ValueError("expected_value and p_active need a value for every customer of tiers_before.")
    if (value < 0).any() or ((p < 0) | (p > 1)).any():
        raise ValueError("expected_value must be >= 0 and p_active a probability in [0, 1].")
    n_active = int(round(float(p.sum())))
    ranked = value.sort_values(ascending=False, kind="stable")
    forecast_values = pd.Series(0.0, index=index)
    top = ranked.index[:n_active]
    forecast_values.loc[top] = ranked.iloc[:n_active].clip(lower=np.finfo(float).tiny)  # an active slot stays active
    forecast = pyramid_tiers(forecast_values, cut_points=cut_points, labels=labels)
    bars = value.groupby(forecast, observed=False).min().reindex(forecast.cat.categories)
    bars = bars.iloc[: len(labels)].ffill()  # an empty tier borrows the bar of the tier above
    active = tiers_before != INACTIVE
    before = tiers_before[active]
    bar = before.astype(object).map(bars).astype(float)
    with np.errstate(divide="ignore"):
        score = np.log(bar) - np.log(value[active])
    out = pd.DataFrame({"tier_before": before, "tier_forecast": forecast[active],
                        "expected_value": value[active], "p_active": p[active], "down_score": score})
    out["forecast_down"] = _tier_rank(out["tier_forecast"]) > _tier_rank(out["tier_before"])
    return out


def evaluate_migration_forecast(forecast: pd.DataFrame, tiers_after: pd.Series, *, baselines=None) -> dict:
    """Score the "moves down" forecast against the realised tiers of period 2; return tables.

    Realised: the period-2 tier is below the period-1 tier ("inactive" is the lowest).
    Returns ``{"overall", "by_tier", "by_decile", "frame"}``: ``overall`` holds the base rate, ROC AUC of
    ``down_score`` (Hanley & McNeil 1982: the probability that a customer who moved down scores above
    one who did not, ties counted half), precision and recall of ``forecast_down``, and the AUC of each
    ``baselines`` score (name -> Series over the same customers; higher = more likely down);
    ``by_tier`` the same per period-1 tier (AUC where both outcomes occur); ``by_decile`` the realised
    rate of moving down per decile of ``down_score`` (10 = the customers forecast to fall furthest).
    """
    from sklearn.metrics import roc_auc_score

    after = tiers_after.reindex(forecast.index).astype(object).fillna(INACTIVE)
    after = pd.Categorical(after, categories=forecast["tier_before"].cat.categories)
    frame = forecast.assign(tier_after=after)
    frame["moved_down"] = np.asarray(pd.Series(after).cat.codes) > _tier_rank(frame["tier_before"])
    baselines = {k: v.reindex(frame.index).astype(float) for k, v in (baselines or {}).items()}

    def scores(part: pd.DataFrame) -> dict:
        y = part["moved_down"].to_numpy()
        both = 0 < y.sum() < len(y)
        hit = part["forecast_down"].to_numpy()
        row = {"customers": len(part), "moved_down_rate": float(y.mean()),
               "forecast_down_rate": float(hit.mean()),
               "auc": float(roc_auc_score(y, part["down_score"])) if both else np.nan,
               "precision": float(y[hit].mean()) if hit.any() else np.nan,
               "recall": float(hit[y].mean()) if y.any() else np.nan}
        for name, base in baselines.items():
            row[f"auc_{name}"] = float(roc_auc_score(y, base.loc[part.index])) if both else np.nan
        return row

    overall = scores(frame)
    by_tier = pd.DataFrame([{"tier": str(t), **scores(g)} for t, g in frame.groupby("tier_before", observed=True)])
    groups = min(10, len(frame))
    decile = pd.qcut(frame["down_score"].rank(method="first"), q=groups, labels=False) + 1
    by_decile = frame.groupby(decile)["moved_down"].agg(customers="size", moved_down_rate="mean")
    by_decile.index.name = "score_decile"  # 1 = lowest down_score (safest), 10 = highest
    return {"overall": overall, "by_tier": by_tier, "by_decile": by_decile.reset_index(), "frame": frame}
