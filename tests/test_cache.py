"""The parquet cache (recsys_study.data.cache): hits, keys, corruption, atomicity, read-only dirs.

Every test points the cache at ``tmp_path``; the project's data/processed is never touched.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from recsys_study.data import cache
from recsys_study.data.cache import cached, content_key, default_cache_dir, file_sha256, read_frame, write_frame
from recsys_study.data.dataset import frame_fingerprint


def _items() -> pd.DataFrame:
    return pd.DataFrame({
        "item": [1, 2, 3],
        "title": ["Heat", "Up", "Alien"],
        "genres": [["Action", "Crime"], [], ["Horror", "Sci-Fi"]],
        "year": pd.array([1995, None, 1979], dtype="Int64"),
        "rating": [4.5, 3.0, 5.0],
    })


class CountingBuilder:
    """A builder that counts its calls (a cache hit must not call it)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame, self.calls = frame, 0

    def __call__(self) -> pd.DataFrame:
        self.calls += 1
        return self.frame.copy()


def _files(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def test_miss_builds_and_writes_parquet_with_sha256_sidecar(tmp_path):
    build = CountingBuilder(_items())
    out = cached("items", "abc", build, cache_dir=tmp_path)
    assert build.calls == 1
    pd.testing.assert_frame_equal(out, _items())
    assert _files(tmp_path) == ["items-abc.parquet", "items-abc.sha256"]
    sidecar = (tmp_path / "items-abc.sha256").read_text().strip()
    assert sidecar == hashlib.sha256((tmp_path / "items-abc.parquet").read_bytes()).hexdigest()


def test_hit_returns_an_equal_frame_with_genre_lists_and_does_not_rebuild(tmp_path):
    build = CountingBuilder(_items())
    first = cached("items", "abc", build, cache_dir=tmp_path)
    second = cached("items", "abc", build, cache_dir=tmp_path)
    assert build.calls == 1
    pd.testing.assert_frame_equal(second, first)
    assert all(type(g) is list for g in second["genres"])
    assert second["genres"].tolist() == [["Action", "Crime"], [], ["Horror", "Sci-Fi"]]
    assert frame_fingerprint(second) == frame_fingerprint(first)


def test_key_follows_the_source_bytes_so_a_stale_file_is_never_used(tmp_path):
    src = tmp_path / "src.csv"
    src.write_text("user,item\n1,2\n")
    cdir = tmp_path / "cache"
    key1 = content_key(src, 1)
    cached("ratings", key1, CountingBuilder(pd.DataFrame({"x": [1]})), cache_dir=cdir)
    src.write_text("user,item\n1,3\n")
    key2 = content_key(src, 1)
    assert key2 != key1
    build = CountingBuilder(pd.DataFrame({"x": [2]}))
    out = cached("ratings", key2, build, cache_dir=cdir)
    assert build.calls == 1 and out["x"].tolist() == [2]


def test_content_key_is_deterministic_and_sensitive_to_every_part(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"hello")
    assert content_key(f, 1, {"b": 2, "a": 1}) == content_key(f, 1, {"a": 1, "b": 2})
    assert content_key(f, 1) != content_key(f, 2)
    assert content_key(b"ab", b"c") != content_key(b"a", b"bc")      # parts are separated
    g = tmp_path / "b.txt"  # paths hash their contents, not their names
    g.write_bytes(b"hello")
    assert content_key(f) == content_key(g)
    assert len(content_key(f)) == 16
    assert file_sha256(f) == hashlib.sha256(b"hello").hexdigest()


def _prime(tmp_path) -> tuple[Path, CountingBuilder]:
    build = CountingBuilder(_items())
    cached("items", "k", build, cache_dir=tmp_path)
    return tmp_path / "items-k.parquet", build


def _assert_rebuilt(tmp_path, build):
    out = cached("items", "k", build, cache_dir=tmp_path)
    assert build.calls == 2, "a broken cache file must be rebuilt"
    pd.testing.assert_frame_equal(out, _items())
    # the rebuilt file is good again: the next call is a hit
    cached("items", "k", build, cache_dir=tmp_path)
    assert build.calls == 2
    assert _files(tmp_path) == ["items-k.parquet", "items-k.sha256"]


def test_truncated_parquet_is_detected_deleted_and_rebuilt(tmp_path):
    path, build = _prime(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert read_frame(path) is None
    assert not path.exists() and not path.with_suffix(".sha256").exists()
    _assert_rebuilt(tmp_path, build)


def test_corrupt_parquet_with_a_matching_sidecar_is_rebuilt(tmp_path):
    # the checksum agrees but the bytes are not parquet: reading fails, the file is not used
    path, build = _prime(tmp_path)
    path.write_bytes(b"not a parquet file at all")
    path.with_suffix(".sha256").write_text(file_sha256(path))
    _assert_rebuilt(tmp_path, build)


def test_flipped_byte_is_caught_by_the_checksum(tmp_path):
    path, build = _prime(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    _assert_rebuilt(tmp_path, build)


def test_wrong_sidecar_is_detected_and_rebuilt(tmp_path):
    path, build = _prime(tmp_path)
    path.with_suffix(".sha256").write_text("0" * 64)
    _assert_rebuilt(tmp_path, build)


def test_missing_sidecar_is_detected_and_rebuilt(tmp_path):
    path, build = _prime(tmp_path)
    path.with_suffix(".sha256").unlink()
    _assert_rebuilt(tmp_path, build)


def test_no_temp_files_after_a_build(tmp_path):
    cached("a", "1", CountingBuilder(_items()), cache_dir=tmp_path)
    cached("b", "2", CountingBuilder(pd.DataFrame({"x": range(1000)})), cache_dir=tmp_path)
    assert _files(tmp_path) == ["a-1.parquet", "a-1.sha256", "b-2.parquet", "b-2.sha256"]


def test_builder_that_raises_leaves_nothing_and_keeps_good_files(tmp_path):
    path, _ = _prime(tmp_path)
    before = path.read_bytes()

    def broken():
        raise RuntimeError("source unreadable")

    with pytest.raises(RuntimeError, match="source unreadable"):
        cached("items", "other", broken, cache_dir=tmp_path)
    assert _files(tmp_path) == ["items-k.parquet", "items-k.sha256"]
    assert path.read_bytes() == before


def test_write_that_fails_midway_leaves_the_previous_good_file_untouched(tmp_path, monkeypatch):
    path, _ = _prime(tmp_path)
    before, before_sidecar = path.read_bytes(), path.with_suffix(".sha256").read_bytes()

    def half_write(self, target, **kwargs):
        Path(target).write_bytes(b"PAR1 half written")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_frame(pd.DataFrame({"x": [1]}), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert path.with_suffix(".sha256").read_bytes() == before_sidecar
    assert _files(tmp_path) == ["items-k.parquet", "items-k.sha256"]
    pd.testing.assert_frame_equal(read_frame(path), _items())


def test_crash_between_parquet_and_sidecar_is_never_silently_used(tmp_path, monkeypatch):
    path, _ = _prime(tmp_path)

    def crash(p, data):
        raise OSError("killed")

    monkeypatch.setattr(cache, "_atomic_write_bytes", crash)
    with pytest.raises(OSError):
        write_frame(pd.DataFrame({"x": [9]}), path)
    monkeypatch.undo()
    # new parquet, old sidecar: the mismatch is detected, neither frame is returned
    assert read_frame(path) is None
    assert not path.exists()


def test_read_only_cache_dir_still_returns_the_frame(tmp_path, monkeypatch):
    # the suite may run as root, where chmod does not stop writes: make temp-file creation fail instead
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache.tempfile, "mkstemp", denied)
    build = CountingBuilder(_items())
    out = cached("items", "k", build, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(out, _items())
    assert _files(tmp_path) == []


def test_unwritable_cache_path_still_returns_the_frame(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = cached("items", "k", CountingBuilder(_items()), cache_dir=blocker / "cache")
    pd.testing.assert_frame_equal(out, _items())


def test_corrupt_file_in_read_only_dir_is_ignored_and_rebuilt_in_memory(tmp_path, monkeypatch):
    path, build = _prime(tmp_path)
    path.write_bytes(b"garbage")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "unlink", denied)
    monkeypatch.setattr(cache.tempfile, "mkstemp", denied)
    out = cached("items", "k", build, cache_dir=tmp_path)
    assert build.calls == 2
    pd.testing.assert_frame_equal(out, _items())


def test_disabled_cache_always_builds_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_STUDY_CACHE", str(tmp_path))
    build = CountingBuilder(_items())
    cached("items", "k", build, enabled=False)
    cached("items", "k", build, enabled=False)
    assert build.calls == 2 and _files(tmp_path) == []


def test_env_variable_sets_the_default_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_STUDY_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    cached("items", "k", CountingBuilder(_items()))
    assert _files(tmp_path / "c") == ["items-k.parquet", "items-k.sha256"]


def test_default_cache_dir_is_data_processed_without_env(monkeypatch):
    monkeypatch.delenv("RECSYS_STUDY_CACHE", raising=False)
    d = default_cache_dir()
    assert d.parts[-2:] == ("data", "processed")
