# %% [markdown]
# # 09 · Campaigns with a known truth: uplift targeting, sleeping dogs and the cost of consent
#
# **Question.** The seed documents end the cross-sell method with *score every customer, then evaluate the
# campaign's effect*, and name privacy and consent as the main obstacle to personalised CRM. Notebook 07 scored
# customers by their propensity to respond, which is not the campaign's effect: a customer who would have
# stayed anyway (a *sure thing*) responds without the offer, and a *sleeping dog* is driven away by it. Which
# customers should a campaign contact, how much does targeting by response instead of by uplift lose, how many
# sleeping dogs does each policy wake, and what does it cost when customers decline personalisation?
#
# **Why a simulated world.** In real data each customer is either contacted or not, so the individual effect is
# never observed; the simulated world of notebook 08 (`recsys_study.simulation`) knows both potential outcomes of
# every customer. It runs a **randomised campaign** (`CampaignModel`) in one round: each customer who has visited
# before is treated with probability `treated_share`. The offer shifts the return logit by
# $\tau(x) = t_0 + t_S S + t_R\,\text{recency} + t_F\,\text{frequency} + t_T\,\text{tenure}$ (and, for a
# cross-sell offer, the choice utilities by $b(x)$), so the effect differs by customer and changes sign. Both
# potential outcomes are drawn with the *same* random numbers (common random numbers), which makes every
# customer's kind exact (Radcliffe & Surry 1999): **persuadable** $(Y(1), Y(0)) = (1, 0)$, **sure thing** $(1,1)$,
# **lost cause** $(0,0)$, **sleeping dog** $(0,1)$. The **true uplift** is
# $\tau_i = P(Y_i = 1 \mid T = 1) - P(Y_i = 1 \mid T = 0)$ from the world's own model
# ($\sigma(L_i + \tau(x_i)) - \sigma(L_i)$ for a retention offer sent after the visit, with $L_i$ the return logit).
#
# **Method.** Each seed's campaign is split in half by customer: the policies learn on one half and rank the other.
# - **Response model**: $P(Y = 1 \mid x, T = 1)$ on the treated (notebook 07's propensity, the classic practice);
#   **churn-risk model**: $P(Y = 0 \mid x, T = 0)$ on the control group.
# - **Uplift models** (causalml): the S-, T- and X-learners (Künzel, Sekhon, Bickel & Yu 2019, PNAS) with shallow
#   gradient boosting, and the uplift random forest with the KL-divergence split (Rzepakowski & Jaroszewicz 2012, KAIS).
# - **Qini curve** (Radcliffe 2007): customers sorted by score, $Q(k) = R_T(k) - R_C(k)\,N_T(k)/N_C(k)$ with $R$
#   responders and $N$ customers of each arm among the top $k$; the **Qini coefficient** is the area between the
#   curve and the random line per customer, $q = \frac{1}{n(n+1)}\sum_{k=0}^{n}\left[Q(k) - \tfrac{k}{n}Q(n)\right]$;
#   the **uplift curve** $G(k) = \left(R_T(k)/N_T(k) - R_C(k)/N_C(k)\right)k$ and AUUC $= \frac{1}{n(n+1)}\sum_k G(k)$.
#   Only the world can also draw the **true** curves, $G^*(k) = \sum_{i \le k}\tau_{(i)}$ and
#   $Q^*(k) = \tfrac{N_T(k)}{k}G^*(k)$; the *oracle* ranks by $\tau$ itself.
# - **Profit** of contacting the top $k$: $\text{value}\cdot G^*(k) - \text{cost}\cdot k$, at each policy's best $k$.
# - **Consent**: a share of customers declines personalisation (GDPR art. 21–22: objection to profiling) and sees
#   the non-personalised popularity list; their data does not train the personalised model. Retention and CLV
#   (discounted margin of the world's purchases) as functions of the consent rate.
#
# **How to read it.** Tables give means over seeds with 95 % t-intervals; differences between policies are paired by
# seed (same test customers). The observed Qini is what a practitioner can compute; the true Qini is what it was
# trying to estimate. The conclusion at the end is written from this run's numbers.

