"""Benchmark the satisfaction models: fit times and parameter recovery over many simulated surveys.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/satisfaction.py [--replications 100] [--n 1000]``.
Prints
- fit times of PLS, PLSc and CB-SEM (semopy) on mobi;
- a Monte Carlo at ``--n`` respondents: per path bias, sd and share within ±0.05 of plain PLS, PLSc
  and the oracle (OLS on the true construct scores: the sampling floor), PLSc bootstrap-CI coverage,
  and how often a *single* survey meets the recovery bar (every path within 0.05; >= 11 of 12 CIs cover);
- CB-SEM over ``--sem-seeds`` surveys (it costs ~1.6 s a fit), with its own pass rate;
- the share of surveys with every path within ±0.05 by sample size.
"""

from __future__ import annotations

import argparse
import logging
import warnings
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("RECSYS_STUDY_PROGRESS", "0")

import pandas as pd  # noqa: E402

from recsys_study.data.survey import load_mobi, simulate_survey  # noqa: E402
from recsys_study.satisfaction import (  # noqa: E402
    PLSPM, ecsi_model, fit_cbsem, monte_carlo_recovery, recovery_by_sample_size, recovery_pass_rates,
    recovery_table, summarise_recovery,
)


def _timed(fn, repeat: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=100, help="Monte Carlo surveys (default 100)")
    parser.add_argument("--n", type=int, default=1000, help="respondents per survey (default 1000)")
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap draws per survey (default 200)")
    parser.add_argument("--sem-seeds", type=int, default=20, help="surveys fitted by CB-SEM (default 20)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 3000, 4000])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="semopy")  # fit indices of a 0-df baseline
    pd.set_option("display.width", 200)

    mobi = load_mobi().data
    print("fit times on mobi (ECSI, 250 x 24):")
    print(f"  PLS    {_timed(lambda: PLSPM(ecsi_model()).fit(mobi)) * 1e3:.1f} ms")
    print(f"  PLSc   {_timed(lambda: PLSPM(ecsi_model(), consistent=True).fit(mobi)) * 1e3:.1f} ms")
    print(f"  CB-SEM {fit_cbsem(ecsi_model(), mobi).fit_time_s * 1e3:.0f} ms")

    start = time.perf_counter()
    runs = monte_carlo_recovery("ecsi", args.n, args.replications, seed=args.seed, n_boot=args.n_boot)
    mc_s = time.perf_counter() - start
    summary = summarise_recovery(runs)
    print(f"\nMonte Carlo: {args.replications} ECSI surveys of n = {args.n}, {args.n_boot} bootstrap draws each "
          f"({mc_s:.1f} s)")
    print(summary.pivot_table(index=["source", "target"], columns="estimator", sort=False,
                              values=["bias", "sd", "share_within"]).round(3).to_string())
    print("\nsingle-survey pass rates:")
    print(recovery_pass_rates(runs).round(3).to_string(index=False))

    rows = []
    for seed in range(args.sem_seeds):
        sim = simulate_survey("ecsi", args.n, seed=seed)
        sem = fit_cbsem(sim.model, sim.data)
        rec = recovery_table(sem.paths, sim.true_paths)
        rows.append({"max_err": rec.error.abs().max(), "within": int(rec.within_tolerance.sum()),
                     "fit_s": sem.fit_time_s, "proper": sem.proper})
    sem_table = pd.DataFrame(rows)
    print(f"\nCB-SEM over {args.sem_seeds} surveys: all 12 within 0.05 in {(sem_table.within == 12).mean():.2f}, "
          f"median max |error| {sem_table.max_err.median():.3f}, fit {sem_table.fit_s.mean():.2f} s, "
          f"proper {sem_table.proper.mean():.2f}")

    start = time.perf_counter()
    by_n = recovery_by_sample_size("ecsi", args.sizes, args.replications, seed=args.seed)
    print(f"\nshare of surveys with every path within ±0.05, by n ({time.perf_counter() - start:.1f} s):")
    print(by_n.pivot(index="n", columns="estimator", values="all_within").round(2).to_string())


if __name__ == "__main__":
    main()
