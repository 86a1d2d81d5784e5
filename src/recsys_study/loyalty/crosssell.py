"""Cross-selling an add-on service to current Telco customers, in the seeds' three steps.

1. **Gather** personal and transaction data: demographics, tenure, contract, billing and the
   services already held (``crosssell_frame``). The target add-on is removed from the features,
   and so is everything derived from it: ``monthly_charges`` / ``total_charges`` contain the
   add-on's own price, and ``churn`` is an outcome observed later. Only customers who could
   buy the add-on (those with internet service) are kept.
2. **Model** the propensity to hold the add-on with the churn module's pipelines (logistic
   regression, decision tree, boosting, neural network) in stratified cross-validation.
3. **Score** every customer (out-of-fold propensity) and **evaluate the campaign**: a decile
   lift table on holders, and an uplift-free expected-response evaluation for the customers who
   do not hold it yet: targeting the top share by score is compared with random targeting
   (formulas in ``loyalty.campaign``). The look-alike assumption — a non-holder who resembles
   holders would accept the offer with probability p — is stated, not tested: only a randomised
   campaign can measure the true uplift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.data.schema import DataValidationError, require_columns
from recsys_study.loyalty.campaign import decile_table, expected_response
from recsys_study.loyalty.churn import CATEGORICAL, NUMERIC, check_no_leakage, cross_validate, summarise_folds

ADD_ONS = ("online_security", "online_backup", "device_protection", "tech_support", "streaming_tv",
           "streaming_movies")
#: columns that include the add-on's price or happen after the offer
DERIVED = ("monthly_charges", "total_charges", "churn")


def crosssell_frame(df: pd.DataFrame, *, target: str = "online_security"):
    """Return (X, y, numeric, categorical) for the add-on ``target`` among customers with internet.

    y = 1 when the customer holds ``target``. Features: every churn-model feature except the
    target and ``DERIVED`` columns.
    """
    if target not in ADD_ONS:
        raise DataValidationError(f"unknown add-on {target!r}; choose one of {ADD_ONS}.")
    require_columns(df, (*NUMERIC, *CATEGORICAL), source="telco table")
    eligible = df[df["internet_service"] != "No"]
    numeric = [c for c in NUMERIC if c not in DERIVED]
    categorical = [c for c in CATEGORICAL if c != target]
    features = numeric + categorical
    check_no_leakage(features, target=target)
    for derived in DERIVED:
        if derived in features:
            raise DataValidationError(f"{derived!r} is derived from the add-on's price or outcome; drop it.")
    y = (eligible[target] == "Yes").astype(int).to_numpy()
    return eligible[features], y, numeric, categorical


def propensity_study(df: pd.DataFrame, *, target: str = "online_security", models=("logistic", "tree"),
                     n_folds: int = 5, seed: int = 42) -> dict:
    """Return the cross-validated propensity models for ``target``: fold summary, out-of-fold
    scores, and the name of the model with the best mean ROC AUC."""
    x, y, numeric, categorical = crosssell_frame(df, target=target)
    folds, oof = cross_validate(x, y, models, n_folds=n_folds, seed=seed, numeric=numeric, categorical=categorical)
    summary = summarise_folds(folds)
    best = str(summary.loc[summary["roc_auc_mean"].idxmax(), "model"])
    return {"summary": summary, "oof": oof, "best": best, "base_rate": float(y.mean()), "n": int(len(y))}


def campaign_evaluation(oof: pd.DataFrame, model: str, *, top_share: float = 0.3, contact_cost: float = 2.0,
                        value: float = 60.0) -> tuple[pd.DataFrame, dict]:
    """Return (decile lift table on all eligible customers, expected response for non-holders).

    ``value``: margin of one accepted offer (e.g. 12 months of a $5 add-on); ``contact_cost`` per
    contact; the top ``top_share`` of non-holders by propensity are contacted.
    """
    table = decile_table(oof["y"], oof[model])
    non_holders = oof.loc[oof["y"] == 0, model].to_numpy()
    response = expected_response(non_holders, top_share=top_share, contact_cost=contact_cost, value=value)
    response["non_holders"] = int(len(non_holders))
    response["top_share"] = top_share
    return table, response


def top_decile_lift(table: pd.DataFrame) -> float:
    """Return the lift of the first decile (positive rate among the top 10% / overall rate)."""
    return float(np.asarray(table.loc[table["decile"] == 1, "lift"])[0])
