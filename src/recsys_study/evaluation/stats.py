"""Statistics for comparing recommenders on per-user metric values: bootstrap confidence
intervals, paired tests, and multiple-comparison corrections (Holm, Benjamini–Hochberg)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from recsys_study.constants import USER
from recsys_study.data.schema import require_columns

PAIRED_METHODS = ("wilcoxon", "t")
CORRECTIONS = ("holm", "bh", "none")
_CHUNK_ELEMENTS = 5_000_000  # bootstrap draws per chunk: bounds memory for large user sets


def bootstrap_ci(
    values, *, n_boot: int = 1000, alpha: float = 0.05, seed: int | np.random.Generator
) -> tuple[float, float, float]:
    """Return (mean, lower, upper): the sample mean and its percentile bootstrap CI.

    Draw B resamples of size n with replacement, x*_b, and take the α/2 and 1 − α/2
    quantiles of their means x̄*_b as the (1 − α) interval. Resampling is vectorised
    (a B x n index matrix, in chunks). Reference: Efron & Tibshirani (1993), "An
    Introduction to the Bootstrap", ch. 13; Sakai (2014), "Statistical reform in IR?".
    """
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("bootstrap_ci got no values; evaluate at least one user first.")
    if not np.isfinite(x).all():
        raise ValueError("bootstrap_ci got NaN/inf values; drop them first (e.g. series.dropna()).")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}.")
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, got {n_boot}.")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    per_chunk = max(1, _CHUNK_ELEMENTS // x.size)
    means = np.concatenate([
        x[rng.integers(0, x.size, size=(min(per_chunk, n_boot - start), x.size))].mean(axis=1)
        for start in range(0, n_boot, per_chunk)
    ])
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(x.mean()), float(lo), float(hi)


def paired_test(a, b, *, method: str = "wilcoxon") -> dict:
    """Return {statistic, p_value, n, mean_diff} of a two-sided paired test of a against b.

    Series are aligned on their index (users) and pairs with a NaN dropped; arrays are paired
    by position. d_u = a_u − b_u; ``wilcoxon``: Wilcoxon signed-rank test on d (zero
    differences dropped, scipy's default); ``t``: paired t-test t = d̄ / (s_d / √n).
    When every d_u is 0 the result is statistic 0, p-value 1. Reference: Wilcoxon (1945),
    Biometrics Bulletin 1(6); Smucker, Allan & Carterette (2007), "A comparison of
    statistical significance tests for information retrieval evaluation", CIKM.
    """
    if method not in PAIRED_METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {PAIRED_METHODS}.")
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
        x, y = joined["a"].to_numpy(dtype=float), joined["b"].to_numpy(dtype=float)
    else:
        x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
        if x.shape != y.shape:
            raise ValueError(f"a has {x.size} values and b {y.size}; pass per-user Series to align them.")
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
    n = int(x.size)
    if n < 2:
        raise ValueError(f"a paired test needs at least 2 common users, got {n}; check the user ids match.")
    d = x - y
    if np.all(d == 0):
        statistic, p_value = 0.0, 1.0
    elif method == "wilcoxon":
        res = sps.wilcoxon(x, y)
        statistic, p_value = float(res.statistic), float(res.pvalue)
    else:
        res = sps.ttest_rel(x, y)
        statistic, p_value = float(res.statistic), float(res.pvalue)
    return {"statistic": statistic, "p_value": p_value, "n": n, "mean_diff": float(d.mean())}


def _as_array(p_values) -> np.ndarray:
    p = np.asarray(p_values, dtype=float).ravel()
    finite = p[~np.isnan(p)]
    if ((finite < 0) | (finite > 1)).any():
        raise ValueError("p-values must lie in [0, 1].")
    return p


def _wrap(adjusted: np.ndarray, like):
    return pd.Series(adjusted, index=like.index, name=like.name) if isinstance(like, pd.Series) else adjusted


def _adjust(p_values, adjust_sorted):
    """Apply ``adjust_sorted(sorted_p, m)`` to the non-NaN p-values, keeping NaNs and the input's type."""
    p = _as_array(p_values)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m:
        order = np.argsort(p[ok], kind="stable")
        adj = np.empty(m)
        adj[order] = adjust_sorted(p[ok][order], m)
        out[ok] = adj
    return _wrap(out, p_values)


def holm(p_values):
    """Return Holm step-down adjusted p-values (family-wise error control), NaNs kept in place.

    With p_(1) <= ... <= p_(m): p̃_(i) = max_{j <= i} min(1, (m − j + 1) p_(j)).
    Reference: Holm (1979), "A simple sequentially rejective multiple test procedure",
    Scandinavian Journal of Statistics 6(2).
    """
    return _adjust(p_values, lambda p, m: np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p)))


def benjamini_hochberg(p_values):
    """Return Benjamini–Hochberg adjusted p-values (false-discovery-rate control), NaNs kept.

    With p_(1) <= ... <= p_(m): p̃_(i) = min_{j >= i} min(1, m p_(j) / j).
    Reference: Benjamini & Hochberg (1995), "Controlling the false discovery rate", JRSS B 57(1).
    """
    return _adjust(p_values, lambda p, m: np.minimum(1.0, np.minimum.accumulate((m * p / np.arange(1, m + 1))[::-1])[::-1]))


def compare_models(
    per_user: pd.DataFrame,
    metric: str,
    baseline: str,
    *,
    method: str = "wilcoxon",
    correction: str = "holm",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Return one row per model: paired test of its per-user ``metric`` against ``baseline``.

    ``per_user`` is the tidy protocol frame (``user, model, metric, value``). For each model m,
    d_u = value(m, u) − value(baseline, u) over the users both have; columns: model, baseline,
    metric, n, mean, baseline_mean, mean_diff, statistic, p_value, p_adjusted (``holm``, ``bh``
    or ``none`` across the models), significant (p_adjusted < alpha). Reference: Sakai (2016),
    "Statistical significance, power, and sample sizes", SIGIR tutorial; Holm (1979).
    """
    require_columns(per_user, (USER, "model", "metric", "value"), source="per_user")
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; use one of {CORRECTIONS}.")
    rows = per_user[per_user["metric"] == metric]
    if rows.empty:
        raise ValueError(f"metric {metric!r} not in per_user; found {sorted(per_user['metric'].unique())}.")
    wide = rows.pivot_table(index=USER, columns="model", values="value", aggfunc="mean", dropna=False)
    if baseline not in wide.columns:
        raise ValueError(f"baseline {baseline!r} not among the models {list(wide.columns)}.")
    records = []
    for model in [m for m in wide.columns if m != baseline]:  # a handful of models, not users
        res = paired_test(wide[model], wide[baseline], method=method)
        both = wide[[model, baseline]].dropna()
        records.append({"model": model, "baseline": baseline, "metric": metric, "n": res["n"],
                        "mean": both[model].mean(), "baseline_mean": both[baseline].mean(),
                        "mean_diff": res["mean_diff"], "statistic": res["statistic"],
                        "p_value": res["p_value"]})
    out = pd.DataFrame(records, columns=["model", "baseline", "metric", "n", "mean", "baseline_mean",
                                         "mean_diff", "statistic", "p_value"])
    adjust = {"holm": holm, "bh": benjamini_hochberg, "none": lambda p: np.asarray(p, dtype=float)}
    out["p_adjusted"] = adjust[correction](out["p_value"].to_numpy())
    out["significant"] = out["p_adjusted"] < alpha
    return out
