"""Managerial outputs of a satisfaction model: the 0-100 index, IPMA, NPS, disconfirmation,
loyalty by satisfaction band, and churn by a behavioural dissatisfaction signal.

References: Fornell et al. (1996) J. Marketing 60(4) (ACSI 0-100 index from rescaled,
unstandardised outer weights); Ringle & Sarstedt (2016) Industrial Management & Data Systems
116(9), 1865-1886 (importance-performance map analysis); Reichheld (2003) Harvard Business
Review 81(12) (Net Promoter Score); Oliver (1980) J. Marketing Research 17(4), 460-469
(expectation-disconfirmation); Jones & Sasser (1995) Harvard Business Review 73(6) (the
non-linear satisfaction-loyalty curve: "completely satisfied" customers are far more loyal).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def rescaled_weights(fit) -> pd.Series:
    """Return each construct's weights for raw answers, summing to 1 within the block.

    ``w~_i = (w_i / sd_i) / sum_j (w_j / sd_j)`` turns standardised outer weights into
    weights on the answer scale (Fornell et al. 1996; Ringle & Sarstedt 2016, eq. 1).
    Indexed by (construct, indicator).
    """
    parts = {}
    for c, items in fit.model.blocks.items():
        raw = fit.outer_weights_.loc[list(items), c] / fit.indicator_sd_[list(items)]
        parts[c] = raw / raw.sum()
    return pd.concat(parts)


def construct_performance(fit, data: pd.DataFrame, *, scale: tuple[int, int]) -> pd.DataFrame:
    """Return per respondent each construct's score on 0-100: ``100 * (sum w~_i x_i - min) / (max - min)``."""
    lo, hi = scale
    weights = rescaled_weights(fit)
    out = {}
    for c, items in fit.model.blocks.items():
        raw = data[list(items)].to_numpy(dtype=float) @ weights[c].to_numpy()
        out[c] = 100 * (raw - lo) / (hi - lo)
    return pd.DataFrame(out, index=data.index)


def satisfaction_index(fit, data: pd.DataFrame, *, scale: tuple[int, int], construct: str = "Satisfaction",
                       segments: pd.Series | None = None) -> pd.DataFrame:
    """Return the 0-100 satisfaction index (ACSI rescaling): overall, or one row per segment.

    Columns: segment, n, index (mean), sd, ci_low, ci_high (normal 95% CI of the mean).
    """
    score = construct_performance(fit, data, scale=scale)[construct]
    groups = pd.Series("all", index=data.index) if segments is None else pd.Series(segments, index=data.index)
    g = score.groupby(groups)
    out = pd.DataFrame({"n": g.size(), "index": g.mean(), "sd": g.std(ddof=1)})
    half = 1.96 * out["sd"] / np.sqrt(out["n"])
    out["ci_low"], out["ci_high"] = out["index"] - half, out["index"] + half
    return out.rename_axis("segment").reset_index()


def ipma(fit, data: pd.DataFrame, *, scale: tuple[int, int], target: str = "Satisfaction") -> pd.DataFrame:
    """Return the importance-performance map of ``target``'s drivers.

    Importance = unstandardised total effect on the target, computed on 0-100 construct
    scores: ``T_std * sd(target_0-100) / sd(driver_0-100)``; performance = mean 0-100
    score of the driver (Ringle & Sarstedt 2016). Sorted by importance; the driver to
    improve first has high importance and low performance.
    """
    perf = construct_performance(fit, data, scale=scale)
    total = fit.total_effects_[target]
    drivers = [c for c in fit.model.constructs if c != target and abs(total[c]) > 0]
    rows = [{"driver": c, "total_effect_std": float(total[c]),
             "importance": float(total[c] * perf[target].std() / perf[c].std()),
             "performance": float(perf[c].mean())} for c in drivers]
    return pd.DataFrame(rows).sort_values("importance", ascending=False).reset_index(drop=True)


def to_0_10(answers: pd.Series | np.ndarray, *, scale: tuple[int, int]) -> np.ndarray:
    """Return answers mapped linearly onto the 0-10 NPS scale and rounded to whole points."""
    lo, hi = scale
    return np.round(10 * (np.asarray(answers, dtype=float) - lo) / (hi - lo))


