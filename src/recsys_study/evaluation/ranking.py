"""Top-k ranking metrics over tidy frames, one value per user.

Every metric has the signature ``fn(recs, truth, k) -> pd.Series`` (``auc_at_k`` also needs
the catalogue size); each call joins the lists with the truth on its own, so
``ranking_metrics(recs, truth, k, names)``, which shares one join among all the metrics asked for,
is the fast path (the protocol and the benchmarks use it). ``recs`` holds the recommendation lists (``user, item, rank`` with a
1-based rank; a ``score`` column may be present and is ignored: ties in score must already be
broken by ``rank``). ``truth`` holds the relevant items (``user, item``); the caller applies
any rating threshold before. Conventions shared by all metrics:

- only rows with ``rank <= k`` count; ``rank`` is the position in the list;
- the result has one value per user present in ``truth`` (index name ``user``, sorted);
  a user without recommendations scores 0, users only in ``recs`` are ignored; an empty
  ``truth`` raises (a mean over zero users is undefined);
- relevance is binary.

All computation is vectorised: the lists are matched against the truth once on integer codes
(sorted keys and a binary search), per-user sums are ``bincount``; there is no Python loop over users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_study.constants import ITEM, RANK, USER
from recsys_study.data.schema import DataValidationError, require_columns


@dataclass(frozen=True)
class _Hits:
    """The top-k rows of the lists of the truth's users, sorted by (user, rank), matched once.

    users : sorted index of the users with a relevant item; n_rel : |R_u| per user (aligned);
    u : each row's position in ``users``; rank, item, hit : the row's rank, item id and relevance;
    key : its (user, item) code; truth_key : the code of every truth row (in truth order), so that
    a segment can restrict the match without redoing it.
    """

    k: int
    users: pd.Index
    n_rel: np.ndarray
    u: np.ndarray
    rank: np.ndarray
    item: np.ndarray
    hit: np.ndarray
    key: np.ndarray | None = None
    truth_key: np.ndarray | None = None
    n_codes: int = 1

    def restrict(self, truth_rows: np.ndarray) -> _Hits:
        """Return the match against the truth rows at positions ``truth_rows`` only (a segment):
        the same lists, relevance and |R_u| limited to those rows, users without one dropped."""
        keys = np.sort(self.truth_key[truth_rows])
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys
        n_rel = np.bincount(keys // self.n_codes, minlength=len(self.users))
        present = n_rel > 0
        rows = present[self.u]
        new_code = np.cumsum(present) - 1
        key = self.key[rows]
        if len(keys):
            pos = np.searchsorted(keys, key)
            inside = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == key)
        else:
            inside = np.zeros(len(key), dtype=bool)
        return _Hits(k=self.k, users=self.users[present], n_rel=n_rel[present], u=new_code[self.u[rows]],
                     rank=self.rank[rows], item=self.item[rows], hit=self.hit[rows] & inside, key=key,
                     truth_key=None, n_codes=self.n_codes)

    def sum(self, values: np.ndarray, name: str) -> pd.Series:
        """Return the per-user sum of row values (0 for users without rows)."""
        out = np.bincount(self.u, weights=values, minlength=len(self.users))
        return pd.Series(out, index=self.users, name=name)

    def first(self, values: np.ndarray, name: str) -> pd.Series:
        """Return the per-user maximum of non-negative row values (0 for users without rows)."""
        out = np.zeros(len(self.users))
        np.maximum.at(out, self.u, values)
        return pd.Series(out, index=self.users, name=name)

    def cumsum(self, values: np.ndarray) -> np.ndarray:
        """Return the running sum of row values within each user's list (rows are sorted by user, rank)."""
        total = np.cumsum(values)
        starts = np.r_[0, np.flatnonzero(np.diff(self.u)) + 1] if len(self.u) else np.zeros(0, dtype=np.intp)
        offset = np.zeros(len(values))
        if len(starts):
            before = np.r_[0.0, total][starts]  # running total just before each user's first row
            offset = np.repeat(before, np.diff(np.r_[starts, len(values)]))
        return total - offset


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}; pass e.g. k=10.")
    return int(k)


