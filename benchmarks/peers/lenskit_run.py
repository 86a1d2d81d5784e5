"""LensKit's side of the LensKit peer benchmark: fit LensKit models on our split, time them, score them.

Runs inside ``.venv-lenskit`` (``make bench-peers-venv``), never in the project's venv: LensKit
pins pandas < 3. ``benchmarks/lenskit_peers.py`` writes the train and test parts (``user, item,
rating``) as parquet, runs this script, and reads the JSON it writes:

    {"lenskit_version": ..., "threads": 1, "dataset_build_s": ..., "hand_examples": [...], "models": {
        NAME: {"scorer": ..., "config": {...}, "fit_time_s": ..., "recommend_time_s": ..., "predict_time_s": ...,
               "metrics": {"NDCG@10": ..., "NDCG@10 lg(r+1)": ..., "RecipRank@10": ...,
                           "RMSE": ..., "RMSE pooled": ...},          # RMSE: rating models only
               "per_user": {"user": [...], "NDCG@10": [...], "NDCG@10 lg(r+1)": [...], "RecipRank@10": [...]},
               "recommendations": {"user": [...], "item": [...], "rank": [...]},
               "predictions": {"user": [...], "item": [...], "score": [...]}}}}   # {} unless rating model

Every model is a ``topn_pipeline`` (training-item candidates minus the user's training items,
top n by score), fitted with ``Pipeline.train`` on the whole train part and asked for the top
n of every test user with ``lenskit.batch.recommend``. Fit times are ``time.perf_counter``
around ``Pipeline.train`` alone (the ``Dataset`` is built once, timed apart), after one
untimed warm-up fit and recommend on a tenth of the users (thread pools, lazy imports, first
calls into the Rust extension). LensKit runs on one thread (``lenskit.parallel.initialize``),
like our models under ``OPENBLAS_NUM_THREADS=1``.

Metrics are LensKit's own: ``NDCG(n)`` with its default rank weight (``LogRankWeight()``: the
discount is lg(max(rank, 2)), so ranks 1 and 2 both weigh 1, Järvelin & Kekäläinen's original
form), the same with ``LogRankWeight(offset=1)`` (discount lg(rank + 1), the form most
libraries and ours use), ``RecipRank(n)``, and ``RMSE`` of ``lenskit.batch.predict`` on the
test pairs (rating models only; no fallback scorer, every test item is a training item), both
as ``RunAnalysis`` reports it (the mean of per-user RMSEs) and pooled over all pairs.

    .venv-lenskit/bin/python benchmarks/peers/lenskit_run.py --train T.parquet --test S.parquet --out R.json
"""

from __future__ import annotations

import argparse
import json
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import lenskit  # noqa: E402
from lenskit import batch  # noqa: E402
from lenskit.als import BiasedMFScorer, ImplicitMFScorer  # noqa: E402
from lenskit.basic import BiasScorer  # noqa: E402
from lenskit.data import ItemListCollection, UserIDKey, from_interactions_df  # noqa: E402
from lenskit.funksvd import FunkSVDScorer  # noqa: E402
from lenskit.knn import ItemKNNScorer, UserKNNScorer  # noqa: E402
from lenskit.metrics import NDCG, RMSE, RecipRank, RunAnalysis  # noqa: E402
from lenskit.metrics.ranking import LogRankWeight  # noqa: E402
from lenskit.pipeline import topn_pipeline  # noqa: E402
from lenskit.training import TrainingOptions  # noqa: E402


