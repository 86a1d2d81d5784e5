"""Descriptive summaries every part of the study shares: the mean with its t-interval and the Gini index.

One definition of each, so that notebook 04's seed intervals, the simulation's intervals and the
exposure and popularity Gini indices of notebooks 00, 01 and 08 cannot drift apart.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def mean_ci(values, *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Return (mean, lower, upper) of the Student-t interval x̄ ± t_{1−α/2, n−1} · s / √n.

    Missing values (NaN) are left out; infinite values are kept (the mean is then infinite, which is
    the honest answer). Fewer than two values give NaN bounds; none gives NaN throughout.
    Reference: Student (1908), "The probable error of a mean", Biometrika 6(1).
    """
    x = np.asarray(values, dtype=float).ravel()
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if x.size < 2 or not np.isfinite(mean):
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(1 - alpha / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def t_interval(values, *, alpha: float = 0.05) -> tuple[float, float]:
    """Return (lower, upper) of ``mean_ci``: the Student-t interval, in the form seaborn's ``errorbar=`` takes.

    ``sns.lineplot(..., errorbar=t_interval)`` draws the same interval the study's tables report. Over a few
    seeds it is the right one: seaborn's ``("ci", 95)`` is a percentile bootstrap, too narrow for n = 5
    (it cannot reach beyond the sample's own range) and 1,000 resamples per point to draw.
    """
    return mean_ci(values, alpha=alpha)[1:]


def gini(values, *, undefined: float = float("nan")) -> float:
    """Return the Gini index of non-negative values: 0 = all equal, → 1 = all on one.

    G = Σ_i (2i − n − 1) x_(i) / (n Σ_i x_i), with x_(1) ≤ … ≤ x_(n) (Damgaard & Weiner 2000);
    equal to the mean absolute difference form Σ_i Σ_j |x_i − x_j| / (2 n² x̄).
    ``undefined`` is returned when there are no values or they sum to 0 (NaN by default: an
    empty exposure has no concentration; the data summaries of notebook 00 pass 0.0).
    """
    x = np.sort(np.asarray(values, dtype=float).ravel())
    if np.any(x < 0):
        raise ValueError(f"gini needs non-negative values; found a minimum of {x[0]}.")
    n, total = x.size, float(x.sum()) if x.size else 0.0
    if n == 0 or total == 0:
        return float(undefined)
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))
