"""Beyond-accuracy metrics of recommendation lists: coverage, exposure concentration, diversity,
novelty and personalisation (the seeds' "diversity" and "coverage").

``recs`` is a tidy frame ``user, item[, score, rank]``. Each function takes an optional
keyword ``k``: when given, only rows with ``rank <= k`` count; otherwise every row does.
List-level metrics return a Series per user (index name ``user``, sorted); catalogue-level
metrics return a float. All work is vectorised over sparse user x item matrices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_study.constants import GENRES, ITEM, RANK, USER
from recsys_study.data.schema import DataValidationError, require_columns
from recsys_study.summary import gini

DISTANCES = ("cosine", "jaccard")


def _lists(recs: pd.DataFrame, k: int | None) -> pd.DataFrame:
    """Return the distinct (user, item) pairs of the lists, cut at rank k when k is given."""
    require_columns(recs, (USER, ITEM) if k is None else (USER, ITEM, RANK), source="recs")
    if k is not None:
        recs = recs.loc[recs[RANK] <= k]
    return recs[[USER, ITEM]].drop_duplicates()


def _user_item_matrix(pairs: pd.DataFrame, item_index: pd.Index | None = None):
    """Return (binary csr users x items, sorted user index, item index) for the pairs."""
    ucode, users = pd.factorize(pairs[USER], sort=True)
    if item_index is None:
        icode, item_index = pd.factorize(pairs[ITEM], sort=False)
    else:
        icode = item_index.get_indexer(pairs[ITEM])
        if (icode < 0).any():
            missing = pairs.loc[icode < 0, ITEM].unique()[:5].tolist()
            raise DataValidationError(
                f"item_features: no row for recommended item(s) {missing}...; build the features "
                "from the full catalogue (e.g. genre_features(dataset.items))."
            )
    m = sp.csr_matrix(
        (np.ones(len(pairs)), (ucode, icode)), shape=(len(users), len(item_index))
    )
    users = pd.Index(users, name=USER)
    return m, users, item_index


def catalog_coverage(recs: pd.DataFrame, n_items: int, *, k: int | None = None) -> float:
    """Return the share of catalogue items that appear in at least one list.

    Coverage = |∪_u L(u)| / |I|. Reference: Ge, Delgado-Battenfeld & Jannach (2010), "Beyond
    accuracy: evaluating recommender systems by coverage and serendipity", RecSys;
    Herlocker et al. (2004), ACM TOIS 22(1), §5 (catalogue coverage).
    """
    pairs = _lists(recs, k)
    n_shown = pairs[ITEM].nunique()
    if n_items < max(n_shown, 1):
        raise ValueError(f"n_items={n_items} is smaller than the {n_shown} distinct recommended items; "
                         "pass the catalogue size.")
    return n_shown / n_items


def new_item_reach(recs: pd.DataFrame, new_items, *, k: int | None = None, users=None) -> float:
    """Return the share of users whose list shows at least one of ``new_items`` (e.g. items absent from training).

    reach = |{u : L_k(u) ∩ N ≠ ∅}| / |U|, over ``users`` when given (a user with no list counts as
    not reached), else over the users that have a list. A cold-start check that does not depend on
    whether the new item shown is also relevant: collaborative models score 0 by construction,
    a hybrid with reserved new-item slots ~1 (Burke 2002's mixed hybrid).
    """
    pairs = _lists(recs, k)
    new = pd.Index(pd.unique(np.asarray(new_items)))
    reached = pairs.loc[pairs[ITEM].isin(new), USER].unique()
    population = pd.Index(pairs[USER].unique() if users is None else pd.unique(np.asarray(users)))
    if len(population) == 0:
        raise ValueError("new_item_reach: no users to average over (empty lists and no users given).")
    return float(population.isin(reached).mean())


def gini_exposure(recs: pd.DataFrame, n_items: int, *, k: int | None = None) -> float:
    """Return the Gini index of item exposure (how often each catalogue item is recommended).

    With x_(1) <= ... <= x_(n) the recommendation counts of all n = |I| catalogue items
    (never-recommended items count 0): G = Σ_j (2j − n − 1) x_(j) / (n Σ_j x_j).
    0 = every item shown equally often, → 1 = all exposure on one item; NaN for empty recs.
    Reference: Fleder & Hosanagar (2009), "Blockbuster culture's next rise or fall",
    Management Science 55(5); Adomavicius & Kwon (2012), IEEE TKDE 24(5).
    """
    counts = _lists(recs, k)[ITEM].value_counts().to_numpy()
    if n_items < len(counts):
        raise ValueError(f"n_items={n_items} is smaller than the {len(counts)} distinct recommended items; "
                         "pass the catalogue size.")
    return gini(np.concatenate([np.zeros(n_items - len(counts)), counts]))


def genre_features(items: pd.DataFrame) -> pd.DataFrame:
    """Return a binary item x genre frame (index ``item``) from an items frame with list genres.

    x_ig = 1 if genre g is in the item's genre list; items without genres get a zero row.
    Reference: the content vector space of Lops, de Gemmis & Semeraro (2011), "Content-based
    recommender systems", Recommender Systems Handbook.
    """
    require_columns(items, (ITEM, GENRES), source="items")
    exploded = items[[ITEM, GENRES]].explode(GENRES).dropna()
    table = pd.crosstab(exploded[ITEM], exploded[GENRES]).clip(upper=1)
    table = table.reindex(pd.Index(items[ITEM].unique(), name=ITEM), fill_value=0)
    table.columns.name = None
    return table.astype(float)


def _feature_matrix(item_features, item_index):
    """Return (csr features, item index) from a frame indexed by item or a matrix + index."""
    if isinstance(item_features, pd.DataFrame):
        if GENRES in item_features.columns:
            item_features = genre_features(item_features)
        matrix, item_index = sp.csr_matrix(item_features.to_numpy(dtype=float)), pd.Index(item_features.index)
    elif item_index is None:
        raise ValueError("item_features is a matrix without item ids; pass item_index=<ids of its rows>.")
    else:
        item_index = pd.Index(item_index)
        if item_features.shape[0] != len(item_index):
            raise ValueError(f"item_features has {item_features.shape[0]} rows but item_index {len(item_index)}.")
        matrix = sp.csr_matrix(item_features, dtype=float)
    if not item_index.is_unique:
        raise DataValidationError("item_features: item ids repeat; keep one feature row per item.")
    return matrix, item_index


def intra_list_diversity(
    recs: pd.DataFrame,
    item_features,
    *,
    item_index=None,
    distance: str = "cosine",
    k: int | None = None,
) -> pd.Series:
    """Return the intra-list diversity per user: mean pairwise distance of the items in a list.

    ILD(u) = 2 / (n(n−1)) Σ_{i<j ∈ L(u)} d(i, j), with d = 1 − cos(x_i, x_j) (``cosine``) or
    d = 1 − |x_i ∩ x_j| / |x_i ∪ x_j| on the non-zero features (``jaccard``); an item with an
    all-zero vector has similarity 0 to every item. NaN for lists with fewer than two items.
    ``item_features``: a frame indexed by item (numeric columns, or an items frame with a list
    ``genres`` column), or a sparse/dense matrix with ``item_index``. Cosine uses
    Σ_{i≠j} cos = ||Σ_i x̂_i||² − Σ_i ||x̂_i||² per list. Reference: Ziegler, McNee, Konstan &
    Lausen (2005), "Improving recommendation lists through topic diversification", WWW;
    Smyth & McClave (2001).
    """
    if distance not in DISTANCES:
        raise ValueError(f"unknown distance {distance!r}; use one of {DISTANCES}.")
    features, feat_index = _feature_matrix(item_features, item_index)
    pairs = _lists(recs, k)
    lists, users, _ = _user_item_matrix(pairs, feat_index)
    n = np.asarray(lists.sum(axis=1)).ravel()
    if distance == "cosine":
        norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
        unit = sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ features
        summed = lists @ unit
        sq_norm_of_sum = np.asarray(summed.multiply(summed).sum(axis=1)).ravel()
        self_terms = lists @ (norms > 0).astype(float)
        sim_sum = sq_norm_of_sum - self_terms
    else:
        binary = (features != 0).astype(float).tocsr()
        left = pairs.merge(pairs, on=USER, suffixes=("", "_other"))
        rows_a = feat_index.get_indexer(left[ITEM])
        rows_b = feat_index.get_indexer(left[f"{ITEM}_other"])
        keep = rows_a < rows_b  # each unordered pair once (items are distinct within a list)
        a, b = binary[rows_a[keep]], binary[rows_b[keep]]
        inter = np.asarray(a.multiply(b).sum(axis=1)).ravel()
        union = np.asarray(a.sum(axis=1)).ravel() + np.asarray(b.sum(axis=1)).ravel() - inter
        sim = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        per_user = pd.Series(sim).groupby(left.loc[keep, USER].to_numpy()).sum()
        sim_sum = 2.0 * per_user.reindex(users, fill_value=0.0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ild = np.where(n >= 2, 1.0 - sim_sum / (n * (n - 1)), np.nan)
    return pd.Series(ild, index=users, name="ILD")


def novelty(
    recs: pd.DataFrame, item_popularity: pd.Series, n_users: int, *, k: int | None = None
) -> pd.Series:
    """Return the mean self-information (novelty) of each user's list, in bits.

    nov(u) = (1/|L(u)|) Σ_{i ∈ L(u)} −log2(pop(i) / n_users), where pop(i) is the number of
    training users who interacted with i. Items with unknown or zero popularity (cold items)
    are given pop = 1, the rarest observable value, so novelty stays finite. Reference: Zhou
    et al. (2010), "Solving the apparent diversity-accuracy dilemma of recommender systems",
    PNAS 107(10); Castells, Hurley & Vargas (2015), "Novelty and diversity in recommender
    systems", Recommender Systems Handbook.
    """
    if n_users < 1:
        raise ValueError(f"n_users must be positive, got {n_users}; pass the number of training users.")
    if len(item_popularity) and float(item_popularity.max()) > n_users:
        raise ValueError(
            "item_popularity exceeds n_users; it must count distinct users per item "
            "(e.g. train.groupby('item')['user'].nunique()), not ratings."
        )
    pairs = _lists(recs, k)
    pop = item_popularity.reindex(pairs[ITEM]).to_numpy(dtype=float)
    pop = np.clip(np.nan_to_num(pop, nan=1.0), 1.0, None)
    info = pd.Series(np.log2(n_users / pop))
    out = info.groupby(pairs[USER].to_numpy(), sort=True).mean()
    out.index.name = USER
    out.name = "Novelty"
    return out


def average_recommendation_popularity(
    recs: pd.DataFrame, item_popularity: pd.Series, *, k: int | None = None
) -> pd.Series:
    """Return ARP per user: the mean popularity of the items in the user's list.

    ARP(u) = (1/|L(u)|) Σ_{i ∈ L(u)} pop(i), pop(i) = number of training users of item i
    (0 for an item nobody rated). Lower means less popularity bias. Reference: Abdollahpouri,
    Burke & Mobasher (2019), "Managing popularity bias in recommender systems with
    personalized re-ranking", FLAIRS-32.
    """
    pairs = _lists(recs, k)
    pop = item_popularity.reindex(pairs[ITEM]).fillna(0.0).to_numpy(dtype=float)
    out = pd.Series(pop).groupby(pairs[USER].to_numpy(), sort=True).mean()
    out.index.name = USER
    out.name = "ARP"
    return out


def personalization(recs: pd.DataFrame, *, k: int | None = None) -> float:
    """Return Zhou et al.'s personalisation: the mean inter-list distance 1 − q_uv / L over user pairs.

    Pers = 1 − (2 / (m(m−1))) Σ_{u<v} q_uv / L, where q_uv = |L(u) ∩ L(v)| is the number of
    items two top-L lists share, L the list length (``k`` when given, else the longest list)
    and m the number of users with a list. Σ_{u<v} q_uv = (Σ_i c_i² − Σ_i c_i) / 2 with c_i the
    number of lists that show item i, so no user x user product is formed. 0 = everyone gets the
    same list, 1 = no two lists share an item. Lists abc and abd give 1 − 2/3 = 1/3. NaN with
    fewer than two users. Reference: Zhou, Kuscsik, Liu, Medo, Wakeling & Zhang (2010), "Solving
    the apparent diversity-accuracy dilemma of recommender systems", PNAS 107(10), eq. (6).
    """
    pairs = _lists(recs, k)
    m = pairs[USER].nunique()
    if m < 2:
        return float("nan")
    length = int(k) if k is not None else int(pairs.groupby(USER).size().max())
    c = pairs[ITEM].value_counts().to_numpy(dtype=float)
    shared = (np.sum(c * c) - np.sum(c)) / 2.0
    return float(1.0 - shared / (length * m * (m - 1) / 2.0))
