"""How many threads the compiled and BLAS parts may use, and one way to run blocks on them.

``num_threads`` follows implicit's convention: 0 means every core this process may run on
(``sched_getaffinity``, which respects a CI runner's or a container's CPU set), a positive number
is taken as given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor


def n_threads(num_threads: int = 0) -> int:
    """Return the thread count for ``num_threads`` (0: every core available to this process)."""
    if num_threads > 0:
        return int(num_threads)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_blocks(run: Callable[[int], None], starts: Iterable[int], num_threads: int = 0) -> None:
    """Call ``run(start)`` for every block start, on up to ``n_threads(num_threads)`` threads.

    ``run`` must release the GIL for the work to overlap (a numba ``nogil`` kernel does), and
    each block must write to its own rows of the output.
    """
    starts = list(starts)
    threads = min(n_threads(num_threads), len(starts))
    if threads <= 1:
        for first in starts:
            run(first)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, starts))
