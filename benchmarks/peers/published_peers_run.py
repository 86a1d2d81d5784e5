"""The peer venv's side of ``benchmarks/peers/published_peers.py``: fit one published model on one split.

Runs inside ``.venv-peers`` (``make peers-venv``: recommenders 1.2.1, Cornac, CPU torch), never in
the project's venv. ``published_peers.py`` builds the splits with our splitter, writes each split's
training and test parts as parquet (columns ``userID, itemID, rating, timestamp``, Microsoft
Recommenders' default names; the training rows in the order their ``python_stratified_split``
returns them, which fixes Cornac's user and item indices), and runs this script once per fit::

    .venv-peers/bin/python benchmarks/peers/published_peers_run.py --model bpr --split 1.2.1:42 \\
        --train T.parquet --test S.parquet --out-recs R.parquet --out-json R.json

The models are those of Microsoft Recommenders' benchmark notebook
(``examples/06_benchmarks/movielens.ipynb`` with ``benchmark_utils.py``), with its parameters
(``PARAMS`` below) and its code path, each fitted on the whole training part (every rating, as the
notebook's ``prepare_training_cornac`` and ``prepare_training_sar`` pass it):

- ``sar``: ``recommenders.models.sar.SAR(**PARAMS["sar"]).fit(train)``, then
  ``recommend_k_items(users, top_k=10, remove_seen=True)``;
- ``bpr`` and ``bivae``: ``cornac.data.Dataset.from_uir(train[userID, itemID, rating], seed=42)``,
  ``cornac.models.BPR`` / ``cornac.models.BiVAECF`` fitted on it, then
  ``recommenders.models.cornac.cornac_utils.predict_ranking(model, train, remove_seen=True)`` and
  ``get_top_k_items(k=10)``.

Lists are made for every training user (the notebook asks SAR for its test users; the metrics
only count users present in both, so they are the same). Fit and recommend times are
``time.perf_counter`` around ``fit`` alone and around the list making alone, on one thread
(``torch.set_num_threads(1)``, BLAS and OpenMP pools at 1). The metrics are Microsoft Recommenders'
own functions, ``map``, ``map_at_k``, ``ndcg_at_k``, ``precision_at_k`` and ``recall_at_k`` at
k = 10 with ``relevancy_method="top_k"``, on the split's whole test part (every test rating
relevant, items unseen in training included, as in their table).

numpy 2 shim: Cornac 2.6 requires numpy >= 2, and recommenders 1.2.1's SAR still spells
``np.NaN`` (removed in numpy 2.0) in its index lookups; this script sets ``np.NaN = np.nan``
before importing SAR, the one change needed. Nothing else of either library is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

if not hasattr(np, "NaN"):  # numpy >= 2 removed the alias; recommenders 1.2.1's SAR uses it
    np.NaN = np.nan

import pandas as pd  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

import cornac  # noqa: E402
import recommenders  # noqa: E402
from recommenders.evaluation.python_evaluation import (  # noqa: E402
    get_top_k_items,
    map as msr_map,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from recommenders.models.cornac.cornac_utils import predict_ranking  # noqa: E402
from recommenders.models.sar import SAR  # noqa: E402
from recommenders.utils.constants import (  # noqa: E402
    DEFAULT_ITEM_COL as ITEM,
    DEFAULT_PREDICTION_COL as PRED,
    DEFAULT_RATING_COL as RATING,
    DEFAULT_TIMESTAMP_COL as TIMESTAMP,
    DEFAULT_USER_COL as USER,
)

SEED, TOP_K = 42, 10

#: The benchmark notebook's parameters (examples/06_benchmarks/movielens.ipynb, ``*_params``)
PARAMS = {
    "sar": {"similarity_type": "jaccard", "time_decay_coefficient": 30, "time_now": None,
            "timedecay_formula": True},
    "bpr": {"k": 200, "max_iter": 200, "learning_rate": 0.01, "lambda_reg": 0.001, "seed": SEED,
            "verbose": False},
    "bivae": {"k": 100, "encoder_structure": [200], "act_fn": "tanh", "likelihood": "pois",
              "n_epochs": 500, "batch_size": 1024, "learning_rate": 0.001, "seed": SEED,
              "use_gpu": True, "verbose": False},
}


def versions() -> dict:
    """Return the versions this fit ran with (torch's build label included: "2.13.0+cpu")."""
    from importlib import metadata

    out = {"python": platform.python_version(), "recommenders": recommenders.__version__,
           "cornac": cornac.__version__, "torch": torch.__version__,
           "torch_cuda": torch.version.cuda, "torch_threads": torch.get_num_threads()}
    for name in ("numpy", "pandas", "scipy", "scikit-learn"):
        out[name] = metadata.version(name)
    return out


def fit_and_list(model: str, train: pd.DataFrame) -> tuple[pd.DataFrame, float, float]:
    """Fit ``model`` on ``train`` as the benchmark notebook does; return (top-k lists, fit s, list s)."""
    users = train[[USER]].drop_duplicates()
    if model == "sar":
        sar = SAR(col_user=USER, col_item=ITEM, col_rating=RATING, col_timestamp=TIMESTAMP,
                  col_prediction=PRED, **PARAMS["sar"])
        start = time.perf_counter()
        sar.fit(train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        top = sar.recommend_k_items(users, top_k=TOP_K, remove_seen=True)
        top = get_top_k_items(top, col_user=USER, col_rating=PRED, k=TOP_K)
        return top, fit_s, time.perf_counter() - start
    data = cornac.data.Dataset.from_uir(train[[USER, ITEM, RATING]].itertuples(index=False), seed=SEED)
    est = cornac.models.BPR(**PARAMS["bpr"]) if model == "bpr" else cornac.models.BiVAECF(**PARAMS["bivae"])
    start = time.perf_counter()
    est.fit(data)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    scores = predict_ranking(est, train, usercol=USER, itemcol=ITEM, predcol=PRED, remove_seen=True)
    top = get_top_k_items(scores, col_user=USER, col_rating=PRED, k=TOP_K)
    return top, fit_s, time.perf_counter() - start


def msr_metrics(test: pd.DataFrame, top: pd.DataFrame) -> dict:
    """Microsoft Recommenders' own ranking metrics of ``top`` against every test rating (k = 10)."""
    kw = dict(col_user=USER, col_item=ITEM, col_prediction=PRED, relevancy_method="top_k", k=TOP_K)
    pred = top[[USER, ITEM, PRED]]
    return {"map": float(msr_map(test, pred, **kw)), "map_at_k": float(map_at_k(test, pred, **kw)),
            "ndcg_at_k": float(ndcg_at_k(test, pred, col_rating=RATING, **kw)),
            "precision_at_k": float(precision_at_k(test, pred, **kw)),
            "recall_at_k": float(recall_at_k(test, pred, **kw))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, choices=sorted(PARAMS))
    ap.add_argument("--split", required=True, help="the split's name, copied into the outputs")
    ap.add_argument("--train", required=True, help="parquet: userID, itemID, rating, timestamp")
    ap.add_argument("--test", required=True, help="parquet: userID, itemID, rating, timestamp")
    ap.add_argument("--out-recs", required=True, help="parquet to write: user, item, score, rank")
    ap.add_argument("--out-json", required=True, help="JSON to write: times, metrics, versions")
    args = ap.parse_args(argv)

    train, test = pd.read_parquet(args.train), pd.read_parquet(args.test)
    np.random.seed(SEED)  # the notebook's global seeds (its first cells)
    torch.manual_seed(SEED)
    top, fit_s, list_s = fit_and_list(args.model, train)
    metrics = msr_metrics(test, top)
    recs = pd.DataFrame({"user": top[USER].to_numpy(dtype=np.int64), "item": top[ITEM].to_numpy(dtype=np.int64),
                         "score": top[PRED].to_numpy(dtype=np.float64),
                         "rank": top["rank"].to_numpy(dtype=np.int64)})
    recs.to_parquet(args.out_recs, index=False)
    result = {"model": args.model, "split": args.split, "params": PARAMS[args.model], "fit_s": fit_s,
              "recommend_s": list_s, "n_users_listed": int(recs["user"].nunique()),
              "n_train": len(train), "n_test": len(test), "metrics": metrics, "versions": versions(),
              "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with open(args.out_json, "w") as fh:
        json.dump(result, fh, indent=1)
    print(f"{args.model:6s} {args.split:9s} fit {fit_s:8.1f}s  recommend {list_s:6.1f}s  "
          + "  ".join(f"{k} {v:.6f}" for k, v in metrics.items()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
