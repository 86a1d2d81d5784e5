"""Microsoft Recommenders' side of the SAR peer benchmark: fit their SARSingleNode on our split, time it, score it.

Runs inside ``.venv-peers`` (recommenders 1.2.1, pandas < 3), never in the project's venv.
``benchmarks/sar_peer.py`` writes the train and test parts as one ``.npz`` of columns (user, item,
rating, timestamp: exact integers and floats, no parquet engine needed), runs this script, and
reads the ``.npz`` it writes back:

    config_<c>_scores   (n_test_users, n_items) float64: ``SAR.score(test)`` without removing seen items
    config_<c>_users, config_<c>_items      their user order (test's unique users) and item order (index2item)
    config_<c>_top_user / _top_item / _top_score   ``recommend_k_items(test, top_k=k, remove_seen=True)``
    meta   JSON: versions, configs, times (fit, recommend; median of the repeats), their metrics

Each configuration is fitted as their ``examples/06_benchmarks/benchmark_utils.py`` does
(``train_sar``: ``SAR(**params)``, ``set_index(train)`` outside the timer, then ``fit``), and
recommends as their ``recommend_k_sar`` (``recommend_k_items(test, top_k=10, remove_seen=True)``);
their metrics (MAP, MAP@k, nDCG@k, Precision@k, Recall@k of
``recommenders.evaluation.python_evaluation``) are computed on those lists as in their
``ranking_metrics_python``; ``map`` (AP over all of a user's relevant items) is the MAP of their
published tables, ``map_at_k`` (AP normalised by min(k, |R|)) their 1.2 series' new one. Times: ``time.perf_counter``,
after one untimed warm-up fit, the median of ``--repeats`` fits and recommends (the published
configuration only; the others once).

NumPy 2 removed the ``np.NaN`` alias that recommenders 1.2.1's ``SARSingleNode`` still calls (as the
default of its id look-ups); ``np.NaN = np.nan`` restores the alias before the import, and nothing
else is touched.

    .venv-peers/bin/python benchmarks/peers/sar_peer_run.py --data D.npz --out R.npz --configs C.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

if not hasattr(np, "NaN"):  # removed in NumPy 2.0; recommenders 1.2.1's SAR still calls it
    np.NaN = np.nan

import pandas as pd  # noqa: E402
import recommenders  # noqa: E402
from recommenders.evaluation.python_evaluation import map as map_ir  # noqa: E402
from recommenders.evaluation.python_evaluation import map_at_k, ndcg_at_k, precision_at_k, recall_at_k  # noqa: E402
from recommenders.models.sar import SAR  # noqa: E402
from recommenders.utils.constants import (  # noqa: E402
    DEFAULT_ITEM_COL,
    DEFAULT_PREDICTION_COL,
    DEFAULT_RATING_COL,
    DEFAULT_TIMESTAMP_COL,
    DEFAULT_USER_COL,
)

COLUMNS = {"user": DEFAULT_USER_COL, "item": DEFAULT_ITEM_COL, "rating": DEFAULT_RATING_COL,
           "timestamp": DEFAULT_TIMESTAMP_COL}


def frames(path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (train, test) in their column names from the ``.npz`` of columns."""
    data = np.load(path)
    parts = []
    for part in ("train", "test"):
        parts.append(pd.DataFrame({theirs: data[f"{part}_{ours}"] for ours, theirs in COLUMNS.items()}))
    return parts[0], parts[1]


def build(params: dict, train: pd.DataFrame) -> SAR:
    model = SAR(col_user=DEFAULT_USER_COL, col_item=DEFAULT_ITEM_COL, col_rating=DEFAULT_RATING_COL,
                col_timestamp=DEFAULT_TIMESTAMP_COL, col_prediction=DEFAULT_PREDICTION_COL, **params)
    model.set_index(train)  # their train_sar: outside the timer
    return model


def run_config(params: dict, train: pd.DataFrame, test: pd.DataFrame, *, k: int, repeats: int) -> dict:
    """Fit and recommend ``repeats`` times (after a warm-up); return times, scores, lists, metrics."""
    build(params, train).fit(train)  # warm-up: lazy imports, first calls
    fit_times, rec_times = [], []
    for _ in range(repeats):
        model = build(params, train)
        start = time.perf_counter()
        model.fit(train)
        fit_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        top = model.recommend_k_items(test, top_k=k, remove_seen=True)
        rec_times.append(time.perf_counter() - start)
    scores = model.score(test, remove_seen=False)
    users = test[DEFAULT_USER_COL].unique()
    items = np.array([model.index2item[j] for j in range(model.n_items)])
    metrics = {name: float(fn(test, top, col_prediction=DEFAULT_PREDICTION_COL, k=k))
               for name, fn in (("MAP", map_ir), ("MAP@k", map_at_k), ("nDCG@k", ndcg_at_k),
                                ("Precision@k", precision_at_k), ("Recall@k", recall_at_k))}
    return {"scores": np.asarray(scores, dtype=np.float64), "users": users, "items": items,
            "top_user": top[DEFAULT_USER_COL].to_numpy(), "top_item": top[DEFAULT_ITEM_COL].to_numpy(),
            "top_score": top[DEFAULT_PREDICTION_COL].to_numpy(dtype=np.float64),
            "fit_s": statistics.median(fit_times), "recommend_s": statistics.median(rec_times),
            "fit_runs": fit_times, "recommend_runs": rec_times, "metrics": metrics}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help=".npz with train_/test_ user, item, rating, timestamp")
    ap.add_argument("--out", required=True, help=".npz to write")
    ap.add_argument("--configs", required=True, help="JSON {label: their SAR keyword arguments}")
    ap.add_argument("--timed", default=None, help="the label timed --repeats times (the others once)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    train, test = frames(args.data)
    configs = json.loads(args.configs)
    out: dict = {}
    meta = {"recommenders_version": recommenders.__version__, "numpy_version": np.__version__,
            "pandas_version": pd.__version__, "k": args.k, "configs": configs, "results": {}}
    for c, (label, params) in enumerate(configs.items()):
        res = run_config(params, train, test, k=args.k, repeats=args.repeats if label == args.timed else 1)
        for key in ("scores", "users", "items", "top_user", "top_item", "top_score"):
            out[f"config_{c}_{key}"] = res.pop(key)
        meta["results"][label] = res
        print(f"{label:45s} fit {res['fit_s']:.3f}s  recommend {res['recommend_s']:.3f}s  "
              + "  ".join(f"{m} {v:.6f}" for m, v in res["metrics"].items()), flush=True)
    np.savez(args.out, meta=np.array(json.dumps(meta)), **out)


if __name__ == "__main__":
    main()
