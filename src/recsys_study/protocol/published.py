"""Microsoft Recommenders' published ml-100k protocol, reproduced exactly, with the peers re-run on its splits.

The protocol of their benchmark table (``examples/06_benchmarks/movielens.ipynb``): MovieLens
100k; ``python_stratified_split(df, ratio=0.75, min_rating=1, filter_by="item", seed=42)``:
each *item*'s ratings are shuffled and round(0.75·n) of a film's n ratings go to training (a user
may keep a single test rating; a film rated once or twice stays wholly in training); every model is fitted on all training ratings and returns a top-10 list per
training user with the films that user rated in training removed; every held-out rating is
relevant, films never seen in training included (no model can recommend them, but they count in
the denominators). Metrics: ``map`` (AP over all of a user's relevant films: our MAP-IR@10),
``ndcg_at_k``, ``precision_at_k``, ``recall_at_k`` at k = 10, means over test users; their newer
tables add ``map_at_k`` (AP normalised by min(|R_u|, k): our MAP@10).

Splits (:data:`PUBLISHED_SPLITS`): ``"2021"`` is the realisation behind the published table (the
splitter as it was before July 2022, seed 42); ``"1.2.1:<seed>"`` are ``recommenders`` 1.2.1's
realisations at ten seeds (42 and 1–9), the variation a new split brings. See
:func:`recsys_study.split.stratified_labels` for both, reproduced row for row.

Peers re-run on those very splits (``make peers``: Cornac's BiVAE and BPR with the published
parameters, and Microsoft Recommenders' SAR) are stored as their top-10 lists in
``experiments/peers/ml100k_published.parquet`` (with versions, parameters and seeds in the
``.json`` beside it), so this module scores them with the same code as our models, and
notebooks set them beside ours without any peer installed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_study.constants import ITEM, USER
from recsys_study.evaluation.stats import holm, paired_test
from recsys_study.paths import project_root
from recsys_study.parallel import map_processes
from recsys_study.protocol.core import METRIC, MODEL, VALUE, Protocol, build_context, compare, model_label, score_lists
from recsys_study.protocol.relevance import ProtocolError, RelevancePolicy
from recsys_study.split import Split, stratified_split
from recsys_study.summary import mean_ci

SPLIT = "split"
REALISATION_2021 = "2021"
SEEDS_121 = (42, 1, 2, 3, 4, 5, 6, 7, 8, 9)
PUBLISHED_SPLITS = (REALISATION_2021, *(f"1.2.1:{s}" for s in SEEDS_121))
#: The published table's four columns, named as ours (their ``map`` is our MAP-IR@10)
PUBLISHED_METRICS = ("MAP-IR@10", "NDCG@10", "Precision@10", "Recall@10")
#: their name of each of our labels
THEIR_NAMES = {"MAP-IR@10": "map", "MAP@10": "map_at_k", "NDCG@10": "ndcg_at_k", "Precision@10": "precision_at_k",
               "Recall@10": "recall_at_k"}
PEER_LISTS = Path("experiments") / "peers" / "ml100k_published.parquet"
#: the peers' names as the published table spells them
PEER_NAMES = {"bivae": "BiVAE", "bpr": "BPR", "sar": "SAR"}


def published_protocol() -> Protocol:
    """Return the published table's protocol: k = 10, every held-out rating relevant, unseen films kept."""
    return Protocol(k=10, metrics=("map_ir", "ndcg", "precision", "recall", "map"),
                    relevance=RelevancePolicy(None, keep_cold_items=True))


def published_split(interactions: pd.DataFrame, split_id: str) -> Split:
    """Return the split named ``split_id`` (``"2021"`` or ``"1.2.1:<seed>"``) of the ml-100k ratings."""
    if split_id == REALISATION_2021:
        return stratified_split(interactions, ratio=0.75, filter_by=ITEM, seed=42, realisation="2021")
    kind, _, seed = str(split_id).partition(":")
    if kind != "1.2.1" or not seed.lstrip("-").isdigit():
        raise ProtocolError(f"unknown published split {split_id!r}; use '2021' or '1.2.1:<seed>', e.g. '1.2.1:42'.")
    return stratified_split(interactions, ratio=0.75, filter_by=ITEM, seed=int(seed), realisation="1.2.1")


