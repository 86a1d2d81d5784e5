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


def _mix(x: np.ndarray) -> np.ndarray:
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def uniform(seed: int, stream: int, *keys) -> np.ndarray:
    """Return U(0, 1) values (never 0 or 1), one per broadcast element of ``keys`` (non-negative ints)."""
    with np.errstate(over="ignore"):
        x = _mix(np.asarray(seed, dtype=np.uint64) * _GOLDEN + np.asarray(stream, dtype=np.uint64))
        for key in keys:
            x = _mix(x ^ (np.asarray(key, dtype=np.uint64) * _GOLDEN + _GOLDEN))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0 ** -53


def normal(seed: int, stream: int, *keys) -> np.ndarray:
    """Return N(0, 1) values by the inverse normal CDF of :func:`uniform`."""
    return ndtri(uniform(seed, stream, *keys))
