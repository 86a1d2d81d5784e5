"""The one evaluation path: fit → recommend → score → log, for every family, segments included.

``compare(models, split, protocol=...)`` fits each model on the split's train part, recommends
the top ``max(k)`` items to every test user once, and scores the lists at every cut-off of the
protocol against one truth (the protocol's :class:`RelevancePolicy`) and one item universe (the
split's catalogue): collaborative, content-based, demographic and hybrid models alike. The
statistics every metric needs (item popularity, user counts, training pairs, item features,
segment labels) are computed once per split in an :class:`EvaluationContext` and shared by all
models. Cornac's ``Experiment`` idea: adding a model never touches evaluation code.

Conventions
- Ranking metrics average over the users with at least one relevant test item; a user the
  model gives no list scores 0. Nothing is averaged over zero users: an empty truth raises.
- RMSE / MAE: the summary holds the global value over all test pairs of a rating model (blank
  for models that only rank); the per-user rows hold each user's own RMSE / MAE.
- Catalogue metrics (coverage, Gini, AUC) divide by the split's catalogue size, the same
  number for every model.
- Segments label truth rows; the metric of user u in segment g is computed against u's
  relevant rows labelled g, over u's full top-k list (the model is not told which items are
  new). Kinds: ``split`` (the ``segment`` column of ``cold_start_split``), ``activity`` (user
  training-count quartiles), ``cold_user`` (<= 5 training ratings), ``popularity`` (head = the
  20 % most rated training items, long tail, new item), ``genre``. Schein et al. (2002), SIGIR;
  Abdollahpouri et al. (2017), RecSys.
"""

from __future__ import annotations

import copy
import dataclasses
import time
import tracemalloc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys_study import tracking
from recsys_study.constants import GENRES, ITEM, RATING, USER
from recsys_study.data.schema import DataValidationError, id_kind, plain, validate_interactions
from recsys_study.evaluation import genre_features, get_metric, per_user_rating_errors, ranking_metrics
from recsys_study.evaluation.ranking import ranking_metrics_by_segment
from recsys_study.evaluation.stats import bootstrap_ci
from recsys_study.progress import progress
from recsys_study.protocol.relevance import ProtocolError, RelevancePolicy, catalogue
from recsys_study.recommenders.base import Recommender

DEFAULT_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate", "serendipity", "coverage", "gini",
                   "diversity", "novelty", "personalization", "arp", "rmse", "mae")
SEGMENT_KINDS = ("split", "activity", "cold_user", "popularity", "genre")
MODEL, METRIC, VALUE, SEGMENT, SEGMENT_KIND = "model", "metric", "value", "segment", "segment_kind"
OVERALL = "overall"
TIMINGS = ("fit_time_s", "recommend_time_s", "predict_time_s")


@dataclass(frozen=True)
class Protocol:
    """How every model of a study is scored: cut-offs, metrics and the relevance rule.

    k : the main cut-off (tuning and headline figures use it); ``k_list`` adds others
        (e.g. (5, 10, 20)); lists are recommended once at the largest.
    metrics : names from :data:`recsys_study.evaluation.METRICS`.
    relevance : a :class:`RelevancePolicy` (or None / a threshold, coerced).
    segment_metrics : the ranking metrics reported per segment.
    """

    k: int = 10
    metrics: tuple[str, ...] = DEFAULT_METRICS
    relevance: RelevancePolicy = field(default_factory=RelevancePolicy)
    k_list: tuple[int, ...] = ()
    segment_metrics: tuple[str, ...] = ("ndcg", "recall")

    def __post_init__(self) -> None:
        object.__setattr__(self, "relevance", RelevancePolicy.coerce(self.relevance))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "k_list", tuple(int(k) for k in self.k_list))
        for k in (self.k, *self.k_list):
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
                raise ProtocolError(f"cut-offs must be positive integers, got {k!r}; pass e.g. k=10.")
        for name in (*self.metrics, *self.segment_metrics):
            get_metric(name)  # unknown names fail here, with the valid ones listed
        for name in self.segment_metrics:
            if get_metric(name).kind != "ranking" or get_metric(name).requires:
                raise ProtocolError(f"segment metric {name!r} must be a plain ranking metric "
                                    "(ndcg, recall, precision, map, map_ir, mrr, hit_rate).")

    @property
    def ks(self) -> tuple[int, ...]:
        """Return every cut-off, ascending."""
        return tuple(sorted({int(self.k), *self.k_list}))

    def label(self, metric: str, k: int | None = None) -> str:
        """Return the table label of ``metric`` at ``k`` (default: the main cut-off)."""
        return get_metric(metric).label(self.k if k is None else k)

    def params(self) -> dict:
        """Return the protocol as MLflow parameters."""
        return {"k": self.k, "k_list": list(self.ks), "metrics": list(self.metrics), **self.relevance.params()}