def net_promoter_score(answers_0_10, *, seed: int | None = None, n_boot: int = 0, level: float = 0.95) -> dict:
    """Return NPS = 100 * (share of promoters 9-10 - share of detractors 0-6) (Reichheld 2003).

    With ``n_boot > 0`` adds a percentile bootstrap CI (``seed`` required).
    """
    x = np.asarray(answers_0_10, dtype=float)
    x = x[~np.isnan(x)]
    if ((x < 0) | (x > 10)).any():
        raise ValueError("NPS answers must be on 0-10; map other scales with to_0_10 first.")
    score = lambda v: 100 * (np.mean(v >= 9) - np.mean(v <= 6))  # noqa: E731
    out = {"nps": float(score(x)), "promoters": float(np.mean(x >= 9)), "detractors": float(np.mean(x <= 6)),
           "n": int(len(x))}
    if n_boot:
        if seed is None:
            raise ValueError("pass seed= to bootstrap the NPS confidence interval.")
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(x), (n_boot, len(x)))
        draws = 100 * ((x[idx] >= 9).mean(axis=1) - (x[idx] <= 6).mean(axis=1))
        a = (1 - level) / 2
        out["ci_low"], out["ci_high"] = (float(v) for v in np.quantile(draws, [a, 1 - a]))
    return out


def outcome_by_band(level: pd.Series, outcome: pd.Series, *, bins, labels=None) -> pd.DataFrame:
    """Return the mean of ``outcome`` per band of ``level`` with n and a Wilson 95% CI for 0/1 outcomes.

    Used for loyalty by satisfaction band and churn by service calls.
    """
    level = pd.Series(level).reset_index(drop=True)
    outcome = pd.Series(np.asarray(outcome, dtype=float))
    band = pd.cut(level, bins=bins, labels=labels, include_lowest=True, right=False)
    g = pd.DataFrame({"band": band, "y": outcome.astype(float)}).groupby("band", observed=True)["y"]
    out = pd.DataFrame({"n": g.size(), "mean": g.mean()}).reset_index()
    if set(np.unique(outcome.dropna())) <= {0, 1}:
        z, n, p = 1.96, out["n"], out["mean"]
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
        out["ci_low"], out["ci_high"] = centre - half, centre + half
    return out


def loyalty_by_satisfaction(index: pd.Series, loyal: pd.Series, *, bands=(0, 60, 80, 90, 100.001)) -> dict:
    """Return the share of loyal customers per satisfaction band and the top/middle-band ratio.

    Bands (default) follow Jones & Sasser (1995): dissatisfied (< 60), satisfied (60-80),
    highly satisfied (80-90), completely satisfied (>= 90). ``ratio`` is the loyal share of
    the top band over the "satisfied" band, the quantity behind the seeds' "6x as loyal" claim.
    """
    labels = ["dissatisfied", "satisfied", "highly satisfied", "completely satisfied"][: len(bands) - 1]
    table = outcome_by_band(index, loyal, bins=list(bands), labels=labels)
    by = table.set_index("band")["mean"]
    ratio = float(by.iloc[-1] / by.loc["satisfied"]) if by.get("satisfied", 0) > 0 else np.nan
    return {"table": table, "ratio_top_vs_satisfied": ratio}


def disconfirmation(perf: pd.DataFrame, *, quality: str = "Quality", expectation: str = "Expectation",
                    satisfaction: str = "Satisfaction") -> dict:
    """Return the expectation-disconfirmation view: ``d = quality - expectation`` (0-100 points).

    Fits ``satisfaction = a + b d + c quality`` by OLS (Oliver 1980: satisfaction rises with
    positive disconfirmation beyond what performance alone explains) and returns the
    coefficients, R^2, the share of respondents with d >= 0, and mean satisfaction by sign of d.
    """
    d = perf[quality] - perf[expectation]
    X = np.column_stack([np.ones(len(d)), d, perf[quality]])
    y = perf[satisfaction].to_numpy()
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    r2 = 1 - resid.var() / y.var()
    by_sign = perf[satisfaction].groupby(np.where(d >= 0, "confirmed or exceeded", "disconfirmed")).mean()
    return {"intercept": float(coef[0]), "slope_disconfirmation": float(coef[1]), "slope_quality": float(coef[2]),
            "r2": float(r2), "share_met_or_exceeded": float((d >= 0).mean()),
            "satisfaction_by_sign": {str(k): float(v) for k, v in by_sign.items()}, "disconfirmation": d}
