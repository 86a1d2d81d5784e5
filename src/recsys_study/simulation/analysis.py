"""What the simulated worlds say: retention, value, concentration, offline vs online, survey recovery.

Intervals over seeds are t-intervals of the per-seed values (``mean +- t_{0.975, s-1} sd / sqrt(s)``);
differences between recommenders are paired by seed (the worlds share customers and draws).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from recsys_study.constants import RATING, USER
from recsys_study.simulation.components import SurveyModel, WorldConfig
from recsys_study.simulation.survival import kaplan_meier
from recsys_study.simulation.world import SimulationResult, TrueUtilities, simulate
from recsys_study.summary import mean_ci

RECOMMENDER, SEED = "recommender", "seed"
PERSONALISATION, SATISFACTION, LOYALTY = "Personalisation", "Satisfaction", "Loyalty"
SURVEY_PATHS = ((PERSONALISATION, SATISFACTION), (PERSONALISATION, LOYALTY), (SATISFACTION, LOYALTY))
START_DATE = pd.Timestamp("2000-01-03")


def rounds_table(results: list[SimulationResult]) -> pd.DataFrame:
    """Return every result's per-round rows with ``recommender, seed`` and the cohort ``retention``."""
    frames = []
    for r in results:
        f = r.rounds.copy()
        f.insert(0, SEED, r.seed)
        f.insert(0, RECOMMENDER, r.label)
        f["retention"] = f["cohort_alive"] / r.config.user.n_customers
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def ci_over_seeds(table: pd.DataFrame, value: str, by=(RECOMMENDER, "round")) -> pd.DataFrame:
    """Return ``by..., mean, lower, upper, n`` of ``value`` across seeds."""
    rows = []
    for key, g in table.groupby(list(by), sort=False)[value]:
        m, lo, hi = mean_ci(g.to_numpy())
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "mean": m, "lower": lo,
                     "upper": hi, "n": int(g.notna().sum())})
    return pd.DataFrame(rows)


def per_run(results: list[SimulationResult]) -> pd.DataFrame:
    """Return one row per (recommender, seed): final cohort retention, value and concentration.

    ``retention`` = share of the initial cohort still a customer after the last round;
    ``clv`` = mean discounted profit per initial customer; ``value_per_customer`` = total
    discounted profit of everyone (word-of-mouth arrivals included) per initial customer;
    ``gini_first``/``gini_last`` = exposure Gini in the first and last round.
    """
    rows = []
    for r in results:
        c, rd, n0 = r.customers, r.rounds, r.config.user.n_customers
        cohort = c[c["cohort"]]
        rows.append({RECOMMENDER: r.label, SEED: r.seed,
                     "retention": float((~cohort["churned"]).mean()),
                     "mean_lifetime": float(cohort["visits"].mean()),
                     "clv": float(cohort["clv"].mean()), "value_per_customer": float(c["clv"].sum() / n0),
                     "customers_end": int((~c["churned"]).sum()), "arrivals": int(rd["arrivals"].sum()),
                     "mean_satisfaction": float(rd["mean_satisfaction"].mean()),
                     "complaint_rate": float(rd["complaint_rate"].mean()),
                     "gini_first": float(rd["exposure_gini"].iloc[0]), "gini_last": float(rd["exposure_gini"].dropna().iloc[-1]),
                     "purchase_rate": r.purchase_rate})
    return pd.DataFrame(rows)


def headline_table(runs: pd.DataFrame, metrics=("retention", "clv", "value_per_customer", "gini_last",
                                                 "mean_satisfaction")) -> pd.DataFrame:
    """Return ``recommender, metric, mean, lower, upper`` over seeds."""
    long = runs.melt(id_vars=[RECOMMENDER, SEED], value_vars=list(metrics), var_name="metric")
    return ci_over_seeds(long, "value", by=(RECOMMENDER, "metric"))


