"""Customer lifetime value: BG/NBD for the number of repeat purchases, Gamma-Gamma for their value.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science
24(2)): while alive a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha);
after each purchase she drops out with probability p ~ Beta(a, b). Sufficient statistics per
customer: x = repeat purchases, t_x = time of the last purchase, T = time observed, all measured
from the first purchase. Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42; Fader &
Hardie 2013 note): the mean spend per repeat purchase is Gamma-Gamma(p, q, v), independent of x.

CLV over ``months`` months with a monthly discount rate d:
``CLV_i = sum_{m=1}^{months} E[M_i] * (E[X_i(t_m)] - E[X_i(t_{m-1})]) / (1 + d)^m``,
with ``t_m = m * 4.345`` weeks, E[X_i(t)] the BG/NBD conditional expectation and E[M_i] the
Gamma-Gamma conditional mean spend. Both models are fitted with the ``lifetimes`` package; the
prediction functions below take any model with lifetimes' method names, so the models of
``recsys_study.loyalty.btyd`` (Pareto/NBD, modified BG/NBD, our own BG/NBD) serve them as well.

Units follow FHL: purchases on the same day are one transaction, times are days / 7 (weeks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.data.schema import DataValidationError
from recsys_study.loyalty.rfm import validate_log

WEEKS_PER_MONTH = 4.345
#: Fader, Hardie & Lee (2005), CDNOW sample, 39-week calibration.
FHL_2005_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _lifetimes():
    # lifetimes 0.11 sets a pandas option that pandas 3 deprecates; the warning is noise here
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes
    return lifetimes


def _daily(transactions: pd.DataFrame) -> pd.DataFrame:
    log = validate_log(transactions)
    log["date"] = log["date"].dt.normalize()
    return log.groupby(["customer", "date"], as_index=False)["amount"].sum()


def calibration_holdout_summary(transactions: pd.DataFrame, *, calibration_end, observation_end,
                                unit_days: float = 7.0) -> pd.DataFrame:
    """Return per customer (first purchase <= calibration_end) the BG/NBD statistics.

    Columns: ``frequency_cal`` (repeat purchase days up to and including ``calibration_end``),
    ``recency_cal`` (first to last purchase), ``T_cal`` (first purchase to ``calibration_end``),
    ``monetary_cal`` (mean value of the repeat purchases; 0 without any), ``frequency_holdout``
    (purchase days in (calibration_end, observation_end]), ``monetary_holdout``,
    ``duration_holdout``. Times are in units of ``unit_days`` days (7 = weeks).
    """
    cal_end, obs_end = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
    if not cal_end < obs_end:
        raise DataValidationError(f"calibration end {cal_end.date()} must be before observation end {obs_end.date()}.")
    daily = _daily(transactions)
    daily = daily[daily["date"] <= obs_end]
    first = daily.groupby("customer")["date"].min()
    first = first[first <= cal_end]
    if first.empty:
        raise DataValidationError(f"no customer made a first purchase by the calibration end {cal_end.date()}.")
    daily = daily[daily["customer"].isin(first.index)]
    daily = daily.assign(first=daily["customer"].map(first))
    cal = daily[daily["date"] <= cal_end]
    hold = daily[daily["date"] > cal_end]
    repeat = cal[cal["date"] > cal["first"]]
    g = cal.groupby("customer")
    out = pd.DataFrame(index=first.index)
    out["frequency_cal"] = (g.size() - 1).astype(float)
    out["recency_cal"] = (g["date"].max() - first).dt.days / unit_days
    out["T_cal"] = (cal_end - first).dt.days / unit_days
    out["monetary_cal"] = repeat.groupby("customer")["amount"].mean().reindex(out.index, fill_value=0.0)
    out["frequency_holdout"] = hold.groupby("customer").size().reindex(out.index, fill_value=0).astype(float)
    out["monetary_holdout"] = hold.groupby("customer")["amount"].mean().reindex(out.index, fill_value=0.0)
    out["duration_holdout"] = (obs_end - cal_end).days / unit_days
    out.attrs.update(calibration_end=str(cal_end.date()), observation_end=str(obs_end.date()), unit_days=unit_days)
    return out


def fit_bgnbd(summary: pd.DataFrame, *, penalizer: float = 0.0):
    """Return a fitted ``lifetimes.BetaGeoFitter`` (maximum likelihood; parameters in ``params_``)."""
    return _lifetimes().BetaGeoFitter(penalizer_coef=penalizer).fit(
        summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])


def fit_gamma_gamma(summary: pd.DataFrame, *, penalizer: float = 0.0):
    """Return a fitted ``lifetimes.GammaGammaFitter`` on customers with at least one repeat purchase.

    Customers whose repeat purchases average to 0 (free or fully returned items; a few in the
    CDNOW master file) are left out of the fit: the Gamma-Gamma likelihood needs positive spend.
    """
    repeaters = summary[(summary["frequency_cal"] > 0) & (summary["monetary_cal"] > 0)]
    return _lifetimes().GammaGammaFitter(penalizer_coef=penalizer).fit(repeaters["frequency_cal"], repeaters["monetary_cal"])


def model_params(model) -> dict[str, float]:
    """Return the fitted parameters of a lifetimes model as a plain dict of floats."""
    return {k: float(v) for k, v in model.params_.items()}


def holdout_predictions(bgf, summary: pd.DataFrame) -> pd.DataFrame:
    """Return per customer the predicted and actual number of repeat purchases in the holdout."""
    pred = bgf.conditional_expected_number_of_purchases_up_to_time(
        summary["duration_holdout"].to_numpy(), summary["frequency_cal"].to_numpy(),
        summary["recency_cal"].to_numpy(), summary["T_cal"].to_numpy())
    return pd.DataFrame({"frequency_cal": summary["frequency_cal"], "predicted": np.asarray(pred, dtype=float),
                         "actual": summary["frequency_holdout"]}, index=summary.index)


def holdout_errors(pred: pd.DataFrame) -> dict[str, float]:
    """Return MAE, RMSE, Pearson r per customer and the aggregate predicted/actual totals."""
    err = pred["predicted"] - pred["actual"]
    return {"mae": float(err.abs().mean()), "rmse": float(np.sqrt((err ** 2).mean())),
            "corr": float(np.corrcoef(pred["predicted"], pred["actual"])[0, 1]),
            "total_predicted": float(pred["predicted"].sum()), "total_actual": float(pred["actual"].sum())}


def conditional_expectations_table(pred: pd.DataFrame, *, max_freq: int = 7) -> pd.DataFrame:
    """Return mean predicted and actual holdout purchases by calibration frequency (FHL Fig. 4),
    frequencies at or above ``max_freq`` pooled."""
    bucket = pred["frequency_cal"].clip(upper=max_freq).astype(int)
    out = pred.groupby(bucket).agg(customers=("actual", "size"), predicted=("predicted", "mean"),
                                   actual=("actual", "mean"))
    out.index.name = "frequency_cal"
    return out.reset_index()


def tracking_curve(bgf, transactions: pd.DataFrame, summary: pd.DataFrame, *, unit_days: float = 7.0) -> pd.DataFrame:
    """Return cumulative repeat purchases per week since the cohort start: actual vs BG/NBD expected.

    Expected at calendar time t: ``sum_i E[X(t - s_i)]`` over customers born (first purchase)
    at s_i <= t, computed once per distinct birth day (FHL Fig. 2).
    """
    daily = _daily(transactions)
    daily = daily[daily["customer"].isin(summary.index)]
    first = daily.groupby("customer")["date"].min()
    start = first.min()
    obs_end = pd.Timestamp(summary.attrs.get("observation_end", daily["date"].max()))
    n_units = int(np.floor((obs_end - start).days / unit_days))
    grid = np.arange(1, n_units + 1) * unit_days  # days since start
    births = ((first - start).dt.days).value_counts()
    age = (grid[:, None] - births.index.to_numpy()[None, :]) / unit_days
    expected = np.where(age > 0, bgf.expected_number_of_purchases_up_to_time(np.clip(age, 0, None)), 0.0)
    repeat_days = (daily["date"] - start).dt.days[daily["date"] > daily["customer"].map(first)].to_numpy()
    actual = np.searchsorted(np.sort(repeat_days), grid, side="left")  # purchases strictly before grid day
    return pd.DataFrame({"period": np.arange(1, n_units + 1), "actual": actual.astype(float),
                         "expected": expected @ births.to_numpy(dtype=float)})


def customer_lifetime_value(bgf, ggf, summary: pd.DataFrame, *, months: int = 12,
                            monthly_discount: float = 0.01) -> pd.DataFrame:
    """Return per customer expected purchases and spend per purchase, and the discounted CLV
    over ``months`` months (formula in the module docstring), standing at the calibration end."""
    f, r, t = (summary[c].to_numpy() for c in ("frequency_cal", "recency_cal", "T_cal"))
    spend = np.asarray(ggf.conditional_expected_average_profit(summary["frequency_cal"], summary["monetary_cal"]),
                       dtype=float)
    horizons = np.arange(0, months + 1) * WEEKS_PER_MONTH
    cum = np.column_stack([np.zeros_like(f, dtype=float)] + [
        np.asarray(bgf.conditional_expected_number_of_purchases_up_to_time(h, f, r, t), dtype=float)
        for h in horizons[1:]])
    per_month = np.diff(cum, axis=1)
    discount = (1.0 + monthly_discount) ** -np.arange(1, months + 1)
    clv = spend * (per_month @ discount)
    p_alive = np.asarray(bgf.conditional_probability_alive(f, r, t), dtype=float)
    return pd.DataFrame({"p_alive": p_alive, "expected_purchases": cum[:, -1], "expected_spend": spend,
                         "clv": clv}, index=summary.index)


def next_period_value(model, ggf, summary: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Return per customer the forecast of the holdout period, standing at the calibration end.

    Columns: ``p_alive``; ``p_purchase`` (at least one purchase in the holdout: the model's
    ``conditional_probability_of_purchase``); ``expected_purchases`` (its conditional expectation over
    ``duration_holdout``); ``expected_spend`` (Gamma-Gamma conditional mean spend per purchase) and
    ``expected_value = expected_purchases * expected_spend`` (the period's expected revenue).
    """
    f, r, t = (summary[c].to_numpy() for c in ("frequency_cal", "recency_cal", "T_cal"))
    horizon = summary["duration_holdout"].to_numpy()
    spend = np.asarray(ggf.conditional_expected_average_profit(summary["frequency_cal"], summary["monetary_cal"]),
                       dtype=float)
    purchases = np.asarray(model.conditional_expected_number_of_purchases_up_to_time(horizon, f, r, t), dtype=float)
    return pd.DataFrame({"p_alive": np.asarray(model.conditional_probability_alive(f, r, t), dtype=float),
                         "p_purchase": model.conditional_probability_of_purchase(horizon, f, r, t, seed=seed),
                         "expected_purchases": purchases, "expected_spend": spend,
                         "expected_value": purchases * spend}, index=summary.index)