def _hits_per_user(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> _Hits:
    """Match the top-k rows of ``recs`` against ``truth`` once (integer codes, no merge)."""
    k = _check_k(k)
    require_columns(truth, (USER, ITEM), source="truth")
    require_columns(recs, (USER, ITEM, RANK), source="recs")
    if len(truth) == 0:
        raise DataValidationError(
            "truth: no relevant (user, item) row, so there is no user to average over (the result would be an "
            "empty Series, its mean NaN); pass the relevant test rows: check the test part and the rating "
            "threshold that selected them."
        )
    t_user, users = pd.factorize(truth[USER], sort=True)
    users = pd.Index(users, name=USER)
    rank_all = recs[RANK].to_numpy()
    in_k = rank_all <= k
    r_user = users.get_indexer(recs[USER].to_numpy()[in_k])
    keep = r_user >= 0
    u = r_user[keep].astype(np.int64)
    rank = rank_all[in_k][keep].astype(np.int64)
    item = recs[ITEM].to_numpy()[in_k][keep]
    codes, _ = pd.factorize(np.concatenate([truth[ITEM].to_numpy(), item]))
    n_codes = int(codes.max()) + 1 if len(codes) else 1
    truth_key = t_user.astype(np.int64) * n_codes + codes[:len(truth)]
    t_key = np.sort(truth_key)
    t_key = t_key[np.r_[True, t_key[1:] != t_key[:-1]]] if len(t_key) else t_key  # distinct relevant pairs
    # (a sort, not np.unique: numpy 2's hash-based unique took 7.7 s on 1.6e6 int64 keys here)
    n_rel = np.bincount(t_key // n_codes, minlength=len(users))
    r_key = u * n_codes + codes[len(truth):]
    if len(rank) and rank.min() < 1:
        raise DataValidationError(
            "recs: ranks must be 1-based (the best item has rank 1); add 1 to a 0-based rank."
        )
    sorted_key = np.sort(r_key)
    if len(sorted_key) > 1 and (sorted_key[1:] == sorted_key[:-1]).any():
        raise DataValidationError(
            "recs: an item appears twice in one user's list; drop duplicates with "
            "recs.drop_duplicates(['user', 'item']) before evaluating."
        )
    order = np.lexsort((rank, u))
    u, rank, item, r_key = u[order], rank[order], item[order], r_key[order]
    if len(u) > 1 and ((u[1:] == u[:-1]) & (rank[1:] == rank[:-1])).any():
        raise DataValidationError(
            "recs: two items share a rank in one user's list; break ties first, e.g. "
            "rank = recs.sort_values(['user', 'score'], ascending=[True, False]).groupby('user').cumcount() + 1."
        )
    pos = np.searchsorted(t_key, r_key)
    hit = (pos < len(t_key)) & (t_key[np.minimum(pos, len(t_key) - 1)] == r_key) if len(t_key) else np.zeros(len(u), bool)
    return _Hits(k=k, users=users, n_rel=n_rel, u=u, rank=rank, item=item, hit=hit, key=r_key,
                 truth_key=truth_key, n_codes=n_codes)


def _precision(h: _Hits) -> pd.Series:
    return h.sum(h.hit.astype(float), f"Precision@{h.k}") / h.k


def _recall(h: _Hits) -> pd.Series:
    return h.sum(h.hit.astype(float), f"Recall@{h.k}") / h.n_rel


def _hit_rate(h: _Hits) -> pd.Series:
    return h.first(h.hit.astype(float), f"HitRate@{h.k}")


def _mrr(h: _Hits) -> pd.Series:
    return h.first(h.hit / h.rank, f"MRR@{h.k}")


def _ndcg(h: _Hits) -> pd.Series:
    dcg = h.sum(h.hit / np.log2(h.rank + 1.0), f"NDCG@{h.k}")
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, h.k + 2)))
    return dcg / ideal[np.minimum(h.n_rel, h.k) - 1]


def _ap_sum(h: _Hits, name: str) -> pd.Series:
    hits_so_far = h.cumsum(h.hit.astype(float))
    return h.sum(np.where(h.hit, hits_so_far / h.rank, 0.0), name)


def _map(h: _Hits) -> pd.Series:
    return _ap_sum(h, f"MAP@{h.k}") / np.minimum(h.n_rel, h.k)


def _map_ir(h: _Hits) -> pd.Series:
    return _ap_sum(h, f"MAP-IR@{h.k}") / h.n_rel


def precision_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return Precision@k per user: the share of the k slots filled with a relevant item.

    P@k(u) = |L_k(u) ∩ R(u)| / k, where L_k(u) is the top-k list and R(u) the relevant set.
    The denominator is k even when the list is shorter than k (a short list is penalised), as
    in trec_eval, ranx and Microsoft Recommenders. Reference: Herlocker, Konstan, Terveen &
    Riedl (2004), "Evaluating collaborative filtering recommender systems", ACM TOIS 22(1).
    One call, one join of ``recs`` with ``truth``: for several metrics of the same lists use
    ``ranking_metrics`` (one join for all; ``make bench`` times four metrics called one by one against it).
    """
    return _precision(_hits_per_user(recs, truth, k))


def recall_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return Recall@k per user: the share of the user's relevant items found in the top k.

    R@k(u) = |L_k(u) ∩ R(u)| / |R(u)| (not capped at k, so it cannot reach 1 when |R(u)| > k).
    Reference: Herlocker et al. (2004), ACM TOIS 22(1); identical to ranx ``recall@k``.
    One call, one join of ``recs`` with ``truth``: for several metrics of the same lists use
    ``ranking_metrics`` (one join for all; ``make bench`` times four metrics called one by one against it).
    """
    return _recall(_hits_per_user(recs, truth, k))


