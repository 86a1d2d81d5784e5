# %% [markdown]
# # 06 · Customer value on CDNOW: RFM, customer pyramid, CLV
#
# **Question.** Which customers carry the value of a retailer, how concentrated is that value, how do
# customers move between value groups, and how much will each one buy in the next year?
#
# **Data.** CDNOW (Fader & Hardie): every CD purchase of the cohort that first bought in Q1 1997, followed to
# June 1998 — 23,570 customers in the master file, 2,357 in the 1/10 sample (shipped in the `lifetimes` wheel).
#
# **Methods** (all in `recsys_study.loyalty`):
# 1. **RFM** (Hughes 1994): recency $R$ = days since the last purchase, frequency $F$ = purchase days,
#    monetary $M$ = total spend, at a reference date; quintile scores 1–5; the eight **value classes** of the
#    seeds' bank case (each of R, F, M high or low against its mean); **ABC / Pareto** curve.
# 2. **Segmentation**: k-means on standardised $\log(1+\text{RFM})$ with $k$ chosen by the mean silhouette
#    $s(i) = (b(i)-a(i))/\max(a(i),b(i))$ (Rousseeuw 1987); a depth-3 decision tree turns the clusters into rules;
#    a **life-cycle stage** per customer (new < 90 days of tenure, at risk ≥ 180 days without purchase, lapsed ≥ 365).
# 3. **Customer pyramid** (Curry & Curry 2000): VIP = top 1 % of active customers by spend (the seeds'
#    definition), then 4 %, 15 %, 80 %; each tier's revenue share; **migration** between two periods.
# 4. **BG/NBD** (Fader, Hardie & Lee 2005) for repeat purchases, Gamma–Gamma for spend per purchase,
#    39-week calibration, 39-week holdout; the published CDNOW parameters reproduced.
# 5. **Model choice**: BG/NBD, Pareto/NBD (Schmittlein, Morrison & Colombo 1987), modified BG/NBD (Batislam,
#    Denizel & Filiztekin 2007) and, on weekly purchase opportunities, BG/BB (Fader, Hardie & Shang 2010), compared
#    by likelihood, BIC and holdout error; the package picks the model from the numbers.
# 6. **CLV** with the chosen model:
#    $\text{CLV}_i = \sum_{m=1}^{12} E[M_i]\,(E[X_i(t_m)] - E[X_i(t_{m-1})])/(1+d)^m$.
# 7. **Migration forecast**: the chosen model's $P(\text{buys next period})$ and expected spend forecast next
#    period's pyramid; who is forecast to move down a tier, scored against the realised migration.
#
# **How to read it.** Each chart is followed by its business reading. The headline numbers are recorded at
# the end and logged to MLflow (experiment `loyalty`).

# %% tags=["parameters"]
quick = False
seed = 42
dataset = "master"            # "master" (23,570 customers) or "sample" (2,357; the FHL 2005 sample)
cut_points = [0.01, 0.04, 0.15, 0.80]
calibration_end = "1997-09-30"
observation_end = "1998-06-30"
clv_months = 12
monthly_discount = 0.01
btyd_period_days = 7          # days per BG/BB purchase opportunity (7 weekly, 91 quarterly)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from IPython.display import Markdown

from recsys_study.data import load_cdnow
from recsys_study.loyalty import btyd, clv, pyramid, rfm, segments
from recsys_study.notebook import publish

sns.set_theme(style="whitegrid")
if quick:
    dataset = "sample"
log = load_cdnow(sample=(dataset == "sample"))
reference_date = pd.Timestamp(observation_end) + pd.Timedelta(days=1)
figures = {}
print(f"{dataset}: {len(log):,} purchases by {log['customer'].nunique():,} customers, "
      f"{log['date'].min().date()} to {log['date'].max().date()}")

# %% [markdown]
# ## 1. RFM and the eight value classes
# RFM at the end of the observation window. The rule table (R high = recency below its mean, i.e. recent):
#
# | R | F | M | class |
# |---|---|---|---|
# | H | H | H | important-value |
# | H | L | H | important-development |
# | L | H | H | important-retention |
# | L | L | H | important-recall |
# | H | H | L | general-value |
# | H | L | L | general-development |
# | L | H | L | general-retention |
# | L | L | L | general-recall |

# %%
table = rfm.rfm_scores(rfm.rfm_table(log, reference_date=reference_date))
table["value_class"] = rfm.value_classes(table)
classes = rfm.class_summary(table, table["value_class"])
display(table[["recency", "frequency", "monetary", "R", "F", "M", "RFM_cell"]].describe().round(1))
classes.round(3)

