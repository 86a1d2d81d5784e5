"""Top-k ranking metrics over tidy frames, one value per user.

Every metric has the signature ``fn(recs, truth, k) -> pd.Series`` (``auc_at_k`` also needs
the catalogue size). ``recs`` holds the recommendation lists (``user, item, rank`` with a
1-based rank; a ``score`` column may be present and is ignored: ties in score must already be
broken by ``rank``). ``truth`` holds the relevant items (``user, item``); the caller applies
any rating threshold before. Conventions shared by all metrics:

- only rows with ``rank <= k`` count; ``rank`` is the position in the list;
- the result has one value per user present in ``truth`` (index name ``user``, sorted);
  a user without recommendations scores 0, users only in ``recs`` are ignored;
- relevance is binary.

All computation is vectorised (merge + groupby); there is no Python loop over users.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.constants import ITEM, RANK, USER
from recsys_study.data.schema import DataValidationError, require_columns

_HIT = "_hit"


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}; pass e.g. k=10.")
    return int(k)


def _relevant_counts(truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Return the de-duplicated truth pairs and |R_u| per user (sorted by user)."""
    require_columns(truth, (USER, ITEM), source="truth")
    pairs = truth[[USER, ITEM]].drop_duplicates()
    return pairs, pairs.groupby(USER, sort=True).size()


def _top_k_hits(recs: pd.DataFrame, pairs: pd.DataFrame, users: pd.Index, k: int) -> pd.DataFrame:
    """Return the top-k rows of ``recs`` for ``users`` sorted by (user, rank) with a boolean hit column."""
    require_columns(recs, (USER, ITEM, RANK), source="recs")
    top = recs.loc[(recs[RANK] <= k) & recs[USER].isin(users), [USER, ITEM, RANK]]
    if len(top) and top[RANK].min() < 1:
        raise DataValidationError(
            "recs: ranks must be 1-based (the best item has rank 1); add 1 to a 0-based rank."
        )
    if top.duplicated([USER, ITEM]).any():
        raise DataValidationError(
            "recs: an item appears twice in one user's list; drop duplicates with "
            "recs.drop_duplicates(['user', 'item']) before evaluating."
        )
    if top.duplicated([USER, RANK]).any():
        raise DataValidationError(
            "recs: two items share a rank in one user's list; break ties first, e.g. "
            "rank = recs.sort_values(['user', 'score'], ascending=[True, False]).groupby('user').cumcount() + 1."
        )
    top = top.merge(pairs.assign(**{_HIT: True}), on=[USER, ITEM], how="left")
    top[_HIT] = top[_HIT].notna().to_numpy()
    return top.sort_values([USER, RANK], kind="stable").reset_index(drop=True)


def _per_user(values: pd.Series, top: pd.DataFrame, users: pd.Index, name: str, agg: str = "sum") -> pd.Series:
    """Aggregate row values by user and reindex onto ``users`` (missing users -> 0)."""
    out = values.groupby(top[USER].to_numpy(), sort=True).agg(agg)
    out = out.reindex(users, fill_value=0.0).astype(float)
    out.index.name = USER
    out.name = name
    return out


def _hits_per_user(recs, truth, k):
    k = _check_k(k)
    pairs, n_rel = _relevant_counts(truth)
    top = _top_k_hits(recs, pairs, n_rel.index, k)
    return k, n_rel, top


def precision_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return Precision@k per user: the share of the k slots filled with a relevant item.

    P@k(u) = |L_k(u) ∩ R(u)| / k, where L_k(u) is the top-k list and R(u) the relevant set.
    The denominator is k even when the list is shorter than k (a short list is penalised), as
    in trec_eval, ranx and Microsoft Recommenders. Reference: Herlocker, Konstan, Terveen &
    Riedl (2004), "Evaluating collaborative filtering recommender systems", ACM TOIS 22(1).
    """
    k, n_rel, top = _hits_per_user(recs, truth, k)
    return _per_user(top[_HIT].astype(float), top, n_rel.index, f"Precision@{k}") / k


def recall_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return Recall@k per user: the share of the user's relevant items found in the top k.

    R@k(u) = |L_k(u) ∩ R(u)| / |R(u)| (not capped at k, so it cannot reach 1 when |R(u)| > k).
    Reference: Herlocker et al. (2004), ACM TOIS 22(1); identical to ranx ``recall@k``.
    """
    k, n_rel, top = _hits_per_user(recs, truth, k)
    hits = _per_user(top[_HIT].astype(float), top, n_rel.index, f"Recall@{k}")
    return hits / n_rel.to_numpy()


def hit_rate_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return HitRate@k per user: 1 if any relevant item is in the top k, else 0.

    HR@k(u) = 1[|L_k(u) ∩ R(u)| > 0]. Reference: Deshpande & Karypis (2004), "Item-based
    top-N recommendation algorithms", ACM TOIS 22(1); identical to ranx ``hit_rate@k``.
    """
    k, n_rel, top = _hits_per_user(recs, truth, k)
    return _per_user(top[_HIT].astype(float), top, n_rel.index, f"HitRate@{k}", agg="max")


def mrr_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return the reciprocal rank per user: 1 / rank of the first relevant item in the top k, else 0.

    RR@k(u) = max_{i ∈ L_k(u) ∩ R(u)} 1 / rank(i); its mean over users is MRR@k.
    Reference: Voorhees (1999), "The TREC-8 question answering track report"; identical to
    ranx ``mrr@k``.
    """
    k, n_rel, top = _hits_per_user(recs, truth, k)
    rr = (top[_HIT] / top[RANK]).astype(float)
    return _per_user(rr, top, n_rel.index, f"MRR@{k}", agg="max")


