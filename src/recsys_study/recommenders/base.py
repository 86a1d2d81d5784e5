"""The recommender interface and the shared work every model needs.

A model subclasses :class:`Recommender` and overrides ``_fit`` (learn from the sparse
user-item matrix) and ``_score`` (a dense score block for a batch of user indices);
explicit-rating models also override ``_predict``. The base class maps source ids
to contiguous indices and back, excludes seen items, takes the top k, falls back to
popularity for users unknown at fit time, and builds the tidy output frame
(``user, item, score, rank``). This follows Cornac's ``Recommender`` and implicit's
``RecommenderBase``: the batch of users is the unit of work.

Conventions (scikit-learn): the constructor only stores hyperparameters; ``fit``
returns ``self``; learned state ends in ``_``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from recsys_study.constants import ITEM, RANK, RATING, SCORE, USER
from recsys_study.data.schema import DataValidationError, check_id_types, id_kind, plain, validate_interactions
from recsys_study.recommenders.threads import n_threads
from recsys_study.recommenders.topk import top_k_excluding

log = logging.getLogger(__name__)


# Rows per block when blocks run on several threads: two threads each streaming a 2,048 × 20,000 float32
# block (164 MB) through memory spent ~2x the CPU of one thread (ALS, 10^6 interactions); at 512 rows
# the CPU time equals the one-thread figure and the wall-clock time falls.
_PARALLEL_BLOCK = 512


@functools.lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    """One threadpoolctl controller per process (building one scans the loaded libraries, ~10 ms)."""
    return ThreadpoolController()


class NotFittedError(RuntimeError):
    """Raised when ``recommend`` or ``predict`` is called before ``fit``."""


class CapabilityError(NotImplementedError):
    """Raised when a model is asked for what its declared capabilities say it cannot do."""


class Recommender:
    """Base class of every recommender.

    Class attributes a subclass may set
    -----------------------------------
    name : str
        The registry name.
    predicts_ratings : bool
        True for explicit-rating models that implement ``_predict`` (``predict`` refuses otherwise).
    folds_in : bool
        True when ``recommend_for_history`` scores a new history without refitting
        (``_score_history``); a class that defines ``_score_history`` declares it unless it sets
        ``folds_in = False``. The others refuse with :class:`CapabilityError`.
    forgets_users : bool
        True when ``forget(users)`` removes users exactly, as if they had never been in
        ``train`` (to 1e-8 of a refit): ``ease`` (a Woodbury downdate with ``keep_inverse=True``, else a
        refit from the stored matrix) and ``item_knn``; the others are refitted without their rows
        (``privacy.erasure.forget_or_refit``).
    item_universe : {"train", "catalogue"}
        "train": only items seen in training can be recommended (collaborative models).
        "catalogue": every item of the ``items`` frame passed to ``fit`` can be
        recommended, including items with no training interaction (content models).
    batch_size : int
        Users per score block in ``recommend`` (memory: one n_users-independent block per thread).
    thread_safe_scoring : bool
        True where ``_score`` only reads fitted state and releases the GIL in its heavy part
        (BLAS, sparse products): ``recommend`` then scores and ranks blocks on one thread per core
        (BLAS held at one thread each), the frame being the same as on one thread.

    Fitted attributes
    -----------------
    user_index_, item_index_ : pd.Index
        Source ids in index order.
    user_items_ : csr_matrix (n_users, n_items)
        Training ratings (or 1.0 for implicit data), float32.
    item_popularity_ : ndarray (n_items,)
        Number of training interactions per item (popularity fallback).
    global_mean_ : float
        Mean training rating (NaN for implicit data).
    """

    name: str = "base"
    predicts_ratings: bool = False
    folds_in: bool = False
    forgets_users: bool = False
    item_universe: str = "train"
    batch_size: int = 2048
    thread_safe_scoring: bool = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "folds_in" not in cls.__dict__ and "_score_history" in cls.__dict__:
            cls.folds_in = True  # defining the fold-in is declaring it

    # -- scikit-learn style parameter access -------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict:
        """Return the constructor hyperparameters and their current values."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, train: pd.DataFrame, items: pd.DataFrame | None = None, *,
            users: pd.DataFrame | None = None, duplicates: str = "error",
            rating_scale: tuple[float, float] | None = None):
        """Learn from ``train`` (user, item[, rating]), optional ``items`` and ``users``; return self.

        ``train`` is checked first (:func:`~recsys_study.data.schema.validate_interactions`, no
        copy when it passes): duplicate (user, item) pairs are refused unless ``duplicates``
        ("last", "mean", "sum") asks to merge them; missing or infinite ratings are refused, and
        ratings outside ``rating_scale`` when one is given; ids must be of one kind, in ``items``
        too. ``train`` itself is never modified.
        ``users`` (a users frame: ``user`` plus side features such as age, gender, occupation)
        is kept as ``users_`` for the models that use demographics; the others ignore it.
        """
        source = f"{type(self).__name__}.fit"
        train = validate_interactions(train, source=f"{source}(train)", rating_scale=rating_scale,
                                      duplicates=duplicates, allow_extra=True, require_rating=False, copy=False)
        if items is not None and ITEM in items.columns and len(items):
            check_id_types(items, [ITEM], source=f"{source}(items)")
            ours, theirs = id_kind(train[ITEM]), id_kind(items[ITEM])
            if ours and theirs and ours != theirs:
                raise DataValidationError(
                    f"{source}(items): the items frame's ids are {theirs} (e.g. {plain(items[ITEM].iloc[0])!r}) but "
                    f"train's are {ours} (e.g. {plain(train[ITEM].iloc[0])!r}), so no item would match; give both "
                    "frames the same id type."
                )
        self.users_ = users
        users = pd.Index(pd.unique(train[USER]), name=USER)
        train_items = pd.unique(train[ITEM])
        if self.item_universe == "catalogue" and items is not None:
            extra = pd.Index(items[ITEM]).difference(pd.Index(train_items), sort=False)
            item_ids = pd.Index(np.concatenate([train_items, extra.to_numpy()]), name=ITEM)
        else:
            item_ids = pd.Index(train_items, name=ITEM)
        self.user_index_ = users
        self.item_index_ = item_ids
        u = users.get_indexer(train[USER])
        i = item_ids.get_indexer(train[ITEM])
        if RATING in train.columns:
            values = train[RATING].to_numpy(dtype=np.float32)
            self.global_mean_ = float(values.mean())
        else:
            values = np.ones(len(train), dtype=np.float32)
            self.global_mean_ = float("nan")
        self.user_items_ = sp.csr_matrix((values, (u, i)), shape=(len(users), len(item_ids)), dtype=np.float32)
        self.user_items_.sum_duplicates()
        self.item_popularity_ = np.bincount(i, minlength=len(item_ids)).astype(np.float64)
        self._fit(self.user_items_, train=train, items=items)
        return self

    def _fit(self, user_items: sp.csr_matrix, *, train: pd.DataFrame, items: pd.DataFrame | None) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _fit")

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        """Return a dense (len(user_idx), n_items) array of scores; higher is better."""
        raise NotImplementedError(f"{type(self).__name__} must implement _score")

    def _predict(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "user_index_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(train) first.")

    # -- recommendation -----------------------------------------------------------------
    def score_blocks(self, n_users: int) -> tuple[int, int]:
        """Return (block size, threads) with which ``recommend`` scores ``n_users`` known users.

        One block of ``batch_size`` users at a time on one thread; where scoring is thread-safe and
        there are several cores, equal blocks (a multiple of the threads, none above ``batch_size``).
        Whoever scores users the way ``recommend`` does (the simulated world) asks here.
        """
        size = self.batch_size
        threads = n_threads() if self.thread_safe_scoring else 1
        if threads > 1 and n_users > 0:
            size = min(size, _PARALLEL_BLOCK)
            n_blocks = -(-n_users // size)
            n_blocks = -(-n_blocks // threads) * threads
            size = max(-(-n_users // n_blocks), min(256, self.batch_size))
        return size, threads

    def recommend(self, users, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """Return the top-``k`` items for each user as a frame ``user, item, score, rank``.

        Rank is 1-based: score descending, ties by lowest item index (the item's position in
        ``item_index_``), on every machine. Items the user rated in training are excluded when
        ``exclude_seen``. Users unknown at fit time are scored by ``_cold_scores`` (the most
        popular items by default; logged at INFO with their count), never an error. Fewer
        than ``k`` rows appear only when fewer than ``k`` items can be recommended.

        Work and memory go ``batch_size`` users at a time: one score block from ``_score``
        (in the model's own dtype, float32 for the factor models: no copy), then a compiled
        per-row heap skips the seen items and keeps the k best (``topk.top_k_excluding``).
        """
        self._check_fitted()
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        users = pd.Index(pd.unique(np.asarray(users)))
        idx = self.user_index_.get_indexer(users)
        known = idx >= 0
        known_users = users[known]
        known_idx = idx[known]
        size, threads = self.score_blocks(len(known_idx))
        starts = range(0, len(known_idx), size)
        threads = min(threads, len(starts))

        def block(start: int) -> pd.DataFrame:
            batch = known_idx[start:start + size]
            seen = self.user_items_[batch] if exclude_seen else None
            return self._top_k(known_users[start:start + size], self._score(batch), k, seen,
                               num_threads=1 if threads > 1 else 0)

        if threads > 1:
            with _blas_controller().limit(limits=1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
                frames = list(pool.map(block, starts))
        else:
            frames = [block(start) for start in starts]
        if (~known).any():
            cold = users[~known]
            log.info("%s: %d user(s) unknown at fit time get the cold-user fallback (_cold_scores: most popular "
                     "items unless the model uses side information)", self.name, len(cold))
            for start in range(0, len(cold), self.batch_size):
                chunk = cold[start:start + self.batch_size]
                frames.append(self._top_k(chunk, self._cold_scores(chunk), k, None))
        if not frames:
            return pd.DataFrame({USER: [], ITEM: [], SCORE: [], RANK: []})
        return pd.concat(frames, ignore_index=True)

    def _cold_scores(self, users: pd.Index) -> np.ndarray:
        """Return a (len(users), n_items) score block for users unknown at fit time (at most
        ``batch_size`` of them per call): training popularity by default; a model with side
        information about users (``users_``) overrides it. A block whose rows are one shared
        row (``np.broadcast_to``, as here) is ranked once for all its users."""
        return np.broadcast_to(self.item_popularity_, (len(users), len(self.item_index_)))

    def _seen_entries(self, user_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (row, column) positions of the training items of ``user_idx`` in a score block."""
        seen = self.user_items_[user_idx]
        return np.repeat(np.arange(len(user_idx)), np.diff(seen.indptr)), seen.indices

    def _top_k(self, users: pd.Index, scores: np.ndarray, k: int,
               exclude: sp.csr_matrix | None = None, *, num_threads: int = 0) -> pd.DataFrame:
        """Return the frame of each row's ``k`` best items (ties by item index), skipping the stored
        entries of ``exclude``'s rows; -inf and NaN scores are never recommended."""
        top, top_scores, lengths = top_k_excluding(scores, k, exclude, num_threads=num_threads)
        valid = np.arange(top.shape[1])[None, :] < lengths[:, None]
        top_scores = top_scores.astype(np.float64)
        valid &= np.isfinite(top_scores)
        frame = pd.DataFrame({
            USER: np.repeat(users.to_numpy(), valid.sum(axis=1)),
            ITEM: self.item_index_.to_numpy()[top[valid]],
            SCORE: top_scores[valid],
            RANK: np.broadcast_to(np.arange(1, top.shape[1] + 1), top.shape)[valid],
        })
        return frame

    # -- real-time updating ---------------------------------------------------------------
    def recommend_for_history(self, history: pd.DataFrame, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """Return the top-``k`` items (``item, score, rank``) for one user described by ``history``.

        ``history`` (``item[, rating]``, the user's whole history, e.g. training rows plus new
        ones) is turned into a one-row user vector x (the rating, else 1, per known item; items
        unknown at fit time are ignored) and scored without refitting by ``_score_history(x)``:
        the factor models fold the user in (their least-squares user factors given the fitted
        item factors; Hu, Koren & Volinsky 2008, eq. 4), the item-based models score x directly
        (x B for EASE, x Sᵀ for item kNN, x W for RP3beta). ``exclude_seen`` skips the history's
        items. Same ranking and tie rule as ``recommend``. A history with no item known at fit
        time (empty, or all new items) says nothing about the user: it gets the fallback of a
        user unknown at fit time in ``recommend`` (``_cold_scores``, popularity by default),
        logged at INFO. A model that does not fold in (``folds_in`` False) raises
        :class:`CapabilityError`, whatever the history.
        """
        self._check_fitted()
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if not self.folds_in:
            raise CapabilityError(
                f"{type(self).__name__} cannot score a new history without refitting (it declares "
                "folds_in = False); refit it on the history, or use a model that folds in (e.g. als, item_knn, "
                "ease, rp3beta)."
            )
        row = self._history_row(history)
        if row.nnz == 0:
            log.info("%s: a history with no item known at fit time (%d row(s)) gets the cold-user fallback "
                     "(_cold_scores: most popular items unless the model uses side information)", self.name,
                     len(history))
            frame = self._top_k(pd.Index([0]), self._cold_scores(pd.Index([None], dtype=object)), k, None)
        else:
            frame = self._top_k(pd.Index([0]), self._score_history(row), k, row if exclude_seen else None)
        return frame.drop(columns=USER).reset_index(drop=True)

    def _history_row(self, history: pd.DataFrame) -> sp.csr_matrix:
        """Return ``history`` as a (1, n_items) float32 CSR row laid out like a row of ``user_items_``."""
        if not isinstance(history, pd.DataFrame) or ITEM not in history.columns:
            raise ValueError(f"history must be a DataFrame with an '{ITEM}' column (and optionally "
                             f"'{RATING}'), got {type(history).__name__}"
                             + (f" with columns {list(history.columns)}" if isinstance(history, pd.DataFrame) else ""))
        cols = self.item_index_.get_indexer(history[ITEM])
        known = cols >= 0
        if RATING in history.columns:
            values = history[RATING].to_numpy(dtype=np.float32)[known]
        else:
            values = np.ones(int(known.sum()), dtype=np.float32)
        row = sp.csr_matrix((values, (np.zeros(int(known.sum()), dtype=np.int64), cols[known])),
                            shape=(1, len(self.item_index_)), dtype=np.float32)
        row.sum_duplicates()
        return row

    def _score_history(self, row: sp.csr_matrix) -> np.ndarray:
        """Return the (1, n_items) scores of a user whose training row would be ``row`` (no refit)."""
        raise NotImplementedError(f"{type(self).__name__} declares folds_in but does not implement _score_history.")

    # -- forgetting ------------------------------------------------------------------------
    def forget(self, users) -> Recommender:
        """Remove ``users`` exactly, as if their rows had never been in ``train``; return self.

        Only models that declare ``forgets_users`` implement it; the others raise
        :class:`CapabilityError` (refit on the data without those users' rows instead).
        """
        raise CapabilityError(
            f"{type(self).__name__} cannot forget a user exactly (it declares forgets_users = False); refit it "
            "on the training data without that user's rows."
        )

    # -- rating prediction --------------------------------------------------------------
    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Return predicted ratings for the (user, item) rows of ``pairs``.

        Pairs with a user or item unknown at fit time get the global mean rating.
        Only explicit-rating models (``predicts_ratings``) support this.
        """
        self._check_fitted()
        if not self.predicts_ratings:
            raise TypeError(
                f"{self.name} ranks items but does not predict ratings; use recommend(), "
                "or choose a rating model (bias, biased_mf, user_knn, item_knn)."
            )
        u = self.user_index_.get_indexer(pairs[USER])
        i = self.item_index_.get_indexer(pairs[ITEM])
        out = np.full(len(pairs), self.global_mean_, dtype=np.float64)
        ok = (u >= 0) & (i >= 0)
        if ok.any():
            out[ok] = self._predict(u[ok], i[ok])
        return out