# %%
long = classes.melt(id_vars="value_class", value_vars=["customer_share", "revenue_share"], var_name="share")
fig, ax = plt.subplots(figsize=(9, 4))
sns.barplot(data=long, y="value_class", x="value", hue="share", ax=ax)
ax.set(xlabel="share", ylabel="", title="Value classes: share of customers vs share of revenue")
figures["value_classes"] = fig

# %% [markdown]
# **Business reading.** The *important-value* class (recent, frequent, big spenders) is a minority of
# customers but brings the majority of revenue (on the master file 20 % of customers, 64 % of revenue):
# these are the customers to keep at almost any cost.
# *General-recall* (long gone, bought once, little) is the largest class and brings a small share: mass
# low-cost reactivation at most. *Important-retention* and *important-recall* customers spent a lot but have
# not come back recently — the classic win-back targets.

# %%
curve = rfm.pareto_curve(table["monetary"])
top20 = rfm.revenue_share_of_top(table["monetary"], 0.2)
abc = rfm.abc_classes(table["monetary"]).value_counts(normalize=True).sort_index()
fig, ax = plt.subplots(figsize=(5, 5))
sns.lineplot(data=curve, x="customer_share", y="revenue_share", ax=ax)
ax.plot([0, 1], [0, 1], ls="--", c="grey")
ax.axvline(0.2, c="red", lw=0.8)
ax.set(title=f"Pareto curve: top 20% bring {top20:.0%} of revenue", xlabel="share of customers (largest first)",
       ylabel="cumulative share of revenue")
figures["pareto"] = fig
print("ABC shares of customers:", abc.round(3).to_dict())

# %% [markdown]
# **Business reading.** The further the curve bows above the diagonal, the more revenue depends on few
# customers. The red line reads off the "80/20" number: the share of revenue brought by the best fifth of
# customers (68 % on CDNOW: close to, but below, the proverbial 80 %). Class A customers (the first 80 % of revenue) are the ones an account manager should know by name.

# %% [markdown]
# ## 2. Segments from the data and the customer life cycle

# %%
seg = segments.kmeans_segments(table, k_range=range(2, 6) if quick else range(2, 9), seed=seed)
rules, fidelity = segments.explain_segments(table, seg.labels, seed=seed)
table["segment"] = seg.labels
table["stage"] = segments.lifecycle_stage(table)
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
sns.lineplot(data=seg.silhouette, x="k", y="silhouette", marker="o", ax=axes[0])
axes[0].set(title=f"Mean silhouette by k (chosen k = {seg.k})")
sns.scatterplot(data=table, x="frequency", y="monetary", hue="segment", style="stage", alpha=0.6, ax=axes[1])
axes[1].set(xscale="log", yscale="log", title="Segments in frequency × monetary")
figures["segments"] = fig
print(rules)
print(f"rules reproduce the k-means segment of {fidelity:.1%} of customers")
seg.profiles.round(2)

# %% [markdown]
# **Business reading.** The silhouette picks the number of groups that are clearly apart; on CDNOW the data
# split mainly into a small group of repeat buyers (segment 0, most of the revenue) and a large group of
# one- or two-time buyers. The tree prints the split as rules a marketer can apply without the model
# ("frequency > 2.5 and monetary > …"), and says how often they agree with k-means. The life-cycle
# stages show that by mid-1998 most of this 1997 cohort has lapsed (65 % of customers on the master file)
# — the cohort's value rests on the active quarter. Nobody is *new*: CDNOW is one acquisition cohort
# (first purchases in Q1 1997), so the stage only becomes informative on an open customer base.

# %%
stages = table.groupby("stage", observed=False).agg(customers=("monetary", "size"), revenue=("monetary", "sum"))
stages["revenue_share"] = stages["revenue"] / stages["revenue"].sum()
stages

# %% [markdown]
# ## 3. The customer pyramid and migration between tiers
# Period 1 = the calibration window (first purchase to the calibration end), period 2 = the holdout window.
# Customers who buy nothing in a period are *inactive* in it.

