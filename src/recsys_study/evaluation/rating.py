"""Rating-prediction error metrics: RMSE and MAE over arrays, and per-user errors over a frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.constants import RATING, USER
from recsys_study.data.schema import require_columns

PREDICTION = "prediction"


def _paired_arrays(truth, pred) -> tuple[np.ndarray, np.ndarray]:
    """Return ``truth`` and ``pred`` as float arrays after checking they can be compared."""
    y = np.asarray(truth, dtype=float).ravel()
    p = np.asarray(pred, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(
            f"truth has {y.size} values but pred has {p.size}; predict exactly the test pairs, in order."
        )
    if y.size == 0:
        raise ValueError("truth and pred are empty; there is nothing to evaluate (check the split).")
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        raise ValueError(
            "truth or pred contains NaN/inf; fill unknown predictions (e.g. with the global mean) "
            "or drop those pairs before computing errors."
        )
    return y, p


def rmse(truth, pred) -> float:
    """Return the root mean squared error between true and predicted ratings.

    RMSE = sqrt( (1/n) Σ_i (r_i − r̂_i)² ). Reference: Herlocker, Konstan, Terveen & Riedl
    (2004), "Evaluating collaborative filtering recommender systems", ACM TOIS 22(1), §3.2;
    the Netflix Prize metric (Bennett & Lanning 2007).
    """
    y, p = _paired_arrays(truth, pred)
    return float(np.sqrt(np.mean((y - p) ** 2)))


def mae(truth, pred) -> float:
    """Return the mean absolute error between true and predicted ratings.

    MAE = (1/n) Σ_i |r_i − r̂_i|. Reference: Herlocker et al. (2004), ACM TOIS 22(1), §3.2.
    """
    y, p = _paired_arrays(truth, pred)
    return float(np.mean(np.abs(y - p)))


def per_user_rating_errors(
    frame: pd.DataFrame, *, truth_col: str = RATING, pred_col: str = PREDICTION
) -> pd.DataFrame:
    """Return one row per user with ``n``, ``rmse`` and ``mae`` of that user's predictions.

    RMSE(u) = sqrt( (1/n_u) Σ_{i ∈ T(u)} (r_ui − r̂_ui)² ), MAE(u) = (1/n_u) Σ |r_ui − r̂_ui|,
    over the user's test pairs T(u). Per-user values feed paired tests between models
    (``stats.paired_test``). Reference: Herlocker et al. (2004), ACM TOIS 22(1).
    """
    require_columns(frame, (USER, truth_col, pred_col), source="per_user_rating_errors")
    _paired_arrays(frame[truth_col], frame[pred_col])
    err = frame[truth_col].astype(float) - frame[pred_col].astype(float)
    parts = pd.DataFrame({USER: frame[USER].to_numpy(), "sq": err.to_numpy() ** 2, "abs": np.abs(err.to_numpy())})
    grouped = parts.groupby(USER, sort=True)
    out = pd.DataFrame(
        {"n": grouped.size(), "rmse": np.sqrt(grouped["sq"].mean()), "mae": grouped["abs"].mean()}
    )
    out.index.name = USER
    return out