def as_protocol(protocol: Protocol | None = None, **overrides) -> Protocol:
    """Return ``protocol`` or one built from keyword arguments (k, metrics, relevance, k_list)."""
    given = {key: v for key, v in overrides.items() if v is not None}
    if protocol is None:
        return Protocol(**given)
    if given:
        raise ProtocolError(f"pass either protocol= or {sorted(given)}, not both: a study chooses its "
                            "protocol once.")
    return protocol


@dataclass
class EvaluationContext:
    """What every model of one split is scored against, computed once per split."""

    split: object
    protocol: Protocol
    truth: pd.DataFrame
    items: pd.Index
    item_popularity: pd.Series
    n_users: int
    features: pd.DataFrame | None
    segments: dict[str, pd.Series]

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def users(self) -> np.ndarray:
        """Return the users to recommend for: everyone with a test row."""
        return pd.unique(self.split.test[USER])


def _activity_labels(truth: pd.DataFrame, train: pd.DataFrame) -> pd.Series:
    counts = train[USER].value_counts()
    edges = np.unique(np.quantile(counts.to_numpy(), [0, 0.25, 0.5, 0.75, 1.0]))
    bins = pd.cut(counts, edges, include_lowest=True, duplicates="drop")
    names = {iv: f"Q{n + 1} ({int(np.ceil(iv.left)) if n else int(edges[0])}-{int(iv.right)} ratings)"
             for n, iv in enumerate(bins.cat.categories)}
    return truth[USER].map(bins.map(names)).astype(str)


def segment_labels(kind: str, truth: pd.DataFrame, split, *, items: pd.DataFrame | None = None,
                   cold_max: int = 5, head_frac: float = 0.2) -> pd.Series:
    """Return one segment label per truth row (index aligned with ``truth``; ``genre`` repeats rows)."""
    train = split.train
    if kind == "split":
        if SEGMENT not in split.test.columns:
            raise ProtocolError("segment kind 'split' needs a test part with a 'segment' column; use "
                                "cold_start_split, or choose activity / cold_user / popularity / genre.")
        labels = split.test.drop_duplicates([USER, ITEM]).set_index([USER, ITEM])[SEGMENT]
        idx = pd.MultiIndex.from_frame(truth[[USER, ITEM]])
        out = labels.reindex(idx).fillna("cold_item")  # kept cold items are never in the split's test part
        return pd.Series(out.to_numpy(), index=truth.index, name=SEGMENT)
    if kind == "activity":
        return pd.Series(_activity_labels(truth, train).to_numpy(), index=truth.index, name=SEGMENT)
    if kind == "cold_user":
        history = truth[USER].map(train[USER].value_counts()).fillna(0).to_numpy()
        return pd.Series(np.where(history <= cold_max, "cold_user", "warm_user"), index=truth.index, name=SEGMENT)
    if kind == "popularity":
        pop = train[ITEM].value_counts()
        cutoff = pop.iloc[max(1, int(round(head_frac * len(pop)))) - 1]
        count = truth[ITEM].map(pop)
        labels = np.where(count.isna(), "new_item", np.where(count >= cutoff, "head", "long_tail"))
        return pd.Series(labels, index=truth.index, name=SEGMENT)
    if kind == "genre":
        if items is None or GENRES not in items.columns:
            raise ProtocolError("segment kind 'genre' needs item genres; pass items=dataset.items.")
        genres = items.set_index(ITEM)[GENRES]
        exploded = truth[ITEM].map(genres).explode()
        return exploded.fillna("(no genre)").rename(SEGMENT)
    raise ProtocolError(f"unknown segment kind {kind!r}; use one of {', '.join(SEGMENT_KINDS)}.")