#: Every row of Microsoft Recommenders' 2021 ml-100k table (run of 2021-04-02), in their column order
#: map, ndcg_at_k, precision_at_k, recall_at_k (= MAP-IR@10, NDCG@10, Precision@10, Recall@10 here). ALS,
#: FastAI and SVD are rating models there; ``published_ml100k`` shows the five ranking models.
PUBLISHED_2021_ROWS = {
    "ALS": (0.004732, 0.044239, 0.048462, 0.017796), "BiVAE": (0.146126, 0.475077, 0.411771, 0.219145),
    "BPR": (0.132478, 0.441997, 0.388229, 0.212522), "FastAI": (0.025503, 0.147866, 0.130329, 0.053824),
    "LightGCN": (0.088526, 0.419846, 0.379626, 0.144336), "NCF": (0.107720, 0.396118, 0.347296, 0.180775),
    "SAR": (0.110591, 0.382461, 0.330753, 0.176385), "SVD": (0.012873, 0.095930, 0.091198, 0.032783),
}


def published_ml100k(run: str = "2021") -> pd.DataFrame:
    """Return Microsoft Recommenders' published ml-100k rows (MAP, nDCG@10, Precision@10, Recall@10).

    ``run="2021"``: the table of their README ("Algorithm Comparison", run of 2021-04-02): BiVAE,
    BPR, SAR, LightGCN and NCF. Typed in from the published table, not computed here; the column
    ``MAP-IR@10`` is their ``map``. Re-run here on the ``"2021"`` realisation, Cornac's BPR gives the
    BPR row to all six digits. The SAR row is not from the per-item split: their SAR on the same
    realisation split *per user* reproduces it to six digits (on the per-item split their SAR gives
    0.113028 / 0.388321 / 0.333828 / 0.183179, the row an earlier version of the benchmark notebook
    printed), so it is shown but not used to judge the per-item comparison's SAR.
    """
    if run != "2021":
        raise ProtocolError(f"only the 2021 run's rows are stored, got run={run!r}.")
    rows = {name: PUBLISHED_2021_ROWS[name] for name in ("BiVAE", "BPR", "SAR", "LightGCN", "NCF")}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(PUBLISHED_METRICS)).rename_axis(
        "published (Microsoft Recommenders, 2021 run)")


def load_peer_lists(path: str | Path | None = None) -> tuple[pd.DataFrame | None, dict]:
    """Return (the peers' top-10 lists, their metadata) from ``experiments/peers``; (None, {}) if absent."""
    path = Path(path) if path is not None else project_root() / PEER_LISTS
    if not path.exists():
        return None, {}
    lists = pd.read_parquet(path)
    missing = {MODEL, SPLIT, USER, ITEM, "rank"} - set(lists.columns)
    if missing:
        raise ProtocolError(f"{path} lacks the columns {sorted(missing)}; re-derive it with `make peers`.")
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return lists, meta


def _one_split(interactions, items, specs, split_id, protocol, peers):
    split = published_split(interactions, split_id)
    comparison = compare(specs, split, protocol=protocol, items=items, log=False, keep_models=False)
    per_user = [comparison.per_user]
    summary = [comparison.summary.assign(source="ours")]
    if peers is not None:
        ctx = build_context(split, protocol, items=items)
        for model, recs in peers[peers[SPLIT] == split_id].groupby(MODEL, sort=False):
            label = f"{PEER_NAMES.get(model, model)} (re-run)"
            frame, scores = score_lists(recs[[USER, ITEM, "score", "rank"]].assign(**{MODEL: label}), ctx)
            per_user.append(frame.assign(**{MODEL: label}))
            summary.append(pd.DataFrame([{MODEL: label, **scores, "source": "peer"}]))
    tag = {SPLIT: split_id}
    return (pd.concat(per_user, ignore_index=True).assign(**tag),
            pd.concat(summary, ignore_index=True).assign(**tag), dict(split.dropped))