def ndcg_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return NDCG@k per user with binary gains and a log2 discount.

    DCG@k(u) = Σ_{i ∈ L_k(u)} rel(i) / log2(rank(i) + 1), rel ∈ {0, 1};
    IDCG@k(u) = Σ_{r=1}^{min(|R(u)|, k)} 1 / log2(r + 1); NDCG@k = DCG@k / IDCG@k.
    With binary relevance this equals ranx ``ndcg@k`` (both the Järvelin and the Burges gain).
    Reference: Järvelin & Kekäläinen (2002), "Cumulated gain-based evaluation of IR
    techniques", ACM TOIS 20(4).
    """
    k, n_rel, top = _hits_per_user(recs, truth, k)
    dcg = _per_user(top[_HIT] / np.log2(top[RANK].astype(float) + 1.0), top, n_rel.index, f"NDCG@{k}")
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
    idcg = ideal[np.minimum(n_rel.to_numpy(), k) - 1]
    return dcg / idcg


def map_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return AP@k per user (its mean over users is MAP@k), normalised by min(|R(u)|, k).

    AP@k(u) = Σ_{i ∈ L_k(u) ∩ R(u)} P@rank(i) / min(|R(u)|, k), where P@r is the precision of
    the first r positions. Normalising by min(|R|, k) lets a perfect list score 1 when the user
    has more than k relevant items (the recsys convention, e.g. Microsoft Recommenders /
    ``ml_metrics.apk``). ranx ``map@k`` divides by |R(u)| instead; the two agree whenever
    |R(u)| <= k. Reference: Manning, Raghavan & Schütze (2008), "Introduction to Information
    Retrieval", ch. 8.4.
    """
    k, n_rel, top = _hits_per_user(recs, truth, k)
    hits_so_far = top[_HIT].astype(float).groupby(top[USER].to_numpy()).cumsum()
    precision_at_hit = (hits_so_far / top[RANK]).where(top[_HIT], 0.0)
    ap = _per_user(precision_at_hit, top, n_rel.index, f"MAP@{k}")
    return ap / np.minimum(n_rel.to_numpy(), k)


def serendipity_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int, item_popularity: pd.Series,
                     *, n_expected: int | None = None) -> pd.Series:
    """Return Serendipity@k per user: the share of the k slots that are relevant *and* unexpected.

    SRDP@k(u) = |(L_k(u) ∖ PM) ∩ R(u)| / k, where PM, the expected items, is the list of a
    primitive recommender: here the ``n_expected`` (default k) most popular training items.
    A relevant item that popularity alone would have shown is useful but not serendipitous.
    Reference: Ge, Delgado-Battenfeld & Jannach (2010), "Beyond accuracy: evaluating
    recommender systems by coverage and serendipity", RecSys; Kaminskas & Bridge (2016),
    ACM TiiS 7(1), for the survey of definitions.
    """
    k, n_rel, top = _hits_per_user(recs, truth, k)
    n = k if n_expected is None else int(n_expected)
    expected = item_popularity.sort_values(ascending=False, kind="stable").index[:n]
    surprising = top[_HIT] & ~top[ITEM].isin(expected)
    return _per_user(surprising.astype(float), top, n_rel.index, f"Serendipity@{k}") / k


def auc_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int, n_items: int) -> pd.Series:
    """Return per-user AUC of the top-k list against the relevant items over the whole catalogue.

    The ranking scored is: the top-k items in rank order, then every other catalogue item tied
    at the bottom. AUC(u) is the probability that a random relevant item is ranked above a
    random non-relevant one, ties counting 1/2 (the Mann–Whitney form):
    AUC(u) = [Σ_{i ∈ L_k ∩ R} (N⁻ − n⁻_above(i)) + ½ · (|R| − h) · (N⁻ − n⁻_list)] / (|R| · N⁻),
    with N⁻ = n_items − |R(u)| non-relevant items, n⁻_above(i) the non-relevant listed items
    above i, n⁻_list those in the list, h = |L_k ∩ R|. An empty list scores 0.5; NaN when the
    user has no non-relevant item. Reference: Rendle et al. (2009), "BPR: Bayesian
    personalized ranking from implicit feedback", UAI (per-user AUC); Hanley & McNeil (1982).
    """
    k, n_rel, top = _hits_per_user(recs, truth, k)
    if n_items < int(n_rel.max()):
        raise ValueError(
            f"n_items={n_items} is smaller than a user's relevant set ({int(n_rel.max())}); "
            "pass the catalogue size (number of recommendable items)."
        )
    users = n_rel.index
    non_rel_row = (~top[_HIT]).astype(float)
    # listed non-relevant items strictly above each row (rows sorted by user, rank)
    non_rel_above = non_rel_row.groupby(top[USER].to_numpy()).cumsum() - non_rel_row
    n_neg = pd.Series(n_items - n_rel.to_numpy(), index=users, dtype=float)
    neg_of_row = n_neg.reindex(top[USER]).to_numpy()
    above = ((neg_of_row - non_rel_above) * top[_HIT]).astype(float)
    listed_part = _per_user(above, top, users, f"AUC@{k}")
    hits = _per_user(top[_HIT].astype(float), top, users, "hits")
    non_rel_listed = _per_user(non_rel_row, top, users, "non_rel")
    tied_part = 0.5 * (n_rel - hits) * (n_neg - non_rel_listed)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (listed_part + tied_part) / (n_rel * n_neg)
    auc[n_neg.to_numpy() == 0] = np.nan
    auc.name = f"AUC@{k}"
    return auc


auc = auc_at_k
