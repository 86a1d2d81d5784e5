"""Conformance with Microsoft Recommenders (MSR): their splitter and metrics against ours, on ml-100k.

Their published ml-100k table splits with ``python_stratified_split(df, ratio=0.75, min_rating=1,
filter_by="item", seed=42)`` and scores top-10 lists with ``map``, ``ndcg_at_k``, ``precision_at_k``
and ``recall_at_k`` (newer tables: ``map_at_k``). ``recommenders`` 1.2.1 pins pandas < 3, so it runs
in its own venv, ``.venv-peers`` (``make peers-venv``); this script writes ml-100k (file order, as
their loader reads ``u.data``) as parquet to a temporary directory and runs
``benchmarks/peers/msr_conformance_run.py`` there. Checks (each must pass, or the script exits 1):

(a) ``recsys_study.split.stratified_labels(..., realisation="1.2.1")`` equals recommenders 1.2.1's
    ``python_stratified_split`` row for row at seeds 42 and 1, ``filter_by`` item and user; and the
    row order of their training and test parts (which fixes Cornac's indices, so
    ``benchmarks/peers/published_peers.py`` writes its parts in that order) is the one
    ``published_peers.msr_train_order`` computes.
(b) ``realisation="2021"`` equals the splitter of recommenders 1.1.0 (the per-group shuffle that made
    their published table run of 2021-04-02; unchanged up to 1.1.1) row for row at seed 42, item and
    user, order included. That release is installed for the run only, ``pip install --no-deps
    --target`` into the temporary directory (Python 3.8 wheel metadata; the splitter is pure
    pandas), and put first on ``PYTHONPATH`` of the peer process: nothing of it enters the repository.
(c) Our metrics equal theirs to 1e-12 on the same top-10 lists against the whole test part of the
    1.2.1 seed-42 split (every test rating relevant, films unseen in training included): ``map`` =
    our ``map_ir_at_k`` (AP over all relevant items), ``map_at_k`` = our ``map_at_k`` (AP over
    min(|R_u|, 10)), ``ndcg_at_k``, ``precision_at_k``, ``recall_at_k``. Lists: our EASE, their
    SAR (benchmark-notebook parameters) and uniformly random unseen films (seed 42). Their metrics
    re-sort each list by its ``prediction``, so they get ``11 - rank`` (no ties).
(d) Timing: their splitter and ours on ml-100k (item, seed 42), median of 5 runs after a warm-up,
    each in its own process (theirs in the peer venv), one thread.
(e) The committed peer lists (``experiments/peers/ml100k_published.parquet``, ``make peers``): every
    recorded split's labels are rebuilt by our splitter (SHA-256 as recorded), and our metrics of each
    stored list equal the MSR metrics recorded for it in the ``.json`` beside it, to 1e-12.

    python benchmarks/msr_conformance.py [--peer-python .venv-peers/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from _peer import run_peer  # noqa: E402
from _report import add_section  # noqa: E402
from published_peers import (  # noqa: E402
    META_PATH,
    MSR_COLS,
    RECS_PATH,
    load_in_file_order,
    msr_train_order,
)

from recsys_study.constants import ITEM, RANK, USER  # noqa: E402
from recsys_study.evaluation import (  # noqa: E402
    map_at_k,
    map_ir_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from recsys_study.recommenders.registry import make  # noqa: E402
from recsys_study.split import stratified_labels  # noqa: E402

RUNNER = ROOT / "benchmarks" / "peers" / "msr_conformance_run.py"
DEFAULT_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
OLD_RELEASE = "recommenders==1.1.0"
K, TOL, REPEATS = 10, 1e-12, 5
CONFIGS_121 = ["item:42", "item:1", "user:42", "user:1"]
CONFIGS_2021 = ["item:42", "user:42"]
#: their metric name -> ours
METRICS = {"map": map_ir_at_k, "map_at_k": map_at_k, "ndcg_at_k": ndcg_at_k, "precision_at_k": precision_at_k,
           "recall_at_k": recall_at_k}


def peer(python: Path, args: list[str], extra_path: Path | None = None) -> None:
    run_peer(python, RUNNER, args, make_target="peers-venv", extra_path=extra_path, echo=False,
             why="recommenders needs pandas < 3, so it cannot live in .venv")


def compare_splits(df: pd.DataFrame, theirs: np.lib.npyio.NpzFile, configs: list[str], realisation: str) -> list[dict]:
    """Row-for-row comparison of our labels (and their part order) with their splitter's."""
    rows = []
    for config in configs:
        filter_by, seed = config.split(":")
        name = config.replace(":", "_")
        ours = stratified_labels(df, ratio=0.75, min_rating=1, filter_by=filter_by, seed=int(seed),
                                 realisation=realisation)
        label_diff = int((ours != theirs[f"labels_{name}"]).sum())
        train_order, test_order = msr_train_order(df, ours, realisation=realisation, seed=int(seed),
                                                  filter_by=filter_by)
        same_order = (np.array_equal(train_order, theirs[f"train_order_{name}"])
                      and np.array_equal(test_order, theirs[f"test_order_{name}"]))
        rows.append({"check": "a" if realisation == "1.2.1" else "b", "realisation": realisation,
                     "filter_by": filter_by, "seed": int(seed), "rows": len(df), "rows differing": label_diff,
                     "train rows": int((ours == 0).sum()), "part order equal": same_order,
                     "pass": label_diff == 0 and same_order})
    return rows


