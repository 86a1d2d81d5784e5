"""Re-run the published ml-100k winners (Cornac BiVAE and BPR, Microsoft Recommenders' SAR) on OUR splits.

Microsoft Recommenders' benchmark table (ml-100k, their notebook
``examples/06_benchmarks/movielens.ipynb``) splits with ``python_stratified_split(df, ratio=0.75,
min_rating=1, filter_by="item", seed=42)``, fits every model on the training part and scores
top-10 lists (training items removed) against every test rating. This script builds those splits
with our splitter, ``recsys_study.split.stratified_labels``, on ml-100k in its file order (that of
GroupLens' ``u.data``, which their loader reads):

- ``"2021"``: the realisation of the splitter behind their table run of 2021-04-02, seed 42;
- ``"1.2.1:<seed>"``: recommenders 1.2.1's realisation, seeds 42, 1, 2, ..., 9;

and fits, in the peer venv ``.venv-peers`` (``make peers-venv``), through
``benchmarks/peers/published_peers_run.py``: SAR and BPR on all 11 splits, BiVAE (5–16 min a fit
on two cores) on the 2021 split and 1.2.1 seeds 42, 1, 2, 3, 4. The parameters are the notebook's
(see the runner). Outputs, committed:

``experiments/peers/ml100k_published.parquet``
    one row per listed item: ``model`` ("sar", "bpr", "bivae"), ``split`` ("2021", "1.2.1:42",
    ...), ``user``, ``item`` (int64, as ``load_movielens("ml-100k").interactions``), ``score`` (the
    model's), ``rank`` (1..10), for every training user of the split.
``experiments/peers/ml100k_published.json``
    versions (torch build included), parameters, split specs (with a SHA-256 of our label array,
    so a reader can check it rebuilt the same split), each fit's wall times and Microsoft
    Recommenders' own metrics of its lists on that split (``map``, ``map_at_k``, ``ndcg_at_k``,
    ``precision_at_k``, ``recall_at_k``), the published rows, date and the command.

Resumable: a fit whose (model, split) is already in both files is skipped, and every finished fit
is merged into them at once, so an interrupted run goes on where it stopped::

    make peers        # = .venv/bin/python benchmarks/peers/published_peers.py --peer-python .venv-peers/bin/python
    .venv/bin/python benchmarks/peers/published_peers.py --models sar bpr   # the quick fits only
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the one peer launcher
from _peer import run_peer  # noqa: E402

from recsys_study.constants import ITEM, RATING, TIMESTAMP, USER  # noqa: E402
from recsys_study.data import load_movielens
from recsys_study.protocol.published import PUBLISHED_2021_ROWS
from recsys_study.split import stratified_labels

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "benchmarks" / "peers" / "published_peers_run.py"
DEFAULT_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
OUT_DIR = ROOT / "experiments" / "peers"
RECS_PATH, META_PATH = OUT_DIR / "ml100k_published.parquet", OUT_DIR / "ml100k_published.json"
RAW_INTER = ROOT / "data" / "raw" / "ml-100k" / "ml-100k.inter"
RATIO, FILTER_BY, MIN_RATING = 0.75, "item", 1
SEEDS_121 = (42, 1, 2, 3, 4, 5, 6, 7, 8, 9)
SPLITS = {"2021": ("2021", 42), **{f"1.2.1:{s}": ("1.2.1", s) for s in SEEDS_121}}
MODEL_SPLITS = {  # the fits, in the order they run (BiVAE, the slow one, last)
    "sar": list(SPLITS),
    "bpr": list(SPLITS),
    "bivae": ["2021", "1.2.1:42", "1.2.1:1", "1.2.1:2", "1.2.1:3", "1.2.1:4"],
}
MSR_COLS = {USER: "userID", ITEM: "itemID", RATING: "rating", TIMESTAMP: "timestamp"}

#: Their table's rows (MAP, nDCG@10, Precision@10, Recall@10) of the 2021-04-02 run: the README's
#: "Algorithm Comparison" table of recommenders-team/recommenders (then microsoft/recommenders).
PUBLISHED_2021 = {name.lower(): row for name, row in PUBLISHED_2021_ROWS.items()}  # the package's one copy
PUBLISHED_KEYS = ("map", "ndcg_at_k", "precision_at_k", "recall_at_k")
#: What reproduces which published row on our splits (checked by this script's fits and by hand)
PUBLISHED_NOTES = [
    "bpr on split 2021 reproduces the table's BPR row to all 6 digits (Cornac's BPR is deterministic on one "
    "thread given the seed and the training rows' order, which this script writes as their splitter returns it).",
    "The table's SAR row (0.110591, 0.382461, 0.330753, 0.176385) is not the benchmark notebook's: it is SAR's "
    "quick-start set-up, a split stratified by USER (python_stratified_split's default filter_by), reproduced to "
    "all 6 digits by MSR's SAR on stratified_labels(filter_by='user', seed=42, realisation='2021'). On the "
    "benchmark's item-stratified 2021 split, sar gives 0.113028, 0.388321, 0.333828, 0.183179: the SAR row "
    "printed by the benchmark notebook itself in an earlier version (recommenders-team/recommenders, "
    "examples/06_benchmarks/movielens.ipynb at be8a5dbf67d81ab5ff7270d4420bd62a00849c72), to all 6 digits.",
    "BiVAE (torch, GPU in their run), LightGCN, NCF, ALS and FastAI are not deterministic across machines: "
    "their rows are not expected to reproduce exactly.",
]
#: A later run of the benchmark notebook (recommenders 1.2.x, metrics renamed: its MAP@k column is
#: ``map_at_k``), on the 1.2.1 splitter at seed 42: map_at_k, ndcg_at_k, precision_at_k, recall_at_k
#: as the notebook printed them. sar and bpr on split "1.2.1:42" reproduce their rows to all 6 digits.
LATER_RUN_121_SEED42 = {
    "als": (0.012740, 0.037863, 0.042842, 0.013880),
    "sar": (0.258452, 0.393819, 0.340615, 0.185377),
    "ncf": (0.252473, 0.384246, 0.338176, 0.176739),
    "embdotbias": (0.053549, 0.117810, 0.104242, 0.042450),
    "bpr": (0.297456, 0.444991, 0.388653, 0.216555),
    "bivae": (0.329962, 0.471722, 0.411347, 0.224300),
    "lightgcn": (0.276277, 0.417327, 0.361824, 0.196233),
}
LATER_KEYS = ("map_at_k", "ndcg_at_k", "precision_at_k", "recall_at_k")
COMMAND = ".venv/bin/python benchmarks/peers/published_peers.py --peer-python .venv-peers/bin/python  (make peers)"


def load_in_file_order() -> pd.DataFrame:
    """Return ml-100k's interactions, checked to be in the file order of ml-100k.inter (= u.data)."""
    df = load_movielens("ml-100k").interactions
    raw = pd.read_csv(RAW_INTER, sep="\t")
    raw.columns = [USER, ITEM, RATING, TIMESTAMP]
    for col in (USER, ITEM, RATING, TIMESTAMP):
        if not np.array_equal(df[col].to_numpy(), raw[col].to_numpy().astype(df[col].dtype)):
            raise SystemExit(f"load_movielens('ml-100k') is not in the file order of {RAW_INTER} ({col} differs)")
    return df