def paired_differences(runs: pd.DataFrame, metric: str, *, baseline: str) -> pd.DataFrame:
    """Return ``recommender, difference, lower, upper, p_value`` of ``metric`` minus the baseline's, paired by seed.

    ``p_value``: two-sided paired t-test (NaN with fewer than 2 seeds or no variation).
    """
    wide = runs.pivot(index=SEED, columns=RECOMMENDER, values=metric)
    rows = []
    for rec in wide.columns:
        if rec == baseline:
            continue
        d = (wide[rec] - wide[baseline]).dropna().to_numpy()
        m, lo, hi = mean_ci(d)
        p = float(stats.ttest_1samp(d, 0.0).pvalue) if len(d) > 1 and d.std() > 1e-9 * max(abs(d).max(), 1e-12) \
            else float("nan")
        rows.append({RECOMMENDER: rec, "metric": metric, "baseline": baseline, "difference": m, "lower": lo,
                     "upper": hi, "p_value": p})
    return pd.DataFrame(rows)


def kaplan_meier_by_recommender(results: list[SimulationResult], *, alpha: float = 0.05) -> pd.DataFrame:
    """Return the Kaplan–Meier curve of the initial cohort's lifetime (rounds visited; still a customer
    at the end = censored), customers of all seeds pooled, per recommender."""
    frames = []
    labels = dict.fromkeys(r.label for r in results)
    for label in labels:
        cust = pd.concat([r.customers[r.customers["cohort"]] for r in results if r.label == label])
        km = kaplan_meier(cust["visits"], cust["churned"], alpha=alpha)
        frames.append(km.assign(**{RECOMMENDER: label}))
    return pd.concat(frames, ignore_index=True)


# -- BG/NBD on the simulated visits -------------------------------------------------------------------
def transactions(result: SimulationResult) -> pd.DataFrame:
    """Return the simulated sales as a transaction log (customer, date, amount): round t = week t."""
    p = result.purchases
    return pd.DataFrame({"customer": p["customer"].to_numpy(),
                         "date": START_DATE + pd.to_timedelta(7 * p["round"].to_numpy(), unit="D"),
                         "amount": result.config.economics.price})


def bgnbd_check(result: SimulationResult, *, penalizer: float = 0.01) -> dict:
    """Fit BG/NBD (loyalty.clv) on the first half of the simulated sales; compare with the world.

    Returned: the fitted parameters, the implied mean purchase rate while alive ``r / alpha`` (per
    week) against the world's expected sales per visit, the implied mean dropout per purchase
    ``a / (a + b)`` against the world's churn events per sale, and the holdout forecast of repeat
    purchases (and of their profit) against what the world produced. ``penalizer``: lifetimes' L2
    penalty; weekly visits with little rate heterogeneity drive the unpenalised alpha to infinity
    (if the fit does not converge it is retried with 10x and 100x the penalty; ``penalizer`` in the result).
    """
    from recsys_study.loyalty import clv

    rounds = result.config.rounds
    half = rounds // 2
    log = transactions(result)
    cal_end = START_DATE + pd.Timedelta(days=7 * half - 1)
    obs_end = START_DATE + pd.Timedelta(days=7 * rounds - 1)
    summary = clv.calibration_holdout_summary(log, calibration_end=cal_end, observation_end=obs_end)
    from lifetimes.utils import ConvergenceError

    import warnings

    for attempt in (penalizer, 10 * penalizer, 100 * penalizer):
        try:
            with warnings.catch_warnings():  # autograd's log of a trial point outside the domain: noise
                warnings.simplefilter("ignore", RuntimeWarning)
                bgf = clv.fit_bgnbd(summary, penalizer=attempt)
            break
        except ConvergenceError:
            continue
    else:
        raise ValueError(f"BG/NBD did not converge on {result.label}'s sales even with penalizer {100 * penalizer}; "
                         "run more customers or rounds.")
    params = clv.model_params(bgf)
    pred = clv.holdout_predictions(bgf, summary)
    errors = clv.holdout_errors(pred)
    c = result.customers
    buyers = c[c["customer"].isin(result.purchases["customer"].unique())]
    unit = result.config.economics.price * result.config.economics.margin
    return {"bgnbd_params": params, "penalizer": attempt, "bgnbd_rate": params["r"] / params["alpha"], "world_rate": result.purchase_rate,
            "bgnbd_dropout": params["a"] / (params["a"] + params["b"]),
            "world_dropout": float(buyers["churned"].sum() / max(len(result.purchases), 1)),
            "holdout_predicted": errors["total_predicted"], "holdout_actual": errors["total_actual"],
            "holdout_profit_predicted": unit * errors["total_predicted"],
            "holdout_profit_actual": unit * errors["total_actual"], "holdout_mae": errors["mae"],
            "customers": int(len(summary))}


