"""Benchmark the satisfaction models: fit times and parameter recovery over many seeds.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/satisfaction.py [--seeds 20] [--n 1000] [--n-boot 500]``.
Prints, per estimator, fit times on mobi and on simulated ECSI data, and over ``--seeds``
simulated surveys: max |error|, paths within 0.05, bootstrap-CI coverage (PLSc) and the
share of seeds meeting the bar (all 12 paths within 0.05; >= 11 of 12 CIs covering).
"""

from __future__ import annotations

import argparse
import logging
import time

import pandas as pd

from recsys_study.data.survey import load_mobi, simulate_survey
from recsys_study.satisfaction import PLSPM, bootstrap_paths, ecsi_model, fit_cbsem, recovery_table


def _timed(fn, repeat: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--n-boot", type=int, default=500)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)

    mobi = load_mobi().data
    print("fit times on mobi (ECSI, 250 x 24):")
    print(f"  PLS   {_timed(lambda: PLSPM(ecsi_model()).fit(mobi)) * 1e3:.1f} ms")
    print(f"  PLSc  {_timed(lambda: PLSPM(ecsi_model(), consistent=True).fit(mobi)) * 1e3:.1f} ms")
    print(f"  CB-SEM {fit_cbsem(ecsi_model(), mobi).fit_time_s * 1e3:.0f} ms")

    rows = []
    for seed in range(args.seeds):
        sim = simulate_survey("ecsi", args.n, seed=seed)
        start = time.perf_counter()
        plsc = PLSPM(sim.model, consistent=True).fit(sim.data)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        boot = bootstrap_paths(plsc, sim.data, n_boot=args.n_boot, seed=seed)
        boot_s = time.perf_counter() - start
        rec = recovery_table(boot.summary[boot.summary.effect == "direct"], sim.true_paths)
        sem = fit_cbsem(sim.model, sim.data)
        sem_rec = recovery_table(sem.paths, sim.true_paths)
        pls = recovery_table(PLSPM(sim.model).fit(sim.data).paths(), sim.true_paths)
        rows.append({"seed": seed, "plsc_max_err": rec.error.abs().max(), "plsc_within": int(rec.within_tolerance.sum()),
                     "plsc_covered": int(rec.covered.sum()), "cbsem_max_err": sem_rec.error.abs().max(),
                     "cbsem_within": int(sem_rec.within_tolerance.sum()), "pls_mean_err": pls.error.mean(),
                     "plsc_fit_ms": fit_s * 1e3, "boot_s": boot_s, "cbsem_s": sem.fit_time_s})
    table = pd.DataFrame(rows)
    print(table.round(3).to_string(index=False))
    print(f"\nover {args.seeds} seeds, n = {args.n}:")
    print(f"  PLSc all 12 within 0.05: {(table.plsc_within == 12).mean():.2f}; mean paths within: {table.plsc_within.mean():.2f}")
    print(f"  CB-SEM all 12 within 0.05: {(table.cbsem_within == 12).mean():.2f}")
    print(f"  PLSc CIs cover >= 11/12: {(table.plsc_covered >= 11).mean():.2f}; mean coverage {table.plsc_covered.mean() / 12:.3f}")
    print(f"  plain PLS mean signed error {table.pls_mean_err.mean():+.3f}")
    print(f"  PLSc fit {table.plsc_fit_ms.mean():.1f} ms, {args.n_boot} bootstrap draws {table.boot_s.mean():.2f} s, "
          f"CB-SEM {table.cbsem_s.mean():.2f} s")


if __name__ == "__main__":
    main()