def msr_train_order(df: pd.DataFrame, labels: np.ndarray, *, realisation: str, seed: int,
                    filter_by: str = FILTER_BY) -> tuple[np.ndarray, np.ndarray]:
    """Return the row positions of the training and test parts in the order their splitter returns them.

    The order matters to Cornac (its user and item indices follow first appearance). recommenders
    1.2.1 sorts by (group, per-row uniform key) and keeps that order; the 2021 splitter walks the
    groups in sorted order and returns each group's shuffled rows (a ``RandomState(seed)``
    permutation of the group's rows in frame order). Needs ``min_rating=1`` (all rows kept).
    """
    if (labels < 0).any():
        raise ValueError("msr_train_order needs every row kept (min_rating=1)")
    group = df[filter_by].to_numpy()
    if realisation == "1.2.1":
        key = np.random.RandomState(seed).rand(len(df))
        order = np.lexsort((key, group))
    else:
        by_group = np.argsort(group, kind="stable")
        sorted_group = group[by_group]
        starts = np.r_[0, np.flatnonzero(sorted_group[1:] != sorted_group[:-1]) + 1, len(df)]
        order = np.concatenate([by_group[a:b][np.random.RandomState(seed).permutation(b - a)]
                                for a, b in zip(starts[:-1], starts[1:])])
    return order[labels[order] == 0], order[labels[order] == 2]