# -- offline NDCG vs online retention ----------------------------------------------------------------
def offline_online(results: list[SimulationResult], recommenders, *, items: pd.DataFrame | None = None,
                   log_from: str = "random", k: int = 10, test_frac: float = 0.25, seed: int) -> dict:
    """Rank the recommenders by offline NDCG@k on the world's own log and by simulated retention.

    The log is what ``log_from`` (a recommender of ``results``; default the random one, the least
    biased logging policy) observed in the first seed's world, split per user by
    ``split.user_stratified_split`` and scored by ``recsys_study.protocol.evaluate`` (relevance:
    ratings >= 4; ``items``: the catalogue frame, for content-based and hybrid models). Returns
    ``table`` (recommender, offline_ndcg, online_retention, ranks), the Spearman rank correlation and every inversion (a pair ordered one way offline and the other online,
    with the online paired difference and its CI).
    """
    from recsys_study.protocol import RelevancePolicy, evaluate
    from recsys_study.simulation.world import _spec
    from recsys_study.split import user_stratified_split

    source = [r for r in results if r.label == log_from]
    if not source:
        raise ValueError(f"offline_online needs a run of {log_from!r} among the results (its log is the data); "
                         f"got {sorted({r.label for r in results})}.")
    logged = source[0].log
    counts = logged.groupby(USER).size()
    logged = logged[logged[USER].isin(counts.index[counts >= 4])]
    split = user_stratified_split(logged, test_frac=test_frac, seed=seed)
    runs = per_run(results)
    online = runs.groupby(RECOMMENDER)["retention"].mean()
    rows = []
    for rec in recommenders:
        name, params, label = _spec(rec)
        if name == "oracle" or label not in online.index:
            continue
        frame = evaluate({"algorithm": name, "params": params}, split, k=k, metrics=("ndcg",),
                         relevance=RelevancePolicy(threshold=4.0), items=items, log=False)
        rows.append({RECOMMENDER: label, "offline_ndcg": float(frame.attrs["summary"][f"NDCG@{k}"]),
                     "online_retention": float(online[label])})
    table = pd.DataFrame(rows)
    table["offline_rank"] = table["offline_ndcg"].rank(ascending=False)
    table["online_rank"] = table["online_retention"].rank(ascending=False)
    rho = float(stats.spearmanr(table["offline_ndcg"], table["online_retention"]).statistic) if len(table) > 2 else float("nan")
    inversions = []
    for a, b in itertools.combinations(table[RECOMMENDER], 2):
        ra, rb = table.set_index(RECOMMENDER).loc[[a, b]].itertuples()
        if (ra.offline_ndcg - rb.offline_ndcg) * (ra.online_retention - rb.online_retention) < 0:
            better_offline, worse_offline = (a, b) if ra.offline_ndcg > rb.offline_ndcg else (b, a)
            d = paired_differences(runs[runs[RECOMMENDER].isin([a, b])], "retention", baseline=worse_offline)
            d = d.iloc[0] if len(d) else {}
            inversions.append({"better_offline": better_offline, "better_online": worse_offline,
                               "online_difference": float(-d.get("difference", np.nan)),
                               "lower": float(-d.get("upper", np.nan)), "upper": float(-d.get("lower", np.nan))})
    return {"table": table, "spearman": rho, "inversions": pd.DataFrame(
        inversions, columns=["better_offline", "better_online", "online_difference", "lower", "upper"]),
        "split": split}


# -- the survey -----------------------------------------------------------------------------------------
def survey_path_model():
    """Return the survey's path model: Personalisation -> Satisfaction -> Loyalty (and the direct path)."""
    from recsys_study.satisfaction.models import PathModel

    blocks = {PERSONALISATION: ("PERS1", "PERS2", "PERS3"), SATISFACTION: ("CUSA1", "CUSA2", "CUSA3"),
              LOYALTY: ("CUSL1", "CUSL2", "CUSL3")}
    return PathModel(blocks=blocks, paths=SURVEY_PATHS, name="personalisation_loyalty")


def true_survey_paths(latent: pd.DataFrame) -> pd.DataFrame:
    """Return the true standardised paths ``source, target, value``: OLS on the world's latent state
    (``satisfaction.oracle_paths``) of every respondent in ``latent``."""
    from recsys_study.satisfaction import oracle_paths

    return oracle_paths(latent, survey_path_model()).rename(columns={"estimate": "value"})