def build_context(split, protocol: Protocol, *, items: pd.DataFrame | None = None,
                  segments: Sequence[str] = ()) -> EvaluationContext:
    """Return the shared statistics of ``split`` under ``protocol`` (raises when a metric lacks its inputs)."""
    truth = protocol.relevance.truth(split.test, cold_items=getattr(split, "test_cold_items", None))
    features = None
    if "diversity" in protocol.metrics:
        if items is None or GENRES not in items.columns:
            raise ProtocolError("intra-list diversity (ILD) needs item genres: pass items=dataset.items, or "
                                "leave 'diversity' out of the protocol's metrics.")
        features = genre_features(items)
    rating_metrics = [m for m in protocol.metrics if get_metric(m).kind == "rating"]
    if rating_metrics and RATING not in split.test.columns:
        raise ProtocolError(f"{rating_metrics} need a 'rating' column in the test part; leave them out of "
                            "the protocol's metrics for implicit feedback.")
    train = split.train
    popularity = train.groupby(ITEM, sort=False)[USER].nunique()  # order of first appearance: the tie rule
    labels = {kind: segment_labels(kind, truth, split, items=items) for kind in segments}
    return EvaluationContext(split=split, protocol=protocol, truth=truth, items=catalogue(split, items),
                             item_popularity=popularity, n_users=int(train[USER].nunique()),
                             features=features, segments=labels)


def score_lists(recs: pd.DataFrame, ctx: EvaluationContext, *, pred: np.ndarray | None = None
                ) -> tuple[pd.DataFrame, dict]:
    """Return (per-user rows ``user, metric, value``, summary {label: value}) of lists under ``ctx``."""
    protocol, truth, test = ctx.protocol, ctx.truth, ctx.split.test
    rows, summary = [], {}
    ranking = [m for m in protocol.metrics if get_metric(m).kind == "ranking"]
    extra = {"item_popularity": ctx.item_popularity, "seen": ctx.split.train[[USER, ITEM]], "n_items": ctx.n_items}
    for k in protocol.ks:
        per_metric = ranking_metrics(recs, truth, k, ranking, **extra) if ranking else {}
        for name in protocol.metrics:
            metric = get_metric(name)
            label = metric.label(k)
            if metric.kind == "rating":
                continue
            if metric.kind == "ranking":
                series, value = per_metric[name], float(per_metric[name].mean())
            else:
                available = {"n_items": ctx.n_items, "item_popularity": ctx.item_popularity,
                             "n_users": ctx.n_users, "item_features": ctx.features}
                result = metric.fn(recs, **{r: available[r] for r in metric.requires}, k=k)
                series, value = (result, float(result.mean())) if isinstance(result, pd.Series) else (None, float(result))
            summary[label] = value
            if series is not None:
                rows.append(pd.DataFrame({USER: series.index.to_numpy(), METRIC: label,
                                          VALUE: series.to_numpy(dtype=float)}))
    for name in protocol.metrics:
        metric = get_metric(name)
        if metric.kind != "rating":
            continue
        if pred is None:
            summary[metric.label()] = float("nan")  # a ranking-only model: blank, stated in the summary
            continue
        errors = per_user_rating_errors(test.assign(prediction=pred))
        summary[metric.label()] = float(metric.fn(test[RATING], pred))
        rows.append(pd.DataFrame({USER: errors.index.to_numpy(), METRIC: metric.label(),
                                  VALUE: errors[name].to_numpy(dtype=float)}))
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=[USER, METRIC, VALUE])
    return frame, summary


def score_segments(recs: pd.DataFrame, ctx: EvaluationContext) -> pd.DataFrame:
    """Return rows ``segment_kind, segment, user, metric, value`` of the protocol's segment metrics."""
    frames = []
    k = ctx.protocol.k
    names = list(ctx.protocol.segment_metrics)
    for kind, labels in ctx.segments.items():
        by_segment = ranking_metrics_by_segment(recs, ctx.truth, labels, k, names)
        for segment in sorted(by_segment, key=str):
            for name, series in by_segment[segment].items():
                frames.append(pd.DataFrame({SEGMENT_KIND: kind, SEGMENT: segment, USER: series.index.to_numpy(),
                                            METRIC: get_metric(name).label(k), VALUE: series.to_numpy()}))
    if not frames:
        return pd.DataFrame(columns=[SEGMENT_KIND, SEGMENT, USER, METRIC, VALUE])
    return pd.concat(frames, ignore_index=True)


@dataclass
class ModelResult:
    """One model scored under a context: per-user rows, summary, lists, segments, the fitted model."""

    label: str
    model: Recommender
    per_user: pd.DataFrame
    summary: dict
    recommendations: pd.DataFrame
    segments: pd.DataFrame


