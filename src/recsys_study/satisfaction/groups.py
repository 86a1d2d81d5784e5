"""Two groups of respondents: measurement invariance (MICOM) and multigroup tests of the paths.

MICOM (Henseler, Ringle & Sarstedt 2016, International Marketing Review 33(3), 405-431), three steps:

1. **configural invariance**: the same indicators, the same data treatment and the same algorithm
   settings in both groups (true by construction here; checked: no indicator constant within a
   group and the PLS iterations converge in each);
2. **compositional invariance**: ``c = cor(X w_1, X w_2)`` for every construct, the correlation of
   the composite built on the pooled, standardised indicators ``X`` with group 1's and with group 2's
   outer weights. It holds when ``c`` is not below the 5% quantile of ``c`` under random permutations
   of the group labels (one-sided, ``p = share of permuted c <= c``);
3. **equal composite means and variances**: with pooled weights on the pooled standardised data, the
   difference of the groups' mean scores and of their log variances must lie inside the 2.5-97.5%
   range of the permutation distribution. Steps 1 + 2 give *partial* invariance (group paths may be
   compared), 1 + 2 + 3 *full* invariance (the data may be pooled).

Multigroup path tests on the same groups:

- **permutation test** (Chin & Dibbern 2010, in Handbook of Partial Least Squares, 171-193): the
  difference ``beta_1 - beta_2`` of each path estimated in each group, against its distribution under
  permuted labels, ``p = share of |permuted difference| >= |observed difference|``;
- **Henseler's PLS-MGA** (Henseler, Ringle & Sinkovics 2009, Advances in International Marketing 20,
  277-319): from J bootstrap draws per group,
  ``p = 1 - J^-2 sum_j sum_k Theta(2 mean(beta_1) - beta_1j - 2 mean(beta_2) + beta_2k)``
  (``Theta`` the unit step): p near 0 says beta_1 > beta_2, near 1 beta_1 < beta_2; two-sided
  ``2 min(p, 1 - p)``. seminr 0.2.1's ``estimate_pls_mga`` (resampling with the same seed per group).

Permutations re-estimate both groups (``pls._estimate_many``: all permutations' fits vectorised),
about 0.5 ms of CPU per permutation on mobi's ECSI.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from recsys_study.progress import progress
from recsys_study.satisfaction.inference import bootstrap_paths
from recsys_study.satisfaction.pls import PLSPM, _estimate, _estimate_many, correlation, correlations


@dataclass
class GroupComparison:
    """MICOM and the permutation test of path differences for two groups."""

    micom: pd.DataFrame        # one row per construct (steps 2 and 3, verdict)
    configural: dict           # step 1 checks
    paths: pd.DataFrame        # one row per path: group estimates, difference, permutation p
    labels: tuple[str, str]
    sizes: tuple[int, int]
    n_permutations: int

    def invariance(self) -> str:
        """Return "full", "partial" or "none": the weakest MICOM verdict over the constructs."""
        if not all(self.configural.values()):
            return "none"
        order = {"none": 0, "partial": 1, "full": 2}
        return min(self.micom["invariance"], key=order.__getitem__)


def _as_groups(groups, n: int) -> tuple[np.ndarray, tuple[str, str]]:
    """Return a boolean array (True = first group) and the two labels from a two-valued grouping."""
    values = pd.Series(np.asarray(groups))
    if len(values) != n:
        raise ValueError(f"groups has {len(values)} entries for {n} respondents; give one label per row.")
    levels = list(pd.unique(values.dropna()))
    if values.isna().any() or len(levels) != 2:
        raise ValueError(f"groups must take exactly two values with no gaps; found {levels} "
                         f"({int(values.isna().sum())} missing). Split the data into two groups first.")
    if values.dtype == bool:
        levels = [True, False]
    first = (values == levels[0]).to_numpy()
    return first, (str(levels[0]), str(levels[1]))


def _group_fit(estimator: PLSPM, x: np.ndarray, structure):
    _, mask, adjacency, mode_b = structure
    return _estimate(correlation(x), mask, adjacency, mode_b, scheme=estimator.scheme,
                     consistent=estimator.consistent, max_iter=estimator.max_iter, tol=estimator.tol)


def compare_groups(estimator: PLSPM, data: pd.DataFrame, groups, *, n_permutations: int = 500, seed: int,
                   level: float = 0.95) -> GroupComparison:
    """Return MICOM (three steps) and the permutation test of every path between two groups.

    ``groups``: one label per row of ``data``, exactly two distinct values (a boolean: True is the
    first group). One set of ``n_permutations`` label permutations (``default_rng(seed)``) serves
    MICOM's steps 2 and 3 and the path test. ``level`` sets the quantiles of steps 2 and 3.
    """
    if n_permutations < 20:
        raise ValueError(f"n_permutations={n_permutations} is too few; use at least 20 (500+ to report).")
    structure = estimator._structure()
    items, mask, adjacency, _ = structure
    names = list(estimator.model.constructs)
    x = estimator._matrix(data)
    first, labels = _as_groups(groups, len(x))
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    path_index = [(names.index(a), names.index(b)) for a, b in estimator.model.paths]

    def split_stats(labels_first: np.ndarray):
        """Fit both groups for a stack of splits (rows of ``labels_first``); return c, differences, fits, ok."""
        rows_1 = np.array([np.flatnonzero(f) for f in labels_first])
        rows_2 = np.array([np.flatnonzero(~f) for f in labels_first])
        x1, x2 = x[rows_1], x[rows_2]
        ok = ~((x1.std(axis=1) == 0).any(axis=1) | (x2.std(axis=1) == 0).any(axis=1))
        _, mask_, adjacency_, mode_b = structure
        settings = dict(scheme=estimator.scheme, consistent=estimator.consistent, max_iter=estimator.max_iter,
                        tol=estimator.tol)
        f1 = _estimate_many(correlations(x1[ok]), mask_, adjacency_, mode_b, **settings)
        f2 = _estimate_many(correlations(x2[ok]), mask_, adjacency_, mode_b, **settings)
        s1, s2 = np.matmul(z, f1.weights), np.matmul(z, f2.weights)          # draws x n x m
        s1, s2 = s1 - s1.mean(axis=1, keepdims=True), s2 - s2.mean(axis=1, keepdims=True)
        c = (s1 * s2).sum(axis=1) / np.sqrt((s1**2).sum(axis=1) * (s2**2).sum(axis=1))
        rows, cols = np.array(path_index).T
        diff = f1.paths[:, rows, cols] - f2.paths[:, rows, cols]
        return c, diff, f1, f2, ok

    c_all, diff_all, f1, f2, ok = split_stats(first[None])
    if not ok[0]:
        raise ValueError("an indicator is constant within one group; drop it or merge sparse groups.")
    c_obs, diff_obs = c_all[0], diff_all[0]
    pooled = _group_fit(estimator, x, structure)
    scores = z @ pooled.weights            # pooled weights, pooled standardisation: unit variance overall

    def moments(labels_first):
        """Return per split (row) and construct the difference of mean scores and of log variances."""
        out = []
        for member in (labels_first, ~labels_first):
            k = member.sum(axis=1, keepdims=True)
            mean = member @ scores / k
            out.append((mean, (member @ scores**2 - k * mean**2) / (k - 1)))
        (m1, v1), (m2, v2) = out
        return m1 - m2, np.log(v1) - np.log(v2)

    mean_obs, logvar_obs = (v[0] for v in moments(first[None]))
    rng = np.random.default_rng(seed)
    shuffles = np.array([rng.permutation(first) for _ in range(n_permutations)])
    c_perm, diff_perm, fits_1, fits_2, kept = [], [], [], [], []
    for start in progress(range(0, n_permutations, 100), desc="permutations"):
        c, d, _, _, ok = split_stats(shuffles[start:start + 100])
        c_perm.append(c)
        diff_perm.append(d)
        kept.append(ok)
    kept = np.concatenate(kept)
    failed = int((~kept).sum())
    mean_perm, var_perm = moments(shuffles[kept])
    c_perm, diff_perm = np.concatenate(c_perm), np.concatenate(diff_perm)
    f1 = SimpleNamespace(paths=f1.paths[0], converged=bool(f1.converged[0]))
    f2 = SimpleNamespace(paths=f2.paths[0], converged=bool(f2.converged[0]))
    a = (1 - level) / 2
    c_q = np.quantile(c_perm, 1 - level, axis=0)
    mean_lo, mean_hi = np.quantile(mean_perm, [a, 1 - a], axis=0)
    var_lo, var_hi = np.quantile(var_perm, [a, 1 - a], axis=0)
    micom = pd.DataFrame({
        "construct": names, "c": c_obs, "c_quantile": c_q, "p_composition": (c_perm <= c_obs).mean(axis=0),
        "mean_difference": mean_obs, "mean_low": mean_lo, "mean_high": mean_hi,
        "p_mean": (np.abs(mean_perm) >= np.abs(mean_obs)).mean(axis=0),
        "log_variance_ratio": logvar_obs, "variance_low": var_lo, "variance_high": var_hi,
        "p_variance": (np.abs(var_perm) >= np.abs(logvar_obs)).mean(axis=0),
    })
    single = np.array([mask[:, k].sum() == 1 for k in range(len(names))])
    # a single-item composite is its (standardised) item in every group: c = 1 by construction
    micom["compositional"] = single | (micom["c"] >= micom["c_quantile"])
    micom["equal_means"] = micom["mean_difference"].between(micom["mean_low"], micom["mean_high"])
    micom["equal_variances"] = micom["log_variance_ratio"].between(micom["variance_low"], micom["variance_high"])
    micom["invariance"] = np.where(~micom["compositional"], "none",
                                   np.where(micom["equal_means"] & micom["equal_variances"], "full", "partial"))
    configural = {"same_indicators_and_settings": True, "no_constant_indicator_in_a_group": True,
                  "converged_in_both_groups": bool(f1.converged and f2.converged)}
    paths = pd.DataFrame({
        "source": [p[0] for p in estimator.model.paths], "target": [p[1] for p in estimator.model.paths],
        f"estimate_{labels[0]}": [f1.paths[i, j] for i, j in path_index],
        f"estimate_{labels[1]}": [f2.paths[i, j] for i, j in path_index],
        "difference": diff_obs,
        "perm_low": np.quantile(diff_perm, a, axis=0), "perm_high": np.quantile(diff_perm, 1 - a, axis=0),
        "p_permutation": (np.abs(diff_perm) >= np.abs(diff_obs)).mean(axis=0),
    })
    return GroupComparison(micom, configural, paths, labels, (int(first.sum()), int((~first).sum())),
                           n_permutations - failed)


def henseler_p(boot_1, boot_2) -> float:
    """Return Henseler's PLS-MGA p: ``1 - J^-2 sum_jk Theta(2 mean(b1) - b1_j - 2 mean(b2) + b2_k)``.

    Both arrays hold J bootstrap draws of one path (one per group); ``Theta(x) = 1`` for x > 0.
    """
    b1, b2 = np.asarray(boot_1, dtype=float), np.asarray(boot_2, dtype=float)
    if len(b1) != len(b2):
        raise ValueError(f"henseler_p needs the same number of draws per group, got {len(b1)} and {len(b2)}.")
    left = 2 * b1.mean() - b1 - 2 * b2.mean()
    return float(1 - np.count_nonzero(left[:, None] + b2[None, :] > 0) / len(b1) ** 2)


def pls_mga(estimator: PLSPM, data: pd.DataFrame, groups, *, n_boot: int = 500, seed: int) -> pd.DataFrame:
    """Return Henseler's PLS-MGA per path: group estimates, bootstrap means, difference, p and two-sided p.

    Each group is fitted with ``estimator``'s settings and bootstrapped ``n_boot`` times with the
    same ``seed`` (``bootstrap_paths``; seminr's ``estimate_pls_mga`` resamples the same way), both
    truncated to the smaller number of successful draws J.
    """
    x = estimator._matrix(data)
    first, labels = _as_groups(groups, len(x))
    fits, draws = [], []
    for part in (first, ~first):
        sub = data.iloc[np.flatnonzero(part)]
        fit = PLSPM(estimator.model, scheme=estimator.scheme, consistent=estimator.consistent,
                    max_iter=estimator.max_iter, tol=estimator.tol).fit(sub)
        fits.append(fit)
        draws.append(bootstrap_paths(fit, sub, n_boot=n_boot, seed=seed).draws)
    j = min(len(d) for d in draws)
    rows = []
    for a, b in estimator.model.paths:
        col = f"direct:{a}->{b}"
        b1, b2 = draws[0][col].to_numpy()[:j], draws[1][col].to_numpy()[:j]
        p = henseler_p(b1, b2)
        e1, e2 = float(fits[0].path_coefficients_.loc[a, b]), float(fits[1].path_coefficients_.loc[a, b])
        rows.append({"source": a, "target": b, f"estimate_{labels[0]}": e1, f"estimate_{labels[1]}": e2,
                     "difference": e1 - e2, f"boot_mean_{labels[0]}": b1.mean(), f"boot_mean_{labels[1]}": b2.mean(),
                     "p_mga": float(p), "p_two_sided": float(2 * min(p, 1 - p)), "n_draws": j})
    return pd.DataFrame(rows)
