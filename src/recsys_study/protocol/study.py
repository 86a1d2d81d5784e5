"""The comparison study: every family on several datasets, repeated over seeds, under one protocol.

For each dataset and seed: a per-user stratified split (``test_frac`` per user, the seed), a
validation split carved from its train part, each model's grid searched there
(:func:`recsys_study.protocol.tuning.tune_specs`, never the test part), then one
:func:`recsys_study.protocol.core.compare` on the test part. Across seeds a model's metric is
summarised by the mean of its per-seed means and a Student-t 95 % interval over seeds,
x̄ ± t_{0.975, S−1} · s / √S (S seeds): the variation a new split would bring, which a
bootstrap over the users of one split understates. Pairwise differences are tested per user
(paired over (seed, user) units, Wilcoxon signed-rank) and Holm-corrected over all pairs of
models (Holm 1979; Demšar 2006, JMLR 7, on comparing recommenders/classifiers).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_study.constants import USER
from recsys_study.evaluation import METRICS, get_metric
from recsys_study.evaluation.stats import holm, paired_test
from recsys_study.protocol.core import (METRIC, MODEL, VALUE, Protocol, build_context, compare, model_label,
                                       score_lists)
from recsys_study.protocol.relevance import ProtocolError
from recsys_study.parallel import map_processes
from recsys_study.protocol.tuning import shrink_grids, tune_specs, validation_split
from recsys_study.split import user_stratified_split
from recsys_study.summary import mean_ci  # noqa: F401  (tests import it here too)

DATASET, SEED, DATASETS = "dataset", "seed", "datasets"


def pairwise_tests(per_user: pd.DataFrame, metric: str, *, models: Sequence[str] | None = None,
                   method: str = "wilcoxon", alpha: float = 0.05) -> pd.DataFrame:
    """Return one row per pair of models: paired test of ``metric`` over shared units, Holm-adjusted.

    Units are (seed, user) when a ``seed`` column is present, else users. Columns: model_a,
    model_b, n, mean_diff (a − b), p_value, p_adjusted, significant.
    """
    rows = per_user[per_user[METRIC] == metric]
    if rows.empty:
        raise ProtocolError(f"metric {metric!r} is not in the results; found {sorted(per_user[METRIC].unique())}.")
    unit = [SEED, USER] if SEED in rows.columns else [USER]
    wide = rows.pivot_table(index=unit, columns=MODEL, values=VALUE, aggfunc="mean")
    names = list(models) if models is not None else list(wide.columns)
    records = []
    for a, b in itertools.combinations(names, 2):  # a few dozen pairs, each vectorised over users
        res = paired_test(wide[a], wide[b], method=method)
        records.append({"model_a": a, "model_b": b, "n": res["n"], "mean_diff": res["mean_diff"],
                        "p_value": res["p_value"]})
    out = pd.DataFrame(records, columns=["model_a", "model_b", "n", "mean_diff", "p_value"])
    out["p_adjusted"] = holm(out["p_value"].to_numpy()) if len(out) else []
    out["significant"] = out["p_adjusted"] < alpha
    return out


def significance_matrix(tests: pd.DataFrame) -> pd.DataFrame:
    """Return the symmetric model x model matrix of Holm-adjusted p-values (diagonal NaN)."""
    names = list(dict.fromkeys([*tests["model_a"], *tests["model_b"]]))
    m = pd.DataFrame(np.nan, index=names, columns=names)
    for row in tests.itertuples():
        m.loc[row.model_a, row.model_b] = m.loc[row.model_b, row.model_a] = row.p_adjusted
    return m


@dataclass
class ComparisonStudy:
    """Everything the comparison notebook shows, for every dataset and seed."""

    protocol: Protocol
    per_user: pd.DataFrame      # dataset, seed, model, user, metric, value
    summary: pd.DataFrame       # dataset, seed, one row per model: metric means, times, memory
    segments: pd.DataFrame      # dataset, seed, model, segment_kind, segment, user, metric, value
    tuned: pd.DataFrame         # dataset, seed, model, params chosen on validation
    wall_time_s: float
    anchor: pd.DataFrame | None = None  # dataset, seed, model, metrics under the anchor's relevance rule

    def table(self, dataset: str, metrics: Sequence[str] | None = None, *, alpha: float = 0.05,
              anchor: bool = False) -> pd.DataFrame:
        """Return rows = models, columns ``(metric, mean|lower|upper)``: mean over seeds and its t-interval.

        ``anchor``: the same lists scored under the anchor protocol's relevance rule.
        """
        frame = self.anchor if anchor else self.summary
        if frame is None:
            raise ProtocolError("this study was run without an anchor protocol; pass anchor=Protocol(...).")
        sub = frame[frame[DATASET] == dataset]
        if sub.empty:
            raise ProtocolError(f"no results for dataset {dataset!r}; have {sorted(self.summary[DATASET].unique())}.")
        metrics = list(metrics) if metrics is not None else self.metric_labels()
        records = {}
        for model, g in sub.groupby(MODEL, sort=False):
            rec = {}
            for label in metrics:
                mean, lower, upper = mean_ci(g[label], alpha=alpha)
                rec[(label, "mean")], rec[(label, "lower")], rec[(label, "upper")] = mean, lower, upper
            records[model] = rec
        out = pd.DataFrame.from_dict(records, orient="index")
        out.columns = pd.MultiIndex.from_tuples(out.columns, names=["metric", "stat"])
        out.index.name = MODEL
        return out

    def leaderboard(self, metrics: Sequence[str], *, alpha: float = 0.05) -> pd.DataFrame:
        """Return the long leaderboard of every dataset: dataset, model, metric, mean, lower, upper, n_seeds."""
        frames = [self.table(name, metrics, alpha=alpha).stack(level="metric", future_stack=True).reset_index()
                  .assign(dataset=name) for name in self.summary[DATASET].unique()]
        out = pd.concat(frames, ignore_index=True)
        out["relevance"] = self.protocol.relevance.name
        n_seeds = self.summary.groupby([DATASET, MODEL])[SEED].nunique().rename("n_seeds").reset_index()
        return out.merge(n_seeds, on=[DATASET, MODEL], how="left")

    def records(self, metric: str) -> dict:
        """Return what the index and the tests read of this study: per dataset the best model by ``metric``,
        every model's mean and t-interval, the models, the catalogue sizes, the seeds and the wall time."""
        tables = {name: self.table(name, [metric]) for name in self.summary[DATASET].unique()}
        return {
            "best_model": {name: str(t[(metric, "mean")].idxmax()) for name, t in tables.items()},
            "ndcg": {name: t[(metric, "mean")].to_dict() for name, t in tables.items()},
            "ndcg_ci": {name: t[[(metric, "lower"), (metric, "upper")]].droplevel(0, axis=1).to_dict(orient="index")
                        for name, t in tables.items()},
            "relevance": self.protocol.relevance.name, "n_seeds": int(self.summary[SEED].nunique()),
            "models": sorted(self.summary[MODEL].unique()),
            "catalogue_items": self.summary.groupby(DATASET)["n_catalogue_items"].unique().map(list).to_dict(),
            "wall_time_s": self.wall_time_s,
        }

    def metric_labels(self) -> list[str]:
        """Return the metric labels of the summary, in protocol order."""
        labels = []
        for k in self.protocol.ks:
            for name in self.protocol.metrics:
                metric = get_metric(name)
                label = metric.label() if metric.kind == "rating" else metric.label(k)
                if label in self.summary.columns and label not in labels:
                    labels.append(label)
        return labels

    def formatted(self, dataset: str, metrics: Sequence[str], *, digits: int = 3) -> pd.DataFrame:
        """Return the table as text ``mean ± half-width`` per cell, sorted by the first metric."""
        table = self.table(dataset, metrics)
        first = metrics[0]
        better = get_metric_by_label(first)
        table = table.sort_values((first, "mean"), ascending=not better.higher_is_better)
        out = pd.DataFrame(index=table.index)
        for label in metrics:
            mean, lower, upper = table[(label, "mean")], table[(label, "lower")], table[(label, "upper")]
            out[label] = [f"{m:.{digits}f} ± {(u - lo) / 2:.{digits}f}" if np.isfinite(u) else f"{m:.{digits}f}"
                          for m, lo, u in zip(mean, lower, upper)]
        return out

    def tests(self, dataset: str, metric: str) -> pd.DataFrame:
        """Return the Holm-corrected pairwise tests of ``metric`` on ``dataset``."""
        return pairwise_tests(self.per_user[self.per_user[DATASET] == dataset], metric)

    def resources(self, dataset: str) -> pd.DataFrame:
        """Return mean fit time, recommend time and fit peak memory per model over seeds."""
        sub = self.summary[self.summary[DATASET] == dataset]
        return sub.groupby(MODEL, sort=False)[["fit_time_s", "recommend_time_s", "fit_peak_mb"]].mean()

    def segment_table(self, dataset: str, kind: str, metric: str) -> pd.DataFrame:
        """Return the mean ``metric`` per model and segment of ``kind`` (over seeds and users)."""
        seg = self.segments
        sub = seg[(seg[DATASET] == dataset) & (seg["segment_kind"] == kind) & (seg[METRIC] == metric)]
        return sub.pivot_table(index=MODEL, columns="segment", values=VALUE, aggfunc="mean", sort=False)

    def conclusion(self, dataset: str, metric: str, *, alpha: float = 0.05) -> str:
        """Return sentences, generated from the numbers, on who wins ``metric`` and where it is not significant."""
        table = self.table(dataset, [metric])
        higher = get_metric_by_label(metric).higher_is_better
        order = table[(metric, "mean")].sort_values(ascending=not higher)
        best, runner = order.index[0], order.index[1] if len(order) > 1 else None
        lo, hi = table.loc[best, (metric, "lower")], table.loc[best, (metric, "upper")]
        ci = f" (95 % CI over seeds {lo:.3f}–{hi:.3f})" if np.isfinite(hi) else ""
        text = [f"On {dataset}, {best} has the best {metric}: {order.iloc[0]:.3f}{ci}."]
        if runner is not None:
            tests = self.tests(dataset, metric)
            pair = tests[((tests["model_a"] == best) & (tests["model_b"] == runner))
                         | ((tests["model_a"] == runner) & (tests["model_b"] == best))].iloc[0]
            p = pair["p_adjusted"]
            p_text = "< 1e-4" if p < 1e-4 else f"= {p:.3g}"
            verdict = "significantly" if p < alpha else "not significantly"
            text.append(f"It is {verdict} ahead of the runner-up {runner} ({order.iloc[1]:.3f}; Holm-adjusted "
                        f"p {p_text}).")
            ties = tests[~tests["significant"]]
            text.append(f"{len(ties)} of {len(tests)} model pairs do not differ significantly at α = {alpha}.")
        return " ".join(text)

    def order_change(self, dataset: str, metric: str, variants: Mapping[str, str]) -> str:
        """Return a sentence on whether the order of models by ``metric`` changes when each model takes its variant.

        ``variants`` maps a model (tuned) to the label of the same algorithm at other settings (e.g. the
        earlier two-value grid) run on the same splits; the order is taken over the tuned models plus
        every other model of the table, once with the tuned rows and once with the variants in their place.
        """
        means = self.table(dataset, [metric])[(metric, "mean")]
        missing = [m for pair in variants.items() for m in pair if m not in means.index]
        if missing:
            raise ProtocolError(f"order_change: no results for {missing} on {dataset}.")
        higher = get_metric_by_label(metric).higher_is_better
        others = means.drop(list(variants.values()))
        tuned = others.sort_values(ascending=not higher)
        old = others.copy()
        for model, variant in variants.items():
            old[model] = means[variant]
        old = old.sort_values(ascending=not higher)

        def _order(s, names):
            return " > ".join(f"{m} {s[m]:.3f}" for m in s.index if m in names)

        names = set(variants) | set(tuned.index[:3])
        same = [m for m in tuned.index] == [m for m in old.index]
        moved = [m for m in variants if list(tuned.index).index(m) != list(old.index).index(m)]
        verdict = ("The order of the models is the same under both settings."
                   if same else f"The order changes: {', '.join(moved) or 'other models'} move.")
        return (f"On {dataset}, tuned with the same budget: {_order(tuned, names)}; with the earlier settings of "
                f"{', '.join(variants)} ({', '.join(variants.values())}): {_order(old, names)}. {verdict}")


