"""Hyperparameter selection on a validation part carved from the training data — never on test.

``validation_split(train)`` holds out a per-user share of the *training* interactions
(``user_stratified_split``); ``grid_search`` fits every grid point on the rest and scores it
on that validation part with one metric (its direction comes from the metric's record), and
``tune_specs`` does this for each model spec that carries a ``grid``, returning the specs
with the chosen parameters. The test part of the outer split is never read here.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from recsys_study import tracking
from recsys_study.progress import progress
from recsys_study.evaluation import get_metric
from recsys_study.evaluation.protocol import evaluate, model_label
from recsys_study.recommenders.registry import from_spec
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
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid[{key!r}] must be a non-empty list of values, got {values!r}")
    keys = sorted(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def grid_search(spec: Mapping, grid: Mapping[str, Sequence], inner_split, *, metric: str = "ndcg",
                k: int = 10, relevance_threshold: float | None = None,
                items: pd.DataFrame | None = None) -> TuningResult:
    """Return the grid point of ``spec`` that scores best on ``inner_split``'s validation (test) part.

    ``spec`` is a registry spec ``{algorithm, params}``; grid values override its params.
    Ties keep the first grid point in grid order.
    """
    record = get_metric(metric)
    rows = []
    for point in progress(parameter_grid(grid), desc=f"tuning {spec['algorithm']}"):
        params = {**(spec.get("params") or {}), **point}
        model = from_spec({"algorithm": spec["algorithm"], "params": params})
        frame = evaluate(model, inner_split, k=k, metrics=(metric,), relevance_threshold=relevance_threshold,
                         items=items, log=False)
        summary = frame.attrs["summary"]
        rows.append({"model": model_label(spec), "algorithm": spec["algorithm"],
                     "params": json.dumps(point, sort_keys=True, default=str),
                     "metric": record.label(k), "value": summary[record.label(k)],
                     "fit_time_s": summary["fit_time_s"], **{f"param.{p}": v for p, v in point.items()}})
    table = pd.DataFrame(rows)
    order = table["value"].idxmax() if record.higher_is_better else table["value"].idxmin()
    best = {**(spec.get("params") or {}), **json.loads(table.loc[order, "params"])}
    table["best"] = table.index == order
    return TuningResult(best_params=best, table=table)


def tune_specs(specs: Sequence[Mapping], train: pd.DataFrame, *, k: int = 10, valid_frac: float = 0.25,
               relevance_threshold: float | None = None, items: pd.DataFrame | None = None,
               seed: int, log: bool = True, experiment: str | None = None,
               dataset=None) -> tuple[list[dict], pd.DataFrame]:
    """Return (specs with tuned params, validation table) for the specs that carry a ``grid``.

    A spec may hold ``grid`` ({param: [values]}) and ``metric`` (default ``ndcg``; use ``rmse``
    for rating models). Specs without a grid pass through unchanged. The returned specs hold
    only registry keys (algorithm, params, label); a one-point grid is applied without fitting.
    With ``log``, one MLflow run per tuned
    model records the grid, the chosen parameters and the validation table.
    """
    inner = validation_split(train, valid_frac=valid_frac, seed=seed)
    tuned, tables = [], []
    for spec in specs:  # the models of one notebook
        clean = {key: spec[key] for key in SPEC_KEYS if key in spec}
        if not spec.get("grid"):
            tuned.append(clean)
            continue
        if len(parameter_grid(spec["grid"])) == 1:  # nothing to choose: a one-point grid is a setting
            tuned.append({**clean, "params": {**(clean.get("params") or {}), **parameter_grid(spec["grid"])[0]}})
            continue
        metric = spec.get("metric", "ndcg")
        result = grid_search(clean, spec["grid"], inner, metric=metric, k=k,
                             relevance_threshold=relevance_threshold, items=items)
        tuned.append({**clean, "params": result.best_params})
        tables.append(result.table)
        if log:
            label = model_label(clean)
            with tracking.start_run(f"tune_{label}", experiment=experiment, dataset=dataset, split=inner,
                                    seed=seed, params={"algorithm": clean["algorithm"], "grid": spec["grid"],
                                                       "tuning_metric": metric, "best": result.best_params},
                                    tags={"model": label, "stage": "tuning"}):
                best_row = result.table[result.table["best"]].iloc[0]
                tracking.log_metrics({f"valid_{best_row['metric']}": best_row["value"]})
                tracking.log_table(result.table, f"tuning_{label}")
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return tuned, table


def shrink_grids(specs: Sequence[Mapping], *, max_values: int = 2) -> list[dict]:
    """Return copies of ``specs`` whose grids keep only the first ``max_values`` values per parameter.

    For quick (CI-size) runs: the tuning code path is exercised at a fraction of the cost.
    """
    out = []
    for spec in specs:
        spec = dict(spec)
        if spec.get("grid"):
            spec["grid"] = {key: list(values)[:max_values] for key, values in spec["grid"].items()}
        out.append(spec)
    return out
