"""The one inter-process file lock of the package (fcntl ``flock``): the runner's experiment lock and the
report index's lock are both this lock on their own file."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class LockBusyError(RuntimeError):
    """The lock is held by another process and the caller asked not to wait; ``holder`` names it."""

    def __init__(self, path: Path, holder: str):
        super().__init__(f"{path} is held by {holder}")
        self.path, self.holder = path, holder


@contextmanager
def file_lock(path: str | Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (made with its folder if missing) for the ``with`` block.

    The holder writes ``pid <n>`` into the file, so that a process that finds the lock taken can say
    who holds it: with ``wait=False`` it raises ``LockBusyError``; otherwise it calls ``on_wait(holder)``
    once and blocks until the lock is free. The kernel releases the lock when the holder exits, even
    when it is killed, so a crash never leaves a stale lock behind.
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if not wait:
                raise LockBusyError(path, holder) from None
            if on_wait is not None:
                on_wait(holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