# %%
start = log["date"].min()
cal_next = pd.Timestamp(calibration_end) + pd.Timedelta(days=1)
values_1 = pyramid.period_values(log, start, cal_next)
values_2 = pyramid.period_values(log, cal_next, reference_date, customers=values_1.index)
tiers_1 = pyramid.pyramid_tiers(values_1, cut_points=cut_points)
tiers_2 = pyramid.pyramid_tiers(values_2, cut_points=cut_points)
tiers = pyramid.tier_summary(values_1, tiers_1)
migration = pyramid.migration_matrix(tiers_1, tiers_2)
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
sns.barplot(data=tiers[tiers["tier"] != "inactive"], x="tier", y="revenue_share", ax=axes[0])
axes[0].set(title="Period 1: revenue share per tier", ylabel="share of revenue")
sns.heatmap(migration, annot=True, fmt=".2f", cmap="Blues", ax=axes[1])
axes[1].set(title="Migration: tier in period 1 (rows) → period 2")
figures["pyramid"] = fig
tiers.round(3)

# %% [markdown]
# **Business reading.** The bar chart is the pyramid turned on its side: the VIP tier (1 % of the active
# customers) brings far more than 1 % of revenue, and the small-customer base (80 %) far less than 80 %.
# The migration matrix is the warning: on the master file only a fifth of the VIPs are VIPs again in the
# next period, most move down a tier or two, and the lower the tier the more customers buy nothing at all
# (about 15 % of VIPs, three quarters of small customers). Value is not a fixed attribute of a customer;
# keeping a VIP a VIP is the work.

# %% [markdown]
# ## 4. BG/NBD and Gamma–Gamma: the published model
# Units as in Fader, Hardie & Lee (2005): same-day purchases are one transaction, time in weeks (days / 7).
# On the sample the fitted BG/NBD must give $r = 0.243,\ \alpha = 4.414,\ a = 0.793,\ b = 2.426$.

# %%
summary = clv.calibration_holdout_summary(log, calibration_end=calibration_end, observation_end=observation_end)
bgf = clv.fit_bgnbd(summary)
ggf = clv.fit_gamma_gamma(summary)
bg_params, gg_params = clv.model_params(bgf), clv.model_params(ggf)
pred = clv.holdout_predictions(bgf, summary)
errors = clv.holdout_errors(pred)
print("BG/NBD", {k: round(v, 3) for k, v in bg_params.items()}, "| FHL 2005 (sample):", clv.FHL_2005_BGNBD)
print("Gamma-Gamma", {k: round(v, 3) for k, v in gg_params.items()})
print({k: round(v, 3) for k, v in errors.items()})

# %%
track = clv.tracking_curve(bgf, log, summary)
cond = clv.conditional_expectations_table(pred)
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
sns.lineplot(data=track.melt(id_vars="period", var_name="series"), x="period", y="value", hue="series", ax=axes[0])
axes[0].axvline(summary["T_cal"].max(), c="grey", ls="--")
axes[0].set(title="Cumulative repeat purchases: actual vs BG/NBD", xlabel="week", ylabel="repeat purchases")
sns.barplot(data=cond.melt(id_vars="frequency_cal", value_vars=["actual", "predicted"], var_name="series"),
            x="frequency_cal", y="value", hue="series", ax=axes[1])
axes[1].set(title="Holdout purchases by calibration frequency (7 = 7+)", ylabel="mean purchases in holdout")
figures["bgnbd_fit"] = fig
cond.round(3)

# %% [markdown]
# **Business reading.** Left: the model, fitted on the first 39 weeks only (left of the dashed line),
# extrapolates the cohort's repeat purchases through the next 39 weeks; a close curve means the forecast can
# be used for planning (stock, budget). Here it under-forecasts the holdout by about an eighth (12 % on the
# sample, 14 % on the master file). Right: conditional expectations per customer — customers who bought
# more in the past are expected to buy more, and the bars show where the shortfall sits: customers with one
# or two repeat purchases in calibration come back more than the model expects (FHL's Figure 4).

