# %% [markdown]
# # 10 · What privacy costs a recommender: differential privacy and erasure
#
# **Question.** The seed documents name data privacy — consent, and the GDPR/CCPA-style rights of access
# and erasure — as the main obstacle to personalised CRM. Two costs can be measured: *how much ranking
# quality does a formal privacy guarantee cost* (ε-differential privacy of what the model learns from
# everyone), and *can a model forget a customer exactly, and faster than retraining* (the right to erasure,
# GDPR art. 17)? Consent (customers who opt out of personalisation) is studied in the simulated world.
#
# **Method — differential privacy.** A release $M$ is ε-differentially private (Dwork, McSherry, Nissim &
# Smith 2006; Dwork & Roth, *The Algorithmic Foundations of Differential Privacy*, 2014, Def. 2.4) when for
# neighbouring data sets $D, D'$ and every set of outputs $S$: $P[M(D)\in S] \le e^{\varepsilon} P[M(D')\in S]$.
# Neighbours here differ by **one user and all of that user's interactions** (user-level DP, the unit a
# customer consents or objects for), not by one rating (event-level). The Laplace mechanism releases
# $f(D) + Z$, $Z_j \sim \text{Laplace}(0, b)$ iid with $b = \Delta_1/\varepsilon$, $\Delta_1$ the L1 sensitivity
# of $f$ (Thm 3.6), $\operatorname{Var} Z_j = 2b^2$. To bound $\Delta_1$ every user is capped at $c$ interactions
# (a random $c$ of theirs); then, on binary data,
#
# - item counts $n_i=\sum_u x_{ui}$: one user changes at most $c$ counts by 1, so $\Delta_1 = c$ (*private popularity*);
# - the Gram matrix $G = X^\top X = \sum_u x_u x_u^\top$: one user adds a 0/1 matrix with $c^2$ ones, $c(c+1)/2$ on
#   or above the diagonal; only that triangle is noised and mirrored, $\Delta_1 = c(c+1)/2$ (*private EASE*).
#
# EASE (Steck, WWW 2019) is a function of $G$ alone: $B_{ij} = -P_{ij}/P_{jj}$, $P = (G+\lambda I)^{-1}$, so a noisy
# $\tilde G$ gives a private $B$ by post-processing (Dwork & Roth Prop. 2.1). Noise of scale $b$ on an $n\times n$
# symmetric matrix has eigenvalues down to $\approx -2\sqrt{2n}\,b$ (Wigner's semicircle), so the ridge becomes
# $\lambda + 2\sqrt{2n}\,b$, chosen from public quantities. A user's scores $x_u B$ use that user's own history
# only (client-side scoring). The catalogue is public.
#
# **Method — erasure.** `forget(users)` must leave the model a refit without those users would give. For EASE,
# removing the rows $X_U$ is a rank-$|U|$ downdate of $G$, and by the Sherman–Morrison–Woodbury identity
# (Woodbury 1950; Golub & Van Loan, *Matrix Computations*, §2.1.4)
# $P' = (G - X_U^\top X_U + \lambda I)^{-1} = P + P X_U^\top (I - X_U P X_U^\top)^{-1} X_U P$:
# $O(|U| n^2)$ instead of $O(n^3)$. For item kNN only the similarities of the items the users rated change;
# those rows are recomputed and every other row is updated from its exactly known top neighbours. Other models
# are refitted on the remaining data (`privacy.erasure.forget_or_refit`).
#
# **How to read it.** The curve is NDCG@10 on MovieLens 100k (75/25 per-user split, every test item relevant,
# the protocol of notebooks 01 and 04) for each ε, the mean over noise seeds with a Student-t 95 % interval
# (the test users are fixed: the band is the noise's); dashed lines are the non-private models on the full
# data, and "∞" is the cap without noise. The erasure table compares forget with a refit on every score;
# its times are this run's CPU seconds, information only.

# %% tags=["parameters"]
quick = False
seed = 42
dataset = "ml-100k"
test_frac = 0.25
k = 10
# finite privacy budgets (ε = ∞, the cap without noise, is always added)
epsilons = [0.1, 1.0, 2.0, 5.0, 10.0, 100.0]
n_noise_seeds = 3
# the cap c of each private model (interactions kept per user)
max_per_user = {"private_popularity": 50, "private_ease": 20}
l2 = 250.0
# the share of the non-private NDCG@10 a budget must keep
share = 0.9
forget_users = [1, 10, 100]

# %%
import math

import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from recsys_study.data import load_movielens
from recsys_study.notebook import publish
from recsys_study.privacy import study
from recsys_study.protocol import Protocol
from recsys_study.split import user_stratified_split

sns.set_theme(style="whitegrid")
if quick:  # CI size: one budget (and the cap alone), two noise seeds, one erasure size
    epsilons, n_noise_seeds, forget_users = [1.0], 2, [10]