def evaluate_model(model: Recommender, ctx: EvaluationContext, *, label: str | None = None,
                   items: pd.DataFrame | None = None, users: pd.DataFrame | None = None,
                   fit: bool = True, measure_memory: bool = False) -> ModelResult:
    """Fit ``model`` on the context's train part (unless ``fit=False``), recommend, and score it."""
    label = label or model.name
    split, protocol = ctx.split, ctx.protocol
    peak = float("nan")
    if fit:
        if measure_memory:
            tracemalloc.start()
        start = time.perf_counter()
        try:
            model.fit(split.train, items, users=users)
        finally:
            fit_time = time.perf_counter() - start
            if measure_memory:
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
    else:
        fit_time = float("nan")
    start = time.perf_counter()
    recs = model.recommend(ctx.users, k=max(protocol.ks))
    recommend_time = time.perf_counter() - start
    pred, predict_time = None, float("nan")
    wants_rating = any(get_metric(m).kind == "rating" for m in protocol.metrics)
    if wants_rating and model.predicts_ratings:
        start = time.perf_counter()
        pred = model.predict(split.test)
        predict_time = time.perf_counter() - start
    per_user, scores = score_lists(recs, ctx, pred=pred)
    summary = {MODEL: label, "algorithm": model.name, "relevance": protocol.relevance.name,
               "n_catalogue_items": ctx.n_items, **scores, "fit_time_s": fit_time,
               "recommend_time_s": recommend_time, "predict_time_s": predict_time, "fit_peak_mb": peak}
    segments = score_segments(recs, ctx) if ctx.segments else pd.DataFrame()
    return ModelResult(label=label, model=model, per_user=per_user.assign(**{MODEL: label}), summary=summary,
                       recommendations=recs.assign(**{MODEL: label}),
                       segments=segments.assign(**{MODEL: label}) if len(segments) else segments)


def _log(result: ModelResult, ctx: EvaluationContext, *, dataset, experiment, run_name, extra_params=None):
    model = result.model
    params = {"algorithm": model.name, "model_label": result.label, "hyperparameters": model.get_params(),
              "catalogue_items": ctx.n_items, **ctx.protocol.params(), **(extra_params or {})}
    numeric = {key: v for key, v in result.summary.items() if isinstance(v, (int, float)) and key != "n_catalogue_items"}
    not_finite = sorted(key for key, v in numeric.items()
                        if not np.isfinite(v) and key not in (*TIMINGS, "fit_peak_mb"))
    tags = {"model": result.label, "relevance": ctx.protocol.relevance.name}
    if not_finite:  # stated, not dropped in silence: e.g. RMSE of a model that only ranks
        tags["metrics_not_computed"] = ", ".join(not_finite)
    with tracking.start_run(run_name or result.label, experiment=experiment, params=params, dataset=dataset,
                            split=ctx.split, seed=model.get_params().get("seed"), tags=tags):
        tracking.log_metrics({key: v for key, v in numeric.items() if np.isfinite(v)})
        tracking.log_table(result.per_user, "per_user_metrics")


@dataclass
class Comparison:
    """Results of several models on one split under one protocol.

    per_user : ``model, user, metric, value`` (metric = its label, e.g. ``NDCG@10``).
    summary : one row per model: the mean of each per-user metric (global value for RMSE/MAE and
        the catalogue metrics), the relevance rule, the catalogue size, wall times and peak memory.
    recommendations : ``model, user, item, score, rank``.
    segments : ``model, segment_kind, segment, user, metric, value`` (empty without segments).
    models : the fitted models, by label.
    """

    per_user: pd.DataFrame
    summary: pd.DataFrame
    recommendations: pd.DataFrame
    segments: pd.DataFrame
    protocol: Protocol
    models: dict = field(default_factory=dict)

    def segment_summary(self, metric: str | None = None, kind: str | None = None) -> pd.DataFrame:
        """Return the mean ``metric`` per model (rows) and segment (columns), ``overall`` first, with a
        row ``n_users`` counting the users each column averages."""
        metric = metric or self.protocol.label(self.protocol.segment_metrics[0])
        seg = self.segments
        if kind is not None:
            seg = seg[seg[SEGMENT_KIND] == kind]
        overall = self.per_user[self.per_user[METRIC] == metric].assign(**{SEGMENT: OVERALL})
        rows = pd.concat([overall[[MODEL, SEGMENT, USER, VALUE]],
                          seg.loc[seg[METRIC] == metric, [MODEL, SEGMENT, USER, VALUE]]], ignore_index=True)
        table = rows.pivot_table(index=MODEL, columns=SEGMENT, values=VALUE, aggfunc="mean", sort=False)
        cols = [OVERALL] + [c for c in table.columns if c != OVERALL]
        table = table[cols]
        table.loc["n_users"] = rows.groupby(SEGMENT)[USER].nunique().reindex(cols).to_numpy(dtype=float)
        table.columns.name = f"{metric} ({self.protocol.relevance.name})"
        return table

    def values(self, model: str, metric: str, segment: str = OVERALL) -> pd.Series:
        """Return the per-user values of ``model`` for one metric label and segment (for paired tests)."""
        if segment == OVERALL:
            sub = self.per_user[(self.per_user[MODEL] == model) & (self.per_user[METRIC] == metric)]
        else:
            seg = self.segments
            sub = seg[(seg[MODEL] == model) & (seg[METRIC] == metric) & (seg[SEGMENT] == segment)]
        if sub.empty:
            raise ProtocolError(f"no values for model {model!r}, metric {metric!r}, segment {segment!r}.")
        return sub.groupby(USER)[VALUE].mean().sort_index()


