"""Real-time updating, measured: does folding a user's new ratings in move their list toward what they rate next?

For a sample of test users, each user's held-out ratings are shuffled and cut in two: the first
part arrives as *new* interactions, the second is what the user rates *next*. The list the model
gave before (``recommend`` on the training history) and the list after folding the new ratings in
(``recommend_for_history`` on history + new, no refit) are both scored by how many of the *next*
items they contain, and the update's latency is timed. The factor models solve the user's
least-squares factors given the fitted item factors (Hu, Koren & Volinsky 2008, eq. 4); EASE,
item kNN and RP3beta score the updated history vector directly.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from recsys_study.constants import ITEM, USER
from recsys_study.evaluation.stats import paired_test
from recsys_study.protocol.relevance import ProtocolError


def fold_in_study(model, split, *, n_users: int = 100, new_frac: float = 0.5, k: int = 10, seed: int) -> pd.DataFrame:
    """Return one row per sampled user: ``user, n_new, n_next, hits_before, hits_after, latency_ms``.

    ``model`` is fitted on ``split.train``; users need at least two held-out ratings. ``hits_*``
    count the *next* items in the top-``k`` list before and after the fold-in; ``frame.attrs``
    holds the mean hits, a paired Wilcoxon test of after against before, and the median latency.
    """
    if not 0 < new_frac < 1:
        raise ProtocolError(f"new_frac must be in (0, 1), got {new_frac!r}: it is the share of a user's "
                            "held-out ratings that arrives as new interactions.")
    test = split.test
    counts = test.groupby(USER).size()
    eligible = np.sort(counts.index[(counts >= 2) & counts.index.isin(model.user_index_)].to_numpy())
    if len(eligible) == 0:
        raise ProtocolError("no test user has two held-out ratings and a training history; use a split "
                            "with more held-out ratings per user.")
    rng = np.random.default_rng(seed)
    users = rng.choice(eligible, size=min(n_users, len(eligible)), replace=False)
    train_by_user = split.train[split.train[USER].isin(users)].groupby(USER)
    test_by_user = test[test[USER].isin(users)].groupby(USER)
    before = model.recommend(users, k=k).groupby(USER)[ITEM].apply(set)
    rows = []
    for user in users:  # a real-time update is one user's event; the batch path above serves the rest
        held = test_by_user.get_group(user).sample(frac=1.0, random_state=int(rng.integers(2**31)))
        n_new = max(1, int(round(new_frac * len(held))))
        new, following = held.iloc[:n_new], set(held[ITEM].iloc[n_new:])
        history = pd.concat([train_by_user.get_group(user), new], ignore_index=True)
        start = time.perf_counter()
        after = model.recommend_for_history(history, k=k)
        latency = (time.perf_counter() - start) * 1e3
        rows.append({USER: user, "n_new": n_new, "n_next": len(following),
                     "hits_before": len(before.get(user, set()) & following),
                     "hits_after": len(set(after[ITEM]) & following), "latency_ms": latency})
    out = pd.DataFrame(rows)
    test_result = paired_test(out["hits_after"], out["hits_before"], method="wilcoxon")
    out.attrs.update({"mean_hits_before": float(out["hits_before"].mean()),
                      "mean_hits_after": float(out["hits_after"].mean()),
                      "p_value": test_result["p_value"], "median_latency_ms": float(out["latency_ms"].median())})
    return out