def install_old_release(python: Path, target: Path) -> str | None:
    """Unpack the 2021 splitter's release into ``target`` (no dependencies); return an error or None."""
    cmd = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
           "--python-version", "3.8", "--only-binary=:all:", OLD_RELEASE]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"pip exited {done.returncode}"
    return None


def our_lists(df: pd.DataFrame, labels: np.ndarray, sar: pd.DataFrame) -> pd.DataFrame:
    """The lists scored by both sides: our EASE, their SAR, random unseen films; columns list, user, item, rank."""
    train = df[labels == 0].reset_index(drop=True)
    ease = make("ease").fit(train)
    users = np.sort(train[USER].unique())
    ease_recs = ease.recommend(users, k=K, exclude_seen=True)[[USER, ITEM, RANK]]
    sar_recs = sar.rename(columns={"userID": USER, "itemID": ITEM})[[USER, ITEM, RANK]]
    rng = np.random.default_rng(42)
    items = np.sort(train[ITEM].unique())
    seen = train.groupby(USER)[ITEM].agg(set)
    rows = []
    for user in users:
        pool = np.setdiff1d(items, np.fromiter(seen[user], dtype=items.dtype))
        picked = rng.choice(pool, size=K, replace=False)
        rows.append(pd.DataFrame({USER: user, ITEM: picked, RANK: np.arange(1, K + 1)}))
    random_recs = pd.concat(rows, ignore_index=True)
    return pd.concat([ease_recs.assign(list="EASE (ours)"), sar_recs.assign(list="SAR (MSR 1.2.1)"),
                      random_recs.assign(list="random unseen")], ignore_index=True).astype({USER: "int64",
                                                                                             ITEM: "int64"})


def compare_metrics(lists: pd.DataFrame, test: pd.DataFrame, theirs: dict) -> list[dict]:
    rows = []
    truth = test[[USER, ITEM]]
    for name, recs in lists.groupby("list", sort=False):
        for their_name, fn in METRICS.items():
            ours = float(fn(recs, truth, K).mean())
            value = theirs["lists"][name][their_name]
            rows.append({"check": "c", "list": name, "metric": their_name, "ours": ours, "MSR": value,
                         "abs diff": abs(ours - value), "pass": abs(ours - value) <= TOL})
    return rows


def check_stored_peers(df: pd.DataFrame) -> list[dict]:
    """(e) Rebuild each recorded split and score each stored peer list with our metrics; compare with the record."""
    import hashlib

    if not (RECS_PATH.exists() and META_PATH.exists()):
        return []
    recs, meta = pd.read_parquet(RECS_PATH), json.loads(META_PATH.read_text())
    rows, truths = [], {}
    for name, spec in meta["splits"].items():
        labels = stratified_labels(df, ratio=spec["ratio"], min_rating=spec["min_rating"], filter_by=spec["filter_by"],
                                   seed=spec["seed"], realisation=spec["realisation"])
        same = hashlib.sha256(labels.astype(np.int8).tobytes()).hexdigest() == spec["labels_sha256"]
        rows.append({"check": "e", "what": f"split {name} rebuilt", "abs diff": 0.0 if same else np.inf,
                     "result": "labels SHA-256 as recorded" if same else "labels DIFFER from the recorded split",
                     "pass": same})
        truths[name] = df[labels == 2][[USER, ITEM]]
    for fit in meta["fits"]:
        lists = recs[(recs["model"] == fit["model"]) & (recs["split"] == fit["split"])]
        diff = max(abs(float(fn(lists, truths[fit["split"]], K).mean()) - fit["metrics"][name])
                   for name, fn in METRICS.items())
        rows.append({"check": "e", "what": f"{fit['model']} on {fit['split']}: 5 metrics", "abs diff": diff,
                     "result": f"max |ours - recorded MSR| {diff:.2g}", "pass": diff <= TOL})
    return rows


