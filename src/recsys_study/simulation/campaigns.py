"""Notebook 09's studies: whom to contact in a randomised campaign, and what consent costs.

- :func:`campaign_table` runs one world per seed with a ``CampaignModel`` and stacks the campaign's
  customers (features, treatment, outcome, both potential outcomes, the true uplift, the kind).
- :func:`uplift_study` splits each seed's campaign into a training and a test half (by customer,
  seeded), fits every targeting policy of ``loyalty.uplift`` on the training half, scores the test
  half and evaluates each ranking on its observed outcomes and against the world's true uplift; the
  ``oracle`` ranks by the true uplift itself.
- :func:`consent_study` runs the world at several consent rates (decliners see the popularity
  list) and returns retention and CLV (discounted margin, ``customers.clv``) per run.
- :func:`conclusion` writes the notebook's conclusion from these numbers.

Intervals over seeds are t-intervals of the per-seed values (``summary.mean_ci``); differences
between two policies are paired by seed (the same test customers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.progress import progress
from recsys_study.simulation import random as crn
from recsys_study.simulation.components import CAMPAIGN_FEATURES, WorldConfig
from recsys_study.simulation.world import TrueUtilities, World
from recsys_study.summary import mean_ci

FEATURES = (*CAMPAIGN_FEATURES, "visits")
SEED, POLICY = "seed", "policy"
ORACLE_POLICY = "oracle"


def campaign_table(config: WorldConfig, utilities: TrueUtilities, recommender, *, seeds) -> pd.DataFrame:
    """Return the campaign's customers of one world per seed (``seed`` column added)."""
    if config.campaign is None:
        raise ValueError("campaign_table needs a world with a campaign: WorldConfig.from_dict({..., 'campaign': "
                         "{'kind': 'retention', 'round': 3}}).")
    frames = []
    for s in progress(list(seeds), desc="campaign worlds", total=len(seeds)):
        result = World(config, utilities, seed=s).run(recommender, show_progress=False)
        if result.campaign is None:
            raise ValueError(f"seed {s}: the campaign round {config.campaign.round} was never reached "
                             f"(rounds={config.rounds}, or every customer left); run more rounds.")
        frames.append(result.campaign.assign(**{SEED: s}))
    return pd.concat(frames, ignore_index=True)


def uplift_study(table: pd.DataFrame, *, policies=None, features=FEATURES, test_share: float = 0.5,
                 value: float, cost: float, budget_share: float = 0.3, treated_share: float = 0.5,
                 points: int = 100, **model_options) -> dict:
    """Fit and evaluate every targeting policy on each seed's campaign; return ``results`` and ``curves``.

    ``results``: one row per (seed, policy) of ``loyalty.uplift.evaluate_policies`` (plus ``oracle``).
    ``curves``: per (seed, policy) and contact share, the Qini curve and the profit on the observed
    outcomes and against the truth, each per test customer. A table without ``true_uplift`` (a
    campaign of your own, ``data.load_campaign(...).frame``) is evaluated on its outcomes only. ``model_options`` go to
    ``loyalty.uplift.fit_policies`` (e.g. ``forest_trees``).
    """
    from recsys_study.loyalty import uplift

    policies = uplift.POLICIES if policies is None else tuple(policies)
    truth = "true_uplift" in table.columns
    if SEED not in table.columns:  # a user's own campaign: one "seed"
        table = table.assign(**{SEED: 0})
    results, curves = [], []
    for s, g in table.groupby(SEED, sort=True):
        keys = g["customer"].to_numpy() if "customer" in g else np.arange(len(g))
        test_mask = crn.uniform(int(s), crn.ASSIGN, keys, 7) < test_share
        train, test = g[~test_mask], g[test_mask].reset_index(drop=True)
        models = uplift.fit_policies(train[list(features)].to_numpy(), train["treatment"].to_numpy(),
                                     train["outcome"].to_numpy(), [p for p in policies if p != ORACLE_POLICY],
                                     seed=int(s), treated_share=treated_share, **model_options)
        scores = uplift.score_policies(models, test[list(features)].to_numpy(), seed=int(s),
                                       treated_share=treated_share)
        if truth:
            scores[ORACLE_POLICY] = test["true_uplift"].to_numpy()
        ev = uplift.evaluate_policies(test, scores, value=value, cost=cost, budget_share=budget_share)
        results.append(ev.assign(**{SEED: s, "test_customers": len(test)}))
        y, t = test["outcome"].to_numpy(), test["treatment"].to_numpy()
        for name in scores.columns:
            sc = scores[name].to_numpy()
            q = uplift.curve_frame(uplift.qini_curve(y, t, sc), points=points)
            frame = {SEED: s, POLICY: name, "contacted_share": q["contacted_share"], "qini_observed": q["value"],
                     "profit_observed": uplift.curve_frame(uplift.profit_curve(uplift.uplift_curve(y, t, sc), value=value,
                                                                               cost=cost), points=points)["value"]}
            if truth:
                tau = test["true_uplift"].to_numpy()
                frame["qini_true"] = uplift.curve_frame(uplift.true_qini_curve(tau, t, sc), points=points)["value"]
                frame["profit_true"] = uplift.curve_frame(
                    uplift.profit_curve(uplift.true_uplift_curve(tau, sc), value=value, cost=cost), points=points)["value"]
            curves.append(pd.DataFrame(frame))
    return {"results": pd.concat(results, ignore_index=True), "curves": pd.concat(curves, ignore_index=True)}