# %% tags=["parameters"]
quick = False
seed = 42
dataset = "ml-100k"
recommender = "most_popular"    # the platform's recommender in the campaign world
kind = "retention"              # "retention" (acts on returning), "cross_sell" (on buying) or "message" (both)
campaign = {}                   # overrides, e.g. {"return_effect": {"intercept": 1.0, "satisfaction": -0.8}}
n_customers = 5000
campaign_round = 3
treated_share = 0.5
n_seeds = 5
world = {"choice": {"outside_utility": 3.5}, "response": {"satisfied_return": 0.85}}
value = 8.0                     # margin of one more customer responding (about 1.2 a week for about 7 weeks)
cost = 0.5                      # cost of one contact
budget_share = 0.3              # the campaign's budget: contacts as a share of customers
forest_trees = 20
campaign_file = ""              # a campaign of your own (CSV or parquet: treatment, outcome, features)
file_features = []              # its feature columns (empty: every other numeric column)
consent_recommender = "ease"
consent_rates = [1.0, 0.75, 0.5, 0.25, 0.0]
consent_customers = 1500
consent_rounds = 10
consent_seeds = 4

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from recsys_study.data import load_campaign, load_movielens
from recsys_study.notebook import publish
from recsys_study.simulation import TrueUtilities, WorldConfig, campaigns

sns.set_theme(style="whitegrid")
if quick:
    n_customers, n_seeds, forest_trees = 1200, 2, 5
    consent_customers, consent_rounds, consent_seeds, consent_rates = 300, 5, 2, [1.0, 0.5, 0.0]
    world = {**world, "item": {"utility_params": {"factors": 32, "epochs": 15, "learning_rate": 0.02, "regularization": 0.05},
                               **world.get("item", {})}}
seeds = [seed + i for i in range(n_seeds)]
data = load_movielens(dataset)
utilities = TrueUtilities.from_dataset(data, WorldConfig.from_dict(world).item, seed=seed)
config = WorldConfig.from_dict({**world, "user": {**world.get("user", {}), "n_customers": n_customers},
                                "rounds": campaign_round + 1,
                                "campaign": {"kind": kind, "round": campaign_round, "treated_share": treated_share,
                                             **campaign}})
figures = {}
effects = pd.DataFrame({"return_effect (logit)": config.campaign.return_effect,
                        "purchase_effect (rating points)": config.campaign.purchase_effect}).fillna(0.0)
print(f"{kind} campaign in round {campaign_round}, outcome '{config.campaign.outcome}', sent "
      f"{'after' if config.campaign.after_visit else 'before'} the visit; {n_customers} customers, seeds {seeds}")
effects

# %% [markdown]
# ## 1. The campaign and its four kinds
# One world per seed; the campaign's customers with their features, treatment, outcome, both potential outcomes and
# true uplift. The share of each kind is the same in both arms (the assignment is random); only the world sees it.

# %%
table = campaigns.campaign_table(config, utilities, recommender, seeds=seeds)
kinds = pd.crosstab(table["seed"], table["kind"], normalize="index")
fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
sns.scatterplot(data=table[table["seed"] == seeds[0]], x="satisfaction", y="true_uplift", hue="kind", s=10,
                alpha=0.6, ax=axes[0])
axes[0].axhline(0, color="black", lw=0.8)
axes[0].set(title="True uplift by satisfaction (first seed)", ylabel="P(Y=1 | offer) - P(Y=1 | none)")
sns.histplot(data=table, x="true_uplift", hue="kind", multiple="stack", bins=50, ax=axes[1])
axes[1].set(title="True uplift of every campaign customer (all seeds)")
figures["kinds"] = fig
display(kinds.round(3))
table.groupby("treatment")[["outcome", "true_uplift"]].mean().round(4)

# %% [markdown]
# **Reading.** Persuadables and sleeping dogs are the customers a campaign can change; sure things and lost causes
# respond (or not) whatever it does. The randomised difference in outcome rates between the arms estimates the mean
# true uplift.
#
# ## 2. A campaign file of your own
# `data.load_campaign(path)` reads a CSV or parquet file with a `treatment` (1 contacted, 0 control), an `outcome`
# (1 responded) and numeric features, and refuses a file without a control group, with non-binary or missing values,
# naming the column, a row and the fix. With `campaign_file` set, sections 3–4 evaluate your campaign on its outcomes
# (there is no truth to compare with); otherwise the world's first campaign is written to a file and read back.