def customer_value_conclusion(headline: dict, *, clv_months: int, model_choice: str, migration: dict) -> str:
    """Return the notebook's closing paragraph (Markdown), written from the run's numbers.

    ``headline``: the notebook's headline numbers (revenue shares, segments, holdout errors, CLV);
    ``model_choice``: ``btyd.model_choice_conclusion``'s paragraph; ``migration``: the ``overall`` dict
    of ``pyramid.evaluate_migration_forecast`` (with the ``auc_recency`` baseline).
    """
    moved_down = 1 - headline["vip_stay_rate"]
    error = headline["holdout_total_predicted"] / headline["holdout_total_actual"] - 1
    better = migration["auc"] - migration.get("auc_recency", np.nan)
    return (
        f"Value in CDNOW ({headline['n_customers']:,} customers) is concentrated: the top 20 % of customers bring "
        f"{headline['top20_revenue_share']:.0%} of the revenue, the VIP tier {headline['vip_revenue_share']:.0%}, and "
        f"the *important-value* RFM class {headline['important_value_revenue_share']:.0%}. Between the two periods "
        f"{moved_down:.0%} of the VIP customers leave their tier. k-means finds {headline['k_segments']} segments "
        f"(silhouette {headline['silhouette']:.2f}). BG/NBD + Gamma–Gamma, fitted on the calibration window, "
        f"predicts the holdout purchases with a mean absolute error of {headline['holdout_mae']:.2f} transactions per "
        f"customer and {'over' if error > 0 else 'under'}-forecasts the cohort total by {abs(error):.0%}.\n\n"
        f"**Which model.** {model_choice} With {headline.get('chosen_model', 'the chosen model')} the mean "
        f"{clv_months}-month CLV is USD {headline['mean_clv']:,.2f}.\n\n"
        f"**Who moves down.** Fed with the chosen model's probability of buying and expected spend next period, the "
        f"pyramid forecast ranks the customers who actually moved down a tier above those who did not with AUC "
        f"{migration['auc']:.2f} ({'+' if better >= 0 else ''}{better:.2f} against ranking by recency alone, "
        f"{migration['auc_recency']:.2f}); of the customers it flags, {migration['precision']:.0%} did move down "
        f"(base rate {migration['moved_down_rate']:.0%}), and it finds {migration['recall']:.0%} of them. "
        "RFM classes, segments and pyramid tiers give the same message in three vocabularies; the BTYD model adds "
        "the forward-looking correction, and says which customer is about to slip."
    )