def hit_rate_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return HitRate@k per user: 1 if any relevant item is in the top k, else 0.

    HR@k(u) = 1[|L_k(u) ∩ R(u)| > 0]. Reference: Deshpande & Karypis (2004), "Item-based
    top-N recommendation algorithms", ACM TOIS 22(1); identical to ranx ``hit_rate@k``.
    One call, one join of ``recs`` with ``truth``: for several metrics of the same lists use
    ``ranking_metrics`` (one join for all; ``make bench`` times four metrics called one by one against it).
    """
    return _hit_rate(_hits_per_user(recs, truth, k))


def mrr_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return the reciprocal rank per user: 1 / rank of the first relevant item in the top k, else 0.

    RR@k(u) = max_{i ∈ L_k(u) ∩ R(u)} 1 / rank(i); its mean over users is MRR@k.
    Reference: Voorhees (1999), "The TREC-8 question answering track report"; identical to
    ranx ``mrr@k``.
    One call, one join of ``recs`` with ``truth``: for several metrics of the same lists use
    ``ranking_metrics`` (one join for all; ``make bench`` times four metrics called one by one against it).
    """
    return _mrr(_hits_per_user(recs, truth, k))


def ndcg_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return NDCG@k per user with binary gains and a log2 discount.

    DCG@k(u) = Σ_{i ∈ L_k(u)} rel(i) / log2(rank(i) + 1), rel ∈ {0, 1};
    IDCG@k(u) = Σ_{r=1}^{min(|R(u)|, k)} 1 / log2(r + 1); NDCG@k = DCG@k / IDCG@k.
    With binary relevance this equals ranx ``ndcg@k`` (both the Järvelin and the Burges gain).
    Reference: Järvelin & Kekäläinen (2002), "Cumulated gain-based evaluation of IR
    techniques", ACM TOIS 20(4).
    One call, one join of ``recs`` with ``truth``: for several metrics of the same lists use
    ``ranking_metrics`` (one join for all; ``make bench`` times four metrics called one by one against it).
    """
    return _ndcg(_hits_per_user(recs, truth, k))


def map_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return AP@k per user (its mean over users is MAP@k), normalised by min(|R(u)|, k).

    AP@k(u) = Σ_{i ∈ L_k(u) ∩ R(u)} P@rank(i) / min(|R(u)|, k), where P@r is the precision of
    the first r positions. Normalising by min(|R|, k) lets a perfect list score 1 when the user
    has more than k relevant items (the recsys convention, e.g. ``ml_metrics.apk``). ranx
    ``map@k`` and Microsoft Recommenders' ``map_at_k`` divide by |R(u)| instead: that variant is
    :func:`map_ir_at_k`; the two agree whenever |R(u)| <= k. Reference: Manning, Raghavan &
    Schütze (2008), "Introduction to Information Retrieval", ch. 8.4.
    One call, one join of ``recs`` with ``truth``: for several metrics of the same lists use
    ``ranking_metrics`` (one join for all; ``make bench`` times four metrics called one by one against it).
    """
    return _map(_hits_per_user(recs, truth, k))


def map_ir_at_k(recs: pd.DataFrame, truth: pd.DataFrame, k: int) -> pd.Series:
    """Return truncated AP@k per user normalised by all of the user's relevant items (MAP-IR@k).

    AP-IR@k(u) = Σ_{i ∈ L_k(u) ∩ R(u)} P@rank(i) / |R(u)|: the information-retrieval convention
    of trec_eval and ranx ``map@k``, and the MAP of Microsoft Recommenders' published benchmark
    tables. A user with more than k relevant items cannot reach 1. Reference: Voorhees &
    Harman (2005), "TREC: Experiment and Evaluation in Information Retrieval", MIT Press;
    Manning, Raghavan & Schütze (2008), ch. 8.4.
    One call, one join of ``recs`` with ``truth``: for several metrics of the same lists use
    ``ranking_metrics`` (one join for all; ``make bench`` times four metrics called one by one against it).
    """
    return _map_ir(_hits_per_user(recs, truth, k))