# %%
if campaign_file:
    own = load_campaign(campaign_file, features=file_features or None)
else:
    path = Path(tempfile.mkdtemp()) / "world_campaign.parquet"
    table[table["seed"] == seeds[0]].to_parquet(path)
    own = load_campaign(path, features=list(campaigns.FEATURES))
print(f"{own.source}: {len(own.frame)} customers, {own.meta['treated_share']:.0%} treated, response rate "
      f"{own.meta['response_rate']:.1%}, features {own.features}")
if campaign_file:
    own_study = campaigns.uplift_study(own.frame, features=own.features, value=value, cost=cost,
                                       budget_share=budget_share, treated_share=own.meta["treated_share"],
                                       forest_trees=forest_trees)
    display(own_study["results"][["policy", "qini", "auuc", "best_share_observed", "profit_observed"]].round(4))

# %% [markdown]
# ## 3. Targeting policies: Qini on the outcomes and against the truth
# Every policy ranks the same test customers of each seed. Left: the Qini curves a practitioner can draw from the
# outcomes; right: the same rankings against the true uplift (per test customer, mean over seeds, ±2 s.e.).

# %%
study = campaigns.uplift_study(table, value=value, cost=cost, budget_share=budget_share, treated_share=treated_share,
                               forest_trees=forest_trees)
results, curves = study["results"], study["curves"]
summary = campaigns.policy_summary(results)
best = campaigns.best_uplift_model(results)
fig, axes = plt.subplots(1, 2, figsize=(15, 5), sharey=True)
for ax, col, title in ((axes[0], "qini_observed", "Qini curve on the observed outcomes"),
                       (axes[1], "qini_true", "Qini curve against the true uplift (only the world knows)")):
    sns.lineplot(data=curves, x="contacted_share", y=col, hue="policy", errorbar=("se", 2), ax=ax)
    ax.set(title=title, xlabel="share of customers contacted", ylabel="incremental responders per customer")
figures["qini"] = fig
summary.pivot(index="policy", columns="metric", values="mean").loc[results["policy"].unique()].round(4)

# %%
summary[summary["metric"].isin(["qini", "qini_true"])].round(4)

# %% [markdown]
# **Reading.** The response model ranks first those who return *when contacted*: mostly sure things, whose return
# the offer does not cause, and satisfied regulars among whom the sleeping dogs hide. The churn-risk model ranks
# those who would leave *if left alone*, which includes the lost causes. Uplift models rank by the difference.
#
# ## 4. Profit and the sleeping dogs each policy wakes
# Profit of contacting the top share, $\text{value}\cdot G^*(k) - \text{cost}\cdot k$, per customer; and who is
# contacted when the budget allows `budget_share` of the customers.

# %%
fig, axes = plt.subplots(1, 2, figsize=(15, 4.8))
sns.lineplot(data=curves, x="contacted_share", y="profit_true", hue="policy", errorbar=("se", 2), ax=axes[0])
axes[0].axhline(0, color="black", lw=0.8)
axes[0].set(title=f"True profit (value {value:g}, cost {cost:g} a contact)", xlabel="share of customers contacted",
            ylabel="profit per customer")
contacted = results.melt(id_vars=["policy", "seed"], value_vars=["budget_persuadables", "budget_sure_things",
                                                                 "budget_lost_causes", "budget_sleeping_dogs"],
                         var_name="kind", value_name="customers")
contacted["kind"] = contacted["kind"].str.replace("budget_", "").str.replace("_", " ")
sns.barplot(data=contacted, y="policy", x="customers", hue="kind", errorbar=None, ax=axes[1])
axes[1].set(title=f"Who the top {budget_share:.0%} are (test customers, mean over seeds)")
figures["profit"] = fig
summary[summary["metric"].isin(["profit", "best_share", "budget_sleeping_dogs", "budget_persuadables"])].pivot(
    index="policy", columns="metric", values="mean").loc[results["policy"].unique()].round(3)

