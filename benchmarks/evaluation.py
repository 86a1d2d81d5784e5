"""Evaluation speed: the protocol's shared-join ranking metrics against a per-user Python loop and ranx.

Two cases, values asserted equal before anything is timed:
- ml-latest-small (671 users): EASE's top-10 lists of a per-user 75/25 split, NDCG, precision,
  recall, MAP, MRR and hit rate at 10 — ours (``ranking_metrics``, one join for all six) against a
  plain per-user loop over Python dicts and sets (one sort of the lists, no pandas per user);
- 10^5 synthetic users (10 recommendations, 1-30 relevant items each, 5,000 items): ours against
  ranx's ``evaluate`` step on its numba array input (building ranx's typed dicts is not timed).
Each figure is the median of interleaved runs; the section goes to reports/benchmarks.md.
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(pathlib.Path(__file__).parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from _report import add_section, interleaved_medians  # noqa: E402
from recsys_study.evaluation.ranking import ranking_metrics  # noqa: E402

NAMES = ("ndcg", "precision", "recall", "map", "mrr", "hit_rate")


def loop_metrics(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> dict[str, pd.Series]:
    """Return the six metrics computed user by user with Python sets and lists (the reference a student writes).

    The fairest plain loop: the lists are sorted once and gathered into dicts (not a pandas group sorted
    per user, which made the loop about four times slower and the ratio look better than it is)."""
    relevant: dict = {}
    for user, item in zip(truth["user"].tolist(), truth["item"].tolist()):
        relevant.setdefault(user, set()).add(item)
    lists: dict = {}
    ordered = recs.sort_values(["user", "rank"], kind="stable")  # one sort, then plain dicts and lists
    for user, item in zip(ordered["user"].tolist(), ordered["item"].tolist()):
        lists.setdefault(user, []).append(item)
    lists = {u: items[:k] for u, items in lists.items()}
    out = {n: {} for n in NAMES}
    for user, rel in relevant.items():
        items = lists.get(user, [])
        hits = [i in rel for i in items]
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(rel), k)))
        ap, seen = 0.0, 0
        for r, h in enumerate(hits):
            if h:
                seen += 1
                ap += seen / (r + 1)
        out["ndcg"][user] = dcg / idcg
        out["precision"][user] = sum(hits) / k
        out["recall"][user] = sum(hits) / len(rel)
        out["map"][user] = ap / min(len(rel), k)
        out["mrr"][user] = next((1 / (r + 1) for r, h in enumerate(hits) if h), 0.0)
        out["hit_rate"][user] = float(any(hits))
    return {n: pd.Series(v).sort_index() for n, v in out.items()}


def synthetic(n_users: int, *, n_items: int = 5000, k: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    pop /= pop.sum()
    n_rel = rng.integers(1, 31, n_users)
    truth_items = [rng.choice(n_items, size=n, replace=False, p=pop) for n in n_rel]
    truth = pd.DataFrame({"user": np.repeat(np.arange(n_users), n_rel), "item": np.concatenate(truth_items)})
    rec_items = np.argsort(rng.random((n_users, n_items // 10)), axis=1)[:, :k] * 10 + rng.integers(0, 10, (n_users, k))
    recs = pd.DataFrame({"user": np.repeat(np.arange(n_users), k), "item": rec_items.ravel(),
                         "rank": np.tile(np.arange(1, k + 1), n_users)})
    return recs, truth


def ranx_arrays(recs: pd.DataFrame, truth: pd.DataFrame):
    """Return ranx's padded (n_users, width, 2) qrels and run arrays (ids as floats, -1 padding)."""
    users = np.sort(truth["user"].unique())
    pos = pd.Index(users)

    def pad(frame, value):
        frame = frame[frame["user"].isin(users)]
        row = pos.get_indexer(frame["user"])
        col = frame.groupby("user").cumcount().to_numpy()
        width = int(col.max()) + 1
        out = np.tile(np.array([-1.0, 0.0]), (len(users), width, 1))
        out[row, col, 0] = frame["item"].to_numpy(dtype=float)
        out[row, col, 1] = value(frame)
        return out

    qrels = pad(truth, lambda f: 1.0)
    run = pad(recs.sort_values(["user", "rank"]), lambda f: 100.0 - f["rank"].to_numpy(dtype=float))
    return users, qrels, run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000, help="synthetic users for the ranx case")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from ranx import evaluate as ranx_evaluate

    from recsys_study.data import load_movielens
    from recsys_study.recommenders.registry import make
    from recsys_study.split import user_stratified_split

    k, rows = 10, []
    data = load_movielens()
    split = user_stratified_split(data.interactions, seed=42)
    recs = make("ease").fit(split.train).recommend(split.test["user"].unique(), k=k)
    truth = split.test[["user", "item"]]
    ours, loop = ranking_metrics(recs, truth, k, NAMES), loop_metrics(recs, truth, k)
    for name in NAMES:  # values first, then speed
        np.testing.assert_allclose(ours[name].to_numpy(), loop[name].reindex(ours[name].index).to_numpy(), atol=1e-12)
    t = interleaved_medians({"ours": lambda: ranking_metrics(recs, truth, k, NAMES),
                             "loop": lambda: loop_metrics(recs, truth, k)}, repeats=args.repeats)
    rows.append({"case": f"ml-latest-small, {truth['user'].nunique()} users", "peer": "per-user Python loop (dicts and sets)",
                 "ours_s": t["ours"]["median"], "peer_s": t["loop"]["median"],
                 "speed-up (peer / ours)": t["loop"]["median"] / t["ours"]["median"]})
    from recsys_study.evaluation.ranking import map_at_k, ndcg_at_k, precision_at_k, recall_at_k

    four = (ndcg_at_k, precision_at_k, recall_at_k, map_at_k)
    t = interleaved_medians({"ours": lambda: ranking_metrics(recs, truth, k, ("ndcg", "precision", "recall", "map")),
                             "one by one": lambda: [fn(recs, truth, k) for fn in four]}, repeats=args.repeats)
    rows.append({"case": f"ml-latest-small, {truth['user'].nunique()} users, four metrics",
                 "peer": "ndcg_at_k, precision_at_k, recall_at_k, map_at_k called one by one",
                 "ours_s": t["ours"]["median"], "peer_s": t["one by one"]["median"],
                 "speed-up (peer / ours)": t["one by one"]["median"] / t["ours"]["median"]})
    recs, truth = synthetic(args.users)
    users, qrels, run = ranx_arrays(recs, truth)
    ranx_names = [f"{n}@{k}" for n in ("ndcg", "precision", "recall", "mrr", "hit_rate")]
    ref = ranx_evaluate(qrels, run, ranx_names, return_mean=False, threads=1)  # also compiles ranx's kernels
    ours = ranking_metrics(recs, truth, k, NAMES)
    for name in ("ndcg", "precision", "recall", "mrr", "hit_rate"):
        np.testing.assert_allclose(ours[name].to_numpy(), np.asarray(ref[f"{name}@{k}"]), atol=1e-9)
    t = interleaved_medians({"ours": lambda: ranking_metrics(recs, truth, k, NAMES),
                             "ranx": lambda: ranx_evaluate(qrels, run, ranx_names, return_mean=False, threads=1)},
                            repeats=args.repeats)
    rows.append({"case": f"synthetic, {args.users:,} users", "peer": "ranx evaluate (arrays, 1 thread)",
                 "ours_s": t["ours"]["median"], "peer_s": t["ranx"]["median"],
                 "speed-up (peer / ours)": t["ranx"]["median"] / t["ours"]["median"]})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    add_section("Evaluation: ranking metrics", table,
                notes=(f"Six metrics at k={k} (ranx: the five it shares with the loop; MAP differs by definition). "
                       "Values asserted equal to 1e-9 before timing; medians of interleaved runs; one thread."))


if __name__ == "__main__":
    main()
