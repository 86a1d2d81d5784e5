"""RFM (recency, frequency, monetary) analysis, the eight value classes, ABC / Pareto analysis.

Hughes (1994), *Strategic Database Marketing*: a customer who bought recently, often and for
much is the most likely to buy again. We compute the three measures from a transaction log at
a reference date, score them in quintiles, split customers into the eight value classes of
the seeds' bank case (each measure high/low against its mean), and draw the ABC (Pareto) curve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.data.schema import DataValidationError, require_columns

#: (R high, F high, M high) -> value class. "R high" means *recent*: recency (days since the
#: last purchase) below the mean. The rule table of the eight classes:
#:
#: ===  ===  ===  =======================
#:  R    F    M   class
#: ===  ===  ===  =======================
#:  H    H    H   important-value
#:  H    L    H   important-development
#:  L    H    H   important-retention
#:  L    L    H   important-recall
#:  H    H    L   general-value
#:  H    L    L   general-development
#:  L    H    L   general-retention
#:  L    L    L   general-recall
#: ===  ===  ===  =======================
VALUE_CLASSES = {
    (True, True, True): "important-value",
    (True, False, True): "important-development",
    (False, True, True): "important-retention",
    (False, False, True): "important-recall",
    (True, True, False): "general-value",
    (True, False, False): "general-development",
    (False, True, False): "general-retention",
    (False, False, False): "general-recall",
}
VALUE_CLASS_ORDER = list(VALUE_CLASSES.values())


def validate_log(transactions: pd.DataFrame, *, customer: str = "customer", date: str = "date",
                 amount: str = "amount", source: str = "transaction log") -> pd.DataFrame:
    """Return a copy of the log with parsed dates and float amounts, or raise naming the problem."""
    if transactions is None or len(transactions) == 0:
        raise DataValidationError(f"{source}: no transactions; pass a frame with one row per purchase.")
    require_columns(transactions, (customer, date, amount), source=source)
    out = transactions[[customer, date, amount]].copy()
    if out[customer].isna().any():
        raise DataValidationError(f"{source}: {int(out[customer].isna().sum())} row(s) without a customer id.")
    if not pd.api.types.is_datetime64_any_dtype(out[date]):
        parsed = pd.to_datetime(out[date], format="mixed", errors="coerce")
        if parsed.isna().any():
            raise DataValidationError(
                f"{source}: unreadable date {out.loc[parsed.isna(), date].iloc[0]!r}; use ISO dates (YYYY-MM-DD)."
            )
        out[date] = parsed
    amounts = pd.to_numeric(out[amount], errors="coerce")
    if amounts.isna().any() or (amounts < 0).any():
        raise DataValidationError(f"{source}: column {amount!r} must hold non-negative numbers (net returns first).")
    out[amount] = amounts.astype(float)
    return out.rename(columns={customer: "customer", date: "date", amount: "amount"})


def rfm_table(transactions: pd.DataFrame, *, reference_date=None, customer: str = "customer",
              date: str = "date", amount: str = "amount") -> pd.DataFrame:
    """Return one row per customer: recency, frequency, monetary, tenure (indexed by customer).

    - ``recency``: days from the last purchase to ``reference_date``;
    - ``frequency``: number of distinct purchase days (same-day purchases are one visit);
    - ``monetary``: total spend; ``avg_order``: monetary / frequency;
    - ``tenure``: days from the first purchase to ``reference_date``.

    ``reference_date`` defaults to the day after the last purchase in the log; purchases after
    it are ignored, so the table describes what was known on that date.
    """
    log = validate_log(transactions, customer=customer, date=date, amount=amount)
    ref = log["date"].max().normalize() + pd.Timedelta(days=1) if reference_date is None else pd.Timestamp(reference_date)
    log = log[log["date"] < ref]
    if log.empty:
        raise DataValidationError(f"rfm_table: no purchase before the reference date {ref.date()}.")
    log = log.assign(day=log["date"].dt.normalize())
    g = log.groupby("customer")
    out = pd.DataFrame({
        "recency": (ref - g["day"].max()).dt.days,
        "frequency": g["day"].nunique(),
        "monetary": g["amount"].sum(),
        "tenure": (ref - g["day"].min()).dt.days,
    })
    out["avg_order"] = out["monetary"] / out["frequency"]
    out.attrs["reference_date"] = str(ref.date())
    return out


def quintile_scores(values: pd.Series, *, n_bins: int = 5, ascending: bool = True) -> pd.Series:
    """Return scores 1..n_bins from equal-count bins of ``values`` (ties broken by order of appearance).

    ``ascending=False`` gives the highest score to the smallest values (as for recency).
    """
    ranks = values.rank(method="first", ascending=ascending)
    bins = np.ceil(ranks.to_numpy() * n_bins / len(values)).astype(int)
    return pd.Series(np.clip(bins, 1, n_bins), index=values.index, name=f"{values.name}_score")


def rfm_scores(rfm: pd.DataFrame, *, n_bins: int = 5) -> pd.DataFrame:
    """Return ``rfm`` with R, F, M quintile scores (5 = best), their sum and the cell code "RFM".

    R is scored on recency reversed (most recent = 5); F on frequency; M on monetary.
    """
    out = rfm.copy()
    out["R"] = quintile_scores(rfm["recency"], n_bins=n_bins, ascending=False).to_numpy()
    out["F"] = quintile_scores(rfm["frequency"], n_bins=n_bins).to_numpy()
    out["M"] = quintile_scores(rfm["monetary"], n_bins=n_bins).to_numpy()
    out["RFM_sum"] = out[["R", "F", "M"]].sum(axis=1)
    out["RFM_cell"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
    return out


def value_classes(rfm: pd.DataFrame) -> pd.Series:
    """Return each customer's value class from the rule table ``VALUE_CLASSES``.

    R is high when recency < mean recency; F high when frequency > mean; M high when
    monetary > mean (the bank-case convention of comparing each measure with its average).
    """
    r_high = rfm["recency"] < rfm["recency"].mean()
    f_high = rfm["frequency"] > rfm["frequency"].mean()
    m_high = rfm["monetary"] > rfm["monetary"].mean()
    keys = zip(r_high, f_high, m_high)
    labels = [VALUE_CLASSES[(bool(r), bool(f), bool(m))] for r, f, m in keys]
    return pd.Series(pd.Categorical(labels, categories=VALUE_CLASS_ORDER), index=rfm.index, name="value_class")


def class_summary(rfm: pd.DataFrame, classes: pd.Series) -> pd.DataFrame:
    """Return per value class: customers, share of customers, mean R/F/M, revenue share."""
    df = rfm.assign(value_class=classes)
    out = df.groupby("value_class", observed=False).agg(
        customers=("monetary", "size"), recency=("recency", "mean"),
        frequency=("frequency", "mean"), monetary=("monetary", "mean"), revenue=("monetary", "sum"))
    out["customer_share"] = out["customers"] / out["customers"].sum()
    out["revenue_share"] = out["revenue"] / out["revenue"].sum()
    return out.reset_index()


def pareto_curve(values: pd.Series) -> pd.DataFrame:
    """Return the Pareto (Lorenz-type) curve: customer share vs cumulative revenue share.

    Customers are sorted by value, largest first; row i gives the share of customers
    ``(i+1)/n`` and the share of revenue they bring ``sum_{j<=i} v_(j) / sum v``.
    The curve starts at (0, 0) and ends at (1, 1).
    """
    v = np.sort(np.asarray(values, dtype=float))[::-1]
    total = v.sum()
    if total <= 0:
        raise DataValidationError("pareto_curve: total value is zero; nothing to rank.")
    n = len(v)
    return pd.DataFrame({
        "customer_share": np.concatenate([[0.0], np.arange(1, n + 1) / n]),
        "revenue_share": np.concatenate([[0.0], np.cumsum(v) / total]),
    })


def revenue_share_of_top(values: pd.Series, frac: float = 0.2) -> float:
    """Return the share of revenue brought by the top ``frac`` of customers (the "80/20" number)."""
    curve = pareto_curve(values)
    return float(np.interp(frac, curve["customer_share"], curve["revenue_share"]))


def abc_classes(values: pd.Series, *, a: float = 0.8, b: float = 0.95) -> pd.Series:
    """Return ABC classes: A = customers making the first ``a`` of revenue (largest first),
    B = up to ``b``, C = the rest. A customer is in A if the cumulative share *before* it is < a.
    """
    order = values.sort_values(ascending=False, kind="stable")
    cum_before = (order.cumsum() - order) / order.sum()
    labels = np.where(cum_before < a, "A", np.where(cum_before < b, "B", "C"))
    return pd.Series(labels, index=order.index, name="abc").reindex(values.index)