def model_specs(nbrs: int, n_users: int, n_items: int) -> dict[str, tuple[type, dict, bool]]:
    """Return name -> (scorer class, config, predicts ratings): the peers of our models.

    The configurations mirror ours where the models allow it (see benchmarks/lenskit_peers.py).
    The k-NN scorers come in three forms:

    - ``k=nbrs``: LensKit's usual set-up with our k; the item (user) neighbourhood of a target
      is chosen per request, the ``nbrs`` most similar among the user's items (the item's raters);
    - ``k=all``: no truncation at all, so the score is the sum of every positive similarity to
      the user's items (item-based) or to the item's raters (user-based): the same model as
      ours with k = the catalogue (user base) size, a check of the similarities themselves;
    - ItemKNN ``save=nbrs``: each item keeps its ``nbrs`` nearest items at fit time and a
      target i is scored from the user's items j that have i among *their* saved neighbours
      (Deshpande & Karypis's model), the transpose of our N_k(i) ∩ I_u.

    ImplicitMF gets our ALS's factors, iterations, regularisation and confidence weight; the
    bias models our damping.
    """
    return {
        f"ItemKNN implicit k={nbrs}": (ItemKNNScorer, {"max_nbrs": nbrs, "feedback": "implicit"}, False),
        "ItemKNN implicit k=all": (ItemKNNScorer, {"max_nbrs": n_items, "feedback": "implicit"}, False),
        f"ItemKNN implicit save={nbrs}": (ItemKNNScorer, {"max_nbrs": nbrs, "save_nbrs": nbrs,
                                                          "feedback": "implicit"}, False),
        f"UserKNN implicit k={nbrs}": (UserKNNScorer, {"max_nbrs": nbrs, "feedback": "implicit"}, False),
        "UserKNN implicit k=all": (UserKNNScorer, {"max_nbrs": n_users, "feedback": "implicit"}, False),
        "ImplicitMF": (ImplicitMFScorer, {"embedding_size": 100, "epochs": 15, "regularization": 0.01,
                                          "weight": 1.0}, False),
        "Bias": (BiasScorer, {"damping": 5.0}, True),
        "BiasedMF (ALS)": (BiasedMFScorer, {"embedding_size": 50, "damping": 5.0}, True),
        "FunkSVD (SGD)": (FunkSVDScorer, {"embedding_size": 50, "damping": 5.0}, True),
    }


def build(cls, config: dict, predicts: bool, n: int):
    """Return a fresh top-n pipeline around a new scorer with ``config``.

    ``predicts_ratings="raw"``: the scorer's own predictions, no BiasScorer fallback (every
    test item is a training item, so nothing needs one).
    """
    return topn_pipeline(cls(**config), predicts_ratings="raw" if predicts else False, n=n)


def ranking_analysis(n: int) -> RunAnalysis:
    """LensKit's NDCG (its default weight, and lg(r+1)) and RecipRank at n."""
    ra = RunAnalysis()
    ra.add_metric(NDCG(n=n), label=f"NDCG@{n}")
    ra.add_metric(NDCG(n=n, weight=LogRankWeight(offset=1)), label=f"NDCG@{n} lg(r+1)")
    ra.add_metric(RecipRank(n=n), label=f"RecipRank@{n}")
    return ra


HAND_CASES = [  # (ranked list, relevant items): where the two NDCG discounts part
    ([10, 20, 30], [20]),
    ([10, 20, 30], [30, 40]),
    ([10, 20, 30], [10, 20]),
]


def hand_examples(n: int) -> list[dict]:
    """Return LensKit's NDCG (default and lg(r+1) weight) of the tiny hand cases, for our side to check."""
    from lenskit.data import ItemList

    rows = []
    for listed, relevant in HAND_CASES:
        recs, truth = ItemList(item_ids=listed, ordered=True), ItemList(item_ids=relevant)
        rows.append({"recs": listed, "relevant": relevant,
                     f"NDCG@{n}": float(NDCG(n=n).measure_list(recs, truth)),
                     f"NDCG@{n} lg(r+1)": float(NDCG(n=n, weight=LogRankWeight(offset=1)).measure_list(recs, truth))})
    return rows


