"""One numba entry point for the recommenders' compiled loops.

``jit(func)`` is ``numba.njit(nogil=True, cache=True)``. Two fallbacks keep the package importable
where numba cannot do its best: without a writable cache directory (a read-only install and no
user cache dir: numba raises ``RuntimeError`` at decoration) the loop is compiled without a
cache, and without numba at all it runs as plain (slow) Python.
"""

from __future__ import annotations

try:  # numba is a dependency; without it the loops run (slowly) in Python
    from numba import njit
except ImportError:  # pragma: no cover - exercised only without numba
    njit = None


def jit(func=None, *, fastmath: bool = False):
    """Compile ``func`` with numba (nogil, cached where a cache directory is writable).

    ``fastmath=True`` lets numba reorder floating-point sums (SIMD dot products): results may differ
    from the plain loop in the last bits; used only where a loop's speed matters more than that.
    """
    if func is None:
        return lambda f: jit(f, fastmath=fastmath)
    if njit is None:  # pragma: no cover - exercised only without numba
        return func
    try:
        return njit(nogil=True, cache=True, fastmath=fastmath)(func)
    except RuntimeError:  # pragma: no cover - read-only package and no writable user cache dir
        return njit(nogil=True, fastmath=fastmath)(func)
