"""PyMC-Marketing's BG/NBD on the histories we hand over; runs inside .venv-pymc (not our venv).

Reads ``--data`` (an ``.npz`` with ``frequency``, ``recency``, ``T``), fits
``pymc_marketing.clv.BetaGeoModel`` with its default priors twice: the maximum a posteriori point
(``method="map"``) and NUTS (``--chains`` chains of ``--draws`` draws after ``--tune`` tuning steps,
one core, ``--seed``), and writes ``--out`` (JSON): posterior means, standard deviations and 94 %
HDIs of r, alpha, a, b, the MAP point, R-hat and bulk ESS, the fit times (wall and CPU; the first
fit includes PyTensor's compilation, reported apart), and the package versions.

    .venv-pymc/bin/python benchmarks/peers/pymc_clv_run.py --data h.npz --out out.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from importlib import metadata

import numpy as np
import pandas as pd

PARAMS = ("r", "alpha", "a", "b")


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import arviz as az
    from pymc_marketing.clv import BetaGeoModel

    with np.load(args.data) as d:
        data = pd.DataFrame({"customer_id": np.arange(len(d["frequency"])), "frequency": d["frequency"],
                             "recency": d["recency"], "T": d["T"]})

    def build():
        model = BetaGeoModel(data=data)
        model.build_model()
        return model

    _, compile_wall, compile_cpu = _timed(lambda: build().fit(method="map"))  # first call compiles PyTensor graphs
    map_model = build()
    _, map_wall, map_cpu = _timed(lambda: map_model.fit(method="map"))
    map_point = {k: float(map_model.idata.posterior[k].values.ravel()[0]) for k in PARAMS}
    model = build()
    idata, nuts_wall, nuts_cpu = _timed(lambda: model.fit(method="mcmc", chains=args.chains, draws=args.draws,
                                                          tune=args.tune, cores=1, random_seed=args.seed,
                                                          progressbar=False))
    summary = az.summary(idata, var_names=list(PARAMS), hdi_prob=0.94)
    post = {k: {"mean": float(summary.loc[k, "mean"]), "sd": float(summary.loc[k, "sd"]),
                "hdi_low": float(summary.loc[k, "hdi_3%"]), "hdi_high": float(summary.loc[k, "hdi_97%"]),
                "r_hat": float(summary.loc[k, "r_hat"]), "ess_bulk": float(summary.loc[k, "ess_bulk"])}
            for k in PARAMS}
    out = {"posterior": post, "map": map_point, "customers": len(data),
           "sampler": {"chains": args.chains, "draws": args.draws, "tune": args.tune, "seed": args.seed, "cores": 1},
           "times": {"first_map_wall_s_incl_compile": compile_wall, "first_map_cpu_s_incl_compile": compile_cpu,
                     "map_wall_s": map_wall, "map_cpu_s": map_cpu, "nuts_wall_s": nuts_wall, "nuts_cpu_s": nuts_cpu},
           "versions": {p: metadata.version(p) for p in ("pymc-marketing", "pymc", "pytensor", "arviz", "numpy")}}
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