def policy_summary(results: pd.DataFrame, metrics=("qini", "qini_true", "auuc", "auuc_true", "profit", "best_share",
                                                   "contacted_sleeping_dogs", "budget_sleeping_dogs",
                                                   "budget_persuadables", "budget_profit")) -> pd.DataFrame:
    """Return ``policy, metric, mean, lower, upper, n`` over seeds (95 % t-intervals; metrics present only)."""
    metrics = [m for m in metrics if m in results.columns]
    rows = []
    for (policy, metric), g in results.melt(id_vars=[POLICY, SEED], value_vars=list(metrics),
                                            var_name="metric").groupby([POLICY, "metric"], sort=False):
        m, lo, hi = mean_ci(g["value"].to_numpy())
        rows.append({POLICY: policy, "metric": metric, "mean": m, "lower": lo, "upper": hi, "n": int(g["value"].notna().sum())})
    return pd.DataFrame(rows)


def paired_policy_difference(results: pd.DataFrame, metric: str, *, policy: str, baseline: str) -> dict:
    """Return ``difference, lower, upper`` of ``metric`` (policy minus baseline), paired by seed."""
    wide = results.pivot(index=SEED, columns=POLICY, values=metric)
    m, lo, hi = mean_ci((wide[policy] - wide[baseline]).to_numpy())
    return {POLICY: policy, "baseline": baseline, "metric": metric, "difference": m, "lower": lo, "upper": hi}


def best_uplift_model(results: pd.DataFrame, metric: str = "qini") -> str:
    """Return the uplift model with the best mean observed ``metric`` (what a practitioner can see)."""
    from recsys_study.loyalty.uplift import UPLIFT_MODELS

    means = results[results[POLICY].isin(UPLIFT_MODELS)].groupby(POLICY)[metric].mean()
    return str(means.idxmax())


# -- consent ----------------------------------------------------------------------------------------------
def consent_study(config: WorldConfig, utilities: TrueUtilities, recommender, *, rates, seeds) -> pd.DataFrame:
    """Return one row per (consent rate, seed): retention of the initial customers, their mean CLV
    (discounted margin), value per initial customer (arrivals included), and retention of those who
    consented and of those who declined."""
    rows = []
    runs = [(r, s) for r in rates for s in seeds]
    for rate, s in progress(runs, desc="consent worlds", total=len(runs)):
        result = World(config.replace(**{"consent.rate": float(rate)}), utilities, seed=s).run(recommender,
                                                                                                show_progress=False)
        c = result.customers
        cohort = c[c["cohort"]]
        consent = (np.ones(len(cohort), dtype=bool) if rate >= 1 else
                   crn.uniform(s, crn.CONSENT, cohort["customer"].to_numpy()) < rate)
        kept = ~cohort["churned"].to_numpy()
        rows.append({"consent_rate": float(rate), SEED: s, "retention": float(kept.mean()),
                     "clv": float(cohort["clv"].mean()),
                     "value_per_customer": float(c["clv"].sum() / config.user.n_customers),
                     "retention_consenting": float(kept[consent].mean()) if consent.any() else float("nan"),
                     "retention_declining": float(kept[~consent].mean()) if (~consent).any() else float("nan"),
                     "mean_satisfaction": float(result.rounds["mean_satisfaction"].mean())})
    return pd.DataFrame(rows)


def consent_summary(runs: pd.DataFrame, metrics=("retention", "clv", "value_per_customer")) -> pd.DataFrame:
    """Return ``consent_rate, metric, mean, lower, upper`` over seeds, and each rate's paired
    difference from full consent (``difference, diff_lower, diff_upper``)."""
    rows = []
    full = runs[runs["consent_rate"] == runs["consent_rate"].max()].set_index(SEED)
    for (rate, metric), g in runs.melt(id_vars=["consent_rate", SEED], value_vars=list(metrics),
                                       var_name="metric").groupby(["consent_rate", "metric"]):
        m, lo, hi = mean_ci(g["value"].to_numpy())
        d, dlo, dhi = mean_ci(g.set_index(SEED)["value"] - full.loc[g[SEED], metric])
        rows.append({"consent_rate": rate, "metric": metric, "mean": m, "lower": lo, "upper": hi,
                     "difference": d, "diff_lower": dlo, "diff_upper": dhi})
    return pd.DataFrame(rows)


# -- the conclusion -------------------------------------------------------------------------------------
def _interval(d: dict, fmt) -> str:
    return (f"{fmt(d['difference'])}, 95 % CI [{fmt(d['lower'])}, {fmt(d['upper'])}]" if np.isfinite(d["lower"])
            else f"{fmt(d['difference'])}, one seed: no interval")