@dataclass
class PublishedStudy:
    """Our models and the re-run peers on the published protocol's splits, beside the published rows."""

    per_user: pd.DataFrame   # split, model, user, metric, value
    summary: pd.DataFrame    # split, model, source (ours | peer), one column per metric
    published: pd.DataFrame
    peer_meta: dict
    wall_time_s: float

    def table(self, metrics: Sequence[str] = PUBLISHED_METRICS, *, alpha: float = 0.05) -> pd.DataFrame:
        """Return per model: the 2021 realisation's value and the mean and t-interval over the 1.2.1 seeds."""
        rows = {}
        for model, g in self.summary.groupby(MODEL, sort=False):
            rec = {("source", ""): g["source"].iloc[0]}
            seeds = g[g[SPLIT] != REALISATION_2021]
            for label in metrics:
                on_2021 = g.loc[g[SPLIT] == REALISATION_2021, label]
                rec[(label, "2021")] = float(on_2021.iloc[0]) if len(on_2021) else np.nan
                mean, lower, upper = mean_ci(seeds[label], alpha=alpha)
                rec[(label, "mean")], rec[(label, "lower")], rec[(label, "upper")] = mean, lower, upper
            rec[("n_seeds", "")] = int(seeds[SPLIT].nunique())
            rows[model] = rec
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.columns = pd.MultiIndex.from_tuples(out.columns, names=["metric", "stat"])
        return out.rename_axis(MODEL)

    def records(self) -> dict:
        """Return the study's table as ``{"model|metric|stat": value}`` (finite values only) for the index."""
        table = self.table().drop(columns=["source", "n_seeds"], level=0)
        stacked = table.stack(level=["metric", "stat"], future_stack=True)
        return {"published_table": {f"{m}|{metric}|{stat}": float(v) for (m, metric, stat), v in stacked.items()
                                    if np.isfinite(v)}}

    def side_by_side(self, metrics: Sequence[str] = PUBLISHED_METRICS, *, digits: int = 4) -> pd.DataFrame:
        """Return one text row per model (ours, re-run peers, published rows): the 2021 value and the seeds' CI."""
        table = self.table(metrics)
        order = table[(metrics[1] if len(metrics) > 1 else metrics[0], "2021")].sort_values(ascending=False).index
        rows = []
        for model in order:
            row = {"model": model, "source": table.loc[model, ("source", "")]}
            for label in metrics:
                mean, lower, upper = (table.loc[model, (label, s)] for s in ("mean", "lower", "upper"))
                ci = f" [{lower:.{digits}f}, {upper:.{digits}f}]" if np.isfinite(upper) else ""
                row[f"{label} 2021"] = f"{table.loc[model, (label, '2021')]:.{digits}f}"
                row[f"{label} seeds"] = f"{mean:.{digits}f}{ci}" if np.isfinite(mean) else "–"
            rows.append(row)
        for model, values in self.published.iterrows():
            rows.append({"model": f"{model} (published)", "source": "published",
                         **{f"{label} 2021": f"{values[label]:.{digits}f}" for label in metrics if label in values},
                         **{f"{label} seeds": "–" for label in metrics}})
        return pd.DataFrame(rows).set_index("model")

    def gaps(self, pairs: Mapping[str, str], metric: str = "NDCG@10") -> pd.DataFrame:
        """Return ours − peer of ``metric`` per pair (our model -> peer label), on the splits both were scored on."""
        rows = []
        for ours, peer in pairs.items():
            a = self.summary[self.summary[MODEL] == ours].set_index(SPLIT)[metric]
            b = self.summary[self.summary[MODEL] == peer].set_index(SPLIT)[metric]
            shared = a.index.intersection(b.index)
            if len(shared) == 0:
                continue
            rows.append({"ours": ours, "peer": peer, "splits": len(shared), f"{metric} ours": a.loc[shared].mean(),
                         f"{metric} peer": b.loc[shared].mean(), "difference": (a.loc[shared] - b.loc[shared]).mean()})
        return pd.DataFrame(rows)

    def versus(self, model: str, rivals: Sequence[str], metrics: Sequence[str] = PUBLISHED_METRICS,
               *, alpha: float = 0.05) -> pd.DataFrame:
        """Return paired per-user tests of ``model`` against each rival on every metric, Holm-adjusted.

        Units are (split, user) pairs on the splits both were scored on (pooled over seeds and the 2021
        realisation); Wilcoxon signed-rank on d = model − rival; Holm over all rival x metric tests.
        """
        rows = []
        for rival in rivals:
            for label in metrics:
                sub = self.per_user[self.per_user[METRIC] == label]
                a = sub[sub[MODEL] == model].set_index([SPLIT, USER])[VALUE]
                b = sub[sub[MODEL] == rival].set_index([SPLIT, USER])[VALUE]
                shared = a.index.intersection(b.index)
                if len(shared) == 0:
                    continue
                test = paired_test(a.loc[shared], b.loc[shared])
                splits = shared.get_level_values(SPLIT).unique()
                rows.append({"model": model, "rival": rival, "metric": label, "splits": len(splits),
                             "n": test["n"], "mean_diff": test["mean_diff"], "p_value": test["p_value"]})
        out = pd.DataFrame(rows)
        if out.empty:
            return out
        out["p_adjusted"] = holm(out["p_value"].to_numpy())
        out["significant"] = out["p_adjusted"] < alpha
        return out

    def verdicts(self, model: str, *, alpha: float = 0.05) -> list[str]:
        """Return sentences from the numbers: ``model`` against the best published row and the re-run peers."""
        table, published = self.table(), self.published
        text = []
        ahead_2021, ahead_ci = [], []
        for label in PUBLISHED_METRICS:
            top, who = published[label].max(), published[label].idxmax()
            on_2021, lower = table.loc[model, (label, "2021")], table.loc[model, (label, "lower")]
            ahead_2021.append(on_2021 > top)
            ahead_ci.append(np.isfinite(lower) and lower > top)
            text.append(f"{label}: {on_2021:.4f} on the 2021 realisation against the best published {top:.4f} "
                        f"({who}); over {int(table.loc[model, ('n_seeds', '')])} seeds mean "
                        f"{table.loc[model, (label, 'mean')]:.4f}, 95 % CI [{lower:.4f}, "
                        f"{table.loc[model, (label, 'upper')]:.4f}]")
        head = (f"{model} is ahead of the best published row on {sum(ahead_2021)} of {len(PUBLISHED_METRICS)} metrics "
                f"on the 2021 realisation, and its 95 % lower bound over the seeds clears it on {sum(ahead_ci)} of "
                f"{len(PUBLISHED_METRICS)}")
        rivals = [m for m in table.index if table.loc[m, ("source", "")] == "peer"]
        lines = [head + ". " + "; ".join(text) + "."]
        if rivals:
            tests = self.versus(model, rivals, alpha=alpha)
            for rival, g in tests.groupby("rival", sort=False):
                won = g[(g["mean_diff"] > 0) & g["significant"]]
                lost = g[(g["mean_diff"] < 0) & g["significant"]]
                detail = ", ".join(f"{r.metric} {r.mean_diff:+.4f} (p_Holm {_p(r.p_adjusted)})" for r in g.itertuples())
                lines.append(f"Against {rival} on the same {int(g['splits'].max())} splits, paired per user: ahead "
                             f"on {len(won)}, behind on {len(lost)} of {len(g)} metrics at Holm-adjusted p < {alpha} "
                             f"({detail}).")
        else:
            lines.append("No re-run peer lists were found (experiments/peers/ml100k_published.parquet): "
                         "`make peers` re-derives them.")
        return lines