def validated_split(split, *, rating_scale: tuple[float, float] | None = None, duplicates: str = "error",
                    source: str = "compare"):
    """Return ``split`` with its train and test parts checked by ``validate_interactions``.

    The same object when both parts pass unchanged (no copy); a shallow copy holding the merged
    parts when ``duplicates`` merges pairs. Also refused: an empty test part, and train and
    test ids of different kinds (numbers in one, text in the other: nothing would match).
    """
    if len(split.test) == 0:
        raise DataValidationError(
            f"{source}: the split's test part is empty (0 rows), so no model can be scored; make the split "
            "again with a larger test part, or from data whose users have more than one rating."
        )
    parts = {}
    for part in ("train", "test"):
        frame = getattr(split, part)
        checked = validate_interactions(frame, source=f"{source}(split.{part})", rating_scale=rating_scale,
                                        duplicates=duplicates, allow_extra=True, require_rating=False, copy=False)
        if checked is not frame:
            parts[part] = checked
    train, test = parts.get("train", split.train), parts.get("test", split.test)
    for col in (USER, ITEM):
        kinds = id_kind(train[col]), id_kind(test[col])
        if None not in kinds and kinds[0] != kinds[1]:
            raise DataValidationError(
                f"{source}: split.train's {col!r} ids are {kinds[0]} (e.g. {plain(train[col].iloc[0])!r}) but "
                f"split.test's are {kinds[1]} (e.g. {plain(test[col].iloc[0])!r}), so nothing would match; give both "
                "parts one id type."
            )
    if not parts:
        return split
    if dataclasses.is_dataclass(split):
        return dataclasses.replace(split, **parts)
    out = copy.copy(split)
    for part, frame in parts.items():
        setattr(out, part, frame)
    return out


def model_label(spec) -> str:
    """Return the display label of a model spec: its ``label`` or its algorithm name."""
    if isinstance(spec, Recommender):
        return spec.name
    if isinstance(spec, str):
        return spec
    return spec.get("label") or spec["algorithm"]


def build_model(spec) -> Recommender:
    """Return an unfitted recommender from a registry spec, an algorithm name, or a Recommender (copied)."""
    from recsys_study.recommenders.registry import from_spec

    if isinstance(spec, Recommender):
        return type(spec)(**spec.get_params())
    if isinstance(spec, str):
        return from_spec({"algorithm": spec})
    return from_spec({key: v for key, v in spec.items() if key in ("algorithm", "params")})


