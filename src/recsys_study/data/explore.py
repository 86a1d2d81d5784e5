"""Descriptive statistics of an interactions frame (notebook 00)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.constants import GENRES, ITEM, RATING, TIMESTAMP, USER
from recsys_study.summary import gini as _gini


def gini(values) -> float:
    """Return the Gini index of rating counts (``summary.gini``; 0.0 when there are none)."""
    return _gini(values, undefined=0.0)


def long_tail_summary(interactions: pd.DataFrame, *, head_frac: float = 0.2) -> dict:
    """Return how concentrated the ratings are on popular items.

    ``head_share``: share of all ratings that fall on the ``head_frac`` most rated items;
    ``gini_items`` / ``gini_users``: Gini index of ratings per item / per user;
    ``single_rating_items``: share of items rated once.
    """
    per_item = interactions[ITEM].value_counts()
    per_user = interactions[USER].value_counts()
    n_head = max(1, round(head_frac * len(per_item)))
    return {
        "head_frac": head_frac,
        "head_share": float(per_item.iloc[:n_head].sum() / per_item.sum()),
        "gini_items": gini(per_item.to_numpy()),
        "gini_users": gini(per_user.to_numpy()),
        "single_rating_items": float((per_item == 1).mean()),
        "median_ratings_per_user": float(per_user.median()),
        "median_ratings_per_item": float(per_item.median()),
    }


def rating_summary(interactions: pd.DataFrame) -> pd.DataFrame:
    """Return the count and share of each rating value."""
    counts = interactions[RATING].value_counts().sort_index()
    return pd.DataFrame({RATING: counts.index, "count": counts.to_numpy(),
                         "share": (counts / counts.sum()).to_numpy()})


def genre_counts(interactions: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Return, per genre, the number of movies and of ratings, sorted by ratings."""
    exploded = items[[ITEM, GENRES]].explode(GENRES).dropna()
    movies = exploded[GENRES].value_counts()
    ratings = interactions[[ITEM]].merge(exploded, on=ITEM)[GENRES].value_counts()
    out = pd.DataFrame({"movies": movies, "ratings": ratings}).fillna(0).astype(int)
    return out.sort_values("ratings", ascending=False).rename_axis("genre").reset_index()


def ratings_per_year(interactions: pd.DataFrame) -> pd.DataFrame:
    """Return the number of ratings and the mean rating per calendar year of the timestamp."""
    ts = interactions[TIMESTAMP]
    when = pd.to_datetime(ts, unit="s") if np.issubdtype(ts.dtype, np.number) else pd.to_datetime(ts)
    grouped = interactions.groupby(when.dt.year.rename("year"))
    return grouped[RATING].agg(ratings="size", mean_rating="mean").reset_index()
