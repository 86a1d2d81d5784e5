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


def _precision(k, n_rel, top):
    return _per_user(top[_HIT].astype(float), top, n_rel.index, f"Precision@{k}") / k


def _recall(k, n_rel, top):
    return _per_user(top[_HIT].astype(float), top, n_rel.index, f"Recall@{k}") / n_rel.to_numpy()


def _hit_rate(k, n_rel, top):
    return _per_user(top[_HIT].astype(float), top, n_rel.index, f"HitRate@{k}", agg="max")


def _mrr(k, n_rel, top):
    return _per_user((top[_HIT] / top[RANK]).astype(float), top, n_rel.index, f"MRR@{k}", agg="max")


def _ndcg(k, n_rel, top):
    dcg = _per_user(top[_HIT] / np.log2(top[RANK].astype(float) + 1.0), top, n_rel.index, f"NDCG@{k}")
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
    return dcg / ideal[np.minimum(n_rel.to_numpy(), k) - 1]


def _ap_sum(k, n_rel, top, name):
    hits_so_far = top[_HIT].astype(float).groupby(top[USER].to_numpy()).cumsum()
    precision_at_hit = (hits_so_far / top[RANK]).where(top[_HIT], 0.0)
    return _per_user(precision_at_hit, top, n_rel.index, name)


def _map(k, n_rel, top):
    return _ap_sum(k, n_rel, top, f"MAP@{k}") / np.minimum(n_rel.to_numpy(), k)


def _map_ir(k, n_rel, top):
    return _ap_sum(k, n_rel, top, f"MAP-IR@{k}") / n_rel.to_numpy()


def precision_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return Precision@k per user: the share of the k slots filled with a relevant item.

    P@k(u) = |L_k(u) ∩ R(u)| / k, where L_k(u) is the top-k list and R(u) the relevant set.
    The denominator is k even when the list is shorter than k (a short list is penalised), as
    in trec_eval, ranx and Microsoft Recommenders. Reference: Herlocker, Konstan, Terveen &
    Riedl (2004), "Evaluating collaborative filtering recommender systems", ACM TOIS 22(1).
    """
    return _precision(*_hits_per_user(recs, truth, k))


def recall_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return Recall@k per user: the share of the user's relevant items found in the top k.

    R@k(u) = |L_k(u) ∩ R(u)| / |R(u)| (not capped at k, so it cannot reach 1 when |R(u)| > k).
    Reference: Herlocker et al. (2004), ACM TOIS 22(1); identical to ranx ``recall@k``.
    """
    return _recall(*_hits_per_user(recs, truth, k))


def hit_rate_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return HitRate@k per user: 1 if any relevant item is in the top k, else 0.

    HR@k(u) = 1[|L_k(u) ∩ R(u)| > 0]. Reference: Deshpande & Karypis (2004), "Item-based
    top-N recommendation algorithms", ACM TOIS 22(1); identical to ranx ``hit_rate@k``.
    """
    return _hit_rate(*_hits_per_user(recs, truth, k))


def mrr_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return the reciprocal rank per user: 1 / rank of the first relevant item in the top k, else 0.

    RR@k(u) = max_{i ∈ L_k(u) ∩ R(u)} 1 / rank(i); its mean over users is MRR@k.
    Reference: Voorhees (1999), "The TREC-8 question answering track report"; identical to
    ranx ``mrr@k``.
    """
    return _mrr(*_hits_per_user(recs, truth, k))


def ndcg_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return NDCG@k per user with binary gains and a log2 discount.

    DCG@k(u) = Σ_{i ∈ L_k(u)} rel(i) / log2(rank(i) + 1), rel ∈ {0, 1};
    IDCG@k(u) = Σ_{r=1}^{min(|R(u)|, k)} 1 / log2(r + 1); NDCG@k = DCG@k / IDCG@k.
    With binary relevance this equals ranx ``ndcg@k`` (both the Järvelin and the Burges gain).
    Reference: Järvelin & Kekäläinen (2002), "Cumulated gain-based evaluation of IR
    techniques", ACM TOIS 20(4).
    """
    return _ndcg(*_hits_per_user(recs, truth, k))


def map_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return AP@k per user (its mean over users is MAP@k), normalised by min(|R(u)|, k).

    AP@k(u) = Σ_{i ∈ L_k(u) ∩ R(u)} P@rank(i) / min(|R(u)|, k), where P@r is the precision of
    the first r positions. Normalising by min(|R|, k) lets a perfect list score 1 when the user
    has more than k relevant items (the recsys convention, e.g. ``ml_metrics.apk``). ranx
    ``map@k`` and Microsoft Recommenders' ``map_at_k`` divide by |R(u)| instead: that variant is
    :func:`map_ir_at_k`; the two agree whenever |R(u)| <= k. Reference: Manning, Raghavan &
    Schütze (2008), "Introduction to Information Retrieval", ch. 8.4.
    """
    return _map(*_hits_per_user(recs, truth, k))


