"""The conclusions of the satisfaction notebook, written from a run's own numbers.

``conclusions(headline, ...)`` returns Markdown bullets; every number comes from the run's headline
(the values ``notebook.publish`` records) or the tables passed beside it, so a run with other
parameters rewrites its own conclusions.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def _pairs(frame: pd.DataFrame) -> str:
    return ", ".join(f"{r.construct_1}–{r.construct_2} ({r.htmt:.2f}, upper {r.upper:.2f})"
                     for r in frame.itertuples())


def _group_lines(label: str, micom: pd.DataFrame | None, mga: pd.DataFrame | None, perm: pd.DataFrame | None,
                 verdict: str | None) -> list[str]:
    if micom is None:
        return []
    differ_means = list(micom.loc[~micom["equal_means"], "construct"])
    not_comp = list(micom.loc[~micom["compositional"], "construct"])
    line = (f"- **Groups ({label}).** MICOM: {verdict} measurement invariance"
            + (f"; compositional invariance fails for {', '.join(not_comp)}" if not_comp else "")
            + (f"; composite means differ for {', '.join(differ_means)}" if differ_means else "") + ".")
    if perm is not None and mga is not None:
        both = perm.merge(mga[["source", "target", "p_two_sided"]], on=["source", "target"])
        sig = both[(both["p_permutation"] < 0.05) & (both["p_two_sided"] < 0.05)]
        either = both[(both["p_permutation"] < 0.05) | (both["p_two_sided"] < 0.05)]
        if len(sig):
            line += " Paths that differ by both the permutation test and PLS-MGA (5%): " + ", ".join(
                f"{r.source} → {r.target} ({r.difference:+.2f})" for r in sig.itertuples()) + "."
        elif len(either):
            line += (" No path differs by both tests at 5%; one test alone flags "
                     + ", ".join(f"{r.source} → {r.target}" for r in either.itertuples()) + ".")
        else:
            line += " No path differs between the groups at 5%."
        if verdict == "none":
            line += " Without compositional invariance the path comparison is not interpretable."
    return [line]


def conclusions(headline: Mapping, *, reliability: pd.DataFrame, pls_paths: pd.DataFrame,
                recovery_curve: pd.Series | None = None, htmt_inference: pd.DataFrame | None = None,
                f2: pd.DataFrame | None = None, cvpat_table: pd.DataFrame | None = None,
                groups: Mapping[str, dict] | None = None) -> str:
    """Return the notebook's conclusions as Markdown bullets.

    ``headline`` holds the recorded numbers (satisfaction_index, nps, nps_ci, loyalty ratio, churn,
    Monte Carlo bias and coverage, predictive_power, ...); ``reliability`` the reliability table;
    ``pls_paths`` plain PLS's source/target/estimate; ``recovery_curve`` PLSc's all-within share by n;
    ``htmt_inference`` ``bootstrap_htmt``'s table; ``f2`` ``f_squared``'s; ``cvpat_table`` ``cvpat``'s;
    ``groups`` maps a label to ``{"micom", "mga", "perm", "verdict"}``.
    """
    into = pls_paths[pls_paths["target"] == "Satisfaction"].sort_values("estimate", ascending=False)
    drivers = ", ".join(f"{r.source} ({r.estimate:.2f})" for r in into.itertuples())
    weak = [c for c, a in reliability["alpha"].items() if a < 0.7]
    sat_loy = headline.get("pls_paths", {}).get("Satisfaction->Loyalty")
    lines = [
        f"- **Measurement.** Cronbach's α is below 0.7 for {', '.join(weak) if weak else 'no construct'} "
        f"(of {len(reliability)}); those blocks measure their construct least reliably.",
    ]
    if htmt_inference is not None:
        fail = htmt_inference[~htmt_inference["below_0.9"]]
        lines.append(f"- **Discriminant validity (HTMT inference).** {len(htmt_inference) - len(fail)} of "
                     f"{len(htmt_inference)} construct pairs have a bootstrap upper bound below 0.90"
                     + (f"; not established for {_pairs(fail)}." if len(fail) else "."))
    lines.append(f"- **Drivers.** By plain PLS, the paths into Satisfaction are {drivers}"
                 + (f"; Satisfaction → Loyalty is {sat_loy:.2f}." if sat_loy is not None else "."))
    if f2 is not None:
        big = f2.sort_values("f2", ascending=False)
        top = ", ".join(f"{r.source} → {r.target} ({r.f2:.2f}, {r.size})" for r in big.head(3).itertuples())
        small = int((f2["f2"] < 0.02).sum())
        lines.append(f"- **Effect sizes.** The largest f² are {top}; {small} of {len(f2)} paths have f² < 0.02 "
                     "(removing them hardly lowers R²).")
    if "predictive_power" in headline:
        target = headline.get("predict_target", "the target")
        lines.append(
            f"- **Prediction.** PLSpredict ({headline.get('predict_folds')} folds × "
            f"{headline.get('predict_repetitions')} repetitions): Q²predict > 0 for {headline.get('q2_positive')} "
            f"of {headline.get('n_predicted_items')} endogenous indicators; for {target} PLS beats the linear benchmark on "
            f"{headline.get('pls_beats_lm_target')} of {headline.get('n_target_items')} indicators, "
            f"**{headline['predictive_power']}** predictive power by Shmueli et al.'s (2019) rule.")
    if cvpat_table is not None:
        overall = cvpat_table[cvpat_table["construct"] == "overall"].set_index("benchmark")
        parts = [f"against {b} the average loss difference is {r.loss_difference:+.3f} "
                 f"(t = {r.t:.2f}, one-sided p = {r.p_model_better:.3f})" for b, r in overall.iterrows()]
        lines.append("- **CVPAT.** Over all endogenous indicators, " + "; ".join(parts)
                     + " (negative: PLS predicts better).")
    for label, g in (groups or {}).items():
        lines += _group_lines(label, g.get("micom"), g.get("mga"), g.get("perm"), g.get("verdict"))
    lines += [
        f"- **Index and NPS.** The satisfaction index is {headline['satisfaction_index']:.1f} points (0–100) and "
        f"the NPS {headline['nps']:.0f} (95% CI {headline['nps_ci'][0]:.0f} to {headline['nps_ci'][1]:.0f}).",
        f"- **Loyalty by satisfaction.** The top satisfaction band is {headline['loyalty_ratio_top_vs_satisfied']:.1f} "
        "times as likely to intend repurchase (top box) as the merely satisfied band.",
        f"- **Behaviour.** In mlc_churn, churn is {headline['churn_0_3_calls']:.0%} with up to 3 service calls and "
        f"{headline['churn_4plus_calls']:.0%} from the 4th call on.",
        f"- **Recovery.** On simulated surveys plain PLS is biased by {headline['mc_relative_bias_pls']:+.1%} of the "
        f"true paths on average, PLSc by {headline['mc_relative_bias_plsc']:+.1%}; PLSc's 95% intervals cover the "
        f"true path in {headline['mc_plsc_ci_coverage']:.0%} of cases.",
    ]
    if "cbsem_converged" in headline:
        proper = "proper" if headline["cbsem_proper"] else "improper (a Heywood case)"
        lines.append(f"- **CB-SEM.** The ML solution {'is' if headline['cbsem_converged'] else 'is not'} a verified "
                     f"minimum (Newton decrement and Hessian checked) and {proper}"
                     f"; χ² = {headline['cbsem_fit'].get('chi2', float('nan')):.1f} on "
                     f"{headline['cbsem_fit'].get('DoF', float('nan')):.0f} df.")
    if "max_abs_diff_vs_smartpls_centroid" in headline:
        lines.append(f"- **Check.** The centroid-scheme paths differ from SmartPLS's published output by at most "
                     f"{headline['max_abs_diff_vs_smartpls_centroid']:.1e}.")
    if recovery_curve is not None and len(recovery_curve):
        lines.append("- **Respondents needed.** A single survey gets every PLSc path within ±0.05 in "
                     + ", ".join(f"{v:.0%} of surveys at n = {n:,}" for n, v in recovery_curve.items()) + ".")
    return "\n".join(lines)
