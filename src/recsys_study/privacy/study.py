"""What privacy costs, measured: NDCG@k as a function of ε over noise seeds, and forget against refit.

``epsilon_curve`` fits each private model at each ε with several noise seeds, scores every fit by
the protocol's one path (``protocol.build_context`` / ``evaluate_model``) and returns the per-fit
means (the curve), the per-user rows (for MLflow, never for display) and the non-private
references fitted on the same split. ``curve_summary`` gives the mean over seeds with a Student-t
95 % interval (the spread is the noise's, the test users being fixed). ``smallest_epsilon`` reads
off the budget that keeps a share of the non-private NDCG, ``erasure_study`` times forget against
refit, and ``conclusion`` writes the notebook's conclusion from these numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from recsys_study.constants import USER
from recsys_study.progress import progress
from recsys_study.summary import mean_ci


def _metric_label(protocol) -> str:
    return protocol.label("ndcg")


def epsilon_curve(split, private: Mapping[str, Mapping], references: Mapping[str, Mapping], *,
                  epsilons: Sequence[float], seeds: Sequence[int], protocol, items: pd.DataFrame | None = None):
    """Return (curve, per_user): one row per (model, ε, seed) with the mean NDCG@k over test users, and
    the per-user rows ``model, epsilon, seed, user, value``.

    ``private`` maps a label to a registry spec of a private model (``{"algorithm": "private_ease",
    "params": {...}}``) whose ``epsilon`` and ``seed`` this function sets; ``references`` maps a label to
    the non-private model it is compared with (fitted once; ε = ∞, seed NaN, ``reference`` True).
    """
    from recsys_study.protocol.core import build_context, build_model, evaluate_model

    ctx = build_context(split, protocol, items=items)
    label = _metric_label(protocol)
    rows, per_user = [], []
    jobs = [(name, spec, float(eps), int(seed)) for name, spec in private.items() for eps in epsilons for seed in seeds]
    jobs += [(name, spec, math.inf, None) for name, spec in references.items()]
    for name, spec, eps, seed in progress(jobs, desc="privacy fits"):
        params = dict(spec.get("params") or {})
        if seed is not None:
            params.update(epsilon=eps, seed=seed)
        model = build_model({"algorithm": spec["algorithm"], "params": params})
        result = evaluate_model(model, ctx, label=name, items=items)
        values = result.per_user[result.per_user["metric"] == label]
        rows.append({"model": name, "epsilon": eps, "seed": np.nan if seed is None else seed,
                     "reference": seed is None, "ndcg": float(values["value"].mean()),
                     "fit_time_s": result.summary["fit_time_s"],
                     "noise_scale": float(getattr(model, "noise_scale_", 0.0))})
        per_user.append(pd.DataFrame({"model": name, "epsilon": eps, "seed": np.nan if seed is None else seed,
                                      USER: values[USER].to_numpy(), "value": values["value"].to_numpy()}))
    return pd.DataFrame(rows), pd.concat(per_user, ignore_index=True)


def curve_summary(curve: pd.DataFrame) -> pd.DataFrame:
    """Return ``model, epsilon, mean, lower, upper, n_seeds`` of the private fits (Student-t 95 % over seeds)."""
    out = []
    for (model, eps), g in curve[~curve["reference"]].groupby(["model", "epsilon"], sort=True):
        mean, lower, upper = mean_ci(g["ndcg"].to_numpy())
        out.append({"model": model, "epsilon": eps, "mean": mean, "lower": lower, "upper": upper,
                    "n_seeds": len(g)})
    return pd.DataFrame(out)


def smallest_epsilon(summary: pd.DataFrame, reference: Mapping[str, float], *, share: float = 0.9) -> dict:
    """Return {model: the smallest finite ε whose mean NDCG is at least ``share`` × its reference's, or None}."""
    out = {}
    for model, g in summary.groupby("model", sort=False):
        ok = g[np.isfinite(g["epsilon"]) & (g["mean"] >= share * reference[model])]
        out[model] = float(ok["epsilon"].min()) if len(ok) else None
    return out


def erasure_study(train: pd.DataFrame, specs: Mapping[str, Mapping], *, n_users: Sequence[int], seed: int,
                  items: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one row per (model, number of users forgotten): max |forget − refit| over every score, whether
    the index orders agree, and the CPU seconds of forget and refit (measured here, information only)."""
    from recsys_study.privacy.erasure import erasure_check
    from recsys_study.protocol.core import build_model

    rng = np.random.default_rng(seed)
    users = pd.unique(train[USER])
    rows = []
    for name, spec in specs.items():
        build_model(spec).fit(train.head(2000), items)  # load the compiled kernels once, outside the timings
        for n in n_users:
            chosen = rng.choice(users, size=min(int(n), len(users) - 1), replace=False)
            model = build_model(spec).fit(train, items)
            check = erasure_check(model, train, chosen, items=items)
            rows.append({"model": name, "users_forgotten": len(chosen), **check,
                         "speedup": check["refit_s"] / check["forget_s"] if check["forget_s"] > 0 else np.nan})
    return pd.DataFrame(rows).drop(columns="n_users")


def leaders(summary: pd.DataFrame) -> dict[str, list[float]]:
    """Return {model: the finite ε of the grid at which its mean NDCG is the highest of all models}."""
    means = summary[np.isfinite(summary["epsilon"])].pivot(index="epsilon", columns="model", values="mean")
    best = means.idxmax(axis=1)
    return {model: [float(e) for e in best.index[best == model]] for model in means.columns if (best == model).any()}


def _eps(value) -> str:
    return "∞" if value is None or math.isinf(value) else f"{value:g}"


def conclusion(summary: pd.DataFrame, reference: Mapping[str, float], smallest: Mapping[str, float | None],
               erasure: pd.DataFrame, *, share: float = 0.9, max_per_user: Mapping[str, int] | None = None,
               metric: str = "NDCG@10") -> str:
    """Return the notebook's conclusion (markdown), every number taken from this run's results."""
    lines = []
    for model, g in summary.groupby("model", sort=False):
        g = g.sort_values("epsilon")
        ref = reference[model]
        capped = g[np.isinf(g["epsilon"])]
        cap_text = ""
        if len(capped):
            cap = (max_per_user or {}).get(model)
            cap_text = (f" Capping alone (ε = ∞{f', c = {cap}' if cap else ''}) gives {capped['mean'].iloc[0]:.3f}, "
                        f"{capped['mean'].iloc[0] / ref:.0%} of it.")
        finite = g[np.isfinite(g["epsilon"])]
        lo, hi = finite.iloc[0], finite.iloc[-1]
        eps = smallest.get(model)
        verdict = (f"the smallest ε of the grid that keeps ≥ {share:.0%} of it is **ε = {_eps(eps)}**"
                   if eps is not None else f"**no finite ε of the grid keeps {share:.0%} of it** (the largest, "
                   f"ε = {_eps(hi['epsilon'])}, keeps {hi['mean'] / ref:.0%})")
        lines.append(f"- **{model}**: non-private {metric} {ref:.3f}; {verdict}. At ε = {_eps(lo['epsilon'])} it is "
                     f"{lo['mean']:.3f} [{lo['lower']:.3f}, {lo['upper']:.3f}] ({lo['mean'] / ref:.0%}).{cap_text}")
    if summary["model"].nunique() > 1:
        lead = leaders(summary)
        lines.append("- Highest mean " + metric + " among the private models, by budget: " + "; ".join(
            f"**{model}** at ε = {', '.join(_eps(e) for e in eps)}" for model, eps in lead.items()) + ".")
    for model, g in erasure.groupby("model", sort=False):
        worst = float(g["max_abs_difference"].max())
        speed = ", ".join(f"{int(r.users_forgotten)} user(s) {r.speedup:.1f}×" for r in g.itertuples())
        lines.append(f"- **forget, {model}**: equals a refit without the users to {worst:.1e} on every score "
                     f"({'same' if g['same_order'].all() else 'different'} index order); forget against refit on "
                     f"CPU time: {speed} (measured in this run, information only).")
    return "\n".join(lines)


def plot_epsilon_curve(summary: pd.DataFrame, reference: Mapping[str, float], *, metric: str = "NDCG@10", ax=None):
    """Return the figure of mean NDCG against ε (log axis; ∞ = the cap alone, drawn right of the grid) with
    the seeds' 95 % band per model and each model's non-private value as a dashed line."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    finite = summary.loc[np.isfinite(summary["epsilon"]), "epsilon"]
    at_inf = float(finite.max()) * 10 if len(finite) else 1.0
    data = summary.assign(x=summary["epsilon"].replace(np.inf, at_inf))
    models = list(pd.unique(data["model"]))
    palette = dict(zip(models, sns.color_palette(n_colors=len(models))))
    sns.lineplot(data=data, x="x", y="mean", hue="model", palette=palette, marker="o", ax=ax)
    for model, g in data.groupby("model", sort=False):
        ax.fill_between(g["x"], g["lower"], g["upper"], color=palette[model], alpha=0.2)
        if model in reference:
            ax.axhline(reference[model], color=palette[model], linestyle="--", linewidth=1)
    ticks = sorted(set(finite)) + [at_inf]
    ax.set_xscale("log")
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks[:-1]] + ["∞\n(cap only)"])
    ax.set(xlabel="ε (user-level, Laplace)", ylabel=metric,
           title=f"{metric} against the privacy budget (mean over noise seeds, 95% CI; dashed: non-private)")
    return ax.figure