def map_ir_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return truncated AP@k per user normalised by all of the user's relevant items (MAP-IR@k).

    AP-IR@k(u) = Σ_{i ∈ L_k(u) ∩ R(u)} P@rank(i) / |R(u)|: the information-retrieval convention
    of trec_eval and ranx ``map@k``, and the MAP of Microsoft Recommenders' published benchmark
    tables. A user with more than k relevant items cannot reach 1. Reference: Voorhees &
    Harman (2005), "TREC: Experiment and Evaluation in Information Retrieval", MIT Press;
    Manning, Raghavan & Schütze (2008), ch. 8.4.
    """
    return _map_ir(*_hits_per_user(recs, truth, k))


def _expected_mask(top: pd.DataFrame, item_popularity: pd.Series, seen: pd.DataFrame, n: int) -> np.ndarray:
    """Return per row of ``top`` whether its item is in the user's primitive list PM(u).

    PM(u) = the ``n`` most popular items that u has not seen (popularity descending, ties in the
    order of ``item_popularity``'s index). Global popularity rank r(i) minus the number of
    items seen by u ranked above i gives i's rank among u's unseen items.
    """
    order = item_popularity.sort_values(ascending=False, kind="stable").index
    rank_of = pd.Series(np.arange(len(order)), index=order)
    n_items = len(order) + 1
    users = pd.Index(pd.unique(np.concatenate([top[USER].to_numpy(), seen[USER].to_numpy()])))
    seen_rank = rank_of.reindex(seen[ITEM]).to_numpy()
    ok = ~np.isnan(seen_rank)
    seen_keys = np.sort(users.get_indexer(seen[USER].to_numpy()[ok]).astype(np.int64) * n_items
                        + seen_rank[ok].astype(np.int64))
    row_rank = rank_of.reindex(top[ITEM]).to_numpy()
    known = ~np.isnan(row_rank)
    base = users.get_indexer(top[USER].to_numpy()).astype(np.int64) * n_items
    keys = base + np.where(known, row_rank, 0).astype(np.int64)
    above = np.searchsorted(seen_keys, keys, side="left") - np.searchsorted(seen_keys, base, side="left")
    is_seen = np.searchsorted(seen_keys, keys, side="right") > np.searchsorted(seen_keys, keys, side="left")
    return known & ~is_seen & ((np.where(known, row_rank, 0) - above) < n)


def _serendipity(k, n_rel, top, item_popularity, seen, n_expected=None):
    n = k if n_expected is None else int(n_expected)
    surprising = top[_HIT].to_numpy() & ~_expected_mask(top, item_popularity, seen, n)
    return _per_user(pd.Series(surprising.astype(float)), top, n_rel.index, f"Serendipity@{k}") / k


def serendipity_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int, item_popularity: pd.Series,
                     seen: pd.DataFrame, *, n_expected: int | None = None) -> pd.Series:
    """Return Serendipity@k per user: the share of the k slots that are relevant *and* unexpected.

    SRDP@k(u) = |(L_k(u) ∖ PM(u)) ∩ R(u)| / k, where PM(u), the expected items, is the list a
    primitive recommender would show u: the ``n_expected`` (default k) most popular training
    items that u has not seen (``seen``: the training pairs ``user, item``). A relevant item
    that popularity alone would have shown is useful but not serendipitous, so ``most_popular``
    scores exactly 0. Reference: Ge, Delgado-Battenfeld & Jannach (2010), "Beyond accuracy:
    evaluating recommender systems by coverage and serendipity", RecSys (per-user primitive
    model); Kaminskas & Bridge (2016), ACM TiiS 7(1), for the survey of definitions.
    """
    require_columns(seen, (USER, ITEM), source="seen")
    return _serendipity(*_hits_per_user(recs, truth, k), item_popularity, seen, n_expected)


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

_FROM_HITS = {"precision": _precision, "recall": _recall, "hit_rate": _hit_rate, "mrr": _mrr, "ndcg": _ndcg,
              "map": _map, "map_ir": _map_ir}


def ranking_metrics(recs: pd.DataFrame, truth: pd.DataFrame, k: int, names, *,
                    item_popularity: pd.Series | None = None, seen: pd.DataFrame | None = None,
                    n_items: int | None = None) -> dict[str, pd.Series]:
    """Return ``{name: per-user Series}`` for several ranking metrics at one k, matching lists once.

    The values are those of the single-metric functions (``ndcg_at_k`` ...); the join of the
    lists with the truth, its checks and its sort are done once for all of them.
    """
    k, n_rel, top = _hits_per_user(recs, truth, k)
    out = {}
    for name in names:
        if name in _FROM_HITS:
            out[name] = _FROM_HITS[name](k, n_rel, top)
        elif name == "serendipity":
            out[name] = _serendipity(k, n_rel, top, item_popularity, seen)
        elif name == "auc":
            out[name] = auc_at_k(recs, truth, k, n_items)
        else:
            raise KeyError(f"{name!r} is not a ranking metric; ranking metrics: "
                           f"{', '.join([*_FROM_HITS, 'serendipity', 'auc'])}.")
    return out
