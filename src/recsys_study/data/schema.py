"""Column contracts and validation for the frames that enter the package.

Errors are raised here, where data enters, and name both the problem and the fix;
code downstream trusts validated frames and does not check them again.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from recsys_study.constants import GENRES, ITEM, RATING, TIMESTAMP, TITLE, USER

INTERACTION_COLUMNS = (USER, ITEM, RATING, TIMESTAMP)
ITEM_COLUMNS = (ITEM, TITLE, GENRES)
DUPLICATE_POLICIES = ("error", "last")


class DataValidationError(ValueError):
    """Raised when an input frame breaks its contract; the message says how to fix it."""


def example_row(df: pd.DataFrame, mask, columns) -> dict:
    """Return the first row of ``df[mask]`` as ``{column: value}`` with plain Python values (ids stay ints)."""
    first = {c: df.loc[mask, c].iloc[0] for c in columns}  # column by column: a row Series would upcast ids
    return {c: (v.item() if hasattr(v, "item") else v) for c, v in first.items()}


def require_columns(df: pd.DataFrame, required: Iterable[str], *, source: str) -> None:
    """Raise DataValidationError naming every required column that ``df`` lacks."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{source}: missing column(s) {missing}; found {list(df.columns)}. "
            f"Rename your columns to {list(required)} or pass a column mapping."
        )


def numeric_column(values: pd.Series, *, source: str, what: str, fix: str) -> pd.Series:
    """Return ``values`` as numbers, or raise naming how many are not, the first one, its row and the fix.

    ``what`` describes the offence with ``{n}`` for the count, e.g. ``"indicator 'Q1' has {n}
    non-numeric answer(s)"``; missing values stay missing (their own checks decide about them).
    """
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() & values.notna()
    if bad.any():
        raise DataValidationError(f"{source}: {what.format(n=int(bad.sum()))}, e.g. {values[bad].iloc[0]!r} in row "
                                  f"{values.index[bad][0]!r}; {fix}")
    return numeric


def validate_interactions(
    df: pd.DataFrame,
    *,
    source: str = "interactions",
    rating_scale: tuple[float, float] | None = (0.5, 5.0),
    duplicates: str = "error",
    allow_extra: bool = False,
    require_rating: bool = True,
) -> pd.DataFrame:
    """Return a clean copy of an interactions frame in the interactions contract (docs/architecture.md).

    Checks, in order: non-empty; required columns present (``user``, ``item``, and
    ``rating`` when ``require_rating``); no columns outside the contract unless
    ``allow_extra``; no null ids; ratings numeric and inside ``rating_scale``;
    duplicate (user, item) pairs handled by ``duplicates``: "error" (the default) raises
    naming a pair, "last" merges them on request, keeping the latest by timestamp, then by
    row order, and records how many rows it dropped in ``out.attrs["duplicates_merged"]``.
    """
    if duplicates not in DUPLICATE_POLICIES:
        raise DataValidationError(
            f"{source}: unknown duplicates policy {duplicates!r}; use one of {DUPLICATE_POLICIES}."
        )
    if df is None or len(df) == 0:
        raise DataValidationError(f"{source}: the data is empty; check the path or the filter that produced it.")
    required = [USER, ITEM] + ([RATING] if require_rating else [])
    require_columns(df, required, source=source)
    extra = [c for c in df.columns if c not in INTERACTION_COLUMNS]
    if extra and not allow_extra:
        raise DataValidationError(
            f"{source}: unexpected column(s) {extra}; the contract is {list(INTERACTION_COLUMNS)}. "
            "Drop them, or pass allow_extra=True to keep side columns."
        )
    out = df.copy()
    for col in (USER, ITEM):
        n_null = int(out[col].isna().sum())
        if n_null:
            raise DataValidationError(
                f"{source}: {n_null} row(s) with a null {col!r} id; drop or fill them before loading."
            )
    if RATING in out.columns:
        rating = numeric_column(out[RATING], source=source, what="{n} non-numeric rating(s)",
                                fix="ratings must be numbers.")
        if rating.isna().any():
            raise DataValidationError(
                f"{source}: {int(rating.isna().sum())} missing rating(s); drop those rows or, for implicit "
                "feedback, drop the rating column and pass require_rating=False."
            )
        out[RATING] = rating.astype("float64")
        if rating_scale is not None:
            lo, hi = rating_scale
            outside = (rating < lo) | (rating > hi)
            if outside.any():
                example = example_row(out, outside, [USER, ITEM, RATING])
                raise DataValidationError(
                    f"{source}: {int(outside.sum())} value(s) of column {RATING!r} outside the declared scale "
                    f"[{lo}, {hi}], e.g. {example}; fix the data, or pass the data's own scale as "
                    "rating_scale=(low, high) (load_movielens and validate_interactions take it)."
                )
    if TIMESTAMP in out.columns and out[TIMESTAMP].isna().any():
        raise DataValidationError(f"{source}: {int(out[TIMESTAMP].isna().sum())} missing timestamp(s).")
    dup = out.duplicated([USER, ITEM], keep=False)
    n_merged = 0
    if dup.any():
        n_merged = int(out.duplicated([USER, ITEM]).sum())
        if duplicates == "error":
            pair = example_row(out, dup, [USER, ITEM])
            raise DataValidationError(
                f"{source}: {n_merged} duplicate (user, item) pair(s), e.g. {pair}; deduplicate them, or pass "
                "duplicates='last' to keep the latest rating of each pair."
            )
        order = [TIMESTAMP] if TIMESTAMP in out.columns else []
        out = (
            out.assign(_row=np.arange(len(out)))
            .sort_values(order + ["_row"], kind="stable")
            .drop_duplicates([USER, ITEM], keep="last")
            .sort_values("_row", kind="stable")
            .drop(columns="_row")
        )
    out = out.reset_index(drop=True)
    out.attrs["duplicates_merged"] = n_merged
    return out


def validate_items(df: pd.DataFrame, *, source: str = "items") -> pd.DataFrame:
    """Return a clean copy of an items frame: unique non-null ``item``, ``title``, ``genres`` as lists."""
    if df is None or len(df) == 0:
        raise DataValidationError(f"{source}: the items table is empty.")
    require_columns(df, ITEM_COLUMNS, source=source)
    out = df.copy()
    if out[ITEM].isna().any():
        raise DataValidationError(f"{source}: {int(out[ITEM].isna().sum())} item(s) with a null id.")
    if out[ITEM].duplicated().any():
        raise DataValidationError(
            f"{source}: {int(out[ITEM].duplicated().sum())} duplicate item id(s), e.g. "
            f"{out.loc[out[ITEM].duplicated(), ITEM].tolist()[0]!r}; each item must appear once."
        )
    out[GENRES] = out[GENRES].map(_as_genre_list)
    return out.reset_index(drop=True)


def _as_genre_list(value) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(g) for g in value]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    text = str(value)
    if text in ("", "(no genres listed)"):
        return []
    return [g for g in text.split("|") if g]
