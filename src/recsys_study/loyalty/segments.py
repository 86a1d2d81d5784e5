"""Customer segmentation on RFM: k-means with k chosen by silhouette, a tree that explains the
clusters in plain rules, and the customer life-cycle stage.

k-means: MacQueen (1967); silhouette: Rousseeuw (1987),
``s(i) = (b(i) - a(i)) / max(a(i), b(i))`` with a(i) the mean distance to the own cluster and
b(i) the mean distance to the nearest other cluster; the k with the largest mean s is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, export_text
from threadpoolctl import threadpool_limits

RFM_FEATURES = ("recency", "frequency", "monetary")

#: Life-cycle thresholds in days (documented defaults; all are parameters of ``lifecycle_stage``).
#: new: first purchase less than ``new_days`` ago; lapsed: no purchase for ``lapsed_days`` or more;
#: at risk: no purchase for ``at_risk_days`` or more (but less than ``lapsed_days``); active otherwise.
LIFECYCLE_DEFAULTS = {"new_days": 90, "at_risk_days": 180, "lapsed_days": 365}
LIFECYCLE_ORDER = ["new", "active", "at risk", "lapsed"]


@dataclass
class Segmentation:
    """Result of ``kmeans_segments``: labels per customer, silhouette per k, cluster profiles."""

    labels: pd.Series
    k: int
    silhouette: pd.DataFrame
    profiles: pd.DataFrame


def standardised_rfm(rfm: pd.DataFrame, *, log: bool = True) -> np.ndarray:
    """Return z-scores of recency, frequency, monetary (after log1p when ``log``; RFM is heavy-tailed)."""
    x = rfm[list(RFM_FEATURES)].to_numpy(dtype=float)
    if log:
        x = np.log1p(x)
    return StandardScaler().fit_transform(x)


def kmeans_segments(rfm: pd.DataFrame, *, k_range=range(2, 9), seed: int = 42, log: bool = True,
                    silhouette_sample: int | None = 3000) -> Segmentation:
    """Return the k-means segmentation of standardised RFM with k maximising the mean silhouette.

    ``silhouette_sample`` caps the customers used to compute the silhouette (seeded) so that
    the choice stays fast on tens of thousands of customers; None uses all.
    """
    x = standardised_rfm(rfm, log=log)
    rows, fits = [], {}
    sample = None if silhouette_sample is None or silhouette_sample >= len(x) else silhouette_sample
    # one thread: k-means' OpenMP pool is many times slower on a busy shared machine, not faster
    with threadpool_limits(1):
        for k in k_range:
            model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
            score = silhouette_score(x, model.labels_, sample_size=sample, random_state=seed)
            rows.append({"k": k, "silhouette": float(score), "inertia": float(model.inertia_)})
            fits[k] = model
    table = pd.DataFrame(rows)
    best = int(table.loc[table["silhouette"].idxmax(), "k"])
    labels = _order_by_value(rfm, fits[best].labels_)
    profiles = rfm[list(RFM_FEATURES)].assign(segment=labels).groupby("segment").agg(
        customers=("monetary", "size"), recency=("recency", "mean"),
        frequency=("frequency", "mean"), monetary=("monetary", "mean"))
    profiles["revenue_share"] = profiles["customers"] * profiles["monetary"] / rfm["monetary"].sum()
    return Segmentation(pd.Series(labels, index=rfm.index, name="segment"), best, table, profiles.reset_index())


def _order_by_value(rfm: pd.DataFrame, labels: np.ndarray) -> np.ndarray:
    # renumber clusters 0..k-1 by decreasing mean monetary value, so segment 0 is the most valuable
    means = pd.Series(rfm["monetary"].to_numpy()).groupby(labels).mean().sort_values(ascending=False)
    mapping = {old: new for new, old in enumerate(means.index)}
    return np.array([mapping[x] for x in labels])


def explain_segments(rfm: pd.DataFrame, labels: pd.Series, *, max_depth: int = 3,
                     seed: int = 42) -> tuple[str, float]:
    """Return (rules, fidelity): a shallow decision tree's rules on raw R/F/M that reproduce the
    segments, and the share of customers whose segment the rules get right."""
    x = rfm[list(RFM_FEATURES)]
    tree = DecisionTreeClassifier(max_depth=max_depth, random_state=seed).fit(x, labels)
    rules = export_text(tree, feature_names=list(RFM_FEATURES), decimals=1)
    return rules, float(tree.score(x, labels))


def lifecycle_stage(rfm: pd.DataFrame, *, new_days: int = LIFECYCLE_DEFAULTS["new_days"],
                    at_risk_days: int = LIFECYCLE_DEFAULTS["at_risk_days"],
                    lapsed_days: int = LIFECYCLE_DEFAULTS["lapsed_days"]) -> pd.Series:
    """Return each customer's life-cycle stage from ``tenure`` and ``recency`` (days).

    Rules, first match wins: recency >= lapsed_days -> lapsed; recency >= at_risk_days -> at risk;
    tenure < new_days -> new; otherwise active.
    """
    if not 0 < at_risk_days < lapsed_days:
        raise ValueError(f"need 0 < at_risk_days < lapsed_days, got {at_risk_days} and {lapsed_days}.")
    stage = np.select(
        [rfm["recency"] >= lapsed_days, rfm["recency"] >= at_risk_days, rfm["tenure"] < new_days],
        ["lapsed", "at risk", "new"], default="active")
    return pd.Series(pd.Categorical(stage, categories=LIFECYCLE_ORDER), index=rfm.index, name="stage")