# %% [markdown]
# ## 5. Consent: what declining personalisation costs
# The same world without a campaign, run with the personalised recommender (`consent_recommender`) at several
# consent rates; decliners see the popularity list. Retention of the initial customers and their CLV (discounted
# margin over the horizon) per seed, with 95 % intervals; the difference from full consent is paired by seed.

# %%
consent_config = WorldConfig.from_dict({**world, "user": {**world.get("user", {}), "n_customers": consent_customers},
                                        "rounds": consent_rounds})
consent_runs = campaigns.consent_study(consent_config, utilities, consent_recommender, rates=consent_rates,
                                       seeds=[seed + i for i in range(consent_seeds)])
consent = campaigns.consent_summary(consent_runs)
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
for ax, metric, label in ((axes[0], "retention", "share of initial customers kept"), (axes[1], "clv", "CLV per customer")):
    g = consent[consent["metric"] == metric]
    ax.errorbar(g["consent_rate"], g["mean"], yerr=[g["mean"] - g["lower"], g["upper"] - g["mean"]], fmt="o-", capsize=4)
    ax.set(title=f"{metric} after {consent_rounds} rounds vs consent rate (95% CI)", xlabel="share consenting", ylabel=label)
figures["consent"] = fig
consent.round(4)

# %% [markdown]
# ## Try this
#
# - **`kind = "cross_sell"`**: the offer sways this week's purchase instead of returning; almost everyone buys
#   anyway here (sure things), so the profitable share shrinks. **`kind = "message"`** acts on both.
# - **`campaign = {"return_effect": {"intercept": 1.6, "tenure": -0.03}}`**: the offer helps newcomers and drives
#   long-standing customers away, whatever their satisfaction; now the churn-risk model is no proxy for uplift
#   (its true Qini falls to about 0), while the uplift models still find the newcomers.
# - **`treated_share = 0.2`**: a small treated group, as in practice; the observed Qini curves get noisier, while the
#   true uplift curve $G^*$ does not depend on who was treated.
# - **`campaign_file = "my_campaign.csv"`**: your own randomised campaign through the same loader and curves.
# - **`consent_recommender = "oracle"`**: the most personalisation can buy, and so the largest consent cost.

# %% [markdown]
# ## Conclusion (generated from this run's numbers)

# %%
text = campaigns.conclusion(results=results, consent=consent, value=value, cost=cost, budget_share=budget_share,
                            kind=kind, outcome=config.campaign.outcome)
display(Markdown(text))

# %%
means = results.groupby("policy")[["qini", "qini_true", "profit", "budget_sleeping_dogs"]].mean()
lowest = consent[consent["consent_rate"] == consent["consent_rate"].min()].set_index("metric")
headline = {
    "best_uplift_model": best, "qini_true_best_uplift": means.loc[best, "qini_true"],
    "qini_true_response": means.loc["response", "qini_true"], "qini_true_oracle": means.loc["oracle", "qini_true"],
    "profit_best_uplift": means.loc[best, "profit"], "profit_response": means.loc["response", "profit"],
    "sleeping_dogs_response": means.loc["response", "budget_sleeping_dogs"],
    "sleeping_dogs_best_uplift": means.loc[best, "budget_sleeping_dogs"],
    "consent_retention_cost": -lowest.loc["retention", "difference"], "consent_clv_cost": -lowest.loc["clv", "difference"],
}
# one call: the MLflow run (parameters, headline metrics, tables, figures) and record() of each value for the index
publish("campaigns_and_consent", experiment="simulation", headline=headline, figures=figures,
        tables={"policies": results, "policy_summary": summary, "consent_runs": consent_runs, "consent": consent,
                "kinds": kinds.reset_index()},
        records={"qini_true": means["qini_true"].to_dict(), "qini": means["qini"].to_dict(),
                 "profit": means["profit"].to_dict(), "budget_sleeping_dogs": means["budget_sleeping_dogs"].to_dict(),
                 "kind_shares": table["kind"].value_counts(normalize=True).to_dict(),
                 "consent": consent[["consent_rate", "metric", "mean", "difference"]].to_dict("records"),
                 "n_customers": n_customers, "seeds": seeds},
        dataset=data, seed=seed)
