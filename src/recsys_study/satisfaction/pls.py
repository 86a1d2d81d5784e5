"""PLS path modelling (Wold's algorithm, Lohmöller's schemes) and consistent PLS (PLSc).

Our own engine, written on the indicator correlation matrix ``S`` so that a fit (and
every bootstrap draw) costs a few products of p x p matrices. It reproduces seminr
0.2.1 / R seminr (tests/test_pls.py checks both the published mobi paths and seminr
itself on the full ECSI model).

Algorithm (Lohmöller 1989; Tenenhaus et al. 2005, sec. 2)
-------------------------------------------------------
Indicators are z-scored (sample sd). Start with unit outer weights ``w``; repeat
  1. outer estimate  ``Y_c = X_c w_c`` scaled to unit variance;
  2. inner weights   ``e_cd``: path scheme (regression coefficient of d on its
     predecessors c, correlation for successors), factorial ``cor(Y_c, Y_d)`` or
     centroid ``sign(cor)``, for adjacent c, d;
  3. inner estimate  ``Z_c = sum_d e_cd Y_d`` scaled to unit variance;
  4. outer weights   mode A ``w_c = cov(X_c, Z_c)``; mode B ``w_c = S_cc^-1 cor(X_c, Z_c)``;
until ``sum |w_new - w_old| < tol``. Paths are OLS of each endogenous score on its
antecedents; loadings ``cov(x, Y)``.

PLSc (Dijkstra & Henseler 2015, Consistent PLS path modeling, MIS Quarterly 39(2)) divides
the score correlations by ``sqrt(rho_A,i rho_A,j)`` with
``rho_A = (w'w)^2 w'(S - diag S)w / w'(ww' - diag ww')w`` and re-estimates paths and R^2
from the corrected correlations; reflective loadings become ``w sqrt(rho_A) / (w'w)``.
Only multi-indicator mode-A constructs are corrected (``rho_A = 1`` otherwise).

``_estimate_many`` runs the same iterations on a stack of correlation matrices at once (bootstrap
draws, label permutations), each draw stopping at its own tolerance; it
agrees with ``_estimate`` draw by draw to 1e-15 (PLS) and 1e-10 (PLSc).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_study.satisfaction.models import PathModel

SCHEMES = ("path", "factorial", "centroid")


class PLSConvergenceWarning(UserWarning):
    """The PLS iterations stopped at ``max_iter`` without meeting ``tol``."""


@dataclass
class _Fit:
    weights: np.ndarray      # p x m, outer weights giving unit-variance scores
    loadings: np.ndarray     # p x m, masked to own block
    cross: np.ndarray        # p x m, cor(indicator, score) for every construct
    paths: np.ndarray        # m x m, [source, target]
    r2: np.ndarray           # m, NaN for exogenous constructs
    rho_a: np.ndarray        # m
    latent_cor: np.ndarray   # m x m, (corrected if consistent) construct correlations
    n_iter: int
    converged: bool


def correlation(x: np.ndarray) -> np.ndarray:
    """Return the Pearson correlation matrix of the columns of ``x`` (sample moments)."""
    z = x - x.mean(axis=0)
    cov = z.T @ z / (len(x) - 1)
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def _ols_paths(cor: np.ndarray, adjacency: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return standardised OLS path matrix ``B[source, target]`` and R^2 from a correlation matrix."""
    m = len(cor)
    paths = np.zeros((m, m))
    r2 = np.full(m, np.nan)
    for j in range(m):
        ante = np.flatnonzero(adjacency[:, j])
        if ante.size:
            beta = np.linalg.solve(cor[np.ix_(ante, ante)], cor[ante, j])
            paths[ante, j] = beta
            r2[j] = float(beta @ cor[ante, j])
    return paths, r2


def _inner_weights(cor: np.ndarray, adjacency: np.ndarray, scheme: str) -> np.ndarray:
    """Return ``E`` so that the inner estimate of construct j is ``sum_i E[i, j] Y_i``."""
    linked = adjacency + adjacency.T
    if scheme == "factorial":
        return cor * linked
    if scheme == "centroid":
        return np.sign(cor) * linked
    # path weighting: successors contribute their correlation, predecessors their beta
    inner = cor * adjacency.T
    betas, _ = _ols_paths(cor, adjacency)
    return np.where(adjacency > 0, betas, inner)