def _p(p: float) -> str:
    return "< 1e-4" if p < 1e-4 else f"{p:.3g}"


def validation_order(context: str, among: Sequence[str], *, path: str | Path | None = None,
                     metric: str = "NDCG@10") -> list[str]:
    """Return ``among`` sorted by validation ``metric`` in the tuned file, best first (never a test number)."""
    from recsys_study.protocol.tuning import TunedFileError, load_tuned, tuned_entries

    load_tuned(context, path=path, models=list(among))  # the file is fresh and has every model, or this raises
    entries = tuned_entries(context, path=path)
    scores = {m: (entries[m].get("valid") or {}).get(metric) for m in among}
    missing = [m for m, v in scores.items() if v is None]
    if missing:
        raise TunedFileError(f"the tuned file has no validation {metric} for {missing} in {context!r}; run `make tune`.")
    return sorted(scores, key=scores.get, reverse=True)


def run_published(interactions: pd.DataFrame, specs: Sequence[Mapping], *, items: pd.DataFrame | None = None,
                  splits: Sequence[str] = PUBLISHED_SPLITS, peers: pd.DataFrame | None | str = "stored",
                  n_jobs: int = 1) -> PublishedStudy:
    """Fit ``specs`` (tuned parameters, no search) on every published split and score them with the peers' lists.

    ``peers="stored"`` reads :data:`PEER_LISTS` (absent: ours and the published rows only);
    ``n_jobs`` > 1 runs the splits in that many fresh processes (the results are the same).
    """
    start = time.perf_counter()
    meta: dict = {}
    if isinstance(peers, str):
        peers, meta = load_peer_lists()
    specs = [dict(s) for s in specs]
    labels = [model_label(s) for s in specs]
    if len(set(labels)) != len(labels):
        raise ProtocolError(f"two specs share a label: {labels}; give each a 'label'.")
    protocol = published_protocol()
    args = [(interactions, items, specs, split_id, protocol, peers) for split_id in splits]
    results = map_processes(_one_split, args, n_jobs=n_jobs, desc="published splits")
    per_user = pd.concat([r[0] for r in results], ignore_index=True)
    summary = pd.concat([r[1] for r in results], ignore_index=True)
    return PublishedStudy(per_user=per_user, summary=summary, published=published_ml100k(), peer_meta=meta,
                          wall_time_s=time.perf_counter() - start)
