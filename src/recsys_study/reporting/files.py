"""The one atomic writer of the reports (write aside, then rename) and the lock of ``reports/index.html``.

A reader, or a runner in another process, never sees half a page, notebook or manifest: every file is
written under a hidden unique name beside its target and renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from recsys_study.locking import file_lock


def _read_umask_by_setting() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_IMPORT_UMASK = _read_umask_by_setting()  # at import, before any runner thread exists


def _umask() -> int:
    """The process's umask, read without changing it where the system allows.

    ``os.umask`` can only be read by setting it: two threads doing that at once could leave it 0 for
    good, and a kernel started in between would inherit 0. Linux shows it in ``/proc/self/status``;
    elsewhere it was read once, at import.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _IMPORT_UMASK


def write_aside(path: Path, content: str | bytes) -> Path:
    """Write ``content`` to a uniquely named hidden file beside ``path``; return it (the caller renames it).

    Nothing is left behind if the write fails (a full disk, say). The file gets the permissions the
    umask gives any file the user writes (``mkstemp`` alone would make it 0600).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        if isinstance(content, bytes):
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(content)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write(path: Path, content: str | bytes) -> Path:
    """Write ``content`` to ``path`` (its folder made if needed) by writing aside and renaming; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(write_aside(path, content), path)
    return path


@contextmanager
def index_lock(reports_dir: Path):
    """Hold ``reports/.index.lock`` (fcntl): one writer of ``index.html`` at a time across processes."""
    with file_lock(Path(reports_dir) / ".index.lock"):
        yield