def _log_seed(comparison, tuned, tuning, *, split, dataset, name, seed, experiment, run_name) -> None:
    from recsys_study import tracking

    protocol = comparison.protocol
    params = {**protocol.params(), DATASET: name, "models": [model_label(s) for s in tuned],
              "tuned": {model_label(s): s.get("params", {}) for s in tuned},
              "catalogue_items": int(comparison.summary["n_catalogue_items"].iloc[0])}
    with tracking.start_run(run_name, experiment=experiment, params=params, dataset=dataset,
                            split=split, seed=seed, tags={"stage": "comparison_seed", "relevance": protocol.relevance.name}):
        metrics = {}
        for row in comparison.summary.to_dict(orient="records"):
            for key, value in row.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value) \
                        and key != "n_catalogue_items":
                    metrics[f"{row[MODEL]}.{key}"] = value
        tracking.log_metrics(metrics)
        tracking.log_table(comparison.summary, "summary")
        main = comparison.per_user[comparison.per_user[METRIC].str.endswith(f"@{protocol.k}")
                                   | ~comparison.per_user[METRIC].str.contains("@")]
        tracking.log_table(main, "per_user_metrics")
        if len(tuning):
            tracking.log_table(tuning.astype(str), "validation_tuning")


def get_metric_by_label(label: str):
    """Return the metric record behind a label such as ``NDCG@10`` or ``RMSE`` (its display name)."""
    display = label.split("@")[0]
    for metric in METRICS.values():
        if metric.display == display:
            return metric
    return get_metric(display)  # a registry name given as is; unknown names fail here with the list


