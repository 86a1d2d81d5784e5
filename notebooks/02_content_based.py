# %% [markdown]
# # 02 · Content-based recommendation: can item features replace other users' ratings?
#
# **Question.** Collaborative filtering needs ratings from other users; a movie nobody has rated yet
# (*cold item*) or a user with three ratings (*cold user*) gives it little to work with. Content-based
# filtering instead matches item **features** to a **user profile** learned from what the user rated
# (the seed documents' vector-space model and Bayesian classification). How accurate is it on
# MovieLens, overall and on the cold segments, compared with popularity and item-kNN?
#
# **Method.** Items are vectors of genres (one-hot), title words (TF-IDF) and release decade
# (`recsys_study.features`). Five models from `recsys_study.recommenders.content`: the vector space
# model (`content_profile`), a per-user naive Bayes classifier (`content_bayes`), item-kNN on content
# (`content_knn`), k-means groups of user profiles (`profile_clusters`) and association rules
# (`association_rules`). Protocol: `cold_start_split` holds out 5 % of the items entirely (cold
# items), cuts 20 % of the users to `n_train_ratings` training ratings (cold users) and keeps a
# per-user 75/25 split for everyone else (warm). The feature set is chosen on a *validation* split
# cut from the training data only; the test set is used once.
#
# **How to read it.** The table and the bar plot give NDCG@10 per segment (relevant = rated ≥ `like_threshold`, 4 by default; the same rule for every model and in the tuning).
# Read the `cold_item` column first: collaborative models cannot rank an item without ratings, so
# they score exactly 0 there, while content models can. Then compare `overall` with the baselines.

# %% tags=["parameters"]
# Parameters (papermill injects overrides after this cell)
feature_set = "auto"            # auto: chosen on validation; or genres, genres+year, genres+title+year
profile_weighting = "mean_centred"  # mean_centred | rating | binary | liked
like_threshold = 4.0            # a rating at or above this counts as liked: naive Bayes class, clusters, rules
n_train_ratings = 3             # training ratings kept for a cold user
k = 10
sample_frac = 1.0               # fraction of users kept
seed = 42
quick = False                   # CI size: a 20% user sample

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from recsys_study.data import load_movielens
from recsys_study.features import item_features
from recsys_study.notebook import publish
from recsys_study.recommenders.content import ContentProfile, explain_recommendation
from recsys_study.protocol import Protocol, compare, describe_ranking, tune
from recsys_study.split import cold_start_split

if quick:
    sample_frac = min(sample_frac, 0.2)
data = load_movielens(sample_frac=None if sample_frac >= 1 else sample_frac, seed=seed)
# one protocol for every model: NDCG@k and recall@k, relevant = rated >= like_threshold
protocol = Protocol(k=k, metrics=("ndcg", "recall"), relevance=like_threshold)
split = cold_start_split(data.interactions, n_train_ratings=n_train_ratings, seed=seed)
# validation: the same protocol applied to the training part only (the test part stays unseen)
inner = cold_start_split(split.train, n_train_ratings=n_train_ratings, seed=seed + 1)
split.test.groupby("segment").agg(ratings=("user", "size"), users=("user", "nunique"))

# %% [markdown]
# ## Item representations
#
# Each block is a sparse matrix with one row per movie; every block's rows are scaled to unit length
# before the blocks are stacked, so that genres, title and decade weigh the same in a cosine:
#
# * genres: $x_{ig} = 1$ if movie $i$ has genre $g$;
# * title: TF-IDF, $x_{iw} = \mathrm{tf}_{iw}\,\bigl(1 + \ln\frac{1+n}{1+\mathrm{df}_w}\bigr)$
#   (Salton & Buckley 1988), English stop words removed;
# * year: one-hot release decade.
#
# When `feature_set = "auto"` the representation is picked by the NDCG@10 of the vector space model on
# the validation split.