# %% [markdown]
# ## 5. Which BTYD model? Chosen from the numbers, not assumed
# Four models of "buy till you die", each fitted by maximum likelihood on the same 39-week calibration
# (`recsys_study.loyalty.btyd`; per customer $x$ repeat purchases, last at $t_x$, observed for $T$ weeks):
#
# | model | purchases while alive | drop-out | reference |
# |---|---|---|---|
# | BG/NBD | Poisson($\lambda$), $\lambda \sim$ Gamma($r, \alpha$) | after each repeat purchase with $p \sim$ Beta($a, b$) | Fader, Hardie & Lee (2005) |
# | MBG/NBD | same | also right after the first purchase | Batislam, Denizel & Filiztekin (2007) |
# | Pareto/NBD | same | at any time: lifetime Exp($\mu$), $\mu \sim$ Gamma($s, \beta$) | Schmittlein, Morrison & Colombo (1987) |
# | BG/BB | buys at each opportunity with $p \sim$ Beta($\alpha, \beta$) | before each opportunity with $\theta \sim$ Beta($\gamma, \delta$) | Fader, Hardie & Shang (2010) |
#
# Pareto/NBD's likelihood (Fader, Hardie & Lee 2005 note):
# $L = \frac{\Gamma(r+x)\alpha^r\beta^s}{\Gamma(r)}\Big[\frac{1}{(\alpha+T)^{r+x}(\beta+T)^s} + \frac{s}{r+s+x}A_0\Big]$,
# $A_0$ a difference of Gauss hypergeometric functions at $t_x$ and $T$. On the 2,357-customer sample it must give
# $r=0.55,\ \alpha=10.58,\ s=0.61,\ \beta=11.67$.
#
# **Data for BG/BB.** BG/BB is a discrete-time model: CDNOW's purchase days are binned into
# `btyd_period_days`-day opportunities (a grid ending at the calibration end; a customer's opportunities are the
# periods after the one of her first purchase), and it forecasts *periods with a purchase*, not purchase days. Its
# likelihood and error are therefore on other data and cannot enter the choice; it is set beside BG/NBD fitted on
# the same periods instead. Quarterly periods leave only two opportunities per customer (the whole cohort is born
# in Q1): too few to separate buying from dying.
#
# **Criteria.** Log-likelihood and BIC $= k\ln N - 2\ln L$ (in-sample); the holdout error per customer (MAE, RMSE of
# the forecast repeat purchases in weeks 40–78) and in aggregate (total, and the mean absolute percentage error
# of the cumulative weekly tracking curve over the holdout weeks). `btyd.choose_model` picks the lowest holdout
# *squared* error: the models forecast expected purchases, and squared error is the loss whose best forecast is
# the mean, whereas absolute error is won by the median — 0 purchases for most customers — and so rewards models
# that forecast too little (Gneiting 2011). Models whose paired per-customer difference from the best is within
# two standard errors tie, and BIC breaks the tie.

# %%
weekly = btyd.discrete_summary(log, calibration_end=calibration_end, observation_end=observation_end,
                               period_days=btyd_period_days)
comparison = btyd.compare_models(summary, log, weekly=weekly)
choice = btyd.choose_model(comparison)
chosen = comparison["fits"][choice["model"]]
models_table = comparison["table"].set_index("model")
print({name: {k: round(v, 3) for k, v in fit.params_.items()} for name, fit in comparison["fits"].items()})
display(choice["differences"].round(4))
models_table.round(4)

# %%
cond_all = pd.concat({name: clv.conditional_expectations_table(pred)
                      for name, pred in comparison["predictions"].items() if models_table.loc[name, "comparable"]},
                     names=["model"]).reset_index(level=0)
actual_cond = cond_all.drop_duplicates("frequency_cal").assign(model="actual", predicted=lambda d: d["actual"])
track_all = pd.concat({name: comparison["tracking"][name] for name in models_table.index[models_table["comparable"]]},
                      names=["model"]).reset_index(level=0)
actual_track = track_all.drop_duplicates("period").assign(model="actual", expected=lambda d: d["actual"])
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
sns.lineplot(data=pd.concat([cond_all, actual_cond]), x="frequency_cal", y="predicted", hue="model", style="model",
             markers=True, ax=axes[0])
axes[0].set(title="Conditional expectations by calibration frequency",
            xlabel="repeat purchases in calibration (7 = 7+)", ylabel="mean purchases in holdout")
sns.lineplot(data=pd.concat([track_all, actual_track]), x="period", y="expected", hue="model", style="model",
             ax=axes[1])
axes[1].axvline(summary["T_cal"].max(), c="grey", ls="--")
axes[1].set(title="Cumulative repeat purchases: actual vs each model", xlabel="week",
            ylabel="cumulative repeat purchases")
figures["btyd_models"] = fig
Markdown(btyd.model_choice_conclusion(comparison, choice))

# %% [markdown]
# **Business reading.** All three continuous-time models tell the same story on CDNOW — their parameters differ,
# their forecasts barely do — and all under-forecast the holdout: customers with one or two repeat purchases in
# calibration come back more than any of them expects. The choice rests on out-of-sample error first; only when the
# holdout cannot tell the models apart does the in-sample fit decide (BIC; with four parameters each, simply the
# likelihood). The aggregate rows matter separately: the model that ranks customers best need not be the one
# whose cohort total is closest, and the conclusion says when they differ.

