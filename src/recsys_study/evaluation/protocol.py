"""The evaluation protocol: fit a model on a split's train part, score its test part, keep per-user rows.

``evaluate(model, split)`` fits, recommends the top k to every test user, predicts the test
ratings (rating models), and returns one row per (user, metric) — the frame that bootstrap
CIs, paired tests and segment analyses all start from — with the wall times and the
catalogue-level figures in ``frame.attrs``. ``compare(models, split)`` does the same for a
dict of models and returns a :class:`Comparison` (Cornac's ``Experiment`` idea): adding a
model never touches evaluation code, and notebooks never loop over models.

Conventions
- Relevant items: every test item of the user, or those rated ≥ ``relevance_threshold``.
  Ranking metrics average over users with at least one relevant item.
- RMSE / MAE: the summary holds the global values over all test pairs; the per-user rows hold
  each user's own RMSE / MAE (for paired tests between rating models).
- ``arp`` (average recommendation popularity; Abdollahpouri et al., FLAIRS 2019) is the mean
  number of training users of the items in a list: the popularity-bias figure.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_study import tracking
from recsys_study.progress import progress
from recsys_study.constants import GENRES, ITEM, RATING, USER
from recsys_study.evaluation import genre_features, get_metric, per_user_rating_errors
from recsys_study.evaluation.stats import bootstrap_ci
from recsys_study.recommenders.base import Recommender

DEFAULT_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate", "serendipity", "coverage", "gini", "diversity",
                   "novelty", "personalization", "arp", "rmse", "mae")
MODEL, METRIC, VALUE = "model", "metric", "value"
TIMINGS = ("fit_time_s", "recommend_time_s", "predict_time_s")


@dataclass
class Comparison:
    """Results of several models on one split.

    per_user : DataFrame ``model, user, metric, value`` (metric = its label, e.g. ``NDCG@10``).
    summary : DataFrame, one row per model: the mean of each per-user metric (global value for
        RMSE/MAE and the catalogue-level metrics) and the wall times.
    recommendations : DataFrame ``model, user, item, score, rank``.
    """

    per_user: pd.DataFrame
    summary: pd.DataFrame
    recommendations: pd.DataFrame


def relevant_items(test: pd.DataFrame, relevance_threshold: float | None = None) -> pd.DataFrame:
    """Return the relevant (user, item) rows of ``test``: all, or those rated ≥ the threshold."""
    if relevance_threshold is None:
        return test
    if RATING not in test.columns:
        raise ValueError("relevance_threshold needs a 'rating' column in the test part; pass None "
                         "to count every test interaction as relevant.")
    return test[test[RATING] >= relevance_threshold]


def _label(name: str, k: int) -> str:
    return get_metric(name).label(k)


def _metric_values(name, recs, truth, test, pred, *, k, n_items, train, features):
    """Return (per-user Series or None, summary value) of one metric."""
    metric = get_metric(name)
    if metric.kind == "rating":
        if pred is None:
            return None, float("nan")
        errors = per_user_rating_errors(test.assign(prediction=pred))
        return errors[name], metric.fn(test[RATING], pred)
    available = {"n_items": n_items, "item_popularity": train.groupby(ITEM)[USER].nunique(),
                 "n_users": train[USER].nunique(), "item_features": features,
                 "seen": train[[USER, ITEM]]}
    if metric.kind == "ranking":
        series = metric.fn(recs, truth, k, **{r: available[r] for r in metric.requires})
        return series, float(series.mean())
    if "item_features" in metric.requires and features is None:
        return None, float("nan")
    value = metric.fn(recs, **{r: available[r] for r in metric.requires}, k=k)
    if isinstance(value, pd.Series):
        return value, float(value.mean())
    return None, float(value)


def _item_features(items: pd.DataFrame | None) -> pd.DataFrame | None:
    """Return the genre vectors used by intra-list diversity, built once per evaluation."""
    if items is None or GENRES not in items.columns:
        return None
    return genre_features(items)


def _evaluate(model, split, *, label, k, metrics, relevance_threshold, items, features=None):
    train, test = split.train, split.test
    start = time.perf_counter()
    model.fit(train, items)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    recs = model.recommend(pd.unique(test[USER]), k=k)
    recommend_time = time.perf_counter() - start
    pred, predict_time = None, float("nan")
    if model.predicts_ratings and RATING in test.columns:
        start = time.perf_counter()
        pred = model.predict(test)
        predict_time = time.perf_counter() - start
    truth = relevant_items(test, relevance_threshold)
    n_items = len(model.item_index_)
    rows, summary = [], {MODEL: label, "algorithm": model.name}
    for name in metrics:  # a handful of metric names; each call is vectorised over users
        series, value = _metric_values(name, recs, truth, test, pred, k=k, n_items=n_items,
                                       train=train, features=features)
        summary[_label(name, k)] = value
        if series is not None:
            rows.append(pd.DataFrame({MODEL: label, USER: series.index.to_numpy(),
                                      METRIC: _label(name, k), VALUE: series.to_numpy(dtype=float)}))
    summary.update(fit_time_s=fit_time, recommend_time_s=recommend_time, predict_time_s=predict_time)
    per_user = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=[MODEL, USER, METRIC, VALUE])
    return per_user, summary, recs.assign(**{MODEL: label})


def _log(model, label, summary, per_user, *, split, k, relevance_threshold, dataset, run_name, experiment):
    params = {"algorithm": model.name, "model_label": label, "k": k,
              "relevance_threshold": relevance_threshold, "hyperparameters": model.get_params()}
    seed = model.get_params().get("seed")
    with tracking.start_run(run_name or label, experiment=experiment, params=params, dataset=dataset,
                            split=split, seed=seed, tags={"model": label}):
        tracking.log_metrics({key: v for key, v in summary.items()
                              if key not in (MODEL, "algorithm") and np.isfinite(v)})
        tracking.log_table(per_user, "per_user_metrics")


def evaluate(model: Recommender, split, *, k: int = 10, metrics: Sequence[str] = DEFAULT_METRICS,
             relevance_threshold: float | None = None, items: pd.DataFrame | None = None,
             label: str | None = None, run_name: str | None = None, log: bool = True,
             experiment: str | None = None, dataset=None) -> pd.DataFrame:
    """Return the per-(user, metric) frame ``model, user, metric, value`` of ``model`` on ``split``.

    ``frame.attrs`` holds ``summary`` (metric label -> mean or global value, and
    ``fit_time_s``, ``recommend_time_s``, ``predict_time_s``). When ``log`` is true, one
    MLflow run records the hyperparameters, split spec, dataset fingerprint, summary and
    the per-user table.
    """
    label = label or model.name
    per_user, summary, _ = _evaluate(model, split, label=label, k=k, metrics=metrics,
                                     relevance_threshold=relevance_threshold, items=items,
                                     features=_item_features(items) if "diversity" in metrics else None)
    if log:
        _log(model, label, summary, per_user, split=split, k=k, relevance_threshold=relevance_threshold,
             dataset=dataset, run_name=run_name, experiment=experiment)
    per_user.attrs["summary"] = summary
    return per_user


def _as_model(spec) -> Recommender:
    if isinstance(spec, Recommender):
        return spec
    from recsys_study.recommenders.registry import from_spec

    return from_spec({key: v for key, v in spec.items() if key in ("algorithm", "params")})


def model_label(spec) -> str:
    """Return the display label of a model spec: its ``label`` or its algorithm name."""
    if isinstance(spec, Recommender):
        return spec.name
    return spec.get("label") or spec["algorithm"]


def compare(models: Mapping[str, Recommender | dict] | Sequence[dict], split, *, k: int = 10,
            metrics: Sequence[str] = DEFAULT_METRICS, relevance_threshold: float | None = None,
            items: pd.DataFrame | None = None, log: bool = True, experiment: str | None = None,
            dataset=None) -> Comparison:
    """Evaluate several models on one split; ``models`` maps label -> model or spec, or is a list of specs."""
    if not isinstance(models, Mapping):
        models = {model_label(spec): spec for spec in models}
    per_user, summaries, recs = [], [], []
    features = _item_features(items) if "diversity" in metrics else None
    for label, spec in progress(models.items(), desc="models", total=len(models)):
        model = _as_model(spec)
        frame, summary, rec = _evaluate(model, split, label=label, k=k, metrics=metrics,
                                        relevance_threshold=relevance_threshold, items=items, features=features)
        if log:
            _log(model, label, summary, frame, split=split, k=k, relevance_threshold=relevance_threshold,
                 dataset=dataset, run_name=label, experiment=experiment)
        per_user.append(frame)
        summaries.append(summary)
        recs.append(rec)
    return Comparison(per_user=pd.concat(per_user, ignore_index=True),
                      summary=pd.DataFrame(summaries),
                      recommendations=pd.concat(recs, ignore_index=True))


def confidence_intervals(per_user: pd.DataFrame, *, n_boot: int = 1000, alpha: float = 0.05,
                         seed: int) -> pd.DataFrame:
    """Return ``model, metric, mean, lower, upper, n``: percentile bootstrap CIs of per-user means."""
    records = []
    for (model, metric), values in per_user.groupby([MODEL, METRIC], sort=False)[VALUE]:
        values = values.dropna()
        if values.empty:
            continue
        mean, lower, upper = bootstrap_ci(values.to_numpy(), n_boot=n_boot, alpha=alpha, seed=seed)
        records.append({MODEL: model, METRIC: metric, "mean": mean, "lower": lower, "upper": upper,
                        "n": len(values)})
    return pd.DataFrame(records, columns=[MODEL, METRIC, "mean", "lower", "upper", "n"])