def survey_answers(latent: pd.DataFrame, survey: SurveyModel | None = None, *, seed: int, standardise_with=None):
    """Return the answers of the respondents in ``latent`` as a validated ``data.survey.Survey``.

    Indicator ``x = l z + sqrt(1 - l^2) e`` (z = the latent value standardised by the mean and sd of
    ``standardise_with``, default ``latent`` itself), answer ``clip(round(c + s x), 1, scale)`` with
    ``c = 1 + 0.6 (scale - 1)``, ``s = (scale - 1) / 5`` (as ``data.survey.simulate_survey``).
    The frame keeps ``customer`` and ``round`` next to the answers in ``survey.meta["respondents"]``.
    """
    from recsys_study.data.survey import validate_survey

    survey = survey or SurveyModel()
    ref = latent if standardise_with is None else standardise_with
    model = survey_path_model()
    rng = np.random.default_rng(seed)
    lo, hi = 1, survey.scale
    centre, spread = lo + 0.6 * (hi - lo), (hi - lo) / 5
    answers = {}
    for construct, items in model.blocks.items():
        z = ((latent[construct] - ref[construct].mean()) / ref[construct].std()).to_numpy()
        for item, lam in zip(items, survey.loadings[construct]):
            x = lam * z + np.sqrt(1 - lam**2) * rng.normal(size=len(z))
            answers[item] = np.clip(np.round(centre + spread * x), lo, hi)
    out = validate_survey(pd.DataFrame(answers), model.blocks, scale=(lo, hi), source="simulated world survey")
    out.meta["respondents"] = latent[["customer", "round"]].reset_index(drop=True) if "customer" in latent else None
    return out


def survey_recovery(latent: pd.DataFrame, survey: SurveyModel | None = None, *, n: int = 1000,
                    replications: int = 20, seed: int) -> pd.DataFrame:
    """Estimate the survey paths by PLS and PLSc on ``replications`` surveys of ``n`` respondents.

    Each replication draws ``n`` respondent-rounds of ``latent`` without replacement and fresh
    measurement error; the truth is :func:`true_survey_paths` on all of ``latent``. Returns
    ``estimator, replication, source, target, value, estimate, error``.
    """
    from recsys_study.progress import progress
    from recsys_study.satisfaction import PLSPM

    if len(latent) < n:
        raise ValueError(f"survey_recovery: {len(latent)} respondent-rounds, fewer than n={n}; lower n or run a "
                         "bigger world (more customers or rounds, or a higher survey.response_rate).")
    truth = true_survey_paths(latent)
    model = survey_path_model()
    rng = np.random.default_rng(seed)
    rows = []
    for rep in progress(range(replications), desc="survey replications", total=replications):
        sample = latent.iloc[rng.choice(len(latent), n, replace=False)]
        answers = survey_answers(sample, survey, seed=int(rng.integers(2**31)), standardise_with=latent)
        for est, consistent in (("PLS", False), ("PLSc", True)):
            fit = PLSPM(model, consistent=consistent).fit(answers.data)
            got = fit.paths().merge(truth, on=["source", "target"])
            rows.append(got.assign(estimator=est, replication=rep))
    out = pd.concat(rows, ignore_index=True)
    out["error"] = out["estimate"] - out["value"]
    return out[["estimator", "replication", "source", "target", "value", "estimate", "error"]]


# -- scenarios: the seeds' claims and the sensitivity analysis ----------------------------------------------
CLAIMS = {
    "claimed: 6x loyal, tells 20": {"response.loyalty_ratio": 6.0, "response.wom_negative": 20.0},
    "6x loyal, tells 3": {"response.loyalty_ratio": 6.0, "response.wom_negative": 3.0},
    "2x loyal, tells 20": {"response.loyalty_ratio": 2.0, "response.wom_negative": 20.0},
    "false: 2x loyal, tells 3": {"response.loyalty_ratio": 2.0, "response.wom_negative": 3.0},
}

SENSITIVITY = {
    "user.utility_noise": (0.1, 0.6),
    "response.adaptation": (0.05, 0.5),
    "choice.temperature": (0.25, 1.0),
    "choice.outside_utility": (3.0, 4.0),
    "refit_every": (1, 10),
}


