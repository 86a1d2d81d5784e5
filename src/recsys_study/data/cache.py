"""A parquet cache under ``data/processed/``, keyed by a content hash, written atomically.

A cached frame lives at ``<dir>/<name>-<key>.parquet`` with a sidecar
``<name>-<key>.sha256`` holding the SHA-256 of the parquet bytes. The key is a hash
of everything the frame is derived from (the source file's bytes, the loader's
version, its arguments), so a changed source gives a new key: a stale file is never
found. On read the bytes are hashed again: a truncated or corrupt file (or a missing
sidecar) is deleted and rebuilt, never silently used. Both files are written to a
temporary name in the same directory and renamed, so a crash leaves no half file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """Return ``<project root>/data/processed`` (``$RECSYS_STUDY_CACHE`` overrides)."""
    if os.environ.get("RECSYS_STUDY_CACHE"):
        return Path(os.environ["RECSYS_STUDY_CACHE"])
    from recsys_study.paths import project_root

    return project_root() / "data" / "processed"


def content_key(*parts) -> str:
    """Return a 16-hex-digit SHA-256 over ``parts`` (bytes, paths' contents, or JSON-able values)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            h.update(part)
        elif isinstance(part, Path):
            h.update(file_sha256(part).encode())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()[:16]


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_frame(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as parquet plus its ``.sha256`` sidecar, each atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        df.to_parquet(tmp, index=False)
        digest = file_sha256(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _atomic_write_bytes(path.with_suffix(".sha256"), digest.encode())


def read_frame(path: Path) -> pd.DataFrame | None:
    """Return the cached frame at ``path``, or None (after deleting it) if missing, corrupt or unverified."""
    sidecar = path.with_suffix(".sha256")
    if not path.exists():
        return None
    try:
        expected = sidecar.read_text().strip()
        if file_sha256(path) != expected:
            raise ValueError("checksum mismatch")
        return _lists_back(pd.read_parquet(path))
    except Exception as err:  # corrupt, truncated, unreadable or unverified: rebuild
        log.warning("cache file %s is unusable (%s); rebuilding it", path, err)
        for stale in (path, sidecar):
            try:
                stale.unlink(missing_ok=True)
            except OSError:  # read-only cache dir: ignore the file, rebuild in memory
                pass
        return None


def _lists_back(df: pd.DataFrame) -> pd.DataFrame:
    """Turn list columns that parquet read back as numpy arrays into lists, so a hit equals the build."""
    for col in df.columns:
        if df[col].dtype == object and df[col].map(lambda v: isinstance(v, np.ndarray)).any():
            df[col] = df[col].map(lambda v: v.tolist() if isinstance(v, np.ndarray) else v)
    return df


def cached(name: str, key: str, build: Callable[[], pd.DataFrame], *, cache_dir: Path | None = None,
           enabled: bool = True) -> pd.DataFrame:
    """Return the frame ``name`` for ``key`` from the cache, building and storing it on a miss."""
    if not enabled:
        return build()
    path = Path(cache_dir or default_cache_dir()) / f"{name}-{key}.parquet"
    frame = read_frame(path)
    if frame is not None:
        return frame
    frame = build()
    try:
        write_frame(frame, path)
    except OSError as err:  # a read-only checkout still works, only slower
        log.warning("could not write cache %s (%s); continuing without it", path, err)
    return frame
