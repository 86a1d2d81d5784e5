"""Bootstrap inference for PLS path models and Monte Carlo parameter recovery.

Bootstrap (Efron & Tibshirani 1993; Hair et al. 2022, ch. 5): resample respondents with
replacement, refit, and read percentile confidence intervals of the direct, indirect and
total effects. The draws are fitted together (``pls._estimate_many``: the correlation-matrix PLS
vectorised over draws), about 0.1 ms of CPU per draw on mobi's ECSI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_study.progress import progress
from recsys_study.satisfaction.pls import PLSPM, _estimate_many, _ols_paths, correlation, correlations, total_effects


@dataclass
class BootstrapResult:
    """Bootstrap draws of every effect and their percentile-CI summary."""

    draws: pd.DataFrame        # one row per draw, columns "effect:source->target"
    summary: pd.DataFrame      # source, target, effect, estimate, boot_mean, boot_sd, ci_low, ci_high, t
    n_boot: int
    n_failed: int
    level: float


def _effect_vector(paths: np.ndarray, pairs, index) -> np.ndarray:
    total = total_effects(paths)
    out = []
    for kind, a, b in pairs:
        i, j = index[a], index[b]
        out.append({"direct": paths, "indirect": total - paths, "total": total}[kind][i, j])
    return np.array(out)


def bootstrap_paths(estimator: PLSPM, data: pd.DataFrame, *, n_boot: int = 500, seed: int,
                    level: float = 0.95) -> BootstrapResult:
    """Return bootstrap percentile CIs of direct paths and of indirect/total effects.

    ``estimator`` is a fitted ``PLSPM`` (its settings are reused; PLSc draws stay PLSc).
    A draw whose iterations fail to converge is dropped and counted in ``n_failed``.
    """
    if n_boot < 20:
        raise ValueError(f"n_boot={n_boot} is too few for percentile intervals; use at least 20 (500+ to report).")
    fitted = estimator.effects()
    names = list(estimator.model.constructs)
    index = {c: i for i, c in enumerate(names)}
    pairs = [("direct", a, b) for a, b in estimator.model.paths]
    for _, row in fitted.iterrows():
        if abs(row["indirect"]) > 0:
            pairs += [("indirect", row["source"], row["target"]), ("total", row["source"], row["target"])]
    point = _effect_vector(estimator.path_coefficients_.to_numpy(), pairs, index)
    x = estimator._matrix(data)
    rng = np.random.default_rng(seed)
    # one index vector per draw, in order (the resampling seminr's default resampler does with the same seed)
    indices = np.array([rng.integers(0, len(x), len(x)) for _ in range(n_boot)])
    _, mask, adjacency, mode_b = estimator._structure()
    kinds = {"direct": 0, "indirect": 1, "total": 2}
    pick = (np.array([kinds[k] for k, _, _ in pairs]), np.array([index[a] for _, a, _ in pairs]),
            np.array([index[b] for _, _, b in pairs]))
    eye = np.eye(len(names))
    draws, failed = [], 0
    chunk = max(1, min(n_boot, 2_000_000 // (len(x) * x.shape[1])))   # ~16 MB of resampled answers at a time
    for start in progress(range(0, n_boot, chunk), desc="bootstrap"):
        samples = x[indices[start:start + chunk]]
        ok = ~(samples.std(axis=1) == 0).any(axis=1)
        fits = _estimate_many(correlations(samples[ok]), mask, adjacency, mode_b, scheme=estimator.scheme,
                              consistent=estimator.consistent, max_iter=estimator.max_iter, tol=estimator.tol)
        failed += int((~ok).sum() + (~fits.converged).sum())
        paths = fits.paths[fits.converged]
        inverse = np.linalg.solve(eye - paths.transpose(0, 2, 1), np.broadcast_to(eye, paths.shape))
        total = inverse.transpose(0, 2, 1) - eye          # (I - B)^-1 - I, as total_effects
        effects = np.stack([paths, total - paths, total], axis=1)        # draws x kind x m x m
        draws.append(effects[:, pick[0], pick[1], pick[2]])
    draws = np.concatenate(draws) if draws else np.empty((0, len(pairs)))
    alpha = (1 - level) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha], axis=0)
    sd = draws.std(axis=0, ddof=1)
    summary = pd.DataFrame({
        "source": [p[1] for p in pairs], "target": [p[2] for p in pairs], "effect": [p[0] for p in pairs],
        "estimate": point, "boot_mean": draws.mean(axis=0), "boot_sd": sd, "ci_low": low, "ci_high": high,
        "t": point / sd,
    })
    columns = [f"{k}:{a}->{b}" for k, a, b in pairs]
    return BootstrapResult(pd.DataFrame(draws, columns=columns), summary, n_boot, failed, level)


def recovery_table(estimates: pd.DataFrame, truth: pd.DataFrame, *, tolerance: float = 0.05) -> pd.DataFrame:
    """Return per path: true value, estimate, error, and whether |error| <= ``tolerance``.

    ``estimates`` has source, target, estimate (and optionally ci_low, ci_high, which add ``covered``);
    ``truth`` has source, target, value.
    """
    out = truth.merge(estimates, on=["source", "target"], how="left")
    out["error"] = out["estimate"] - out["value"]
    out["within_tolerance"] = out["error"].abs() <= tolerance
    if {"ci_low", "ci_high"} <= set(out.columns):
        out["covered"] = (out["ci_low"] <= out["value"]) & (out["value"] <= out["ci_high"])
    return out


def oracle_paths(latent: pd.DataFrame, model) -> pd.DataFrame:
    """Return OLS paths on the *true* construct scores of a simulated survey (standardised per sample).

    No estimator can use these scores, so they set the sampling floor: what is left of a path's
    error once measurement error is gone. Their spread is the standard error of a standardised
    regression coefficient, ``sqrt((1 - R^2_y) / (n (1 - R^2_j)))`` (Cohen et al. 2003, eq. 3.6.1),
    about 0.024 for a single path of 0.5 at n = 1,000.
    """
    names = list(model.constructs)
    B, _ = _ols_paths(correlation(latent[names].to_numpy()), model.adjacency())  # PLS's own structural step
    index = {c: i for i, c in enumerate(names)}
    return pd.DataFrame([{"source": a, "target": b, "estimate": float(B[index[a], index[b]])}
                         for a, b in model.paths])


def monte_carlo_recovery(model: str = "ecsi", n: int = 1000, replications: int = 20, *, seed: int,
                         scale: int = 10, n_boot: int = 0, oracle: bool = True,
                         tolerance: float = 0.05) -> pd.DataFrame:
    """Return one row per (replication, path, estimator): estimate, error, within tolerance, covered.

    Each replication draws a fresh survey of ``n`` respondents and fits plain PLS (mode A) and
    PLSc; ``oracle=True`` adds OLS on the true construct scores (``oracle_paths``), the best any
    estimator could do with this sample. With ``n_boot > 0`` every PLSc fit also gets percentile
    bootstrap CIs, so ``covered`` (CI contains the truth) gives the coverage rate of the 95%
    intervals. Plain PLS attenuates paths because its composites contain measurement error; PLSc
    corrects them (Dijkstra & Henseler 2015, whose simulation judges estimators the same way:
    bias and spread over replications, not the error of one sample).
    """
    from recsys_study.data.survey import simulate_survey

    rows = []
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, replications)
    for rep, rep_seed in progress(enumerate(seeds), desc="recovery replications", total=len(seeds)):
        survey = simulate_survey(model, n, seed=int(rep_seed), scale=scale)
        for label, consistent in (("PLS", False), ("PLSc", True)):
            fit = PLSPM(survey.model, consistent=consistent).fit(survey.data)
            estimates = fit.paths()
            if consistent and n_boot:
                boot = bootstrap_paths(fit, survey.data, n_boot=n_boot, seed=int(rep_seed))
                estimates = boot.summary[boot.summary.effect == "direct"]
            table = recovery_table(estimates, survey.true_paths, tolerance=tolerance)
            rows.append(table.assign(replication=rep, estimator=label))
        if oracle:
            table = recovery_table(oracle_paths(survey.latent, survey.model), survey.true_paths, tolerance=tolerance)
            rows.append(table.assign(replication=rep, estimator="oracle"))
    return pd.concat(rows, ignore_index=True)


def summarise_recovery(runs: pd.DataFrame) -> pd.DataFrame:
    """Return per (estimator, path): truth, mean estimate, bias, relative bias, sd, RMSE,
    share of replications within tolerance and (where CIs were drawn) CI coverage rate."""
    runs = runs.assign(sq_error=runs["error"] ** 2, within=runs["within_tolerance"].astype(float))
    agg = {"value": ("value", "first"), "mean_estimate": ("estimate", "mean"), "sd": ("estimate", "std"),
           "mse": ("sq_error", "mean"), "share_within": ("within", "mean")}
    if "covered" in runs:
        runs["covered"] = runs["covered"].astype(float)
        agg["coverage"] = ("covered", "mean")
    out = runs.groupby(["estimator", "source", "target"], sort=False).agg(**agg).reset_index()
    out["bias"] = out["mean_estimate"] - out["value"]
    out["relative_bias"] = out["bias"] / out["value"].abs()
    out["rmse"] = np.sqrt(out.pop("mse"))
    return out


def recovery_pass_rates(runs: pd.DataFrame, *, min_covered: int | None = None) -> pd.DataFrame:
    """Return per estimator how often a *single* replication meets the recovery bar.

    Columns: replications, all_within (share of replications with every path within the
    tolerance used in ``runs``), mean_within (paths within, on average), max_abs_error (median
    over replications), and, where CIs were drawn, mean_coverage and covered_at_least (share of
    replications whose CIs cover the truth for at least ``min_covered`` paths; default all but one).
    """
    per_rep = runs.groupby(["estimator", "replication"], sort=False).agg(
        all_within=("within_tolerance", "all"), n_within=("within_tolerance", "sum"),
        max_abs_error=("error", lambda e: e.abs().max()), n_paths=("error", "size"))
    if "covered" in runs:
        per_rep["n_covered"] = runs.groupby(["estimator", "replication"], sort=False)["covered"].sum(min_count=1)
    g = per_rep.groupby(level="estimator", sort=False)
    out = pd.DataFrame({"replications": g.size(), "all_within": g["all_within"].mean(),
                        "mean_within": g["n_within"].mean(), "max_abs_error": g["max_abs_error"].median()})
    if "n_covered" in per_rep:
        need = min_covered if min_covered is not None else int(per_rep["n_paths"].max()) - 1
        covered = per_rep.dropna(subset=["n_covered"])
        gc = covered.groupby(level="estimator", sort=False)
        out["mean_coverage"] = gc["n_covered"].sum() / gc["n_paths"].sum()
        out["covered_at_least"] = gc["n_covered"].apply(lambda c: float((c >= need).mean()))
    return out.reset_index()


def recovery_by_sample_size(model: str = "ecsi", sizes=(250, 500, 1000, 2000, 4000), replications: int = 50, *,
                            seed: int, scale: int = 10, tolerance: float = 0.05) -> pd.DataFrame:
    """Return, per sample size and estimator (PLS, PLSc, oracle), the single-replication pass rates.

    Answers the planning question "how many respondents until *every* path lands within
    ``tolerance`` of the truth in a typical survey?" (``recovery_pass_rates`` per size).
    """
    out = []
    for i, size in enumerate(sizes):
        runs = monte_carlo_recovery(model, int(size), replications, seed=seed + i, scale=scale, tolerance=tolerance)
        out.append(recovery_pass_rates(runs).assign(n=int(size)))
    return pd.concat(out, ignore_index=True)
