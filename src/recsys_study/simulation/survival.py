"""Kaplan–Meier survival with Greenwood confidence intervals (lifelines is not a dependency).

For distinct event times t_1 < t_2 < ... with d_j events among n_j at risk (still under observation
just before t_j), ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)`` (Kaplan & Meier 1958). Greenwood's
variance ``Var[log S(t)] = sum_{t_j <= t} d_j / (n_j (n_j - d_j))`` (Greenwood 1926); the interval
is the log(-log) ("exponential Greenwood") one, which stays inside [0, 1]:
``S(t) ** exp(+-z sigma(t) / log S(t))`` with ``sigma(t)^2 = Var[log S] / (log S)^2``
(Kalbfleisch & Prentice 2002, sec. 1.4; the default of lifelines and of R's survival package,
``conf.type = "log-log"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm


def kaplan_meier(durations, observed, *, alpha: float = 0.05) -> pd.DataFrame:
    """Return ``time, at_risk, events, censored, survival, lower, upper`` at each distinct time.

    ``durations``: time to the event or to censoring; ``observed``: True where the event happened.
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(observed, dtype=bool)
    if t.shape != e.shape or t.ndim != 1 or len(t) == 0:
        raise ValueError("durations and observed must be two 1-d arrays of the same, non-zero length.")
    if (t < 0).any() or np.isnan(t).any():
        raise ValueError("durations must be non-negative numbers.")
    times = np.unique(t)
    events = np.array([np.sum(e & (t == x)) for x in times])
    removed = np.array([np.sum(t == x) for x in times])
    at_risk = len(t) - np.concatenate([[0], np.cumsum(removed)[:-1]])
    factor = 1.0 - events / at_risk
    surv = np.cumprod(factor)
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(np.where(at_risk > events, events / (at_risk * (at_risk - events)), np.inf))
        z = norm.ppf(1 - alpha / 2)
        log_s = np.log(surv)
        sigma = np.sqrt(green) / np.abs(log_s)
        lower = surv ** np.exp(z * sigma)
        upper = surv ** np.exp(-z * sigma)
    # no event yet: S = 1 with no uncertainty; S = 0: the interval collapses to 0
    lower = np.where(green == 0, 1.0, np.where(surv == 0, 0.0, lower))
    upper = np.where(green == 0, 1.0, np.where(surv == 0, 0.0, upper))
    return pd.DataFrame({"time": times, "at_risk": at_risk, "events": events, "censored": removed - events,
                         "survival": surv, "lower": lower, "upper": upper})


def survival_at(table: pd.DataFrame, time: float) -> float:
    """Return the Kaplan–Meier estimate at ``time`` (a step function, right-continuous)."""
    before = table[table["time"] <= time]
    return 1.0 if before.empty else float(before["survival"].iloc[-1])