# %%
blocks = pd.DataFrame([
    {"feature_set": fs, "n_features": item_features(data.items, fs).matrix.shape[1]}
    for fs in ("genres", "title", "year", "genres+year", "genres+title+year")
])
if feature_set == "auto":
    chosen = tune({"algorithm": "content_profile", "params": {"weighting": profile_weighting}},
                  {"feature_set": ["genres", "genres+year", "genres+title+year"]}, inner, protocol=protocol,
                  items=data.items)
    feature_set = chosen.best_params["feature_set"]
    feature_table = chosen.table.rename(columns={"param.feature_set": "feature_set", "value": f"NDCG@{k}"})[
        ["feature_set", f"NDCG@{k}"]]
else:
    feature_table = pd.DataFrame({"feature_set": [feature_set], f"NDCG@{k}": [float("nan")]})
print("feature set used:", feature_set)
blocks.merge(feature_table, on="feature_set", how="left")

# %% [markdown]
# ## The models
#
# * **Vector space model** (`content_profile`; Salton, Wong & Yang 1975; Lops et al. 2011). Profile
#   $p_u = \sum_{i \in I_u} w_{ui}\,x_i$ with mean-centred weights $w_{ui} = r_{ui} - \bar r_u$ (a
#   disliked movie pushes the profile away); score $\cos(p_u, x_i)$.
# * **Naive Bayes** (`content_bayes`; Pazzani & Billsus 1997; McCallum & Nigam 1998). For every user a
#   two-class multinomial classifier "liked" ($r \ge$ `like_threshold`) vs "not liked":
#   $\log P(c \mid x) \propto \log \pi_{uc} + \sum_f x_f \log\theta_{ucf}$ with
#   $\theta_{ucf} = (N_{ucf} + \alpha)/(\sum_f N_{ucf} + \alpha F)$; all users at once through the sparse
#   product $N_{c} = L_c X$. Items are ranked by the log-odds of "liked".
# * **Item-kNN on content** (`content_knn`): $\hat s_{ui} = \sum_{j \in I_u} w_{uj}\,\cos(x_j, x_i)$ over each
#   rated item's 50 most similar items.
# * **Profile clusters** (`profile_clusters`; the seeds' group recommendation): k-means on the unit
#   profiles $p_u/\lVert p_u\rVert$; an item's score is the share of the user's group who liked it.
# * **Association rules** (`association_rules`; Agrawal et al. 1993): transactions are users' liked
#   movies; rule $X \Rightarrow Y$ has support $n_{XY}/n$, confidence $n_{XY}/n_X$ and lift
#   $\mathrm{conf}/(n_Y/n)$; a user's score for $Y$ is the highest confidence among the rules their
#   history fires. It uses no features: it is the seeds' "related products" method, kept here
#   because, like content models, it needs no model of other users' taste.
#
# Baselines: `most_popular` and collaborative `item_knn` (notebook 01).

# %%
specs = {
    "content_profile": {"algorithm": "content_profile",
                        "params": {"feature_set": feature_set, "weighting": profile_weighting}},
    "content_bayes": {"algorithm": "content_bayes",
                      "params": {"feature_set": feature_set, "like_threshold": like_threshold}},
    "content_knn": {"algorithm": "content_knn",
                    "params": {"feature_set": feature_set, "weighting": profile_weighting}},
    "profile_clusters": {"algorithm": "profile_clusters",
                         "params": {"feature_set": feature_set, "weighting": profile_weighting,
                                    "like_threshold": like_threshold, "seed": seed}},
    "association_rules": {"algorithm": "association_rules", "params": {"like_threshold": like_threshold}},
    "most_popular": {"algorithm": "most_popular"},
    "item_knn": {"algorithm": "item_knn"},
}
comparison = compare(specs, split, protocol=protocol, items=data.items, segments=("split",), dataset=data)
models = comparison.models
results = comparison.segments
ndcg = comparison.segment_summary(f"NDCG@{k}")
ndcg.round(4)

# %% [markdown]
# ## Accuracy per segment
#
# Bars are mean NDCG@10 over the users of each segment (the table's last row gives how many). A
# cold item is new to every model: a bar at 0 means the model never placed one in a top-10 list.

# %%
plot_frame = pd.concat([comparison.per_user.assign(segment="overall"), results], ignore_index=True)
plot_frame = plot_frame[plot_frame["metric"] == f"NDCG@{k}"]
fig_segments, ax = plt.subplots(figsize=(10, 4.5))
sns.barplot(data=plot_frame, x="segment", y="value", hue="model", order=["overall", "warm", "cold_user", "cold_item"],
            errorbar=("ci", 95), seed=seed, ax=ax)