def _one_split(name: str, data, specs: list, seed: int, *, protocol: Protocol, test_frac: float, valid_frac: float,
               segments: Sequence[str], measure_memory: bool, anchor: Protocol | None, splitter) -> dict:
    """Split, tune on validation and compare on test for one dataset and seed; return the frames."""
    split = (splitter(data.interactions, seed=seed) if splitter is not None
             else user_stratified_split(data.interactions, test_frac=test_frac, seed=seed))
    inner = validation_split(split.train, valid_frac=valid_frac, seed=seed)
    users = getattr(data, "users", None)
    tuned, tuning = tune_specs(specs, inner, protocol=protocol, items=data.items, users=users, seed=seed, log=False)
    comparison = compare(tuned, split, protocol=protocol, items=data.items, users=users, segments=segments,
                         log=False, measure_memory=measure_memory, keep_models=False)
    anchored = []
    if anchor is not None:
        ctx = build_context(split, anchor, items=data.items)
        recs = comparison.recommendations
        for label in comparison.summary[MODEL]:
            _, scores = score_lists(recs[recs[MODEL] == label], ctx)
            anchored.append({DATASET: name, SEED: seed, MODEL: label, "relevance": anchor.relevance.name, **scores})
    comparison.recommendations = comparison.recommendations.iloc[:0]  # scored; not carried back
    return {"name": name, "seed": seed, "split": split, "tuned": tuned, "tuning": tuning, "comparison": comparison,
            "anchored": anchored}


