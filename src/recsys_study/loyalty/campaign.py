"""Targeting measures for a campaign that contacts the customers with the highest scores.

Shared by churn (retention campaign) and cross-sell (offer campaign). All are pure functions of
labels y in {0,1} and scores p; customers are ranked by p, largest first (ties by position).

- Cumulative gains (Berry & Linoff, *Data Mining Techniques*): share of all positives found in
  the top q of customers, ``G(q) = sum_{i <= qn} y_(i) / sum y``.
- Lift of decile d: ``rate_d / rate_all``, with rate the share of positives.
- Profit of contacting the top q: ``value * take_rate * sum_{i <= qn} y_(i) - cost * qn``.
- Expected response (uplift-free): a contacted customer responds with probability p_i, so the
  expected number of responders among the top q is ``sum_{i <= qn} p_(i)``.

These measures rank by the propensity to respond, not by the campaign's effect on the response;
with a randomised campaign (a control group), ``loyalty.uplift`` ranks by the effect and judges
rankings by Qini and uplift curves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve


def _ranked(y, p) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    return y[order], p[order]


def cumulative_gains(y, p, *, points: int = 100) -> pd.DataFrame:
    """Return the gains curve at ``points`` evenly spaced contact shares (plus 0)."""
    ys, _ = _ranked(y, p)
    n = len(ys)
    share = np.linspace(0, 1, points + 1)
    counts = np.round(share * n).astype(int)
    captured = np.concatenate([[0.0], np.cumsum(ys)])[counts] / ys.sum()
    return pd.DataFrame({"contacted_share": share, "positives_captured": captured,
                         "lift": np.where(share > 0, captured / np.where(share > 0, share, 1), np.nan)})


def decile_table(y, p, *, n_bins: int = 10) -> pd.DataFrame:
    """Return per score decile (1 = highest scores): customers, positives, rate, mean score, lift,
    cumulative capture. Decile sizes differ by at most one."""
    ys, ps = _ranked(y, p)
    n = len(ys)
    decile = np.floor(np.arange(n) * n_bins / n).astype(int) + 1
    df = pd.DataFrame({"decile": decile, "y": ys, "p": ps})
    out = df.groupby("decile").agg(customers=("y", "size"), positives=("y", "sum"), rate=("y", "mean"),
                                   mean_score=("p", "mean"))
    out["lift"] = out["rate"] / ys.mean()
    out["cumulative_capture"] = out["positives"].cumsum() / ys.sum()
    out["cumulative_lift"] = out["cumulative_capture"] / (out["customers"].cumsum() / n)
    return out.reset_index()


def profit_curve(y, p, *, contact_cost: float, value: float, take_rate: float = 1.0,
                 points: int = 100) -> pd.DataFrame:
    """Return campaign profit when the top q of customers are contacted, for q on a grid.

    ``value``: what one positive who accepts is worth (e.g. the margin kept by retaining a
    churner); ``take_rate``: share of contacted positives who accept; ``contact_cost`` per contact.
    """
    ys, _ = _ranked(y, p)
    n = len(ys)
    share = np.linspace(0, 1, points + 1)
    counts = np.round(share * n).astype(int)
    hits = np.concatenate([[0.0], np.cumsum(ys)])[counts]
    profit = value * take_rate * hits - contact_cost * counts
    return pd.DataFrame({"contacted_share": share, "contacted": counts, "positives": hits, "profit": profit})


def best_targeting(curve: pd.DataFrame) -> dict[str, float]:
    """Return the contact share with the largest profit, that profit, and the profit of contacting all."""
    best = curve.loc[curve["profit"].idxmax()]
    return {"best_share": float(best["contacted_share"]), "best_profit": float(best["profit"]),
            "profit_all": float(curve["profit"].iloc[-1])}


def expected_response(p, *, top_share: float, contact_cost: float, value: float) -> dict[str, float]:
    """Return the expected responders and profit of contacting the top ``top_share`` by score,
    against contacting the same number of customers at random (expected ``n * mean p``)."""
    ps = np.sort(np.asarray(p, dtype=float))[::-1]
    n = int(round(top_share * len(ps)))
    targeted = float(ps[:n].sum())
    random = float(n * ps.mean())
    return {"contacted": n, "expected_responders": targeted, "random_responders": random,
            "expected_profit": value * targeted - contact_cost * n,
            "random_profit": value * random - contact_cost * n,
            "lift": targeted / random if random > 0 else float("nan")}


def calibration_table(y, p, *, n_bins: int = 10) -> pd.DataFrame:
    """Return the reliability diagram (quantile bins): mean predicted vs observed positive rate."""
    observed, predicted = calibration_curve(np.asarray(y), np.asarray(p), n_bins=n_bins, strategy="quantile")
    return pd.DataFrame({"predicted": predicted, "observed": observed})