# %% [markdown]
# ## 6. CLV with the chosen model
# The chosen model's conditional expectations and Gamma–Gamma's expected spend per purchase, discounted monthly.

# %%
values = clv.customer_lifetime_value(chosen, ggf, summary, months=clv_months, monthly_discount=monthly_discount)
values["tier"] = tiers_1.reindex(values.index)
by_tier = values.groupby("tier", observed=False)["clv"].agg(["size", "mean", "sum"])
by_tier["share"] = by_tier["sum"] / by_tier["sum"].sum()
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
sns.histplot(values["clv"] + 1, log_scale=True, bins=40, ax=axes[0])
axes[0].set(title=f"{clv_months}-month CLV per customer ({choice['model']}; +1 $, log scale)", xlabel="CLV + 1 (USD)")
sns.barplot(data=by_tier.reset_index(), x="tier", y="mean", ax=axes[1])
axes[1].set(title="Mean CLV by pyramid tier (period 1)", ylabel="mean CLV (USD)")
figures["clv"] = fig
by_tier.round(2)

# %% [markdown]
# **Business reading.** CLV is as skewed as past spend: most customers are worth a few dollars over the
# next year, a few are worth hundreds. Ranking by CLV instead of past spend discounts customers who spent a
# lot long ago and are probably gone ($P(\text{alive})$ low) — that is where CLV and the pyramid disagree,
# and where a retention budget is best spent.

# %% [markdown]
# ## 7. Who will move down the pyramid? A forecast from the BTYD model
# Standing at the calibration end, the chosen model gives each customer the probability of buying at least once in
# the holdout, $P(\text{buy}) = P(\text{alive})\,[1 - P(\text{no purchase} \mid \text{alive})]$ (closed form for
# BG/NBD: $1-((\alpha+T)/(\alpha+T+t))^{r+x}$; Monte Carlo over the posterior rates for Pareto/NBD), and the
# expected spend $\hat v_i = E[X_i(\text{holdout})] \cdot E[M_i]$. The forecast pyramid of the holdout period: the
# $\hat N = \sum_i P_i(\text{buy})$ customers with the largest $\hat v$ are active and cut into tiers with the same
# cut-points; the rest are inactive. A customer's *down score* $= \log(\text{bar of her current tier}) - \log \hat v_i$
# says how far below the lowest forecast value of her tier she falls (> 0: forecast to move down).
# Evaluated on the realised period-2 tiers: ROC AUC of the score, precision and recall of the "moves down" flag, per
# tier and overall, against two one-number rankings: weeks since the last purchase (recency) and $1-P(\text{alive})$.

# %%
forecast_inputs = clv.next_period_value(chosen, ggf, summary, seed=seed)
forecast = pyramid.migration_forecast(tiers_1, forecast_inputs["expected_value"], forecast_inputs["p_purchase"],
                                      cut_points=cut_points)
migration_eval = pyramid.evaluate_migration_forecast(
    forecast, tiers_2, baselines={"recency": summary["T_cal"] - summary["recency_cal"],
                                  "not_alive": 1 - forecast_inputs["p_alive"]})
print(f"forecast active next period: {forecast_inputs['p_purchase'].sum():,.0f}; "
      f"actually active: {int((values_2 > 0).sum()):,}")
display(pd.Series(migration_eval["overall"]).round(3).to_frame("overall").T)
migration_eval["by_tier"].round(3)

# %%
auc_long = migration_eval["by_tier"].melt(id_vars="tier", value_vars=["auc", "auc_recency", "auc_not_alive"],
                                          var_name="score", value_name="AUC")
auc_long["score"] = auc_long["score"].map({"auc": "BTYD down score", "auc_recency": "recency",
                                           "auc_not_alive": "1 − P(alive)"})
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
sns.barplot(data=auc_long, x="tier", y="AUC", hue="score", ax=axes[0])
axes[0].axhline(0.5, c="grey", ls="--")
axes[0].set(title="Who moves down a tier: ROC AUC by period-1 tier", ylim=(0.3, 1.0))
sns.barplot(data=migration_eval["by_decile"], x="score_decile", y="moved_down_rate", color="C0", ax=axes[1])
axes[1].axhline(migration_eval["overall"]["moved_down_rate"], c="grey", ls="--")
axes[1].set(title="Realised share moving down, by decile of the down score", xlabel="down-score decile (10 = highest)",
            ylabel="moved down")
figures["migration_forecast"] = fig