def run_comparison(datasets: Mapping[str, object], models: Sequence[Mapping], *, seeds: Sequence[int],
                   protocol: Protocol, tuning_budget: int = 2, test_frac: float = 0.25, valid_frac: float = 0.25,
                   segments: Sequence[str] = (), measure_memory: bool = True, log: bool = True,
                   experiment: str | None = None, anchor: Protocol | None = None,
                   splitter=None, run_prefix: str = "", n_jobs: int = 1) -> ComparisonStudy:
    """Run the comparison study: each dataset x seed is split, tuned on validation and compared on test.

    ``datasets`` maps a name to a :class:`recsys_study.data.Dataset`; ``models`` are registry specs
    (with optional ``grid``, ``metric``, ``label``); ``tuning_budget`` keeps the first values of each
    grid parameter (1 = no search). A spec may name the ``datasets`` it runs on (the demographic
    model needs a users frame). ``anchor``: a second protocol (e.g. a published table's relevance
    rule) under which the same lists are also scored, without refitting. ``splitter(interactions,
    seed) -> Split`` replaces the per-user stratified split (e.g. ``new_user_split``).
    ``n_jobs`` > 1 runs the (dataset, seed) pairs in that many fresh processes (each pair is seeded on
    its own, so the results are the same as with one); MLflow runs are logged by this process.
    """
    if not seeds:
        raise ProtocolError("the comparison needs at least one seed; pass e.g. seeds=[1, 2, 3, 4, 5].")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ProtocolError(f"n_jobs must be a positive integer, got {n_jobs!r}.")
    start = time.perf_counter()
    all_specs = shrink_grids(list(models), max_values=max(1, int(tuning_budget)))
    tasks = []
    for (name, data), seed in itertools.product(datasets.items(), seeds):
        specs = [{key: v for key, v in s.items() if key != DATASETS} for s in all_specs
                 if name in s.get(DATASETS, [name])]
        tasks.append((name, data, specs, seed))
    options = {"protocol": protocol, "test_frac": test_frac, "valid_frac": valid_frac, "segments": tuple(segments),
               "measure_memory": measure_memory, "anchor": anchor, "splitter": splitter}
    results = map_processes(_one_split, tasks, n_jobs=n_jobs, desc="dataset x seed", **options)
    per_user, summary, segs, tuned_rows, anchored = [], [], [], [], []
    for res, (name, data, _, seed) in zip(results, tasks):
        comparison, tuned = res["comparison"], res["tuned"]
        if log:  # one run per dataset and seed: every model's metrics, the validation grid, the per-user table
            _log_seed(comparison, tuned, res["tuning"], split=res["split"], dataset=data, name=name, seed=seed,
                      experiment=experiment, run_name=f"{run_prefix}{name}/seed{seed}")
        tag = {DATASET: name, SEED: seed}
        per_user.append(comparison.per_user.assign(**tag))
        summary.append(comparison.summary.assign(**tag))
        if len(comparison.segments):
            segs.append(comparison.segments.assign(**tag))
        tuned_rows += [{**tag, MODEL: model_label(s), "params": s.get("params", {})} for s in tuned]
        anchored += res["anchored"]
    return ComparisonStudy(protocol=protocol, per_user=pd.concat(per_user, ignore_index=True),
                           summary=pd.concat(summary, ignore_index=True),
                           segments=pd.concat(segs, ignore_index=True) if segs else pd.DataFrame(),
                           tuned=pd.DataFrame(tuned_rows), wall_time_s=time.perf_counter() - start,
                           anchor=pd.DataFrame(anchored) if anchored else None)
