"""The conclusion of a simulation study, written from its numbers (notebook 08's last cell).

Every sentence is chosen by the sign and the interval of a measured difference: a difference
whose 95 % interval over seeds includes 0 is reported as "no difference detectable".
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def describe_difference(d: pd.Series | dict, *, what: str, percent: bool = False) -> str:
    """Return one sentence for a paired difference row (difference, lower, upper, recommender, baseline)."""
    fmt = _pct if percent else (lambda v: f"{v:.2f}")
    a, b = d["recommender"], d["baseline"]
    lo, hi, m = d["lower"], d["upper"], d["difference"]
    ci = f"{fmt(m)}, 95 % CI [{fmt(lo)}, {fmt(hi)}]" if np.isfinite(lo) else f"{fmt(m)}, one seed: no interval"
    if np.isfinite(lo) and lo > 0:
        return f"{a} beats {b} on {what} by {ci}."
    if np.isfinite(hi) and hi < 0:
        return f"{a} falls short of {b} on {what} (difference {ci})."
    return f"no difference detectable between {a} and {b} on {what} ({ci})."


def conclusion(*, headline: pd.DataFrame, differences: pd.DataFrame, oracle_vs_random: pd.Series | dict,
               gini: pd.DataFrame, offline_online: dict, bgnbd: pd.DataFrame, recovery: pd.DataFrame,
               claims: pd.DataFrame, survive: pd.DataFrame, rounds: int) -> str:
    """Return the conclusion as markdown bullet points.

    headline : ``analysis.headline_table``; differences : ``analysis.paired_differences`` rows
    (retention and clv against the baseline); gini : ``recommender, gini_first, gini_last`` means;
    bgnbd : one row per recommender of ``analysis.bgnbd_check``; recovery : ``survey_recovery``;
    claims : ``recommender`` differences per ``scenario``; survive : ``conclusions_that_survive``.
    """
    lines = []
    ret = headline[headline["metric"] == "retention"].set_index("recommender")["mean"]
    best, worst = ret.idxmax(), ret.idxmin()
    lines.append(f"After {rounds} rounds {_pct(ret[best])} of the initial customers are still customers with "
                 f"{best} and {_pct(ret[worst])} with {worst}; "
                 + describe_difference(oracle_vs_random, what="retention", percent=True))
    for _, d in differences.iterrows():
        lines.append(describe_difference(d, what=d["metric"], percent=d["metric"] == "retention"))
    g = gini.set_index("recommender")
    rising = [r for r in g.index if g.loc[r, "gini_last"] > g.loc[r, "gini_first"] + 0.01]
    falling = [r for r in g.index if g.loc[r, "gini_last"] < g.loc[r, "gini_first"] - 0.01]
    lines.append("Exposure concentrates over the rounds (Gini of exposure up by more than 0.01) with "
                 + (", ".join(rising) if rising else "no recommender")
                 + "; it spreads with " + (", ".join(falling) if falling else "none") + ".")
    rho, inv = offline_online["spearman"], offline_online["inversions"]
    lines.append(f"Offline NDCG on the world's own log ranks the models with Spearman rho = {rho:.2f} against "
                 f"their simulated retention; {len(inv)} pair(s) are inverted"
                 + (": " + "; ".join(f"{r.better_offline} better offline, {r.better_online} online "
                                     f"({_pct(r.online_difference)} retention)" for r in inv.itertuples())
                    if len(inv) else "") + ".")
    rel = (bgnbd["bgnbd_rate"] / bgnbd["world_rate"] - 1).abs()
    fc = (bgnbd["holdout_predicted"] / bgnbd["holdout_actual"] - 1)
    lines.append(f"BG/NBD fitted to the simulated sales recovers the world's purchase rate while alive within "
                 f"{_pct(rel.max())} (worst recommender) and forecasts the holdout's repeat purchases "
                 f"{_pct(fc.abs().median())} off in the median (signed: {', '.join(f'{v:+.0%}' for v in fc)}).")
    plsc = recovery[recovery["estimator"] == "PLSc"]
    pls = recovery[recovery["estimator"] == "PLS"]
    lines.append(f"The survey the world produces recovers its true paths with PLSc to a mean absolute error of "
                 f"{plsc['error'].abs().mean():.3f} (PLS: {pls['error'].abs().mean():.3f}, attenuated).")
    for scenario, g2 in claims.groupby("scenario", sort=False):
        lines.append(f"Under '{scenario}': " + " ".join(describe_difference(d, what="value per initial customer")
                                                        for _, d in g2.iterrows()))
    if len(survive):
        kept = survive[survive["survives"]]["claim"].tolist()
        broken = survive[~survive["survives"]]
        lines.append("Sensitivity analysis: " + (", ".join(kept) if kept else "none of the base orders")
                     + " hold(s) in every variant" + ("; " + "; ".join(f"{r.claim} breaks in {r.breaks_in}"
                                                                      for r in broken.itertuples())
                                                     if len(broken) else "") + ".")
    else:
        lines.append("Sensitivity analysis: the base world separates no pair of recommenders significantly, "
                     "so there is no order to test.")
    return "\n".join(f"- {line}" for line in lines)
