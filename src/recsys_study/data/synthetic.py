"""Synthetic implicit/explicit interactions at any scale, for scale benchmarks and tests.

Item popularity and user activity both follow power laws (Zipf-like weights
``w_j ∝ (j + 1)^(-a)``), the long tail seen in every real catalogue (Anderson 2006;
Celma 2010). Pairs are drawn without replacement of (user, item), so the output has
no duplicate pair; ratings on a 1-5 scale are drawn from a user bias + item bias model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.constants import ITEM, RATING, TIMESTAMP, USER


def interactions(n_users: int, n_items: int, n_interactions: int, *, seed: int = 42,
                 item_exponent: float = 1.0, user_exponent: float = 0.8) -> pd.DataFrame:
    """Return ``n_interactions`` distinct (user, item) pairs with ratings and timestamps.

    Popularity of item j ∝ (j+1)^(-item_exponent), activity of user u ∝ (u+1)^(-user_exponent),
    both shuffled so ids carry no order. ``rating`` = clip(round(3.5 + b_u + b_i + ε), 1, 5).
    """
    if n_interactions > n_users * n_items:
        raise ValueError(
            f"n_interactions={n_interactions} exceeds n_users*n_items={n_users * n_items}; lower it."
        )
    if min(n_users, n_items, n_interactions) <= 0:
        raise ValueError("n_users, n_items and n_interactions must be positive.")
    rng = np.random.default_rng(seed)
    p_item = (np.arange(1, n_items + 1, dtype=float)) ** -item_exponent
    p_user = (np.arange(1, n_users + 1, dtype=float)) ** -user_exponent
    p_item /= p_item.sum()
    p_user /= p_user.sum()
    item_perm = rng.permutation(n_items)
    user_perm = rng.permutation(n_users)
    codes = np.empty(0, dtype=np.int64)
    # draw in rounds until enough distinct pairs; each round oversamples what is missing
    for _ in range(10_000):
        if len(codes) >= n_interactions:
            break
        need = n_interactions - len(codes)
        m = int(need * 1.3) + 16
        u = user_perm[rng.choice(n_users, size=m, p=p_user)]
        i = item_perm[rng.choice(n_items, size=m, p=p_item)]
        codes = pd.unique(np.concatenate([codes, u.astype(np.int64) * n_items + i]))
    else:  # only a near-full matrix with a steep power law gets here
        raise RuntimeError(
            f"could not draw {n_interactions} distinct pairs in 10,000 rounds; lower n_interactions "
            "or the popularity exponents."
        )
    codes = codes[:n_interactions]
    users, items = np.divmod(codes, n_items)
    b_user = rng.normal(0, 0.5, n_users)
    b_item = rng.normal(0, 0.7, n_items)
    rating = np.clip(np.round(3.5 + b_user[users] + b_item[items] + rng.normal(0, 0.8, len(codes))), 1, 5)
    ts = 1_000_000_000 + np.sort(rng.integers(0, 86_400 * 365 * 3, len(codes)))
    return pd.DataFrame({USER: users, ITEM: items, RATING: rating, TIMESTAMP: ts})
