"""Counter-based random numbers: one value per (seed, stream, key...), whatever else the world did.

The world draws every random quantity of customer c in round t from a hash of
``(seed, stream, c, t)`` instead of a sequential generator, so two worlds that differ only in
the recommender face the same customers, the same taste noise and the same uniforms for
choosing, returning and answering (common random numbers: paired comparisons, and exactly the
same return draws when satisfaction does not drive returning). The mixer is SplitMix64's
finaliser (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators", OOPSLA).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)

# one stream number per kind of draw
ARCHETYPE, TASTE, HABIT, HISTORY, CHOICE, EXPERIENCE, COMPLAINT, RETURN, SURVEY = range(1, 10)
# the campaign's random assignment, the initial customers' tenure before the world, consent to personalisation
ASSIGN, TENURE, CONSENT = range(10, 13)


_MASK = (1 << 64) - 1
_G, _C1, _C2 = int(_GOLDEN), int(_M1), int(_M2)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on a uint64 array of the caller's (overwritten)."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def _mix_int(x: int) -> int:
    """:func:`_mix` of one value, in Python integers modulo 2^64."""
    x = ((x ^ (x >> 30)) * _C1) & _MASK
    x = ((x ^ (x >> 27)) * _C2) & _MASK
    return x ^ (x >> 31)


def uniform(seed: int, stream: int, *keys) -> np.ndarray:
    """Return U(0, 1) values (never 0 or 1), one per broadcast element of ``keys`` (non-negative ints)."""
    # x_0 = mix(seed G + stream), x_j = mix(x_{j-1} xor (key_j G + G)) modulo 2^64; scalars stay Python integers
    x = _mix_int((int(np.asarray(seed, dtype=np.uint64)) * _G + int(np.asarray(stream, dtype=np.uint64))) & _MASK)
    for key in keys:
        key = np.asarray(key, dtype=np.uint64)
        if key.ndim == 0:
            k = (int(key) * _G + _G) & _MASK
            if isinstance(x, int):
                x = _mix_int(x ^ k)
                continue
            k = np.uint64(k)
        else:
            k = key * _GOLDEN  # an array: wraps modulo 2^64 without a warning
            k += _GOLDEN
        x = _mix(np.bitwise_xor(x if isinstance(x, np.ndarray) else np.uint64(x), k, dtype=np.uint64))
    if isinstance(x, int):
        return np.float64((float(x >> 11) + 0.5) * 2.0 ** -53)
    u = (x >> np.uint64(11)).astype(np.float64)
    u += 0.5
    u *= 2.0 ** -53
    return u


def normal(seed: int, stream: int, *keys) -> np.ndarray:
    """Return N(0, 1) values by the inverse normal CDF of :func:`uniform`."""
    return ndtri(uniform(seed, stream, *keys))
