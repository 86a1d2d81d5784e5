"""The peer venv's side of ``benchmarks/msr_conformance.py``: Microsoft Recommenders' splitter, SAR and metrics.

Runs inside ``.venv-peers`` (``make peers-venv``), never in the project's venv. Three modes, each
reading parquet written by ``msr_conformance.py`` and writing an ``.npz`` and a JSON:

``split``
    ``python_stratified_split(df, ratio=0.75, min_rating=1, filter_by=F, seed=S)`` of the
    ``recommenders`` importable here (1.2.1 in the venv; the 2021 splitter when ``PYTHONPATH``
    points at an older release unpacked with ``pip install --no-deps --target``) on the ratings
    frame (``userID, itemID, rating, timestamp``; row order kept), for every ``--config F:S``.
    Writes, per config, the per-row labels (0 train, 2 test, -1 absent: their splitter returns
    the original index, so the labels are read off it) and the row positions of the training
    and test parts in the order the splitter returns them; and the splitter's wall time
    (median of ``--repeats`` runs, after one warm-up) on the first config.
``sar``
    Fits their SAR with the benchmark notebook's parameters (jaccard, time decay 30 days, the
    decay formula on) on a training part and writes its top-k lists, training items removed.
``metrics``
    Scores each list of a parquet (``list, userID, itemID, prediction``) against a test part with
    their ``map``, ``map_at_k``, ``ndcg_at_k``, ``precision_at_k`` and ``recall_at_k``
    (``relevancy_method="top_k"``, k = 10).

numpy 2 shim: recommenders 1.2.1's SAR spells ``np.NaN`` (removed in numpy 2.0; Cornac 2.6 needs
numpy >= 2), so ``np.NaN = np.nan`` is set before SAR is imported; nothing else is touched.

    .venv-peers/bin/python benchmarks/peers/msr_conformance_run.py split --data D.parquet --config item:42 \\
        --out-npz L.npz --out-json L.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

if not hasattr(np, "NaN"):  # numpy >= 2 removed the alias; recommenders 1.2.1's SAR uses it
    np.NaN = np.nan

import pandas as pd  # noqa: E402

USER, ITEM, RATING, TIMESTAMP, PRED = "userID", "itemID", "rating", "timestamp", "prediction"
K = 10


def _recommenders_info() -> dict:
    import recommenders

    return {"recommenders": recommenders.__version__, "recommenders_path": os.path.dirname(recommenders.__file__),
            "python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__}


def run_split(data: pd.DataFrame, configs: list[str], repeats: int) -> tuple[dict, dict]:
    """Their splitter at each ``filter_by:seed``; return (arrays, JSON-ready record)."""
    from recommenders.datasets.python_splitters import python_stratified_split

    def split(filter_by: str, seed: int):
        with warnings.catch_warnings():  # the old splitter assigns into group slices (SettingWithCopyWarning)
            warnings.simplefilter("ignore")
            return python_stratified_split(data.copy(), ratio=0.75, min_rating=1, filter_by=filter_by,
                                           col_user=USER, col_item=ITEM, seed=seed)

    arrays, record = {}, {"versions": _recommenders_info(), "configs": {}}
    position = pd.Series(np.arange(len(data)), index=data.index)
    for config in configs:
        filter_by, seed = config.split(":")
        train, test = split(filter_by, int(seed))
        labels = np.full(len(data), -1, dtype=np.int8)
        labels[position[train.index].to_numpy()] = 0
        labels[position[test.index].to_numpy()] = 2
        name = config.replace(":", "_")
        arrays[f"labels_{name}"] = labels
        arrays[f"train_order_{name}"] = position[train.index].to_numpy()
        arrays[f"test_order_{name}"] = position[test.index].to_numpy()
        record["configs"][config] = {"n_train": len(train), "n_test": len(test)}
    filter_by, seed = configs[0].split(":")
    split(filter_by, int(seed))  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        split(filter_by, int(seed))
        times.append(time.perf_counter() - start)
    record["timing"] = {"config": configs[0], "median_s": statistics.median(times), "runs_s": times}
    return arrays, record


def run_sar(train: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Their SAR with the benchmark notebook's parameters; top-k lists of every training user."""
    from recommenders.evaluation.python_evaluation import get_top_k_items
    from recommenders.models.sar import SAR

    model = SAR(col_user=USER, col_item=ITEM, col_rating=RATING, col_timestamp=TIMESTAMP, col_prediction=PRED,
                similarity_type="jaccard", time_decay_coefficient=30, time_now=None, timedecay_formula=True)
    start = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - start
    top = model.recommend_k_items(train[[USER]].drop_duplicates(), top_k=K, remove_seen=True)
    top = get_top_k_items(top, col_user=USER, col_rating=PRED, k=K)
    return top[[USER, ITEM, PRED, "rank"]], {"versions": _recommenders_info(), "fit_s": fit_s}


def run_metrics(test: pd.DataFrame, lists: pd.DataFrame) -> dict:
    """Their five ranking metrics of every list in ``lists`` against the whole ``test`` part."""
    from recommenders.evaluation.python_evaluation import map as msr_map
    from recommenders.evaluation.python_evaluation import map_at_k, ndcg_at_k, precision_at_k, recall_at_k

    kw = dict(col_user=USER, col_item=ITEM, col_prediction=PRED, relevancy_method="top_k", k=K)
    out = {"versions": _recommenders_info(), "lists": {}}
    for name, pred in lists.groupby("list", sort=False):
        pred = pred[[USER, ITEM, PRED]].reset_index(drop=True)
        out["lists"][name] = {
            "map": float(msr_map(test, pred, **kw)), "map_at_k": float(map_at_k(test, pred, **kw)),
            "ndcg_at_k": float(ndcg_at_k(test, pred, col_rating=RATING, **kw)),
            "precision_at_k": float(precision_at_k(test, pred, **kw)),
            "recall_at_k": float(recall_at_k(test, pred, **kw)),
            "n_users_listed": int(pred[USER].nunique()),
        }
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("split", "sar", "metrics"))
    ap.add_argument("--data", help="split: the ratings; sar: the training part; metrics: the test part")
    ap.add_argument("--lists", help="metrics: parquet with list, userID, itemID, prediction")
    ap.add_argument("--config", nargs="*", default=["item:42"], help="split: filter_by:seed, ...")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out-npz")
    ap.add_argument("--out-parquet")
    ap.add_argument("--out-json", required=True)
    args = ap.parse_args(argv)
    data = pd.read_parquet(args.data)
    if args.mode == "split":
        arrays, record = run_split(data, args.config, args.repeats)
        np.savez_compressed(args.out_npz, **arrays)
    elif args.mode == "sar":
        top, record = run_sar(data)
        top.to_parquet(args.out_parquet, index=False)
    else:
        record = run_metrics(data, pd.read_parquet(args.lists))
    with open(args.out_json, "w") as fh:
        json.dump(record, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
