"""Evaluation: ranking, rating and beyond-accuracy metrics, their metadata, and statistics.

Each metric is a pure function (``ranking``, ``rating``, ``beyond``); ``METRICS`` maps the
project's metric names to a ``Metric`` record that carries its label and direction
, so result tables name themselves and tuning knows what to maximise.

Calling conventions by kind:
- ``ranking``: ``fn(recs, truth, k, **extra) -> Series per user``;
- ``rating``: ``fn(truth, pred) -> float``;
- ``beyond``: ``fn(recs, **extra, k=k) -> Series per user`` or ``float``;
``Metric.requires`` names the extra keyword arguments (``n_items``, ``item_features``,
``item_popularity``, ``n_users``, ``seen``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from recsys_study.evaluation.beyond import (
    average_recommendation_popularity,
    catalog_coverage,
    genre_features,
    gini_exposure,
    intra_list_diversity,
    new_item_reach,
    novelty,
    personalization,
)
from recsys_study.evaluation.ranking import (
    auc,
    auc_at_k,
    hit_rate_at_k,
    map_at_k,
    map_ir_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    serendipity_at_k,
)
from recsys_study.evaluation.rating import mae, per_user_rating_errors, rmse

KINDS = ("ranking", "rating", "beyond")


@dataclass(frozen=True)
class Metric:
    """A metric function with its registry name, display name, kind and direction."""

    name: str
    kind: str
    higher_is_better: bool
    fn: Callable
    display: str
    requires: tuple[str, ...] = ()
    per_user: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Metric {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}.")

    def label(self, k: int | None = None) -> str:
        """Return the table label, e.g. ``NDCG@10`` for a list metric at k, ``RMSE`` for ratings."""
        if k is None or self.kind == "rating":
            return self.display
        return f"{self.display}@{k}"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("precision", "ranking", True, precision_at_k, "Precision"),
        Metric("recall", "ranking", True, recall_at_k, "Recall"),
        Metric("ndcg", "ranking", True, ndcg_at_k, "NDCG"),
        Metric("map", "ranking", True, map_at_k, "MAP"),
        Metric("map_ir", "ranking", True, map_ir_at_k, "MAP-IR"),
        Metric("mrr", "ranking", True, mrr_at_k, "MRR"),
        Metric("hit_rate", "ranking", True, hit_rate_at_k, "HitRate"),
        Metric("auc", "ranking", True, auc_at_k, "AUC", requires=("n_items",)),
        Metric("serendipity", "ranking", True, serendipity_at_k, "Serendipity", requires=("item_popularity", "seen")),
        Metric("rmse", "rating", False, rmse, "RMSE", per_user=False),
        Metric("mae", "rating", False, mae, "MAE", per_user=False),
        Metric("coverage", "beyond", True, catalog_coverage, "Coverage", requires=("n_items",),
               per_user=False),
        Metric("gini", "beyond", False, gini_exposure, "Gini", requires=("n_items",), per_user=False),
        Metric("diversity", "beyond", True, intra_list_diversity, "ILD", requires=("item_features",)),
        Metric("novelty", "beyond", True, novelty, "Novelty", requires=("item_popularity", "n_users")),
        Metric("personalization", "beyond", True, personalization, "Personalization", per_user=False),
        Metric("arp", "beyond", False, average_recommendation_popularity, "ARP", requires=("item_popularity",)),
    )
}


def get_metric(name: str) -> Metric:
    """Return the ``Metric`` registered under ``name`` (case-insensitive)."""
    key = str(name).strip().lower()
    if key not in METRICS:
        raise KeyError(f"unknown metric {name!r}; valid names: {', '.join(METRICS)}.")
    return METRICS[key]


__all__ = [
    "KINDS", "METRICS", "Metric", "get_metric",
    "precision_at_k", "recall_at_k", "serendipity_at_k", "ndcg_at_k", "map_at_k", "map_ir_at_k", "ranking_metrics", "mrr_at_k", "hit_rate_at_k",
    "auc", "auc_at_k", "rmse", "mae", "per_user_rating_errors",
    "average_recommendation_popularity", "catalog_coverage", "gini_exposure", "intra_list_diversity",
    "new_item_reach", "novelty", "personalization",
    "genre_features",
]