def _verdict(d: dict) -> str:
    if np.isfinite(d["lower"]) and d["lower"] > 0:
        return "more than"
    if np.isfinite(d["upper"]) and d["upper"] < 0:
        return "less than"
    return "no detectable difference from"


def conclusion(*, results: pd.DataFrame, consent: pd.DataFrame, value: float, cost: float, budget_share: float,
               kind: str, outcome: str) -> str:
    """Return the conclusion as markdown bullet points, every number from this run.

    results : ``uplift_study(...)["results"]``; consent : ``consent_summary``.
    """
    lines = []
    best = best_uplift_model(results)
    n_seeds = results[SEED].nunique()
    means = results.groupby(POLICY)[["qini_true", "profit", "budget_sleeping_dogs", "budget_persuadables",
                                     "contacted_sleeping_dogs", "test_customers"]].mean()
    d_q = paired_policy_difference(results, "qini_true", policy=best, baseline="response")
    d_p = paired_policy_difference(results, "profit", policy=best, baseline="response")
    lines.append(f"In a randomised {kind.replace('_', '-')} campaign (outcome: {outcome}) over {n_seeds} seeds, the "
                 f"uplift model with the best observed Qini ({best}) reaches a true-uplift Qini of "
                 f"{means.loc[best, 'qini_true']:.4f} against the response model's {means.loc['response', 'qini_true']:.4f} "
                 f"and the oracle's {means.loc[ORACLE_POLICY, 'qini_true']:.4f}: {_verdict(d_q)} the response model "
                 f"(difference {_interval(d_q, lambda v: f'{v:.4f}')}).")
    lines.append(f"At each ranking's most profitable contact share (value {value:g} per extra {outcome} customer, "
                 f"cost {cost:g} per contact) the response model earns {means.loc['response', 'profit']:.3f} per "
                 f"customer and {best} {means.loc[best, 'profit']:.3f} (oracle {means.loc[ORACLE_POLICY, 'profit']:.3f}); "
                 f"{best} minus the response model: {_interval(d_p, lambda v: f'{v:.3f}')} per customer.")
    from scipy.stats import spearmanr

    observed = results.groupby(POLICY)[["qini", "qini_true"]].mean().drop(index=ORACLE_POLICY, errors="ignore")
    rho = float(spearmanr(observed["qini"], observed["qini_true"]).statistic) if len(observed) > 2 else float("nan")
    d_c = paired_policy_difference(results, "qini_true", policy="churn_risk", baseline="response")
    lines.append(f"The churn-risk model (those who would not {'return' if outcome == 'returned' else 'buy'} if left "
                 f"alone) reaches a true Qini of {means.loc['churn_risk', 'qini_true']:.4f}, "
                 f"{_verdict(d_c)} the response model. Ranked by their observed Qini the policies come in an order "
                 f"whose Spearman correlation with their true-Qini order is {rho:.2f}: "
                 + ("the outcomes of a randomised campaign tell the policies apart as the truth does."
                    if rho >= 0.8 else "the observed curves are too noisy at this size to order the policies reliably."))
    per = means["test_customers"]
    dogs = ", ".join(f"{p} {means.loc[p, 'budget_sleeping_dogs']:.1f}" for p in means.index)
    lines.append(f"Contacting the top {budget_share:.0%} of {per.mean():.0f} test customers, the policies wake on "
                 f"average this many sleeping dogs (customers the offer drives away): {dogs}; the oracle contacts "
                 f"{means.loc[ORACLE_POLICY, 'budget_persuadables']:.1f} persuadables, {best} "
                 f"{means.loc[best, 'budget_persuadables']:.1f}, the response model "
                 f"{means.loc['response', 'budget_persuadables']:.1f}.")
    if len(consent):
        full = consent["consent_rate"].max()
        low = consent["consent_rate"].min()
        r = consent[(consent["consent_rate"] == low) & (consent["metric"] == "retention")].iloc[0]
        v = consent[(consent["consent_rate"] == low) & (consent["metric"] == "clv")].iloc[0]
        costly = [name for name, row in (("retention", r), ("CLV", v)) if row["diff_upper"] < 0]

        def pct(x):
            return f"{100 * x:.1f} points"
        lines.append(f"Consent: with {low:.0%} of customers allowing personalisation instead of {full:.0%}, retention "
                     f"of the initial customers changes by {pct(r['difference'])} (95 % CI [{pct(r['diff_lower'])}, "
                     f"{pct(r['diff_upper'])}]) and CLV per customer by {v['difference']:.3f} "
                     f"(95 % CI [{v['diff_lower']:.3f}, {v['diff_upper']:.3f}]); "
                     + (f"a cost of consent is detectable in {' and '.join(costly)}." if costly
                        else "no cost of consent is detectable at this size."))
    return "\n".join(f"- {line}" for line in lines)
