"""Benchmark the simulated world: customers x rounds x recommenders with refits, wall time and memory.

Run: ``python benchmarks/simulation.py [--customers 10000] [--rounds 50] [--refit-every 5]
[--recommenders oracle,random,most_popular,item_knn,als,ease]``.
Target: 10,000 customers x 50 rounds x 6 recommenders (refitted every 5 rounds) in under 5 minutes
on 2 cores. Prints per recommender the wall time, the time in fit and in recommend, the number of
refits, the customers ever in the world and the final retention; the peak resident memory of the
process and the size of the largest arrays (utilities and consumed flags); one section of the
shared benchmark report.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import pandas as pd

from recsys_study.data import load_movielens
from recsys_study.simulation import TrueUtilities, World, WorldConfig

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from _report import add_section, peak_rss_mib  # noqa: E402

SPECS = {"als": {"algorithm": "als", "params": {"factors": 32, "iterations": 10}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--refit-every", type=int, default=5)
    parser.add_argument("--recommenders", default="oracle,random,most_popular,item_knn,als,ease")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    start = time.perf_counter()
    utilities = TrueUtilities.from_dataset(load_movielens("ml-100k"), seed=args.seed)
    t_util = time.perf_counter() - start
    config = WorldConfig.from_dict({"user": {"n_customers": args.customers}, "rounds": args.rounds,
                                    "refit_every": args.refit_every})
    rows = []
    total = time.perf_counter()
    for name in args.recommenders.split(","):
        start = time.perf_counter()
        result = World(config, utilities, seed=args.seed).run(SPECS.get(name, name))
        wall = time.perf_counter() - start
        n = len(result.customers)
        rows.append({"recommender": name, "wall_s": round(wall, 1), "fit_s": round(result.timings["fit_s"], 1),
                     "recommend_s": round(result.timings["recommend_s"], 1), "refits": result.timings["refits"],
                     "customers_ever": n, "log_rows": len(result.log),
                     "retention": round(float(result.retention().iloc[-1]), 3)})
        print(rows[-1], flush=True)
    total = time.perf_counter() - total
    table = pd.DataFrame(rows)
    n_items = len(utilities.items)
    largest = max(table["customers_ever"])
    array_mib = largest * 2 * n_items * (4 + 1) / 2**20  # capacity doubles: float32 utilities + bool flags
    peak = peak_rss_mib()
    print(table.to_string(index=False))
    print(f"utilities fitted in {t_util:.1f} s; {args.customers} customers x {args.rounds} rounds x "
          f"{len(rows)} recommenders: {total:.1f} s total ({'under' if total < 300 else 'OVER'} 5 minutes); "
          f"peak RSS {peak:.0f} MiB; world arrays at most {array_mib:.0f} MiB ({n_items} items)")
    add_section("Simulation", table, notes=(
        f"{args.customers:,} customers x {args.rounds} rounds x {len(rows)} recommenders, refit every "
        f"{args.refit_every} rounds, on MovieLens 100k ({n_items} catalogue items): {total:.1f} s in total "
        f"(utility model {t_util:.1f} s); peak RSS {peak:.0f} MiB."),
        data={"total_s": total, "peak_rss_mib": peak, "utilities_s": t_util})


if __name__ == "__main__":
    main()
