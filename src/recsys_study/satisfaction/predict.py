"""Out-of-sample prediction of a PLS path model: PLSpredict and CVPAT.

PLSpredict (Shmueli, Ray, Velasquez Estrada & Chatla 2016, J. Business Research 69(10), 4552-4564;
Shmueli et al. 2019, European J. Marketing 53(11), 2322-2347). The respondents are shuffled and cut
into ``k`` folds; for each fold the model is estimated on the other ``k - 1`` and the held-out
answers are predicted:

1. held-out indicators are standardised with the training means and sds, ``Z``;
2. construct scores ``Y = Z W`` (training outer weights);
3. the endogenous scores are predicted from the structural model: **direct antecedents** (DA,
   ``Y_hat_j = sum_i B_ij Y_i`` with the antecedents' *measured* scores) or **earliest antecedents**
   (EA, propagated from the exogenous scores only, ``Y_hat = Y_exo (I - B)^-1`` restricted);
4. indicators ``x_hat = (Y_hat L') sd + mean`` (training loadings, means and sds).

Benchmarks on the same folds: the **indicator average** (IA, the training mean: what Q^2_predict
compares with) and a **linear model** (LM, each endogenous indicator regressed by OLS on the indicators
of its construct's antecedents for DA, of the exogenous constructs for EA; seminr's ``predict_pls``).
Per indicator ``RMSE = sqrt(mean e^2)``, ``MAE = mean |e|`` and
``Q^2_predict = 1 - sum (x - x_hat_PLS)^2 / sum (x - xbar_train)^2``. Repeated k-fold: ``repetitions``
independent shuffles; metrics are computed per repetition and averaged (Shmueli et al. 2019 use 10
folds and 10 repetitions). Fold assignment: shuffled order (``numpy`` PCG64 permutation with the
repetition's seed) cut into contiguous blocks as R's ``cut(seq_len(n), k)``, exactly seminr 0.2.1's
``predict_pls`` plan, so seminr with the same seed sees the same folds.

CVPAT (Liengaard, Sharma, Hult, Jensen, Sarstedt, Hair & Ringle 2021, Decision Sciences 52(2),
362-392; Sharma et al. 2023, European J. Marketing 57(6), 1662-1677). Per respondent the loss is
the mean squared prediction error over the endogenous indicators (averaged over repetitions),
``L_i``; the test compares PLS with a benchmark through ``D_i = L_i^PLS - L_i^bench``:
``t = mean(D) / (sd(D) / sqrt(n))`` with ``n - 1`` degrees of freedom. ``D < 0`` means PLS predicts
better; the one-sided p-value tests H1 "PLS has the lower loss".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_study.satisfaction.pls import PLSPM, _estimate, correlation

TECHNIQUES = ("DA", "EA")


def fold_ids(n: int, k: int, *, seed: int | None = None, ordering=None) -> np.ndarray:
    """Return the 0-based fold of each of ``n`` rows: a shuffled order cut into ``k`` contiguous blocks.

    ``ordering`` (a permutation of ``range(n)``) replaces the shuffle; otherwise the permutation is
    ``numpy.random.default_rng(seed).permutation(n)``. The blocks follow R's ``cut(seq_len(n), breaks=k)``
    (break points ``1 + j (n - 1) / k``, the outer ones widened by ``(n - 1) / 1000``), as seminr does.
    """
    if not 2 <= k <= n:
        raise ValueError(f"k={k} folds for {n} respondents; use 2 <= k <= n (10 is the usual choice).")
    order = np.random.default_rng(seed).permutation(n) if ordering is None else np.asarray(ordering)
    if sorted(order.tolist()) != list(range(n)):
        raise ValueError("ordering must be a permutation of range(n).")
    position = np.arange(1, n + 1, dtype=float)
    breaks = 1 + np.arange(k + 1) * (n - 1) / k
    breaks[0], breaks[-1] = 1 - (n - 1) / 1000, n + (n - 1) / 1000
    block = np.searchsorted(breaks, position, side="left") - 1   # right-closed intervals (a, b]
    out = np.empty(n, dtype=int)
    out[order] = block
    return out


@dataclass
class PredictResult:
    """Cross-validated predictions of the endogenous indicators, per repetition.

    ``pls``, ``lm``, ``ia`` : arrays (repetitions, n, q) of out-of-sample predictions; ``actual`` (n, q);
    ``items`` the q endogenous indicators, ``construct_of`` their constructs; ``folds`` (repetitions, n).
    """

    items: list[str]
    construct_of: dict[str, str]
    actual: np.ndarray
    pls: np.ndarray
    lm: np.ndarray
    ia: np.ndarray
    folds: np.ndarray
    technique: str
    k: int

    def metrics(self) -> pd.DataFrame:
        """Return per indicator RMSE and MAE of PLS and LM, and Q^2_predict, averaged over repetitions.

        Columns: indicator, construct, Q2_predict, PLS_RMSE, LM_RMSE, PLS_MAE, LM_MAE,
        PLS_minus_LM_RMSE (negative: PLS predicts better), and the sd of the PLS RMSE over repetitions.
        """
        def rmse(pred):
            return np.sqrt(((self.actual - pred) ** 2).mean(axis=1))     # (repetitions, q)

        def mae(pred):
            return np.abs(self.actual - pred).mean(axis=1)

        sse = ((self.actual - self.pls) ** 2).sum(axis=1)
        sse_ia = ((self.actual - self.ia) ** 2).sum(axis=1)
        out = pd.DataFrame({
            "indicator": self.items, "construct": [self.construct_of[i] for i in self.items],
            "Q2_predict": (1 - sse / sse_ia).mean(axis=0),
            "PLS_RMSE": rmse(self.pls).mean(axis=0), "LM_RMSE": rmse(self.lm).mean(axis=0),
            "PLS_MAE": mae(self.pls).mean(axis=0), "LM_MAE": mae(self.lm).mean(axis=0),
            "PLS_RMSE_sd": rmse(self.pls).std(axis=0, ddof=1) if len(self.pls) > 1 else np.nan,
        })
        out["PLS_minus_LM_RMSE"] = out["PLS_RMSE"] - out["LM_RMSE"]
        return out

    def case_loss(self, which: str, constructs=None) -> np.ndarray:
        """Return each respondent's mean squared error over the (chosen constructs') indicators,
        averaged over repetitions; ``which`` is "PLS", "LM" or "IA"."""
        pred = {"PLS": self.pls, "LM": self.lm, "IA": self.ia}[which]
        cols = [j for j, i in enumerate(self.items) if constructs is None or self.construct_of[i] in constructs]
        return ((self.actual[:, cols] - pred[:, :, cols]) ** 2).mean(axis=2).mean(axis=0)


def _predict_scores(scores: np.ndarray, paths: np.ndarray, exogenous: np.ndarray, order, technique: str):
    """Return predicted construct scores by DA (measured antecedent scores) or EA (propagated)."""
    if technique == "DA":
        out = scores @ paths
        out[:, exogenous] = scores[:, exogenous]
        return out
    out = np.where(exogenous, scores, 0.0)
    for j in order:
        if not exogenous[j]:
            out[:, j] = out @ paths[:, j]
    return out


def _ols_predict(x_train, y_train, x_test):
    """Return OLS-with-intercept predictions of every column of ``y_train`` at ``x_test``."""
    design = np.column_stack([np.ones(len(x_train)), x_train])
    beta = np.linalg.solve(design.T @ design, design.T @ y_train)
    return np.column_stack([np.ones(len(x_test)), x_test]) @ beta


def pls_predict(estimator: PLSPM, data: pd.DataFrame, *, k: int = 10, repetitions: int = 1,
                technique: str = "DA", seed: int, orderings=None) -> PredictResult:
    """Return k-fold cross-validated PLS, LM and IA predictions of the endogenous indicators.

    ``estimator`` supplies the model and the settings (scheme, PLSc); it need not be fitted.
    Repetition r shuffles with seed ``seed + r`` (repetition 0 with ``seed`` itself, so one
    repetition equals seminr's ``predict_pls(..., no_folds=k, seed=seed)``); ``orderings``
    (one permutation per repetition) replaces the shuffles.
    """
    if technique not in TECHNIQUES:
        raise ValueError(f"unknown prediction technique {technique!r}; use one of {TECHNIQUES}.")
    if repetitions < 1:
        raise ValueError(f"repetitions={repetitions}; use at least 1.")
    items, mask, adjacency, mode_b = estimator._structure()
    x = estimator._matrix(data)
    n = len(x)
    model = estimator.model
    names = list(model.constructs)
    exogenous = np.array([c not in model.endogenous for c in names])
    order = [names.index(c) for c in model.topological_order()]
    endo_items = [i for c in model.endogenous for i in model.blocks[c]]
    cols = [items.index(i) for i in endo_items]
    construct_of = {i: c for c in model.endogenous for i in model.blocks[c]}
    lm_inputs = {}
    for c in model.endogenous:
        sources = model.antecedents(c) if technique == "DA" else [s for s in names if exogenous[names.index(s)]]
        lm_inputs[c] = ([items.index(i) for s in sources for i in model.blocks[s]],
                        [items.index(i) for i in model.blocks[c]], [endo_items.index(i) for i in model.blocks[c]])
    shape = (repetitions, n, len(endo_items))
    pls, lm, ia = np.empty(shape), np.empty(shape), np.empty(shape)
    folds = np.empty((repetitions, n), dtype=int)
    for r in range(repetitions):
        folds[r] = fold_ids(n, k, seed=seed + r, ordering=None if orderings is None else orderings[r])
        for f in range(k):
            test, train = folds[r] == f, folds[r] != f
            xt = x[train]
            mean, sd = xt.mean(axis=0), xt.std(axis=0, ddof=1)
            if (sd == 0).any():
                raise ValueError(f"an indicator is constant in the training part of fold {f}; use fewer folds.")
            fit = _estimate(correlation(xt), mask, adjacency, mode_b, scheme=estimator.scheme,
                            consistent=estimator.consistent, max_iter=estimator.max_iter, tol=estimator.tol)
            scores = ((x[test] - mean) / sd) @ fit.weights
            predicted = _predict_scores(scores, fit.paths, exogenous, order, technique)
            pls[r][test] = (predicted @ fit.loadings.T * sd + mean)[:, cols]
            ia[r][test] = mean[cols]
            for c, (inputs, outputs, where) in lm_inputs.items():
                lm[r][np.ix_(test, where)] = _ols_predict(xt[:, inputs], xt[:, outputs], x[test][:, inputs])
    return PredictResult(endo_items, construct_of, x[:, cols], pls, lm, ia, folds, technique, k)


def loss_difference_test(loss_model: np.ndarray, loss_benchmark: np.ndarray) -> dict:
    """Return CVPAT's paired test of per-case losses: mean difference, t, p-values (Liengaard et al. 2021).

    ``D_i = loss_model_i - loss_benchmark_i``; ``t = mean(D) / (sd(D) / sqrt(n))`` (sample sd),
    two-sided p and one-sided p for H1 ``mean(D) < 0`` (the model predicts better), t with n - 1 df.
    """
    from scipy import stats

    d = np.asarray(loss_model, dtype=float) - np.asarray(loss_benchmark, dtype=float)
    n = len(d)
    sd = d.std(ddof=1)
    t = float(d.mean() / (sd / np.sqrt(n))) if sd > 0 else np.nan
    return {"loss_model": float(np.mean(loss_model)), "loss_benchmark": float(np.mean(loss_benchmark)),
            "loss_difference": float(d.mean()), "t": t, "df": n - 1,
            "p_two_sided": float(2 * stats.t.sf(abs(t), n - 1)), "p_model_better": float(stats.t.cdf(t, n - 1))}


def cvpat(result: PredictResult, *, benchmarks=("IA", "LM")) -> pd.DataFrame:
    """Return CVPAT against each benchmark, overall (all endogenous indicators) and per endogenous construct.

    Columns: benchmark, construct ("overall" or a name), loss_model, loss_benchmark, loss_difference,
    t, df, p_two_sided, p_model_better.
    """
    rows = []
    for bench in benchmarks:
        scopes = [("overall", None)] + [(c, [c]) for c in dict.fromkeys(result.construct_of.values())]
        for label, constructs in scopes:
            test = loss_difference_test(result.case_loss("PLS", constructs), result.case_loss(bench, constructs))
            rows.append({"benchmark": bench, "construct": label, **test})
    return pd.DataFrame(rows)


def predictive_power(metrics: pd.DataFrame, construct: str) -> str:
    """Return Shmueli et al.'s (2019) verdict for ``construct``'s indicators from ``PredictResult.metrics()``.

    "not relevant" if some indicator has Q^2_predict <= 0 (PLS does not beat the training mean);
    otherwise by how many indicators PLS's RMSE is below the LM benchmark's: all "high", a majority
    "medium", a minority "low", none "none" (no predictive power beyond the linear benchmark).
    """
    rows = metrics[metrics["construct"] == construct]
    if rows.empty:
        raise ValueError(f"{construct!r} has no predicted indicator; choose an endogenous construct.")
    if (rows["Q2_predict"] <= 0).any():
        return "not relevant"
    better = int((rows["PLS_RMSE"] < rows["LM_RMSE"]).sum())
    if better == len(rows):
        return "high"
    if better == 0:
        return "none"
    return "medium" if better > len(rows) / 2 else "low"