def rho_a(S: np.ndarray, weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return Dijkstra-Henseler's rho_A per construct (column of ``weights``).

    ``rho_A = (w'w)^2 * w'(S - diag S)w / w'(ww' - diag ww')w`` over the block's
    indicators; 1 for single-indicator blocks (Dijkstra & Henseler 2015, eq. 11).
    """
    out = np.ones(weights.shape[1])
    for c in range(weights.shape[1]):
        idx = np.flatnonzero(mask[:, c])
        if idx.size < 2:
            continue
        w = weights[idx, c]
        s_off = S[np.ix_(idx, idx)] - np.diag(np.diag(S[np.ix_(idx, idx)]))
        ww = np.outer(w, w)
        ww_off = ww - np.diag(np.diag(ww))
        out[c] = (w @ w) ** 2 * (w @ s_off @ w) / (w @ ww_off @ w)
    return out


def _estimate(S, mask, adjacency, mode_b, *, scheme, consistent, max_iter, tol) -> _Fit:
    """Run PLS (and PLSc) on the indicator correlation matrix ``S``; see the module docstring."""
    W = mask.astype(float).copy()
    blocks = [np.flatnonzero(mask[:, c]) for c in range(mask.shape[1])]
    n_iter, converged = 0, False
    W = W / np.sqrt(np.einsum("ic,ij,jc->c", W, S, W))
    for n_iter in range(1, max_iter + 1):
        latent = W.T @ S @ W                      # score correlations (unit variances)
        E = _inner_weights(latent, adjacency, scheme)
        proxy_var = np.einsum("ic,ij,jc->c", E, latent, E)
        cov_x_proxy = (S @ W @ E) / np.sqrt(proxy_var)   # cov(x, standardised inner proxy)
        new = np.zeros_like(W)
        for c, idx in enumerate(blocks):
            if mode_b[c] and idx.size > 1:
                new[idx, c] = np.linalg.solve(S[np.ix_(idx, idx)], cov_x_proxy[idx, c])
            else:
                new[idx, c] = cov_x_proxy[idx, c]
        new = new / np.sqrt(np.einsum("ic,ij,jc->c", new, S, new))
        diff = float(np.abs(new - W).sum())
        W = new
        if diff < tol:
            converged = True
            break
    latent = W.T @ S @ W
    cross = S @ W
    loadings = cross * mask
    rho = rho_a(S, W, mask) if consistent else np.ones(W.shape[1])
    if consistent:
        rho = np.where(np.asarray(mode_b), 1.0, rho)
        latent = latent / np.sqrt(np.outer(rho, rho))
        np.fill_diagonal(latent, 1.0)
        reflective = np.array([not b and len(idx) > 1 for b, idx in zip(mode_b, blocks)])
        wtw = (W**2).sum(axis=0)
        loadings = np.where(reflective, W * np.sqrt(rho) / wtw, loadings) * mask
    paths, r2 = _ols_paths(latent, adjacency)
    return _Fit(W, loadings, cross, paths, r2, rho, latent, n_iter, converged)


def total_effects(paths: np.ndarray) -> np.ndarray:
    """Return total effects ``T = B + B^2 + ... = (I - B)^-1 - I`` of a recursive path matrix ``B``."""
    eye = np.eye(len(paths))
    return np.linalg.solve(eye - paths.T, eye).T - eye


class PLSPM:
    """PLS path model estimator (scikit-learn convention: ``PLSPM(model, ...).fit(data)``).

    Parameters
    ----------
    model : PathModel -- blocks, paths and outer modes.
    scheme : "path" (default, path weighting), "factorial" or "centroid" inner weighting.
    consistent : apply PLSc to mode-A constructs (Dijkstra & Henseler 2015).
    max_iter, tol : stop when the summed absolute change of the outer weights < ``tol``
        (seminr: 300 and 1e-7).

    Learned attributes: ``outer_weights_`` and ``outer_loadings_`` (indicator x construct),
    ``cross_loadings_``, ``path_coefficients_`` (source x target), ``r2_``, ``rho_a_``,
    ``latent_correlation_``, ``scores_`` (unit-variance construct scores), ``total_effects_``,
    ``indirect_effects_``, ``n_iter_``, ``converged_``, ``indicator_mean_``, ``indicator_sd_``.
    """

    def __init__(self, model: PathModel, *, scheme: str = "path", consistent: bool = False,
                 max_iter: int = 300, tol: float = 1e-7):
        self.model = model
        self.scheme = scheme
        self.consistent = consistent
        self.max_iter = max_iter
        self.tol = tol

    # -- plumbing shared with the bootstrap --------------------------------------------------------
    def _structure(self):
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown inner weighting scheme {self.scheme!r}; use one of {SCHEMES}.")
        model = self.model
        items = list(model.indicators)
        mask = np.zeros((len(items), len(model.constructs)), dtype=bool)
        for c, construct in enumerate(model.constructs):
            for item in model.blocks[construct]:
                mask[items.index(item), c] = True
        mode_b = [model.modes[c] == "B" for c in model.constructs]
        return items, mask, model.adjacency(), mode_b

    def _matrix(self, data: pd.DataFrame) -> np.ndarray:
        items = list(self.model.indicators)
        missing = [c for c in items if c not in data.columns]
        if missing:
            raise ValueError(f"data lacks indicator column(s) {missing}; the model needs {items}.")
        x = data[items].to_numpy(dtype=float)
        if np.isnan(x).any():
            raise ValueError("data has missing answers; load it with load_survey(..., missing='listwise'|'mean').")
        constant = [c for c, sd in zip(items, x.std(axis=0)) if sd == 0]
        if constant:
            raise ValueError(f"indicator(s) {constant} are constant; drop them from the blocks.")
        return x

    def _run(self, S: np.ndarray) -> _Fit:
        _, mask, adjacency, mode_b = self._structure()
        return _estimate(S, mask, adjacency, mode_b, scheme=self.scheme, consistent=self.consistent,
                         max_iter=self.max_iter, tol=self.tol)

    # -- public API ---------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame) -> PLSPM:
        """Estimate the model on ``data`` (one row per respondent, indicator columns); return self."""
        import warnings

        items, _, _, _ = self._structure()
        x = self._matrix(data)
        fit = self._run(correlation(x))
        if not fit.converged:
            warnings.warn(f"PLS did not converge in {self.max_iter} iterations.", PLSConvergenceWarning,
                          stacklevel=2)
        names = list(self.model.constructs)
        self.indicator_mean_ = pd.Series(x.mean(axis=0), index=items)
        self.indicator_sd_ = pd.Series(x.std(axis=0, ddof=1), index=items)
        z = (x - self.indicator_mean_.to_numpy()) / self.indicator_sd_.to_numpy()
        self.outer_weights_ = pd.DataFrame(fit.weights, index=items, columns=names)
        self.outer_loadings_ = pd.DataFrame(fit.loadings, index=items, columns=names)
        self.cross_loadings_ = pd.DataFrame(fit.cross, index=items, columns=names)
        self.path_coefficients_ = pd.DataFrame(fit.paths, index=names, columns=names)
        self.r2_ = pd.Series(fit.r2, index=names).dropna()
        self.rho_a_ = pd.Series(rho_a(correlation(x), fit.weights, self._structure()[1]), index=names)
        self.latent_correlation_ = pd.DataFrame(fit.latent_cor, index=names, columns=names)
        self.scores_ = pd.DataFrame(z @ fit.weights, index=data.index, columns=names)
        total = total_effects(fit.paths)
        self.total_effects_ = pd.DataFrame(total, index=names, columns=names)
        self.indirect_effects_ = pd.DataFrame(total - fit.paths, index=names, columns=names)
        self.n_iter_, self.converged_ = fit.n_iter, fit.converged
        self.n_obs_ = len(x)
        return self

    def paths(self) -> pd.DataFrame:
        """Return the path coefficients as a tidy frame: source, target, estimate (model order)."""
        B = self.path_coefficients_
        return pd.DataFrame([{"source": a, "target": b, "estimate": float(B.loc[a, b])}
                             for a, b in self.model.paths])

    def effects(self) -> pd.DataFrame:
        """Return direct, indirect and total effects for every pair with a non-zero total effect."""
        rows = []
        for a in self.model.constructs:
            for b in self.model.constructs:
                total = float(self.total_effects_.loc[a, b])
                if abs(total) > 0:
                    rows.append({"source": a, "target": b, "direct": float(self.path_coefficients_.loc[a, b]),
                                 "indirect": float(self.indirect_effects_.loc[a, b]), "total": total})
        return pd.DataFrame(rows)


# -- many fits at once (bootstrap draws, permutations) ----------------------------------------------------
@dataclass
class _Fits:
    """``_Fit`` for a stack of B correlation matrices: every array has a leading draw axis."""

    weights: np.ndarray      # B x p x m
    loadings: np.ndarray     # B x p x m
    paths: np.ndarray        # B x m x m
    r2: np.ndarray           # B x m
    rho_a: np.ndarray        # B x m
    latent_cor: np.ndarray   # B x m x m
    n_iter: np.ndarray       # B
    converged: np.ndarray    # B


def correlations(samples: np.ndarray) -> np.ndarray:
    """Return the Pearson correlation matrices of a stack of samples (B x n x p -> B x p x p)."""
    centred = samples - samples.mean(axis=1, keepdims=True)
    cov = np.matmul(centred.transpose(0, 2, 1), centred)
    sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    return cov / (sd[:, :, None] * sd[:, None, :])


def _ols_paths_many(cor: np.ndarray, adjacency: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``_ols_paths`` for a stack of construct correlation matrices (B x m x m)."""
    paths = np.zeros_like(cor)
    r2 = np.full(cor.shape[:2], np.nan)
    for j in range(cor.shape[1]):
        ante = np.flatnonzero(adjacency[:, j])
        if ante.size:
            rhs = cor[:, ante, j]
            beta = np.linalg.solve(cor[:, ante[:, None], ante], rhs[..., None])[..., 0]
            paths[:, ante, j] = beta
            r2[:, j] = (beta * rhs).sum(axis=1)
    return paths, r2


def _inner_weights_many(cor: np.ndarray, adjacency: np.ndarray, scheme: str) -> np.ndarray:
    linked = adjacency + adjacency.T
    if scheme == "factorial":
        return cor * linked
    if scheme == "centroid":
        return np.sign(cor) * linked
    betas, _ = _ols_paths_many(cor, adjacency)
    return np.where(adjacency > 0, betas, cor * adjacency.T)


def _unit_variance(W: np.ndarray, S: np.ndarray) -> np.ndarray:
    return W / np.sqrt((np.matmul(S, W) * W).sum(axis=1))[:, None, :]


def _estimate_many(S, mask, adjacency, mode_b, *, scheme, consistent, max_iter, tol) -> _Fits:
    """Run ``_estimate`` on every matrix of the stack ``S`` (B x p x p) at once.

    The same iterations, vectorised over draws: a draw stops updating once its own weights change
    by less than ``tol`` (as the single fit stops), so each draw ends where ``_estimate`` would.
    """
    n_draws = S.shape[0]
    blocks = [np.flatnonzero(mask[:, c]) for c in range(mask.shape[1])]
    formative = [c for c, idx in enumerate(blocks) if mode_b[c] and idx.size > 1]
    W = _unit_variance(np.broadcast_to(mask.astype(float), (n_draws, *mask.shape)).copy(), S)
    n_iter = np.zeros(n_draws, dtype=int)
    converged = np.zeros(n_draws, dtype=bool)
    active = np.arange(n_draws)
    for it in range(1, max_iter + 1):
        Wa, Sa = W[active], S[active]
        latent = np.matmul(Wa.transpose(0, 2, 1), np.matmul(Sa, Wa))
        E = _inner_weights_many(latent, adjacency, scheme)
        proxy_var = (np.matmul(latent, E) * E).sum(axis=1)
        cov = np.matmul(np.matmul(Sa, Wa), E) / np.sqrt(proxy_var)[:, None, :]
        new = cov * mask
        for c in formative:
            idx = blocks[c]
            new[:, idx, c] = np.linalg.solve(Sa[:, idx[:, None], idx], cov[:, idx, c][..., None])[..., 0]
        new = _unit_variance(new, Sa)
        done = np.abs(new - Wa).sum(axis=(1, 2)) < tol
        W[active] = new
        n_iter[active] = it
        converged[active[done]] = True
        active = active[~done]
        if not active.size:
            break
    latent = np.matmul(W.transpose(0, 2, 1), np.matmul(S, W))
    loadings = np.matmul(S, W) * mask
    rho = np.ones((n_draws, mask.shape[1]))
    if consistent:
        for c, idx in enumerate(blocks):
            if idx.size < 2 or mode_b[c]:
                continue
            w = W[:, idx, c]
            sub = S[:, idx[:, None], idx]
            quad = np.einsum("bi,bij,bj->b", w, sub, w) - (np.diagonal(sub, axis1=1, axis2=2) * w**2).sum(axis=1)
            wtw = (w**2).sum(axis=1)
            rho[:, c] = wtw**2 * quad / (wtw**2 - (w**4).sum(axis=1))
        latent = latent / np.sqrt(rho[:, :, None] * rho[:, None, :])
        diag = np.arange(mask.shape[1])
        latent[:, diag, diag] = 1.0
        reflective = np.array([not b and len(idx) > 1 for b, idx in zip(mode_b, blocks)])
        wtw = (W**2).sum(axis=1)
        loadings = np.where(reflective, W * np.sqrt(rho)[:, None, :] / wtw[:, None, :], loadings) * mask
    paths, r2 = _ols_paths_many(latent, adjacency)
    return _Fits(W, loadings, paths, r2, rho, latent, n_iter, converged)
