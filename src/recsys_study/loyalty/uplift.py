"""Uplift modelling: whom a campaign should contact, and how to judge the choice on a randomised campaign.

**Models** (``fit_policies``; each returns a score per customer, higher = contact first):

- ``response``: P(Y = 1 | x, treated), a classifier on the treated customers only (the classic
  response model: it finds those who respond when contacted, whether or not the contact caused it);
- ``churn_risk``: P(Y = 0 | x, control), a classifier on the control group (targets those who would
  not respond if left alone; for a retention outcome, the churn-risk model);
- ``s_learner`` / ``t_learner`` / ``x_learner``: causalml's meta-learners ``BaseSClassifier``,
  ``BaseTClassifier``, ``BaseXClassifier`` (Künzel, Sekhon, Bickel & Yu 2019, "Metalearners for
  estimating heterogeneous treatment effects", PNAS 116(10)): one model with T as a feature; one
  model per arm, uplift = the difference; the T-learner's imputed effects regressed per arm and
  blended by the propensity (known here: the campaign's treated share);
- ``uplift_forest``: causalml's ``UpliftRandomForestClassifier``, trees split to maximise the
  divergence (KL) between the arms' outcome distributions (Rzepakowski & Jaroszewicz 2012,
  "Decision trees for uplift modeling with single and multiple treatments", KAIS 32(2));
- ``random``: a uniform draw (the baseline every curve is judged against).

Base learners are scikit-learn's (``HistGradientBoostingClassifier``/``Regressor`` with a few
shallow trees), not causalml's XGBoost learners: the campaigns here have a few thousand customers
and four features, where shallow boosting is as good, deterministic with a seed, single-threaded
under ``threadpool_limits(1)`` and cheap (the notebook's CPU budget). causalml imports ``xgboost``
when it is imported; the environment serves that import with the CPU-only ``xgboost-cpu`` wheel
(no CUDA), which none of these models calls.

**Evaluation** (customers sorted by score, largest first; k = the top k; R_T(k), R_C(k) responders
and N_T(k), N_C(k) customers of the treated and control groups among them; Radcliffe 2007, "Using
control groups to target on predicted lift", DMA Analytics Journal):

- Qini curve ``Q(k) = R_T(k) - R_C(k) N_T(k) / N_C(k)`` (incremental responders, on the treated
  group's scale);
- uplift curve ``G(k) = (R_T(k) / N_T(k) - R_C(k) / N_C(k)) k`` (incremental responders had the top
  k all been treated; Rzepakowski & Jaroszewicz 2012);
- where a group is still empty (the first few k) Q, and G's difference of rates, are interpolated
  linearly from 0 at k = 0 (as causalml does);
- against the **true** uplift tau_i (only a simulated world knows it): ``G*(k) = sum_{i<=k} tau_(i)``
  and ``Q*(k) = N_T(k) / k * G*(k)``, the quantities G and Q estimate;
- Qini coefficient ``q = 1/(n+1) sum_{k=0}^{n} [Q(k) - k Q(n) / n] / n`` (the area between the curve
  and the random line, per customer) and AUUC ``1/(n+1) sum_{k=0}^{n} G(k) / n``. causalml's
  ``qini_score`` / ``auuc_score`` with ``normalize=False`` are ours times n; with ``normalize=True``
  causalml divides every curve by |Q(n)| (|G(n)|) instead of by n;
- profit of contacting the top k: ``value * G(k) - cost * k`` (observed) or ``value * G*(k) - cost * k``
  (true), its best contact share, and the kinds (persuadable, sure thing, lost cause, sleeping dog)
  among those contacted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POLICIES = ("random", "response", "churn_risk", "s_learner", "t_learner", "x_learner", "uplift_forest")
UPLIFT_MODELS = ("s_learner", "t_learner", "x_learner", "uplift_forest")


# -- the models ------------------------------------------------------------------------------------------
def _uplift_forest_class():
    """Return causalml's uplift forest class; its import of forestci logs an ERROR when the optional
    citation helper duecredit is absent, which is noise here (nothing is wrong): silenced for the import."""
    import logging

    logger = logging.getLogger("duecredit")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        from causalml.inference.tree import UpliftRandomForestClassifier
    finally:
        logger.setLevel(level)
    return UpliftRandomForestClassifier


def _classifier(seed: int, max_iter: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=max_iter, max_depth=3, learning_rate=0.1, min_samples_leaf=40,
                                          random_state=seed)


def _regressor(seed: int, max_iter: int):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=max_iter, max_depth=3, learning_rate=0.1, min_samples_leaf=40,
                                         random_state=seed)


def fit_policies(x: np.ndarray, treatment: np.ndarray, y: np.ndarray, policies=POLICIES, *, seed: int,
                 treated_share: float | None = None, boosting_iterations: int = 40, forest_trees: int = 20,
                 forest_depth: int = 4, forest_min_leaf: int = 100) -> dict:
    """Return ``{policy: fitted model}`` for ``policies`` (see the module docstring), trained on (x, T, y).

    ``treated_share``: the campaign's known propensity (the X-learner's blend; default the observed
    share); ``boosting_iterations``: trees of each base learner; ``forest_*``: the uplift forest's size.
    """
    from threadpoolctl import threadpool_limits

    x = np.asarray(x, dtype=float)
    t = np.asarray(treatment, dtype=int)
    y = np.asarray(y, dtype=int)
    share = float(t.mean()) if treated_share is None else float(treated_share)
    unknown = sorted(set(policies) - set(POLICIES))
    if unknown:
        raise ValueError(f"unknown targeting policy {unknown}; choose from {POLICIES}.")
    out = {}
    with threadpool_limits(1):
        for name in policies:
            if name == "random":
                out[name] = None
            elif name == "response":
                out[name] = _classifier(seed, boosting_iterations).fit(x[t == 1], y[t == 1])
            elif name == "churn_risk":
                out[name] = _classifier(seed, boosting_iterations).fit(x[t == 0], y[t == 0])
            elif name == "s_learner":
                from causalml.inference.meta import BaseSClassifier

                out[name] = BaseSClassifier(learner=_classifier(seed, boosting_iterations), control_name=0)
                out[name].fit(x, treatment=t, y=y)
            elif name == "t_learner":
                from causalml.inference.meta import BaseTClassifier

                out[name] = BaseTClassifier(learner=_classifier(seed, boosting_iterations), control_name=0)
                out[name].fit(x, treatment=t, y=y)
            elif name == "x_learner":
                from causalml.inference.meta import BaseXClassifier

                out[name] = BaseXClassifier(outcome_learner=_classifier(seed, boosting_iterations),
                                            effect_learner=_regressor(seed, boosting_iterations), control_name=0)
                out[name].fit(x, treatment=t, y=y, p=np.full(len(y), share))
            elif name == "uplift_forest":
                UpliftRandomForestClassifier = _uplift_forest_class()

                forest = UpliftRandomForestClassifier(control_name="control", n_estimators=forest_trees,
                                                      max_depth=forest_depth, min_samples_leaf=forest_min_leaf,
                                                      max_features=x.shape[1], evaluationFunction="KL",
                                                      random_state=seed, n_jobs=1)
                forest.fit(x, treatment=np.where(t == 1, "treatment", "control"), y=y)
                out[name] = forest
    return out


def score_policies(models: dict, x: np.ndarray, *, seed: int, treated_share: float = 0.5) -> pd.DataFrame:
    """Return one column of targeting scores per fitted policy (higher = contact first)."""
    from threadpoolctl import threadpool_limits

    x = np.asarray(x, dtype=float)
    out = {}
    with threadpool_limits(1):
        for name, model in models.items():
            if name == "random":
                out[name] = np.random.default_rng(seed).random(len(x))
            elif name == "response":
                out[name] = model.predict_proba(x)[:, 1]
            elif name == "churn_risk":
                out[name] = 1.0 - model.predict_proba(x)[:, 1]
            elif name == "x_learner":
                out[name] = np.asarray(model.predict(x, p=np.full(len(x), treated_share))).reshape(len(x), -1)[:, 0]
            else:
                out[name] = np.asarray(model.predict(x)).reshape(len(x), -1)[:, 0]
    return pd.DataFrame(out)


# -- the curves ------------------------------------------------------------------------------------------
def _order(score) -> np.ndarray:
    return np.argsort(-np.asarray(score, dtype=float), kind="stable")


def _interpolate(values: np.ndarray) -> np.ndarray:
    """Fill undefined points (NaN) linearly between the defined ones; the curve starts at 0."""
    k = np.arange(len(values))
    ok = ~np.isnan(values)
    return np.interp(k, k[ok], values[ok]) if ok.sum() else np.zeros(len(values))


def _cumulative(y, treatment, score):
    order = _order(score)
    y = np.asarray(y, dtype=float)[order]
    t = np.asarray(treatment, dtype=float)[order]
    zero = np.zeros(1)
    n_t = np.concatenate([zero, np.cumsum(t)])
    n_c = np.arange(len(t) + 1) - n_t
    r_t = np.concatenate([zero, np.cumsum(y * t)])
    r_c = np.concatenate([zero, np.cumsum(y * (1 - t))])
    return n_t, n_c, r_t, r_c


def qini_curve(y, treatment, score) -> np.ndarray:
    """Return Q(k), k = 0..n: ``R_T(k) - R_C(k) N_T(k) / N_C(k)`` (Radcliffe 2007), Q(0) = 0."""
    n_t, n_c, r_t, r_c = _cumulative(y, treatment, score)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n_c > 0, r_t - r_c * n_t / n_c, np.nan)
    q[0] = 0.0
    return _interpolate(q)


def uplift_curve(y, treatment, score) -> np.ndarray:
    """Return G(k), k = 0..n: ``(R_T(k)/N_T(k) - R_C(k)/N_C(k)) k``, G(0) = 0; where an arm is still
    empty the difference of rates (not G) is interpolated linearly from 0 at k = 0."""
    n_t, n_c, r_t, r_c = _cumulative(y, treatment, score)
    k = np.arange(len(n_t))
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where((n_t > 0) & (n_c > 0), r_t / n_t - r_c / n_c, np.nan)
    lift[0] = 0.0
    return _interpolate(lift) * k


def true_uplift_curve(tau, score) -> np.ndarray:
    """Return G*(k) = sum of the true uplift of the top k by ``score``, k = 0..n."""
    t = np.asarray(tau, dtype=float)[_order(score)]
    return np.concatenate([[0.0], np.cumsum(t)])


def true_qini_curve(tau, treatment, score) -> np.ndarray:
    """Return Q*(k) = N_T(k) / k * G*(k): the true uplift on the Qini curve's (treated group's) scale."""
    g = true_uplift_curve(tau, score)
    n_t = np.concatenate([[0.0], np.cumsum(np.asarray(treatment, dtype=float)[_order(score)])])
    k = np.arange(len(g))
    return np.where(k > 0, g * n_t / np.maximum(k, 1), 0.0)


def qini_coefficient(curve: np.ndarray) -> float:
    """Return ``1/(n+1) sum_k [Q(k) - k Q(n)/n] / n``: area between a curve over k = 0..n and the random line, per customer."""
    curve = np.asarray(curve, dtype=float)
    n = len(curve) - 1
    random = np.linspace(curve[0], curve[-1], n + 1)
    return float((curve - random).sum() / (n + 1) / n)


def auuc(curve: np.ndarray) -> float:
    """Return ``1/(n+1) sum_k G(k) / n``: area under an uplift curve over k = 0..n, per customer."""
    curve = np.asarray(curve, dtype=float)
    n = len(curve) - 1
    return float(curve.sum() / (n + 1) / n)


def curve_frame(curve: np.ndarray, *, points: int = 100) -> pd.DataFrame:
    """Return ``contacted_share, value`` at ``points`` + 1 evenly spaced shares (value per customer)."""
    n = len(curve) - 1
    share = np.linspace(0, 1, points + 1)
    return pd.DataFrame({"contacted_share": share, "value": np.asarray(curve)[np.round(share * n).astype(int)] / n})


def profit_curve(incremental: np.ndarray, *, value: float, cost: float) -> np.ndarray:
    """Return ``value * incremental(k) - cost * k`` for k = 0..n (``incremental``: G or G*)."""
    inc = np.asarray(incremental, dtype=float)
    return value * inc - cost * np.arange(len(inc))


def best_contact(profit: np.ndarray) -> tuple[int, float]:
    """Return (k, profit) of the most profitable number of contacts (the smallest such k)."""
    k = int(np.argmax(profit))
    return k, float(profit[k])


def contacted_kinds(kind, score, k: int) -> dict:
    """Return ``{kind: count}`` among the top ``k`` customers by ``score`` (every kind, zeros included)."""
    from recsys_study.simulation.campaign import KINDS

    top = np.asarray(kind, dtype=object)[_order(score)[:k]]
    return {name: int((top == name).sum()) for name in KINDS}


# -- one campaign, every policy -------------------------------------------------------------------------
def evaluate_policies(test: pd.DataFrame, scores: pd.DataFrame, *, value: float, cost: float,
                      budget_share: float = 0.3, outcome: str = "outcome", treatment: str = "treatment",
                      true_uplift: str | None = "true_uplift", kind: str | None = "kind") -> pd.DataFrame:
    """Return one row per policy: Qini coefficient and AUUC on the observed outcomes and (with the
    world's ``true_uplift``) against the truth; the best contact share and its profit per customer,
    observed (``best_share_observed``, ``profit_observed``) and true (``best_share``, ``profit``,
    ``contacted``); how many of each kind the policy contacts at its true best share
    (``contacted_sleeping_dogs``, ...) and when it contacts the top ``budget_share`` (``budget_*``)."""
    rows = []
    y, t = test[outcome].to_numpy(), test[treatment].to_numpy()
    n = len(test)
    for name in scores.columns:
        s = scores[name].to_numpy()
        q, g = qini_curve(y, t, s), uplift_curve(y, t, s)
        row = {"policy": name, "qini": qini_coefficient(q), "auuc": auuc(g)}
        k_obs, p_obs = best_contact(profit_curve(g, value=value, cost=cost))
        row.update({"best_share_observed": k_obs / n, "profit_observed": p_obs / n})
        if true_uplift is not None and true_uplift in test:
            tau = test[true_uplift].to_numpy()
            gt = true_uplift_curve(tau, s)
            row.update({"qini_true": qini_coefficient(true_qini_curve(tau, t, s)), "auuc_true": auuc(gt)})
            k_true, p_true = best_contact(profit_curve(gt, value=value, cost=cost))
            row.update({"best_share": k_true / n, "profit": p_true / n, "contacted": k_true})
            if kind is not None and kind in test:
                counts = contacted_kinds(test[kind].to_numpy(), s, k_true)
                row.update({f"contacted_{k_.replace(' ', '_')}s": v for k_, v in counts.items()})
                budget = int(round(budget_share * n))
                counts = contacted_kinds(test[kind].to_numpy(), s, budget)
                row.update({"budget_contacts": budget, "budget_profit": float(profit_curve(gt, value=value, cost=cost)[budget]) / n,
                            **{f"budget_{k_.replace(' ', '_')}s": v for k_, v in counts.items()}})
        rows.append(row)
    return pd.DataFrame(rows)