noise_seeds = [seed + i for i in range(n_noise_seeds)]
protocol = Protocol(k=k, metrics=("ndcg",))
metric = protocol.label("ndcg")
data = load_movielens(dataset)
split = user_stratified_split(data.interactions, test_frac=test_frac, seed=seed)
print(data.describe())
print("relevant:", protocol.relevance.name, "| test users:", split.test["user"].nunique())

# %% [markdown]
# ## 1. NDCG@10 against ε
# Each private model is fitted at every ε with every noise seed; the non-private references (`most_popular`,
# `ease` with the same λ) are fitted once on the full training data.

# %%
private = {
    "popularity": {"algorithm": "private_popularity", "params": {"max_per_user": max_per_user["private_popularity"]}},
    "ease": {"algorithm": "private_ease", "params": {"max_per_user": max_per_user["private_ease"], "l2": l2}},
}
references = {"popularity": {"algorithm": "most_popular"}, "ease": {"algorithm": "ease", "params": {"l2": l2}}}
curve, per_user = study.epsilon_curve(split, private, references, epsilons=[*epsilons, math.inf], seeds=noise_seeds,
                                      protocol=protocol, items=data.items)
summary = study.curve_summary(curve)
reference = curve[curve["reference"]].set_index("model")["ndcg"].to_dict()
smallest = study.smallest_epsilon(summary, reference, share=share)
figures = {"epsilon_curve": study.plot_epsilon_curve(summary, reference, metric=metric)}
summary.pivot(index="epsilon", columns="model", values="mean").round(3)

# %% [markdown]
# **Reading.** The noise scale is $c/\varepsilon$ per count for popularity but $c(c+1)/(2\varepsilon)$ per entry
# of an $n \times n$ matrix for EASE, whose inverse then spreads it over every weight: the collaborative model
# pays far more for the same ε. The "∞" point separates the cost of the cap (heavy users lose most of their
# history) from the cost of the noise.

# %% [markdown]
# ## 2. Erasure: forget against refit
# For each size, random users are forgotten from a fitted EASE (keeping its float64 inverse,
# `keep_inverse=True`) and item kNN, and a fresh model is fitted on the remaining rows. The largest
# difference over every score of every remaining user and item, and whether the user and item orders agree:

# %%
erasure = study.erasure_study(split.train, {"ease": {"algorithm": "ease", "params": {"l2": l2, "keep_inverse": True}},
                                            "item_knn": {"algorithm": "item_knn"}},
                              n_users=forget_users, seed=seed)
figures["erasure_times"] = study.plot_erasure_times(erasure)
erasure.round({"forget_s": 3, "refit_s": 3, "speedup": 1})

# %% [markdown]
# A forgotten user is afterwards unknown to the model and gets the cold-user list (popularity over the
# remaining users), exactly as a customer who never came; `tests/test_forget.py` also checks that no score
# depends on a forgotten user's ratings (their ratings changed before forgetting: the same model after).

# %% [markdown]
# ## Try this
#
# - **`max_per_user = {"private_popularity": 10, "private_ease": 5}`**: a smaller cap means less noise
#   (sensitivity $c$ and $c(c+1)/2$) but less of each heavy user's history; the "∞" point falls, the small-ε
#   points rise.
# - **`epsilons = [0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0]`**: where does private EASE reach its capped value?
# - **`l2 = 1000.0`**: a larger ridge for both the private and the non-private EASE.
# - **`forget_users = [1, 300]`**: past half of the items touched, item kNN recomputes every row (no faster than
#   a refit).

# %% [markdown]
# ## Conclusion (generated from this run's numbers)

# %%
display(Markdown(study.conclusion(summary, reference, smallest, erasure, share=share, metric=metric,
                                  max_per_user={"popularity": max_per_user["private_popularity"],
                                                "ease": max_per_user["private_ease"]})))

# %%
finite = summary[summary["epsilon"].apply(math.isfinite)]
headline = {
    "ndcg_nonprivate_ease": reference["ease"], "ndcg_nonprivate_popularity": reference["popularity"],
    "smallest_epsilon_ease": smallest["ease"], "smallest_epsilon_popularity": smallest["popularity"],
    "ndcg_private_ease_largest_epsilon": float(finite[finite["model"] == "ease"]["mean"].iloc[-1]),
    "erasure_max_abs_difference": float(erasure["max_abs_difference"].max()),
    "ease_forget_speedup_1_user": float(erasure[erasure["model"] == "ease"]["speedup"].iloc[0]),
}
publish("privacy", experiment="privacy", dataset=data, split=split, figures=figures,
        tables={"curve": curve, "curve_summary": summary, "erasure": erasure, "per_user_ndcg": per_user},
        headline=headline,
        records=study.records(summary, erasure) | {"epsilons": [*epsilons, "inf"], "n_noise_seeds": n_noise_seeds})