def _expected_mask(h: _Hits, item_popularity: pd.Series, seen: pd.DataFrame, n: int) -> np.ndarray:
    """Return per row whether its item is in the user's primitive list PM(u).

    PM(u) = the ``n`` most popular items that u has not seen (popularity descending, ties in the
    order of ``item_popularity``'s index). Global popularity rank r(i) minus the number of
    items seen by u ranked above i gives i's rank among u's unseen items.
    """
    order = item_popularity.sort_values(ascending=False, kind="stable").index
    rank_of = pd.Series(np.arange(len(order)), index=order)
    n_items = len(order) + 1
    s_user = h.users.get_indexer(seen[USER].to_numpy())
    seen_rank = rank_of.reindex(seen[ITEM]).to_numpy()
    ok = (s_user >= 0) & ~np.isnan(seen_rank)
    seen_keys = np.sort(s_user[ok].astype(np.int64) * n_items + seen_rank[ok].astype(np.int64))
    row_rank = rank_of.reindex(h.item).to_numpy()
    known = ~np.isnan(row_rank)
    base = h.u.astype(np.int64) * n_items
    r = np.where(known, row_rank, 0).astype(np.int64)
    keys = base + r
    left = np.searchsorted(seen_keys, keys, side="left")
    above = left - np.searchsorted(seen_keys, base, side="left")
    is_seen = np.searchsorted(seen_keys, keys, side="right") > left
    return known & ~is_seen & ((r - above) < n)


def _serendipity(h: _Hits, item_popularity, seen, n_expected=None) -> pd.Series:
    n = h.k if n_expected is None else int(n_expected)
    surprising = h.hit & ~_expected_mask(h, item_popularity, seen, n)
    return h.sum(surprising.astype(float), f"Serendipity@{h.k}") / h.k


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
    return _serendipity(_hits_per_user(recs, truth, k), item_popularity, seen, n_expected)


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
    h = _hits_per_user(recs, truth, k)
    return _auc(h, n_items)


def _auc(h: _Hits, n_items: int) -> pd.Series:
    if n_items is None or n_items < int(h.n_rel.max()):
        raise ValueError(
            f"n_items={n_items} is smaller than a user's relevant set ({int(h.n_rel.max())}); "
            "pass the catalogue size (number of recommendable items)."
        )
    non_rel_row = (~h.hit).astype(float)
    non_rel_above = h.cumsum(non_rel_row) - non_rel_row  # listed non-relevant items strictly above each row
    n_neg = (n_items - h.n_rel).astype(float)
    above = (n_neg[h.u] - non_rel_above) * h.hit
    listed_part = h.sum(above, f"AUC@{h.k}")
    hits = h.sum(h.hit.astype(float), "hits").to_numpy()
    non_rel_listed = h.sum(non_rel_row, "non_rel").to_numpy()
    tied_part = 0.5 * (h.n_rel - hits) * (n_neg - non_rel_listed)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (listed_part + tied_part) / (h.n_rel * n_neg)
    auc[n_neg == 0] = np.nan
    auc.name = f"AUC@{h.k}"
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
    h = _hits_per_user(recs, truth, k)
    out = {}
    for name in names:
        if name in _FROM_HITS:
            out[name] = _FROM_HITS[name](h)
        elif name == "serendipity":
            out[name] = _serendipity(h, item_popularity, seen)
        elif name == "auc":
            out[name] = _auc(h, n_items)
        else:
            raise KeyError(f"{name!r} is not a ranking metric; ranking metrics: "
                           f"{', '.join([*_FROM_HITS, 'serendipity', 'auc'])}.")
    return out


def ranking_metrics_by_segment(recs: pd.DataFrame, truth: pd.DataFrame, labels: pd.Series, k: int, names
                               ) -> dict[str, dict[str, pd.Series]]:
    """Return ``{segment: {name: per-user Series}}``: each metric against the truth rows of one segment.

    ``labels`` gives a segment per truth row, its index the row's *position* in ``truth`` (a row
    may appear under several labels, e.g. one per genre). The metric of user u in segment g is
    computed against u's relevant rows labelled g over u's full top-k list; users without such a
    row are left out of g. The lists are matched against the truth once for all segments.
    """
    unknown = [n for n in names if n not in _FROM_HITS]
    if unknown:
        raise KeyError(f"segment metrics must be among {', '.join(_FROM_HITS)}; got {unknown}.")
    h = _hits_per_user(recs, truth, k)
    positions = np.asarray(labels.index, dtype=np.int64)
    values = labels.to_numpy()
    out = {}
    for segment in pd.unique(values):
        part = h.restrict(positions[values == segment])
        out[segment] = {name: _FROM_HITS[name](part) for name in names}
    return out