# %% [markdown]
# **Business reading.** The score orders customers by how likely they are to slip: in the top deciles most of them
# do, in the bottom deciles far fewer. Overall it ranks better than the one-number rules — recency alone does not
# know how often a customer used to buy, $1-P(\text{alive})$ alone does not know how much she spends, and a tier is
# lost either by stopping or by spending less — but within a tier the margin is small and not the same in every
# tier (the bars): most of what predicts a fall is already in recency. BG/NBD's $P(\text{alive})$ is 1 for every
# customer without a repeat purchase (in BG/NBD nobody drops out before buying again), which is why
# $1-P(\text{alive})$ ranks poorly when the chosen model is BG/NBD. For a retention budget: the customers of the top
# tiers with the highest down score are the ones to call before the next period, not after it.

# %% [markdown]
# ## Try this
#
# - **`cut_points = [0.05, 0.15, 0.30, 0.80]`**: a wider VIP tier. Its revenue share rises and its
#   revenue per customer falls (the added customers spend less than the old VIPs).
# - **`calibration_end = "1997-06-30"`**: fit BG/NBD on 26 weeks instead of 39. Less history per
#   customer and a longer holdout to forecast: expect a larger mean absolute error.
# - **`monthly_discount = 0.02`**: a higher discount rate lowers every CLV.
# - **`dataset = "sample"`**: the 2,357-customer sample of Fader, Hardie & Lee (2005), whose published
#   BG/NBD and Pareto/NBD parameters the models reproduce.
# - **`btyd_period_days = 91`**: BG/BB on quarterly opportunities. Every customer is born in Q1 1997, so each has
#   two opportunities in calibration: watch BG/BB's holdout error against BG/NBD's on the same quarters.
# - **`calibration_end = "1997-06-30"`** again, and watch the model choice: with a shorter calibration the
#   models' drop-out assumptions matter more, and the ranking by holdout error can change.
# - **`cut_points = [0.05, 0.15, 0.30, 0.50]`** with the migration forecast: with broader top tiers, fewer
#   customers cross a tier boundary, and the AUC of the down score shows whether the forecast still separates them.

# %% [markdown]
# ## Conclusion
#
# Written from this run's numbers: change a parameter, run all cells, and it rewrites itself.

# %%
headline = {
    "n_customers": int(len(table)), "top20_revenue_share": top20,
    "vip_revenue_share": float(tiers.set_index("tier").loc["VIP", "revenue_share"]),
    "important_value_revenue_share": float(classes.set_index("value_class").loc["important-value", "revenue_share"]),
    "k_segments": seg.k, "silhouette": float(seg.silhouette["silhouette"].max()),
    "vip_stay_rate": float(migration.loc["VIP", "VIP"]),
    "holdout_mae": errors["mae"], "holdout_total_predicted": errors["total_predicted"],
    "holdout_total_actual": errors["total_actual"], "mean_clv": float(values["clv"].mean()),
    "chosen_model": choice["model"], "chosen_holdout_rmse": float(models_table.loc[choice["model"], "holdout_rmse"]),
    "migration_auc": migration_eval["overall"]["auc"],
    "migration_auc_recency": migration_eval["overall"]["auc_recency"],
    "migration_precision": migration_eval["overall"]["precision"],
}
conclusion = clv.customer_value_conclusion(headline, clv_months=clv_months,
                                           model_choice=btyd.model_choice_conclusion(comparison, choice),
                                           migration=migration_eval["overall"])
publish("customer_value", experiment="loyalty", dataset=log, tags={"dataset": f"cdnow_{dataset}"},
        headline=headline, figures=figures,
        metrics={"bgnbd": bg_params, "gg": gg_params,
                 "models": models_table[["log_likelihood", "bic", "holdout_mae",
                                         "holdout_rmse"]].to_dict(orient="index")},
        tables={"value_classes": classes, "pyramid_tiers": tiers, "migration": migration,
                "conditional_expectations": cond, "segments": seg.profiles, "btyd_models": models_table,
                "migration_forecast_by_tier": migration_eval["by_tier"]},
        records={"dataset": dataset, "bgnbd_params": bg_params, "gamma_gamma_params": gg_params,
                 "btyd_params": {name: fit.params_ for name, fit in comparison["fits"].items()},
                 "btyd_models": models_table.reset_index().to_dict(orient="records"),
                 "btyd_choice": {"tied": choice["tied"], "best_error": choice["best_error"], "error": choice["error"]},
                 "migration_overall": migration_eval["overall"], "conclusion": conclusion})
Markdown(conclusion)