def run(train: pd.DataFrame, test: pd.DataFrame, *, n: int, nbrs: int, seed: int,
        only: list[str] | None = None) -> dict:
    """Fit, time and score every model; return the JSON-ready result."""
    start = time.perf_counter()
    data = from_interactions_df(train.copy(), user_col="user", item_col="item", rating_col="rating")
    dataset_build_s = time.perf_counter() - start
    test_ilc = ItemListCollection.from_df(test.rename(columns={"user": "user_id", "item": "item_id"}), UserIDKey)
    users = np.sort(test["user"].unique())

    rng = np.random.default_rng(seed)
    warm_users = rng.choice(train["user"].unique(), size=max(2, train["user"].nunique() // 10), replace=False)
    warm_train = train[train["user"].isin(warm_users)]
    warm_data = from_interactions_df(warm_train.copy(), user_col="user", item_col="item", rating_col="rating")

    out: dict = {"lenskit_version": lenskit.__version__, "threads": 1, "n": n, "seed": seed,
                 "dataset_build_s": dataset_build_s, "n_test_users": int(len(users)),
                 "hand_examples": hand_examples(n), "models": {}}
    specs = model_specs(nbrs, data.user_count, data.item_count)
    for name, (cls, config, predicts) in specs.items():
        if only and name not in only:
            continue
        warm = build(cls, config, predicts, n)  # untimed warm-up on a tenth of the users
        warm.train(warm_data, TrainingOptions(rng=seed))
        batch.recommend(warm, warm_users[:20], n=n, n_jobs=1)

        pipe = build(cls, config, predicts, n)
        start = time.perf_counter()
        pipe.train(data, TrainingOptions(rng=seed))
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        recs = batch.recommend(pipe, users, n=n, n_jobs=1)
        recommend_time = time.perf_counter() - start

        result = ranking_analysis(n).measure(recs, test_ilc)
        per_user = result.list_metrics(fill_missing=False)
        metrics = {col: float(per_user[col].mean()) for col in per_user.columns}
        predict_time = float("nan")
        if predicts:
            start = time.perf_counter()
            preds = batch.predict(pipe, test_ilc, n_jobs=1)
            predict_time = time.perf_counter() - start
            metrics["RMSE"], metrics["RMSE pooled"] = _rmse(preds, test_ilc)
            pred_frame = preds.to_df()
        frame = recs.to_df()
        predictions = {} if not predicts else {
            "user": pred_frame["user_id"].to_numpy().tolist(), "item": pred_frame["item_id"].to_numpy().tolist(),
            "score": pred_frame["score"].to_numpy(dtype=float).tolist()}
        out["models"][name] = {
            "scorer": cls.__name__, "config": _config_of(pipe),
            "fit_time_s": fit_time, "recommend_time_s": recommend_time, "predict_time_s": predict_time,
            "metrics": metrics,
            "per_user": {"user": per_user.index.to_numpy().tolist(),
                         **{col: per_user[col].to_numpy(dtype=float).tolist() for col in per_user.columns}},
            "recommendations": {"user": frame["user_id"].to_numpy().tolist(),
                                "item": frame["item_id"].to_numpy().tolist(),
                                "rank": frame["rank"].to_numpy().tolist()},
            "predictions": predictions,
        }
        print(f"{name:25s} fit {fit_time:7.3f}s  recommend {recommend_time:7.3f}s  "
              + "  ".join(f"{key} {v:.4f}" for key, v in metrics.items()), flush=True)
    return out


def _rmse(preds: ItemListCollection, test: ItemListCollection) -> tuple[float, float]:
    """Return LensKit's RMSE as ``RunAnalysis`` reports it, and pooled over all test pairs.

    ``RMSE`` is a ``ListMetric``: ``RunAnalysis`` averages the per-user RMSEs (macro-averaging, as
    LensKit documents for list metrics). Its ``compute_list_data`` / ``global_aggregate`` pair
    pools the squared errors of all pairs instead, which is the RMSE of the literature and ours.
    """
    metric = RMSE()
    macro = float(RunAnalysis(metric).measure(preds, test).list_summary().loc["RMSE", "mean"])
    parts = [metric.compute_list_data(out, test.lookup_projected(key)) for key, out in preds]
    return macro, float(metric.global_aggregate(parts))


def _config_of(pipe) -> dict:
    return json.loads(pipe.component("scorer").config.model_dump_json())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, help="parquet with user, item, rating")
    ap.add_argument("--test", required=True, help="parquet with user, item, rating")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--n", type=int, default=10, help="list length (k)")
    ap.add_argument("--nbrs", type=int, default=50, help="k-NN neighbourhood size")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--only", nargs="*", default=None, help="model names to run (default: all)")
    args = ap.parse_args(argv)
    from lenskit.parallel import initialize

    initialize(processes=1, threads=1, backend_threads=1)
    result = run(pd.read_parquet(args.train), pd.read_parquet(args.test), n=args.n, nbrs=args.nbrs,
                 seed=args.seed, only=args.only)
    with open(args.out, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
