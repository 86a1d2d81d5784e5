"""Column contracts and validation for the frames that enter the package.

Errors are raised here, where data enters, and name both the problem and the fix;
code downstream trusts validated frames and does not check them again.
:func:`validate_interactions` is the one check of an interactions frame: the loaders call it
on what they read, and ``Recommender.fit``, ``compare`` / ``evaluate`` and the splitters on
the frames a user gives them (``copy=False``: no copy of a frame that passes; a few
milliseconds on MovieLens 100k).
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Iterable

import numpy as np
import pandas as pd

from recsys_study.constants import GENRES, ITEM, RATING, TIMESTAMP, TITLE, USER

INTERACTION_COLUMNS = (USER, ITEM, RATING, TIMESTAMP)
ITEM_COLUMNS = (ITEM, TITLE, GENRES)
DUPLICATE_POLICIES = ("error", "last", "mean", "sum")

log = logging.getLogger(__name__)


class DataValidationError(ValueError):
    """Raised when an input frame breaks its contract; the message says how to fix it."""


def plain(value):
    """Return a numpy scalar as the Python value it holds (messages print 10, not np.int64(10))."""
    return value.item() if isinstance(value, np.generic) else value


def example_row(df: pd.DataFrame, mask, columns) -> dict:
    """Return the first row of ``df[mask]`` as ``{column: value}`` with plain Python values (ids stay ints)."""
    first = {c: df.loc[mask, c].iloc[0] for c in columns}  # column by column: a row Series would upcast ids
    return {c: plain(v) for c, v in first.items()}


def _first_row(df: pd.DataFrame, mask, columns: Iterable[str] = (USER, ITEM, RATING)) -> str:
    """Return ``"{column: value} (row <label>)"`` for the first row of ``df[mask]`` (``columns`` it has)."""
    mask = np.asarray(mask, dtype=bool)
    present = [c for c in columns if c in df.columns] or list(df.columns)[:4]
    return f"{example_row(df, mask, present)} (row {plain(df.index[mask][0])!r})"


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


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def check_id_types(df: pd.DataFrame, columns: Iterable[str] = (USER, ITEM), *, source: str,
                   numeric: bool = False) -> None:
    """Raise DataValidationError when an id column mixes numeric and non-numeric ids, naming a row.

    Ids are matched by value and type (10 and "10" are two items), so a column holding both
    numbers and text silently matches nothing it should. With ``numeric`` (a source whose ids
    are numbers, e.g. the GroupLens files) every id must be a number or a numeric string: one
    ``abc`` in a file that pandas therefore reads as text is refused, not turned into string ids
    that match no rating. A numeric column passes in O(1); an object column costs one type inference.
    """
    for col in columns:
        values = df[col]
        if values.dtype.kind in "iufb" or isinstance(values.dtype, pd.CategoricalDtype):
            continue
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind == "string" and numeric:
            is_number = pd.to_numeric(values, errors="coerce").notna()
        elif kind in ("mixed-integer", "mixed"):
            is_number = values.map(_is_number)
        else:
            continue
        is_number |= values.isna()  # null ids have their own check
        n_numbers, n_text = int(is_number.sum()), int((~is_number).sum())
        if n_text == 0 or (n_numbers == 0 and not numeric):
            continue
        odd = ~is_number if numeric or n_numbers >= n_text else is_number
        if odd is is_number:
            what = "are numbers while the other ids are text"
        else:
            what = "are not numbers while the other ids are" if n_numbers else "are not numbers (the source's ids are)"
        columns_shown = [c for c in (USER, ITEM, TITLE, RATING) if c in df.columns]
        fix = ("fix or remove that row of the source" if numeric else
               f"fix that row, or give every id one type (df[{col!r}] = df[{col!r}].astype(str))")
        raise DataValidationError(
            f"{source}: column {col!r} mixes numeric and non-numeric ids: {int(odd.sum())} of {len(values)} "
            f"{what}, e.g. {plain(values[odd].iloc[0])!r} in {_first_row(df, odd, columns_shown)}; ids match by value "
            f"and type (10 and '10' differ): {fix}."
        )


def id_kind(values: pd.Series) -> str | None:
    """Return "numbers" or "text" for an id column of one kind, None for any other column."""
    if values.dtype.kind in "iuf":
        return "numbers"
    if values.dtype.kind in "OSU" or isinstance(values.dtype, pd.StringDtype):
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind == "string":
            return "text"
        if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
            return "numbers"
    return None


def _pair_keys(df: pd.DataFrame) -> np.ndarray:
    """Return one int64 code per row, equal exactly for the rows of one (user, item) pair.

    Integer ids are offset by their minimum (no hashing); other ids are factorised.
    """
    parts = []
    for col in (USER, ITEM):
        values = df[col].to_numpy()
        lo, hi = (int(values.min()), int(values.max())) if values.dtype.kind in "iu" and len(values) else (0, 2**31)
        if hi - lo < 2**31:
            parts.append(((values - lo).astype(np.int64, copy=False), hi - lo + 1))
        else:
            codes, uniques = pd.factorize(df[col])
            parts.append((codes.astype(np.int64), max(len(uniques), 1)))
    (u, _), (i, n_items) = parts
    return u * n_items + i


def validate_interactions(
    df: pd.DataFrame,
    *,
    source: str = "interactions",
    rating_scale: tuple[float, float] | None = (0.5, 5.0),
    duplicates: str = "error",
    allow_extra: bool = False,
    require_rating: bool = True,
    numeric_ids: bool = False,
    copy: bool = True,
) -> pd.DataFrame:
    """Return an interactions frame checked against the interactions contract (docs/architecture.md).

    Checks, in order: a DataFrame, non-empty; required columns present (``user``, ``item``, and
    ``rating`` when ``require_rating``); no columns outside the contract unless ``allow_extra``;
    no null ids; ids of one kind (:func:`check_id_types`, with ``numeric_ids`` for sources whose
    ids are numbers); ratings numeric, not missing, finite and inside ``rating_scale`` (None:
    any finite value); no missing timestamp; duplicate (user, item) pairs handled by
    ``duplicates``: "error" (the default) refuses them naming a pair; on request "last" keeps the
    latest rating of each pair (by timestamp, then row order), "mean" / "sum" merge a pair's
    ratings into their mean / sum (its latest row gives the other columns; without a rating
    column every merge keeps one row per pair). A merge is logged at INFO with its count and
    recorded in ``out.attrs["duplicates_merged"]``.

    ``copy=True`` (the loaders) returns a new frame with float64 ratings and a fresh index.
    ``copy=False`` (the API doors: fit, compare, the splitters) returns ``df`` itself when it
    passes unchanged and a new frame only when it converts or merges; ``df`` is never modified.
    """
    if duplicates not in DUPLICATE_POLICIES:
        raise DataValidationError(
            f"{source}: unknown duplicates policy {duplicates!r}; use one of {DUPLICATE_POLICIES}."
        )
    if df is not None and not isinstance(df, pd.DataFrame):
        hint = " (a Dataset: pass dataset.interactions)" if hasattr(df, "interactions") else ""
        raise DataValidationError(f"{source}: expected a DataFrame with columns 'user', 'item'[, 'rating'], "
                                  f"got {type(df).__name__}{hint}.")
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
    out = df.copy() if copy else df
    for col in (USER, ITEM):
        if out[col].dtype.kind in "iub":  # cannot hold a null
            continue
        null = out[col].isna()
        if null.any():
            raise DataValidationError(
                f"{source}: {int(null.sum())} row(s) with a null {col!r} id, e.g. {_first_row(out, null)}; "
                "drop or fill them first."
            )
    check_id_types(out, source=source, numeric=numeric_ids)
    if RATING in out.columns:
        rating = out[RATING]
        converted = rating.dtype.kind not in "iuf"
        if converted:
            rating = numeric_column(rating, source=source, what="{n} non-numeric rating(s)",
                                    fix="ratings must be numbers.")
        values = rating.to_numpy(dtype=np.float64, na_value=np.nan)
        infinite = ~np.isfinite(values)
        missing = np.isnan(values) if infinite.any() else infinite
        if missing.any():
            raise DataValidationError(
                f"{source}: {int(missing.sum())} missing rating(s) (NaN in column {RATING!r}), e.g. "
                f"{_first_row(out.assign(**{RATING: rating}), missing)}; drop those rows "
                f"(df.dropna(subset=[{RATING!r}])) or fill them; for implicit feedback drop the {RATING!r} column."
            )
        if infinite.any():
            raise DataValidationError(
                f"{source}: {int(infinite.sum())} infinite value(s) of column {RATING!r}, e.g. "
                f"{_first_row(out.assign(**{RATING: rating}), infinite)}; ratings must be finite numbers: "
                "drop or fix those rows."
            )
        if rating_scale is not None:
            lo, hi = rating_scale
            outside = (values < lo) | (values > hi)
            if outside.any():
                raise DataValidationError(
                    f"{source}: {int(outside.sum())} value(s) of column {RATING!r} outside the declared scale "
                    f"[{lo}, {hi}], e.g. {_first_row(out.assign(**{RATING: rating}), outside)}; fix the data, or "
                    "pass the data's own scale as rating_scale=(low, high) (load_movielens, fit, compare and "
                    "validate_interactions take it)."
                )
        if copy:
            out[RATING] = rating.astype("float64")
        elif converted:
            out = out.assign(**{RATING: rating})
    if TIMESTAMP in out.columns and out[TIMESTAMP].dtype.kind not in "iub":
        missing = out[TIMESTAMP].isna()
        if missing.any():
            raise DataValidationError(f"{source}: {int(missing.sum())} missing timestamp(s), e.g. "
                                      f"{_first_row(out, missing, (USER, ITEM, TIMESTAMP))}; drop or fill them.")
    keys = np.sort(_pair_keys(out))  # a sort, not a hash of two columns: ~1.5 ms on 100,000 rows
    n_merged = 0
    if len(keys) > 1 and (keys[1:] == keys[:-1]).any():
        dup = out.duplicated([USER, ITEM], keep=False)
        n_merged = int(out.duplicated([USER, ITEM]).sum())
        if duplicates == "error":
            pair = example_row(out, dup, [USER, ITEM])
            same = dup & (out[USER] == pair[USER]) & (out[ITEM] == pair[ITEM])
            rows = list(out.index[same.to_numpy()][:3])
            ratings = f", ratings {out.loc[same, RATING].tolist()[:3]}" if RATING in out.columns else ""
            raise DataValidationError(
                f"{source}: {n_merged} duplicate (user, item) pair(s), e.g. {pair} (rows {rows}{ratings}); "
                "deduplicate them, or merge them on request: duplicates='last' keeps the latest rating, "
                "'mean' or 'sum' combines them."
            )
        out = _merge_duplicates(out, duplicates)
        log.info("%s: merged %d duplicate row(s) of (user, item) pairs by duplicates=%r (%s)", source, n_merged,
                 duplicates, "one row per pair" if RATING not in out.columns or duplicates == "last"
                 else f"the {duplicates} of each pair's ratings")
    if copy or n_merged:
        out = out.reset_index(drop=True)
        out.attrs["duplicates_merged"] = n_merged
    return out


def _merge_duplicates(df: pd.DataFrame, policy: str) -> pd.DataFrame:
    """Return one row per (user, item): the latest (timestamp, then row order), its rating by ``policy``."""
    order = [TIMESTAMP] if TIMESTAMP in df.columns else []
    ordered = df.assign(_row=np.arange(len(df))).sort_values(order + ["_row"], kind="stable")
    out = ordered.drop_duplicates([USER, ITEM], keep="last")
    if policy in ("mean", "sum") and RATING in df.columns:
        merged = ordered.groupby([USER, ITEM], sort=False)[RATING].agg(policy)
        out = out.assign(**{RATING: merged.reindex(pd.MultiIndex.from_frame(out[[USER, ITEM]])).to_numpy()})
    return out.sort_values("_row", kind="stable").drop(columns="_row")


def validate_items(df: pd.DataFrame, *, source: str = "items", numeric_ids: bool = False) -> pd.DataFrame:
    """Return a clean copy of an items frame: unique non-null ``item`` ids of one kind, ``title``,
    ``genres`` as lists (``numeric_ids`` as in :func:`check_id_types`)."""
    if df is None or len(df) == 0:
        raise DataValidationError(f"{source}: the items table is empty.")
    require_columns(df, ITEM_COLUMNS, source=source)
    out = df.copy()
    if out[ITEM].isna().any():
        raise DataValidationError(f"{source}: {int(out[ITEM].isna().sum())} item(s) with a null id.")
    check_id_types(out, [ITEM], source=source, numeric=numeric_ids)
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
