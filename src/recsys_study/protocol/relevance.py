"""What counts as relevant, and which items the catalogue-level metrics count: chosen once per study.

A :class:`RelevancePolicy` turns a split's test (or validation) part into the relevant
``(user, item)`` pairs that every ranking metric of a comparison is scored against, and names
itself, so that every result frame, figure caption and MLflow run can state it. The item
universe of catalogue-level metrics (coverage, Gini, AUC) is :func:`catalogue`: the split's
catalogue, the same for every model whatever items it can recommend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from recsys_study.constants import ITEM, RATING, USER


class ProtocolError(ValueError):
    """A metric or relevance rule that cannot be computed on the data given; the message names the fix."""


@dataclass(frozen=True)
class RelevancePolicy:
    """The relevance rule of a study: which held-out interactions count as relevant.

    threshold : None counts every held-out interaction as relevant (implicit-feedback
        convention); a number keeps those rated at least that much (e.g. 4.0 on a 1-5 scale).
    keep_cold_items : also count held-out items that never occur in training as relevant. No
        model can recommend them, so recall and NDCG drop; published MovieLens tables (e.g.
        Microsoft Recommenders' benchmark) are computed this way, so a like-for-like figure
        needs it. By default they are left out (the splitter drops them).
    """

    threshold: float | None = None
    keep_cold_items: bool = False

    def __post_init__(self) -> None:
        if self.threshold is not None:
            if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) \
                    or not math.isfinite(self.threshold):
                raise ProtocolError(f"relevance threshold must be a finite number or None, got {self.threshold!r}.")

    @classmethod
    def coerce(cls, value) -> RelevancePolicy:
        """Return a policy from a policy, None (every item relevant), a number (a threshold) or a dict."""
        if isinstance(value, cls):
            return value
        if value is None or value == "all":
            return cls()
        if isinstance(value, dict):
            return cls(**value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(float(value))
        raise ProtocolError(f"cannot read a relevance policy from {value!r}; pass None, a rating threshold "
                            "such as 4.0, or RelevancePolicy(threshold=..., keep_cold_items=...).")

    @property
    def name(self) -> str:
        """Return the rule in words, e.g. ``rating >= 4`` or ``every test item``."""
        base = "every test item" if self.threshold is None else f"rating >= {self.threshold:g}"
        return base + (", unseen items kept" if self.keep_cold_items else "")

    def params(self) -> dict:
        """Return the rule as MLflow parameters."""
        return {"relevance": self.name, "relevance_threshold": self.threshold,
                "relevance_keep_cold_items": self.keep_cold_items}

    def truth(self, held_out: pd.DataFrame, *, cold_items: pd.DataFrame | None = None,
              part: str = "test") -> pd.DataFrame:
        """Return the distinct relevant ``user, item`` pairs of a held-out part (and its cold items)."""
        frames = [held_out]
        if self.keep_cold_items and cold_items is not None and len(cold_items):
            frames.append(cold_items)
        rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else held_out
        if self.threshold is not None:
            if RATING not in rows.columns:
                raise ProtocolError(f"the relevance rule '{self.name}' needs a 'rating' column in the {part} "
                                    "part; use RelevancePolicy(threshold=None) for implicit feedback.")
            kept = rows[rows[RATING] >= self.threshold]
        else:
            kept = rows
        if kept.empty:
            scale = ""
            if RATING in rows.columns and len(rows):
                scale = f" (its ratings run from {rows[RATING].min():g} to {rows[RATING].max():g})"
            raise ProtocolError(f"no {part} interaction is relevant under '{self.name}'{scale}, so no metric "
                                "can be averaged over users; lower the threshold or pass None.")
        return kept[[USER, ITEM]].drop_duplicates().reset_index(drop=True)


def catalogue(split, items: pd.DataFrame | None = None) -> pd.Index:
    """Return the item universe of a split: its items frame (when given), train, test and cold test items."""
    parts = [split.train[ITEM], split.test[ITEM]]
    if getattr(split, "test_cold_items", None) is not None:
        parts.append(split.test_cold_items[ITEM])
    if items is not None:
        parts.append(items[ITEM])
    return pd.Index(pd.unique(pd.concat(parts, ignore_index=True)), name=ITEM)
