"""Measurement-model quality: reliability and validity of reflective indicator blocks.

Pure functions over answers, loadings and correlation matrices (no fitting, no I/O).
``reliability_table`` and ``validity_tables`` assemble them for a fitted ``PLSPM``.

References: Cronbach (1951) Psychometrika 16, 297-334; Fornell & Larcker (1981) J. Marketing
Research 18, 39-50 (AVE, composite reliability, the Fornell-Larcker criterion); Dijkstra &
Henseler (2015) MIS Quarterly 39(2), 297-316 (rho_A); Henseler, Ringle & Sarstedt (2015)
J. Academy of Marketing Science 43, 115-135 (HTMT); Hair et al. (2022) A Primer on PLS-SEM,
3rd ed. (thresholds: alpha, rho_c, rho_A >= 0.7; AVE >= 0.5; HTMT < 0.85/0.90).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


def cronbach_alpha(items: pd.DataFrame | np.ndarray) -> float:
    """Return Cronbach's alpha of a block of items (columns).

    ``alpha = k / (k - 1) * (1 - sum_i var(x_i) / var(sum_i x_i))`` with sample variances;
    1.0 for a single item (Cronbach 1951).
    """
    x = np.asarray(items, dtype=float)
    k = x.shape[1]
    if k < 2:
        return 1.0
    item_var = x.var(axis=0, ddof=1).sum()
    total_var = x.sum(axis=1).var(ddof=1)
    return float(k / (k - 1) * (1 - item_var / total_var))


def composite_reliability(loadings: Sequence[float]) -> float:
    """Return composite reliability (Joreskog's rho_c) of standardised loadings.

    ``rho_c = (sum l)^2 / ((sum l)^2 + sum (1 - l^2))`` (Fornell & Larcker 1981, eq. 10).
    """
    lam = np.asarray(loadings, dtype=float)
    num = lam.sum() ** 2
    return float(num / (num + (1 - lam**2).sum()))


def average_variance_extracted(loadings: Sequence[float]) -> float:
    """Return the AVE of standardised loadings: ``mean(l^2)`` (Fornell & Larcker 1981, eq. 11)."""
    lam = np.asarray(loadings, dtype=float)
    return float(np.mean(lam**2))


def rho_a_reliability(items: pd.DataFrame | np.ndarray, weights: Sequence[float]) -> float:
    """Return Dijkstra-Henseler's rho_A of a block given its outer weights.

    ``rho_A = (w'w)^2 * w'(S - diag S)w / w'(ww' - diag ww')w`` with ``S`` the item
    correlation matrix (Dijkstra & Henseler 2015, eq. 11); 1.0 for a single item.
    """
    x = np.asarray(items, dtype=float)
    w = np.asarray(weights, dtype=float)
    if x.shape[1] < 2:
        return 1.0
    S = np.corrcoef(x, rowvar=False)
    s_off = S - np.diag(np.diag(S))
    ww = np.outer(w, w)
    ww_off = ww - np.diag(np.diag(ww))
    return float((w @ w) ** 2 * (w @ s_off @ w) / (w @ ww_off @ w))


def htmt(data: pd.DataFrame, blocks: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Return the heterotrait-monotrait ratio for every pair of constructs (symmetric, NaN diagonal).

    ``HTMT_ij = mean |r(x_i, x_j)| over items of i x items of j  /
    sqrt(mean |r| within i * mean |r| within j)``, the within-block means over distinct
    item pairs; a single-item block has monotrait mean 1 (Henseler et al. 2015, eq. 6;
    absolute correlations as in seminr).
    """
    names = list(blocks)
    R = data[[i for c in names for i in blocks[c]]].corr().abs()
    mono = {}
    for c in names:
        items = list(blocks[c])
        if len(items) < 2:
            mono[c] = 1.0
        else:
            sub = R.loc[items, items].to_numpy()
            mono[c] = float(sub[np.triu_indices(len(items), 1)].mean())
    out = pd.DataFrame(np.nan, index=names, columns=names)
    for a_i, a in enumerate(names):
        for b in names[a_i + 1:]:
            hetero = float(R.loc[list(blocks[a]), list(blocks[b])].to_numpy().mean())
            out.loc[a, b] = out.loc[b, a] = hetero / np.sqrt(mono[a] * mono[b])
    return out


def fornell_larcker(latent_correlation: pd.DataFrame, ave: pd.Series) -> pd.DataFrame:
    """Return the Fornell-Larcker table: sqrt(AVE) on the diagonal, construct correlations below.

    Discriminant validity holds for construct i when ``sqrt(AVE_i)`` exceeds its
    correlation with every other construct (Fornell & Larcker 1981).
    """
    names = list(latent_correlation.index)
    values = latent_correlation.loc[names, names].to_numpy(dtype=float).copy()
    values[np.triu_indices(len(names), 1)] = np.nan
    values[np.diag_indices(len(names))] = np.sqrt(ave[names].to_numpy(dtype=float))
    return pd.DataFrame(values, index=names, columns=names)


def fornell_larcker_holds(table: pd.DataFrame) -> pd.Series:
    """Return, per construct, whether sqrt(AVE) beats all its correlations in a Fornell-Larcker table."""
    full = table.combine_first(table.T)
    out = {}
    for c in full.index:
        others = full.loc[c].drop(c).abs()
        out[c] = bool((full.loc[c, c] > others).all())
    return pd.Series(out)


def reliability_table(fit, data: pd.DataFrame) -> pd.DataFrame:
    """Return one row per construct of a fitted ``PLSPM``: alpha, rho_c, rho_A, AVE, n_items.

    Loadings are the fitted outer loadings (PLSc loadings when the model is consistent).
    """
    rows = []
    for c, items in fit.model.blocks.items():
        lam = fit.outer_loadings_.loc[list(items), c].to_numpy()
        rows.append({
            "construct": c, "n_items": len(items),
            "alpha": cronbach_alpha(data[list(items)]),
            "rho_c": composite_reliability(lam),
            "rho_A": float(fit.rho_a_[c]),
            "AVE": average_variance_extracted(lam),
        })
    return pd.DataFrame(rows).set_index("construct")


def cross_loadings(fit) -> pd.DataFrame:
    """Return every indicator's correlation with every construct score, with its own block marked."""
    out = fit.cross_loadings_.copy()
    owner = {item: c for c, items in fit.model.blocks.items() for item in items}
    out.insert(0, "construct", [owner[i] for i in out.index])
    return out


def cross_loading_violations(fit) -> list[str]:
    """Return the indicators that correlate more with another construct than with their own."""
    table = cross_loadings(fit)
    bad = []
    for item, row in table.iterrows():
        own = row[row["construct"]]
        others = row.drop(["construct", row["construct"]]).astype(float)
        if (others.abs() >= abs(own)).any():
            bad.append(item)
    return bad


def htmt_from_correlation(R: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Return the HTMT matrix (constructs x constructs, NaN diagonal) from indicator correlations.

    ``R`` is p x p, or a stack (draws, p, p); ``membership`` the p x m 0/1 block matrix. With
    ``A = |R|`` and ``k`` the block sizes: heterotrait mean ``(M'AM)_ij / (k_i k_j)``, monotrait mean
    ``((M'AM)_ii - k_i) / (k_i (k_i - 1))`` (1 for a single item), HTMT = hetero / sqrt(mono_i mono_j)
    (Henseler et al. 2015, eq. 6; the same numbers as ``htmt``, vectorised over bootstrap draws).
    """
    M = np.asarray(membership, dtype=float)
    k = M.sum(axis=0)
    sums = M.T @ np.abs(R) @ M
    diag = np.diagonal(sums, axis1=-2, axis2=-1)
    mono = np.where(k > 1, (diag - k) / np.maximum(k * (k - 1), 1), 1.0)
    out = sums / np.outer(k, k) / np.sqrt(mono[..., :, None] * mono[..., None, :])
    idx = np.arange(len(k))
    out[..., idx, idx] = np.nan
    return out


def bootstrap_htmt(data: pd.DataFrame, blocks: Mapping[str, Sequence[str]], *, n_boot: int = 1000, seed: int,
                   level: float = 0.95, thresholds=(0.85, 0.90), indices=None) -> pd.DataFrame:
    """Return bootstrap inference for every HTMT pair: estimate, mean, sd, percentile CI, upper bound, tests.

    Respondents are resampled with replacement (draw b uses ``default_rng(seed).integers(0, n, n)``
    in order, the resampling of ``bootstrap_paths`` and of seminr's default resampler; ``indices``, an
    n_boot x n matrix, replaces it). ``ci_low``/``ci_high`` bound the two-sided percentile interval at
    ``level``; ``upper`` is the one-sided ``level`` bound (the ``level`` quantile). HTMT_inference
    (Henseler et al. 2015; Franke & Sarstedt 2019, Internet Research 29(3)): discriminant validity
    at threshold h is established when ``upper < h`` (H0: HTMT >= h rejected at 1 - level); columns
    ``below_0.85`` and ``below_0.9``.
    """
    names = list(blocks)
    items = [i for c in names for i in blocks[c]]
    x = data[items].to_numpy(dtype=float)
    n = len(x)
    membership = np.zeros((len(items), len(names)))
    for j, c in enumerate(names):
        membership[[items.index(i) for i in blocks[c]], j] = 1
    if indices is None:
        rng = np.random.default_rng(seed)
        indices = np.array([rng.integers(0, n, n) for _ in range(n_boot)])
    indices = np.asarray(indices)
    samples = x[indices]                                            # draws x n x p
    centred = samples - samples.mean(axis=1, keepdims=True)
    cov = np.matmul(centred.transpose(0, 2, 1), centred)
    sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = htmt_from_correlation(cov / (sd[:, :, None] * sd[:, None, :]), membership)
    point = htmt_from_correlation(np.corrcoef(x, rowvar=False), membership)
    a = (1 - level) / 2
    rows = []
    for i, ci in enumerate(names):
        for j in range(i + 1, len(names)):
            d = draws[:, i, j]
            d = d[np.isfinite(d)]
            low, high, upper = np.quantile(d, [a, 1 - a, level])
            row = {"construct_1": ci, "construct_2": names[j], "htmt": float(point[i, j]), "boot_mean": float(d.mean()),
                   "boot_sd": float(d.std(ddof=1)), "ci_low": float(low), "ci_high": float(high),
                   "upper": float(upper), "n_draws": len(d)}
            row.update({f"below_{h:g}": bool(upper < h) for h in thresholds})
            rows.append(row)
    return pd.DataFrame(rows)