def time_ours(df: pd.DataFrame, realisation: str) -> dict:
    fn = lambda: stratified_labels(df, ratio=0.75, min_rating=1, filter_by="item", seed=42,  # noqa: E731
                                   realisation=realisation)
    fn()
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return {"median_s": statistics.median(runs), "runs_s": runs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-python", type=Path, default=DEFAULT_PYTHON,
                        help="python of the peer venv (default: .venv-peers/bin/python)")
    args = parser.parse_args(argv)
    if not args.peer_python.exists():
        raise SystemExit(f"The peer venv is missing ({args.peer_python} not found): `make peers-venv`.")
    pd.set_option("display.width", 200)
    started = time.perf_counter()
    df = load_in_file_order()
    split_rows, metric_rows, notes = [], [], []
    with tempfile.TemporaryDirectory(prefix="msr-conformance-") as tmp:
        tmp = Path(tmp)
        data = tmp / "ml100k.parquet"
        df.rename(columns=MSR_COLS).to_parquet(data, index=False)

        # (a) recommenders 1.2.1
        peer(args.peer_python, ["split", "--data", str(data), "--config", *CONFIGS_121, "--repeats", str(REPEATS),
                                "--out-npz", str(tmp / "split121.npz"), "--out-json", str(tmp / "split121.json")])
        split121 = json.loads((tmp / "split121.json").read_text())
        split_rows += compare_splits(df, np.load(tmp / "split121.npz"), CONFIGS_121, "1.2.1")

        # (b) the 2021 splitter (recommenders 1.1.0, unpacked for this run only)
        old = tmp / "msr-old"
        error = install_old_release(args.peer_python, old)
        split2021 = None
        if error is None:
            peer(args.peer_python, ["split", "--data", str(data), "--config", *CONFIGS_2021, "--repeats", str(REPEATS),
                                    "--out-npz", str(tmp / "split2021.npz"), "--out-json", str(tmp / "split2021.json")],
                 extra_path=old)
            split2021 = json.loads((tmp / "split2021.json").read_text())
            if not split2021["versions"]["recommenders_path"].startswith(str(old)):
                error = f"the peer imported {split2021['versions']['recommenders_path']}, not {old}"
            else:
                split_rows += compare_splits(df, np.load(tmp / "split2021.npz"), CONFIGS_2021, "2021")
        if error is not None:
            split_rows.append({"check": "b", "realisation": "2021", "filter_by": "item", "seed": 42,
                               "pass": False, "error": f"{OLD_RELEASE} could not be used: {error}"})

        # (c) metrics on the 1.2.1 seed-42 item split
        labels = stratified_labels(df, ratio=0.75, min_rating=1, filter_by="item", seed=42, realisation="1.2.1")
        train_rows, test_rows = msr_train_order(df, labels, realisation="1.2.1", seed=42)
        df.iloc[train_rows].rename(columns=MSR_COLS).to_parquet(tmp / "train.parquet", index=False)
        test = df.iloc[test_rows].reset_index(drop=True)
        test.rename(columns=MSR_COLS).to_parquet(tmp / "test.parquet", index=False)
        peer(args.peer_python, ["sar", "--data", str(tmp / "train.parquet"), "--out-parquet", str(tmp / "sar.parquet"),
                                "--out-json", str(tmp / "sar.json")])
        lists = our_lists(df, labels, pd.read_parquet(tmp / "sar.parquet"))
        lists.assign(prediction=(K + 1 - lists[RANK]).astype(float)).rename(columns=MSR_COLS)[
            ["list", "userID", "itemID", "prediction"]].to_parquet(tmp / "lists.parquet", index=False)
        peer(args.peer_python, ["metrics", "--data", str(tmp / "test.parquet"), "--lists", str(tmp / "lists.parquet"),
                                "--out-json", str(tmp / "metrics.json")])
        theirs = json.loads((tmp / "metrics.json").read_text())
        metric_rows = compare_metrics(lists, test, theirs)
        n_truth_users = test[USER].nunique()
        unlisted = set(test[USER]) - set(lists[USER])
        notes.append(f"(c) {n_truth_users} test users, {len(unlisted)} of them without a list (their `ndcg_at_k` "
                     "averages over every test user, their other metrics over users with a list; ours over every "
                     "test user, 0 without a list: the same means when every test user has a list).")

    # (d) timing
    timing = [{"check": "d", "splitter": "MSR 1.2.1 python_stratified_split",
               "median s": split121["timing"]["median_s"]},
              {"check": "d", "splitter": "ours, stratified_labels realisation='1.2.1'",
               "median s": time_ours(df, "1.2.1")["median_s"]}]
    if split2021 is not None:
        timing += [{"check": "d", "splitter": f"MSR {split2021['versions']['recommenders']} python_stratified_split "
                    "(2021 splitter)", "median s": split2021["timing"]["median_s"]},
                   {"check": "d", "splitter": "ours, stratified_labels realisation='2021'",
                    "median s": time_ours(df, "2021")["median_s"]}]

    stored_rows = check_stored_peers(df)
    splits_table, metrics_table = pd.DataFrame(split_rows), pd.DataFrame(metric_rows)
    timing_table, stored_table = pd.DataFrame(timing), pd.DataFrame(stored_rows)
    print("(a), (b) splitters, row for row (ml-100k, ratio 0.75, min_rating 1):")
    print(splits_table.to_string(index=False))
    print("\n(c) metrics on the same top-10 lists (1.2.1 seed-42 item split; every test rating relevant):")
    print(metrics_table.to_string(index=False, float_format=lambda v: f"{v:.12g}"))
    max_diff = float(metrics_table["abs diff"].max())
    print(f"    max |ours - MSR| = {max_diff:.3g} (tolerance {TOL:g}); " + notes[0])
    print("\n(d) splitter wall time, ml-100k, filter_by item, seed 42 (median of 5 after a warm-up):")
    print(timing_table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if stored_rows:
        print(f"\n(e) the committed peer lists ({RECS_PATH.relative_to(ROOT)}): {len(stored_rows)} checks, max |ours - "
              f"recorded MSR metric| = {stored_table['abs diff'].max():.3g}, "
              f"{int((~stored_table['pass']).sum())} failing")
    else:
        print(f"\n(e) skipped: {RECS_PATH.relative_to(ROOT)} is absent (make peers)")
    failed = [r for r in split_rows + metric_rows + stored_rows if not r["pass"]]

    table = pd.concat([
        splits_table.assign(what=lambda t: "split " + t["realisation"] + " " + t["filter_by"] + ":"
                            + t["seed"].astype(str),
                            result=lambda t: t.apply(lambda r: r.get("error") if isinstance(r.get("error"), str) else
                                                     f"{r['rows differing']} of {r['rows']} rows differ; part order "
                                                     f"{'equal' if r['part order equal'] else 'DIFFERS'}", axis=1)),
        metrics_table.assign(what=lambda t: "metric " + t["metric"] + ", " + t["list"],
                             result=lambda t: t.apply(lambda r: f"ours {r['ours']:.10f}, MSR {r['MSR']:.10f}, "
                                                      f"|diff| {r['abs diff']:.2g}", axis=1)),
        timing_table.assign(what=lambda t: "time " + t["splitter"],
                            result=lambda t: t["median s"].map(lambda v: f"{v * 1000:.1f} ms"), **{"pass": True}),
        stored_table if stored_rows else None,
    ], ignore_index=True)[["check", "what", "result", "pass"]]
    versions = split121["versions"]
    add_section(
        "Microsoft Recommenders conformance (ml-100k)", table,
        notes=(f"recommenders {versions['recommenders']} in `.venv-peers` (pandas {versions['pandas']}, numpy "
               f"{versions['numpy']}); the 2021 splitter is {OLD_RELEASE}'s, unpacked for the run only. (a)/(b): our "
               "`stratified_labels` against their `python_stratified_split`, row for row, and the order of the parts "
               f"they return. (c): max |ours - MSR| = {max_diff:.2g} over 5 metrics x 3 lists (tolerance {TOL:g}); "
               "their `map` is our `map_ir_at_k`, their `map_at_k` our `map_at_k`. " + notes[0]
               + " (d): one thread, each side in its own process. (e): the committed peer lists of `make peers` "
               "scored by our metrics against the recorded MSR metrics"
               + (f" ({len(stored_rows)} checks)." if stored_rows else ": skipped, the files are absent.") + " "
               + ("All checks pass." if not failed else f"{len(failed)} checks FAIL.")),
        data={"max_abs_metric_diff": max_diff, "tolerance": TOL, "versions": versions,
              "max_abs_stored_peer_diff": float(stored_table["abs diff"].max()) if stored_rows else None,
              "versions_2021": split2021["versions"] if split2021 else None,
              "timing": timing, "failed": failed, "seconds": time.perf_counter() - started},
    )
    if failed:
        print(f"\n{len(failed)} checks FAILED", file=sys.stderr)
        return 1
    print(f"\nall checks pass ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
