"""Erasure speed: forget(users) against a refit without them, EASE and item kNN, ml-100k and 10^6 synthetic.

For each data set, model and number of users forgotten (1, 10, 100; random users, seed 42), the model
is fitted once (untimed); then ``forget`` on a fresh copy of the fitted model (the copy untimed) and a
refit of a new model on the remaining rows run round-robin (forget, refit, forget, refit, …;
benchmarks/_report.py ``interleaved_medians``), so the ratio refit / forget is measured in the same
run under the same load. After the timings, forget's scores are compared with the refit's for every
item and (up to) 2,000 remaining users: max |forget − refit|.

Data: MovieLens 100k's training part (75/25 per-user split, seed 42: 943 users, 1,650 items,
75k ratings) and ``recsys_study.data.synthetic.interactions`` with 10^6 interactions over 5,000
items and 50,000 users (power-law popularity and activity, seed 42). EASE keeps its float64 inverse
(``keep_inverse=True``: forget is a Woodbury downdate); its refit is the same float64 fit. Item kNN
is the default (cosine, k = 50). BLAS on one thread (``OPENBLAS_NUM_THREADS=1``); the kNN kernel on
the process's cores in both forget and refit.

    python benchmarks/privacy.py [--repeats 3] [--repeats-large 1] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import add_section, interleaved_medians, peak_rss_mib  # noqa: E402

from recsys_study.constants import USER  # noqa: E402
from recsys_study.privacy.erasure import clone  # noqa: E402
from recsys_study.recommenders import registry  # noqa: E402

SEED = 42
TITLE = "Erasure: forget(users) against a refit"
MODELS = {"ease (keep_inverse)": ("ease", {"keep_inverse": True}), "item_knn": ("item_knn", {})}


def datasets(quick: bool) -> dict[str, pd.DataFrame]:
    from recsys_study.data import load_movielens
    from recsys_study.data.synthetic import interactions
    from recsys_study.split import user_stratified_split

    out = {"ml-100k": user_stratified_split(load_movielens("ml-100k").interactions, seed=SEED).train}
    n, items = (10**5, 2_000) if quick else (10**6, 5_000)
    out[f"synthetic {n:.0e} x {items} items"] = interactions(n // 20, items, n, seed=SEED)
    return out


def sampled_difference(a, b, *, n_users: int = 2000, seed: int = SEED) -> float:
    """Return max |scores of a − scores of b| over every item and up to ``n_users`` users, aligned by id."""
    users = a.user_index_
    if len(users) > n_users:
        users = users[np.sort(np.random.default_rng(seed).choice(len(users), n_users, replace=False))]
    cols = b.item_index_.get_indexer(a.item_index_)
    if (cols < 0).any() or len(a.item_index_) != len(b.item_index_):
        return float("inf")
    sa = np.asarray(a._score(a.user_index_.get_indexer(users)), dtype=np.float64)
    sb = np.asarray(b._score(b.user_index_.get_indexer(users)), dtype=np.float64)[:, cols]
    return float(np.max(np.abs(sa - sb)))


def one(train: pd.DataFrame, name: str, params: dict, n_forget: int, repeats: int) -> dict:
    fitted = registry.make(name, **params).fit(train)
    rng = np.random.default_rng(SEED + n_forget)
    users = rng.choice(pd.unique(train[USER]), size=n_forget, replace=False)
    remaining = train[~train[USER].isin(users)]
    state = {}

    def setup(label):
        if label == "forget":
            state["model"] = copy.deepcopy(fitted)

    def forget():
        state["model"].forget(users)

    def refit():
        state["refit"] = clone(fitted).fit(remaining)

    times = interleaved_medians({"forget": forget, "refit": refit}, repeats=repeats, setup=setup)
    model, refitted = state["model"], state["refit"]
    return {"forget_s": times["forget"]["median"], "refit_s": times["refit"]["median"],
            "forget_cpu_s": times["forget"]["cpu_median"], "refit_cpu_s": times["refit"]["cpu_median"],
            "speedup_wall": times["refit"]["median"] / times["forget"]["median"],
            "speedup_cpu": times["refit"]["cpu_median"] / max(times["forget"]["cpu_median"], 1e-9),
            "max_abs_difference": sampled_difference(model, refitted),
            "rows_recomputed": getattr(model, "rows_recomputed_", None), "repeats": repeats}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs on ml-100k")
    parser.add_argument("--repeats-large", type=int, default=1, help="interleaved runs on the synthetic data")
    parser.add_argument("--quick", action="store_true", help="10^5 synthetic interactions instead of 10^6")
    args = parser.parse_args(argv)
    rows = []
    for i, (data_name, train) in enumerate(datasets(args.quick).items()):
        n_items = train["item"].nunique()
        for label, (name, params) in MODELS.items():
            registry.make(name, **params).fit(train.head(2000))  # compile the kernels outside the timings
            for n_forget in (1, 10, 100):
                row = one(train, name, params, n_forget, args.repeats if i == 0 else args.repeats_large)
                rows.append({"data": data_name, "interactions": len(train), "items": n_items, "model": label,
                             "users_forgotten": n_forget, **row})
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    notes = ("Median wall-clock and CPU seconds of interleaved runs (forget on a fresh copy of the fitted model, "
             "refit on the remaining rows), ratios from the same run; max |forget − refit| over every item and up to "
             f"2,000 users. Peak RSS of the run: {peak_rss_mib():.0f} MiB. EASE keeps P = (XᵀX + λI)⁻¹ in "
             "float64 and forget downdates it (Woodbury); item kNN recomputes the rows of the items the forgotten users "
             "rated and updates the others from their known top neighbours (rows_recomputed).")
    add_section(TITLE, table, notes=notes)
    print(table.to_string())


if __name__ == "__main__":
    main()
