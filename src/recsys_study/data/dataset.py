"""The one canonical data type passed between loaders, splitters and models."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


def frame_fingerprint(df: pd.DataFrame) -> str:
    """Return a 16-hex-digit content hash of a frame (values, column names and order).

    List-valued cells (genres) are hashed through their string form.
    """
    h = hashlib.sha256()
    h.update("|".join(map(str, df.columns)).encode())
    hashable = df.copy()
    for col in hashable.columns:
        if hashable[col].dtype == object and len(hashable) and isinstance(hashable[col].iloc[0], (list, tuple, np.ndarray)):
            hashable[col] = hashable[col].map(lambda v: "|".join(map(str, v)))
    h.update(pd.util.hash_pandas_object(hashable, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass
class Dataset:
    """Interactions (and optionally items) of one data source, validated.

    Attributes
    ----------
    name : str
        Short name of the source, e.g. ``"movielens"``.
    interactions : DataFrame
        Columns ``user, item, rating, timestamp`` (the interactions contract of docs/architecture.md).
    items : DataFrame or None
        Columns ``item, title, genres, year`` plus side features.
    rating_scale : tuple or None
        The declared rating scale, ``None`` for implicit feedback.
    users : DataFrame or None
        One row per user: ``user`` (the ids of ``interactions``) plus side features, e.g.
        ``age, gender, occupation, zip`` for MovieLens 100k; ``None`` when the source has none.
        Pass it to ``Recommender.fit(..., users=dataset.users)`` for demographic models.
    """

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame | None = None
    rating_scale: tuple[float, float] | None = (0.5, 5.0)
    meta: dict = field(default_factory=dict)
    users: pd.DataFrame | None = None

    @property
    def fingerprint(self) -> str:
        """Content hash of the interactions (and items, and users), logged with every MLflow run."""
        parts = [frame_fingerprint(self.interactions)]
        if self.items is not None:
            parts.append(frame_fingerprint(self.items))
        if self.users is not None:  # sources without users keep the fingerprints they always had
            parts.append(frame_fingerprint(self.users))
        return hashlib.sha256("-".join(parts).encode()).hexdigest()[:16]

    def describe(self) -> dict:
        """Return headline counts: users, items, interactions, density."""
        n_users = self.interactions["user"].nunique()
        n_items = self.interactions["item"].nunique()
        n = len(self.interactions)
        return {
            "dataset": self.name,
            "n_users": int(n_users),
            "n_items": int(n_items),
            "n_interactions": int(n),
            "density": n / (n_users * n_items) if n_users and n_items else 0.0,
        }