def build_splits(df: pd.DataFrame, workdir: Path) -> dict:
    """Write every split's parts as parquet (their column names, their row order); return the specs."""
    specs = {}
    for name, (realisation, seed) in SPLITS.items():
        labels = stratified_labels(df, ratio=RATIO, min_rating=MIN_RATING, filter_by=FILTER_BY, seed=seed,
                                   realisation=realisation)
        train_rows, test_rows = msr_train_order(df, labels, realisation=realisation, seed=seed)
        paths = {part: workdir / f"{name.replace(':', '_')}_{part}.parquet" for part in ("train", "test")}
        for part, rows in (("train", train_rows), ("test", test_rows)):
            df.iloc[rows][[USER, ITEM, RATING, TIMESTAMP]].rename(columns=MSR_COLS).to_parquet(paths[part],
                                                                                               index=False)
        specs[name] = {
            "function": "recsys_study.split.stratified_labels", "realisation": realisation, "seed": seed,
            "ratio": RATIO, "min_rating": MIN_RATING, "filter_by": FILTER_BY,
            "n_train": int((labels == 0).sum()), "n_test": int((labels == 2).sum()),
            "labels_sha256": hashlib.sha256(labels.astype(np.int8).tobytes()).hexdigest(),
            "paths": {k: str(v) for k, v in paths.items()},
        }
    return specs


def read_outputs() -> tuple[pd.DataFrame | None, dict | None]:
    if RECS_PATH.exists() and META_PATH.exists():
        return pd.read_parquet(RECS_PATH), json.loads(META_PATH.read_text())
    return None, None


def done_fits(recs: pd.DataFrame | None, meta: dict | None) -> set[tuple[str, str]]:
    """(model, split) pairs present in both files."""
    if recs is None or meta is None:
        return set()
    in_recs = set(map(tuple, recs[["model", "split"]].drop_duplicates().to_numpy().tolist()))
    return in_recs & {(f["model"], f["split"]) for f in meta.get("fits", [])}


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def merge_fit(recs_new: pd.DataFrame, fit: dict, specs: dict, command: str) -> None:
    """Add one fit's lists and record to the two output files (replacing an older record of the same fit)."""
    recs, meta = read_outputs()
    key = (fit["model"], fit["split"])
    recs_new = recs_new.assign(model=fit["model"], split=fit["split"])[["model", "split", "user", "item", "score",
                                                                        "rank"]]
    if recs is not None:
        recs = recs[~((recs["model"] == key[0]) & (recs["split"] == key[1]))]
        recs_new = pd.concat([recs, recs_new], ignore_index=True)
    order = {m: i for i, m in enumerate(MODEL_SPLITS)}
    split_order = {s: i for i, s in enumerate(SPLITS)}
    recs_new = recs_new.sort_values(["model", "split", "user", "rank"],
                                    key=lambda c: c.map(order) if c.name == "model"
                                    else c.map(split_order) if c.name == "split" else c,
                                    kind="stable").reset_index(drop=True)
    recs_new = recs_new.astype({"user": "int64", "item": "int64", "score": "float64", "rank": "int64"})
    fits = [f for f in (meta or {}).get("fits", []) if (f["model"], f["split"]) != key] + [fit]
    fits.sort(key=lambda f: (order[f["model"]], split_order[f["split"]]))
    meta = build_meta(fits, specs, command)
    _atomic_write(RECS_PATH, lambda p: recs_new.to_parquet(p, index=False, compression="zstd"))
    _atomic_write(META_PATH, lambda p: p.write_text(json.dumps(meta, indent=1) + "\n"))