def plot_erasure_times(erasure: pd.DataFrame):
    """Return a bar chart of the CPU seconds of forget and of refit per model and number of users forgotten."""
    import seaborn as sns

    long = erasure.melt(id_vars=["model", "users_forgotten"], value_vars=["forget_s", "refit_s"],
                        var_name="how", value_name="cpu_s")
    long["how"] = long["how"].map({"forget_s": "forget", "refit_s": "refit"})
    grid = sns.catplot(data=long, x="users_forgotten", y="cpu_s", hue="how", col="model", kind="bar",
                       height=3.5, aspect=1.2, sharey=False)
    grid.set_axis_labels("users forgotten", "CPU seconds")
    grid.figure.suptitle("forget(users) against a refit without them (this run, one machine)", y=1.04)
    return grid.figure


def records(summary: pd.DataFrame, erasure: pd.DataFrame) -> dict:
    """Return the notebook's records: the curve ({model: {ε: mean}}, ∞ as "inf"), its lower and upper bounds,
    and the erasure rows (no user ids)."""
    def by_model(column):
        return {m: {("inf" if math.isinf(e) else f"{e:g}"): float(v) for e, v in zip(g["epsilon"], g[column])}
                for m, g in summary.groupby("model", sort=False)}

    return {"curve": by_model("mean"), "curve_lower": by_model("lower"), "curve_upper": by_model("upper"),
            "erasure": erasure[["model", "users_forgotten", "max_abs_difference", "same_order", "speedup"]]
            .to_dict("records")}