def scenarios(config: WorldConfig, utilities: TrueUtilities, recommenders, changes: dict, *, seeds,
              name: str = "scenario") -> pd.DataFrame:
    """Run ``recommenders`` in the base world and in each changed world; return ``per_run`` rows with
    ``name`` (the scenario label) and ``changes`` (their text)."""
    frames = []
    for label, change in changes.items():
        results = simulate(config.replace(**change), utilities, recommenders, seeds=seeds)
        frames.append(per_run(results).assign(**{name: label, "changes": str(change)}))
    return pd.concat(frames, ignore_index=True)


def sensitivity_runs(config: WorldConfig, utilities: TrueUtilities, recommenders, grid: dict | None = None, *,
                     seeds) -> pd.DataFrame:
    """One-at-a-time sensitivity: the base world plus each parameter of ``grid`` at each of its values."""
    grid = SENSITIVITY if grid is None else grid
    changes = {"base": {}}
    for param, values in grid.items():
        for v in values:
            changes[f"{param}={v}"] = {param: v}
    out = scenarios(config, utilities, recommenders, changes, seeds=seeds, name="variant")
    out["parameter"] = out["variant"].str.split("=").str[0]
    return out


def conclusions_that_survive(runs: pd.DataFrame, metric: str = "retention", *, by: str = "variant",
                             base: str = "base") -> pd.DataFrame:
    """For every ordered pair of recommenders the base world separates (paired CI excludes 0), say in
    which variants the same order holds (mean difference of the same sign) and stays significant."""
    base_runs = runs[runs[by] == base]
    recs = list(dict.fromkeys(base_runs[RECOMMENDER]))
    rows = []
    for a, b in itertools.combinations(recs, 2):
        d = paired_differences(base_runs[base_runs[RECOMMENDER].isin([a, b])], metric, baseline=b).iloc[0]
        if not (d["lower"] > 0 or d["upper"] < 0):
            continue
        winner, loser = (a, b) if d["difference"] > 0 else (b, a)
        holds, significant, breaks = 0, 0, []
        variants = 0
        for variant, g in runs.groupby(by, sort=False):
            dv = paired_differences(g[g[RECOMMENDER].isin([winner, loser])], metric, baseline=loser)
            if dv.empty:
                continue
            dv = dv.iloc[0]
            variants += 1
            if dv["difference"] > 0:
                holds += 1
                significant += bool(dv["lower"] > 0)
            else:
                breaks.append(str(variant))
        rows.append({"claim": f"{winner} > {loser}", "variants": variants, "holds_in": holds,
                     "significant_in": significant, "breaks_in": ", ".join(breaks), "survives": not breaks})
    return pd.DataFrame(rows, columns=["claim", "variants", "holds_in", "significant_in", "breaks_in", "survives"])


def rating_log_summary(result: SimulationResult) -> dict:
    """Return the size of what a recommender observed: rows, customers, mean rating."""
    log = result.log
    return {"rows": int(len(log)), "customers": int(log[USER].nunique()), "mean_rating": float(log[RATING].mean())}


def world_survey_by_recommender(recommenders=("ease", "most_popular"), *, n_customers: int = 300, rounds: int = 10,
                                dataset: str = "ml-100k", seed: int):
    """Return (survey, path model, group labels): the simulated world's customers of two recommenders.

    One world (``simulate``, default configuration with ``n_customers`` and ``rounds``)
    per recommender, same seed; each customer's *last* survey answer is kept (one row per customer,
    so the rows are independent as the permutation tests assume), and the answers are drawn by
    ``survey_answers`` from the world's latent Personalisation, Satisfaction
    and Loyalty, standardised over both groups together (so composite means can differ).
    """
    from recsys_study.data import load_movielens

    utilities = TrueUtilities.from_dataset(load_movielens(dataset), seed=seed)
    config = WorldConfig.from_dict({"user": {"n_customers": n_customers}, "rounds": rounds})
    results = simulate(config, utilities, list(recommenders), seeds=[seed], show_progress=False)
    latent = pd.concat([r.survey_latent.assign(recommender=r.label) for r in results], ignore_index=True)
    last = latent.sort_values(["recommender", "customer", "round"]).groupby(["recommender", "customer"]).tail(1)
    last = last.reset_index(drop=True)
    survey = survey_answers(last, config.survey, seed=seed, standardise_with=latent)
    return survey, survey_path_model(), last["recommender"].rename("recommender")