def summarise(fits: list[dict]) -> dict:
    """Mean and standard deviation of each metric per model, over the 1.2.1 seeds it ran on; the 2021 fit apart."""
    out = {}
    for model in MODEL_SPLITS:
        mine = [f for f in fits if f["model"] == model]
        seeds = [f for f in mine if f["split"].startswith("1.2.1:")]
        entry = {}
        if seeds:
            table = pd.DataFrame([f["metrics"] for f in seeds])
            entry["1.2.1"] = {"n_seeds": len(seeds), "seeds": [int(f["split"].split(":")[1]) for f in seeds],
                              "mean": table.mean().to_dict(), "std": table.std(ddof=1).fillna(0.0).to_dict(),
                              "fit_s_mean": float(np.mean([f["fit_s"] for f in seeds]))}
        old = [f for f in mine if f["split"] == "2021"]
        if old:
            entry["2021"] = old[0]["metrics"]
            if model in PUBLISHED_2021:
                entry["2021_minus_published"] = {k: old[0]["metrics"][k] - v
                                                 for k, v in zip(PUBLISHED_KEYS, PUBLISHED_2021[model])}
        s42 = [f for f in mine if f["split"] == "1.2.1:42"]
        if s42 and model in LATER_RUN_121_SEED42:
            entry["1.2.1:42_minus_later_run"] = {k: s42[0]["metrics"][k] - v
                                                 for k, v in zip(LATER_KEYS, LATER_RUN_121_SEED42[model])}
        if entry:
            out[model] = entry
    return out


def build_meta(fits: list[dict], specs: dict, command: str) -> dict:
    versions = fits[-1]["versions"] if fits else {}
    return {
        "description": "Microsoft Recommenders' published ml-100k winners re-run on our splits "
                       "(benchmarks/peers/published_peers.py); top-10 lists in ml100k_published.parquet.",
        "command": COMMAND,
        "last_invocation": command,
        "rederive": "make peers-venv && make peers  (resumable: fits present in both files are skipped; "
                    "delete both files to re-run everything)",
        "updated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data": "load_movielens('ml-100k').interactions in the file order of data/raw/ml-100k/ml-100k.inter "
                "(GroupLens u.data order)",
        "protocol": {"k": 10, "remove_seen": True, "relevant": "every test rating (items unseen in training "
                     "included)", "lists_for": "every training user", "train_on": "every training rating",
                     "metrics": "recommenders.evaluation.python_evaluation (1.2.1): map, map_at_k, ndcg_at_k, "
                                "precision_at_k, recall_at_k, relevancy_method='top_k', k=10",
                     "threads": "1 (torch.set_num_threads(1); OPENBLAS/OMP/MKL_NUM_THREADS=1)"},
        "versions": versions,
        "params": {f["model"]: f["params"] for f in fits},
        "model_splits": MODEL_SPLITS,
        "splits": {name: {k: v for k, v in spec.items() if k != "paths"} for name, spec in specs.items()},
        "published_2021": {
            "source": "recommenders-team/recommenders (formerly microsoft/recommenders), README.md, "
                      "'Algorithm Comparison' table (ml-100k, run of 2021-04-02)",
            "columns": list(PUBLISHED_KEYS),
            "commit": "005dcd06bd32ab996c7e4c9892ebbfcab80adb1a (a commit whose README shows this table)",
            "rows": {m: dict(zip(PUBLISHED_KEYS, v)) for m, v in PUBLISHED_2021.items()},
            "notes": PUBLISHED_NOTES,
        },
        "later_run_121_seed42": {
            "source": "the benchmark notebook's printed results after its metrics were renamed (MAP@k column = "
                      "map_at_k), recommenders 1.2.x, split python_stratified_split(..., seed=42) of 1.2.x",
            "columns": list(LATER_KEYS),
            "rows": {m: dict(zip(LATER_KEYS, v)) for m, v in LATER_RUN_121_SEED42.items()},
        },
        "summary": summarise(fits),
        "fits": fits,
    }


