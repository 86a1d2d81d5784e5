"""Where does Spark (local mode) overtake the single-machine path? Synthetic interactions at 10^5, 10^6 (10^7).

Both paths do the same step from a parquet file on disk to four ranking metrics at k = 10:

- single machine: pandas reads the parquet, ``user_stratified_split`` (75/25 per user, seed 42),
  implicit's ALS (``als``, CPU, 2 threads) fits, our ``recommend`` (unseen top-k, numpy) ranks
  every test user, and our ``precision_at_k``/``recall_at_k``/``ndcg_at_k``/``map_at_k`` score;
- Spark: ``spark_evaluate`` (``local[2]``, the machine's two cores) reads the same parquet,
  splits per user with the same rule (Spark's own random draw), fits ``pyspark.ml`` ALS, ranks
  with ``recommendForUserSubset`` and scores with ``RankingEvaluator``.

Same model on both sides (implicit feedback, every interaction weight 1, 64 factors, λ = 0.1,
10 iterations, α = 1); Spark scales λ by each user's and item's count (ALS-WR), implicit does not,
so their NDCGs differ somewhat: they are printed as a sanity check, not compared. Data:
``recsys_study.data.synthetic.interactions`` with n_users = n/20, n_items = n/50 (power-law
popularity and activity). Each path runs once per size after an untimed warm-up on the smallest
size (Spark's JVM start-up and JIT, implicit's first call); the session start-up is reported on its
own. The crossover is the smallest size where Spark's warm wall time is below the single-machine
path's, or "not reached".

    python benchmarks/spark_scale.py [--sizes 100000 1000000] [--with-1e7] [--driver-memory 8g]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd  # noqa: E402

from recsys_study.constants import ITEM, USER  # noqa: E402
from recsys_study.data import synthetic  # noqa: E402
from recsys_study.evaluation.ranking import map_at_k, ndcg_at_k, precision_at_k, recall_at_k  # noqa: E402
from recsys_study.recommenders import registry  # noqa: E402
from recsys_study.recommenders.spark import spark_evaluate, spark_session  # noqa: E402
from recsys_study.split import user_stratified_split  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import add_section, peak_rss_mib  # noqa: E402

K, SEED = 10, 42
ALS = {"factors": 64, "regularization": 0.1, "iterations": 10, "alpha": 1.0}
OURS = {"Precision": precision_at_k, "Recall": recall_at_k, "NDCG": ndcg_at_k, "MAP": map_at_k}


def write_data(n: int, root: Path) -> Path:
    """Write n synthetic interactions (user, item only: binary feedback) as parquet; return the path."""
    frame = synthetic.interactions(max(n // 20, 10), max(n // 50, 10), n, seed=SEED)[[USER, ITEM]]
    path = root / f"interactions_{n}.parquet"
    frame.to_parquet(path)
    return path


def single_machine(path: Path, *, threads: int) -> dict:
    """pandas + implicit ALS + our recommend + our metrics, timed phase by phase."""
    t0 = time.perf_counter()
    data = pd.read_parquet(path)
    split = user_stratified_split(data, seed=SEED)
    t1 = time.perf_counter()
    model = registry.make("als", num_threads=threads, seed=SEED, **ALS).fit(split.train)
    t2 = time.perf_counter()
    truth = split.test[[USER, ITEM]]
    recs = model.recommend(truth[USER].unique(), k=K)
    t3 = time.perf_counter()
    metrics = {f"{name}@{K}": float(fn(recs, truth, K).mean()) for name, fn in OURS.items()}
    t4 = time.perf_counter()
    return {**metrics, "read_split_s": t1 - t0, "fit_s": t2 - t1, "recommend_s": t3 - t2, "metrics_s": t4 - t3,
            "total_s": t4 - t0}


def on_spark(path: Path, *, master: str, checkpoint_dir: str) -> dict:
    return spark_evaluate(str(path), k=K, master=master, checkpoint_dir=checkpoint_dir, seed=SEED, **ALS)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--with-1e7", action="store_true", help="add 10^7 interactions (tens of minutes)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--threads", type=int, default=2, help="implicit's ALS threads (match the Spark cores)")
    parser.add_argument("--driver-memory", default="8g")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.sizes + ([10_000_000] if args.with_1e7 else [])))
    with tempfile.TemporaryDirectory(prefix="spark-scale-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        spark_session(args.master, driver_memory=args.driver_memory)
        session_s = time.perf_counter() - t
        ckpt = str(root / "checkpoints")
        warm = write_data(20_000, root)
        t = time.perf_counter()
        on_spark(warm, master=args.master, checkpoint_dir=ckpt)
        spark_first_s = time.perf_counter() - t
        single_machine(warm, threads=args.threads)
        print(f"Spark session start {session_s:.1f} s; first (cold JIT) spark_evaluate on 2e4: {spark_first_s:.1f} s")
        rows = []
        for n in sizes:
            path = write_data(n, root)
            single = single_machine(path, threads=args.threads)
            spark = on_spark(path, master=args.master, checkpoint_dir=ckpt)
            row = {"interactions": n, "users": max(n // 20, 10), "items": max(n // 50, 10),
                   "single_total_s": single["total_s"], "single_fit_s": single["fit_s"],
                   "single_recommend_s": single["recommend_s"], "spark_total_s": spark["total_s"],
                   "spark_fit_s": spark["fit_s"], "spark/single": spark["total_s"] / single["total_s"],
                   f"single NDCG@{K}": single[f"NDCG@{K}"], f"spark NDCG@{K}": spark[f"NDCG@{K}"],
                   "peak_rss_mib": peak_rss_mib()}
            rows.append(row)
            print(pd.DataFrame([row]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    faster = table[table["spark_total_s"] < table["single_total_s"]]
    if len(faster):
        verdict = f"Spark {args.master} is faster from {int(faster['interactions'].min()):,} interactions on."
    else:
        verdict = (f"Crossover not reached up to {int(table['interactions'].max()):,} interactions: Spark "
                   f"{args.master} takes {table['spark/single'].iloc[-1]:.1f}x the single-machine time at the "
                   "largest size.")
    print(table.to_string(index=False))
    print(verdict)
    notes = (f"{verdict} Both paths run parquet → per-user 75/25 split → implicit ALS (64 factors, λ 0.1, 10 "
             f"iterations) → unseen top-{K} of every test user → P/R/NDCG/MAP@{K}; single machine: pandas + "
             f"implicit ({args.threads} threads) + our numpy recommend and metrics; Spark: `spark_evaluate` on "
             f"{args.master} (recommendForUserSubset, RankingEvaluator). Warm times (one untimed warm-up on 2·10^4 "
             f"interactions first); Spark's session start ({session_s:.1f} s) and its first, cold-JIT run "
             f"({spark_first_s:.1f} s) come on top once per process. Spark's ALS scales λ by counts (ALS-WR), "
             "so the NDCG columns are a sanity check, not a comparison. Peak RSS is the Python driver's only.")
    add_section("Spark scale: local Spark against the single-machine path", table, notes=notes,
                data={"session_start_s": session_s, "spark_first_run_s": spark_first_s, "master": args.master,
                      "threads": args.threads, "verdict": verdict})


if __name__ == "__main__":
    main()
