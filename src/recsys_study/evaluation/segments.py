"""Accuracy per segment of users and items: cold / warm users, new / old items, head / long tail.

A segment is a label on each *test row*. The metric of user u in segment g is computed
against the truth restricted to u's test rows labelled g, over u's full top-k list (so a
model is not told which items are new): e.g. NDCG@10 on "cold_item" asks how well the
full ranking surfaces the items nobody rated in training. Users with no relevant test row
in g are not counted in g. Segments follow Schein et al. (2002), "Methods and metrics for
cold-start recommendations", SIGIR (new users / new items) and Abdollahpouri et al. (2017),
"Controlling popularity bias in learning-to-rank recommendation", RecSys (head = the most
popular items, long tail = the rest).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.constants import ITEM, RATING, USER

SEGMENT = "segment"
OVERALL = "overall"


def label_user_segments(test: pd.DataFrame, train: pd.DataFrame, *, cold_max: int = 5) -> pd.Series:
    """Return per test row "cold_user" if its user has <= ``cold_max`` training ratings, else "warm_user"."""
    history = test[USER].map(train[USER].value_counts()).fillna(0).to_numpy()
    return pd.Series(np.where(history <= cold_max, "cold_user", "warm_user"), index=test.index, name=SEGMENT)


def label_item_segments(test: pd.DataFrame, train: pd.DataFrame, *, head_frac: float = 0.2) -> pd.Series:
    """Return per test row "new_item" (no training rating), "head" or "long_tail".

    Head items are the ``head_frac`` share of training items with the most ratings
    (ties at the cut-off all join the head).
    """
    if not 0 < head_frac < 1:
        raise ValueError(f"head_frac must be in (0, 1), got {head_frac!r}")
    pop = train[ITEM].value_counts()
    n_head = max(1, int(round(head_frac * len(pop))))
    cutoff = pop.iloc[n_head - 1]
    count = test[ITEM].map(pop)
    labels = np.where(count.isna(), "new_item", np.where(count >= cutoff, "head", "long_tail"))
    return pd.Series(labels, index=test.index, name=SEGMENT)


def segment_metrics(recs: pd.DataFrame, test: pd.DataFrame, *, k: int = 10, metrics=("ndcg", "recall"),
                    segment_col: str | None = SEGMENT, relevance_threshold: float | None = 4.0) -> pd.DataFrame:
    """Return one row per (segment, user, metric): columns segment, user, metric, value.

    ``test`` rows with rating < ``relevance_threshold`` are not relevant (None: every test
    row is). Segment "overall" uses every test row; the others come from ``segment_col``
    (None: overall only). ``metrics`` are names of ranking metrics in
    :data:`recsys_study.evaluation.METRICS`; values are labelled like ``NDCG@10``.
    """
    from recsys_study.evaluation import get_metric

    if segment_col is not None and segment_col not in test.columns:
        raise KeyError(f"test has no {segment_col!r} column; label rows with label_user_segments / "
                       "label_item_segments, use cold_start_split, or pass segment_col=None.")
    truth = test
    if relevance_threshold is not None and RATING in test.columns:
        truth = test[test[RATING] >= relevance_threshold]
    parts = [(OVERALL, truth)]
    if segment_col is not None:
        parts += [(str(g), part) for g, part in truth.groupby(segment_col, sort=True)]
    frames = []
    for name in metrics:
        metric = get_metric(name)
        if metric.kind != "ranking":
            raise ValueError(f"segment_metrics takes ranking metrics; {name!r} is a {metric.kind} metric.")
        if metric.requires:
            raise ValueError(f"{name!r} needs {metric.requires}; choose ndcg, recall, precision, map, mrr or hit_rate.")
        for segment, part in parts:
            values = metric.fn(recs, part[[USER, ITEM]], k)
            frames.append(pd.DataFrame({SEGMENT: segment, USER: values.index.to_numpy(),
                                        "metric": metric.label(k), "value": values.to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def recommend_lists(models: dict, users, *, k: int = 10) -> dict[str, pd.DataFrame]:
    """Return each fitted model's top-``k`` lists for ``users`` (label -> recs frame)."""
    return {label: model.recommend(users, k=k) for label, model in models.items()}


def evaluate_segments(models: dict, test: pd.DataFrame, *, k: int = 10, metrics=("ndcg", "recall"),
                      segment_col: str | None = SEGMENT, relevance_threshold: float | None = 4.0,
                      lists: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Return :func:`segment_metrics` rows for every fitted model in ``models`` (extra column ``model``).

    Each model recommends ``k`` items once to every test user (or ``lists``, from
    :func:`recommend_lists` on the test users, is scored as given, so other list metrics can
    share them). A model that cannot rank some items (collaborative models and cold items)
    simply scores 0 there.
    """
    if lists is None:
        lists = recommend_lists(models, test[USER].unique(), k=k)
    frames = []
    for label in models:
        recs = lists[label]
        frames.append(segment_metrics(recs, test, k=k, metrics=metrics, segment_col=segment_col,
                                      relevance_threshold=relevance_threshold).assign(model=label))
    out = pd.concat(frames, ignore_index=True)
    return out[["model", SEGMENT, USER, "metric", "value"]]


def segment_summary(results: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Return mean value per model (rows) and segment (columns) for one metric, plus user counts.

    ``metric`` defaults to the first metric label in ``results``; columns are ordered
    overall first; a row ``n_users`` gives how many users each segment averages.
    """
    metric = metric or results["metric"].iloc[0]
    sub = results[results["metric"] == metric]
    table = sub.pivot_table(index="model", columns=SEGMENT, values="value", aggfunc="mean", sort=False)
    cols = [OVERALL] + [c for c in table.columns if c != OVERALL]
    table = table[cols]
    counts = sub.groupby(SEGMENT)[USER].nunique().reindex(cols)
    table.loc["n_users"] = counts.to_numpy(dtype=float)
    table.columns.name = metric
    return table


def per_user(results: pd.DataFrame, model: str, *, metric: str, segment: str = OVERALL) -> pd.Series:
    """Return the per-user values of ``model`` for one metric and segment (for paired tests)."""
    sub = results[(results["model"] == model) & (results["metric"] == metric) & (results[SEGMENT] == segment)]
    return sub.set_index(USER)["value"].sort_index()


def fit_models(specs: dict, train: pd.DataFrame, *, items: pd.DataFrame | None = None) -> dict:
    """Return ``{label: fitted model}`` for registry specs ``{label: {"algorithm", "params"}}``."""
    from recsys_study.recommenders.hybrid import build_component

    return {label: build_component(spec).fit(train, items=items) for label, spec in specs.items()}


def best_on_validation(table: pd.DataFrame, labels) -> str:
    """Return which of ``labels`` has the highest chosen validation score in a tuning table."""
    score = [c for c in table.columns if c.startswith("NDCG@")][0]
    sub = table[table["model"].isin(list(labels)) & table["chosen"]]
    return str(sub.sort_values(score, ascending=False, kind="stable")["model"].iloc[0])
