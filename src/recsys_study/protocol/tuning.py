"""One tuning engine for single models and hybrids: hyperparameters chosen on validation data only.

A model spec may carry ``grid`` ({param: [values]}) and ``metric`` (default ``ndcg``; ``rmse``
for rating models). :func:`tune` fits every grid point on a validation split's train part and
scores it on its held-out part with the study's :class:`Protocol` (the same relevance rule and
item universe as the final comparison), and keeps the best point (direction from the metric's
record; ties keep the first point in grid order). A grid over parameters a model reads at
scoring time only (a hybrid's weights, switching threshold, cascade size, mixed slots) is
searched on one fit, re-scoring from cached component scores. The outer test part is never read.

:func:`hybrid_candidates` builds the specs and grids of Burke's (2002) hybrids from component
specs, so notebooks tune hybrids and single models through the same :func:`tune_specs`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from recsys_study import tracking
from recsys_study.evaluation import get_metric
from recsys_study.progress import progress
from recsys_study.protocol.core import Protocol, as_protocol, build_context, build_model, evaluate_model, model_label
from recsys_study.protocol.relevance import ProtocolError
from recsys_study.recommenders.registry import get_class
from recsys_study.split import user_stratified_split

SPEC_KEYS = ("algorithm", "params", "label")


@dataclass
class TuningResult:
    """The chosen parameters and the validation score of every grid point."""

    best_params: dict
    table: pd.DataFrame


def validation_split(train: pd.DataFrame, *, valid_frac: float = 0.25, seed: int):
    """Return a Split of ``train`` into fit and validation parts (per user, the 75/25 convention)."""
    inner = user_stratified_split(train, test_frac=valid_frac, seed=seed)
    inner.spec = {**inner.spec, "kind": "validation_" + str(inner.spec.get("kind", "user_stratified"))}
    return inner


def parameter_grid(grid: Mapping[str, Sequence]) -> list[dict]:
    """Return the cartesian product of ``grid`` as a list of parameter dicts (sorted keys)."""
    if not isinstance(grid, Mapping):
        raise ProtocolError(f"a grid maps parameter names to lists of values, got {grid!r}.")
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ProtocolError(f"grid[{key!r}] must be a non-empty list of values, got {values!r}")
    keys = sorted(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def _clean(spec: Mapping) -> dict:
    return {key: spec[key] for key in SPEC_KEYS if key in spec}


def tune(spec: Mapping, grid: Mapping[str, Sequence], inner_split, *, protocol: Protocol, metric: str = "ndcg",
         items: pd.DataFrame | None = None, users: pd.DataFrame | None = None) -> TuningResult:
    """Return the grid point of ``spec`` that scores best on ``inner_split``'s held-out part.

    ``spec`` is a registry spec ``{algorithm, params}``; grid values override its params. The
    score is the protocol's ``metric`` at its main k, under its relevance rule.
    """
    record = get_metric(metric)
    label = record.label(protocol.k)
    tuning_protocol = Protocol(k=protocol.k, metrics=(metric,), relevance=protocol.relevance)
    ctx = build_context(inner_split, tuning_protocol, items=items)
    points = parameter_grid(grid)
    base = {"algorithm": spec["algorithm"], "params": dict(spec.get("params") or {})}
    score_time = set(getattr(get_class(spec["algorithm"]), "score_time_params", ()))
    shared = set(grid) <= score_time  # one fit serves every point: the knob is read at scoring time
    model, rows = None, []
    for point in progress(points, desc=f"tuning {model_label(spec)}"):
        if shared and model is not None:
            for param, value in point.items():
                setattr(model, param, value)
            result = evaluate_model(model, ctx, label=model_label(spec), fit=False)
        else:
            model = build_model({"algorithm": spec["algorithm"], "params": {**base["params"], **point}})
            result = evaluate_model(model, ctx, label=model_label(spec), items=items, users=users)
            if shared:
                model._score_cache = {}  # component scores do not depend on the knob
        rows.append({"model": model_label(spec), "algorithm": spec["algorithm"],
                     "params": json.dumps(point, sort_keys=True, default=str), "metric": label,
                     "value": result.summary[label], "fit_time_s": result.summary["fit_time_s"],
                     **{f"param.{p}": (list(v) if isinstance(v, tuple) else v) for p, v in point.items()}})
    if model is not None and hasattr(model, "_score_cache"):
        model._score_cache = None
    table = pd.DataFrame(rows)
    values = table["value"]
    if values.isna().all():
        raise ProtocolError(f"every grid point of {model_label(spec)} scored NaN on {label}; check the metric "
                            "suits the model (rmse needs a rating model).")
    best_row = values.idxmax() if record.higher_is_better else values.idxmin()
    table["best"] = table.index == best_row
    return TuningResult(best_params={**base["params"], **json.loads(table.loc[best_row, "params"])}, table=table)


def tune_specs(specs: Sequence[Mapping] | Mapping[str, Mapping], inner_split, *, protocol: Protocol | None = None,
               items: pd.DataFrame | None = None, users: pd.DataFrame | None = None, seed: int | None = None,
               score_all: bool = False, log: bool = True, experiment: str | None = None, dataset=None,
               **protocol_kwargs):
    """Return (specs with tuned params, validation table) for the specs that carry a ``grid``.

    ``specs`` is a list of specs or a dict label -> spec (the same shape is returned). Specs
    without a grid pass through (scored on validation as they are when ``score_all``, so that
    :func:`best_on_validation` can choose among them); a one-point grid is applied without
    fitting unless ``score_all``. With ``log``, one
    MLflow run per tuned model records the grid, the choice and the validation table.
    """
    protocol = as_protocol(protocol, **protocol_kwargs)
    as_dict = isinstance(specs, Mapping)
    entries = list(specs.items()) if as_dict else [(model_label(s), s) for s in specs]
    tuned, tables = [], []
    for label, spec in entries:  # the models of one study
        clean = _clean(spec)
        if as_dict and "label" not in clean and label != clean["algorithm"]:
            clean["label"] = label
        grid = spec.get("grid")
        if not grid and score_all:
            grid = {}
        elif not grid:
            tuned.append((label, clean))
            continue
        points = parameter_grid(grid)
        if len(points) == 1 and not score_all:  # nothing to choose: a one-point grid is a setting
            tuned.append((label, {**clean, "params": {**(clean.get("params") or {}), **points[0]}}))
            continue
        metric = spec.get("metric", "ndcg")
        result = tune(clean, grid, inner_split, protocol=protocol, metric=metric, items=items, users=users)
        result.table["model"] = label
        tuned.append((label, {**clean, "params": result.best_params}))
        tables.append(result.table)
        if log and len(points) > 1:
            with tracking.start_run(f"tune_{label}", experiment=experiment, dataset=dataset, split=inner_split,
                                    seed=seed, params={"algorithm": clean["algorithm"], "grid": grid,
                                                       "tuning_metric": metric, "best": result.best_params,
                                                       **protocol.params()},
                                    tags={"model": label, "stage": "tuning"}):
                best_row = result.table[result.table["best"]].iloc[0]
                tracking.log_metrics({f"valid_{best_row['metric']}": best_row["value"]})
                tracking.log_table(result.table, f"tuning_{label}")
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["model", "algorithm", "params", "metric", "value", "fit_time_s", "best"])
    if as_dict:
        return {label: spec for label, spec in tuned}, table
    return [spec for _, spec in tuned], table


def shrink_grids(specs, *, max_values: int = 2):
    """Return copies of ``specs`` whose grids keep only the first ``max_values`` values per parameter.

    For quick (CI-size) runs and small tuning budgets: the tuning code path is exercised at a
    fraction of the cost. ``specs`` is a list or a dict of specs.
    """
    def shrink(spec):
        spec = dict(spec)
        if spec.get("grid"):
            spec["grid"] = {key: list(values)[:max_values] for key, values in spec["grid"].items()}
        return spec
    if isinstance(specs, Mapping):
        return {label: shrink(spec) for label, spec in specs.items()}
    return [shrink(spec) for spec in specs]


def best_on_validation(table: pd.DataFrame, labels) -> str:
    """Return which of ``labels`` scored best on validation (its chosen grid point)."""
    sub = table[table["model"].isin(list(labels)) & table["best"]]
    if sub.empty:
        raise ProtocolError(f"none of {list(labels)} was scored on validation; give them a grid or score them.")
    return str(sub.sort_values("value", ascending=False, kind="stable")["model"].iloc[0])


# -- hybrid candidates (Burke 2002) ------------------------------------------------------------
HYBRID_KINDS = ("weighted", "switching", "feature_augmented", "cascade", "mixed")


def weight_grid(n_components: int, *, step: float = 0.1) -> list[tuple[float, ...]]:
    """Return every weight vector on the simplex with the given step (weights sum to 1)."""
    m = int(round(1 / step))
    return [tuple(c / m for c in combo) for combo in itertools.product(range(m + 1), repeat=n_components)
            if sum(combo) == m]


def component_specs(names: list[str], *, feature_set: str = "genres+year") -> list[dict]:
    """Return registry specs for algorithm ``names``; content models get ``feature_set``."""
    from recsys_study.recommenders.registry import get_class

    specs = []
    for name in names:
        takes_features = "feature_set" in get_class(name)().get_params()
        specs.append({"algorithm": name, "params": {"feature_set": feature_set} if takes_features else {}})
    return specs


def hybrid_candidates(components: list, kinds=HYBRID_KINDS, *, n_min: int = 5, feature_set: str = "genres+year",
                      weight_step: float = 0.1) -> dict:
    """Return ``{label: spec with grid}`` for the hybrids of ``kinds`` built on component specs.

    The first component is taken as the content model and the last as the collaborative one
    (switching: content below ``n_min``; cascade: the collaborative model proposes 10-50
    candidates that the content model re-ranks). Grids: weights on the simplex
    (``weight_step``), ``n_min`` around the given value, CFCBF content weight λ in
    {0, 0.05, 0.1, 0.2, 0.5, 1}; mixed: new-item slots in {1, 2, 3} (>= 1 by design: the
    new-arrivals shelf is a business rule, not a tuning knob).
    """
    unknown = set(kinds) - set(HYBRID_KINDS)
    if unknown:
        raise ProtocolError(f"unknown hybrid kind(s) {sorted(unknown)}; use {', '.join(HYBRID_KINDS)}.")
    content, collab = components[0], components[-1]
    out = {}
    if "weighted" in kinds:
        out["weighted"] = {"algorithm": "weighted", "params": {"components": list(components)},
                           "grid": {"weights": weight_grid(len(components), step=weight_step)}}
    if "switching" in kinds:
        out["switching"] = {"algorithm": "switching", "params": {"content": content, "collaborative": collab},
                            "grid": {"n_min": sorted({1, 2, 3, 5, 10, 20, int(n_min)})}}
    if "feature_augmented" in kinds:
        out["feature_augmented"] = {"algorithm": "feature_augmented", "params": {"feature_set": feature_set},
                                    "grid": {"content_weight": [0.0, 0.05, 0.1, 0.2, 0.5, 1.0]}}
    if "cascade" in kinds:
        out["cascade"] = {"algorithm": "cascade", "params": {"first": collab, "second": content},
                          "grid": {"n_candidates": [10, 20, 50]}}
    if "mixed" in kinds:
        out["mixed"] = {"algorithm": "mixed", "params": {"collaborative": collab, "content": content},
                        "grid": {"slots": [1, 2, 3]}}
    return out