def compare(models: Mapping[str, Recommender | dict] | Sequence[dict], split, *, protocol: Protocol | None = None,
            k: int | None = None, metrics: Sequence[str] | None = None, relevance=None,
            items: pd.DataFrame | None = None, users: pd.DataFrame | None = None, segments: Sequence[str] = (),
            log: bool = True, experiment: str | None = None, dataset=None, measure_memory: bool = False,
            keep_models: bool = True, run_prefix: str = "", extra_params: dict | None = None,
            rating_scale: tuple[float, float] | None = None, duplicates: str = "error") -> Comparison:
    """Fit, recommend and score several models on one split under one protocol; return a :class:`Comparison`.

    ``models`` maps label -> model or registry spec, or is a list of specs (labelled by
    :func:`model_label`). ``protocol`` (or ``k``/``metrics``/``relevance`` to build one) is the
    same for every model. ``segments``: kinds from :data:`SEGMENT_KINDS`. With ``log``, one MLflow
    run per model records the protocol, hyperparameters, summary and per-user table.
    The split's train and test parts are checked first (:func:`validated_split`): ratings must lie
    in ``rating_scale`` (default: ``dataset.rating_scale`` when a Dataset is given, else any finite
    value); duplicate pairs are refused unless ``duplicates`` ("last", "mean", "sum") merges them.
    """
    protocol = as_protocol(protocol, k=k, metrics=metrics, relevance=relevance)
    if not isinstance(models, Mapping):
        models = {model_label(spec): spec for spec in models}
    if not models:
        raise ProtocolError("compare needs at least one model.")
    if rating_scale is None:
        rating_scale = getattr(dataset, "rating_scale", None)
    split = validated_split(split, rating_scale=rating_scale, duplicates=duplicates)
    ctx = build_context(split, protocol, items=items, segments=segments)
    results = []
    for label, spec in progress(models.items(), desc="models", total=len(models)):
        result = evaluate_model(build_model(spec), ctx, label=label, items=items, users=users,
                                measure_memory=measure_memory)
        if log:
            _log(result, ctx, dataset=dataset, experiment=experiment, run_name=f"{run_prefix}{label}",
                 extra_params=extra_params)
        results.append(result)
    seg = [r.segments for r in results if len(r.segments)]
    return Comparison(per_user=pd.concat([r.per_user for r in results], ignore_index=True)[[MODEL, USER, METRIC, VALUE]],
                      summary=pd.DataFrame([r.summary for r in results]),
                      recommendations=pd.concat([r.recommendations for r in results], ignore_index=True),
                      segments=pd.concat(seg, ignore_index=True) if seg else
                      pd.DataFrame(columns=[MODEL, SEGMENT_KIND, SEGMENT, USER, METRIC, VALUE]),
                      protocol=protocol, models={r.label: r.model for r in results} if keep_models else {})


def evaluate(model: Recommender | dict, split, *, protocol: Protocol | None = None, k: int | None = None,
             metrics: Sequence[str] | None = None, relevance=None, items: pd.DataFrame | None = None,
             users: pd.DataFrame | None = None, label: str | None = None, log: bool = True,
             experiment: str | None = None, dataset=None, rating_scale: tuple[float, float] | None = None,
             duplicates: str = "error") -> pd.DataFrame:
    """Return the per-(user, metric) frame ``model, user, metric, value`` of one model on ``split``.

    The same path as :func:`compare` with one model (the split checked the same way);
    ``frame.attrs["summary"]`` holds the summary row (metric label -> value, relevance rule,
    catalogue size, wall times).
    """
    label = label or model_label(model)
    comparison = compare({label: model}, split, protocol=protocol, k=k, metrics=metrics, relevance=relevance,
                         items=items, users=users, log=log, experiment=experiment, dataset=dataset,
                         rating_scale=rating_scale, duplicates=duplicates)
    frame = comparison.per_user
    frame.attrs["summary"] = comparison.summary.iloc[0].to_dict()
    frame.attrs["relevance"] = comparison.protocol.relevance.name
    return frame


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


def describe_ranking(values: Mapping[str, float] | pd.Series, metric: str, *, relevance: str,
                     baseline: str | None = None, significant: Mapping[str, bool] | None = None,
                     higher_is_better: bool = True) -> str:
    """Return sentences, generated from the numbers, that rank models on one metric.

    ``values`` maps model -> score; ``significant`` (optional) maps model -> whether its
    difference from ``baseline`` is significant. The text names the winner, the order, the
    baseline and how many models clear it, so it stays true whatever the parameters were.
    """
    s = pd.Series(values, dtype=float).dropna().sort_values(ascending=not higher_is_better)
    if s.empty:
        return f"No model has a {metric} value."
    order = ", ".join(f"{m} ({v:.3f})" for m, v in s.items())
    text = [f"With {relevance} relevant, {s.index[0]} has the best {metric} ({s.iloc[0]:.3f}). Order: {order}."]
    if baseline is not None and baseline in s.index:
        base = s[baseline]
        better = [m for m, v in s.items() if m != baseline and (v > base if higher_is_better else v < base)]
        text.append(f"{len(better)} of {len(s) - 1} models do better than {baseline} ({base:.3f}).")
        if significant is not None:
            sig = [m for m in better if significant.get(m)]
            not_sig = [m for m in better if not significant.get(m)]
            text.append(f"{len(sig)} of them significantly (Holm-corrected)"
                        + (f"; not significant: {', '.join(not_sig)}." if not_sig else "."))
    return " ".join(text)