def run_fit(python: Path, model: str, split: str, spec: dict, workdir: Path) -> tuple[pd.DataFrame, dict]:
    out_recs, out_json = workdir / f"{model}_{split.replace(':', '_')}.parquet", workdir / f"{model}_{split}.json"
    start = time.perf_counter()
    run_peer(python, RUNNER, ["--model", model, "--split", split, "--train", spec["paths"]["train"],
                              "--test", spec["paths"]["test"], "--out-recs", out_recs, "--out-json", out_json],
             make_target="peers-venv", why="Cornac and recommenders 1.2.1 need pandas < 3 and torch", echo=False)
    fit = json.loads(out_json.read_text())
    fit["process_s"] = time.perf_counter() - start
    return pd.read_parquet(out_recs), fit


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-python", type=Path, default=DEFAULT_PYTHON,
                        help="python of the peer venv (default: .venv-peers/bin/python)")
    parser.add_argument("--models", nargs="*", default=list(MODEL_SPLITS), choices=list(MODEL_SPLITS))
    parser.add_argument("--splits", nargs="*", default=None, help="only these splits (default: each model's)")
    parser.add_argument("--redo", action="store_true", help="re-run fits already in the outputs")
    args = parser.parse_args(argv)
    if not args.peer_python.exists():
        raise SystemExit(f"The peer venv is missing ({args.peer_python} not found): `make peers-venv`.")
    command = "python benchmarks/peers/published_peers.py " + " ".join(argv if argv is not None else sys.argv[1:])

    df = load_in_file_order()
    recs, meta = read_outputs()
    done = set() if args.redo else done_fits(recs, meta)
    todo = [(m, s) for m in args.models for s in MODEL_SPLITS[m]
            if (args.splits is None or s in args.splits) and (m, s) not in done]
    print(f"{len(done)} fits already in {META_PATH.relative_to(ROOT)}; {len(todo)} to run: {todo}", flush=True)
    with tempfile.TemporaryDirectory(prefix="published-peers-") as tmp:
        specs = build_splits(df, Path(tmp))
        if meta is not None:  # a rebuilt split must be the one the recorded fits ran on
            for name, spec in meta.get("splits", {}).items():
                if name in specs and spec["labels_sha256"] != specs[name]["labels_sha256"]:
                    raise SystemExit(f"split {name} differs from the recorded one: delete the outputs or use --redo")
        for model, split in todo:
            recs_new, fit = run_fit(args.peer_python, model, split, specs[split], Path(tmp))
            merge_fit(recs_new, fit, specs, command)
        recs, meta = read_outputs()
        if meta is None:
            return
        if not todo:  # nothing ran: rewrite the record with this script's current notes and summary
            fresh = build_meta(meta["fits"], specs, meta.get("last_invocation", command))
            fresh["updated"] = meta["updated"]
            _atomic_write(META_PATH, lambda p: p.write_text(json.dumps(fresh, indent=1) + "\n"))
            meta = fresh
    print(json.dumps(meta["summary"], indent=1))


if __name__ == "__main__":
    main()