ax.set(ylabel=f"NDCG@{k}", xlabel="", title=f"Content-based vs collaborative models per segment (relevant: {protocol.relevance.name})")
ax.legend(ncol=2, fontsize=8)
fig_segments.tight_layout()

# %% [markdown]
# ## Worked example: why was this movie recommended?
#
# For one cold user (three training ratings) we print the profile's strongest features and, for the
# top recommendation of the vector space model, each feature's share $\hat p_{uf}\,\hat x_{if}$ of
# the cosine score (the shares add up to the score).

# %%
titles = data.items.set_index("item")["title"]
example_user = split.test.loc[split.test["segment"] == "cold_user", "user"].min()
history = split.train[split.train["user"] == example_user].assign(title=lambda t: t["item"].map(titles))
top_item = models["content_profile"].recommend([example_user], k=1)["item"].iloc[0]
why = explain_recommendation(models["content_profile"], example_user, top_item, top=6)
print(f"user {example_user}: rated", ", ".join(f"{t} ({r})" for t, r in zip(history["title"], history["rating"])))
print("recommended:", titles.get(top_item))
display(why["profile"].round(3))
why["contributions"].round(3)

# %% [markdown]
# The same user's naive Bayes view: the items with the highest posterior $P(\text{liked}\mid x)$.

# %%
bayes = models["content_bayes"]
bayes_top = bayes.recommend([example_user], k=5).assign(
    title=lambda t: t["item"].map(titles),
    p_liked=lambda t: 1 / (1 + np.exp(-t["score"])))
bayes_top

# %% [markdown]
# ## "Liked X → likes Y": the strongest association rules
#
# Sorted by lift (how much more likely $Y$ is liked by those who liked $X$ than by everyone).

# %%
rules = models["association_rules"].rules_
top_rules = rules.head(10).assign(if_liked=lambda t: t["antecedent"].map(titles),
                                  then_likes=lambda t: t["consequent"].map(titles))
top_rules[["if_liked", "then_likes", "support", "confidence", "lift"]].round(3)

# %% [markdown]
# ## Conclusion
# Generated from this run's numbers: the ranking overall, on warm users, on cold users and on cold
# items (where a collaborative model can only score 0), so it holds in quick mode and after any change.

# %%
from IPython.display import Markdown

label = f"NDCG@{k}"
rows = [m for m in ndcg.index if m != "n_users"]
parts = []
for segment in ("overall", "warm", "cold_user", "cold_item"):
    if segment in ndcg.columns:
        parts.append(f"**{segment}** ({int(ndcg.loc['n_users', segment])} users): "
                     + describe_ranking(ndcg.loc[rows, segment], label, relevance=protocol.relevance.name))
content = [m for m in rows if m.startswith("content") or m == "profile_clusters"]
if "cold_item" in ndcg.columns:
    cold = ndcg.loc[rows, "cold_item"]
    above = [m for m in rows if cold[m] > 0]
    parts.append(f"On cold items {len(above)} of {len(rows)} models place a relevant new item in a top-{k} list "
                 f"({', '.join(above) if above else 'none'}); "
                 f"the collaborative ones ({', '.join(m for m in rows if m not in content and m != 'association_rules')}) "
                 f"score {', '.join(f'{cold[m]:.4f}' for m in rows if m not in content and m != 'association_rules')}.")
text = "\n\n".join(parts)
display(Markdown(text))

# %%
publish("content_based", dataset=data, split=split, tables={"ndcg_by_segment": ndcg, "top_rules": top_rules},
        figures={"ndcg_by_segment": fig_segments},
        headline={f"ndcg_{seg}": ndcg.loc[list(specs), seg].to_dict() for seg in ("overall", "cold_item", "cold_user", "warm")},
        records={"feature_set": feature_set, "relevance": protocol.relevance.name, "conclusion": text,
                 "n_users_segment": ndcg.loc["n_users"].to_dict(), "n_rules": len(rules),
                 "explanation_sum": float(why["contributions"]["contribution"].sum())})
