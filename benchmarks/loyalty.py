"""Benchmark the loyalty models: fit times on the full data and stability over seeds.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/loyalty.py [--seeds 5] [--models logistic,tree,gboost,random_forest,mlp]``.
Prints the time of RFM + k-means on CDNOW master, BG/NBD and Gamma-Gamma fits (sample and master) with
their parameters, our BTYD models (``loyalty.btyd``) against lifetimes' fitters of the same models (fit
time, log-likelihood, parameters; report section "BTYD: ours against lifetimes"), churn cross-validation per model over ``--seeds`` fold assignments (mean/sd ROC AUC,
seconds), the cross-sell propensity AUC, and the Guadagni-Little likelihood-ratio test on both panels.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import add_section  # noqa: E402

from recsys_study.data import load_cdnow, load_telco_churn
from recsys_study.loyalty import brand, btyd, churn, clv, crosssell, rfm, segments


def _clock(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", default=",".join(churn.MODELS))
    args = parser.parse_args()
    models = args.models.split(",")

    master = load_cdnow()
    table, t_rfm = _clock(lambda: rfm.rfm_table(master, reference_date="1998-07-01"))
    seg, t_seg = _clock(lambda: segments.kmeans_segments(table, seed=0))
    print(f"CDNOW master: RFM {t_rfm:.2f} s, k-means k=2..8 {t_seg:.2f} s (chosen k={seg.k})")
    for name, log in {"sample": load_cdnow(sample=True), "master": master}.items():
        summary = clv.calibration_holdout_summary(log, calibration_end="1997-09-30", observation_end="1998-06-30")
        bgf, t_bg = _clock(lambda: clv.fit_bgnbd(summary))
        ggf, t_gg = _clock(lambda: clv.fit_gamma_gamma(summary))
        errors = clv.holdout_errors(clv.holdout_predictions(bgf, summary))
        print(f"BG/NBD {name} ({len(summary)} customers): {t_bg:.2f} s {clv.model_params(bgf)}; "
              f"Gamma-Gamma {t_gg:.2f} s {clv.model_params(ggf)}; holdout MAE {errors['mae']:.3f}, "
              f"total {errors['total_predicted']:.0f} predicted vs {errors['total_actual']:.0f} actual")

    btyd_rows = []
    for name, log in {"sample": load_cdnow(sample=True), "master": master}.items():
        summary = clv.calibration_holdout_summary(log, calibration_end="1997-09-30", observation_end="1998-06-30")
        f, r, T = (summary[c].to_numpy() for c in ("frequency_cal", "recency_cal", "T_cal"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lifetimes
        for model, theirs in (("BG/NBD", lifetimes.BetaGeoFitter), ("MBG/NBD", lifetimes.ModifiedBetaGeoFitter),
                              ("Pareto/NBD", lifetimes.ParetoNBDFitter)):
            ours, t_ours = _clock(lambda: btyd.CONTINUOUS_MODELS[model]().fit(f, r, T))
            peer, t_peer = _clock(lambda: theirs().fit(f, r, T))
            at_peer = btyd.CONTINUOUS_MODELS[model]()
            at_peer.params_ = {k: float(peer.params_[k]) for k in at_peer.param_names}
            btyd_rows.append({"data": f"CDNOW {name}", "model": model, "customers": len(summary),
                              "ours s": t_ours, "lifetimes s": t_peer, "ratio": t_peer / t_ours,
                              "ours LL": ours.log_likelihood_,
                              "lifetimes LL": float(at_peer.log_likelihood(f, r, T).sum()),
                              "ours params": ", ".join(f"{k}={v:.4g}" for k, v in ours.params_.items()),
                              "lifetimes params": ", ".join(f"{k}={float(v):.4g}" for k, v in peer.params_.items())})
    btyd_table = pd.DataFrame(btyd_rows)
    print(btyd_table.drop(columns=["ours params", "lifetimes params"]).round(4).to_string(index=False))
    add_section("BTYD: ours against lifetimes", btyd_table,
                notes="One fit each (wall seconds), 39-week calibration ending 1997-09-30. Log-likelihoods of both "
                      "at their own parameters, evaluated by our likelihood (the same formula; lifetimes normalises "
                      "its objective). Ours pools identical (x, t_x, T) histories and starts L-BFGS-B from 1s.")

    x, y = churn.churn_xy(load_telco_churn())
    rows = []
    for seed in range(args.seeds):
        for model in models:
            (folds, _), seconds = _clock(lambda: churn.cross_validate(x, y, [model], n_folds=5, seed=seed))
            rows.append({"seed": seed, "model": model, "roc_auc": folds["roc_auc"].mean(), "seconds": seconds})
    table = pd.DataFrame(rows).groupby("model", sort=False).agg(
        auc_mean=("roc_auc", "mean"), auc_sd=("roc_auc", "std"), seconds=("seconds", "mean"))
    print(f"Telco churn, 5-fold CV over {args.seeds} seeds:\n{table.round(4).to_string()}")

    for target in ("online_security", "tech_support"):
        study, seconds = _clock(lambda: crosssell.propensity_study(load_telco_churn(), target=target,
                                                                   models=("logistic",), seed=0))
        print(f"cross-sell {target}: logistic AUC {study['summary'].loc[0, 'roc_auc_mean']:.4f} ({seconds:.1f} s)")
    for panel_name in ("Yogurt", "Cracker"):
        panel = brand.load_brand_panel(panel_name)
        study, seconds = _clock(lambda: brand.loyalty_study(panel))
        print(f"{panel_name}: LR {study['test']['lr']:.1f} (p={study['test']['p_value']:.2g}), "
              f"loyalty coef {study['with'].params['loyalty']:.3f}, {seconds:.2f} s")


if __name__ == "__main__":
    main()
