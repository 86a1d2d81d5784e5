"""Our maximum-likelihood BG/NBD against PyMC-Marketing's Bayesian BG/NBD on the CDNOW sample.

Protocol: the CDNOW sample of Fader, Hardie & Lee (2005) (2,357 customers, 39-week calibration ending
1997-09-30; ``clv.calibration_holdout_summary``). Ours: ``btyd.BGNBD`` (maximum likelihood) and
lifetimes' ``BetaGeoFitter``. Theirs: ``pymc_marketing.clv.BetaGeoModel`` with its default priors
(r ~ Weibull(2, 1), alpha ~ Weibull(2, 10), a and b through phi ~ U(0, 1), kappa ~ Pareto(1, 1)),
its MAP point, and NUTS (2 chains x 500 draws after 500 tuning steps, one core, seed 42), run in
.venv-pymc by ``benchmarks/peers/pymc_clv_run.py``: PyMC pins its own scientific stack, so it gets
its own venv, and this script hands it the (x, t_x, T) arrays through a temporary ``.npz``.

Compared per parameter: our estimate, the published one, lifetimes', their MAP, their posterior
mean, sd and 94 % HDI, and how many posterior sds the mean lies from our estimate; R-hat and bulk
ESS. Times: our fit (median of 5), theirs (MAP after compilation; NUTS). With 2,357 customers the
likelihood dominates the priors, so the posterior means should sit within about one sd of the
maximum-likelihood estimates; the MAP differs from them by the priors' pull.

The figures of a run are also written to ``benchmarks/peers/pymc_clv_result.json`` (versioned), so the
comparison can be read without the peer venv.

    python benchmarks/peers/pymc_clv.py [--peer-python .venv-pymc/bin/python] [--draws 500] [--record PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _peer import run_peer  # noqa: E402
from _report import add_section  # noqa: E402

from recsys_study.data import load_cdnow  # noqa: E402
from recsys_study.loyalty import btyd, clv  # noqa: E402

RUNNER = ROOT / "benchmarks" / "peers" / "pymc_clv_run.py"
DEFAULT_PYTHON = ROOT / ".venv-pymc" / "bin" / "python"
RECORD = ROOT / "benchmarks" / "peers" / "pymc_clv_result.json"
PARAMS = ("r", "alpha", "a", "b")


def run_pymc(summary: pd.DataFrame, python: Path, args) -> dict:
    """Write the histories, run PyMC-Marketing in its venv, return its JSON."""
    with tempfile.TemporaryDirectory(prefix="pymc-clv-") as tmp:
        data, out = Path(tmp) / "histories.npz", Path(tmp) / "pymc.json"
        np.savez(data, frequency=summary["frequency_cal"].to_numpy(), recency=summary["recency_cal"].to_numpy(),
                 T=summary["T_cal"].to_numpy())
        run_peer(python, RUNNER, ["--data", data, "--out", out, "--chains", args.chains, "--draws", args.draws,
                                  "--tune", args.tune, "--seed", args.seed], make_target="pymc-venv",
                 why="PyMC pins its own scientific stack; or pass --peer-python")
        return json.loads(out.read_text())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-python", type=Path, default=DEFAULT_PYTHON)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--record", type=Path, default=RECORD, help="where to write the run's figures (JSON)")
    args = parser.parse_args(argv)

    summary = clv.calibration_holdout_summary(load_cdnow(sample=True), calibration_end="1997-09-30",
                                              observation_end="1998-06-30")
    f, r, T = (summary[c].to_numpy() for c in ("frequency_cal", "recency_cal", "T_cal"))
    times, cpu = [], []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        ours = btyd.BGNBD().fit(f, r, T)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lifetimes_params = clv.model_params(clv.fit_bgnbd(summary))
    peer = run_pymc(summary, args.peer_python, args)

    rows = []
    for k in PARAMS:
        post = peer["posterior"][k]
        rows.append({"parameter": k, "ours (ML)": ours.params_[k], "FHL 2005": clv.FHL_2005_BGNBD[k],
                     "lifetimes (ML)": lifetimes_params[k], "PyMC MAP": peer["map"][k],
                     "posterior mean": post["mean"], "posterior sd": post["sd"],
                     "HDI 3%": post["hdi_low"], "HDI 97%": post["hdi_high"],
                     "(mean - ML) / sd": (post["mean"] - ours.params_[k]) / post["sd"],
                     "ML inside HDI": bool(post["hdi_low"] <= ours.params_[k] <= post["hdi_high"]),
                     "R-hat": post["r_hat"], "ESS bulk": post["ess_bulk"]})
    table = pd.DataFrame(rows)
    t = peer["times"]
    timing = pd.DataFrame([
        {"fit": "ours: btyd.BGNBD maximum likelihood (median of 5)", "wall s": statistics.median(times),
         "CPU s": statistics.median(cpu)},
        {"fit": "PyMC-Marketing MAP (after compilation)", "wall s": t["map_wall_s"], "CPU s": t["map_cpu_s"]},
        {"fit": "PyMC-Marketing first MAP (incl. PyTensor compilation)", "wall s": t["first_map_wall_s_incl_compile"],
         "CPU s": t["first_map_cpu_s_incl_compile"]},
        {"fit": f"PyMC-Marketing NUTS ({args.chains} chains x {args.draws} draws, {args.tune} tune, 1 core)",
         "wall s": t["nuts_wall_s"], "CPU s": t["nuts_cpu_s"]}])
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 20)
    print(table.round(4).to_string(index=False))
    print(timing.round(3).to_string(index=False))
    worst = float(table["(mean - ML) / sd"].abs().max())
    versions = ", ".join(f"{k} {v}" for k, v in peer["versions"].items())
    notes = (f"CDNOW sample ({peer['customers']:,} customers, 39-week calibration). Peer: {versions}, default priors, "
             f"seed {args.seed}, in .venv-pymc. Every posterior mean lies within {worst:.2f} posterior sd of our "
             "maximum-likelihood estimate; the MAP is pulled by the priors (most visibly a and b, whose "
             "phi/kappa prior favours smaller values). CPU seconds are this process's own (PyTensor compiles its C "
             "code in a g++ child process, counted in wall time only); wall times move with the machine's load "
             f"(1-min load average {os.getloadavg()[0]:.1f} at the end).")
    add_section("BTYD: PyMC-Marketing BG/NBD against our maximum likelihood", table, notes=notes,
                data={"timing": timing.to_dict(orient="records"), "peer": peer,
                      "ours": {"params": ours.params_, "log_likelihood": ours.log_likelihood_}})
    add_section("BTYD: fit times, ours and PyMC-Marketing", timing,
                notes="Same data and model; maximum likelihood against MAP and a short NUTS run.")
    record = {"protocol": "CDNOW sample, calibration to 1997-09-30 (weeks); BG/NBD; PyMC-Marketing default priors",
              "ours": {"params": ours.params_, "log_likelihood": ours.log_likelihood_,
                       "fit_wall_s": statistics.median(times), "fit_cpu_s": statistics.median(cpu)},
              "lifetimes": lifetimes_params, "published": clv.FHL_2005_BGNBD, "peer": peer,
              "comparison": json.loads(table.to_json(orient="records"))}
    args.record.write_text(json.dumps(record, indent=1) + "\n")
    print(f"figures written to {args.record}")


if __name__ == "__main__":
    main()
